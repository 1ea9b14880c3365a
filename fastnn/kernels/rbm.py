"""Bernoulli RBM kernels: activation probabilities, Gibbs sampling, PCD and
CD-k training, free energy, pseudo-likelihood.

The weights are the textbook ``W`` of shape ``(n_visible, n_hidden)``, C-contiguous,
so that ``P(h=1|v) = sigmoid(v @ W + c)`` and ``P(v=1|h) = sigmoid(h @ W.T + b)``.
(scikit-learn's ``components_`` is ``W.T``, stored in Fortran order: the same memory.)

Randomness. A unit is sampled on when a uniform number ``u`` in [0, 1) is below its
probability. Every kernel that samples takes ``seed`` and ``uniforms``:

- ``uniforms`` empty (``np.empty(0)``): the number for chain (sample) ``n`` is
  ``rng.uniform(seed, n, counter)`` with a counter that names the step and the
  unit, so the result does not depend on the thread count;
- ``uniforms`` non-empty: the replay mode. The numbers are read from this 1-D
  float64 array in the order scikit-learn's ``RandomState.uniform(size=...)``
  calls would draw them (each docstring says the order), so a test can feed the
  kernels the very numbers scikit-learn used and compare the weights step for step.

Sums skip the zero units (data and samples are mostly zeros) and are written as
row updates (``acc[:] += v[i] * W[i, :]``), so they vectorise; so do the sigmoid
(an exp written out, below) and the counter-based random numbers.
Parallel loops run over independent outputs, each summed in a fixed order by
one thread: samples (chains) for probabilities and sampling; in training, runs
of hidden units for the hidden sums and the weight update, and parts of the
hidden units or runs of visible units for the visible sums (``_train``).
"""
import math

import numpy as np
from numba import njit, prange, types
from numba.extending import overload

from ._parallel import adapt_choice, adapt_next, adapt_record, chunk as _chunk, prange_only
from .activations import logistic32_inplace
from .rng import uniform
from .simd import cycles

_PART_BYTES = 1024  # of a row of W: the hidden units of a part of training's visible sums

# exp by range reduction: exp(x) = 2**k * exp(r) with |r| <= ln(2) / 2, exp(r) by
# its Taylor polynomial of degree 13 (truncation error < 1e-17), 2**k built from
# its bits. Plain loops over arrays, so LLVM vectorises them (a call to libm's exp
# does not vectorise). Within 3e-16 (relative) of scipy's expit.
_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_EXP_CLAMP = 700.0  # keeps 2**k a normal float; sigmoid(-700) < 1e-304


@njit(cache=True, inline="always")
def _sigmoid_inplace(a, n, bits):
    """a[:n] = 1 / (1 + exp(-a[:n])) for a float64 array, vectorised.

    ``bits`` is int64 scratch of length >= n. Finite for any finite input.
    """
    for j in range(n):
        x = min(max(-a[j], -_EXP_CLAMP), _EXP_CLAMP)
        kf = math.floor(x * _LOG2E + 0.5)
        r = (x - kf * _LN2_HI) - kf * _LN2_LO
        p = 1.0 / 6227020800.0
        p = p * r + 1.0 / 479001600.0
        p = p * r + 1.0 / 39916800.0
        p = p * r + 1.0 / 3628800.0
        p = p * r + 1.0 / 362880.0
        p = p * r + 1.0 / 40320.0
        p = p * r + 1.0 / 5040.0
        p = p * r + 1.0 / 720.0
        p = p * r + 1.0 / 120.0
        p = p * r + 1.0 / 24.0
        p = p * r + 1.0 / 6.0
        p = p * r + 0.5
        p = p * r + 1.0
        p = p * r + 1.0
        a[j] = p
        bits[j] = (int(kf) + 1023) << 52
    scale = bits[:n].view(np.float64)
    for j in range(n):
        a[j] = 1.0 / (1.0 + a[j] * scale[j])


def _sigmoid32(a, n, bits):   # float32 models: the vectorised float32 logistic
    bits32 = bits.view(np.int32)
    logistic32_inplace(a, n, bits32, bits32.view(np.float32))


def _sigmoid64(a, n, bits):
    _sigmoid_inplace(a, n, bits)


def _sigmoid(a, n, bits):
    """The logistic function in place, in the precision of ``a`` (compiled, picked
    when the kernel compiles)."""
    (_sigmoid32 if a.dtype == np.float32 else _sigmoid64)(a, n, bits)


@overload(_sigmoid, inline="always")
def _sigmoid_overload(a, n, bits):
    return _sigmoid32 if a.dtype == types.float32 else _sigmoid64


@njit(cache=True, inline="always")
def _fill_uniforms(uniforms, position, seed, stream, counter, out, n):
    """out[:n]: the replayed ``uniforms[position:position + n]`` when ``uniforms``
    is not empty, else ``rng.uniform(seed, stream, counter + j)`` (vectorised)."""
    if uniforms.shape[0] > 0:
        for j in range(n):
            out[j] = uniforms[position + j]
    else:
        for j in range(n):
            out[j] = uniform(seed, stream, counter + j)


@njit(cache=True, inline="always")
def _sample(p, u, n, out, active):
    """out[j] = 1 if u[j] < p[j] else 0; the indices of the ones go to ``active``.

    Returns their number. Branch-free: the outcomes are coin flips.
    """
    count = 0
    for j in range(n):
        on = u[j] < p[j]
        out[j] = 1.0 if on else 0.0
        active[count] = j
        count += 1 if on else 0
    return count


@njit(cache=True, inline="always")
def _nonzeros(v, active):
    """The indices of the non-zero entries of ``v`` go to ``active``; returns their number."""
    count = 0
    for i in range(v.shape[0]):
        active[count] = i
        count += 1 if v[i] != 0.0 else 0
    return count


