"""The MLPs train as scikit-learn's: given the same ``random_state`` and the
samples in order, the same initial weights, steps and loss curve, for every
hidden activation and kind of target (scikit-learn 1.9's MLPClassifier and
MLPRegressor are the references)."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import load_digits

import fastnn
from fastnn import MLPClassifier, MLPRegressor
from tests.models.quiet import fit_quietly

DIGITS = load_digits()
X = DIGITS.data[:90] / 16
TARGETS = {
    "binary": DIGITS.target[:90] % 2,                        # one logistic output
    "multiclass": DIGITS.target[:90],                        # softmax
    "multilabel": np.c_[DIGITS.target[:90] % 2, DIGITS.target[:90] > 4],
    "regression": DIGITS.data[:90, 20] / 16,                 # an identity output
}
# (With several outputs scikit-learn reports the squared loss divided by
# their number, but steps by its undivided gradient; fastnn reports the loss
# it steps by. The weights agree; the README says so.)


def _pair(target, **params):
    from sklearn.neural_network import MLPClassifier as RC, MLPRegressor as RR
    if target == "regression":
        return RR(**params), MLPRegressor(**params)
    return RC(**params), MLPClassifier(**params)


@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("activation", ["relu", "logistic", "tanh", "identity"])
@pytest.mark.parametrize("hidden", [(7,), (6, 5)], ids=["one hidden", "two hidden"])
def test_initial_weights_and_training_equal_scikit_learns(target, activation, hidden):
    """scikit-learn's Glorot bound takes its factor (2 for a logistic hidden
    activation, else 6) from the hidden activation for every layer, the output
    layer included; so does fastnn's. (It took the output layer's from the
    output activation: a relu network for two classes, or a logistic one for
    ten, started elsewhere.)"""
    y = TARGETS[target]
    params = dict(hidden_layer_sizes=hidden, activation=activation, solver="sgd",
                  learning_rate_init=0.05, momentum=0.9, batch_size=10, max_iter=1,
                  shuffle=False, random_state=3, alpha=1e-3)
    want, got = (fit_quietly(m, X, y) for m in _pair(target, **params))
    assert got.out_activation_ == want.out_activation_
    for a, b in zip(want.coefs_ + want.intercepts_, got.coefs_ + got.intercepts_):
        assert_allclose(b, a, rtol=0, atol=1e-12)
    # and a few epochs further, by the same steps
    params["max_iter"] = 4
    want, got = (fit_quietly(m, X, y) for m in _pair(target, **params))
    for a, b in zip(want.coefs_ + want.intercepts_, got.coefs_ + got.intercepts_):
        assert_allclose(b, a, rtol=0, atol=1e-12)
    assert_allclose(got.loss_curve_, want.loss_curve_, rtol=1e-12)


@pytest.mark.parametrize("activation", ["relu", "logistic"])
def test_no_hidden_layer_starts_as_scikit_learns(activation):
    """Without hidden layers the (unused) hidden activation still sets the
    bound, as in scikit-learn."""
    y = TARGETS["binary"]
    params = dict(hidden_layer_sizes=(), activation=activation, solver="sgd", batch_size=10,
                  max_iter=1, shuffle=False, random_state=4, learning_rate_init=1e-12)
    want, got = (fit_quietly(m, X, y) for m in _pair("binary", **params))
    assert_allclose(got.coefs_[0], want.coefs_[0], rtol=0, atol=1e-12)


@pytest.mark.parametrize("target", ["binary", "multiclass", "regression"])
@pytest.mark.parametrize("call", ["fit", "partial_fit"])
def test_a_column_y_is_a_1d_y_with_scikit_learns_warning(target, call):
    """y of shape (n, 1) is taken as 1-D, as scikit-learn's MLPs take it: a
    DataConversionWarning, the same network as for the 1-D y, and predictions
    (and a regressor's outputs) of shape (n,). (The regressor predicted (n, 1).)"""
    from sklearn.exceptions import DataConversionWarning
    y = TARGETS[target]
    params = dict(hidden_layer_sizes=(7,), solver="sgd", batch_size=10, max_iter=2,
                  shuffle=False, random_state=3)
    kw = {"classes": np.unique(y)} if call == "partial_fit" and target != "regression" else {}
    want, got = _pair(target, **params)
    for model in (want, got):
        with pytest.warns(DataConversionWarning, match="A column-vector y was passed"):
            if call == "fit":
                fit_quietly(model, X, y[:, None])
            else:
                model.partial_fit(X, y[:, None], **kw)
    assert got.predict(X).shape == want.predict(X).shape == (len(X),)
    for a, b in zip(want.coefs_ + want.intercepts_, got.coefs_ + got.intercepts_):
        assert_allclose(b, a, rtol=0, atol=1e-12)
    flat = _pair(target, **params)[1]
    fit_quietly(flat, X, y) if call == "fit" else flat.partial_fit(X, y, **kw)
    for a, b in zip(flat.coefs_ + flat.intercepts_, got.coefs_ + got.intercepts_):
        np.testing.assert_array_equal(b, a)
    assert got.score(X, y[:, None]) == pytest.approx(want.score(X, y[:, None]), rel=1e-12)

@pytest.mark.parametrize("target", ["multiclass", "regression"])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_float32_input_trains_as_scikit_learns_with_dtype_float32(target, solver):
    """scikit-learn trains float32 input in float32; so does fastnn with
    dtype='float32', the same steps to float32 rounding (their sums run in
    other orders), as the README says: about 1e-7 for SGD; Adam divides by
    sqrt(v) + epsilon, which magnifies the rounding of gradients that nearly
    cancel (about 1e-5 here). The default model stays float64."""
    y = TARGETS[target]
    X32 = X.astype(np.float32)
    params = dict(hidden_layer_sizes=(7,), solver=solver, batch_size=10, max_iter=4,
                  shuffle=False, random_state=3, learning_rate_init=0.05)
    ours = MLPRegressor if target == "regression" else MLPClassifier
    want = fit_quietly(_pair(target, **params)[0], X32, y)
    got = fit_quietly(ours(dtype="float32", **params), X32, y)
    f64 = fit_quietly(ours(**params), X32, y)
    assert want.coefs_[0].dtype == got.coefs_[0].dtype == np.float32
    assert f64.coefs_[0].dtype == np.float64
    tol = 1e-6 if solver == "sgd" else 5e-5
    for a, b in zip(want.coefs_ + want.intercepts_, got.coefs_ + got.intercepts_):
        assert_allclose(b, a, rtol=0, atol=tol)
    assert_allclose(got.loss_curve_, want.loss_curve_, rtol=tol)


# ------------------------------------------------------------ scikit-learn's loss names

def _counts(n=120, outputs=1, seed=0):
    g = np.random.default_rng(seed)
    Xc = g.normal(size=(n, 5))
    rate = np.exp(0.4 * Xc[:, :1] - 0.3 * Xc[:, 1:2] + np.arange(outputs) * 0.5)
    Y = g.poisson(rate).astype(float)
    return Xc, (Y[:, 0] if outputs == 1 else Y)


@pytest.mark.parametrize("solver,batch_size", [("sgd", 1), ("sgd", 16), ("adam", 16), ("lbfgs", 16)])
@pytest.mark.parametrize("outputs", [1, 2])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_poisson_regression_equals_scikit_learns(solver, batch_size, outputs, weighted):
    """loss='poisson' trains as scikit-learn's MLPRegressor(loss='poisson'):
    an exponential output, half the Poisson deviance (summed over the outputs,
    its gradient with it), the same weights and loss curve, sample weights
    and L-BFGS included."""
    from sklearn.neural_network import MLPRegressor as Reference
    Xc, Y = _counts(outputs=outputs)
    sw = np.random.default_rng(1).integers(1, 4, len(Xc)).astype(float) if weighted else None
    params = dict(hidden_layer_sizes=(6,), loss="poisson", solver=solver, batch_size=batch_size,
                  max_iter=5, shuffle=False, random_state=0, alpha=1e-3, learning_rate_init=0.01)
    want = fit_quietly(Reference(**params), Xc, Y, sample_weight=sw)
    got = fit_quietly(MLPRegressor(**params), Xc, Y, sample_weight=sw)
    assert got.out_activation_ == want.out_activation_ == "exp"
    for a, b in zip(want.coefs_ + want.intercepts_, got.coefs_ + got.intercepts_):
        assert_allclose(b, a, rtol=0, atol=1e-12)
    if solver != "lbfgs":
        assert_allclose(got.loss_curve_, want.loss_curve_, rtol=1e-12)
    assert got.loss_ == pytest.approx(want.loss_, rel=1e-12)
    assert_allclose(got.predict(Xc), want.predict(Xc), rtol=1e-12)


def test_poisson_fits_counts_and_its_gradients_check():
    """Fitted on Poisson counts of a known log-linear rate, the network's
    predicted rate follows it; its backprop gradients match central differences."""
    from fastnn import check_gradients
    Xc, y = _counts(n=2000, seed=2)
    model = MLPRegressor((8,), loss="poisson", solver="lbfgs", max_iter=300, random_state=0).fit(Xc, y)
    rate = np.exp(0.4 * Xc[:, 0] - 0.3 * Xc[:, 1])
    assert np.corrcoef(model.predict(Xc), rate)[0, 1] > 0.95
    assert (model.predict(Xc) > 0).all()
    assert check_gradients(MLPRegressor((5, 3), loss="poisson", alpha=0.01, random_state=0),
                           Xc[:20], y[:20]).max() < 1e-5


@pytest.mark.parametrize("alias,name,model", [("squared_error", "squared", MLPRegressor),
                                              ("log_loss", "log", MLPClassifier)])
def test_scikit_learn_loss_names_are_the_same_losses(alias, name, model):
    y = TARGETS["regression" if model is MLPRegressor else "multiclass"]
    params = dict(hidden_layer_sizes=(7,), max_iter=3, random_state=0, shuffle=False)
    a = fit_quietly(model(loss=alias, **params), X, y)
    b = fit_quietly(model(loss=name, **params), X, y)
    assert a.loss_function_ == name and a.get_params()["loss"] == alias
    for u, v in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("model,params,y,message", [
    (MLPClassifier, dict(loss="poisson"), TARGETS["binary"],
     r"loss='poisson' is MLPRegressor's, for counts; a classifier takes loss 'log' or 'squared'\."),
    (MLPRegressor, dict(loss="poisson", output_activation="identity"), TARGETS["regression"],
     r"loss='poisson' needs output_activation 'exp' \(the default for it\); got output_activation='identity'\."),
    (MLPRegressor, dict(loss="poisson"), TARGETS["regression"] - 0.5,
     r"y must be >= 0 for loss='poisson' \(counts or rates\); got a minimum of -0\.5\."),
    (MLPRegressor, dict(loss="mse"), TARGETS["regression"],
     r"loss must be one of \['log', 'log_loss', 'poisson', 'squared', 'squared_error'\]; got 'mse'"),
])
def test_poisson_bad_input(model, params, y, message):
    with pytest.raises(ValueError, match=message):
        model((4,), max_iter=2, **params).fit(X, y)


def test_a_refused_poisson_fit_leaves_the_model_unfitted():
    from sklearn.exceptions import NotFittedError
    model = MLPRegressor((4,), loss="poisson", max_iter=2)
    with pytest.raises(ValueError, match=r"y must be >= 0 for loss='poisson'"):
        model.fit(X, TARGETS["regression"] - 0.5)
    with pytest.raises(NotFittedError):
        model.predict(X)


def test_poisson_negative_counts_in_partial_fit_and_divergence():
    """A later partial_fit checks its counts too; an exponential output that
    overflows stops with the divergence error, not with NaN weights."""
    Xc, y = _counts()
    model = MLPRegressor((4,), loss="poisson", solver="sgd", random_state=0).partial_fit(Xc, y)
    before = [c.copy() for c in model.coefs_]
    with pytest.raises(ValueError, match=r"y must be >= 0 for loss='poisson'"):
        model.partial_fit(Xc, y - 1.0)
    for a, b in zip(before, model.coefs_):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"diverged"):
        MLPRegressor((4,), loss="poisson", solver="sgd", learning_rate_init=50.0, momentum=0.9,
                     batch_size=1, max_iter=20, random_state=0).fit(Xc * 10, y * 100)


