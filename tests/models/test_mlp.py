"""MLPClassifier / MLPRegressor: the article's behaviour, scikit-learn's contract, bad input."""
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

import fastnn
from fastnn import MLPClassifier, MLPRegressor, check_gradients, threads
from tests.models.quiet import fit_quietly

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_Y = np.array([0, 1, 1, 0], dtype=float)


def part_d(**kw):
    """The article's part D network: 2-5-1 sigmoid, bias input, momentum 0.1."""
    params = dict(hidden_layer_sizes=(5,), activation="logistic", output_activation="logistic",
                  loss="squared", solver="sgd", learning_rate_init=0.05, momentum=0.1,
                  momentum_rule="previous_gradient", batch_size=1, max_iter=10000,
                  sample_order="sequential", bias=(True, False), init=((-0.2, 0.2), (-2.0, 2.0)),
                  tol=None, alpha=0.0)
    params.update(kw)
    return MLPRegressor(**params)


# ---------------------------------------------------------------- scikit-learn


POISSON_INAPPLICABLE = {
    # it draws targets with make_regression whatever the positive_only tag says;
    # loss='poisson' rejects negative counts (scikit-learn's PoissonRegressor,
    # single-output, never meets this check)
    "check_regressor_multioutput": "negative targets, which loss='poisson' rejects",
}


@parametrize_with_checks([
    MLPClassifier(hidden_layer_sizes=(16,), max_iter=200, random_state=0, learning_rate_init=0.01),
    MLPRegressor(hidden_layer_sizes=(16,), max_iter=200, random_state=0, learning_rate_init=0.01),
    MLPClassifier(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=200, random_state=0),
    MLPRegressor(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=200, random_state=0),
    MLPRegressor(hidden_layer_sizes=(16,), loss="poisson", max_iter=200, random_state=0,
                 learning_rate_init=0.01),
], expected_failed_checks=lambda est: POISSON_INAPPLICABLE if est.loss == "poisson" else {})
def test_scikit_learn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


# ------------------------------------------------------------ the article


def test_hand_worked_momentum_step_of_the_2_5_1_network():
    """Two steps of part D's rule on the sample [1, 0] -> 1, worked out by hand.

    Start: every input weight 0.1 (the bias cell's too), every output weight 0.5,
    learning rate 0.5, momentum 0.1.
    Forward: each hidden unit sums 1 * 0.1 + 0 * 0.1 + 0.1 (bias) = 0.2,
        h = sigmoid(0.2) = 0.549833997312478;
    the output sums 5 * 0.5 * h = 1.374584993281195, o = sigmoid(...) = 0.7981199182565396.
    Output delta (o - y) o (1 - o) = -0.03252783012557497.
    Hidden delta h (1 - h) * 0.5 * (-0.0325278...) = -0.004025588515217953.
    Step 1 (no previous gradient): w_out = 0.5 - 0.5 * h * d_out = 0.508942453430923;
        w_in(x=1) = w_bias = 0.1 - 0.5 * d_hid = 0.10201279425760898; w_in(x=0) unchanged.
    Step 2 adds momentum * previous gradient: w -= 0.5 * g2 + 0.1 * g1.
    """
    m = part_d(max_iter=1, learning_rate_init=0.5, momentum=0.1).fit(XOR_X[2:3], [1.0])
    m.coefs_[0][:] = 0.1
    m.intercepts_[0][:] = 0.1
    m.coefs_[1][:] = 0.5
    m._vel[:] = 0.0
    m.partial_fit(XOR_X[2:3], [1.0])
    assert_allclose(m.coefs_[1][:, 0], 0.508942453430923, rtol=1e-14)
    assert_allclose(m.coefs_[0][0], 0.10201279425760898, rtol=1e-14)
    assert_allclose(m.intercepts_[0], 0.10201279425760898, rtol=1e-14)
    assert_array_equal(m.coefs_[0][1], 0.1)
    g1_out = 0.549833997312478 * -0.03252783012557497
    # step 2, recomputed from the step-1 weights
    h2 = 1 / (1 + np.exp(-2 * 0.10201279425760898))
    o2 = 1 / (1 + np.exp(-5 * 0.508942453430923 * h2))
    g2_out = h2 * (o2 - 1) * o2 * (1 - o2)
    m.partial_fit(XOR_X[2:3], [1.0])
    assert_allclose(m.coefs_[1][:, 0], 0.508942453430923 - 0.5 * g2_out - 0.1 * g1_out, rtol=1e-13)


def test_xor_bp_reaches_the_article_result_for_95_of_100_seeds():
    ok = 0
    for seed in range(100):
        out = part_d(random_state=seed).fit(XOR_X, XOR_Y).predict(XOR_X)
        ok += np.abs(out - XOR_Y).max() < 0.1
    assert ok >= 95, ok


def test_two_layer_loss_never_increases():
    X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=float)
    # part I: weights uniform in [0, 1), no biases, the sum of squares over the 4 samples
    # descended with step 1 (= learning rate 8 on fastnn's mean of half squares)
    m = MLPRegressor((4,), activation="logistic", output_activation="logistic", solver="sgd",
                     learning_rate_init=8.0, momentum=0.0, batch_size="full", max_iter=1500, tol=None,
                     bias=False, alpha=0.0, init=(0.0, 1.0), random_state=1).fit(X, XOR_Y)
    curve = np.array(m.loss_curve_)
    assert len(curve) == 1500
    assert (np.diff(curve) <= 0).all()
    assert np.abs(m.predict(X) - XOR_Y).max() < 0.2


def test_digits_mlp_reaches_97_percent():
    from sklearn.model_selection import train_test_split
    d = load_digits()
    Xtr, Xte, ytr, yte = train_test_split(d.data / 16, d.target, test_size=0.25, random_state=0)
    m = MLPClassifier((100,), activation="logistic", solver="sgd", learning_rate_init=0.02, momentum=0.9,
                      nesterovs_momentum=False, batch_size=1, max_iter=50, tol=None, alpha=0.0,
                      init=(-0.25, 0.25), random_state=0).fit(Xtr, ytr)
    assert m.score(Xte, yte) >= 0.97


def test_single_layer_cannot_fit_xor_but_fits_a_linear_target():
    X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=float)
    kw = dict(hidden_layer_sizes=(), output_activation="logistic", solver="sgd", learning_rate_init=1.0,
              momentum=0.0, batch_size="full", max_iter=10000, tol=None, bias=False, alpha=0.0,
              init=(-1.0, 1.0), random_state=1)
    linear = MLPRegressor(**kw).fit(X, [0, 0, 1, 1])
    assert np.abs(linear.predict(X) - [0, 0, 1, 1]).max() < 0.05
    xor = MLPRegressor(**kw).fit(X, XOR_Y)
    assert np.abs(xor.predict(X) - XOR_Y).max() > 0.4


# --------------------------------------------------------------- gradients

