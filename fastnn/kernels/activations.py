"""Activation functions and their derivatives.

Each activation has a code (the kernels branch on small integers, not
strings). Derivatives are written in terms of the activation's *output* ``a``,
as the article writes them (``sigmoid'(x) = a * (1 - a)``), which is what
backpropagation has at hand.
"""
import math

import numpy as np
from numba import njit

from .simd import float64_from_bits

IDENTITY = 0
LOGISTIC = 1
TANH = 2
RELU = 3
SOFTMAX = 4
EXP = 5     # an output for counts (scikit-learn's MLPRegressor with loss='poisson')

CODES = {"identity": IDENTITY, "logistic": LOGISTIC, "tanh": TANH, "relu": RELU, "softmax": SOFTMAX,
         "exp": EXP}


# exp(-|x|) = 2**k exp(r), r = -|x| - k ln 2 in [-ln2/2, ln2/2], with Cephes'
# rational approximation exp(r) = (Q + P) / (Q - P), P = r p(r**2), Q = q(r**2).
_LOG2E = 1.4426950408889634
_LN2_HI = 6.93145751953125e-1       # ln 2 split so that k * _LN2_HI is exact
_LN2_LO = 1.42860682030941723212e-6
_EXP_P = (1.26177193074810590878e-4, 3.02994407707441961300e-2, 9.99999999999999999910e-1)
_EXP_Q = (3.00198505138664455042e-6, 2.52448340349684104192e-3, 2.27265548208155028766e-1,
          2.00000000000000000009e0)
_EXP_FLUSH = 708.0                  # beyond, exp(-|x|) is taken as 0 (2**k stays normal)


@njit(cache=True, inline="always")
def logistic(x):
    """1 / (1 + exp(-x)) in float64, within 3 ulp; in [0, 1] for any input, NaN for NaN.

    Polynomial, with no call to libm and no branch, so a loop of it
    vectorises (libm's ``exp`` is one call a value: 100 hidden units of the
    digits network cost 0.6 us a sample that way, 0.1 us this way). With
    ``e = exp(-|x|) = s (Q + P) / (Q - P)``, ``s = 2**k``, the result is
    ``1 / (1 + e) = (Q - P) / (Q - P + s (Q + P))`` for ``x >= 0`` and
    ``e / (1 + e)`` below, one division either way. Beyond ``|x| = 708``
    ``e`` is 0: the result is 1 or 0.
    """
    x = float(x)
    t = -abs(x)
    t = t if t > -_EXP_FLUSH else -_EXP_FLUSH      # NaN goes to the clamp, and back below
    kf = np.floor(t * _LOG2E + 0.5)
    r = (t - kf * _LN2_HI) - kf * _LN2_LO
    rr = r * r
    p = r * ((_EXP_P[0] * rr + _EXP_P[1]) * rr + _EXP_P[2])
    q = ((_EXP_Q[0] * rr + _EXP_Q[1]) * rr + _EXP_Q[2]) * rr + _EXP_Q[3]
    s = float64_from_bits((np.int64(kf) + 1023) << 52)
    if x < -_EXP_FLUSH or x > _EXP_FLUSH:
        s = 0.0
    num = q - p
    den = s * (q + p)
    top = num if x >= 0.0 else den
    res = np.divide(top, num + den)   # '/' tests for a zero divisor, which stops vectorisation
    return res if x == x else x


@njit(cache=True, inline="always")
def activate_at(code, z, o, n):
    """Apply activation ``code`` to ``z[o:o+n]`` in place (``o >= 0``).

    Indexed at ``o + j`` rather than through a view: the dense kernels keep a
    sample's layers in one buffer, and a view per layer costs reference-count
    calls that dominate tiny layers.
    """
    o = max(o, 0)   # lets LLVM drop the negative-index test (see dense._nonneg)
    if code == LOGISTIC:
        for j in range(n):
            z[o + j] = logistic(z[o + j])
    elif code == TANH:
        for j in range(n):
            z[o + j] = math.tanh(z[o + j])
    elif code == RELU:
        for j in range(n):
            if z[o + j] < 0.0:
                z[o + j] = 0.0
    elif code == SOFTMAX:
        m = z[o]
        for j in range(1, n):
            if z[o + j] > m:
                m = z[o + j]
        s = 0.0
        for j in range(n):
            e = math.exp(z[o + j] - m)
            z[o + j] = e
            s += e
        for j in range(n):
            z[o + j] = z[o + j] / s
    elif code == EXP:
        for j in range(n):
            z[o + j] = math.exp(z[o + j])


