"""ConvNetClassifier: input forms, gradients, determinism, errors, scikit-learn contract."""
import re
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
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
], expected_failed_checks=lambda est: {
    # at batch size 1 (the article's, and the default) a weight changes only the
    # L2 term's share of a step, as in scikit-learn's MLP, so a weight of k is
    # not k copies; in full batches it is (tests/kernels/test_conv.py)
    "check_sample_weight_equivalence_on_dense_data": "batch size 1: weights are not copies",
})
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


def test_check_gradients_refuses_y_of_another_length(digits):
    """The CNN's path checked no lengths: 5 labels for 10 images read past the
    labels' end (errors 4.3 and 2.0, or NaN)."""
    import fastnn
    X, y = digits
    m = small().fit(X[:30], y[:30])
    with pytest.raises(ValueError, match=r"X and y must have the same number of samples; got 10 and 5"):
        fastnn.check_gradients(m, X[:10], y[:5])


def test_check_gradients_of_a_float32_network_runs_in_float64(digits):
    """A float32 network is checked in float64, as the MLPs are: its weights
    were perturbed in float32 (errors about 1e-4), and it is left as it was."""
    import fastnn
    X, y = digits
    m = small(dtype="float32").fit(X[:30], y[:30])
    before = m._params.copy()
    assert fastnn.check_gradients(m, X[:4], y[:4]).max() < 1e-6
    assert m._params.dtype == np.float32
    assert_array_equal(m._params, before)


def test_check_gradients_of_an_unfitted_network_uses_initial_weights(digits):
    """Unfitted, the initial weights a fit draws (as for the MLPs): it raised NotFittedError."""
    import fastnn
    X, y = digits
    m = small(dtype="float32")
    errors = fastnn.check_gradients(m, X[:4], y[:4])
    assert errors.shape == (3,) and errors.max() < 1e-6   # the convolution, 2 dense layers
    assert not hasattr(m, "classes_")


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


@pytest.mark.parametrize("change,error,match", [
    (dict(momentum=5.0), ValueError, r"momentum must be a finite float in \[0.0, 1.0\); got 5.0"),
    (dict(solver="bogus"), ValueError, r"solver must be one of \['adam', 'sgd'\]; got 'bogus'"),
    (dict(batch_size=0), ValueError, r"batch_size must be an int >= 1; got 0"),
    (dict(sample_order="bogus"), ValueError, r"sample_order must be one of"),
    (dict(learning_rate_init=np.nan), ValueError, r"learning_rate_init must be a finite float > 0.0; got nan"),
    (dict(n_filters=4), ValueError, r"partial_fit continues the fitted network, but .* \(fitted: 3 "
                                    r"filters of \(3, 3\), head \[27, 8, 10\], dtype float64\); set "
                                    r"them back, or fit a new network with fit"),
    (dict(hidden_layer_sizes=(7,)), ValueError, r"partial_fit continues the fitted network"),
    (dict(dtype="float32"), ValueError, r"partial_fit continues the fitted network"),
])
def test_partial_fit_checks_the_parameters_again(change, error, match, digits):
    """set_params between partial_fit calls: the parameters are checked again
    and must describe the fitted network, as the MLPs check them (they were
    used unchecked: momentum 5 trained, a new n_filters or dtype was ignored,
    sample_order='bogus' gave a KeyError), and a refused call trains nothing."""
    X, y = digits
    m = small().partial_fit(X, y, classes=np.unique(y))
    before = m._params.copy()
    m.set_params(**change)
    with pytest.raises(error, match=match):
        m.partial_fit(X, y)
    assert_array_equal(m._params, before)
    m.set_params(**{k: small().get_params()[k] for k in change}).partial_fit(X, y)
    assert m.n_iter_ == 2