ACTS = ["identity", "logistic", "tanh", "relu"]
OUTPUTS = [("identity", "squared"), ("logistic", "squared"), ("softmax", "squared"), ("tanh", "squared"),
           ("logistic", "log"), ("softmax", "log")]


@pytest.mark.parametrize("batch", [1, "full"])
@pytest.mark.parametrize("out,loss", OUTPUTS)
@pytest.mark.parametrize("act", ACTS)
def test_check_gradients_every_activation_and_loss(act, out, loss, batch):
    g = np.random.default_rng(0)
    n = 1 if batch == 1 else 12
    X = g.normal(size=(n, 4))
    if out in ("softmax",) or loss == "log":
        y = np.array([0, 1, 2] * 4)[:n]
        est = MLPClassifier((5, 3), activation=act, output_activation=out, loss=loss, alpha=0.01,
                            random_state=0)
        if n == 1:
            y = np.array([0])
            X = np.vstack([X, g.normal(size=(2, 4))])
            y = np.array([0, 1, 2])
    else:
        y = g.normal(size=(n, 2))
        est = MLPRegressor((5, 3), activation=act, output_activation=out, loss=loss, alpha=0.01,
                           random_state=0)
    errors = check_gradients(est, X, y)
    assert errors.shape == (3,)
    assert errors.max() < 1e-5, errors


def test_check_gradients_catches_a_wrong_gradient(monkeypatch):
    from fastnn.kernels import dense
    real = dense.gradient

    def wrong(params, layout, loss, X, Y, alpha, A, D, grad):
        value = real(params, layout, loss, X, Y, alpha, A, D, grad)
        grad[0] *= 1.01
        return value

    monkeypatch.setattr(dense, "gradient", wrong)
    errors = check_gradients(MLPRegressor((3,), random_state=0), XOR_X, XOR_Y)
    assert errors[0] > 1e-3


# ----------------------------------------------------------- determinism


def _coefs(n, dtype="float64", batch=16):
    X = load_digits().data[:300] / 16
    y = load_digits().target[:300]
    with threads(n):
        m = MLPClassifier((32,), solver="sgd", batch_size=batch, max_iter=3, random_state=5, tol=None,
                          dtype=dtype).fit(X, y)
    return m.coefs_


@pytest.mark.parametrize("batch", [1, 16])
def test_same_random_state_same_bits_for_any_thread_count(batch, n_threads):
    runs = [_coefs(n, batch=batch) for n in n_threads]
    for c in runs[1:]:
        for a, b in zip(runs[0], c):
            assert_array_equal(a, b)


def test_same_random_state_same_bits_in_a_fresh_process(tmp_path):
    code = ("import numpy as np, sys; from tests.models.test_mlp import _coefs; "
            "np.save(sys.argv[1], np.concatenate([c.ravel() for c in _coefs(1)]))")
    out = tmp_path / "c.npy"
    subprocess.run([sys.executable, "-c", code, str(out)], check=True, cwd=os.getcwd())
    here = np.concatenate([c.ravel() for c in _coefs(1)])
    assert_array_equal(np.load(out), here)


# --------------------------------------------------------------- input


@pytest.mark.parametrize("make", [
    lambda X: X.astype(np.float32),
    lambda X: np.asfortranarray(X),
    lambda X: np.repeat(X, 2, axis=1)[:, ::2],
    lambda X: _readonly(X),
], ids=["float32", "fortran", "non-contiguous", "read-only"])
def test_awkward_but_valid_inputs_give_the_same_model(make):
    X = load_digits().data[:200] / 16
    y = load_digits().target[:200]
    ref = MLPClassifier((16,), max_iter=5, random_state=0, tol=None).fit(X.astype(np.float32), y)
    m = MLPClassifier((16,), max_iter=5, random_state=0, tol=None).fit(make(X), y)
    for a, b in zip(ref.coefs_, m.coefs_):
        assert_array_equal(a, b)
    assert_array_equal(m.predict(make(X)), ref.predict(X))


def _readonly(X):
    X = X.copy()
    X.setflags(write=False)
    return X


def test_float32_model_trains_in_float32():
    X = load_digits().data[:300] / 16
    y = load_digits().target[:300]
    m = MLPClassifier((16,), max_iter=200, random_state=0, dtype="float32", learning_rate_init=0.01).fit(X, y)
    assert m.coefs_[0].dtype == np.float32
    assert m.predict_proba(X).dtype == np.float32
    assert m.score(X, y) > 0.9