# The same function compiled once and called, not inlined: for kernels whose
# work per layer dwarfs a call (the CNN's), where the polynomial logistic
# inlined at every site only added compile time (about 10 s over the CNN's
# training and predict kernels); the dense per-sample loops inline it.
# (Under NUMBA_DISABLE_JIT ``activate_at`` is the plain function, without ``py_func``.)
activate_range = njit(cache=True)(getattr(activate_at, "py_func", activate_at))


@njit(cache=True)
def activate(code, z):
    """Apply activation ``code`` to the 1-D array ``z`` in place."""
    activate_at(code, z, 0, z.shape[0])


@njit(cache=True, inline="always")
def derivative(code, a):
    """d activation / d z, written with the output ``a`` (not for softmax)."""
    if code == LOGISTIC:
        return a * (1.0 - a)
    if code == TANH:
        return 1.0 - a * a
    if code == RELU:
        return 1.0 if a > 0.0 else 0.0
    if code == EXP:
        return a
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


# ---------------------------------------------------------------------------
# float32 logistic over an array, vectorised (libm's exp is a call per value)

_LOG2E_32 = np.float32(1.4426950408889634)
_LN2_HI_32 = np.float32(0.693359375)
_LN2_LO_32 = np.float32(-2.12194440e-4)
_EXP_CLAMP_32 = np.float32(87.0)  # keeps 2**k a normal float32
_EXP32 = (np.float32(1.9875691500e-4), np.float32(1.3981999507e-3), np.float32(8.3334519073e-3),
          np.float32(4.1665795894e-2), np.float32(1.6666665459e-1), np.float32(5.0000001201e-1))
_ONE_32 = np.float32(1.0)
_HALF_32 = np.float32(0.5)
_BIAS_32 = np.int32(127)
_SHIFT_32 = np.int32(23)


@njit(cache=True, inline="always")
def logistic32_inplace(z, n, bits, scale):
    """``z[:n] = 1 / (1 + exp(-z[:n]))`` for float32, in loops LLVM vectorises.

    ``exp(x) = 2**k * exp(r)``, ``r = x - k ln 2`` in ``[-ln2/2, ln2/2]``, with
    Cephes' degree-6 polynomial for ``exp(r)`` ; ``2**k``
    comes from its exponent bits in ``bits`` (int32 scratch of length ``>= n``),
    read back through ``scale``, the same memory viewed as float32. Within a
    few ulp of ``1 / (1 + exp(-x))``; finite for any finite input (results
    below 1.7e-38 clamp there). ``math.exp`` is a libm call per value, which
    does not vectorise: on the 5760 map values an image it was the convolution's
    largest cost.
    """
    c0, c1, c2, c3, c4, c5 = _EXP32
    for j in range(n):
        x = min(max(-z[j], -_EXP_CLAMP_32), _EXP_CLAMP_32)
        kf = np.floor(x * _LOG2E_32 + _HALF_32)
        r = (x - kf * _LN2_HI_32) - kf * _LN2_LO_32
        p = c0
        p = p * r + c1
        p = p * r + c2
        p = p * r + c3
        p = p * r + c4
        p = p * r + c5
        z[j] = p * r * r + r + _ONE_32
        bits[j] = (np.int32(kf) + _BIAS_32) << _SHIFT_32
    for j in range(n):  # np.divide: '/' checks for a zero divisor, which stops vectorisation
        z[j] = np.divide(_ONE_32, _ONE_32 + z[j] * scale[j])