def test_partial_fit_refuses_other_classes_and_a_refused_first_call_leaves_no_network(digits):
    X, y = digits
    m = small().partial_fit(X, y, classes=np.arange(10))
    with pytest.raises(ValueError, match=r"classes must be the classes the network was fitted with, "
                                         r"\[0, 1, .*9\] \(partial_fit cannot change them\); got \[0, 1, 2\]"):
        m.partial_fit(X, y, classes=[0, 1, 2])
    m.partial_fit(X, y, classes=np.arange(10))   # the same ones again: fine
    bad = small(filter_size=9)
    with pytest.raises(ValueError, match=r"filter_size \(9, 9\) is larger than the images"):
        bad.partial_fit(X, y, classes=np.arange(10))
    with pytest.raises(ValueError, match=r"classes must be passed on the first call to partial_fit"):
        bad.set_params(filter_size=3).partial_fit(X, y)   # (it took classes_ from the refused call)


def test_buffers_come_in_chunks_of_epochs_with_the_same_bits(digits, monkeypatch):
    """A fit runs its epochs in calls of at most a chunk (max_iter=10**10 with
    tol asked for 75 GiB up front), with the same bits as one call."""
    import fastnn.models.cnn as cnn
    X, y = digits
    for kw in (dict(batch_size=1), dict(batch_size=16, solver="adam", learning_rate_init=0.01)):
        whole = small(max_iter=5, **kw).fit(X, y)
        monkeypatch.setattr(cnn, "_STEP_CHUNK", 2 * len(X))   # (2 epochs a call at batch 1)
        parts = small(max_iter=5, **kw).fit(X, y)
        monkeypatch.undo()
        assert_array_equal(parts._params, whole._params)
        assert_array_equal(parts.step_losses_, whole.step_losses_)
        assert parts.loss_curve_ == whole.loss_curve_ and parts.n_iter_ == 5
    stops = small(max_iter=10**10, tol=1.0, n_iter_no_change=1).fit(X, y)
    assert stops.n_iter_ == 3
    never = small(max_iter=2, n_iter_no_change=2**64).fit(X, y)   # (a TypingError: int too large)
    assert never.n_iter_ == 2


def test_learning_rate_decay_changes_training(digits):
    X, y = digits
    a = small(max_iter=2).fit(X, y)
    b = small(max_iter=2, learning_rate_decay=1.0).fit(X, y)
    assert_array_equal(a.step_losses_[:len(X)], b.step_losses_[:len(X)])  # epoch 0 unchanged
    assert not np.array_equal(a._params, b._params)


def _stop_epoch(scores, tol, n_iter_no_change):
    """scikit-learn's early-stopping rule replayed: the epoch (from 0) after which
    a fit with these validation scores stops, or None if it runs on."""
    best, no_improve = -np.inf, 0
    for e, score in enumerate(scores):
        no_improve = no_improve + 1 if score < best + tol else 0   # (scikit-learn's rule)
        best = max(best, score)
        if no_improve > n_iter_no_change:
            return e
    return None


def test_early_stopping_stops_by_the_rule_and_keeps_the_best_epoch(digits):
    X, y = digits
    kw = dict(solver="adam", learning_rate_init=0.01)
    m = small(early_stopping=True, validation_fraction=0.2, n_iter_no_change=4, tol=0.0,
              max_iter=100, **kw).fit(X, y)
    scores = m.validation_scores_
    assert len(scores) == m.n_iter_ == len(m.loss_curve_) < 100
    assert _stop_epoch(scores, 0.0, 4) == m.n_iter_ - 1
    assert m.best_validation_score_ == max(scores) > 0.9
    assert m.best_loss_ == min(m.loss_curve_)
    # the held-out images are the stratified split of the model's seed; the model
    # kept has the best epoch's accuracy on them, not the last epoch's
    X_fit, X_val, y_fit, y_val = train_test_split(X, y, random_state=m._seed % 2**32,
                                                  test_size=0.2, stratify=y)
    assert len(X_val) == 60 and np.bincount(y_val).min() >= 5
    assert m.score(X_val, y_val) == m.best_validation_score_
    # and training saw only the rest: a plain fit on it gives the same losses
    plain = small(max_iter=m.n_iter_, **kw).fit(X_fit, y_fit)
    assert_array_equal(plain.loss_curve_, m.loss_curve_)
    # it ran past its best epoch, and kept that epoch's parameters, not the last's
    assert scores[-1] < max(scores) and plain.score(X_val, y_val) == scores[-1]
    assert not np.array_equal(plain._params, m._params)