# ------------------------------------------------------------------ early stopping

@pytest.mark.parametrize("target", ["multiclass", "binary", "regression"])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_early_stopping_equals_scikit_learns(target, solver, weighted):
    """Early stopping holds out the samples scikit-learn holds out (its
    train_test_split on the random state the initial weights leave, stratified
    for two classes only), so with the samples in order the validation scores,
    the stopping epoch and the restored best weights are scikit-learn's."""
    y = TARGETS[target]
    sw = np.random.default_rng(5).integers(1, 4, len(X)).astype(float) if weighted else None
    params = dict(hidden_layer_sizes=(7,), solver=solver, early_stopping=True,
                  validation_fraction=0.2, n_iter_no_change=3, tol=1e-3, max_iter=60,
                  shuffle=False, random_state=2, learning_rate_init=0.05, batch_size=16)
    want, got = (fit_quietly(m, X, y, sample_weight=sw) for m in _pair(target, **params))
    assert got.n_iter_ == want.n_iter_
    assert_allclose(got.validation_scores_, want.validation_scores_, rtol=1e-12)
    assert got.best_validation_score_ == pytest.approx(want.best_validation_score_, rel=1e-12)
    for a, b in zip(want.coefs_ + want.intercepts_, got.coefs_ + got.intercepts_):
        assert_allclose(b, a, rtol=0, atol=1e-12)