@njit(cache=True, inline="always")
def softplus(x):
    """log(1 + exp(x)) (``np.logaddexp(0, x)``), finite for any finite x."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


@njit(cache=True, inline="always")
def _add_rows_range(coef, rows, count, matrix, acc, j0, j1):
    """acc[j0:j1] += sum_q coef[rows[q]] * matrix[rows[q], j0:j1] over the listed
    rows, in order.

    Four rows a pass, ``(c0 m0 + c1 m1) + (c2 m2 + c3 m3)`` added to ``acc``: acc is
    loaded and stored once for four rows, and the inner loop vectorises. An
    entry's sum does not depend on the range it is summed in. ``j0`` is clamped
    at 0 and the loops count from 0: that lets LLVM drop numba's negative-index
    test and vectorise them (as ``dense._nonneg``; ``range(j0, j1)`` does not
    vectorise).
    """
    j0 = max(j0, 0)
    n = j1 - j0
    q = 0
    while q + 4 <= count:
        k0, k1, k2, k3 = rows[q], rows[q + 1], rows[q + 2], rows[q + 3]
        c0, c1, c2, c3 = coef[k0], coef[k1], coef[k2], coef[k3]
        for jj in range(n):
            j = j0 + jj
            acc[j] += (c0 * matrix[k0, j] + c1 * matrix[k1, j]) + (c2 * matrix[k2, j] + c3 * matrix[k3, j])
        q += 4
    while q < count:
        k = rows[q]
        c = coef[k]
        for jj in range(n):
            j = j0 + jj
            acc[j] += c * matrix[k, j]
        q += 1


@njit(cache=True, inline="always")
def _pre_range(coef, rows, count, matrix, start, acc, j0, j1):
    """acc[j0:j1] = start[j0:j1] + the listed rows' sum (``_add_rows_range``): a
    layer's pre-activations over a range of its units."""
    j0 = max(j0, 0)
    for jj in range(j1 - j0):
        acc[j0 + jj] = start[j0 + jj]
    _add_rows_range(coef, rows, count, matrix, acc, j0, j1)


@njit(cache=True, inline="always")
def _hidden_pre(v, active, count, weights, hidden_bias, acc):
    """acc[:n_hidden] = hidden_bias + v @ weights, over the listed non-zero visibles.

    ``weights`` may have more columns than ``hidden_bias`` (rows padded, see ``_train``).
    """
    _pre_range(v, active, count, weights, hidden_bias, acc, 0, hidden_bias.shape[0])


@njit(cache=True, inline="always")
def _visible_pre(h, active, count, weights_t, visible_bias, acc):
    """acc[:n_visible] = visible_bias + h @ weights_t.T, over the listed non-zero hiddens.

    ``weights_t`` is ``W.T``, C-contiguous (n_hidden, n_visible or more: rows may be
    padded, see ``_train``): rows are added whole.
    """
    _pre_range(h, active, count, weights_t, visible_bias, acc, 0, visible_bias.shape[0])


# --------------------------------------------------------------------------
# probabilities and sampling


# Scratch of the row kernels: a row a run (a thread), not a sample, each _PAD
# units longer than it needs, so that two runs' rows never share a cache line.
_PAD = 16


@njit(cache=True, inline="always")
def _runs(n_samples, threads):
    """The runs a row kernel splits its rows into: ``threads`` (at most one a
    row) on numba's threads, or one on the calling thread."""
    return min(n_samples, threads) if threads > 1 else 1


@njit(cache=True)
def _hidden_probabilities_rows(v, weights, hidden_bias, out, acc, active, n0, n1):
    n_hidden = weights.shape[1]
    for n in range(n0, n1):
        count = _nonzeros(v[n], active)
        _hidden_pre(v[n], active, count, weights, hidden_bias, acc)
        _sigmoid(acc, n_hidden, active)
        for j in range(n_hidden):
            out[n, j] = acc[j]


def _hidden_probabilities(v, weights, hidden_bias, out, threads):
    """P(h=1|v) = sigmoid(v @ W + c) for every sample, into ``out``.

    Parameters
    ----------
    v : ndarray of shape (n_samples, n_visible)
    weights : ndarray of shape (n_visible, n_hidden)
    hidden_bias : ndarray of shape (n_hidden,)
    out : ndarray of shape (n_samples, n_hidden)
        Out: the probabilities.
    threads : int
        As ``train``'s: the rows split over that many of numba's threads, or
        (1) all on the calling thread.

    Returns
    -------
    None
    """
    n_samples, n_visible = v.shape
    n_hidden = weights.shape[1]
    runs = _runs(n_samples, threads)
    acc = np.empty((runs, n_hidden + _PAD), dtype=weights.dtype)
    active = np.empty((runs, max(n_visible, n_hidden) + _PAD), dtype=np.int64)
    if threads > 1:
        for c in prange(runs):
            n0, n1 = _chunk(c, runs, n_samples)
            _hidden_probabilities_rows(v, weights, hidden_bias, out, acc[c], active[c], n0, n1)
    else:
        n0, n1 = _chunk(0, 1, n_samples)
        _hidden_probabilities_rows(v, weights, hidden_bias, out, acc[0], active[0], n0, n1)


@njit(cache=True)
def _visible_probabilities_rows(h, weights_t, visible_bias, out, acc, active, n0, n1):
    n_visible = weights_t.shape[1]
    for n in range(n0, n1):
        count = _nonzeros(h[n], active)
        _visible_pre(h[n], active, count, weights_t, visible_bias, acc)
        _sigmoid(acc, n_visible, active)
        for i in range(n_visible):
            out[n, i] = acc[i]