BAD_FIT = [
    ("nan", dict(X=np.array([[np.nan, 1.0], [1.0, 2.0]])), ValueError, r"X must be finite \(no NaN or inf\); got nan at \[0, 0\]"),
    ("inf", dict(X=np.array([[1.0, 1.0], [np.inf, 2.0]])), ValueError, r"X must be finite \(no NaN or inf\); got inf at \[1, 0\]"),
    ("empty", dict(X=np.empty((0, 2)), y=np.empty(0)), ValueError, r"X must have at least 1 sample; got 0 \(shape \(0, 2\)\)"),
    ("1-D X", dict(X=np.array([1.0, 2.0])), ValueError, r"X must be 2-dimensional \(n_samples, n_features\); got a 1-D array of shape \(2,\). Reshape your data"),
    ("lengths", dict(y=np.array([0, 1, 1])), ValueError, r"X and y must have the same number of samples; got 2 and 3"),
    ("object", dict(X=np.array([["a", 1], [2, 3]], dtype=object)), TypeError, r"X must hold numbers; got an array of dtype object"),
    ("string", dict(X=np.array([["a", "b"], ["c", "d"]])), TypeError, r"X must hold numbers; got an array of dtype string \(<U1\)"),
    ("one class", dict(y=np.array([1, 1])), ValueError, r"y must contain at least 2 classes; got 1 class: \[1\]"),
    ("no y", dict(y=None), ValueError, r"MLPClassifier requires y to be passed, but the target y is None"),
    ("zero features", dict(X=np.empty((2, 0))), ValueError, r"X has 0 feature\(s\) \(shape=\(2, 0\)\) while a minimum of 1 is required"),
    ("complex", dict(X=np.array([[1j, 1], [2, 3]])), ValueError, r"X must hold real numbers; got complex dtype complex128"),
    ("overflow", dict(X=np.array([[1e300, 1], [2, 3]]), dtype="float32"), ValueError, r"X overflows float32: 1e\+300 at \[0, 0\]"),
    ("weights length", dict(sample_weight=np.ones(3)), ValueError, r"sample_weight must have one weight a sample \(2\); got 3"),
    ("weights negative", dict(sample_weight=np.array([1.0, -0.5])), ValueError, r"sample_weight must be >= 0; got -0.5 at \[1\]"),
    ("weights nan", dict(sample_weight=np.array([np.nan, 1.0])), ValueError, r"sample_weight must be finite \(no NaN or inf\); got nan at \[0\]"),
    ("weights 2-D", dict(sample_weight=np.ones((2, 1))), ValueError, r"sample_weight must be 1-dimensional; got 2 dimensions, shape \(2, 1\)"),
    ("weights zero", dict(sample_weight=np.zeros(2)), ValueError, r"sample_weight must not be all zero: no sample would count; got 2 zeros"),
    ("weights string", dict(sample_weight=np.array(["a", "b"])), TypeError, r"sample_weight must hold numbers; got an array of dtype string \(<U1\)"),
    ("scalar y", dict(y=5), ValueError, r"y must be an array with one entry a sample; got a scalar, int 5\."),
]
RANDOM_STATE = r"random_state must be None, an int in \[0, 4294967295\] or a numpy\.random\.RandomState; got "
BAD_PARAMS = [
    ("seed negative", dict(random_state=-1), ValueError, RANDOM_STATE + r"-1\."),
    ("seed generator", dict(random_state=np.random.default_rng(0)), TypeError,
     RANDOM_STATE + r"Generator Generator\(PCG64\)"),
    ("verbose string", dict(verbose="loud"), TypeError, r"verbose must be an int; got str 'loud'"),
    ("lr zero", dict(learning_rate_init=0.0), ValueError, r"learning_rate_init must be a finite float > 0.0; got 0.0"),
    ("lr negative", dict(learning_rate_init=-0.1), ValueError, r"learning_rate_init must be a finite float > 0.0; got -0.1"),
    ("lr string", dict(learning_rate_init="fast"), TypeError, r"learning_rate_init must be a float; got str 'fast'"),
    ("momentum 1", dict(momentum=1.0), ValueError, r"momentum must be a finite float in \[0.0, 1.0\); got 1.0"),
    ("momentum neg", dict(momentum=-0.5), ValueError, r"momentum must be a finite float in \[0.0, 1.0\); got -0.5"),
    ("activation", dict(activation="sigmoid"), ValueError, r"activation must be one of \['identity', 'logistic', 'relu', 'tanh'\]; got 'sigmoid'"),
    ("solver", dict(solver="newton"), ValueError, r"solver must be one of \['adam', 'lbfgs', 'sgd'\]; got 'newton'"),
    ("max_fun", dict(max_fun=0), ValueError, r"max_fun must be an int >= 1; got 0"),
    ("hidden 0", dict(hidden_layer_sizes=(5, 0)), ValueError, r"hidden_layer_sizes\[1\] must be an int >= 1; got 0"),
    ("hidden float", dict(hidden_layer_sizes=(5.5,)), TypeError, r"hidden_layer_sizes\[0\] must be an int; got float 5.5"),
    ("max_iter", dict(max_iter=0), ValueError, r"max_iter must be an int >= 1; got 0"),
    ("batch", dict(batch_size="big"), ValueError, r"batch_size must be an int >= 1, 'auto' or 'full'; got 'big'"),
    ("alpha", dict(alpha=-1.0), ValueError, r"alpha must be a finite float >= 0.0; got -1.0"),
    ("loss", dict(loss="hinge"), ValueError, r"loss must be one of \['log', 'log_loss', 'poisson', 'squared', 'squared_error'\]; got 'hinge'"),
    ("loss/output", dict(loss="log", output_activation="tanh"), ValueError, r"loss='log' needs output_activation 'logistic' or 'softmax'; got output_activation='tanh'"),
    ("bias length", dict(bias=(True,)), ValueError, r"bias must have one entry per weight layer \(2\); got 1: \(True,\)"),
    ("init", dict(init=((0.2, -0.2), (1, 2))), ValueError, r"init ranges must be finite with low < high; got \(0.2, -0.2\)"),
    ("init name", dict(init="xavier"), ValueError, r"init must be one of \['glorot', 'normal'\]; got 'xavier'"),
    ("order", dict(sample_order="random"), ValueError, r"sample_order must be one of \['replacement', 'sequential', 'shuffle'\]; got 'random'"),
    ("dtype", dict(dtype="int32"), ValueError, r"dtype must be 'float32' or 'float64'; got 'int32'"),
    ("rule", dict(momentum_rule="heavy"), ValueError, r"momentum_rule must be one of \['classical', 'previous_gradient'\]; got 'heavy'"),
    ("val frac", dict(validation_fraction=1.0), ValueError, r"validation_fraction must be a finite float in \(0.0, 1.0\); got 1.0"),
    ("schedule", dict(learning_rate="optimal"), ValueError, r"learning_rate must be one of \['adaptive', 'constant', 'invscaling'\]; got 'optimal'"),
    ("power_t", dict(power_t=-1), ValueError, r"power_t must be a finite float >= 0.0; got -1.0"),
    ("warm_start", dict(warm_start="yes"), TypeError, r"warm_start must be a bool; got str 'yes'"),
    ("hidden huge", dict(hidden_layer_sizes=(10**30,)), ValueError, r"hidden_layer_sizes must give a network that fits in memory; got \(1000000000000000000000000000000,\), which with 2 features and 1 output has 4e\+30 parameters\."),
    # (past the 128 TiB a 64-bit process can address: refused whatever the machine's memory)
    ("hidden too big", dict(hidden_layer_sizes=(2**45,)), MemoryError, r"hidden_layer_sizes=\(35184372088832,\) with 2 features and 1 output make a network of 140737488355329 parameters, 1.05e\+06 GiB in float64 \(three times that with the optimiser's state\), which does not fit in memory\."),
]


@pytest.mark.parametrize("case,kw,err,msg", BAD_FIT + BAD_PARAMS, ids=[c[0] for c in BAD_FIT + BAD_PARAMS])
def test_bad_input_is_named_in_the_error(case, kw, err, msg):
    data = dict(X=np.array([[0.0, 1.0], [1.0, 0.0]]), y=np.array([0, 1]), sample_weight=None)
    params = dict(hidden_layer_sizes=(3,), max_iter=2)
    params.update({k: v for k, v in kw.items() if k not in data})
    data.update({k: v for k, v in kw.items() if k in data})
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)   # the error alone (no overflow warning)
        with pytest.raises(err, match=msg):
            MLPClassifier(**params).fit(data["X"], data["y"], sample_weight=data["sample_weight"])


def test_wrong_number_of_features_at_predict():
    m = fit_quietly(MLPClassifier((3,), max_iter=2), XOR_X, [0, 1, 1, 0])
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 2 features as input"):
        m.predict(np.ones((2, 3)))


def test_divergence_raises_a_clear_error():
    X = np.random.default_rng(0).normal(size=(50, 3)) * 1e6
    y = X.sum(axis=1) * 1e6
    m = MLPRegressor((8,), solver="sgd", learning_rate_init=10.0, momentum=0.9, max_iter=200, tol=None)
    with pytest.raises(ValueError, match=r"training diverged at epoch \d+: .* contains NaN or inf; "
                                         r"lower learning_rate_init \(10.0\) or scale X and y\."):
        m.fit(X, y)


# --------------------------------------------------- partial_fit, save, verbose