def test_a_warm_fit_that_never_beats_the_best_score_keeps_the_best_parameters(digits, tmp_path):
    # as scikit-learn's MLP: early stopping restores the best parameters seen, those
    # of an earlier fit that warm_start continues included; and the epochs without
    # improvement carry on (through save and load too), so the warm fit, whose first
    # epoch does not beat the best score by tol, stops after it
    pytest.importorskip("h5py")
    from fastnn import load

    X, y = digits
    m = small(early_stopping=True, n_iter_no_change=2, tol=1e-3, max_iter=40, solver="adam",
              learning_rate_init=0.01).fit(X, y)
    assert m.n_iter_ < 40
    n_scores = len(m.validation_scores_)
    best = m._params.copy()
    m.save(tmp_path / "cnn.h5")
    for model in (m, load(tmp_path / "cnn.h5")):
        model.set_params(warm_start=True, learning_rate_init=1e-12).fit(X, y)
        assert model.n_iter_ == 1 and len(model.validation_scores_) == n_scores + 1
        assert model.validation_scores_[-1] <= model.best_validation_score_
        assert_array_equal(model._params, best)


def test_without_early_stopping_there_are_no_validation_scores(digits):
    X, y = digits
    m = small(max_iter=2).fit(X, y)
    assert m.validation_scores_ is None and m.best_validation_score_ is None
    with pytest.raises(ValueError, match=r"early_stopping holds out validation_fraction=0.01 of "
                                         r"the 2 images, stratified by class, and that cannot be "
                                         r"done here: .*only 1 member"):
        small(early_stopping=True, validation_fraction=0.01).fit(X[:2], y[:2])
    with pytest.raises(ValueError, match=r"validation_fraction=0.01 of the 40 images.*"
                                         r"test_size = 1 should be greater or equal to the number "
                                         r"of classes = 10"):
        small(early_stopping=True, validation_fraction=0.01).fit(X[:40], y[:40])


def test_warm_start_continues_the_parameters_and_restarts_the_optimiser(digits):
    X, y = digits
    whole = small(max_iter=6).fit(X, y)
    warm = small(max_iter=3, warm_start=True).fit(X, y)
    warm.fit(X, y)
    # plain SGD keeps no optimiser state: 3 + 3 epochs are the 6 epochs
    assert_array_equal(warm._params, whole._params)
    assert warm.n_iter_ == 3 and warm.loss_curve_ == whole.loss_curve_ and warm.t_ == whole.t_
    # with momentum the second fit starts from zero velocity, as scikit-learn's
    mom = small(max_iter=6, momentum=0.9).fit(X, y)
    mom_warm = small(max_iter=3, momentum=0.9, warm_start=True).fit(X, y)
    v = mom_warm._vel.copy()
    mom_warm.fit(X, y)
    assert np.abs(v).max() > 0 and not np.array_equal(mom_warm._params, mom._params)
    cold = small(max_iter=3, momentum=0.9).fit(X, y)
    cold.fit(X, y)   # without warm_start a fit starts a new network
    assert_array_equal(cold._params, small(max_iter=3, momentum=0.9).fit(X, y)._params)


def test_warm_start_with_learning_rate_decay_starts_its_decay_again(digits):
    X, y = digits
    # a warm fit's first epoch trains at learning_rate_init again (the decayed rate
    # would be a quarter of it), as b's second epoch, which has no decay
    a = small(max_iter=1, learning_rate_decay=3.0, warm_start=True).fit(X, y)
    a.fit(X, y)
    b = small(max_iter=1, learning_rate_decay=3.0).fit(X, y)
    b.set_params(learning_rate_decay=0.0).partial_fit(X, y)
    assert_array_equal(a._params, b._params)


