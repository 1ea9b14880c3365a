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
Parallel loops run over independent outputs: samples (chains) for probabilities
and sampling, blocks of visible units (rows of ``W``) for the weight update, each
entry summed over the samples in a fixed order by one thread.
"""
import math

import numpy as np
from numba import njit, prange, types
from numba.extending import overload

from ._parallel import adapt_choice, adapt_next, adapt_record, chunk as _chunk, prange_only
from .activations import logistic32_inplace
from .rng import uniform
from .simd import cycles

_BLOCK = 16  # visible units a task of the weight update

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
def _add_rows(coef, rows, count, matrix, acc, n):
    """acc[:n] += sum_q coef[rows[q]] * matrix[rows[q], :n] over the listed rows, in order.

    Four rows a pass, ``(c0 m0 + c1 m1) + (c2 m2 + c3 m3)`` added to ``acc``: acc is
    loaded and stored once for four rows, and the inner loop vectorises.
    """
    q = 0
    while q + 4 <= count:
        k0, k1, k2, k3 = rows[q], rows[q + 1], rows[q + 2], rows[q + 3]
        c0, c1, c2, c3 = coef[k0], coef[k1], coef[k2], coef[k3]
        for j in range(n):
            acc[j] += (c0 * matrix[k0, j] + c1 * matrix[k1, j]) + (c2 * matrix[k2, j] + c3 * matrix[k3, j])
        q += 4
    while q < count:
        k = rows[q]
        c = coef[k]
        for j in range(n):
            acc[j] += c * matrix[k, j]
        q += 1


@njit(cache=True, inline="always")
def _hidden_pre(v, active, count, weights, hidden_bias, acc):
    """acc[:n_hidden] = hidden_bias + v @ weights, over the listed non-zero visibles.

    ``weights`` may have more columns than ``hidden_bias`` (rows padded, see ``_train``).
    """
    n_hidden = hidden_bias.shape[0]
    for j in range(n_hidden):
        acc[j] = hidden_bias[j]
    _add_rows(v, active, count, weights, acc, n_hidden)


@njit(cache=True, inline="always")
def _visible_pre(h, active, count, weights_t, visible_bias, acc):
    """acc[:n_visible] = visible_bias + h @ weights_t.T, over the listed non-zero hiddens.

    ``weights_t`` is ``W.T``, C-contiguous (n_hidden, n_visible or more: rows may be
    padded, see ``_train``): rows are added whole.
    """
    n_visible = visible_bias.shape[0]
    for i in range(n_visible):
        acc[i] = visible_bias[i]
    _add_rows(h, active, count, weights_t, acc, n_visible)


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
def _chain_steps(X, start, m, n_chains, w, weights_t, visible_bias, hidden_bias, chain, h_state,
                 v_neg, hh, pre, active, u, rows_max, k, persistent, seed, base, uniforms, position,
                 r0, r1):
    """The positive phase of data rows ``r0 <= r < r1`` of a minibatch and the
    negative phase of those chains (a run of ``_train``'s loop over rows)."""
    n_visible = X.shape[1]
    n_hidden = hidden_bias.shape[0]
    for r in range(r0, r1):
        acc = pre[r]
        act = active[r]
        ur = u[r]
        if r < m:
            h_pos = hh[r]
            count = _nonzeros(X[start + r], act)
            _hidden_pre(X[start + r], act, count, w, hidden_bias, h_pos)
            _sigmoid(h_pos, n_hidden, act)
        if r < n_chains:
            # the chain's hidden state: PCD reads (and at k > 1 overwrites) the
            # persistent sample in place; it is resampled at the end anyway
            hs = chain[r] if persistent else h_state[r]
            offset = 0  # this chain's numbers used so far in this minibatch
            if persistent:
                count = _nonzeros(hs, act)
            else:
                _fill_uniforms(uniforms, position + r * n_hidden, seed, r, base, ur, n_hidden)
                count = _sample(hh[r], ur, n_hidden, hs, act)
                offset = n_hidden
            for s in range(k):
                if s > 0:
                    _fill_uniforms(uniforms, position + n_chains * offset + r * n_hidden,
                                   seed, r, base + offset, ur, n_hidden)
                    count = _sample(hh[rows_max + r], ur, n_hidden, hs, act)
                    offset += n_hidden
                _visible_pre(hs, act, count, weights_t, visible_bias, acc)
                _sigmoid(acc, n_visible, act)
                _fill_uniforms(uniforms, position + n_chains * offset + r * n_visible,
                               seed, r, base + offset, ur, n_visible)
                count = _sample(acc, ur, n_visible, v_neg[r], act)
                offset += n_visible
                h_neg = hh[rows_max + r]
                _hidden_pre(v_neg[r], act, count, w, hidden_bias, h_neg)
                _sigmoid(h_neg, n_hidden, act)
            if persistent:
                _fill_uniforms(uniforms, position + n_chains * offset + r * n_hidden,
                               seed, r, base + offset, ur, n_hidden)
                _sample(hh[rows_max + r], ur, n_hidden, chain[r], act)


@njit(cache=True, inline="always")
def _block_updates(X, start, m, n_chains, w, weights_t, visible_bias, v_neg, hh, grads, rows_all,
                  coef_all, rows_max, lr, lr_w, b0, b1):
    """For the blocks ``b0 <= blk < b1``: rows ``blk * _BLOCK`` on of ``W`` (and
    their columns of ``W.T``) and their visible biases, each entry summed over
    the minibatch's rows in order (a run of ``_train``'s loop over blocks)."""
    n_visible = X.shape[1]
    n_hidden = weights_t.shape[0]
    for blk in range(b0, b1):
        i0 = blk * _BLOCK
        i1 = min(i0 + _BLOCK, n_visible)
        grad = grads[blk]
        rows = rows_all[blk]
        coef = coef_all[blk]
        for i in range(i0, i1):
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
                continue   # no term: the row of W, its column of W.T and the bias stay as they are
            for j in range(n_hidden):
                grad[j] = 0.0
            _add_rows(coef, rows, count, hh, grad, n_hidden)
            # W.T kept in step: a strided update of column i, the same sum as
            # W's (equal entries); before W's row, which it would otherwise
            # read back just after the vector stores (slower)
            for j in range(n_hidden):
                weights_t[j, i] += lr_w * grad[j]
            for j in range(n_hidden):
                w[i, j] += lr_w * grad[j]
            visible_bias[i] += lr * (sum_pos - sum_neg)


# The runs of the parallel loops, as calls (a run a thread): numba compiles a
# prange body as a function of its own, and compiled the inlined bodies once
# there and once more in the serial loops. The serial loops still inline them
# (as one run): with calls there too, the article's digits RBM, which runs
# serially, trained 4-5% slower (two calls a minibatch of 16 us, and the code
# around them). First compile of ``train`` (float32): 27 -> 20 s. (Under
# NUMBA_DISABLE_JIT a helper is the plain function, without ``py_func``.)
_chain_steps_call = njit(cache=True)(getattr(_chain_steps, "py_func", _chain_steps))
_block_updates_call = njit(cache=True)(getattr(_block_updates, "py_func", _block_updates))


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
    A thread runs the positive phase of a run of data rows ``r`` and of chains
    ``r``; then a thread updates a run of blocks of rows of ``W``, each entry summed
    over the rows in order.

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
        Split the loops over rows and blocks into that many contiguous runs,
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
    sums_pos = np.empty(n_hidden)  # float64, as the scalar sums were
    sums_neg = np.empty(n_hidden)
    h_state = np.empty((rows_max, n_hidden), dtype=dtype)
    v_neg = np.empty((rows_max, n_visible), dtype=dtype)
    pre = _aligned(rows_max, (width + 15) // 16 * 16, weights)
    u = np.empty((rows_max, width))
    active = np.empty((rows_max, width), dtype=np.int64)
    n_blocks = (n_visible + _BLOCK - 1) // _BLOCK
    grads = _aligned(n_blocks, stride, weights)  # scratch of the weight update, a row a block
    rows_all = np.empty((n_blocks, 2 * rows_max), dtype=np.int64)
    coef_all = np.empty((n_blocks, 2 * rows_max), dtype=dtype)
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
            # a run of rows a thread: the positive phase of data row r, negative chain r
            rows = max(m, n_chains)
            if many:
                chunks = min(rows, threads)
                for c in prange(chunks):
                    r0, r1 = _chunk(c, chunks, rows)
                    _chain_steps_call(X, start, m, n_chains, w, weights_t, visible_bias,
                                      hidden_bias, chain, h_state, v_neg, hh, pre, active, u,
                                      rows_max, k, persistent, seed, base, uniforms, position,
                                      r0, r1)
            else:
                r0, r1 = _chunk(0, 1, rows)
                _chain_steps(X, start, m, n_chains, w, weights_t, visible_bias, hidden_bias, chain,
                             h_state, v_neg, hh, pre, active, u, rows_max, k, persistent, seed,
                             base, uniforms, position, r0, r1)
            position += n_chains * units
            # hidden biases (serial: n_hidden sums over a few rows, row by row so
            # the loop over units vectorises; each sum still runs over r in order)
            for j in range(n_hidden):
                sums_pos[j] = 0.0
                sums_neg[j] = 0.0
            for r in range(m):
                for j in range(n_hidden):
                    sums_pos[j] += hh[r, j]
            for r in range(n_chains):
                for j in range(n_hidden):
                    sums_neg[j] += hh[rows_max + r, j]
            for j in range(n_hidden):
                hidden_bias[j] += lr * (sums_pos[j] - sums_neg[j])
            # a run of blocks of visible units a thread: rows of W, visible biases
            if many:
                chunks = min(n_blocks, threads)
                for c in prange(chunks):
                    b0, b1 = _chunk(c, chunks, n_blocks)
                    _block_updates_call(X, start, m, n_chains, w, weights_t, visible_bias, v_neg,
                                        hh, grads, rows_all, coef_all, rows_max, lr, lr_w, b0, b1)
            else:
                b0, b1 = _chunk(0, 1, n_blocks)
                _block_updates(X, start, m, n_chains, w, weights_t, visible_bias, v_neg, hh, grads,
                               rows_all, coef_all, rows_max, lr, lr_w, b0, b1)
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