def _visible_probabilities(h, weights, visible_bias, out, threads):
    """P(v=1|h) = sigmoid(h @ W.T + b) for every sample, into ``out``.

    Parameters
    ----------
    h : ndarray of shape (n_samples, n_hidden)
    weights : ndarray of shape (n_visible, n_hidden)
    visible_bias : ndarray of shape (n_visible,)
    out : ndarray of shape (n_samples, n_visible)
        Out: the probabilities.
    threads : int
        As ``train``'s: the rows split over that many of numba's threads, or
        (1) all on the calling thread.

    Returns
    -------
    None
    """
    n_samples = h.shape[0]
    n_visible, n_hidden = weights.shape
    weights_t = np.ascontiguousarray(weights.T)
    runs = _runs(n_samples, threads)
    acc = np.empty((runs, n_visible + _PAD), dtype=weights.dtype)
    active = np.empty((runs, max(n_visible, n_hidden) + _PAD), dtype=np.int64)
    if threads > 1:
        for c in prange(runs):
            n0, n1 = _chunk(c, runs, n_samples)
            _visible_probabilities_rows(h, weights_t, visible_bias, out, acc[c], active[c], n0, n1)
    else:
        n0, n1 = _chunk(0, 1, n_samples)
        _visible_probabilities_rows(h, weights_t, visible_bias, out, acc[0], active[0], n0, n1)


@njit(cache=True)
def _sample_hiddens_rows(v, weights, hidden_bias, seed, step, uniforms, out, acc, u, active, n0,
                         n1):
    n_hidden = weights.shape[1]
    for n in range(n0, n1):
        count = _nonzeros(v[n], active)
        _hidden_pre(v[n], active, count, weights, hidden_bias, acc)
        _sigmoid(acc, n_hidden, active)
        _fill_uniforms(uniforms, n * n_hidden, seed, n, step * n_hidden, u, n_hidden)
        _sample(acc, u, n_hidden, out[n], active)


def _sample_hiddens(v, weights, hidden_bias, seed, step, uniforms, out, threads):
    """Sample h ~ P(h|v): ``out[n, j] = 1`` if ``u < P(h_j=1|v_n)``, else 0.

    ``u`` is ``rng.uniform(seed, n, step * n_hidden + j)``, or in replay mode
    ``uniforms[n * n_hidden + j]`` (scikit-learn's ``uniform(size=(n_samples, n_hidden))``).

    ``threads``: as ``train``'s, the rows split over that many of numba's
    threads, or (1) all on the calling thread.

    Returns
    -------
    None
    """
    n_samples, n_visible = v.shape
    n_hidden = weights.shape[1]
    runs = _runs(n_samples, threads)
    acc = np.empty((runs, n_hidden + _PAD), dtype=weights.dtype)
    u = np.empty((runs, n_hidden + _PAD))
    active = np.empty((runs, max(n_visible, n_hidden) + _PAD), dtype=np.int64)
    if threads > 1:
        for c in prange(runs):
            n0, n1 = _chunk(c, runs, n_samples)
            _sample_hiddens_rows(v, weights, hidden_bias, seed, step, uniforms, out, acc[c], u[c],
                                 active[c], n0, n1)
    else:
        n0, n1 = _chunk(0, 1, n_samples)
        _sample_hiddens_rows(v, weights, hidden_bias, seed, step, uniforms, out, acc[0], u[0],
                             active[0], n0, n1)


@njit(cache=True)
def _sample_visibles_rows(h, weights_t, visible_bias, seed, step, uniforms, out, acc, u, active, n0,
                          n1):
    n_visible = weights_t.shape[1]
    for n in range(n0, n1):
        count = _nonzeros(h[n], active)
        _visible_pre(h[n], active, count, weights_t, visible_bias, acc)
        _sigmoid(acc, n_visible, active)
        _fill_uniforms(uniforms, n * n_visible, seed, n, step * n_visible, u, n_visible)
        _sample(acc, u, n_visible, out[n], active)


def _sample_visibles(h, weights, visible_bias, seed, step, uniforms, out, threads):
    """Sample v ~ P(v|h): ``out[n, i] = 1`` if ``u < P(v_i=1|h_n)``, else 0.

    ``u`` is ``rng.uniform(seed, n, step * n_visible + i)``, or in replay mode
    ``uniforms[n * n_visible + i]``.

    ``threads``: as ``train``'s, the rows split over that many of numba's
    threads, or (1) all on the calling thread.

    Returns
    -------
    None
    """
    n_samples = h.shape[0]
    n_visible, n_hidden = weights.shape
    weights_t = np.ascontiguousarray(weights.T)
    runs = _runs(n_samples, threads)
    acc = np.empty((runs, n_visible + _PAD), dtype=weights.dtype)
    u = np.empty((runs, n_visible + _PAD))
    active = np.empty((runs, max(n_visible, n_hidden) + _PAD), dtype=np.int64)
    if threads > 1:
        for c in prange(runs):
            n0, n1 = _chunk(c, runs, n_samples)
            _sample_visibles_rows(h, weights_t, visible_bias, seed, step, uniforms, out, acc[c],
                                  u[c], active[c], n0, n1)
    else:
        n0, n1 = _chunk(0, 1, n_samples)
        _sample_visibles_rows(h, weights_t, visible_bias, seed, step, uniforms, out, acc[0], u[0],
                              active[0], n0, n1)


@njit(cache=True)
def _gibbs_rows(v, weights, weights_t, visible_bias, hidden_bias, seed, step, row0, uniforms,
                h_out, v_out, acc, u, active, n0, n1):
    n_samples, n_visible = v.shape
    n_hidden = weights.shape[1]
    units = n_hidden + n_visible
    for n in range(n0, n1):
        a = acc
        count = _nonzeros(v[n], active)
        _hidden_pre(v[n], active, count, weights, hidden_bias, a)
        _sigmoid(a, n_hidden, active)
        _fill_uniforms(uniforms, n * n_hidden, seed, row0 + n, step * units, u, n_hidden)
        count = _sample(a, u, n_hidden, h_out[n], active)
        _visible_pre(h_out[n], active, count, weights_t, visible_bias, a)
        _sigmoid(a, n_visible, active)
        _fill_uniforms(uniforms, n_samples * n_hidden + n * n_visible, seed, row0 + n,
                       step * units + n_hidden, u, n_visible)
        _sample(a, u, n_visible, v_out[n], active)


