"""MLP ``sample_weight``: scikit-learn's semantics, checked against scikit-learn itself."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits

from fastnn import MLPClassifier, MLPRegressor
from tests.models.quiet import fit_quietly

DIGITS = load_digits()
X = DIGITS.data[:120] / 16
y = DIGITS.target[:120]


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("batch_size,hidden", [(1, (12,)), (1, (8, 6)), (16, (12,)), (120, (8, 6))],
                         ids=["per-sample one hidden", "per-sample two hidden", "batch 16", "full"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_training_equals_scikit_learns(solver, batch_size, hidden, weighted):
    """With the samples in order (shuffle=False), fastnn's MLP trains as
    scikit-learn's: the same initial weights, the same steps, the same loss
    curve, with and without sample weights, the L2 term included. (At batch
    size 1 scikit-learn divides by the sample's weight, so these are >= 1.)"""
    from sklearn.neural_network import MLPClassifier as Reference
    w = np.random.default_rng(1).integers(0 if batch_size > 1 else 1, 4, len(y)).astype(float)
    sw = w if weighted else None
    params = dict(hidden_layer_sizes=hidden, solver=solver, learning_rate_init=0.02, momentum=0.9,
                  batch_size=batch_size, max_iter=3, shuffle=False, random_state=0, alpha=1e-2)
    want = fit_quietly(Reference(**params), X, y, sample_weight=sw)
    got = fit_quietly(MLPClassifier(**params), X, y, sample_weight=sw)
    for a, b in zip(want.coefs_ + want.intercepts_, got.coefs_ + got.intercepts_):
        assert_allclose(b, a, rtol=0, atol=1e-12)
    assert_allclose(got.loss_curve_, want.loss_curve_, rtol=1e-12)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**16), solver=st.sampled_from(["sgd", "adam"]),
       loss=st.sampled_from(["squared", "log"]))
def test_integer_weights_equal_repeated_samples_in_full_batch(seed, solver, loss):
    """Full-batch descent: a sample of weight k trains as k copies of it."""
    g = np.random.default_rng(seed)
    n = 12
    Xs = g.random((n, 3))
    ys = np.arange(n) % 2
    w = g.integers(0, 4, n)
    w[:2] = 1   # both classes stay
    params = dict(hidden_layer_sizes=(4,), solver=solver, batch_size="full", max_iter=20, tol=None,
                  random_state=seed, loss=loss, alpha=1e-3, learning_rate_init=0.1)
    weighted = MLPClassifier(**params).fit(Xs, ys, sample_weight=w.astype(float))
    repeated = MLPClassifier(**params).fit(np.repeat(Xs, w, axis=0), np.repeat(ys, w))
    for a, b in zip(weighted.coefs_, repeated.coefs_):
        assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-10)


@pytest.mark.parametrize("batch_size,hidden,solver", [
    (1, (12,), "sgd"), (1, (12,), "adam"), (1, (8, 6), "sgd"), (16, (12,), "sgd"), (16, (12,), "adam"),
])
def test_weights_of_one_give_the_unweighted_bits(batch_size, hidden, solver):
    params = dict(hidden_layer_sizes=hidden, solver=solver, batch_size=batch_size, max_iter=2,
                  tol=None, random_state=0, alpha=1e-3, momentum=0.9)
    plain = MLPClassifier(**params).fit(X, y)
    ones = MLPClassifier(**params).fit(X, y, sample_weight=np.ones(len(y)))
    for a, b in zip(plain.coefs_ + plain.intercepts_, ones.coefs_ + ones.intercepts_):
        assert_array_equal(a, b)
    assert_allclose(ones.loss_curve_, plain.loss_curve_, rtol=1e-13)


@pytest.mark.parametrize("batch_size,hidden,solver", [
    (1, (12,), "sgd"), (1, (12,), "adam"), (1, (8, 6), "adam"), (2, (12,), "sgd"), (2, (8, 6), "adam"),
])
def test_a_step_of_weight_zero_is_not_taken(batch_size, hidden, solver):
    """In sequential order, samples (at batch size 1) or whole minibatches of
    weight zero leave the network as if they were not there: the same bits as
    a fit without them, Adam's step count included. The epoch's loss is still
    a mean over every sample."""
    n = len(y)
    keep = np.ones(n, bool)
    if batch_size == 1:
        keep[np.random.default_rng(2).choice(n, 30, replace=False)] = False
    else:
        keep[4:8] = keep[50:52] = False   # two whole batches and one more
    params = dict(hidden_layer_sizes=hidden, solver=solver, batch_size=batch_size, max_iter=2,
                  tol=None, random_state=0, momentum=0.9, shuffle=False)
    weighted = MLPClassifier(**params).fit(X, y, sample_weight=keep.astype(float))
    without = MLPClassifier(**params).fit(X[keep], y[keep])
    for a, b in zip(weighted.coefs_ + weighted.intercepts_, without.coefs_ + without.intercepts_):
        assert_array_equal(a, b)
    assert_allclose(np.array(weighted.loss_curve_) * n, np.array(without.loss_curve_) * keep.sum(),
                    rtol=1e-12)


