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


# ------------------------------------------------------------------------------
# NumPy's legacy stream. scikit-learn's MLP shuffles its samples every epoch with
# ``RandomState.shuffle`` (through ``sklearn.utils.shuffle``); to train on the
# same orders, the MLP trainers run that shuffle here, from the RandomState's
# MT19937 state: ``mt`` is an int64 array of 625 entries, the 624 words of the
# state (each < 2**32) and then the position, as ``RandomState.get_state()``
# gives them (``mt_state``, ``set_mt_state``). Serial by nature, so the same on
# any thread count.
_MT_N = 624
_MT_M = 397


@njit(cache=True)
def _mt_twist(mt):
    """MT19937's regeneration of the 624 words, in place (the reference order)."""
    for i in range(_MT_N):
        y = (mt[i] & 0x80000000) | (mt[(i + 1) % _MT_N] & 0x7FFFFFFF)
        v = mt[(i + _MT_M) % _MT_N] ^ (y >> 1)
        if y & 1:
            v ^= 0x9908B0DF
        mt[i] = v


@njit(cache=True, inline="always")
def mt_next32(mt):
    """The stream's next 32-bit integer (``RandomState``'s ``next_uint32``)."""
    pos = mt[_MT_N]
    if pos >= _MT_N:
        _mt_twist(mt)
        pos = 0
    y = mt[pos]
    mt[_MT_N] = pos + 1
    y ^= y >> 11
    y ^= (y << 7) & 0x9D2C5680
    y ^= (y << 15) & 0xEFC60000
    y ^= y >> 18
    return y


@njit(cache=True, inline="always")
def mt_interval(mt, hi):
    """An integer uniform on [0, hi], as NumPy's ``random_interval``: the bits
    of ``hi``'s width, drawn again until they are not above it."""
    if hi == 0:
        return 0
    mask = hi
    mask |= mask >> 1
    mask |= mask >> 2
    mask |= mask >> 4
    mask |= mask >> 8
    mask |= mask >> 16
    mask |= mask >> 32
    while True:
        if hi <= 0xFFFFFFFF:
            v = mt_next32(mt) & mask
        else:   # next_uint64: two words, the first on top
            v = ((mt_next32(mt) << 32) | mt_next32(mt)) & mask
        if v <= hi:
            return v


@njit(cache=True)
def mt_shuffle(mt, order):
    """``RandomState.shuffle(order)`` for a 1-D array: Fisher-Yates from the
    end, the partner of position ``i`` drawn on [0, i]; ``mt`` advances."""
    for i in range(order.shape[0] - 1, 0, -1):
        j = mt_interval(mt, i)
        tmp = order[i]
        order[i] = order[j]
        order[j] = tmp


def mt_state(random_state):
    """A ``numpy.random.RandomState``'s MT19937 state as the kernels' ``mt``
    (a copy: the RandomState does not move until ``set_mt_state``)."""
    _, keys, pos, *_ = random_state.get_state()
    mt = np.empty(_MT_N + 1, dtype=np.int64)
    mt[:_MT_N] = keys
    mt[_MT_N] = pos
    return mt


def set_mt_state(random_state, mt):
    """Move ``random_state`` to the state ``mt`` has reached (its Gaussian
    cache kept), as if the kernels had drawn from it."""
    _, _, _, has_gauss, cached = random_state.get_state()
    random_state.set_state(("MT19937", mt[:_MT_N].astype(np.uint32), int(mt[_MT_N]),
                            has_gauss, cached))