def _gibbs(v, weights, visible_bias, hidden_bias, seed, step, row0, uniforms, h_out, v_out,
           threads):
    """One Gibbs step from ``v``: h ~ P(h|v), then v' ~ P(v|h).

    Counter-based numbers: chain ``n`` (sample ``row0 + n`` of a run of rows
    that starts at ``row0``) uses counters from ``step * (n_hidden + n_visible)``
    on, the hiddens' first, so a run of rows draws what those rows draw in one
    call over all of them. Replay mode: ``n_samples * n_hidden``
    numbers for the hiddens, then ``n_samples * n_visible`` for the visibles
    (scikit-learn's ``BernoulliRBM.gibbs``).

    Parameters
    ----------
    v : ndarray of shape (n_samples, n_visible)
    weights, visible_bias, hidden_bias : the RBM's parameters
    seed, step : int
    row0 : int
        The row ``v``'s first row is in the whole input (its random stream).
    uniforms : ndarray of float64, empty or of size n_samples * (n_hidden + n_visible)
    h_out : ndarray of shape (n_samples, n_hidden)
        Out: the hidden sample (0/1).
    v_out : ndarray of shape (n_samples, n_visible)
        Out: the new visible sample (0/1).
    threads : int
        As ``train``'s: the rows split over that many of numba's threads, or
        (1) all on the calling thread.

    Returns
    -------
    None
    """
    n_samples, n_visible = v.shape
    n_hidden = weights.shape[1]
    width = max(n_hidden, n_visible)
    runs = _runs(n_samples, threads)
    acc = np.empty((runs, width + _PAD), dtype=weights.dtype)
    u = np.empty((runs, width + _PAD))
    active = np.empty((runs, width + _PAD), dtype=np.int64)
    weights_t = np.ascontiguousarray(weights.T)
    if threads > 1:
        for c in prange(runs):
            n0, n1 = _chunk(c, runs, n_samples)
            _gibbs_rows(v, weights, weights_t, visible_bias, hidden_bias, seed, step, row0,
                        uniforms, h_out, v_out, acc[c], u[c], active[c], n0, n1)
    else:
        n0, n1 = _chunk(0, 1, n_samples)
        _gibbs_rows(v, weights, weights_t, visible_bias, hidden_bias, seed, step, row0, uniforms,
                    h_out, v_out, acc[0], u[0], active[0], n0, n1)


# --------------------------------------------------------------------------
# training