def test_partial_fit_and_a_scalar_weight():
    """``partial_fit`` takes weights as ``fit`` does (an epoch each), and a
    number weighs every sample alike: at batch size 'auto' that is no
    weighting at all, as scikit-learn."""
    w = np.random.default_rng(3).random(len(y))
    a = MLPClassifier((8,), random_state=0, alpha=0.0)
    b = MLPClassifier((8,), random_state=0, alpha=0.0, max_iter=1)
    for _ in range(2):
        a.partial_fit(X, y, sample_weight=w, classes=np.arange(10))
    fit_quietly(b, X, y, sample_weight=w)
    b.partial_fit(X, y, w)
    assert_allclose(np.concatenate([c.ravel() for c in a.coefs_]),
                    np.concatenate([c.ravel() for c in b.coefs_]), rtol=1e-12)
    plain = fit_quietly(MLPRegressor((8,), random_state=0, max_iter=5, alpha=0.0), X, y)
    scalar = fit_quietly(MLPRegressor((8,), random_state=0, max_iter=5, alpha=0.0), X, y,
                          sample_weight=3.0)
    assert_allclose(scalar.coefs_[0], plain.coefs_[0], rtol=1e-12)


@pytest.mark.parametrize("model", [MLPClassifier, MLPRegressor])
def test_early_stopping_scores_the_held_out_part_with_its_weights(model):
    """The held-out set is the one an unweighted fit holds out, and the kept
    (best) epoch's validation score is scikit-learn's score with the held-out
    weights; the training part's weights count in training."""
    from sklearn.metrics import accuracy_score, r2_score
    from fastnn._validation import validation_split
    w = np.random.default_rng(4).integers(0, 3, len(y)).astype(float)
    params = dict(hidden_layer_sizes=(8,), random_state=0, early_stopping=True, max_iter=6,
                  n_iter_no_change=100, validation_fraction=0.25, learning_rate_init=0.01)
    target = y if model is MLPClassifier else y / 9.0
    m = fit_quietly(model(**params), X, target, sample_weight=w)
    plain = fit_quietly(model(**params), X, target)
    _, X_val, _, t_val, _, w_val = validation_split(X, target, 0.25, m._split_random_state(),
                                                    None, sample_weight=w)   # (ten classes)
    score = accuracy_score if model is MLPClassifier else r2_score
    assert m.best_validation_score_ == max(m.validation_scores_)
    assert m.best_validation_score_ == pytest.approx(
        score(t_val, m.predict(X_val), sample_weight=w_val), rel=1e-12)
    assert m.best_validation_score_ != pytest.approx(score(t_val, m.predict(X_val)), rel=1e-6)
    assert not np.array_equal(m.coefs_[0], plain.coefs_[0])


def test_early_stopping_names_a_training_part_of_weight_zero():
    """Weight only on the samples early stopping holds out: a clear error."""
    from fastnn._validation import validation_split
    params = dict(hidden_layer_sizes=(4,), random_state=0, max_iter=1, early_stopping=True,
                  validation_fraction=0.5)
    split = fit_quietly(MLPClassifier(**params), X, y)._split_random_state()   # the same draws
    *_, index_val = validation_split(X, y, 0.5, split, None, sample_weight=np.arange(len(y)))
    w = np.zeros(len(y))
    w[index_val.astype(int)] = 1.0
    m = MLPClassifier(**params)
    with pytest.raises(ValueError, match="sample_weight is zero on every sample of the training "
                                         "part that early_stopping leaves"):
        m.fit(X, y, sample_weight=w)


@pytest.mark.parametrize("model", [MLPClassifier, MLPRegressor])
def test_early_stopping_names_a_held_out_part_of_weight_zero(model):
    """Weight zero on every sample early stopping holds out: a clear error
    (the weighted validation score divided by zero: "Weights sum to zero")."""
    from fastnn._validation import validation_split
    params = dict(hidden_layer_sizes=(4,), random_state=0, max_iter=2, early_stopping=True,
                  validation_fraction=0.25)
    target = y if model is MLPClassifier else y / 9.0
    split = fit_quietly(model(**params), X, target)._split_random_state()   # the same draws
    *_, index_val = validation_split(X, target, 0.25, split, None, sample_weight=np.arange(len(y)))
    w = np.ones(len(y))
    w[index_val.astype(int)] = 0.0
    with pytest.raises(ValueError, match=r"sample_weight must be > 0 on at least one of the 30 "
                                         r"samples that early_stopping holds out "
                                         r"\(validation_fraction=0.25\) to score them; got zero on "
                                         r"every one"):
        model(**params).fit(X, target, sample_weight=w)
    w[index_val[0].astype(int)] = 1.0   # one held-out sample that counts is enough
    assert np.isfinite(fit_quietly(model(**params), X, target, sample_weight=w).validation_scores_).all()


def test_weighted_minibatches_give_the_same_bits_for_any_thread_count(n_threads):
    from fastnn import threads
    w = np.random.default_rng(5).integers(0, 4, len(y)).astype(float)
    runs = []
    for n in n_threads:
        with threads(n):   # (64 rows of a 64-64-10 network: above the threads' threshold)
            model = MLPClassifier((64,), batch_size=64, max_iter=3, tol=None, random_state=0)
            runs.append(model.fit(X, y, sample_weight=w).coefs_)
    for coefs in runs[1:]:
        for a, b in zip(runs[0], coefs):
            assert_array_equal(a, b)