def test_warm_start_refuses_another_network_or_other_classes(digits):
    X, y = digits
    m = small(max_iter=1, warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match=r"warm_start=True continues the fitted network, but "
                                         r".* \(fitted: 3 filters of \(3, 3\), head \[27, 8, 10\], "
                                         r"dtype float64\)"):
        m.set_params(n_filters=4).fit(X, y)
    m.set_params(n_filters=3)
    with pytest.raises(ValueError, match=r"warm_start=True needs y to have the classes of the "
                                         r"previous fit, \[0, 1, .*\]; got \[0, 1\]"):
        m.fit(X[y < 2], y[y < 2])


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


def test_a_loaded_model_goes_on_as_the_saved_one(digits, tmp_path):
    pytest.importorskip("h5py")
    from fastnn import load

    X, y = digits
    kw = dict(max_iter=4, early_stopping=True, n_iter_no_change=1, tol=0.0, warm_start=True,
              momentum=0.5, learning_rate_decay=0.5)
    m = small(**kw).fit(X, y)
    m.save(tmp_path / "cnn.h5")
    back = load(tmp_path / "cnn.h5")
    assert back.validation_scores_ == m.validation_scores_
    assert back.best_loss_ == m.best_loss_
    m.fit(X, y)
    back.fit(X, y)
    assert_array_equal(back._params, m._params)
    assert back.validation_scores_ == m.validation_scores_ and len(m.validation_scores_) > 2


def test_verbose_prints_the_error_every_k_steps(digits, capsys):
    X, y = digits
    small(max_iter=1, verbose=50).fit(X[:100], y[:100])
    lines = [l for l in capsys.readouterr().out.splitlines() if "error" in l]
    assert [l.split(":")[0] for l in lines] == ["epoch 1 step 50", "epoch 1 step 100"]


# ---------------------------------------------------------------- errors

RANDOM_STATE = r"random_state must be None, an int in \[0, 4294967295\] or a numpy\.random\.RandomState; got "
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
    (dict(random_state=2 ** 32), ValueError, RANDOM_STATE + r"4294967296\."),
    (dict(random_state=0.5), TypeError, RANDOM_STATE + r"float 0\.5\."),
    (dict(early_stopping="yes"), TypeError, "early_stopping must be a bool; got str 'yes'"),
    (dict(validation_fraction=1.0), ValueError,
     r"validation_fraction must be a finite float in \(0.0, 1.0\); got 1.0"),
    (dict(validation_fraction=0), ValueError, "validation_fraction must be a finite float in"),
    (dict(warm_start=1), TypeError, "warm_start must be a bool; got int 1"),
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
    refused = small(early_stopping=True)   # (as the MLPs: no held-out set in partial_fit)
    with pytest.raises(ValueError, match=r"partial_fit does not support early_stopping=True.*"
                                         r"got early_stopping=True"):
        refused.partial_fit(X[:5], y[:5], classes=np.arange(10))
    assert not hasattr(refused, "classes_")


@pytest.mark.parametrize("activation", ["relu", "identity"])
def test_outputs_that_overflow_are_refused_not_nan(activation, digits):
    X, y = digits
    m = small(conv_activation=activation, activation=activation, learning_rate_init=0.01).fit(
        X[:200], y[:200])
    m.filters_[:] = 1.0   # a 3x3 sum of pixels of 1e308 overflows to inf
    message = (r"X must be on a scale the network can compute in float64; got images whose "
               r"outputs are NaN or inf \(the first: image 0, max \|X\[0\]\| = .*\): the input's "
               r"scale overflows")
    for method in ("predict_proba", "predict", "predict_log_proba", "feature_maps"):
        with pytest.raises(ValueError, match=message):   # was NaN, and class 0
            getattr(m, method)(X[:200] * 1e308)
    big = X[:10].copy()
    big[4] *= 1e308
    with pytest.raises(ValueError, match=r"image 4, max \|X\[4\]\| = 1e\+308"):
        m.predict(big)
    assert np.isfinite(m.predict_proba(X[:200] * 1e3)).all()   # large but computable