def test_every_fit_of_a_network_holds_out_the_same_samples(tmp_path):
    """A warm-started fit, and one after save and load, hold out the samples
    the first fit held out (scikit-learn's warm start draws another set).
    Early stopping turned on only for a later fit draws from random_state."""
    from sklearn.model_selection import train_test_split
    import fastnn

    def held_out(model):
        return train_test_split(np.arange(len(X)), test_size=0.2,
                                random_state=model._split_random_state())[1]

    model = MLPClassifier((5,), early_stopping=True, validation_fraction=0.2, max_iter=5,
                          warm_start=True, random_state=1)
    fit_quietly(model, X, TARGETS["multiclass"])
    first = held_out(model)
    assert not np.array_equal(first, train_test_split(np.arange(len(X)), test_size=0.2,
                                                       random_state=1)[1])
    fit_quietly(model, X, TARGETS["multiclass"])
    np.testing.assert_array_equal(held_out(model), first)
    model.save(tmp_path / "m.h5")
    np.testing.assert_array_equal(held_out(fastnn.load(tmp_path / "m.h5")), first)
    late = fit_quietly(MLPClassifier((5,), max_iter=2, warm_start=True, random_state=1), X,
                       TARGETS["multiclass"])
    late.set_params(early_stopping=True)
    np.testing.assert_array_equal(held_out(late), train_test_split(
        np.arange(len(X)), test_size=0.2, random_state=1)[1])


