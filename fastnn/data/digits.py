"""scikit-learn's 8x8 handwritten digits, scaled to [0, 1], and its nudged 5x version."""
import numpy as np

from .._validation import check_consistent_length, check_dtype

__all__ = ["load_digits", "nudge_digits"]


def load_digits(dtype=np.float64):
    """scikit-learn's digits: 1797 images of 8x8 pixels, flattened, scaled to [0, 1].

    The pixels are counts 0-16 in the original; here they are divided by 16.

    Parameters
    ----------
    dtype : {'float64', 'float32'} or NumPy float type
        dtype of ``X``.

    Returns
    -------
    X : ndarray of shape (1797, 64)
    y : ndarray of shape (1797,), int64
        Digits 0-9.
    """
    from sklearn.datasets import load_digits as _sk_load_digits  # keeps `import fastnn` light

    dtype = check_dtype(dtype)
    digits = _sk_load_digits()
    X = np.ascontiguousarray(digits.data / 16.0, dtype=dtype)
    y = np.ascontiguousarray(digits.target, dtype=np.int64)
    return X, y


def _shift(images, dr, dc):
    """Images moved by (dr, dc) pixels, zeros filling the vacated edge."""
    out = np.zeros_like(images)
    n_rows, n_cols = images.shape[1:]
    rs, rd = (slice(dr, None), slice(None, n_rows - dr)) if dr >= 0 else \
             (slice(None, n_rows + dr), slice(-dr, None))
    cs, cd = (slice(dc, None), slice(None, n_cols - dc)) if dc >= 0 else \
             (slice(None, n_cols + dc), slice(-dc, None))
    # pixel (r, c) of the result is pixel (r + dr, c + dc) of the original
    out[:, rd, cd] = images[:, rs, cs]
    return out


# (row, column) offsets read by each shifted copy, in the order of
# scikit-learn's RBM example (its 3x3 `direction_vectors` through
# scipy.ndimage.convolve): up, left, right, down.
_NUDGES = ((1, 0), (0, 1), (0, -1), (-1, 0))


def nudge_digits(X, y, image_shape=(8, 8)):
    """Enlarge a digits set 5x by shifting every image one pixel each way.

    The construction of scikit-learn's example "Restricted Boltzmann Machine
    features for digit classification": the originals, then each image moved
    one pixel up, left, right and down (zeros fill the vacated edge), stacked
    in that order; the labels repeated five times.

    Parameters
    ----------
    X : array_like of shape (n_samples, 64) or (n_samples, 8, 8)
        Images, flattened or not (other sizes through ``image_shape``).
    y : array_like of shape (n_samples,)
    image_shape : tuple of 2 ints
        Height and width of one image.

    Returns
    -------
    X_big : ndarray of shape (5 * n_samples, ...) like X, same dtype
    y_big : ndarray of shape (5 * n_samples,), same dtype as y
    """
    X = np.asarray(X)
    y = np.asarray(y)
    h, w = (int(v) for v in image_shape)
    if X.ndim == 2 and X.shape[1] == h * w:
        images = X.reshape(len(X), h, w)
    elif X.ndim == 3 and X.shape[1:] == (h, w):
        images = X
    else:
        raise ValueError(f"X must have shape (n_samples, {h * w}) or (n_samples, {h}, {w}); "
                         f"got shape {X.shape}.")
    if y.ndim != 1:
        raise ValueError(f"y must be 1-dimensional; got shape {y.shape}.")
    check_consistent_length(X, y)
    parts = [images] + [_shift(images, dr, dc) for dr, dc in _NUDGES]
    X_big = np.concatenate(parts).reshape((5 * len(X),) + X.shape[1:])
    y_big = np.concatenate([y] * 5)
    return X_big, y_big