@pytest.mark.parametrize("shape", [(200, 0, 8, 8), (200, 1, 0, 8), (200, 8, 0)])
def test_images_with_no_channel_row_or_column_are_refused(shape, digits):
    _, y = digits
    with pytest.raises(ValueError, match=r"X must hold images of at least 1 channel, 1 row and 1 "
                                         r"column; got shape " + re.escape(str(shape))):
        ConvNetClassifier().fit(np.zeros(shape), y[:200])   # was a ZeroDivisionError


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


def test_feature_maps_picture_of_a_multi_channel_network_names_the_forms_it_takes(tmp_path):
    pytest.importorskip("matplotlib")
    from fastnn.plots_cnn import feature_maps

    rng = np.random.default_rng(0)
    X = rng.uniform(size=(20, 2, 7, 7))
    m = small(filter_size=2, max_iter=1).fit(X, np.arange(20) % 2)
    for image in (X[0], X[0].ravel()):   # (C, H, W) and a flat row
        assert open(feature_maps(m, image, tmp_path / "ok.png"), "rb").read(4) == b"\x89PNG"
    # it offered an (H, W) image, which a model of 2 channels refuses
    message = (r"image must be one image of shape \(2, 7, 7\) or a flat row of 98 values \(an "
               r"\(H, W\) image only for a one-channel model; this one has 2 channels\); got "
               r"shape \(7, 7\)\.")
    with pytest.raises(ValueError, match=message):
        feature_maps(m, X[0, 0], tmp_path / "bad.png")
    with pytest.raises(ValueError, match=r"got shape \(97,\)"):
        feature_maps(m, X[0].ravel()[:97], tmp_path / "bad.png")


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


def test_loss_is_the_last_epochs_and_is_saved(digits, tmp_path):
    X, y = digits
    m = small(max_iter=3).fit(X, y)
    assert m.loss_ == m.loss_curve_[-1] and m.loss_ >= m.best_loss_
    m.partial_fit(X, y)
    assert m.loss_ == m.loss_curve_[-1] and len(m.loss_curve_) == 4
    from fastnn import load
    m.save(tmp_path / "m.h5")
    assert load(tmp_path / "m.h5").loss_ == m.loss_


@pytest.mark.parametrize("batch_size", [1, 2])
def test_a_steps_loss_counts_the_l2_term_of_the_weights_it_starts_from(digits, batch_size):
    """One step on one batch: the loss it reports is the full-batch loss (the
    L2 term included) at the weights before the step, per image as per minibatch."""
    X, y = digits
    Xb, yb = X[:batch_size], y[:batch_size]
    m = small(alpha=0.5, batch_size=batch_size, max_iter=1, dtype="float64",
              learning_rate_init=0.5).fit(X[:40], y[:40])
    before, _ = m._loss_and_gradient(Xb, yb)
    m.partial_fit(Xb, yb)
    assert m.loss_curve_[-1] == pytest.approx(before, rel=1e-12)


# ---------------------------------------------------------------- sample weights

