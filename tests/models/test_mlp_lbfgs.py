"""MLP solver='lbfgs': scikit-learn's solver, on fastnn's compiled full-batch gradient."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

import fastnn
from fastnn import MLPClassifier, MLPRegressor
from tests.models.quiet import fit_quietly

DIGITS = load_digits()
X = DIGITS.data[:400] / 16
y = DIGITS.target[:400]


@pytest.mark.parametrize("hidden", [(20,), (12, 8)])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_lbfgs_equals_scikit_learns(hidden, weighted, kind):
    """The same L-BFGS-B run as scikit-learn's: the same weights, loss and
    iterations after 10 iterations, with and without sample weights. (One
    output for the regressor: with more, scikit-learn's squared loss is
    divided by their number and its gradient is not; fastnn's loss, 0.5 *
    the sum of squares over the outputs, is the one its gradient belongs to.)"""
    from sklearn import neural_network
    sw = np.random.default_rng(0).integers(0, 3, len(y)).astype(float) if weighted else None
    target = y if kind == "classifier" else y / 9.0
    name = "MLPClassifier" if kind == "classifier" else "MLPRegressor"
    params = dict(hidden_layer_sizes=hidden, solver="lbfgs", max_iter=10, random_state=0,
                  alpha=1e-3)
    want = fit_quietly(getattr(neural_network, name)(**params), X, target, sample_weight=sw)
    got = fit_quietly(getattr(fastnn, name)(**params), X, target, sample_weight=sw)
    for a, b in zip(want.coefs_ + want.intercepts_, got.coefs_ + got.intercepts_):
        assert_allclose(b, a, rtol=0, atol=1e-9)
    assert got.loss_ == pytest.approx(want.loss_, rel=1e-10)
    assert got.n_iter_ == want.n_iter_ == 10


def test_lbfgs_learns_the_digits_and_its_curve_falls():
    """Each L-BFGS-B iteration lowers the loss (its line search asks for a
    decrease); the curve has one entry an iteration and ends at ``loss_``."""
    data = DIGITS.data / 16
    m = MLPClassifier((32,), solver="lbfgs", max_iter=300, random_state=0, alpha=1e-3)
    m.fit(data[:1200], DIGITS.target[:1200])
    curve = np.array(m.loss_curve_)
    assert len(curve) == m.n_iter_ and curve[-1] == m.loss_
    assert (np.diff(curve) < 0).all()
    assert m.score(data[1200:], DIGITS.target[1200:]) > 0.9


def test_lbfgs_stops_at_max_iter_with_a_warning_and_warm_starts():
    m = MLPRegressor((6,), solver="lbfgs", max_iter=3, random_state=0, warm_start=True)
    target = y / 9.0
    with pytest.warns(ConvergenceWarning, match=r"lbfgs failed to converge after 3 iteration\(s\)"):
        m.fit(X, target)
    first = m.loss_
    with pytest.warns(ConvergenceWarning):
        m.fit(X, target)   # goes on from the fitted weights
    assert m.n_iter_ == 3 and len(m.loss_curve_) == 6 and m.loss_ < first


def test_lbfgs_has_no_partial_fit_and_ignores_early_stopping():
    m = MLPClassifier((4,), solver="lbfgs")
    assert not hasattr(m, "partial_fit")
    with pytest.raises(AttributeError, match="has no attribute 'partial_fit'") as caught:
        m.partial_fit(X, y, classes=np.arange(10))
    assert str(caught.value.__cause__) == ("partial_fit is only available for stochastic "
                                           "optimizers; solver='lbfgs' is not stochastic.")
    a = fit_quietly(MLPClassifier((4,), solver="lbfgs", max_iter=5, random_state=0), X, y)
    b = fit_quietly(MLPClassifier((4,), solver="lbfgs", max_iter=5, random_state=0,
                               early_stopping=True), X, y)
    assert_allclose(a.coefs_[0], b.coefs_[0], rtol=0, atol=0)


def test_lbfgs_in_float32_saves_and_shows_progress(tmp_path, capsys):
    m = fit_quietly(MLPClassifier((8,), solver="lbfgs", max_iter=20, random_state=0,
                               dtype="float32", verbose=True), X, y)
    assert m.coefs_[0].dtype == np.float32 and m.score(X, y) > 0.8
    assert "(lbfgs)" in capsys.readouterr().err
    m.save(tmp_path / "m.h5")
    back = fastnn.load(tmp_path / "m.h5")
    assert back.get_params() == m.get_params()
    assert (back.predict(X) == m.predict(X)).all()


def test_lbfgs_gradient_checks_pass():
    m = fit_quietly(MLPClassifier((6,), solver="lbfgs", max_iter=5, random_state=0), X[:30], y[:30])
    assert max(fastnn.check_gradients(m, X[:30], y[:30])) < 1e-5


def test_lbfgs_divergence_is_a_clear_error():
    X_huge = np.random.default_rng(0).normal(size=(50, 3)) * 1e200
    with pytest.raises(ValueError, match=r"training diverged at lbfgs iteration \d+: .* contains "
                                         r"NaN or inf; scale X"):
        MLPClassifier((4,), solver="lbfgs", random_state=0).fit(X_huge, np.arange(50) % 2)


def test_lbfgs_same_bits_for_any_thread_count(n_threads):
    """The gradient's sums do not depend on the threads, so neither does the run."""
    from fastnn import threads
    runs = []
    for n in n_threads:
        with threads(n):
            model = MLPClassifier((32,), solver="lbfgs", max_iter=15, random_state=0)
            runs.append(fit_quietly(model, X, y).coefs_)
    for coefs in runs[1:]:
        for a, b in zip(runs[0], coefs):
            np.testing.assert_array_equal(a, b)