def test_partial_fit_continues_the_same_trajectory():
    X = load_digits().data[:200] / 16
    y = load_digits().target[:200]
    full = MLPClassifier((16,), solver="sgd", max_iter=3, tol=None, random_state=0, shuffle=False).fit(X, y)
    part = MLPClassifier((16,), solver="sgd", max_iter=1, tol=None, random_state=0, shuffle=False).fit(X, y)
    part.partial_fit(X, y)
    part.partial_fit(X, y)
    for a, b in zip(full.coefs_, part.coefs_):
        assert_allclose(a, b, rtol=1e-12)
    assert part.n_iter_ == 3 and len(part.loss_curve_) == 3
    assert part.best_loss_ == min(part.loss_curve_) == full.best_loss_


LABEL_SETS = {"ints": np.array([3, -1, 7, 12]), "strings": np.array(["cat", "ant", "dog", "bee"]),
              "floats": np.array([0.0, 2.0, 5.0, 9.0]), "bools": np.array([False, True])}


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(sorted(LABEL_SETS)), n_classes=st.integers(2, 4),
       picks=st.lists(st.integers(0, 3), min_size=1, max_size=40), seed=st.integers(0, 2**16))
def test_targets_and_predicted_labels_are_label_binarizers(kind, n_classes, picks, seed):
    """The classifier's own label encoding (``_one_hot``, ``_labels``) gives what
    scikit-learn's LabelBinarizer gives, for any labels and network outputs,
    and ``label_kind`` says what ``type_of_target`` says."""
    from sklearn.preprocessing import LabelBinarizer
    from sklearn.utils.multiclass import type_of_target
    from fastnn._validation import label_kind
    labels = LABEL_SETS[kind][:n_classes]
    classes = np.unique(labels)
    y = labels[np.array(picks) % len(labels)]
    assert label_kind(y) == type_of_target(y)
    m = MLPClassifier()
    m.classes_, m._multilabel = classes, False
    binarizer = LabelBinarizer().fit(classes)
    Y = m._one_hot(y)
    assert_array_equal(Y, binarizer.transform(y))
    out = np.random.default_rng(seed).random((len(y), Y.shape[1]))
    out[:, 0][::3] = 0.5        # the threshold itself, on some rows
    assert_array_equal(m._labels(out), binarizer.inverse_transform(out))


@pytest.mark.parametrize("y, kind", [
    (np.array([0.5, 1.0, 2.0]), "continuous"), (np.array([1.0, 2.0, 2.0]), "binary"),
    (np.array([1e20, 0.0]), "continuous"), (np.array([-0.0, 3.0, 2.0**62]), "multiclass"),
    (np.array([[0, 1], [1, 1]]), "multilabel-indicator"), (np.array([], dtype=float), "binary"),
    (np.array([1, "a", 2.5], dtype=object), "unknown")])
@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")   # type_of_target's, on 1e20
def test_label_kind_agrees_with_type_of_target(y, kind):
    from sklearn.utils.multiclass import type_of_target
    from fastnn._validation import label_kind
    assert label_kind(y) == type_of_target(y) == kind


@settings(max_examples=30, deadline=None)
@given(seeds=st.lists(st.one_of(st.integers(0, 2**32 - 1), st.booleans(),
                                st.integers(0, 2**32 - 1).map(np.uint32)), min_size=1, max_size=4))
def test_seeded_random_state_draws_what_check_random_state_draws(seeds):
    """The models' initial weights come from seeded_random_state: for every seed
    (reseeded one after another, a normal draw left half used in between), the
    values of sklearn's check_random_state(seed), which builds a new RandomState."""
    from sklearn.utils import check_random_state
    from fastnn._validation import seeded_random_state
    for seed in seeds:
        want = check_random_state(seed)
        got = seeded_random_state(seed)
        assert_array_equal(got.uniform(-1, 1, 7), want.uniform(-1, 1, 7))
        assert_array_equal(got.normal(0.0, 2.0, 3), want.normal(0.0, 2.0, 3))   # odd: a cached gauss
        assert got.randint(0, 2**62) == want.randint(0, 2**62)
    assert seeded_random_state(None) is np.random.mtrand._rand
    mine = np.random.RandomState(3)
    assert seeded_random_state(mine) is mine
    with pytest.raises(ValueError, match="Seed must be between 0 and 2"):
        seeded_random_state(-1)


def test_seeded_random_state_is_one_a_thread():
    """Each thread reseeds its own RandomState: a fit in another thread cannot
    draw from this one's stream."""
    import threading
    from fastnn._validation import seeded_random_state
    here = seeded_random_state(0)
    there = []
    t = threading.Thread(target=lambda: there.append(seeded_random_state(0)))
    t.start()
    t.join()
    assert there[0] is not here and seeded_random_state(1) is here


@pytest.mark.parametrize("y", [np.array(["b", "a", "c", "a"], dtype=object), np.array([2, 0, 1, 1], dtype=np.uint8),
                               [1.0, 0.0, 1.0, 0.0], [True, False, False, True]],
                         ids=["object-strings", "uint8", "floats", "bools"])
def test_classes_are_label_binarizers(y):
    """classes_ (values and dtype) and the labels predict returns are those
    LabelBinarizer gives, e.g. strings for an object array of strings."""
    from sklearn.preprocessing import LabelBinarizer
    X = np.random.default_rng(0).random((4, 3))
    m = MLPClassifier((4,), max_iter=3, tol=None, random_state=0).fit(X, y)
    expected = LabelBinarizer().fit(y).classes_
    assert_array_equal(m.classes_, expected)
    assert m.classes_.dtype == expected.dtype and m.predict(X).dtype == expected.dtype


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 12), k=st.integers(1, 3), seed=st.integers(0, 2**16),
       constant=st.booleans(), exact=st.booleans(), dtype=st.sampled_from([np.float32, np.float64]))
def test_early_stopping_scores_are_scikit_learns(n, k, seed, constant, exact, dtype):
    """The validation scores early stopping takes every epoch (``_accuracy``,
    ``_r2``) equal scikit-learn's accuracy_score and r2_score, constant targets
    and exact predictions included."""
    from sklearn.metrics import accuracy_score, r2_score
    from fastnn.models.mlp import _accuracy, _r2
    g = np.random.default_rng(seed)
    Y = g.normal(size=(n, k)).astype(dtype)
    if constant:
        Y[:, 0] = 1.5
    P = Y.copy() if exact else (Y + g.normal(size=(n, k))).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # r2_score's warning for one sample
        want = r2_score(Y, P)
        got = _r2(Y, P)
    assert (np.isnan(got) and np.isnan(want)) or got == pytest.approx(want, rel=1e-6, abs=1e-6)
    labels = g.integers(0, 3, n)
    guess = np.where(g.random(n) < 0.5, labels, g.integers(0, 3, n))
    assert _accuracy(labels, guess) == accuracy_score(labels, guess)
    rows, guessed = g.integers(0, 2, (n, 3)), g.integers(0, 2, (n, 3))
    guessed[::2] = rows[::2]
    assert _accuracy(rows, guessed) == accuracy_score(rows, guessed)


