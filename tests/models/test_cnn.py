"""ConvNetClassifier: input forms, gradients, determinism, errors, scikit-learn contract."""
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from fastnn._threads import threads
from fastnn.data import load_digits
from fastnn.models.cnn import ConvNetClassifier
from tests import reference


def small(**kw):
    params = dict(n_filters=3, filter_size=3, pool_size=2, hidden_layer_sizes=(8,), max_iter=3,
                  random_state=0, tol=None)
    params.update(kw)
    return ConvNetClassifier(**params)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits()
    return X[:300], y[:300]


# ---------------------------------------------------------------- scikit-learn

# 1x1 filters and no pooling: the checks' data are flat rows of any width.
@parametrize_with_checks([
    ConvNetClassifier(n_filters=3, filter_size=1, pool_size=1, hidden_layer_sizes=(16,),
                      max_iter=20, learning_rate_init=0.05, random_state=0, tol=None),
], expected_failed_checks=lambda est: {})
def test_scikit_learn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


# ---------------------------------------------------------------- input forms

def test_flat_3d_and_4d_inputs_give_the_same_model(digits):
    X, y = digits
    flat = small().fit(X, y)  # 64 features: a square 8x8 image
    shaped = small(image_shape=(8, 8)).fit(X, y)
    three = small().fit(X.reshape(-1, 8, 8), y)
    four = small().fit(X.reshape(-1, 1, 8, 8), y)
    assert flat.image_shape_ == (1, 8, 8)
    for m in (shaped, three, four):
        assert_array_equal(m._params, flat._params)
    assert_array_equal(four.predict_proba(X.reshape(-1, 1, 8, 8)), flat.predict_proba(X))


def test_several_channels():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(40, 2, 7, 7))
    y = (X[:, 0].mean(axis=(1, 2)) > X[:, 1].mean(axis=(1, 2))).astype(int)
    m = small(filter_size=2, max_iter=30).fit(X, y)
    assert m.filters_.shape == (3, 2, 2, 2)
    flat = small(filter_size=2, max_iter=30, image_shape=(2, 7, 7)).fit(X.reshape(40, -1), y)
    assert_array_equal(flat._params, m._params)


def test_feature_maps_match_the_reference(digits):
    X, y = digits
    m = small(conv_activation="tanh").fit(X, y)
    maps, pooled = m.feature_maps(X[:5])
    ref = reference.conv2d_valid(X[:5].reshape(5, 1, 8, 8), m.filters_, m.filter_biases_, "tanh")
    assert maps.shape == (5, 3, 6, 6) and pooled.shape == (5, 3, 3, 3)
    assert_allclose(maps, ref, rtol=1e-12, atol=1e-12)
    assert_array_equal(pooled, reference.max_pool(maps, 2)[0])
    probs = reference.cnn_forward(X[:5].reshape(5, 1, 8, 8), m.filters_, m.filter_biases_,
                                  m.coefs_, m.intercepts_, 2, "tanh", "logistic")[2]
    assert_allclose(m.predict_proba(X[:5]), probs, rtol=1e-10)