@njit(cache=True, inline="always")
def _aligned(n_rows, n_cols, like):
    """An uninitialised (n_rows, n_cols) C-contiguous array of ``like``'s dtype whose
    data starts on a 64-byte boundary (a cache line)."""
    item = like.itemsize
    buf = np.empty(n_rows * n_cols + 64 // item, dtype=like.dtype)
    off = (-buf.ctypes.data % 64) // item
    return buf[off:off + n_rows * n_cols].reshape((n_rows, n_cols))


@njit(cache=True, inline="always")
def _part_units(itemsize):
    """Hidden units a part (``_PART_BYTES`` of a row of W, a multiple of 16)."""
    return max(16, _PART_BYTES // itemsize)


@njit(cache=True, inline="always")
def _unit_chunk(c, chunks, n):
    """Run ``c`` of ``chunks`` runs of ``range(n)`` in whole blocks of 16 units
    (a cache line of float32, two of float64): ``(start, stop)``."""
    b0, b1 = _chunk(c, chunks, (n + 15) // 16)
    return min(16 * b0, n), min(16 * b1, n)


@njit(cache=True, inline="always")
def _sums_run(c, runs, by_parts, n_parts, n_visible):
    """Run ``c`` of ``runs`` of the visible sums: ``(p0, p1, i0, i1)``, parts
    ``p0 <= p < p1`` of the hidden units and visible units ``i0 <= i < i1``;
    a run of parts with every visible unit, or the reverse."""
    if by_parts:
        p0, p1 = _chunk(c, runs, n_parts)
        i0, i1 = _unit_chunk(0, 1, n_visible)
    else:
        p0, p1 = _chunk(0, 1, n_parts)
        i0, i1 = _unit_chunk(c, runs, n_visible)
    return p0, p1, i0, i1


@njit(cache=True, inline="always")
def _draw(p, u, n, out):
    """out[j] = 1 if u[j] < p[j] else 0, for j < n (``_sample`` without the list)."""
    for j in range(n):
        out[j] = 1.0 if u[j] < p[j] else 0.0


@njit(cache=True)
def _hidden_up(X, start, m, n_chains, w, hidden_bias, h_state, hh, active, counts, u, bits,
               persistent, seed, base, uniforms, position, j0, j1):
    """Hidden units ``j0 <= j < j1`` of the positive phase: h_pos = P(h=1|v_pos)
    for every data row (its non-zero visibles listed in ``active``), and for CD
    the chains' first hidden sample."""
    n_hidden = hidden_bias.shape[0]
    j0 = max(j0, 0)
    n = j1 - j0
    for r in range(m):
        acc = hh[r]
        _pre_range(X[start + r], active[r], counts[r], w, hidden_bias, acc, j0, j1)
        _sigmoid(acc[j0:j1], n, bits)
    if not persistent:
        for r in range(n_chains):
            _fill_uniforms(uniforms, position + r * n_hidden + j0, seed, r, base + j0, u, n)
            _draw(hh[r][j0:j1], u, n, h_state[r][j0:j1])


@njit(cache=True)
def _visible_partials(h_chains, active, parts_at, weights_t, visible_bias, zeros, partials, pre,
                      n_chains, n_parts, rows_max, p0, p1, i0, i1):
    """Visible units ``i0 <= i < i1``, hidden parts ``p0 <= p < p1``: the sums of
    h @ W.T over the chain's active hiddens in part ``p`` (``active[r,
    parts_at[r, p]:parts_at[r, p + 1]]``), part 0's from the visible bias, the
    others' from ``zeros``; into ``pre`` where there is one part, else
    ``partials[p * rows_max + r]``."""
    for r in range(n_chains):
        for p in range(p0, p1):
            out = pre[r] if n_parts == 1 else partials[p * rows_max + r]
            q0 = parts_at[r, p]
            _pre_range(h_chains[r], active[r][q0:], parts_at[r, p + 1] - q0, weights_t,
                       visible_bias if p == 0 else zeros, out, i0, i1)


@njit(cache=True)
def _visible_down(partials, pre, v_neg, u, bits, n_chains, n_parts, rows_max, seed, base, offset,
                  uniforms, position, i0, i1):
    """Visible units ``i0 <= i < i1`` of the negative phase: the parts' sums added
    in order, P(v=1|h), and the sample ``v_neg``."""
    n_visible = v_neg.shape[1]
    i0 = max(i0, 0)
    n = i1 - i0
    for r in range(n_chains):
        acc = pre[r]
        if n_parts > 1:
            for ii in range(n):
                acc[i0 + ii] = partials[r, i0 + ii]
            for p in range(1, n_parts):
                part = partials[p * rows_max + r]
                for ii in range(n):
                    acc[i0 + ii] += part[i0 + ii]
        _sigmoid(acc[i0:i1], n, bits)
        _fill_uniforms(uniforms, position + n_chains * offset + r * n_visible + i0, seed, r,
                       base + offset + i0, u, n)
        _draw(acc[i0:i1], u, n, v_neg[r][i0:i1])


@njit(cache=True)
def _update_range(X, start, m, n_chains, w, weights_t, visible_bias, hidden_bias, v_neg, hh, grad,
                  rows, coef, sums_pos, sums_neg, rows_max, lr, lr_w, j0, j1):
    """The updates of hidden units ``j0 <= j < j1``: their biases, their columns
    of ``W`` and rows of ``W.T`` (each entry summed over the minibatch's rows in
    order), and (by the run from unit 0) the visible biases."""
    n_visible = X.shape[1]
    j0 = max(j0, 0)
    n = j1 - j0
    # hidden biases: each sum over the rows in order
    for jj in range(n):
        sums_pos[j0 + jj] = 0.0
        sums_neg[j0 + jj] = 0.0
    for r in range(m):
        for jj in range(n):
            sums_pos[j0 + jj] += hh[r, j0 + jj]
    for r in range(n_chains):
        for jj in range(n):
            sums_neg[j0 + jj] += hh[rows_max + r, j0 + jj]
    for jj in range(n):
        hidden_bias[j0 + jj] += lr * (sums_pos[j0 + jj] - sums_neg[j0 + jj])
    for i in range(n_visible):
        # the non-zero terms of column i: +v_pos[r, i] * h_pos[r], -v_neg[r, i] * h_neg[r]
        # (coef is indexed by the row of hh: h_pos rows, then h_neg rows)
        count = 0
        sum_pos = 0.0
        for r in range(m):
            a = X[start + r, i]
            sum_pos += a
            rows[count] = r
            coef[r] = a
            count += 1 if a != 0.0 else 0
        sum_neg = 0.0
        for r in range(n_chains):
            a = v_neg[r, i]
            sum_neg += a
            rows[count] = rows_max + r
            coef[rows_max + r] = -a
            count += 1 if a != 0.0 else 0
        if count == 0:
            continue   # no term: W's entries, W.T's and the bias stay as they are
        for jj in range(n):
            grad[j0 + jj] = 0.0
        _add_rows_range(coef, rows, count, hh, grad, j0, j1)
        # W.T kept in step: a strided update of column i, the same sum as
        # W's (equal entries); before W's row, which it would otherwise
        # read back just after the vector stores (slower)
        for jj in range(n):
            weights_t[j0 + jj, i] += lr_w * grad[j0 + jj]
        for jj in range(n):
            w[i, j0 + jj] += lr_w * grad[j0 + jj]
        if j0 == 0:
            visible_bias[i] += lr * (sum_pos - sum_neg)


@njit(cache=True)
def _hidden_down(n_chains, w, hidden_bias, h_chains, v_neg, hh, active, counts, u, bits, rows_max,
                 draw, seed, base, offset, uniforms, position, j0, j1):
    """Hidden units ``j0 <= j < j1`` of the negative phase: h_neg = P(h=1|v_neg),
    and the chains' next hidden sample where ``draw``."""
    n_hidden = hidden_bias.shape[0]
    j0 = max(j0, 0)
    n = j1 - j0
    for r in range(n_chains):
        acc = hh[rows_max + r]
        _pre_range(v_neg[r], active[r], counts[r], w, hidden_bias, acc, j0, j1)
        _sigmoid(acc[j0:j1], n, bits)
        if draw:
            _fill_uniforms(uniforms, position + n_chains * offset + r * n_hidden + j0, seed, r,
                           base + offset + j0, u, n)
            _draw(acc[j0:j1], u, n, h_chains[r][j0:j1])


@njit(cache=True, inline="always")
def _list_chains(h_chains, active, counts, parts_at, n_chains, n_parts, part):
    """The chains' active hiddens, and where each part's start in the lists."""
    for r in range(n_chains):
        count = _nonzeros(h_chains[r], active[r])
        counts[r] = count
        q = 0
        for p in range(n_parts):
            while q < count and active[r, q] < p * part:
                q += 1
            parts_at[r, p] = q
        parts_at[r, n_parts] = count


def _train(X, weights, visible_bias, hidden_bias, chain, learning_rate, batch_size,
           n_epochs, k, persistent, seed, step, uniforms, position, threads):
    """Train by persistent (PCD) or plain contrastive divergence (CD-k), in place.

    The minibatches are consecutive slices of ``batch_size`` rows of ``X`` (the
    last one shorter), as scikit-learn's ``gen_even_slices`` forms them. For one
    minibatch ``v_pos`` of ``m`` rows, with ``lr = learning_rate / m``::

        h_pos = P(h=1|v_pos)                           (mean field)
        PCD: the chains start from the persistent hidden samples ``chain``
        CD:  one chain a row, starting from a sample of h_pos
        k times: v_neg ~ P(v|h); h_neg = P(h=1|v_neg); h ~ h_neg but the last time
        W += lr * (v_pos.T @ h_pos - v_neg.T @ h_neg)
        c += lr * (sum(h_pos) - sum(h_neg))
        b += lr * (sum(v_pos) - sum(v_neg))
        PCD: chain = a sample of h_neg

    With ``k = 1`` and ``persistent`` this is scikit-learn's ``BernoulliRBM._fit``.
    Threads. A minibatch runs in steps, each a parallel loop over independent
    outputs: a run of hidden units a thread for h_pos (and CD's first sample),
    for h_neg and the chains' next sample, and for the updates of those units
    (their columns of ``W``, rows of ``W.T`` and biases); a part of the hidden
    units, or a run of visible units, a thread for the visible sums; a run of
    visible units for v_neg. A thread so reads and writes the same half of
    ``W`` and ``W.T`` at every step, which stays in its core's cache: split by
    rows (a data row and its chain a thread) every thread read all of both,
    and the update's writes moved them between the cores each minibatch (the
    784-wide binary pass on 2 threads: 0.86 -> 0.56 s; one thread 0.99 ->
    0.69 s). The visible sums are added up a part of the hidden units at a
    time (``_PART_BYTES`` of a row of ``W``: 128 float64 units, 256 float32),
    the parts' sums then added in order, so each sum is the same on any
    thread count; with one part (at most 128 or 256 hidden units) it is the
    sum over all of them, as before.

    Layout: the kernel works on copies of ``W`` and ``W.T`` (the one the visible
    probabilities read) and on scratch rows that all start on a cache line, their
    lengths rounded up to 16 units: a 100-unit float32 row (400 bytes) would start
    three times out of four in the middle of a line, and a vector load across a
    line boundary costs two (the nudged digits, 100 hidden units, trained 10%
    faster so). The arithmetic is unchanged, so are the bits; ``weights`` gets the
    copy back at the end.

    Random numbers for minibatch ``t`` (counted from ``step``), chain ``r`` of
    ``R``: counter-based, ``rng.uniform(seed, r, t * k * (n_visible + n_hidden) +
    offset)``; replay, blocks of ``R * n_units`` numbers in the order they are used,
    each in (chain, unit) order: PCD ``v, (h, v) * (k - 1), h``, which for ``k = 1``
    is scikit-learn's visible draw then its hidden draw; CD ``h, v, (h, v) * (k - 1)``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_visible), values in [0, 1]
    weights : ndarray of shape (n_visible, n_hidden)
        Updated in place.
    visible_bias : ndarray of shape (n_visible,)
        Updated in place.
    hidden_bias : ndarray of shape (n_hidden,)
        Updated in place.
    chain : ndarray of shape (n_chains, n_hidden)
        PCD: the persistent hidden samples, updated in place. CD: not used.
    learning_rate : float
    batch_size : int
    n_epochs : int
        Passes over ``X``.
    k : int
        Gibbs steps a negative phase.
    persistent : bool
    seed : int
    step : int
        Number of the first minibatch (the counter of the random numbers).
    uniforms : ndarray of float64
        Empty, or the numbers to replay.
    position : int
        Where the replay starts in ``uniforms``.
    threads : int
        Split the loops over units and parts into that many contiguous runs,
        one a thread of numba's (the parallel twin; the serial one runs them in
        turn), or (1) run them all on the calling thread: the models run the
        cached parallel twin either way, so that a new process does not compile
        the serial one. The models pass numba's thread count where the work
        pays for the threads (``_threads.threads_for``); the kernel then runs a
        minibatch's loops on the calling thread where its timings say that is
        faster (a shared core: ``_parallel.ADAPT_FIRST_GAP``). The same bits for
        any value, and either way.

    Returns
    -------
    int
        ``position`` plus the numbers the minibatches used (counted also when
        not replaying).
    """
    n_samples, n_visible = X.shape
    n_hidden = weights.shape[1]
    n_batches = (n_samples + batch_size - 1) // batch_size
    stride = (n_hidden + 15) // 16 * 16  # padded row length of W and of the hidden scratch
    rows_max = max(batch_size, chain.shape[0])
    width = max(n_visible, n_hidden)
    units = k * (n_visible + n_hidden)
    # W.T, its rows padded by one cache line: the update writes a column of it (one
    # value a row), and rows a power of two bytes long would all fall in a few
    # cache sets and evict each other
    weights_t = _aligned(n_hidden, (n_visible + 15) // 16 * 16 + 64 // weights.itemsize, weights)
    weights_t[:] = 0.0
    for j in range(n_hidden):
        for i in range(n_visible):
            weights_t[j, i] = weights[i, j]
    dtype = weights.dtype  # float32 models compute in float32, as scikit-learn does
    T = dtype.type
    # rows [0, rows_max): h_pos of the data rows; [rows_max, 2 rows_max): h_neg of the chains
    hh = _aligned(2 * rows_max, stride, weights)
    # W, its rows padded to ``stride`` units (zeros)
    w = _aligned(n_visible, stride, weights)
    for i in range(n_visible):
        for j in range(n_hidden):
            w[i, j] = weights[i, j]
        for j in range(n_hidden, stride):
            w[i, j] = 0.0
    part = _part_units(weights.itemsize)
    n_parts = (n_hidden + part - 1) // part
    visible_row = (n_visible + 15) // 16 * 16
    pre = _aligned(rows_max, visible_row, weights)
    partials = _aligned(n_parts * rows_max if n_parts > 1 else 1, visible_row, weights)
    zeros = np.zeros_like(visible_bias)   # where the visible sums of parts after the first start
    sums_pos = np.empty(n_hidden)  # float64, as the scalar sums were
    sums_neg = np.empty(n_hidden)
    h_state = np.empty((rows_max, n_hidden), dtype=dtype)
    h_chains = chain if persistent else h_state
    v_neg = np.empty((rows_max, n_visible), dtype=dtype)
    active = np.empty((rows_max, width), dtype=np.int64)
    counts = np.empty(rows_max, dtype=np.int64)
    parts_at = np.empty((rows_max, n_parts + 1), dtype=np.int64)
    # a thread's scratch, each row starting on its own cache line
    runs = max(threads, 1)
    u = _aligned(runs, (width + 15) // 16 * 16, np.empty(0))
    bits = np.empty((runs, (width + 15) // 16 * 16 + _PAD), dtype=np.int64)
    grads = _aligned(runs, stride, weights)
    rows_c = np.empty((runs, 2 * rows_max + _PAD), dtype=np.int64)
    coef_c = _aligned(runs, (2 * rows_max + 15) // 16 * 16, weights)
    # the runs of the parallel loops (a thread each): of hidden units, of visible
    # units, of parts; the serial loops run all of them as one (int64 bounds, as
    # the parallel loops', so that each called kernel compiles once)
    hc = min(runs, (n_hidden + 15) // 16)
    vc = min(runs, (n_visible + 15) // 16)
    by_parts = n_parts >= runs   # the visible sums: a run of parts a thread, or of visible units
    sc = min(runs, n_parts) if by_parts else vc
    # threads a minibatch: all of them, or the calling one where that has been
    # faster (a shared core: _parallel.ADAPT_FIRST_GAP); recent: cycles a row
    choice, recent = adapt_choice()
    for epoch in range(n_epochs):
        for batch in range(n_batches):
            start = batch * batch_size
            m = min(batch_size, n_samples - start)
            n_chains = chain.shape[0] if persistent else m
            lr = learning_rate / m
            lr_w = T(lr)  # the weights' precision, as NumPy's float32 arrays do
            base = (step + epoch * n_batches + batch) * units
            many = False
            probe = False
            t0 = 0
            if threads > 1:
                many, probe = adapt_next(choice)
                t0 = cycles()
            # the positive phase, a run of hidden units a thread
            for r in range(m):
                counts[r] = _nonzeros(X[start + r], active[r])
            if many:
                for c in prange(hc):
                    j0, j1 = _unit_chunk(c, hc, n_hidden)
                    _hidden_up(X, start, m, n_chains, w, hidden_bias, h_state, hh, active, counts,
                               u[c], bits[c], persistent, seed, base, uniforms, position, j0, j1)
            else:
                j0, j1 = _unit_chunk(0, 1, n_hidden)
                _hidden_up(X, start, m, n_chains, w, hidden_bias, h_state, hh, active, counts,
                           u[0], bits[0], persistent, seed, base, uniforms, position, j0, j1)
            # k Gibbs steps: v_neg ~ P(v|h), h_neg = P(h=1|v_neg), h ~ h_neg
            offset = 0 if persistent else n_hidden  # each chain's numbers used so far
            for s in range(k):
                # the visible sums a part of the hiddens at a time: a run of parts a
                # thread where there are enough, else a run of visible units
                _list_chains(h_chains, active, counts, parts_at, n_chains, n_parts, part)
                if many:
                    for c in prange(sc):
                        p0, p1, i0, i1 = _sums_run(c, sc, by_parts, n_parts, n_visible)
                        _visible_partials(h_chains, active, parts_at, weights_t, visible_bias,
                                          zeros, partials, pre, n_chains, n_parts, rows_max, p0,
                                          p1, i0, i1)
                else:
                    p0, p1, i0, i1 = _sums_run(0, 1, by_parts, n_parts, n_visible)
                    _visible_partials(h_chains, active, parts_at, weights_t, visible_bias, zeros,
                                      partials, pre, n_chains, n_parts, rows_max, p0, p1, i0, i1)
                # a run of visible units a thread: v_neg
                if many:
                    for c in prange(vc):
                        i0, i1 = _unit_chunk(c, vc, n_visible)
                        _visible_down(partials, pre, v_neg, u[c], bits[c], n_chains, n_parts,
                                      rows_max, seed, base, offset, uniforms, position, i0, i1)
                else:
                    i0, i1 = _unit_chunk(0, 1, n_visible)
                    _visible_down(partials, pre, v_neg, u[0], bits[0], n_chains, n_parts,
                                  rows_max, seed, base, offset, uniforms, position, i0, i1)
                offset += n_visible
                for r in range(n_chains):
                    counts[r] = _nonzeros(v_neg[r], active[r])
                # a run of hidden units a thread: h_neg, the chains' next sample, and
                # after the last step the updates of those units
                last = s == k - 1
                draw = persistent or not last
                if many:
                    for c in prange(hc):
                        j0, j1 = _unit_chunk(c, hc, n_hidden)
                        _hidden_down(n_chains, w, hidden_bias, h_chains, v_neg, hh, active, counts,
                                     u[c], bits[c], rows_max, draw, seed, base, offset, uniforms,
                                     position, j0, j1)
                        if last:
                            _update_range(X, start, m, n_chains, w, weights_t, visible_bias,
                                          hidden_bias, v_neg, hh, grads[c], rows_c[c], coef_c[c],
                                          sums_pos, sums_neg, rows_max, lr, lr_w, j0, j1)
                else:
                    j0, j1 = _unit_chunk(0, 1, n_hidden)
                    _hidden_down(n_chains, w, hidden_bias, h_chains, v_neg, hh, active, counts,
                                 u[0], bits[0], rows_max, draw, seed, base, offset, uniforms,
                                 position, j0, j1)
                    if last:
                        _update_range(X, start, m, n_chains, w, weights_t, visible_bias,
                                      hidden_bias, v_neg, hh, grads[0], rows_c[0], coef_c[0],
                                      sums_pos, sums_neg, rows_max, lr, lr_w, j0, j1)
                offset += n_hidden
            position += n_chains * units
            if threads > 1:
                adapt_record(choice, recent, many, probe, (cycles() - t0) / max(m, n_chains))
    for i in range(n_visible):
        for j in range(n_hidden):
            weights[i, j] = w[i, j]
    return position


# --------------------------------------------------------------------------
# energies


@njit(cache=True)
def _free_energy_rows(v, weights, visible_bias, hidden_bias, out, acc, active, n0, n1):
    n_visible = v.shape[1]
    n_hidden = weights.shape[1]
    for n in range(n0, n1):
        a = acc
        count = _nonzeros(v[n], active)
        _hidden_pre(v[n], active, count, weights, hidden_bias, a)
        f = 0.0
        for i in range(n_visible):
            f -= v[n, i] * visible_bias[i]
        for j in range(n_hidden):
            f -= softplus(a[j])
        out[n] = f


def _free_energy(v, weights, visible_bias, hidden_bias, out, threads):
    """F(v) = -v . b - sum_j softplus(c_j + v @ W[:, j]) for every sample.

    ``threads``: as ``train``'s, the rows split over that many of numba's
    threads, or (1) all on the calling thread.

    Returns
    -------
    None
    """
    n_samples, n_visible = v.shape
    n_hidden = weights.shape[1]
    runs = _runs(n_samples, threads)
    acc = np.empty((runs, n_hidden + _PAD))
    active = np.empty((runs, n_visible + _PAD), dtype=np.int64)
    if threads > 1:
        for c in prange(runs):
            n0, n1 = _chunk(c, runs, n_samples)
            _free_energy_rows(v, weights, visible_bias, hidden_bias, out, acc[c], active[c], n0, n1)
    else:
        n0, n1 = _chunk(0, 1, n_samples)
        _free_energy_rows(v, weights, visible_bias, hidden_bias, out, acc[0], active[0], n0, n1)


@njit(cache=True)
def _pseudo_likelihood_rows(v, weights, visible_bias, hidden_bias, flip, out, acc, active, n0, n1):
    n_visible = v.shape[1]
    n_hidden = weights.shape[1]
    for n in range(n0, n1):
        a = acc
        count = _nonzeros(v[n], active)
        _hidden_pre(v[n], active, count, weights, hidden_bias, a)
        i = flip[n]
        delta = 1.0 - 2.0 * v[n, i]          # v'_i - v_i
        diff = -delta * visible_bias[i]      # F(v') - F(v)
        for j in range(n_hidden):
            diff -= softplus(a[j] + delta * weights[i, j]) - softplus(a[j])
        out[n] = -n_visible * softplus(-diff)


def _pseudo_likelihood(v, weights, visible_bias, hidden_bias, flip, out, threads):
    """Pseudo-likelihood by one flipped unit a sample, as scikit-learn scores.

    With ``v'`` equal to ``v`` but ``v'_i = 1 - v_i`` for ``i = flip[n]``::

        out[n] = n_visible * log(sigmoid(F(v') - F(v)))

    The difference is computed directly (only unit ``i`` changes), not as the
    difference of two free energies.

    Parameters
    ----------
    v : ndarray of shape (n_samples, n_visible)
    weights, visible_bias, hidden_bias : the RBM's parameters
    flip : ndarray of shape (n_samples,), int64
        The unit flipped in each sample, in [0, n_visible).
    out : ndarray of shape (n_samples,)
    threads : int
        As ``train``'s: the rows split over that many of numba's threads, or
        (1) all on the calling thread.

    Returns
    -------
    None
    """
    n_samples, n_visible = v.shape
    n_hidden = weights.shape[1]
    runs = _runs(n_samples, threads)
    acc = np.empty((runs, n_hidden + _PAD))
    active = np.empty((runs, n_visible + _PAD), dtype=np.int64)
    if threads > 1:
        for c in prange(runs):
            n0, n1 = _chunk(c, runs, n_samples)
            _pseudo_likelihood_rows(v, weights, visible_bias, hidden_bias, flip, out, acc[c],
                                    active[c], n0, n1)
    else:
        n0, n1 = _chunk(0, 1, n_samples)
        _pseudo_likelihood_rows(v, weights, visible_bias, hidden_bias, flip, out, acc[0],
                                active[0], n0, n1)


hidden_probabilities = njit(parallel=prange_only(), cache=True)(_hidden_probabilities)
hidden_probabilities_serial = njit(_hidden_probabilities)   # never cache a twin
visible_probabilities = njit(parallel=prange_only(), cache=True)(_visible_probabilities)
visible_probabilities_serial = njit(_visible_probabilities)
sample_hiddens = njit(parallel=prange_only(), cache=True)(_sample_hiddens)
sample_hiddens_serial = njit(_sample_hiddens)
sample_visibles = njit(parallel=prange_only(), cache=True)(_sample_visibles)
sample_visibles_serial = njit(_sample_visibles)
gibbs = njit(parallel=prange_only(), cache=True)(_gibbs)
gibbs_serial = njit(_gibbs)
train = njit(parallel=prange_only(), cache=True)(_train)
train_serial = njit(_train)
free_energy = njit(parallel=prange_only(), cache=True)(_free_energy)
free_energy_serial = njit(_free_energy)
pseudo_likelihood = njit(parallel=prange_only(), cache=True)(_pseudo_likelihood)
pseudo_likelihood_serial = njit(_pseudo_likelihood)