def test_first_partial_fit_rejects_labels_outside_its_classes():
    """They were trained on before as rows of zeros (scikit-learn raises too)."""
    X = np.random.default_rng(0).random((6, 3))
    m = MLPClassifier((4,), random_state=0)
    with pytest.raises(ValueError, match=r"y holds labels not in classes: \[5\]; "
                                         r"expected labels in \[0, 1, 2\]"):
        m.partial_fit(X, [0, 1, 5, 0, 1, 5], classes=[0, 1, 2])
    m.partial_fit(X, [0, 1, 2, 0, 1, 2], classes=[0, 1, 2])
    with pytest.raises(ValueError, match=r"y holds labels not seen in the first call: \[7\]; "
                                         r"expected a subset of \[0, 1, 2\]"):
        m.partial_fit(X, [0, 1, 7, 0, 1, 2])
    with pytest.raises(ValueError, match=r"not seen in the first call: \['x', 5\]"):
        m.partial_fit(X, np.array(["x", 0, 1, 5, 1, 2], dtype=object))


def test_best_loss_is_the_lowest_of_every_call():
    X = load_digits().data[:200] / 16
    y = load_digits().target[:200]
    m = MLPClassifier((16,), solver="sgd", learning_rate_init=0.5, max_iter=20, tol=None,
                      random_state=0).fit(X, y)
    assert m.best_loss_ == min(m.loss_curve_) == m.loss_curve_[-1]
    m.partial_fit(X, (y + 1) % 10)   # labels it has not learned: a worse epoch
    assert m.loss_curve_[-1] > min(m.loss_curve_[:20]) == m.best_loss_


def test_save_and_load_round_trip(tmp_path):
    X = load_digits().data[:200] / 16
    y = load_digits().target[:200]
    m = MLPClassifier((16,), max_iter=5, random_state=0, tol=None, init=((-0.3, 0.3), (-1, 1))).fit(X, y)
    m.save(tmp_path / "m.h5")
    back = fastnn.load(tmp_path / "m.h5")
    assert type(back) is MLPClassifier and back.get_params() == m.get_params()
    assert_array_equal(back.predict_proba(X), m.predict_proba(X))
    assert back.loss_curve_ == m.loss_curve_
    back.partial_fit(X, y)                # training state came back too
    m.partial_fit(X, y)
    assert_array_equal(back.coefs_[0], m.coefs_[0])


def test_load_rejects_files_that_are_not_models(tmp_path):
    bad = tmp_path / "not.h5"
    bad.write_bytes(b"this is not HDF5")
    with pytest.raises(ValueError, match="is not a fastnn model file: it is not a readable HDF5 file"):
        fastnn.load(bad)
    import h5py
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = 1
    with pytest.raises(ValueError, match="is not a fastnn model file"):
        fastnn.load(tmp_path / "other.h5")


def test_verbose_shows_progress_and_loss(capsys):
    MLPRegressor((3,), max_iter=5, verbose=True, tol=None, random_state=0).fit(XOR_X, XOR_Y)
    err = capsys.readouterr().err
    assert "MLPRegressor" in err and "loss=" in err and "5/5" in err


def test_early_stopping_keeps_the_best_validation_weights():
    X = load_digits().data / 16
    y = load_digits().target
    m = MLPClassifier((32,), early_stopping=True, max_iter=60, random_state=0, n_iter_no_change=3).fit(X, y)
    assert len(m.validation_scores_) == m.n_iter_
    assert m.best_validation_score_ == max(m.validation_scores_) > 0.9


def test_a_warm_fit_that_never_beats_the_best_score_keeps_the_best_weights(tmp_path):
    # as scikit-learn: early stopping restores the best weights seen, those of an
    # earlier fit that warm_start continues included; and the epochs without
    # improvement carry on (through save and load too), so the warm fit, whose
    # first epoch does not beat the best score by tol, stops after it
    X = load_digits().data[:600] / 16
    y = load_digits().target[:600]
    m = MLPClassifier((16,), early_stopping=True, max_iter=40, random_state=0, n_iter_no_change=2,
                      tol=1e-3).fit(X, y)
    assert m.n_iter_ < 40
    n_scores = len(m.validation_scores_)
    best = [c.copy() for c in m.coefs_]
    m.save(tmp_path / "m.h5")
    for model in (m, fastnn.load(tmp_path / "m.h5")):
        model.set_params(warm_start=True, learning_rate_init=1e-12).fit(X, y)
        assert model.n_iter_ == 1 and len(model.validation_scores_) == n_scores + 1
        assert model.validation_scores_[-1] <= model.best_validation_score_
        for c, b in zip(model.coefs_, best):
            assert_array_equal(c, b)


def test_early_stopping_on_too_few_samples_names_its_parameters():
    X, y = np.random.default_rng(0).random((3, 2)), np.array([0, 1, 1])
    with pytest.raises(ValueError, match=r"early_stopping holds out validation_fraction=0.5 of the "
                                         r"3 samples, stratified by class, and that cannot be done "
                                         r"here: .*only 1 member"):
        MLPClassifier(early_stopping=True, validation_fraction=0.5).fit(X, y)
    with pytest.raises(ValueError, match=r"validation_fraction=0.1 of the 1 samples and that "
                                         r"cannot be done here: .*train set will be empty"):
        MLPRegressor(early_stopping=True, validation_fraction=0.1).fit(X[:1], [0.5])