@pytest.mark.parametrize("batch_size", [1, 16])
def test_sample_weight_of_one_and_of_a_number(digits, batch_size):
    """Weights of one give the unweighted bits; other weights change the fit.
    A number weighs every image alike: at batch size 1 with alpha = 0 that is
    no weighting at all (a weight changes only the L2 term's share)."""
    X, y = digits
    params = dict(batch_size=batch_size, alpha=0.0, max_iter=2)
    plain = small(**params).fit(X, y)
    ones = small(**params).fit(X, y, sample_weight=np.ones(len(y)))
    assert_array_equal(ones._params, plain._params)
    assert_array_equal(ones.loss_curve_, plain.loss_curve_)
    w = np.random.default_rng(0).integers(0, 4, len(y)).astype(float)
    assert not np.array_equal(small(**params).fit(X, y, sample_weight=w)._params, plain._params)
    if batch_size == 1:
        assert_array_equal(small(**params).fit(X, y, sample_weight=2.5)._params, plain._params)


def test_partial_fit_takes_sample_weight(digits):
    X, y = digits
    keep = np.arange(len(y)) % 3 != 0   # (in order: the same images, the same steps)
    a = small(sample_order="sequential").partial_fit(X, y, classes=np.arange(10),
                                                     sample_weight=keep.astype(float))
    b = small(sample_order="sequential").partial_fit(X[keep], y[keep], classes=np.arange(10))
    assert_array_equal(a._params, b._params)


def test_early_stopping_scores_with_the_held_out_weights(digits):
    """The held-out part keeps its weights and the kept epoch's validation score
    is the weighted accuracy; weight only on the held-out images is an error."""
    from sklearn.metrics import accuracy_score
    from fastnn._validation import validation_split
    X, y = digits
    w = np.random.default_rng(1).integers(0, 3, len(y)).astype(float)
    m = small(early_stopping=True, validation_fraction=0.3, max_iter=4, n_iter_no_change=10)
    m.fit(X, y, sample_weight=w)
    Y = np.eye(10)[y]
    _, X_val, _, Y_val, _, w_val = validation_split(m._images(X, m._dtype, reset=False), Y, 0.3,
                                                    m._seed, y, "images", sample_weight=w)
    assert m.best_validation_score_ == max(m.validation_scores_)
    assert m.best_validation_score_ == pytest.approx(
        accuracy_score(Y_val.argmax(axis=1), m.predict(X_val), sample_weight=w_val), rel=1e-12)
    *_, index_val = validation_split(np.arange(len(y))[:, None], Y, 0.3, m._seed, y, "images",
                                     sample_weight=np.arange(len(y)))
    only_val = np.zeros(len(y))
    only_val[index_val.astype(int)] = 1.0
    with pytest.raises(ValueError, match="sample_weight is zero on every image of the training "
                                         "part that early_stopping leaves"):
        small(early_stopping=True, validation_fraction=0.3).fit(X, y, sample_weight=only_val)


@pytest.mark.parametrize("sample_weight,error,message", [
    (np.ones(5), ValueError, r"sample_weight must have one weight a sample \(300\); got 5\."),
    (-np.ones(300), ValueError, r"sample_weight must be >= 0; got -1\.0 at \[0\]\."),
    (np.zeros(300), ValueError, r"sample_weight must not be all zero"),
])
def test_bad_sample_weight_is_named(digits, sample_weight, error, message):
    with pytest.raises(error, match=message):
        small().fit(*digits, sample_weight=sample_weight)


def test_a_model_from_a_read_only_memmap_predicts_and_trains_without_new_kernels(digits, tmp_path):
    # joblib.load(mmap_mode="r") gives read-only arrays; the kernels get writeable
    # ones (copies where needed), so nothing is compiled again for them and
    # training can write
    from fastnn.kernels import conv, pool
    from tests.models.readonly import memmapped, read_only_signatures

    X, y = digits
    m = small(max_iter=1).fit(X, y)
    back = memmapped(m, tmp_path)
    assert_array_equal(back.predict_proba(X), m.predict_proba(X))
    assert_array_equal(back.feature_maps(X[:3])[1], m.feature_maps(X[:3])[1])
    back.partial_fit(X, y)
    m.partial_fit(X, y)
    assert_array_equal(back._params, m._params)
    assert read_only_signatures(conv) == [] and read_only_signatures(pool) == []
