"""Activation functions and their derivatives.

Each activation has a code (the kernels branch on small integers, not
strings). Derivatives are written in terms of the activation's *output* ``a``,
as the article writes them (``sigmoid'(x) = a * (1 - a)``), which is what
backpropagation has at hand.
"""
import math

import numpy as np
from numba import njit

IDENTITY = 0
LOGISTIC = 1
TANH = 2
RELU = 3
SOFTMAX = 4

CODES = {"identity": IDENTITY, "logistic": LOGISTIC, "tanh": TANH, "relu": RELU, "softmax": SOFTMAX}


@njit(cache=True, inline="always")
def logistic(x):
    """1 / (1 + exp(-x)), finite and in [0, 1] for any finite or infinite x."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@njit(cache=True)
def activate(code, z):
    """Apply activation ``code`` to the 1-D array ``z`` in place."""
    n = z.shape[0]
    if code == LOGISTIC:
        for j in range(n):
            z[j] = logistic(z[j])
    elif code == TANH:
        for j in range(n):
            z[j] = math.tanh(z[j])
    elif code == RELU:
        for j in range(n):
            if z[j] < 0.0:
                z[j] = 0.0
    elif code == SOFTMAX:
        m = z[0]
        for j in range(1, n):
            if z[j] > m:
                m = z[j]
        s = 0.0
        for j in range(n):
            e = math.exp(z[j] - m)
            z[j] = e
            s += e
        for j in range(n):
            z[j] = z[j] / s


@njit(cache=True, inline="always")
def derivative(code, a):
    """d activation / d z, written with the output ``a`` (not for softmax)."""
    if code == LOGISTIC:
        return a * (1.0 - a)
    if code == TANH:
        return 1.0 - a * a
    if code == RELU:
        return 1.0 if a > 0.0 else 0.0
    return 1.0


@njit(cache=True)
def activation_forward(code, z, out):
    """Row-wise activation of a 2-D ``z`` into ``out`` (softmax per row)."""
    for n in range(z.shape[0]):
        for j in range(z.shape[1]):
            out[n, j] = z[n, j]
        activate(code, out[n])


@njit(cache=True)
def activation_derivative(code, a, out):
    """Element-wise derivative from outputs ``a`` into ``out`` (not for softmax)."""
    for n in range(a.shape[0]):
        for j in range(a.shape[1]):
            out[n, j] = derivative(code, a[n, j])