# ---------------------------------------------------------------- learning-rate schedules
def _regression_data(n=48, d=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    return X, np.sin(X @ rng.normal(size=d))


def _bits(m):
    return np.concatenate([w.ravel() for w in m.coefs_ + m.intercepts_])


@pytest.mark.parametrize("batch_size", [1, 8])
def test_invscaling_sets_the_rate_after_every_epoch(batch_size):
    """learning_rate='invscaling' trains as a constant-rate model does when its
    rate is set to scikit-learn's learning_rate_init / (t_ + 1) ** power_t
    before each epoch (t_ samples seen): the same bits, momentum included.
    (Samples in order: shuffled, each partial_fit call shuffles afresh, as
    scikit-learn's.)"""
    X, y = _regression_data()
    kw = dict(hidden_layer_sizes=(5,), solver="sgd", momentum=0.9, batch_size=batch_size,
              learning_rate_init=0.3, power_t=0.7, tol=None, random_state=3, shuffle=False)
    fitted = MLPRegressor(learning_rate="invscaling", max_iter=4, **kw).fit(X, y)
    stepped = MLPRegressor(learning_rate="constant", max_iter=1, **kw)
    for epoch in range(4):
        stepped.set_params(learning_rate_init=0.3 / (epoch * len(X) + 1) ** 0.7)
        stepped.partial_fit(X, y)
    assert_array_equal(_bits(fitted), _bits(stepped))
    assert fitted.loss_curve_ == stepped.loss_curve_
    assert not np.array_equal(_bits(fitted), _bits(MLPRegressor(max_iter=4, **kw).fit(X, y)))


def _stalling(**kw):
    """A classifier whose constant rate is too high: its loss stops improving
    after a few epochs (digits, rate 0.5). Samples in order, so that partial_fit
    continues a fit's epochs (shuffled, each call shuffles afresh, as
    scikit-learn's)."""
    X, y = load_digits(return_X_y=True)
    params = dict(hidden_layer_sizes=(16,), solver="sgd", learning_rate_init=0.5, batch_size=32,
                  max_iter=60, n_iter_no_change=3, random_state=0, shuffle=False)
    params.update(kw)
    return X[:400] / 16, y[:400], params


def test_adaptive_divides_the_rate_by_five_when_the_loss_stalls():
    """Up to where the constant rate stops, 'adaptive' trains the same epochs;
    then it goes on at a fifth of the rate, as that model continued by
    partial_fit at a fifth of the rate does (same bits), and stops later."""
    X, y, params = _stalling()
    constant = MLPClassifier(learning_rate="constant", **params).fit(X, y)
    k = constant.n_iter_
    assert k < params["max_iter"]            # it stopped: the loss stalled
    adaptive = MLPClassifier(learning_rate="adaptive", **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        adaptive.fit(X, y)
    assert adaptive.loss_curve_[:k] == constant.loss_curve_
    assert adaptive.n_iter_ > k
    constant.set_params(learning_rate_init=0.5 / 5)
    constant.partial_fit(X, y)
    assert constant.loss_curve_[k] == adaptive.loss_curve_[k]


def test_adaptive_stops_once_the_rate_is_1e_6():
    X, y, params = _stalling(learning_rate_init=1e-6, tol=0.5)
    constant = MLPClassifier(learning_rate="constant", **params).fit(X, y)
    adaptive = MLPClassifier(learning_rate="adaptive", **params).fit(X, y)
    assert adaptive.n_iter_ == constant.n_iter_ < params["max_iter"]
    assert_array_equal(_bits(adaptive), _bits(constant))


def test_adaptive_with_early_stopping_slows_instead_of_stopping():
    X, y, params = _stalling(early_stopping=True, tol=0.5)
    constant = MLPClassifier(learning_rate="constant", **params).fit(X, y)
    adaptive = MLPClassifier(learning_rate="adaptive", **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        adaptive.fit(X, y)
    k = constant.n_iter_
    assert adaptive.validation_scores_[:k] == constant.validation_scores_
    assert adaptive.n_iter_ > k and len(adaptive.validation_scores_) == adaptive.n_iter_


def test_verbose_early_stopping_scores_every_epoch():
    """With verbose=True, a fit longer than 0.2 s calls its kernel for several
    epochs at once; with early stopping it must still score every epoch (it
    scored every few), and end where the quiet fit ends."""
    rng = np.random.default_rng(1)
    X = rng.random((3000, 100))
    y = (X[:, :50].sum(axis=1) > 25).astype(int)
    kw = dict(hidden_layer_sizes=(100,), batch_size=1, max_iter=12, early_stopping=True,
              n_iter_no_change=50, solver="sgd", learning_rate_init=0.01, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        loud = MLPClassifier(verbose=True, **kw).fit(X, y)
        quiet = MLPClassifier(**kw).fit(X, y)
    assert len(loud.validation_scores_) == loud.n_iter_ == 12
    assert loud.validation_scores_ == quiet.validation_scores_
    assert_array_equal(_bits(loud), _bits(quiet))


# ---------------------------------------------------------------------- warm start
def test_warm_start_fit_continues_from_the_fitted_weights():
    """Without momentum (nothing of the optimiser carries over), a warm-started
    fit trains as partial_fit continues: the same bits; n_iter_ counts its own
    epochs, loss_curve_ and t_ go on. Without warm_start, fit starts again.
    (Samples in order: each call shuffles afresh, as scikit-learn's.)"""
    X, y = XOR_X, np.array([0, 1, 1, 0])
    kw = dict(hidden_layer_sizes=(4,), solver="sgd", momentum=0.0, learning_rate_init=0.5,
              batch_size=2, max_iter=3, tol=None, random_state=0, shuffle=False)
    warm = MLPClassifier(**kw).fit(X, y)
    warm.set_params(warm_start=True).fit(X, y)
    stepped = MLPClassifier(**kw).fit(X, y)
    for _ in range(3):
        stepped.partial_fit(X, y)
    assert_array_equal(_bits(warm), _bits(stepped))
    assert warm.loss_curve_ == stepped.loss_curve_ and len(warm.loss_curve_) == 6
    assert warm.n_iter_ == 3 and warm.t_ == 6 * len(X)
    cold = MLPClassifier(**kw).fit(X, y)
    assert_array_equal(_bits(cold.fit(X, y)), _bits(MLPClassifier(**kw).fit(X, y)))


def test_warm_start_restarts_the_optimiser():
    """With momentum, a warm-started fit starts from zero velocities (as
    scikit-learn's new optimiser), so it differs from partial_fit's
    continuation, which keeps them; its first epoch equals a fresh model's
    whose weights were set to the fitted ones."""
    X, y = _regression_data()
    kw = dict(hidden_layer_sizes=(5,), solver="sgd", momentum=0.9, learning_rate_init=0.1,
              batch_size=8, max_iter=2, tol=None, random_state=0)
    warm = MLPRegressor(**kw).fit(X, y)
    fresh = MLPRegressor(**kw).fit(X, y)
    fresh._vel[:] = 0.0                       # a new optimiser on the same weights
    warm.set_params(warm_start=True, max_iter=1).fit(X, y)
    fresh.partial_fit(X, y)
    assert_array_equal(_bits(warm), _bits(fresh))


def test_warm_start_errors_name_what_changed():
    X, y = XOR_X, np.array([0, 1, 1, 0])
    m = MLPClassifier((3,), max_iter=2, random_state=0, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m.fit(X, y)
        with pytest.raises(ValueError, match=r"warm_start=True needs y to have the classes of the "
                                             r"previous fit, \[0, 1\]; got \[0, 1, 2\]"):
            m.fit(np.vstack([X, X[:1]]), [0, 1, 1, 0, 2])
        with pytest.raises(ValueError, match=r"hidden_layer_sizes, activation, output_activation, "
                                             r"bias or dtype now describe another one \(fitted: "
                                             r"layer sizes \[2, 3, 1\], dtype float64; now: "
                                             r"layer sizes \[2, 4, 1\], dtype float64\)"):
            m.set_params(hidden_layer_sizes=(4,)).fit(X, y)
        with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 2"):
            m.set_params(hidden_layer_sizes=(3,)).fit(np.ones((4, 3)), y)
        m.set_params(warm_start=False).fit(np.ones((4, 3)), y)   # a new network
        assert m.n_features_in_ == 3


def test_a_saved_model_keeps_its_current_learning_rate(tmp_path):
    """save/load keeps the schedule's current rate: partial_fit goes on the same
    after a load (invscaling's rate after 3 epochs is not learning_rate_init)."""
    X, y = _regression_data()
    m = MLPRegressor((4,), solver="sgd", learning_rate="invscaling", max_iter=3, tol=None,
                     random_state=0).fit(X, y)
    m.save(tmp_path / "m.h5")
    back = fastnn.load(tmp_path / "m.h5")
    m.partial_fit(X, y)
    back.partial_fit(X, y)
    assert_array_equal(_bits(back), _bits(m))


def _cached(kernel):
    """Whether every compiled signature of ``kernel`` is on the disk cache."""
    return bool(kernel.signatures) and all(
        kernel._cache.load_overload(sig, kernel.targetctx) is not None for sig in kernel.signatures)


def test_minibatch_kernels_come_from_the_disk_cache(monkeypatch):
    # a new process loads the minibatch trainer and the forward pass instead of
    # compiling them (about 35 s a type): the models run the cached twins, not the
    # serial ones, read-only input (a memmap) included
    from fastnn.kernels import dense

    def compiled_anew(*args):
        raise AssertionError("the model ran a serial twin")
    monkeypatch.setattr(dense, "train_epochs_serial", compiled_anew)
    monkeypatch.setattr(dense, "forward_serial", compiled_anew)
    X = load_digits().data[:120] / 16
    y = load_digits().target[:120]
    model = MLPClassifier(hidden_layer_sizes=(12,), batch_size=16, max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pred = model.fit(X, y).predict_proba(X)
        coefs = [c.copy() for c in model.coefs_]
        X_ro = X.copy()
        X_ro.flags.writeable = False
        assert_array_equal(model.fit(X_ro, y).predict_proba(X_ro), pred)
    for a, b in zip(model.coefs_, coefs):
        assert_array_equal(a, b)
    assert _cached(dense.train_epochs) and _cached(dense.forward)
    # read-only input ran the writeable path (copied): no read-only array in any
    # signature, which a new machine would compile again (46 s for a first fit)
    from numba.core.types import Array
    assert all(t.mutable for kernel in (dense.train_epochs, dense.forward)
               for sig in kernel.signatures for t in sig if isinstance(t, Array))


@pytest.mark.parametrize("hidden,batch,used", [
    ((12,), 16, "train_epochs"), ((6, 5), 16, "train_epochs"), ((6, 5), 1, "train_samples"),
    ((12,), 1, "one_hidden_trainer")])
def test_a_fit_runs_only_its_own_batch_sizes_trainer(monkeypatch, hidden, batch, used):
    # the per-sample and minibatch trainers are separate kernels, so that a new
    # machine's first fit compiles only the one it runs (the minibatch trainer
    # held both paths: 47 s against 34 s for a default fit)
    from fastnn.kernels import dense
    real = getattr(dense, used)

    def other(*args):
        raise AssertionError("the fit ran another batch size's trainer")
    for name in ("train_epochs", "train_samples", "one_hidden_trainer"):
        monkeypatch.setattr(dense, name, other)
    monkeypatch.setattr(dense, used, real)
    X = load_digits().data[:64] / 16
    y = load_digits().target[:64]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPClassifier(hidden_layer_sizes=hidden, batch_size=batch, max_iter=2,
                              solver="sgd", random_state=0).fit(X, y)
    assert model.n_iter_ == 2 and np.isfinite(model.loss_curve_).all()


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_loss_is_the_last_epochs(solver):
    """``loss_``, as scikit-learn's: the loss of the last epoch trained."""
    X = load_digits().data[:100] / 16
    y = load_digits().target[:100]
    m = MLPClassifier((8,), solver=solver, max_iter=4, tol=None, random_state=0).fit(X, y)
    assert m.loss_ == m.loss_curve_[-1]
    m.partial_fit(X, y)
    assert m.loss_ == m.loss_curve_[-1] and len(m.loss_curve_) == 5


# ---------------------------------------------------------------- limits


@pytest.mark.parametrize("model,target", [(MLPRegressor, "regression"), (MLPClassifier, "multilabel")])
def test_early_stopping_refuses_a_validation_set_too_small_to_score(model, target):
    """As scikit-learn's: one held-out sample gave NaN scores (R^2) and a best
    score of -inf, silently; a classifier's split is stratified (two classes
    hold out two samples at least) but not for multilabel targets."""
    X = np.random.RandomState(0).randn(10, 4)
    Y = X[:, 0] if target == "regression" else (X[:, :3] > 0).astype(int)
    with pytest.raises(ValueError, match=r"The validation set is too small: validation_fraction=0.1 "
                                         r"holds out 1 of the 10 samples for early_stopping, and a "
                                         r"score needs at least 2; increase validation_fraction or "
                                         r"the number of samples\."):
        model(early_stopping=True, max_iter=20).fit(X, Y)
    m = fit_quietly(model(early_stopping=True, max_iter=3, validation_fraction=0.2), X, Y)
    assert np.isfinite(m.validation_scores_).all()


@pytest.mark.parametrize("solver,hidden,batch", [("sgd", (6,), 1), ("sgd", (6, 5), 1),
                                                 ("sgd", (6,), 8), ("adam", (6, 5), 8)])
@pytest.mark.parametrize("tol", [None, 1e-3])
def test_a_fit_in_calls_of_a_few_epochs_is_the_same_fit(monkeypatch, solver, hidden, batch, tol):
    """The trainer runs at most EPOCH_CHUNK epochs a call (so that the loss
    curve's buffer is not max_iter long): in calls of 3 epochs, the same bits,
    loss curve and stop as in one call, shuffled and stopping by tol too."""
    from fastnn.models import mlp
    X, y = _regression_data()
    params = dict(hidden_layer_sizes=hidden, solver=solver, batch_size=batch, max_iter=40,
                  tol=tol, n_iter_no_change=2, random_state=0, learning_rate_init=0.05)
    whole = fit_quietly(MLPRegressor(**params), X, y)
    monkeypatch.setattr(mlp, "EPOCH_CHUNK", 3)
    calls = []
    real = {name: getattr(mlp.dense, name) for name in ("train_epochs", "train_samples")}
    for name, train in real.items():
        monkeypatch.setattr(mlp.dense, name, lambda *a, _t=train: calls.append(a[9]) or _t(*a))
    one_hidden = mlp.dense.one_hidden_trainer
    monkeypatch.setattr(mlp.dense, "one_hidden_trainer", lambda *a: (
        lambda *b, _t=one_hidden(*a): calls.append(b[9]) or _t(*b)))
    chunked = fit_quietly(MLPRegressor(**params), X, y)
    assert max(calls) == 3 and len(calls) > 1
    assert_array_equal(_bits(chunked), _bits(whole))
    assert chunked.loss_curve_ == whole.loss_curve_
    assert (chunked.n_iter_, chunked.best_loss_, chunked.loss_) == (whole.n_iter_, whole.best_loss_,
                                                                    whole.loss_)
    if tol is not None:   # (stopped, and not at the end of a call)
        assert whole.n_iter_ < 40 and whole.n_iter_ % 3


def test_huge_max_iter_and_n_iter_no_change_are_taken():
    """As scikit-learn's: max_iter=10**11 asked for a 745 GiB loss curve up
    front (a MemoryError) in a fit that stops after a few hundred epochs;
    n_iter_no_change=10**30 failed in the compiled trainer, and counts as
    the largest count a fit can reach (never stopping on it)."""
    X = np.random.RandomState(0).randn(60, 4)
    y = (X[:, 0] > 0).astype(int)
    m = MLPClassifier((8,), max_iter=10**11, random_state=0).fit(X, y)
    assert 0 < m.n_iter_ == len(m.loss_curve_) < 10**4
    huge = fit_quietly(MLPClassifier((8,), max_iter=30, n_iter_no_change=10**30, random_state=0), X, y)
    large = fit_quietly(MLPClassifier((8,), max_iter=30, n_iter_no_change=10**3, random_state=0), X, y)
    assert huge.n_iter_ == 30
    assert_array_equal(_bits(huge), _bits(large))
    huge.partial_fit(X, y)
    assert huge.n_iter_ == 31


@pytest.mark.parametrize("eps,err,msg", [
    (np.nan, ValueError, r"eps must be a finite float in \(0.0, 1.0\]; got nan\."),
    (np.inf, ValueError, r"eps must be a finite float in \(0.0, 1.0\]; got inf\."),
    (0, ValueError, r"eps must be a finite float in \(0.0, 1.0\]; got 0.0\."),
    (-1e-5, ValueError, r"eps must be a finite float in \(0.0, 1.0\]; got -1e-05\."),
    (1e308, ValueError, r"eps must be a finite float in \(0.0, 1.0\]; got 1e\+308\."),   # (was NaN)
    ("a", TypeError, r"eps must be a float; got str 'a'\."),
])
def test_check_gradients_checks_eps(eps, err, msg):
    with pytest.raises(err, match=msg):
        check_gradients(MLPRegressor((3,), random_state=0), XOR_X, XOR_Y, eps=eps)


@pytest.mark.parametrize("batch_size", [1, 3])
def test_numpy_integer_parameters_compile_no_new_kernels(batch_size):
    """max_iter of np.int32 or np.uint64 (a grid's values) reached the trainers
    as that type: each type compiled the trainer again (15-30 s)."""
    from fastnn.kernels import dense
    rng = np.random.RandomState(0)
    X, y = rng.rand(20, 5), np.arange(20) % 2
    params = dict(hidden_layer_sizes=(4,), batch_size=batch_size, max_iter=2, n_iter_no_change=2,
                  solver="sgd", random_state=0, tol=None)
    want = MLPClassifier(**params).fit(X, y)
    trainer = dense.one_hidden_trainer(want._solver_code(), 5) if batch_size == 1 else dense.train_epochs
    before = len(trainer.signatures)
    for kind in (np.int32, np.uint64):
        got = MLPClassifier(**{k: kind(v) if isinstance(v, int) else v for k, v in params.items()}).fit(X, y)
        assert_array_equal(got._params, want._params)
    assert len(trainer.signatures) == before


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_predictions_that_overflow_are_refused_not_nan(kind):
    """Rows whose outputs overflow are refused as the CNN refuses them: identity
    units and X * 1e308 gave NaN probabilities, label 0 from them, and a
    regressor -inf (and score -inf)."""
    rng = np.random.RandomState(0)
    X = rng.rand(40, 6)
    if kind == "classifier":
        m = MLPClassifier((5,), activation="identity", max_iter=3, tol=None, random_state=0).fit(
            X, np.arange(40) % 3)
        methods = ("predict", "predict_proba", "predict_log_proba")
    else:
        m = MLPRegressor((5,), activation="identity", max_iter=3, tol=None, random_state=0).fit(
            X, X.sum(axis=1))
        methods = ("predict",)
    big = X[:8].copy()
    big[5] = 1e308
    message = (r"X must be on a scale the network can compute in float64; got rows whose outputs "
               r"are NaN or inf \(the first: row 5, max \|X\[5\]\| = 1e\+308\): the input's "
               r"scale overflows\. Scale X as the training data\.")
    for method in methods:
        with pytest.raises(ValueError, match=message):
            getattr(m, method)(big)
    with pytest.raises(ValueError, match=message):
        m.score(big, (np.arange(40) % 3 if kind == "classifier" else X.sum(axis=1))[:8])
    assert np.isfinite(m.predict(X * 1e150)).all()   # large but computable: the sum is checked first


def test_predictions_of_a_network_that_diverged_say_so():
    """After a partial_fit that diverged (its error raised), predictions blame
    the parameters, not X."""
    X = np.random.RandomState(0).rand(40, 6)
    m = MLPRegressor((5,), activation="identity", solver="sgd", momentum=0.0, random_state=0)
    m.partial_fit(X, X.sum(axis=1))
    m.set_params(learning_rate_init=1e200)
    with pytest.raises(ValueError, match=r"training diverged at epoch 2: coefs_\[0\] contains NaN"):
        m.partial_fit(X * 1e50, X.sum(axis=1) * 1e100)
    with pytest.raises(ValueError, match=r"the network's parameters contain NaN or inf \(an earlier "
                                         r"training call diverged\); fit it again"):
        m.predict(X)


def test_check_gradients_of_a_fitted_network_keeps_its_classes_and_features():
    """A fitted network is checked as it is: a y without one of its classes
    (it was refitted to two outputs and failed to broadcast its three), and
    clear errors for X or y that do not suit it."""
    X = np.random.RandomState(0).randn(60, 4)
    y = np.arange(60) % 3
    m = fit_quietly(MLPClassifier((5,), max_iter=20, random_state=0), X, y)
    assert check_gradients(m, X[y < 2], y[y < 2]).max() < 1e-5
    with pytest.raises(ValueError, match=r"X has 3 features, but MLPClassifier is expecting 4 "
                                         r"features as input"):
        check_gradients(m, X[:, :3], y)
    with pytest.raises(ValueError, match=r"y holds labels not in classes: \[3\]; expected labels "
                                         r"in \[0, 1, 2\]"):
        check_gradients(m, X, y + 1)
    with pytest.raises(ValueError, match=r"X and y must have the same number of samples; got 60 "
                                         r"and 59"):
        check_gradients(m, X, y[1:])
    r = fit_quietly(MLPRegressor((5,), max_iter=20, random_state=0, dtype="float32"), X, X[:, 0])
    assert check_gradients(r, X, X[:, 0]).max() < 1e-5
    with pytest.raises(ValueError, match=r"y has 2 outputs, but the network was fitted with 1"):
        check_gradients(r, X, X[:, :2])