def test_predict_proba_sums_to_one_and_predict_is_its_argmax(digits):
    X, y = digits
    m = small().fit(X, y)
    p = m.predict_proba(X)
    assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    assert_array_equal(m.predict(X), m.classes_[p.argmax(axis=1)])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_predict_proba_is_the_reference_forward_for_any_thread_count(digits, n_threads, dtype):
    """300 images (more than one kernel call): the same bits for any thread
    count and any split into calls, and the reference forward's values."""
    X, y = digits
    m = small(n_filters=4, hidden_layer_sizes=(16,), dtype=dtype).fit(X, y)
    runs = []
    for n in n_threads:
        with threads(n):
            runs.append(m.predict_proba(X))
    runs.append(np.concatenate([m.predict_proba(X[:1]), m.predict_proba(X[1:77]),
                                m.predict_proba(X[77:])]))
    for other in runs[1:]:
        assert_array_equal(runs[0], other)

    def f64(a):
        return np.asarray(a, dtype=dtype).astype(np.float64)

    probs = reference.cnn_forward(f64(X).reshape(-1, 1, 8, 8), f64(m.filters_),
                                  f64(m.filter_biases_), [f64(c) for c in m.coefs_],
                                  [f64(b) for b in m.intercepts_], 2)[2]
    if dtype == "float64":
        assert_allclose(runs[0], probs, rtol=1e-12)
    else:
        assert_allclose(runs[0], probs, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- gradients

@pytest.mark.parametrize("kw", [dict(), dict(conv_activation="tanh", activation="relu", alpha=0.1),
                                dict(conv_activation="relu", hidden_layer_sizes=(), pool_size=3)])
def test_loss_and_gradient_match_central_differences(kw, digits):
    """Convolution, pooling and softmax head together, float64, rtol 1e-5."""
    X, y = digits
    m = small(**kw).fit(X[:40], y[:40])
    Xs, ys = X[:6], y[:6]
    p0 = m._get_flat_params()
    loss, grad = m._loss_and_gradient(Xs, ys)
    fd = np.empty_like(grad)
    eps = 1e-6
    for k in range(len(p0)):
        p = p0.copy()
        p[k] += eps
        m._set_flat_params(p)
        up = m._loss_and_gradient(Xs, ys)[0]
        p[k] -= 2 * eps
        m._set_flat_params(p)
        down = m._loss_and_gradient(Xs, ys)[0]
        fd[k] = (up - down) / (2 * eps)
    m._set_flat_params(p0)
    assert_allclose(grad, fd, rtol=1e-5, atol=1e-8)
    assert len(m._param_groups()) == 1 + len(m.coefs_)
    assert sum(g.stop - g.start for g in m._param_groups()) == len(p0)


def test_check_gradients_works_on_it(digits):
    fastnn = pytest.importorskip("fastnn")
    if not hasattr(fastnn, "check_gradients"):
        pytest.skip("fastnn.check_gradients is not exported yet")
    X, y = digits
    m = small().fit(X[:30], y[:30])
    errors = fastnn.check_gradients(m, X[:4], y[:4])
    assert errors.max() < 1e-5


# ---------------------------------------------------------------- training

def test_learns_digits_in_minibatches_and_float32(digits):
    X, y = digits
    m = small(batch_size=10, solver="adam", learning_rate_init=0.02, max_iter=15,
              dtype="float32").fit(X, y)
    assert m._params.dtype == np.float32
    assert m.predict_proba(X).dtype == np.float32
    assert m.score(X, y) > 0.9
    assert m.loss_curve_[-1] < m.loss_curve_[0]


@pytest.mark.parametrize("kw", [dict(batch_size=1), dict(batch_size=7, momentum=0.9, alpha=0.01),
                                dict(batch_size=5, solver="adam", learning_rate_init=0.01)])
def test_same_result_for_any_thread_count(kw, digits, n_threads):
    X, y = digits
    runs = []
    for n in n_threads:
        with threads(n):
            runs.append(small(max_iter=2, **kw).fit(X, y))
    for m in runs[1:]:
        assert_array_equal(m._params, runs[0]._params)
        assert_array_equal(m.step_losses_, runs[0].step_losses_)


def test_partial_fit_continues_where_fit_stops(digits):
    X, y = digits
    whole = small(max_iter=3).fit(X, y)
    parts = small(max_iter=1)
    for _ in range(3):
        parts.partial_fit(X, y, classes=np.unique(y))
    assert_array_equal(parts._params, whole._params)
    assert parts.n_iter_ == 3 and len(parts.step_losses_) == 3 * len(X)


def test_learning_rate_decay_changes_training(digits):
    X, y = digits
    a = small(max_iter=2).fit(X, y)
    b = small(max_iter=2, learning_rate_decay=1.0).fit(X, y)
    assert_array_equal(a.step_losses_[:len(X)], b.step_losses_[:len(X)])  # epoch 0 unchanged
    assert not np.array_equal(a._params, b._params)


def test_input_is_not_modified_and_save_load_round_trip(digits, tmp_path):
    X, y = digits
    X0 = X.copy()
    m = small().fit(X, y)
    assert_array_equal(X, X0)
    pytest.importorskip("h5py")
    try:
        from fastnn.models._io import load_model
    except ImportError:
        pytest.skip("fastnn.models._io.load_model not available")
    m.save(tmp_path / "cnn.h5")
    back = load_model(tmp_path / "cnn.h5")
    assert_array_equal(back.predict_proba(X), m.predict_proba(X))


def test_verbose_prints_the_error_every_k_steps(digits, capsys):
    X, y = digits
    small(max_iter=1, verbose=50).fit(X[:100], y[:100])
    lines = [l for l in capsys.readouterr().out.splitlines() if "error" in l]
    assert [l.split(":")[0] for l in lines] == ["epoch 1 step 50", "epoch 1 step 100"]


# ---------------------------------------------------------------- errors

BAD_PARAMS = [
    (dict(n_filters=0), ValueError, "n_filters must be an int >= 1; got 0"),
    (dict(filter_size=2.5), TypeError, "filter_size must be an int"),
    (dict(filter_size=(3, 3, 3)), ValueError, "filter_size must be an int or a pair"),
    (dict(pool_size=0), ValueError, "pool_size must be an int >= 1"),
    (dict(conv_activation="softmax"), ValueError, "conv_activation must be one of"),
    (dict(activation=3), TypeError, "activation must be one of"),
    (dict(solver="lbfgs"), ValueError, "solver must be one of"),
    (dict(learning_rate_init=-0.1), ValueError, "learning_rate_init must be a finite float > 0"),
    (dict(batch_size=0), ValueError, "batch_size must be an int >= 1"),
    (dict(sample_order="random"), ValueError, "sample_order must be one of"),
    (dict(dtype="int32"), ValueError, "dtype must be 'float32' or 'float64'"),
    (dict(image_shape=(8,)), ValueError, r"image_shape must be None, \(H, W\) or \(C, H, W\)"),
    (dict(image_shape=(7, 7)), ValueError, r"X has 64 features per row, but image_shape \(7, 7\) holds 49"),
    (dict(filter_size=9), ValueError, r"filter_size \(9, 9\) is larger than the images \(8, 8\)"),
    (dict(filter_size=4, pool_size=2), ValueError, r"pool_size 2 does not divide the convolution maps \(5, 5\)"),
]


@pytest.mark.parametrize("kw,err,match", BAD_PARAMS)
def test_bad_parameters_raise_clear_errors(kw, err, match, digits):
    X, y = digits
    with pytest.raises(err, match=match):
        small(**kw).fit(X[:20], y[:20])


def test_bad_inputs_raise_clear_errors(digits):
    X, y = digits
    Xn = X[:20].copy()
    Xn[3, 5] = np.nan
    with pytest.raises(ValueError, match=r"X must be finite.*got nan at \[3, 5\]"):
        small().fit(Xn, y[:20])
    with pytest.raises(TypeError, match="X must hold numbers"):
        small().fit(np.full((20, 64), "a"), y[:20])
    with pytest.raises(ValueError, match="got 5 dimensions"):
        small().fit(np.zeros((20, 1, 1, 8, 8)), y[:20])
    with pytest.raises(ValueError, match="X and y must have the same number of samples"):
        small().fit(X[:20], y[:19])
    m = small().fit(X[:50], y[:50])
    with pytest.raises(ValueError, match=r"X holds images of shape \(1, 9, 9\), but ConvNetClassifier "
                                         r"was fitted with images of shape \(1, 8, 8\)"):
        m.predict(np.zeros((2, 9, 9)))
    with pytest.raises(ValueError, match="X has 63 features, but ConvNetClassifier is expecting 64"):
        m.predict(np.zeros((2, 63)))
    with pytest.raises(ValueError, match="y holds labels not seen in the first call"):
        m.partial_fit(X[:5], [0, 1, 2, 3, 11])
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        small().partial_fit(X[:5], y[:5])


# ---------------------------------------------------------------- pictures

def test_feature_maps_picture_is_written(digits, tmp_path):
    pytest.importorskip("matplotlib")
    from fastnn.plots_cnn import feature_maps

    X, y = digits
    m = small().fit(X, y)
    out = feature_maps(m, X[0].reshape(8, 8), tmp_path / "maps.png", title="digit 0")
    with open(out, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match=r"image must be one image of shape \(8, 8\)"):
        feature_maps(m, np.zeros((7, 7)), tmp_path / "bad.png")


@pytest.mark.parametrize("batch,used,other", [(1, "train_samples", "train_epochs"),
                                              (4, "train_epochs", "train_samples")])
def test_a_fit_runs_only_its_own_batch_sizes_trainer(monkeypatch, digits, batch, used, other):
    # per-image and minibatch training are separate kernels, so that a new machine's
    # first fit compiles only its own (both in one: 67 s; the per-image one, 26 s)
    from fastnn.kernels import conv

    def not_this(*args):
        raise AssertionError("the fit ran another batch size's trainer")
    monkeypatch.setattr(conv, other, not_this)
    X, y = digits
    model = small(batch_size=batch, max_iter=2).fit(X[:40], y[:40])
    assert model.n_iter_ == 2 and np.isfinite(model.loss_curve_).all()
