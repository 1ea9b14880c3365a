"""Losses of one sample and the delta they send back into the output layer.

``squared``: ``0.5 * sum_j (a_j - y_j)**2`` (the article's ``0.5 * error**2``).
``log``: cross-entropy; ``-sum_j y_j log a_j`` after a softmax, and the binary
form ``-sum_j [y_j log a_j + (1 - y_j) log(1 - a_j)]`` after a logistic output.
Probabilities are clipped to ``[eps, 1 - eps]`` before the log.
"""
import math

from numba import njit

from .activations import SOFTMAX, derivative

SQUARED = 0
LOG = 1

CODES = {"squared": SQUARED, "log": LOG}

_EPS = 1e-15


@njit(cache=True, inline="always")
def _clip(p):
    if p < _EPS:
        return _EPS
    if p > 1.0 - _EPS:
        return 1.0 - _EPS
    return p


@njit(cache=True)
def sample_loss(loss, act, a, y):
    """The loss of one sample: outputs ``a``, targets ``y`` (1-D)."""
    s = 0.0
    n = a.shape[0]
    if loss == SQUARED:
        for j in range(n):
            d = float(a[j]) - float(y[j])
            s += 0.5 * d * d
    elif act == SOFTMAX:
        for j in range(n):
            if y[j] != 0.0:
                s -= y[j] * math.log(_clip(a[j]))
    else:
        for j in range(n):
            p = _clip(a[j])
            s -= y[j] * math.log(p) + (1.0 - y[j]) * math.log(1.0 - p)
    return s


@njit(cache=True)
def output_delta(loss, act, a, y, delta):
    """dLoss/dz of the output layer for one sample, into ``delta``.

    Cross-entropy after softmax or logistic gives ``a - y``. The squared loss
    multiplies ``a - y`` by the activation's derivative; after a softmax it
    goes through the softmax Jacobian ``a_j (g_j - sum_k g_k a_k)``.
    """
    n = a.shape[0]
    if loss == LOG:
        for j in range(n):
            delta[j] = a[j] - y[j]
    elif act == SOFTMAX:
        s = 0.0
        for k in range(n):
            s += (a[k] - y[k]) * a[k]
        for j in range(n):
            delta[j] = a[j] * ((a[j] - y[j]) - s)
    else:
        for j in range(n):
            delta[j] = (a[j] - y[j]) * derivative(act, a[j])