# ------------------------------------------------------------------ shuffled samples

@pytest.mark.parametrize("target", ["multiclass", "regression"])
@pytest.mark.parametrize("solver,batch_size,hidden", [
    ("sgd", 1, (7,)), ("adam", 1, (6, 5)), ("sgd", 16, (7,)), ("adam", 16, (6, 5))],
    ids=["sgd-1-one hidden", "adam-1-two hidden", "sgd-16", "adam-16"])
@pytest.mark.parametrize("early_stopping", [False, True], ids=["", "early stopping"])
def test_shuffled_training_equals_scikit_learns(target, solver, batch_size, hidden, early_stopping):
    """With shuffle=True (the default) every epoch shuffles the samples as
    scikit-learn's does, from the same random state (after the initial
    weights' draws and early stopping's split), so the weights, loss curve
    and validation scores are scikit-learn's."""
    y = TARGETS[target]
    params = dict(hidden_layer_sizes=hidden, solver=solver, batch_size=batch_size, max_iter=6,
                  learning_rate_init=0.02, momentum=0.9, alpha=1e-3, random_state=5,
                  early_stopping=early_stopping, validation_fraction=0.2, n_iter_no_change=50)
    want, got = (fit_quietly(m, X, y) for m in _pair(target, **params))
    for a, b in zip(want.coefs_ + want.intercepts_, got.coefs_ + got.intercepts_):
        assert_allclose(b, a, rtol=0, atol=1e-12)
    assert_allclose(got.loss_curve_, want.loss_curve_, rtol=1e-12)
    if early_stopping:
        assert_allclose(got.validation_scores_, want.validation_scores_, rtol=1e-12)
    # and not by chance: the samples in order train to other weights
    in_order = fit_quietly(_pair(target, **params, shuffle=False)[1], X, y)
    assert np.abs(in_order.coefs_[0] - got.coefs_[0]).max() > 1e-6


