"""Counter-based random numbers for kernels.

A kernel never draws from a shared stream: the number used by item ``stream``
at step ``counter`` is a pure function of ``(seed, stream, counter)``, so a
parallel loop gives the same result on any thread count. The hash is
SplitMix64's finaliser, kept entirely in ``np.uint64`` (mixing in a signed
integer would promote the type and turn the right shifts arithmetic).
"""
import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_MUL2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53


@njit(cache=True, inline="always")
def mix64(z):
    """SplitMix64 finaliser of a uint64 (wraps around by design)."""
    z = (z ^ (z >> _S30)) * _MUL1
    z = (z ^ (z >> _S27)) * _MUL2
    return z ^ (z >> _S31)


@njit(cache=True, inline="always")
def hash3(seed, stream, counter):
    """A uint64 that depends on all three keys."""
    z = mix64(np.uint64(seed) + _GOLDEN)
    z = mix64(z ^ (np.uint64(stream) + _GOLDEN))
    return mix64(z ^ (np.uint64(counter) * _GOLDEN))


@njit(cache=True, inline="always")
def uniform(seed, stream, counter):
    """A float64 uniform on [0, 1), the same for the same three keys."""
    return float(hash3(seed, stream, counter) >> _S11) * _INV53


@njit(cache=True, inline="always")
def randint(seed, stream, counter, n):
    """An integer uniform on [0, n) (n < 2**53)."""
    return int(uniform(seed, stream, counter) * n)


@njit(cache=True)
def permutation(seed, stream, order):
    """Fill ``order`` with a random permutation of ``0..len(order)-1``.

    Fisher-Yates; the swap partner at position ``i`` is drawn with counter ``i``.
    """
    n = order.shape[0]
    for i in range(n):
        order[i] = i
    for i in range(n - 1, 0, -1):
        j = randint(seed, stream, i, i + 1)
        tmp = order[i]
        order[i] = order[j]
        order[j] = tmp
