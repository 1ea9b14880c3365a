"""Losses of one sample and the delta they send back into the output layer.

``squared``: ``0.5 * sum_j (a_j - y_j)**2`` (the article's ``0.5 * error**2``).
``log``: cross-entropy; ``-sum_j y_j log a_j`` after a softmax, and the binary
form ``-sum_j [y_j log a_j + (1 - y_j) log(1 - a_j)]`` after a logistic output.
Probabilities are clipped to ``[eps, 1 - eps]`` before the log.
``poisson``: half the Poisson deviance, ``sum_j y_j log(y_j / a_j) - y_j + a_j``
(``0 log 0 = 0``), after an exponential output ``a = exp(z)``, as scikit-learn's
MLPRegressor; its delta is ``a - y``.
"""
import math

import numpy as np
from numba import njit

from .activations import SOFTMAX, derivative

SQUARED = 0
LOG = 1
POISSON = 2

CODES = {"squared": SQUARED, "log": LOG, "poisson": POISSON}

_EPS = 1e-15


@njit(cache=True, inline="always")
def _clip(p):
    if p < _EPS:
        return _EPS
    if p > 1.0 - _EPS:
        return 1.0 - _EPS
    return p


@njit(cache=True, inline="always")
def sample_loss_at(loss, act, a, y, o, n):
    """The loss of one sample: outputs ``a[o:o+n]``, targets ``y`` (1-D)."""
    o = max(o, 0)   # lets LLVM drop the negative-index test
    s = 0.0
    if loss == SQUARED:
        for j in range(n):
            d = float(a[o + j]) - float(y[j])
            s += 0.5 * d * d
    elif loss == POISSON:
        for j in range(n):
            yj = float(y[j])
            p = float(a[o + j])
            # np.divide: an underflowed a = 0 gives an infinite loss, not an exception
            s += (yj * math.log(np.divide(yj, p)) if yj != 0.0 else 0.0) - yj + p
    elif act == SOFTMAX:
        for j in range(n):
            if y[j] != 0.0:
                s -= y[j] * math.log(_clip(a[o + j]))
    else:
        for j in range(n):
            p = _clip(a[o + j])
            s -= y[j] * math.log(p) + (1.0 - y[j]) * math.log(1.0 - p)
    return s


@njit(cache=True)
def sample_loss(loss, act, a, y):
    """The loss of one sample: outputs ``a``, targets ``y`` (1-D)."""
    return sample_loss_at(loss, act, a, y, 0, a.shape[0])


@njit(cache=True, inline="always")
def output_delta_at(loss, act, a, y, delta, o, n):
    """dLoss/dz of the output layer for one sample, into ``delta[o:o+n]``.

    Outputs are ``a[o:o+n]`` (the dense kernels keep activations and deltas
    of a sample at the same offsets), targets ``y`` (1-D).
    Cross-entropy after softmax or logistic, and the Poisson loss after an
    exponential, give ``a - y``. The squared loss
    multiplies ``a - y`` by the activation's derivative; after a softmax it
    goes through the softmax Jacobian ``a_j (g_j - sum_k g_k a_k)``.
    """
    o = max(o, 0)
    if loss == LOG or loss == POISSON:
        for j in range(n):
            delta[o + j] = a[o + j] - y[j]
    elif act == SOFTMAX:
        s = 0.0
        for k in range(n):
            s += (a[o + k] - y[k]) * a[o + k]
        for j in range(n):
            delta[o + j] = a[o + j] * ((a[o + j] - y[j]) - s)
    else:
        for j in range(n):
            delta[o + j] = (a[o + j] - y[j]) * derivative(act, a[o + j])


@njit(cache=True)
def output_delta(loss, act, a, y, delta):
    """dLoss/dz of the output layer for one sample, into ``delta`` (see ``output_delta_at``)."""
    output_delta_at(loss, act, a, y, delta, 0, a.shape[0])