def test_partial_fit_and_a_randomstate_shuffle_as_scikit_learns():
    """partial_fit shuffles as scikit-learn's (an int random_state starts every
    call's stream afresh, as its check_random_state does), and a RandomState
    given as random_state moves on by the draws scikit-learn's makes."""
    from sklearn.neural_network import MLPClassifier as Reference
    y = TARGETS["multiclass"]
    want = Reference((7,), batch_size=10, random_state=3, learning_rate_init=0.05)
    got = MLPClassifier((7,), batch_size=10, random_state=3, learning_rate_init=0.05)
    for _ in range(3):
        want.partial_fit(X, y, classes=np.unique(y))
        got.partial_fit(X, y, classes=np.unique(y))
    for a, b in zip(want.coefs_ + want.intercepts_, got.coefs_ + got.intercepts_):
        assert_allclose(b, a, rtol=0, atol=1e-12)
    rs_want, rs_got = np.random.RandomState(8), np.random.RandomState(8)
    want = fit_quietly(Reference((7,), batch_size=1, max_iter=3, random_state=rs_want), X, y)
    got = fit_quietly(MLPClassifier((7,), batch_size=1, max_iter=3, random_state=rs_got), X, y)
    for a, b in zip(want.coefs_ + want.intercepts_, got.coefs_ + got.intercepts_):
        assert_allclose(b, a, rtol=0, atol=1e-12)
    assert rs_got.uniform() == rs_want.uniform()


# ------------------------------------------------------------------ when training stops

def _fits_of(target, calls, **params):
    """Both models after ``calls`` ('fit' or 'partial_fit', in turn) on one target."""
    y = TARGETS[target]
    kw = {"classes": np.unique(y)} if target != "regression" else {}
    models = _pair(target, **params)
    for m in models:
        for call in calls:
            if call == "fit":
                fit_quietly(m, X, y)
            else:
                m.partial_fit(X, y, **kw)
    return models


STOPS = {
    # a validation score equal to the best is no improvement only tol short of
    # it: at a learning rate of 1e-12 the score stays put, and tol=0 lets it run
    "early stopping on a plateau": (
        ["fit"], dict(early_stopping=True, tol=0.0, learning_rate_init=1e-12, max_iter=12)),
    # the epochs without improvement carry on into a warm fit, which stops at
    # once unless its first epoch improves on the best loss by tol
    "a warm fit after a stop": (
        ["fit", "fit"], dict(warm_start=True, tol=1e-2, max_iter=60)),
    "adaptive, warm": (
        ["fit", "fit"], dict(warm_start=True, learning_rate="adaptive", tol=1e-3, max_iter=60)),
    # partial_fit keeps the count and 'adaptive' divides the rate between calls
    "adaptive, partial_fit": (
        ["partial_fit"] * 8, dict(learning_rate="adaptive", tol=0.5, n_iter_no_change=1)),
    # (and at a constant rate a call past n_iter_no_change still trains its epoch)
    "constant, partial_fit": (["partial_fit"] * 5, dict(tol=0.5, n_iter_no_change=1)),
}


