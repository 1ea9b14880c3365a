"""The MLPs train as scikit-learn's: given the same ``random_state`` and the
samples in order, the same initial weights, steps and loss curve, for every
hidden activation and kind of target (scikit-learn 1.9's MLPClassifier and
MLPRegressor are the references)."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import load_digits

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
