"""XOR, scikit-learn's digits and the nudged 5x digits."""
import numpy as np
import pytest
from numpy.testing import assert_array_equal

from fastnn.data import load_digits, nudge_digits, xor


@pytest.mark.parametrize("dtype", [np.float64, np.float32, "float32"])
def test_xor_points_labels_and_dtype(dtype):
    X, y = xor(dtype=dtype)
    assert X.dtype == np.dtype(dtype) and X.shape == (4, 2)
    assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    assert y.dtype == np.int64
    assert_array_equal(y, X[:, 0].astype(int) ^ X[:, 1].astype(int))
    assert_array_equal(y, [0, 1, 1, 0])


def test_xor_rejects_integer_dtype():
    with pytest.raises(ValueError, match=r"dtype must be 'float32' or 'float64'; got 'int64'"):
        xor(dtype=np.int64)


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def test_load_digits_scaled_copy_of_sklearn(digits):
    from sklearn.datasets import load_digits as sk_load_digits

    X, y = digits
    sk = sk_load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64 and X.flags.c_contiguous
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert_array_equal(X * 16, sk.data)
    assert_array_equal(y, sk.target)
    assert_array_equal(np.bincount(y), [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])


def test_load_digits_float32(digits):
    X32, y32 = load_digits(dtype="float32")
    assert X32.dtype == np.float32
    assert_array_equal(X32, digits[0].astype(np.float32))  # k/16 is exact in float32
    assert_array_equal(y32, digits[1])


def test_load_digits_rejects_bad_dtype():
    with pytest.raises(TypeError, match=r"dtype must be 'float32' or 'float64'; got str 'pixels'"):
        load_digits(dtype="pixels")


def _nudge_with_pad(X):
    """Reference: the four shifted copies cut out of a zero-padded stack."""
    images = X.reshape(-1, 8, 8)
    p = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    up = p[:, 2:, 1:-1]      # pixel (r, c) takes (r + 1, c)
    left = p[:, 1:-1, 2:]    # takes (r, c + 1)
    right = p[:, 1:-1, :-2]  # takes (r, c - 1)
    down = p[:, :-2, 1:-1]   # takes (r - 1, c)
    return np.concatenate([images, up, left, right, down]).reshape(-1, 64)


def test_nudge_digits_matches_padded_reference(digits):
    X, y = digits
    X_big, y_big = nudge_digits(X, y)
    assert X_big.shape == (5 * 1797, 64) and y_big.shape == (5 * 1797,)
    assert X_big.dtype == X.dtype and y_big.dtype == y.dtype
    assert_array_equal(X_big, _nudge_with_pad(X))
    assert_array_equal(X_big[:1797], X)
    assert_array_equal(y_big, np.tile(y, 5))


def test_nudge_digits_matches_sklearn_example():
    """The same as scikit-learn's RBM example (scipy.ndimage.convolve with its 3x3 vectors)."""
    ndimage = pytest.importorskip("scipy.ndimage")
    X, y = load_digits()
    X, y = X[:50], y[:50]
    direction_vectors = [
        [[0, 1, 0], [0, 0, 0], [0, 0, 0]],
        [[0, 0, 0], [1, 0, 0], [0, 0, 0]],
        [[0, 0, 0], [0, 0, 1], [0, 0, 0]],
        [[0, 0, 0], [0, 0, 0], [0, 1, 0]],
    ]

    def shift(x, w):
        return ndimage.convolve(x.reshape((8, 8)), mode="constant", weights=w).ravel()

    expected = np.concatenate([X] + [np.apply_along_axis(shift, 1, X, v) for v in direction_vectors])
    assert_array_equal(nudge_digits(X, y)[0], expected)


def test_nudge_digits_moves_one_pixel_each_way():
    # One lit pixel at row 3, column 4; the copies are up, left, right, down.
    X = np.zeros((1, 8, 8), np.float32)
    X[0, 3, 4] = 1.0
    X_big, y_big = nudge_digits(X, np.array([7]))
    assert X_big.shape == (5, 8, 8) and X_big.dtype == np.float32
    assert_array_equal(y_big, [7] * 5)
    lit = [tuple(int(i) for i in np.argwhere(img)[0]) for img in X_big]
    assert lit == [(3, 4), (2, 4), (3, 3), (3, 5), (4, 4)]
    assert_array_equal(X_big.sum(axis=(1, 2)), 1)


def test_nudge_digits_edge_pixels_fall_off():
    X = np.zeros((1, 64))
    X[0, 0] = 1.0  # top-left corner: only the right and down copies keep it
    X_big, _ = nudge_digits(X, [0])
    assert_array_equal(X_big.sum(axis=1), [1, 0, 0, 1, 1])


def test_nudge_digits_does_not_modify_input(digits):
    X, y = digits[0][:10].copy(), digits[1][:10].copy()
    nudge_digits(X, y)
    assert_array_equal(X, digits[0][:10])
    assert_array_equal(y, digits[1][:10])


def test_nudge_digits_other_image_shape():
    X = np.arange(2 * 12, dtype=np.float64).reshape(2, 12)
    X_big, _ = nudge_digits(X, [0, 1], image_shape=(3, 4))
    imgs = X.reshape(2, 3, 4)
    assert_array_equal(X_big[2:4].reshape(2, 3, 4)[:, :2], imgs[:, 1:])  # up
    assert_array_equal(X_big[2:4].reshape(2, 3, 4)[:, 2], 0)


@pytest.mark.parametrize("X, y, message", [
    (np.zeros((3, 63)), np.zeros(3), r"X must have shape \(n_samples, 64\) or \(n_samples, 8, 8\); "
                                     r"got shape \(3, 63\)"),
    (np.zeros((3, 8, 7)), np.zeros(3), r"got shape \(3, 8, 7\)"),
    (np.zeros(64), np.zeros(1), r"got shape \(64,\)"),
    (np.zeros((3, 64)), np.zeros((3, 1)), r"y must be 1-dimensional; got shape \(3, 1\)"),
    (np.zeros((3, 64)), np.zeros(4), r"X and y must have the same number of samples; got 3 and 4"),
])
def test_nudge_digits_rejects_bad_shapes(X, y, message):
    with pytest.raises(ValueError, match=message):
        nudge_digits(X, y)