@pytest.mark.parametrize("case", list(STOPS))
@pytest.mark.parametrize("target", ["multiclass", "regression"])
def test_training_stops_and_slows_as_scikit_learns(case, target):
    """tol and n_iter_no_change stop a fit (and slow an 'adaptive' one) at the
    epochs scikit-learn's stop at, through warm starts and partial_fit too: the
    same loss curve (and validation scores), learning rate and weights."""
    calls, extra = STOPS[case]
    params = {**dict(hidden_layer_sizes=(7,), solver="sgd", batch_size=16, shuffle=False,
                     random_state=2, learning_rate_init=0.05, n_iter_no_change=2), **extra}
    want, got = _fits_of(target, calls, **params)
    assert len(got.loss_curve_) == len(want.loss_curve_)
    assert_allclose(got.loss_curve_, want.loss_curve_, rtol=1e-12)
    if calls[-1] == "fit":
        assert got.n_iter_ == want.n_iter_
    if got.early_stopping:
        assert_allclose(got.validation_scores_, want.validation_scores_, rtol=1e-12)
    assert got._lr == pytest.approx(want._optimizer.learning_rate, rel=1e-12)
    for a, b in zip(want.coefs_ + want.intercepts_, got.coefs_ + got.intercepts_):
        assert_allclose(b, a, rtol=0, atol=1e-12)


def test_partial_fit_refuses_early_stopping_and_leaves_the_model_as_it_was():
    """As scikit-learn's: partial_fit has no held-out set (fastnn trained on
    with early_stopping=True ignored)."""
    model = MLPClassifier((5,), early_stopping=True, random_state=0)
    with pytest.raises(ValueError, match=r"partial_fit does not support early_stopping=True.*"
                                         r"got early_stopping=True"):
        model.partial_fit(X, TARGETS["multiclass"], classes=np.arange(10))
    assert not hasattr(model, "coefs_")
    with pytest.raises(TypeError, match="early_stopping must be a bool; got str 'yes'"):
        MLPClassifier(early_stopping="yes").partial_fit(X, TARGETS["multiclass"], classes=np.arange(10))
    fit_quietly(model.set_params(max_iter=2), X, TARGETS["multiclass"])
    before = [c.copy() for c in model.coefs_]
    with pytest.raises(ValueError, match="early_stopping"):
        model.partial_fit(X, TARGETS["multiclass"])
    for a, b in zip(before, model.coefs_):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ a random sweep

def _random_setting(seed):
    """A target, a sequence of calls and a parameter setting drawn from ``seed``:
    every solver option, schedule and stopping rule, at learning rates low
    enough that training is not chaotic (there a last-bit difference grows as
    it does between two scikit-learn fits)."""
    rng = np.random.default_rng(seed)
    target = str(rng.choice(["multiclass", "binary", "regression"]))
    params = dict(
        hidden_layer_sizes=tuple(int(n) for n in rng.integers(2, 9, rng.integers(1, 3))),
        activation=str(rng.choice(["relu", "logistic", "tanh"])),
        solver=str(rng.choice(["sgd", "adam"])), batch_size=int(rng.choice([1, 7, 16, 64])),
        learning_rate_init=float(rng.choice([0.001, 0.01])),
        momentum=float(rng.choice([0.0, 0.5, 0.9])), nesterovs_momentum=bool(rng.integers(2)),
        alpha=float(rng.choice([0.0, 1e-4, 1e-2])),
        learning_rate=str(rng.choice(["constant", "invscaling", "adaptive"])),
        tol=float(rng.choice([0.0, 1e-4, 1e-2, 0.1])), n_iter_no_change=int(rng.integers(1, 5)),
        early_stopping=bool(rng.integers(2)), validation_fraction=0.2,
        shuffle=bool(rng.integers(2)), max_iter=int(rng.integers(1, 20)),
        random_state=int(rng.integers(100)), beta_1=float(rng.choice([0.9, 0.5])),
        power_t=float(rng.choice([0.5, 0.25])))
    calls = ["fit"] + [str(c) for c in rng.choice(["fit", "warm fit", "partial_fit"], 2)]
    if params["early_stopping"]:   # (no partial_fit; a warm fit holds out other samples)
        calls = ["fit", "fit"]
    return target, calls, params


@pytest.mark.parametrize("seed", range(60))
def test_random_settings_train_and_stop_as_scikit_learns(seed):
    """Drawn settings (solver, batch size, momentum, schedule, tol,
    n_iter_no_change, early stopping, shuffle) and call sequences (fit, warm
    fit, partial_fit): after every call the loss curve, its length, n_iter_,
    the validation scores and the weights are scikit-learn's."""
    target, calls, params = _random_setting(seed)
    y = TARGETS[target]
    kw = {"classes": np.unique(y)} if target != "regression" else {}
    want, got = _pair(target, **params)
    for call in calls:
        for m in (want, got):
            if call == "partial_fit":
                m.partial_fit(X, y, **kw)
            else:
                fit_quietly(m.set_params(warm_start=call == "warm fit"), X, y)
        assert len(got.loss_curve_) == len(want.loss_curve_), call
        assert_allclose(got.loss_curve_, want.loss_curve_, rtol=1e-9)
        if call != "partial_fit":
            assert got.n_iter_ == want.n_iter_
        if params["early_stopping"]:
            assert_allclose(got.validation_scores_, want.validation_scores_, rtol=1e-9)
        for a, b in zip(want.coefs_ + want.intercepts_, got.coefs_ + got.intercepts_):
            assert_allclose(b, a, rtol=0, atol=1e-9)


def test_multilabel_partial_fit_trains_as_scikit_learns():
    """A multilabel indicator y with ``classes`` (the column indices) on the
    first call, and without on later ones: the same classes, weights and
    predictions (it raised "The object was not fitted with multilabel input.")."""
    from sklearn.neural_network import MLPClassifier as Reference
    y = TARGETS["multilabel"]
    want = Reference((7,), batch_size=10, random_state=3, learning_rate_init=0.05)
    got = MLPClassifier((7,), batch_size=10, random_state=3, learning_rate_init=0.05)
    for classes in ([0, 1], None, np.array([0, 1])):
        want.partial_fit(X, y, classes=classes)
        got.partial_fit(X, y, classes=classes)
    np.testing.assert_array_equal(got.classes_, want.classes_)
    for a, b in zip(want.coefs_ + want.intercepts_, got.coefs_ + got.intercepts_):
        assert_allclose(b, a, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(got.predict(X), want.predict(X))


@pytest.mark.parametrize("target", ["multiclass", "regression"])
def test_early_stopping_warns_at_max_iter_as_scikit_learns(target):
    """A fit that early stopping does not stop before max_iter warns (it did
    not): ConvergenceWarning, as scikit-learn's; one that it stops, at the
    last epoch too, does not."""
    import warnings
    from sklearn.exceptions import ConvergenceWarning
    y = TARGETS[target]
    params = dict(hidden_layer_sizes=(7,), early_stopping=True, validation_fraction=0.2,
                  random_state=0, max_iter=3)
    for m in _pair(target, **params):
        with pytest.warns(ConvergenceWarning, match=r"Stochastic Optimizer: Maximum iterations "
                                                     r"\(3\) reached"):
            m.fit(X, y)
    # with tol=10 no epoch after the first improves: early stopping stops the fit at
    # epoch n_iter_no_change + 2, here its last
    params.update(tol=10.0, n_iter_no_change=2, max_iter=4)
    for m in _pair(target, **params):
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            assert m.fit(X, y).n_iter_ == 4


@pytest.mark.parametrize("make,shape", [
    (lambda: fastnn.MLPClassifier((3,), max_iter=2), (20, 4)),
    (lambda: fastnn.MLPRegressor((3,), max_iter=2), (20, 4)),
    (lambda: fastnn.LinearClassifier(), (20, 2)),
    (lambda: fastnn.ConvNetClassifier(n_filters=1, filter_size=1, pool_size=1,
                                      hidden_layer_sizes=(2,), max_iter=1), (20, 1, 2, 2)),
], ids=["MLPClassifier", "MLPRegressor", "LinearClassifier", "ConvNetClassifier"])
def test_the_column_y_warning_points_at_the_callers_line(make, shape):
    """The DataConversionWarning for a column y names the line that called fit,
    as scikit-learn's does (two models named their own files)."""
    import warnings

    from sklearn.exceptions import DataConversionWarning
    X = np.random.default_rng(0).random(shape) + 0.5
    y = (np.arange(20) % 2).reshape(-1, 1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make().fit(X, y)
    sites = {(w.filename, w.category) for w in caught if "column-vector" in str(w.message)}
    assert sites == {(__file__, DataConversionWarning)}
