"""Dense (fully connected) networks: forward, backward, update, whole epochs.

A network's parameters live in one flat array ``params``. Layer ``l`` maps
``n_in`` inputs to ``n_out`` outputs with weights ``W`` stored row-major at
``params[w_off : w_off + n_in * n_out]`` (``W[i, j]`` joins input ``i`` to
output ``j``, as scikit-learn's ``coefs_``) and, when it has them, biases at
``params[b_off : b_off + n_out]``. The model keeps ``coefs_`` and
``intercepts_`` as views of that array, and one optimiser loop updates it all.

``layout`` is an int64 array with one row per layer::

    n_in, n_out, w_off, b_off (-1: no bias), activation code, a_off

where ``a_off`` is where the layer's outputs start in a sample's activation
buffer (the input layer is not copied there). Deltas use the same offsets.

The epoch loop (sample order, forward, backward, update, loss, stopping)
runs here, in compiled code: a Python loop calling a compiled step per sample
costs microseconds a call, more than the step itself on the article's networks.

Speed notes (each trick is explained where it is used): the per-sample path
indexes flat arrays at clamped offsets instead of creating views
(``_nonneg``), updates a layer with one solver dispatch (``_update_rows``, a
call: see ``_update_range_inline``) and inlines the small helpers; a
minibatch's rows of X are first copied together (``XB``: read in order, row
after row, instead of a slice of each scattered row per block), each sample's
nonzero inputs are listed and their weight rows added four at a time
(``_forward_group``), and each weight matrix is walked in L1-sized blocks of
rows, a block's gradient summed over the batch and updated while in cache
(``_weight_block_gradient``; the first layer's from the lists of nonzero
inputs the forward pass kept, ``_listed_block_gradient``); the hidden deltas
are summed from transposed weights (``_hidden_deltas_t``). Every output keeps
its summation order, so results are the same bits as the plain loops and do
not depend on the thread count; so the parallel twin may run a batch on one
thread where its timings say one is faster (a shared core:
``_parallel.ADAPT_FIRST_GAP``).
At batch size 1 a network trains in ``train_samples``, and one with one
hidden layer (all of the article's) in a loop compiled for its optimiser
(``one_hidden_trainer``), the same bits as the generic one; minibatches in
``train_epochs``. Each is a kernel of its own, so a fit compiles only its path.
``loss_gradient`` gives L-BFGS the full-batch loss and gradient through the
minibatch trainer's loops; ``gradient`` is the plain loop the gradient checks
use. Every trainer takes sample weights (SAMPLE WEIGHTS, below).
"""
import math

import numpy as np
from numba import njit, prange

from ._parallel import adapt_choice, adapt_next, adapt_record, prange_only
from .activations import activate, activate_at, activate_range, derivative
from .losses import output_delta, output_delta_at, sample_loss, sample_loss_at
from .rng import mt_shuffle, permutation, randint
from .simd import (NARROW_VECTORS, RULE_MOMENTUM, RULE_NESTEROV, RULE_PLAIN, RULE_PREVIOUS,
                   cycles, listed_rows_sum, narrow_rows_sum, narrow_rows_update, nonzero_positions)

N_IN, N_OUT, W_OFF, B_OFF, ACT, A_OFF = range(6)

SGD = 0
ADAM = 1
SGD_PREVIOUS_GRADIENT = 2  # part D's rule: w -= lr * g_t + momentum * g_(t-1)

SHUFFLE = 0
SEQUENTIAL = 1
REPLACEMENT = 2
SHUFFLE_RANDOMSTATE = 3   # scikit-learn's MLP's order (the trainers' ``mt``; ``next_order``)

# hyper-parameters, in this order, in a float64 array ``hp``
LR, MOMENTUM, BETA1, BETA2, EPSILON, ALPHA = range(6)

# training state, a float64 array ``state`` the model keeps between calls
(BEST_LOSS, NO_IMPROVE, STEP, STATUS) = range(4)
RUNNING, CONVERGED, DIVERGED = 0, 1, 2


@njit(cache=True, inline="always")
def _nonneg(k):
    """``k`` clamped at 0: offsets from ``layout`` are never negative, and
    saying so lets LLVM drop Numba's negative-index wrap-around test on
    ``params[row + j]`` and vectorise the loop, as it does for a view indexed
    by the loop counter, without creating the view (each view costs two
    reference-count calls into the runtime, which on XOR's 5-unit layers cost
    more than the arithmetic)."""
    return max(k, 0)


@njit(cache=True, inline="always")
def _add_four_rows(acc, k, v0, v1, v2, v3, src, s0, s1, s2, s3, n):
    """``acc[k + j] += v0 src[s0 + j] + ... + v3 src[s3 + j]`` for ``j < n``, the four
    terms added in order (the bits of four single-row passes), with ``acc``
    loaded and stored once for the four instead of once a row. Offsets are
    non-negative (see ``_nonneg``). The kernels' blocked sums (forward passes
    four inputs at a time, gradients four samples at a time) all run through it."""
    k = _nonneg(k)
    s0 = _nonneg(s0)
    s1 = _nonneg(s1)
    s2 = _nonneg(s2)
    s3 = _nonneg(s3)
    for j in range(n):
        acc[k + j] = (((acc[k + j] + v0 * src[s0 + j]) + v1 * src[s1 + j])
                      + v2 * src[s2 + j]) + v3 * src[s3 + j]


@njit(cache=True, inline="always")
def _start_sums(params, b0, a, o, n):
    """a[o:o+n] = the layer's biases ``params[b0:b0+n]``, or 0 without bias (``b0 < 0``)."""
    if b0 >= 0:
        for j in range(n):
            a[o + j] = params[b0 + j]
    else:
        for j in range(n):
            a[o + j] = 0.0


@njit(cache=True, inline="always")
def _forward_layers(params, layout, x, a, l0):
    """Activations of layers ``l0, l0 + 1, ...`` for one sample (those before are in ``a``).

    ``x``: the sample's inputs (1-D); ``a``: its activation buffer, written.
    ``z_j = b_j + sum_i x_i W[i, j]`` then ``a = f(z)``. The loop runs over
    inputs outside and outputs inside, so the inner loop reads one contiguous
    row of ``W``; an input equal to zero is skipped (MNIST is mostly zeros).

    Arrays are indexed at ``offset + loop counter`` with offsets clamped by
    ``_nonneg``: LLVM then knows no index is negative, drops Numba's
    wrap-around test and vectorises the inner loop (2.5x faster than
    ``params[row + j]`` with an unknown ``row``), and no views are created.
    """
    for l in range(l0, layout.shape[0]):
        n_in = layout[l, N_IN]
        n_out = layout[l, N_OUT]
        w0 = _nonneg(layout[l, W_OFF])
        b0 = layout[l, B_OFF]
        o = _nonneg(layout[l, A_OFF])
        p = _nonneg(layout[l - 1, A_OFF]) if l > 0 else 0
        _start_sums(params, b0, a, o, n_out)
        for i in range(n_in):
            v = x[i] if l == 0 else a[p + i]
            if v == 0.0:
                continue
            row = _nonneg(w0 + i * n_out)   # row i of W
            for j in range(n_out):
                a[o + j] += v * params[row + j]
        activate_range(layout[l, ACT], a, o, n_out)   # called: see activations


def _forward_row(params, layout, x, a):
    """Activations of every layer for one sample (``_forward_layers`` from layer 0)."""
    _forward_layers(params, layout, x, a, 0)


forward_row = njit(cache=True)(_forward_row)
# Inlined into ``_sample_step`` only (per-sample training): each call costs a
# few nanoseconds plus, in the callee, an atomic reference-count increment and
# decrement per array argument, more than XOR's arithmetic (the inlined step
# measured 310 ns a sample against 370). Elsewhere the plain twin keeps
# compile times down.
_forward_row_inline = njit(cache=True, inline="always")(_forward_row)


@njit(cache=True, inline="always")
def _back_offsets(layout, l):
    """What backpropagating through layer ``l >= 1`` reads of ``layout``: its sizes,
    the offsets of its weights, of its outputs and of its inputs (the layer
    below's outputs) in the activation buffer, clamped (``_nonneg``), and the
    activation of its inputs."""
    return (layout[l, N_IN], layout[l, N_OUT], _nonneg(layout[l, W_OFF]),
            _nonneg(layout[l, A_OFF]), _nonneg(layout[l - 1, A_OFF]), layout[l - 1, ACT])


def _hidden_deltas_row(params, layout, a, d):
    """Backpropagate the output delta of one sample through the hidden layers.

    ``d`` holds the output layer's delta at its ``a_off``; this fills the
    hidden layers' deltas: ``d_prev[i] = f'(a_prev[i]) * sum_j W[i, j] d[j]``.
    Offsets are clamped as in ``forward_row`` (no views, vectorised).
    """
    for l in range(layout.shape[0] - 1, 0, -1):
        n_in, n_out, w0, o, p, act_prev = _back_offsets(layout, l)
        for i in range(n_in):
            row = _nonneg(w0 + i * n_out)
            s = 0.0
            for j in range(n_out):
                s += params[row + j] * d[o + j]
            d[p + i] = s * derivative(act_prev, a[p + i])


hidden_deltas_row = njit(cache=True)(_hidden_deltas_row)
# Inlined into ``_sample_step`` only (per-sample training): each call costs a
# few nanoseconds plus, in the callee, an atomic reference-count increment and
# decrement per array argument, more than XOR's arithmetic (the inlined step
# measured 310 ns a sample against 370). Elsewhere the plain twin keeps
# compile times down.
_hidden_deltas_row_inline = njit(cache=True, inline="always")(_hidden_deltas_row)


@njit(cache=True, inline="always")
def _previous_gradient_step(params, vel, k, g, lr, mom):
    """Part D's rule on weight ``k`` with gradient ``g``: ``w -= lr * g + mom * g_prev``,
    the previous gradient kept in ``vel``."""
    params[k] -= lr * g + mom * vel[k]
    vel[k] = g


@njit(cache=True)
def _update_range(params, vel, sq, start, count, grad, scale, alpha, solver, nesterov, hp, lr_t):
    """Apply one optimiser step to ``params[start:start+count]``.

    The gradient of entry ``k`` is ``scale * grad[k - start] + alpha * params[k]``.
    SGD with momentum follows scikit-learn::

        v = momentum * v - lr * g;  w += v   (Nesterov: w += momentum * v - lr * g)

    Part D's rule keeps the previous gradient in ``vel``:
    ``w -= lr * g + momentum * g_prev``.
    Adam: ``m = b1 m + (1 - b1) g``, ``s = b2 s + (1 - b2) g**2``,
    ``w -= lr_t * m / (sqrt(s) + eps)`` with the bias-corrected ``lr_t``.
    """
    T = params.dtype.type          # compute in the parameters' own precision
    start = _nonneg(start)
    scale = T(scale)
    alpha = T(alpha)
    lr = T(hp[LR])
    if solver == SGD:
        mom = T(hp[MOMENTUM])
        if mom == 0.0:
            for k in range(count):
                g = scale * grad[k] + alpha * params[start + k]
                params[start + k] -= lr * g
        elif nesterov:
            for k in range(count):
                g = scale * grad[k] + alpha * params[start + k]
                vk = mom * vel[start + k] - lr * g
                vel[start + k] = vk
                params[start + k] += mom * vk - lr * g
        else:
            for k in range(count):
                g = scale * grad[k] + alpha * params[start + k]
                vk = mom * vel[start + k] - lr * g
                vel[start + k] = vk
                params[start + k] += vk
    elif solver == SGD_PREVIOUS_GRADIENT:
        mom = T(hp[MOMENTUM])
        for k in range(count):
            _previous_gradient_step(params, vel, start + k, scale * grad[k] + alpha * params[start + k],
                                    lr, mom)
    else:
        b1 = T(hp[BETA1])
        b2 = T(hp[BETA2])
        eps = T(hp[EPSILON])
        lrt = T(lr_t)
        one = T(1.0)
        for k in range(count):
            g = scale * grad[k] + alpha * params[start + k]
            m = b1 * vel[start + k] + (one - b1) * g
            s2 = b2 * sq[start + k] + (one - b2) * g * g
            vel[start + k] = m
            sq[start + k] = s2
            params[start + k] -= lrt * m / (math.sqrt(s2) + eps)


# ``_update_range`` and ``_update_rows`` are plain calls (compiled once per argument
# types and shared by every trainer that calls them), not numba-level inlined: numba
# inlined the whole body, every solver's loops, at each call site and typed it there,
# and LLVM then dropped all but the trainer's solver. Cold compile of a first fit on
# this change: digits with momentum 44 -> 38 s, a CNN 43 -> 37, two hidden layers
# 28 -> 21; per sample within the host's noise (paired.py: digits 0.994, XOR 1.013,
# digits-sgd 1.000, MNIST batch 1 1.019). Where a call would come once a row, or on
# the one-hidden trainer's biases, the body stays inlined (``_update_range_inline``):
# ``_update_rows``' Adam rows (a call a row: Adam at batch 1 a third slower) and the
# trainer's two bias updates (calls: digits 4% slower a sample in one paired run).
_update_range_inline = njit(cache=True, inline="always")(
    getattr(_update_range, "py_func", _update_range))   # (NUMBA_DISABLE_JIT: the function)


@njit(cache=True, inline="always")
def _gradient(x, d, alpha, w, penalty):
    """A weight's gradient ``x * d + alpha * w``; ``x * d`` without a ``penalty``.

    The step helpers leave the term out when ``alpha == 0``: ``0 * w`` is a
    zero, and adding it changes neither a nonzero ``x * d`` nor, after a plain
    step, a finite weight (a zero's sign included, for ``alpha = +0.0``, which
    the models pass); after a step with momentum the weights get the same bits
    and a velocity the same value (a zero velocity's sign may differ). Both
    are tested. It was a third of a plain row's multiplications: the
    article's digits training 1.80 -> 1.71 us a sample, digits with momentum
    2.67 -> 2.50. ``penalty`` is a constant at each call (``_plain_row``,
    ``_momentum_row``), so each loop is compiled without the test.
    """
    return x * d + alpha * w if penalty else x * d


@njit(cache=True, inline="always")
def _momentum_steps(params, vel, row, n, x, delta, d0, alpha, mom, lr, nesterov, penalty):
    for j in range(n):
        g = _gradient(x, delta[d0 + j], alpha, params[row + j], penalty)
        vk = mom * vel[row + j] - lr * g
        vel[row + j] = vk
        params[row + j] += mom * vk - lr * g if nesterov else vk


@njit(cache=True, inline="always")
def _momentum_row(params, vel, row, n, x, delta, d0, alpha, mom, lr, nesterov):
    """SGD with momentum on ``params[row:row+n]`` (``_update_range``'s rule, Nesterov's
    when ``nesterov``), whose gradient is ``x * delta[d0:d0+n] + alpha * w``
    (without the term when ``alpha == 0``: see ``_gradient``)."""
    if alpha == 0.0:
        _momentum_steps(params, vel, row, n, x, delta, d0, alpha, mom, lr, nesterov, False)
    else:
        _momentum_steps(params, vel, row, n, x, delta, d0, alpha, mom, lr, nesterov, True)


@njit(cache=True, inline="always")
def _plain_steps(params, row, n, x, delta, d0, alpha, lr, penalty):
    for j in range(n):
        params[row + j] -= lr * _gradient(x, delta[d0 + j], alpha, params[row + j], penalty)


@njit(cache=True, inline="always")
def _plain_row(params, row, n, x, delta, d0, alpha, lr):
    """Plain SGD (no momentum) on ``params[row:row+n]``, whose gradient is
    ``x * delta[d0:d0+n] + alpha * w`` (without the term when ``alpha == 0``:
    see ``_gradient``)."""
    if alpha == 0.0:
        _plain_steps(params, row, n, x, delta, d0, alpha, lr, False)
    else:
        _plain_steps(params, row, n, x, delta, d0, alpha, lr, True)


@njit(cache=True, inline="always")
def _update_listed_rows(params, w0, n_out, inp, rows, n_rows, delta, d0, hp):
    """``_update_rows``' plain SGD step with zero inputs skipped, on the rows of
    ``rows[:n_rows]`` only: a sample's listed nonzero inputs, where
    ``_update_rows`` tests every input (digits: 33 of 64 on average)."""
    T = params.dtype.type
    alpha = T(hp[ALPHA])
    lr = T(hp[LR])
    for t in range(n_rows):
        i = rows[t]
        _plain_row(params, _nonneg(w0 + i * n_out), n_out, T(inp[i]), delta, d0, alpha, lr)


@njit(cache=True)
def _update_rows(params, vel, sq, w0, n_in, n_out, inp, i0, delta, d0, skip, alpha, solver, nesterov,
                 hp, lr_t):
    """One optimiser step on a whole weight matrix whose gradient is ``outer(inp, delta)``.

    The inputs are ``inp[i0:i0+n_in]``, the deltas ``delta[d0:d0+n_out]``.
    The same arithmetic as ``_update_range(..., w0 + i * n_out, n_out, delta,
    inp[i], alpha, ...)`` row by row, but the solver is chosen once per layer
    and the matrix is indexed at clamped offsets (``params[row + j]``, see
    ``_nonneg``): no view per row, no wrap-around tests, and LLVM still
    vectorises along ``j``. On small layers (XOR's 5 x 1) the per-row call
    and views were most of the update. Rows with a zero input are skipped
    when ``skip``.
    """
    T = params.dtype.type
    i0 = _nonneg(i0)
    d0 = _nonneg(d0)
    alpha = T(alpha)
    lr = T(hp[LR])
    mom = T(hp[MOMENTUM])
    if solver == SGD and mom == 0.0:
        for i in range(n_in):
            x = T(inp[i0 + i])
            if not (skip and x == 0.0):
                _plain_row(params, _nonneg(w0 + i * n_out), n_out, x, delta, d0, alpha, lr)
    elif solver == SGD:
        # a loop each for the two rules: with the rule chosen in the row, XOR's rows of
        # 5 and 1 ran 10 ns a sample slower (158-168 against 168-174 ns)
        if nesterov:
            for i in range(n_in):
                x = T(inp[i0 + i])
                if not (skip and x == 0.0):
                    _momentum_row(params, vel, _nonneg(w0 + i * n_out), n_out, x, delta, d0,
                                  alpha, mom, lr, True)
        else:
            for i in range(n_in):
                x = T(inp[i0 + i])
                if not (skip and x == 0.0):
                    _momentum_row(params, vel, _nonneg(w0 + i * n_out), n_out, x, delta, d0,
                                  alpha, mom, lr, False)
    elif solver == SGD_PREVIOUS_GRADIENT:
        for i in range(n_in):
            x = T(inp[i0 + i])
            if skip and x == 0.0:
                continue
            row = _nonneg(w0 + i * n_out)
            for j in range(n_out):
                _previous_gradient_step(params, vel, row + j,
                                        x * delta[d0 + j] + alpha * params[row + j], lr, mom)
    else:
        dl = delta[d0:d0 + n_out]
        for i in range(n_in):
            x = inp[i0 + i]
            if skip and x == 0.0:
                continue
            # inlined: a call a row made Adam at batch 1 a third slower (digits
            # [64, 64, 32, 10]: 43 -> 57 us a sample)
            _update_range_inline(params, vel, sq, w0 + i * n_out, n_out, dl, x, alpha,
                                 solver, nesterov, hp, lr_t)


@njit(cache=True, inline="always")
def _narrow(params, n_out):
    """Whether a layer of ``n_out`` outputs takes ``simd.narrow_rows_*``: rows of at
    most two vectors, and at least 4 (on XOR's single output the masks cost more
    than the scalar loops: 127 -> 164 ns a sample)."""
    return 4 <= n_out and n_out * params.itemsize <= NARROW_VECTORS * 64


@njit(cache=True, inline="always")
def _sgd_rule(solver, nesterov, mom):
    """``narrow_rows_update``'s rule for an SGD ``solver`` (not Adam)."""
    if solver == SGD_PREVIOUS_GRADIENT:
        return RULE_PREVIOUS
    if mom == 0.0:
        return RULE_PLAIN
    return RULE_NESTEROV if nesterov else RULE_MOMENTUM


# Bytes of gradient rows one block of ``_weight_block_gradient`` accumulates: half
# of a 32 KiB L1 data cache, leaving room for the rows of D and X it streams.
BLOCK_BYTES = 16384
# At most this many entries (int64) in the kept lists of a minibatch's nonzero
# inputs (``NZ0``): 32 MiB. A larger batch (full-batch descent on a large set)
# lists them one sample at a time and takes ``_weight_block_gradient``.
KEPT_LISTS = 1 << 22
# Threads a minibatch (the parallel twin): all of them, or the calling one
# where that has been faster (``_parallel.ADAPT_FIRST_GAP``).


@njit(cache=True, inline="always")
def _block_rows(n_in, n_out, itemsize):
    """Rows of a weight matrix per block: at most ``BLOCK_BYTES``, and at least
    four blocks to share among threads (a narrow layer, 128 x 10, fits one)."""
    return max(1, min(BLOCK_BYTES // (n_out * itemsize), (n_in + 3) // 4))


@njit(cache=True, inline="always")
def _weight_block_gradient(G, XB, A, D, nb, first, p, o, w0, i0, i1, n_out):
    """Gradient of rows ``i0:i1`` of one layer's ``W`` for a minibatch.

    ``G[i, :] = sum_r x_r[i] * D[r, :]`` over the batch's samples in order
    (``_block_pass`` then takes the optimiser step on the block). The block
    of ``G`` (at most ``BLOCK_BYTES``) stays in the L1 cache while the samples
    stream past, so each sample's delta row is read once per block instead of
    once per input row, and the block is updated while still in cache. Each
    entry is summed by one thread in sample order: the bits do not depend on
    the threads. Zero inputs (most of MNIST) are skipped.
    """
    n = i1 - i0
    g0 = w0 + i0 * n_out
    Gb = G[g0:g0 + n * n_out].reshape((n, n_out))
    n_units = D.shape[1]
    D1 = D.reshape(D.size)
    for ii in range(n):
        for j in range(n_out):
            Gb[ii, j] = 0.0
    r = 0
    while r + 4 <= nb:  # four samples a pass over the block: G loaded and stored once for four
        if first:
            x0 = XB[r, i0:i1]
            x1 = XB[r + 1, i0:i1]
            x2 = XB[r + 2, i0:i1]
            x3 = XB[r + 3, i0:i1]
        else:
            x0 = A[r, p + i0:p + i1]
            x1 = A[r + 1, p + i0:p + i1]
            x2 = A[r + 2, p + i0:p + i1]
            x3 = A[r + 3, p + i0:p + i1]
        e0 = r * n_units + o
        for ii in range(n):
            v0, v1, v2, v3 = x0[ii], x1[ii], x2[ii], x3[ii]
            if v0 == 0.0 and v1 == 0.0 and v2 == 0.0 and v3 == 0.0:
                continue
            _add_four_rows(G, g0 + ii * n_out, v0, v1, v2, v3, D1, e0, e0 + n_units,
                           e0 + 2 * n_units, e0 + 3 * n_units, n_out)
        r += 4
    while r < nb:
        if first:
            x = XB[r, i0:i1]
        else:
            x = A[r, p + i0:p + i1]
        dr = D[r, o:o + n_out]
        for ii in range(n):
            v = x[ii]
            if v == 0.0:
                continue
            for j in range(n_out):
                Gb[ii, j] += v * dr[j]
        r += 1


@njit(cache=True, inline="always")
def _block_starts(nz, m, rows, bp):
    """``bp[b]``: where the sorted positions ``nz[:m]`` reach block ``b`` of
    ``rows`` inputs (the first ``k`` with ``nz[k] >= b * rows``); the last is ``m``."""
    k = 0
    for b in range(bp.shape[0] - 1):
        lim = b * rows
        while k < m and nz[k] < lim:
            k += 1
        bp[b] = k
    bp[bp.shape[0] - 1] = m


@njit(cache=True, inline="always")
def _listed_block_gradient(G, XB, D, nb, NZ0, BP, blk, o, w0, i0, i1, n_out):
    """``_weight_block_gradient`` for the first layer, from the lists of each sample's
    nonzero inputs that the forward pass kept (``NZ0``, with ``BP``: where each
    list enters block ``blk``, rows ``i0:i1``; the first layer's deltas are at
    ``D[r, o:o + n_out]``).

    Each sample adds its delta row to the gradient rows of its own nonzero
    inputs only: no zero is tested or multiplied. Four samples at a time, as
    ``_weight_block_gradient`` goes, tested every input of every group of four
    and multiplied most rows of a group by zero (an MNIST pixel is nonzero in
    about one image of five). Samples still come in order, so each entry is
    the same sum, term for term (a product with a zero input added nothing),
    and the bits do not change. (Turning the lists around, to sum each row's
    samples in registers, measured the same: what the registers saved went
    into building the lists.)
    """
    n = i1 - i0
    g0 = _nonneg(w0 + i0 * n_out)
    for k in range(n * n_out):
        G[g0 + k] = 0.0
    n_units = D.shape[1]
    D1 = D.reshape(D.size)
    for r in range(nb):
        x = XB[r]
        lst = NZ0[r]
        e = _nonneg(r * n_units + o)
        for k in range(BP[r, blk], BP[r, blk + 1]):
            i = lst[k]
            v = x[i]
            q = _nonneg(w0 + i * n_out)
            for j in range(n_out):
                G[q + j] += v * D1[e + j]


@njit(cache=True, inline="always")
def _transpose_weights(params, layout, WT):
    """``WT``: the weights of layers 1, 2, ... transposed (``n_out`` rows of ``n_in``),
    each at its layer's offset in ``params``."""
    for l in range(1, layout.shape[0]):
        n_in = layout[l, N_IN]
        n_out = layout[l, N_OUT]
        w0 = _nonneg(layout[l, W_OFF])
        for i in range(n_in):
            for j in range(n_out):
                WT[w0 + j * n_in + i] = params[w0 + i * n_out + j]


@njit(cache=True, inline="always")
def _hidden_deltas_t(WT, layout, a, d, s):
    """``hidden_deltas_row`` from the transposed weights ``WT`` (``s``: float64
    scratch as long as the widest hidden layer).

    Each hidden unit's sum ``s_i = sum_j W[i, j] d_j`` is added up over ``j`` in
    the same order, in float64, as ``hidden_deltas_row`` adds it, but for all
    ``i`` at once: a row of ``WT`` times ``d_j`` added to ``s`` is a loop LLVM
    vectorises, where the sum of one ``i`` at a time (a chain of ten additions
    on MNIST's output layer) was not. The same bits; MNIST at batch 128 on one
    thread: 10.6% of the fit in ``hidden_deltas_row``.
    """
    for l in range(layout.shape[0] - 1, 0, -1):
        n_in, n_out, w0, o, p, act_prev = _back_offsets(layout, l)
        for i in range(n_in):
            s[i] = 0.0
        for j in range(n_out):
            dj = d[o + j]
            row = _nonneg(w0 + j * n_in)
            for i in range(n_in):
                s[i] += WT[row + i] * dj
        for i in range(n_in):
            d[p + i] = s[i] * derivative(act_prev, a[p + i])


# Samples of a minibatch that one thread pushes through the layers together.
GROUP_ROWS = 16


@njit(cache=True, inline="always")
def _forward_group(params, layout, XB, r0, r1, A, nz, NZ0, BP, rows0):
    """``forward_row`` for the batch rows ``r0:r1`` (inputs ``XB[r]``; ``nz`` is scratch,
    at least as long as the widest layer's input).

    Each sample's nonzero inputs are listed first (``nonzero_positions``,
    eight at a time: MNIST at batch 128 on one thread 5.77 -> 5.66 us a
    sample against one at a time), then
    their rows of ``W`` are added four at a time (``_add_four_rows``: the sum
    loaded and stored once for four rows), in input order: the same sum, term
    for term, as ``forward_row``, which skips zeros one at a time. Listing
    them costs a pass over the inputs; testing each group of four inputs for
    zeros instead, as before, cost a mispredicted branch in every other group
    on MNIST and multiplied a third of the rows it kept by zero.
    """
    n_units = A.shape[1]
    A1 = A.reshape(A.size)
    for l in range(layout.shape[0]):
        n_in = layout[l, N_IN]
        n_out = layout[l, N_OUT]
        w0 = layout[l, W_OFF]
        b0 = layout[l, B_OFF]
        o = layout[l, A_OFF]
        p = layout[l - 1, A_OFF] if l > 0 else 0
        for r in range(r0, r1):
            x = XB[r] if l == 0 else A[r, p:p + n_in]
            zo = r * n_units + o
            _start_sums(params, b0, A1, zo, n_out)
            kept = l == 0 and NZ0.shape[0] > 0   # layer 0's list, kept for its gradient
            lst = NZ0[r] if kept else nz
            m = nonzero_positions(x, n_in, lst)
            if kept:
                _block_starts(lst, m, rows0, BP[r])
            k = 0
            while k + 4 <= m:
                i0, i1, i2, i3 = lst[k], lst[k + 1], lst[k + 2], lst[k + 3]
                _add_four_rows(A1, zo, x[i0], x[i1], x[i2], x[i3], params, w0 + i0 * n_out,
                               w0 + i1 * n_out, w0 + i2 * n_out, w0 + i3 * n_out, n_out)
                k += 4
            while k < m:
                v = x[lst[k]]
                q = _nonneg(w0 + lst[k] * n_out)
                for j in range(n_out):
                    A1[_nonneg(zo) + j] += v * params[q + j]
                k += 1
        for r in range(r0, r1):
            activate(layout[l, ACT], A[r, o:o + n_out])


@njit(cache=True, inline="always")
def _adam_lr(hp, step):
    return hp[LR] * math.sqrt(1.0 - hp[BETA2] ** step) / (1.0 - hp[BETA1] ** step)


@njit(cache=True)
def _sum_sq_weights(params, layout):
    s = 0.0
    for l in range(layout.shape[0]):
        w0 = layout[l, W_OFF]
        for k in range(w0, w0 + layout[l, N_IN] * layout[l, N_OUT]):
            s += float(params[k]) * float(params[k])
    return s


@njit(cache=True)
def _sample_step(params, layout, loss, x, y, a, d, solver, nesterov, hp, lr_t, alpha, vel, sq,
                 skip_zero, lazy, upto, step, powers, sums):
    """Forward, backward and update for one sample (batch size 1), with the L2
    penalty ``alpha`` (``hp[ALPHA]``, over the sample's weight if weighted).

    The gradient of layer ``l`` is ``x_i * d_j``; it is applied row by row as
    it is formed, after the deltas of all layers were computed with the old
    weights. A zero input gives its row of the first layer a zero gradient:
    with plain SGD (no momentum, no L2) the row does not change and is
    skipped; with momentum (``lazy``) the row only coasts on its velocity, and
    those steps are applied in closed form when the row is next read (see
    ``_catch_up``). Returns the sample's loss.
    """
    if lazy:
        # the first layer: each row read is brought up to date and used at once,
        # while it is in cache (the same values as catching up every row first)
        w0 = _nonneg(layout[0, W_OFF])
        n_out0 = layout[0, N_OUT]
        o0 = _nonneg(layout[0, A_OFF])
        _start_sums(params, layout[0, B_OFF], a, o0, n_out0)
        for i in range(layout[0, N_IN]):
            v = x[i]
            if v != 0.0:
                row = _nonneg(w0 + i * n_out0)
                idle = step - 1 - upto[i]
                upto[i] = step
                if idle > 0:   # tested here: a call that returns at once still costs
                    _catch_up(params, vel, row, n_out0, idle, solver, nesterov,
                              hp[MOMENTUM], powers, sums)
                for j in range(n_out0):
                    a[o0 + j] += v * params[row + j]
        activate_range(layout[0, ACT], a, o0, n_out0)
        _forward_layers(params, layout, x, a, 1)
    else:
        _forward_row_inline(params, layout, x, a)
    last = layout.shape[0] - 1
    o = layout[last, A_OFF]
    n_out = layout[last, N_OUT]
    act = layout[last, ACT]
    value = sample_loss_at(loss, act, a, y, o, n_out)
    output_delta_at(loss, act, a, y, d, o, n_out)
    _hidden_deltas_row_inline(params, layout, a, d)
    for l in range(layout.shape[0]):
        n_in = layout[l, N_IN]
        n_out = layout[l, N_OUT]
        w0 = layout[l, W_OFF]
        b0 = layout[l, B_OFF]
        o = layout[l, A_OFF]
        if l == 0:
            _update_rows(params, vel, sq, w0, n_in, n_out, x, 0, d, o, skip_zero or lazy,
                         alpha, solver, nesterov, hp, lr_t)
        else:
            _update_rows(params, vel, sq, w0, n_in, n_out, a, layout[l - 1, A_OFF], d, o, skip_zero,
                         alpha, solver, nesterov, hp, lr_t)
        if b0 >= 0:
            _update_range(params, vel, sq, b0, n_out, d[o:o + n_out], 1.0, 0.0,
                          solver, nesterov, hp, lr_t)
    return value


@njit(cache=True, inline="always")
def _idle_factors(k, nesterov, mom, powers, sums):
    """``(m**k, m + m**2 + ... + m**k)`` for ``k`` steps with a zero gradient
    (the second times ``m`` with Nesterov): ``powers[k]``, ``sums[k]`` where
    tabled (see ``_momentum_tables``), else computed."""
    if k < powers.shape[0]:
        pk = powers[k]
        geo = sums[k]
    else:
        pk = mom ** k
        geo = mom * (1.0 - pk) / (1.0 - mom)
    if nesterov:
        geo *= mom
    return pk, geo


@njit(cache=True, inline="always")
def _catch_up(params, vel, start, count, k, solver, nesterov, mom, powers, sums):
    """Apply ``k`` steps with a zero gradient to ``params[start:start+count]`` at once.

    Classical momentum: ``v <- m**k v`` and ``w += v (m + m**2 + ... + m**k)``;
    Nesterov adds ``m`` times that; part D's rule only subtracts
    ``momentum * g_previous`` once, then the previous gradient is zero.
    ``powers[k] = m**k`` and ``sums[k] = m + ... + m**k`` (tabled up to their length).
    Nothing for ``k <= 0``; the hot loops test ``k`` before the call (see
    ``_one_hidden_epochs``).
    """
    if k > 0:
        start = _nonneg(start)
        if solver == SGD_PREVIOUS_GRADIENT:
            for j in range(count):
                params[start + j] -= mom * vel[start + j]
                vel[start + j] = 0.0
        else:
            pk, geo = _idle_factors(k, nesterov, mom, powers, sums)
            _coast(params, vel, start, count, pk, geo)


@njit(cache=True, inline="always")
def _coast(params, vel, start, count, pk, geo):
    """``w += v geo; v *= pk`` on ``[start, start + count)``, in the parameters' precision."""
    T = params.dtype.type
    geo = T(geo)
    pk = T(pk)
    for j in range(count):
        vj = vel[start + j]
        params[start + j] += vj * geo
        vel[start + j] = vj * pk


@njit(cache=True, inline="always")
def _update_coasted_rows(params, vel, w0, n_out, inp, live, n_live, coasted, n_coasted, delta,
                         d0, pks, geos, nesterov, hp):
    """``_update_rows``' SGD step with momentum on a sample's rows of nonzero
    inputs: ``live[:n_live]`` as stored, ``coasted[:n_coasted]`` each first
    brought up to date as ``_coast(.., pks[i], geos[i])`` would, in registers
    (not written first). The same operations in the same order, so the same
    bits; two lists, not a test a row (a branch that mispredicts at random).
    """
    T = params.dtype.type
    alpha = T(hp[ALPHA])
    lr = T(hp[LR])
    mom = T(hp[MOMENTUM])
    for t in range(n_live):
        i = live[t]
        _momentum_row(params, vel, _nonneg(w0 + i * n_out), n_out, T(inp[i]), delta, d0, alpha,
                      mom, lr, nesterov)
    for t in range(n_coasted):
        i = coasted[t]
        x = T(inp[i])
        row = _nonneg(w0 + i * n_out)
        if alpha == 0.0:   # (see _gradient)
            _coasted_steps(params, vel, row, n_out, x, delta, d0, alpha, mom, lr, nesterov,
                           T(pks[i]), T(geos[i]), False)
        else:
            _coasted_steps(params, vel, row, n_out, x, delta, d0, alpha, mom, lr, nesterov,
                           T(pks[i]), T(geos[i]), True)


@njit(cache=True, inline="always")
def _coasted_steps(params, vel, row, n, x, delta, d0, alpha, mom, lr, nesterov, pk, geo, penalty):
    """``_momentum_steps`` on a row first brought up to date as ``_coast(.., pk, geo)``."""
    for j in range(n):
        vj = vel[row + j]
        wj = params[row + j] + vj * geo
        g = _gradient(x, delta[d0 + j], alpha, wj, penalty)
        vk = mom * (vj * pk) - lr * g
        vel[row + j] = vk
        params[row + j] = wj + (mom * vk - lr * g if nesterov else vk)


# Lazy momentum (see ``_sample_step``) pays on wide inputs with many zeros
# (digits, MNIST); on a few inputs its bookkeeping costs more than the rows it
# skips (XOR: 25 ns a sample).
LAZY_MIN_INPUTS = 16


@njit(cache=True, inline="always")
def _lazy_momentum(solver, hp, n_in):
    """Whether batch-1 training leaves first-layer rows with a zero input to coast
    and catches them up in closed form (SGD with momentum, no L2 penalty)."""
    return (solver != ADAM and hp[MOMENTUM] > 0.0 and hp[ALPHA] == 0.0
            and n_in >= LAZY_MIN_INPUTS)


@njit(cache=True, inline="always")
def _catch_up_all(params, vel, layout, upto, step, solver, nesterov, hp, powers, sums):
    """Bring every row of the first layer up to date (end of an epoch, lazy momentum)."""
    n_out0 = layout[0, N_OUT]
    for i in range(layout[0, N_IN]):
        _catch_up(params, vel, layout[0, W_OFF] + i * n_out0, n_out0, step - upto[i],
                  solver, nesterov, hp[MOMENTUM], powers, sums)
        upto[i] = step


@njit(cache=True, inline="always")
def _group_scratch(params, layout, X, rows, n_units):
    """The scratch of ``_group_pass`` and the block loops for batches of up to
    ``rows`` samples of ``n_units`` units (``A.shape[1]``): ``(XB, NZ, rows0,
    n_kept, NZ0, BP, WT, SS)``. A batch's rows of X gathered (see the module
    notes); a row of nonzero-input indices for each group of samples; the
    first layer's rows a block; each sample's list of nonzero inputs, kept
    from the forward pass for the first layer's gradient
    (``_listed_block_gradient``; for ``n_kept`` samples, all or none), and
    where it enters each block; the hidden layers' weights transposed; float64
    sums for a group of samples."""
    n_in0 = layout[0, N_IN]
    XB = np.empty((rows, n_in0), dtype=X.dtype)
    NZ = np.empty(((rows + GROUP_ROWS - 1) // GROUP_ROWS, max(n_in0, n_units)), dtype=np.int64)
    rows0 = _block_rows(n_in0, layout[0, N_OUT], params.itemsize)
    n_blk0 = (n_in0 + rows0 - 1) // rows0
    n_kept = rows if rows * n_in0 <= KEPT_LISTS else 0
    NZ0 = np.empty((n_kept, n_in0), dtype=np.int64)
    BP = np.empty((n_kept, n_blk0 + 1), dtype=np.int64)
    WT = np.empty(params.size, dtype=params.dtype)
    SS = np.empty((NZ.shape[0], n_units), dtype=np.float64)
    return XB, NZ, rows0, n_kept, NZ0, BP, WT, SS


@njit(cache=True, inline="always")
def _layer_blocks(layout, l, itemsize, n_kept):
    """Layer ``l``'s ``(n_in, n_out, w0, b0, o, p, rows, listed, n_blocks)`` for
    the loops over its blocks of weight rows: ``o`` its units' offset, ``p`` its
    inputs' (0: X), ``rows`` a block, ``listed`` whether the kept lists of
    nonzero inputs give its gradient (the first layer's, where kept)."""
    n_in = layout[l, N_IN]
    n_out = layout[l, N_OUT]
    p = layout[l - 1, A_OFF] if l > 0 else 0
    rows = _block_rows(n_in, n_out, itemsize)
    return (n_in, n_out, layout[l, W_OFF], layout[l, B_OFF], layout[l, A_OFF], p, rows,
            l == 0 and n_kept > 0, (n_in + rows - 1) // rows)


@njit(cache=True, inline="always")
def _group_pass(params, layout, loss, X, Y, sw, order, start, nb, grp, WT, XB, A, D, NZ, NZ0, BP,
                SS, rows0, batch_loss):
    """One group of a minibatch's samples (``GROUP_ROWS``; the body of a loop
    over groups): their rows of X gathered into ``XB``, the forward pass, the
    losses into ``batch_loss`` and the deltas into ``D``, each times the
    sample's weight where ``sw`` holds weights."""
    last = layout.shape[0] - 1
    o_last = layout[last, A_OFF]
    n_last = layout[last, N_OUT]
    act_last = layout[last, ACT]
    n_in0 = layout[0, N_IN]
    r0 = grp * GROUP_ROWS
    r1 = min(nb, r0 + GROUP_ROWS)
    for r in range(r0, r1):
        xr = X[order[start + r]]
        for i in range(n_in0):
            XB[r, i] = xr[i]
    _forward_group(params, layout, XB, r0, r1, A, NZ[grp], NZ0, BP, rows0)
    for r in range(r0, r1):
        idx = order[start + r]
        out = A[r, o_last:o_last + n_last]
        batch_loss[r] = sample_loss(loss, act_last, out, Y[idx])
        output_delta(loss, act_last, out, Y[idx], D[r, o_last:o_last + n_last])
        if sw.shape[0] > 0:   # (the hidden deltas are linear in the output's)
            batch_loss[r] *= sw[idx]
            for j in range(o_last, o_last + n_last):
                D[r, j] *= sw[idx]
        _hidden_deltas_t(WT, layout, A[r], D[r], SS[grp])


@njit(cache=True, inline="always")
def _block_pass(params, vel, sq, G, XB, A, D, nb, NZ0, BP, blk, rows, listed, first, p, o, w0,
                n_in, n_out, scale, alpha_b, solver, nesterov, hp, lr_t):
    """Block ``blk`` of a layer's weight rows (the body of a loop over blocks):
    its gradient summed over the minibatch and the update, from the kept lists
    of nonzero inputs where ``listed``; ``scale`` (1 / batch size, or over its
    weight) multiplies the summed gradient, ``alpha_b`` (alpha scaled the same
    way) the weights' L2 term."""
    i0 = blk * rows
    i1 = min(n_in, i0 + rows)
    g0 = _nonneg(w0 + i0 * n_out)
    n = (i1 - i0) * n_out
    # (the step written in each branch: after the two joined, a small network's
    # partial_fit ran 1-2 us slower, 54.4 against 52.9 us, for 1.8 s less compile)
    if listed:
        _listed_block_gradient(G, XB, D, nb, NZ0, BP, blk, o, w0, i0, i1, n_out)
        _update_range(params, vel, sq, g0, n, G[g0:g0 + n], scale, alpha_b, solver, nesterov,
                      hp, lr_t)
    else:
        _weight_block_gradient(G, XB, A, D, nb, first, p, o, w0, i0, i1, n_out)
        _update_range(params, vel, sq, g0, n, G[g0:g0 + n], scale, alpha_b, solver, nesterov,
                      hp, lr_t)


# The bodies of the parallel twin's prange loops, as calls: numba outlines a
# prange body into a function of its own, so an inlined body was compiled once
# there and once more in the serial loop. Called, it is compiled once, and the
# serial loops still inline theirs (a call costs about 0.13 us, and a small
# network's batch makes several: full-batch XOR on [2, 4, 3, 1], 2000 epochs,
# 3.7 -> 5.5 ms with calls in both). The parallel trainer's first compile:
# 29 -> 21 s. (Pass the index as an int64: a prange index is unsigned, and
# an unsigned index compiled a second signature.)
# (Under NUMBA_DISABLE_JIT a helper is the plain function, without ``py_func``.)
_group_pass_call = njit(cache=True)(getattr(_group_pass, "py_func", _group_pass))
_block_pass_call = njit(cache=True)(getattr(_block_pass, "py_func", _block_pass))


@njit(cache=True)
def _momentum_tables(mom, n):
    powers = np.empty(n)
    sums = np.empty(n)
    p = 1.0
    acc = 0.0
    for k in range(n):
        powers[k] = p
        sums[k] = acc
        p *= mom
        acc += p
    return powers, sums


@njit(cache=True)
def epoch_order(order_kind, seed, epoch, order):
    """Fill ``order`` with the samples of global epoch ``epoch``, keyed by ``(seed, epoch)``.

    SHUFFLE: a fresh permutation; SEQUENTIAL: 0, 1, 2...; REPLACEMENT: each
    step draws a sample at random (the article's part A).
    """
    n = order.shape[0]
    if order_kind == SHUFFLE:
        permutation(seed, epoch, order)
    elif order_kind == SEQUENTIAL:
        for k in range(n):
            order[k] = k
    else:
        for k in range(n):
            order[k] = randint(seed, epoch, k, n)


@njit(cache=True, inline="always")
def next_order(order_kind, seed, epoch, order, mt):
    """The MLP trainers' ``epoch_order``, which also knows SHUFFLE_RANDOMSTATE:
    ``order`` shuffled again, in place, as scikit-learn's MLP shuffles its
    sample indices every epoch (``sklearn.utils.shuffle`` with its
    RandomState), drawing from the MT19937 state ``mt``."""
    if order_kind == SHUFFLE_RANDOMSTATE:
        mt_shuffle(mt, order)
    else:
        epoch_order(order_kind, seed, epoch, order)


@njit(cache=True, inline="always")
def end_epoch(state, loss_curve, e, epoch_loss, tol, n_iter_no_change):
    """The end-of-epoch rule of every training loop; True when training must stop.

    ``loss_curve[e]`` gets the epoch's loss. A non-finite loss sets ``state[STATUS] = DIVERGED``. Otherwise, with
    ``tol >= 0``, scikit-learn's rule: an epoch whose loss is not ``tol`` below
    the best so far counts as no improvement, and more than
    ``n_iter_no_change`` of them in a row set ``CONVERGED``.
    """
    loss_curve[e] = epoch_loss
    if not math.isfinite(epoch_loss):
        state[STATUS] = DIVERGED
        return True
    if tol >= 0.0:
        if epoch_loss > state[BEST_LOSS] - tol:
            state[NO_IMPROVE] += 1.0
        else:
            state[NO_IMPROVE] = 0.0
        if epoch_loss < state[BEST_LOSS]:
            state[BEST_LOSS] = epoch_loss
        if state[NO_IMPROVE] > n_iter_no_change:
            state[STATUS] = CONVERGED
            return True
    return False


# SAMPLE WEIGHTS. The trainers take ``sw``: float64, one weight a sample, or
# empty for none. As scikit-learn's MLP, a minibatch's gradient is the
# weighted sum of its samples' gradients plus ``alpha * W``, over the sum of
# its weights (over its size unweighted), and its loss the weighted mean of
# its samples' plus the L2 term over the same sum, counted ``nb`` times in the
# epoch's mean. So at batch size 1 a weight changes only the L2 term's share
# (``alpha / w``). A batch whose weights sum to zero (at batch size 1: a
# sample of weight zero) makes no step and adds nothing to the loss, where
# scikit-learn divides by zero. Unweighted, every trainer runs its old
# arithmetic: the same bits.


def _epochs_trainer(ADAPT):
    """``_train_epochs`` for one twin: ``ADAPT`` (a closure constant, the
    parallel twin's) lets the minibatch loop run a batch's loops on all threads
    or, where that has been faster, on the calling one (``_parallel.ADAPT_FIRST_GAP``).
    Each loop over samples or weight rows is written twice, ``prange`` and
    ``range``, around one body, called under ``prange`` and inlined under
    ``range`` (see ``_group_pass_call``): setting the thread count instead
    would keep numba from caching the twin."""

    def _train_epochs(params, layout, loss, X, Y, batch_size, order_kind, seed, epoch0, n_epochs,
                      solver, nesterov, hp, tol, n_iter_no_change, threads, vel, sq, state,
                      order, A, D, G, batch_loss, loss_curve, sw, mt):
        """Train for up to ``n_epochs`` epochs; return the number run.

        Parameters
        ----------
        params : 1-D float array, updated in place.
        layout : int64 array (n_layers, 6), see the module docstring.
        loss : int, ``losses.SQUARED`` or ``losses.LOG``.
        X, Y : 2-D float arrays (n_samples, n_features) and (n_samples, n_outputs).
        batch_size : int >= 2 (``n_samples`` for full-batch descent; batch size 1
            is ``train_samples``).
        order_kind : SHUFFLE (a new permutation each epoch), SEQUENTIAL,
            REPLACEMENT (each step draws a sample at random, as the article's part A)
            or SHUFFLE_RANDOMSTATE (scikit-learn's MLP's order, from ``mt``).
        seed, epoch0 : the sample order of global epoch ``e`` is keyed by
            ``(seed, e)``; ``epoch0`` is the number of epochs already run.
        solver, nesterov, hp : optimiser; ``hp`` = lr, momentum, beta1, beta2,
            epsilon, alpha (L2 penalty, scaled by 1 / batch size as scikit-learn).
        tol, n_iter_no_change : stop after ``n_iter_no_change`` consecutive epochs
            whose loss is not ``tol`` below the best so far; ``tol < 0`` never stops.
        threads : int, numba's thread count for minibatches (``numba.get_num_threads()``,
            which numba cannot cache a call of), or 1: every loop on the calling
            thread. The serial twin runs on one whatever it is given.
        vel, sq : optimiser state, same length as ``params`` (momentum / Adam moments).
        state : float64 array (4,): best loss, epochs without improvement, optimiser
            step count, status (RUNNING, CONVERGED, DIVERGED); updated.
        order : int64 (n_samples,), scratch; for SHUFFLE_RANDOMSTATE the order
            the last epoch left (0, 1, 2... before a fit's first), which each
            epoch shuffles again.
        A, D : float arrays (batch_size, total units), activations and deltas scratch.
        G : float array (len(params),), gradient scratch.
        batch_loss : float64 (batch_size,), scratch.
        loss_curve : float64 (n_epochs,), out: the mean loss of each epoch (the L2
            term counted once per batch, as scikit-learn reports it).
        sw : float64 (n_samples,), the samples' weights, or (0,) for none (see
            SAMPLE WEIGHTS above).
        mt : int64 (625,), a NumPy RandomState's MT19937 state (``rng.mt_state``)
            that SHUFFLE_RANDOMSTATE shuffles with and advances; (0,) for the
            other orders.

        Minibatches are processed in parallel over samples (forward, deltas) and
        over the rows of each weight matrix (gradient and update): every output is
        computed by one thread in a fixed order, so the result does not depend on
        the number of threads, nor on ``threads``.
        """
        if batch_size < 2:
            raise ValueError("train_epochs takes minibatches (batch_size >= 2); "
                             "batch size 1 is train_samples'")
        n_samples = X.shape[0]
        n_layers = layout.shape[0]
        alpha = hp[ALPHA]
        weighted = sw.shape[0] > 0
        n_batches = (n_samples + batch_size - 1) // batch_size
        XB, NZ, rows0, n_kept, NZ0, BP, WT, SS = _group_scratch(params, layout, X, batch_size,
                                                                A.shape[1])
        # threads a batch (ADAPT): all of them, or one where one has been faster
        n_threads = threads if ADAPT else 1
        choice, recent = adapt_choice()   # (recent: cycles a sample lately, one thread, all)
        done = 0
        for e in range(n_epochs):
            epoch = epoch0 + e
            next_order(order_kind, seed, epoch, order, mt)
            total = 0.0
            for b in range(n_batches):
                start = b * batch_size
                nb = min(batch_size, n_samples - start)
                sw_b = 0.0   # the batch's weight
                if weighted:
                    for r in range(nb):
                        sw_b += sw[order[start + r]]
                    if sw_b == 0.0:
                        continue
                many = False   # all threads this batch, or one
                if ADAPT and n_threads > 1:   # (a closure constant: see _epochs_trainer)
                    many, probe = adapt_next(choice)
                    t0 = cycles()
                _transpose_weights(params, layout, WT)
                n_groups = (nb + GROUP_ROWS - 1) // GROUP_ROWS
                if ADAPT and many:   # (pruned from the serial twin)
                    for grp in prange(n_groups):
                        _group_pass_call(params, layout, loss, X, Y, sw, order, start, nb,
                                         np.int64(grp), WT, XB, A, D, NZ, NZ0, BP, SS, rows0,
                                         batch_loss)
                else:
                    for grp in range(n_groups):
                        _group_pass(params, layout, loss, X, Y, sw, order, start, nb, grp, WT,
                                    XB, A, D, NZ, NZ0, BP, SS, rows0, batch_loss)
                if weighted:
                    batch_total = 0.0
                    for r in range(nb):
                        batch_total += batch_loss[r]
                    if alpha > 0.0:
                        batch_total += 0.5 * alpha * _sum_sq_weights(params, layout)
                    total += batch_total * (nb / sw_b)
                    scale = 1.0 / sw_b
                    alpha_b = alpha / sw_b
                else:
                    for r in range(nb):
                        total += batch_loss[r]
                    if alpha > 0.0:
                        total += 0.5 * alpha * _sum_sq_weights(params, layout)
                    scale = 1.0 / nb
                    alpha_b = alpha / nb
                state[STEP] += 1.0
                lr_t = _adam_lr(hp, state[STEP]) if solver == ADAM else hp[LR]
                for l in range(n_layers):
                    n_in, n_out, w0, b0, o, p, rows, listed, n_blocks = _layer_blocks(
                        layout, l, params.itemsize, n_kept)
                    if ADAPT and many:   # (pruned from the serial twin)
                        for blk in prange(n_blocks):
                            _block_pass_call(params, vel, sq, G, XB, A, D, nb, NZ0, BP,
                                             np.int64(blk), rows, listed, l == 0, p, o, w0, n_in,
                                             n_out, scale, alpha_b, solver, nesterov, hp, lr_t)
                    else:
                        for blk in range(n_blocks):
                            _block_pass(params, vel, sq, G, XB, A, D, nb, NZ0, BP, blk, rows,
                                        listed, l == 0, p, o, w0, n_in, n_out, scale, alpha_b,
                                        solver, nesterov, hp, lr_t)
                    if b0 >= 0:
                        g = G[b0:b0 + n_out]
                        for j in range(n_out):
                            g[j] = 0.0
                        for r in range(nb):
                            dr = D[r, o:o + n_out]
                            for j in range(n_out):
                                g[j] += dr[j]
                        _update_range(params, vel, sq, b0, n_out, g, scale, 0.0,
                                      solver, nesterov, hp, lr_t)
                if ADAPT and n_threads > 1:
                    adapt_record(choice, recent, many, probe, (cycles() - t0) / nb)
            done = e + 1
            if end_epoch(state, loss_curve, e, total / n_samples, tol, n_iter_no_change):
                break
        return done

    return _train_epochs


# The parallel twin is the cached one, and the models run it for small
# minibatches too (``threads=1``: its serial loops), so a new process loads
# one compiled trainer instead of compiling a twin (about 19 s). The serial
# twin serves tests and callers that are already parallel. Never cache both
# (numba#6845: the cache ignores the parallel flag; STYLE.md).
train_epochs = njit(parallel=prange_only(), cache=True)(_epochs_trainer(True))
train_epochs_serial = njit(_epochs_trainer(False))


@njit(cache=True)
def train_samples(params, layout, loss, X, Y, batch_size, order_kind, seed, epoch0, n_epochs,
                  solver, nesterov, hp, tol, n_iter_no_change, threads, vel, sq, state,
                  order, A, D, G, batch_loss, loss_curve, sw, mt):
    """``train_epochs`` at batch size 1, for any network (the article's, with
    one hidden layer, take ``one_hidden_trainer``): the same arguments and
    returns; ``batch_size`` must be 1, and ``threads``, ``G`` and
    ``batch_loss`` are not used. Each sample is a ``_sample_step``, in one
    thread. A kernel of its own, apart from the minibatch trainer, so that a
    fit compiles only its own path (a new machine's first minibatch fit
    compiled both, 47 s, of which 10.5 s were this path's).
    """
    if batch_size != 1:
        raise ValueError("train_samples takes batch_size 1; minibatches are train_epochs'")
    n_samples = X.shape[0]
    alpha = hp[ALPHA]
    weighted = sw.shape[0] > 0
    skip_zero = solver == SGD and hp[MOMENTUM] == 0.0 and alpha == 0.0
    n_in0 = layout[0, N_IN]
    lazy = _lazy_momentum(solver, hp, n_in0)
    upto = np.zeros(n_in0 if lazy else 0, dtype=np.int64)
    powers, sums = _momentum_tables(hp[MOMENTUM], 1 << 14 if lazy else 0)
    step = 0
    a = A[0]
    d = D[0]
    done = 0
    for e in range(n_epochs):
        next_order(order_kind, seed, epoch0 + e, order, mt)
        total = 0.0
        for k in range(n_samples):
            idx = order[k]
            alpha_s = alpha
            if weighted:   # (see SAMPLE WEIGHTS above _epochs_trainer)
                if sw[idx] == 0.0:
                    continue
                alpha_s = alpha / sw[idx]
            state[STEP] += 1.0
            lr_t = _adam_lr(hp, state[STEP]) if solver == ADAM else hp[LR]
            step += 1
            # the step's loss: the sample's, and the L2 term of the weights it starts
            # from (as scikit-learn's, and the minibatch trainer's)
            penalty = 0.5 * alpha_s * _sum_sq_weights(params, layout) if alpha > 0.0 else 0.0
            total += _sample_step(params, layout, loss, X[idx], Y[idx], a, d,
                                  solver, nesterov, hp, lr_t, alpha_s, vel, sq, skip_zero,
                                  lazy, upto, step, powers, sums) + penalty
        if lazy:
            _catch_up_all(params, vel, layout, upto, step, solver, nesterov, hp, powers, sums)
        done = e + 1
        if end_epoch(state, loss_curve, e, total / n_samples, tol, n_iter_no_change):
            break
    return done


@njit(cache=True, inline="always")
def _forward_one(params, layout, X, A, out, r):
    last = layout.shape[0] - 1
    o = layout[last, A_OFF]
    forward_row(params, layout, X[r], A[r])
    for j in range(layout[last, N_OUT]):
        out[r, j] = A[r, o + j]


def _forward(params, layout, X, A, out, threads):
    """Network outputs for every row of ``X`` into ``out``; ``A`` is scratch
    of shape (n_samples, total units). Parallel over samples where
    ``threads`` > 1 (the serial twin runs them in order either way)."""
    if threads > 1:
        for r in prange(X.shape[0]):
            _forward_one(params, layout, X, A, out, r)
    else:
        for r in range(X.shape[0]):
            _forward_one(params, layout, X, A, out, r)


# as train_epochs: the parallel twin is cached, and runs small inputs serially
forward = njit(parallel=prange_only(), cache=True)(_forward)
forward_serial = njit(_forward)


@njit(cache=True, inline="always")
def _gradient_block(grad, G, XB, A, D, nb, NZ0, BP, blk, rows, listed, first, p, o, w0, n_in,
                    n_out):
    """Block ``blk`` of a layer's weight rows (the body of a loop over blocks):
    its gradient over a chunk of samples (``_block_pass``' sums) added to ``grad``."""
    i0 = blk * rows
    i1 = min(n_in, i0 + rows)
    g0 = _nonneg(w0 + i0 * n_out)
    if listed:
        _listed_block_gradient(G, XB, D, nb, NZ0, BP, blk, o, w0, i0, i1, n_out)
    else:
        _weight_block_gradient(G, XB, A, D, nb, first, p, o, w0, i0, i1, n_out)
    for k in range(g0, g0 + (i1 - i0) * n_out):
        grad[k] += G[k]


_gradient_block_call = njit(cache=True)(getattr(_gradient_block, "py_func", _gradient_block))


@njit(parallel=prange_only(), cache=True)
def loss_gradient(params, layout, loss, X, Y, sw, alpha, threads, grad, A, D, G, batch_loss,
                  order):
    """Full-batch loss and gradient, as scikit-learn's MLP gives them to L-BFGS.

    ``loss = (sum_n w_n L_n + 0.5 * alpha * sum(W**2)) / sum_n w_n`` and
    ``grad`` (overwritten) its derivative; unweighted (``sw`` empty) every
    ``w_n`` is 1. The samples go through in chunks of ``A.shape[0]`` rows
    with the minibatch trainer's loops (``_group_pass``: forward and deltas a
    group of samples; ``_gradient_block``: a block of weight rows summed
    over the chunk while in cache): on ``threads`` threads (1: the calling
    one), each sum by one thread in sample order, so the same bits for any
    thread count. ``G`` (as ``params``), ``batch_loss`` (a chunk) are scratch;
    ``order``: ``arange(n)``.
    """
    n = X.shape[0]
    n_layers = layout.shape[0]
    chunk = A.shape[0]
    XB, NZ, rows0, n_kept, NZ0, BP, WT, SS = _group_scratch(params, layout, X, chunk, A.shape[1])
    _transpose_weights(params, layout, WT)
    for k in range(grad.shape[0]):
        grad[k] = 0.0
    total = 0.0
    for start in range(0, n, chunk):
        nb = min(chunk, n - start)
        n_groups = (nb + GROUP_ROWS - 1) // GROUP_ROWS
        if threads > 1:
            for grp in prange(n_groups):
                _group_pass_call(params, layout, loss, X, Y, sw, order, start, nb, np.int64(grp),
                                 WT, XB, A, D, NZ, NZ0, BP, SS, rows0, batch_loss)
        else:
            for grp in range(n_groups):
                _group_pass(params, layout, loss, X, Y, sw, order, start, nb, grp, WT, XB, A, D,
                            NZ, NZ0, BP, SS, rows0, batch_loss)
        for r in range(nb):
            total += batch_loss[r]
        for l in range(n_layers):
            n_in, n_out, w0, b0, o, p, rows, listed, n_blocks = _layer_blocks(
                layout, l, params.itemsize, n_kept)
            if threads > 1:
                for blk in prange(n_blocks):
                    _gradient_block_call(grad, G, XB, A, D, nb, NZ0, BP, np.int64(blk), rows,
                                         listed, l == 0, p, o, w0, n_in, n_out)
            else:
                for blk in range(n_blocks):
                    _gradient_block(grad, G, XB, A, D, nb, NZ0, BP, blk, rows, listed, l == 0,
                                    p, o, w0, n_in, n_out)
            if b0 >= 0:
                for r in range(nb):
                    for j in range(n_out):
                        grad[b0 + j] += D[r, o + j]
    weight = float(n)
    if sw.shape[0] > 0:
        weight = 0.0
        for r in range(n):
            weight += sw[r]
    ssw = 0.0
    for l in range(n_layers):
        w0 = layout[l, W_OFF]
        for k in range(w0, w0 + layout[l, N_IN] * layout[l, N_OUT]):
            grad[k] += alpha * params[k]
            ssw += float(params[k]) * float(params[k])
    for k in range(grad.shape[0]):
        grad[k] /= weight
    return (total + 0.5 * alpha * ssw) / weight


@njit(cache=True)
def gradient(params, layout, loss, X, Y, alpha, A, D, grad):
    """Full-batch loss and its gradient with respect to ``params``.

    ``loss = mean_n L(x_n, y_n) + 0.5 * alpha * sum(W**2) / n``; ``grad`` is
    overwritten with its derivative (biases are not penalised). Serial; used by
    the gradient checks, not by training.
    """
    n = X.shape[0]
    last = layout.shape[0] - 1
    o_last = layout[last, A_OFF]
    n_last = layout[last, N_OUT]
    act_last = layout[last, ACT]
    for k in range(grad.shape[0]):
        grad[k] = 0.0
    total = 0.0
    for r in range(n):
        forward_row(params, layout, X[r], A[r])
        out = A[r, o_last:o_last + n_last]
        total += sample_loss(loss, act_last, out, Y[r])
        output_delta(loss, act_last, out, Y[r], D[r, o_last:o_last + n_last])
        hidden_deltas_row(params, layout, A[r], D[r])
        for l in range(layout.shape[0]):
            n_in = layout[l, N_IN]
            n_out = layout[l, N_OUT]
            w0 = layout[l, W_OFF]
            b0 = layout[l, B_OFF]
            o = layout[l, A_OFF]
            for i in range(n_in):
                v = X[r, i] if l == 0 else A[r, layout[l - 1, A_OFF] + i]
                for j in range(n_out):
                    grad[w0 + i * n_out + j] += v * D[r, o + j]
            if b0 >= 0:
                for j in range(n_out):
                    grad[b0 + j] += D[r, o + j]
    for k in range(grad.shape[0]):
        grad[k] /= n
    ssw = 0.0
    for l in range(layout.shape[0]):
        w0 = layout[l, W_OFF]
        for k in range(w0, w0 + layout[l, N_IN] * layout[l, N_OUT]):
            grad[k] += alpha * params[k] / n
            ssw += params[k] * params[k]
    return total / n + 0.5 * alpha * ssw / n


def _dense_forward(x, w, b, act, out):
    """One layer on a minibatch: ``out = f(x @ w + b)``, parallel over samples.

    ``x`` (n, n_in), ``w`` (n_in, n_out), ``b`` (n_out,) or empty for no bias,
    ``out`` (n, n_out), written.
    """
    n_in = w.shape[0]
    n_out = w.shape[1]
    for r in prange(x.shape[0]):
        z = out[r]
        if b.shape[0] == n_out:
            for j in range(n_out):
                z[j] = b[j]
        else:
            for j in range(n_out):
                z[j] = 0.0
        for i in range(n_in):
            v = x[r, i]
            if v == 0.0:
                continue
            for j in range(n_out):
                z[j] += v * w[i, j]
        activate(act, z)


dense_forward = njit(parallel=True, cache=True)(_dense_forward)
dense_forward_serial = njit(_dense_forward)


def _dense_backward(x, w, delta, act_in, grad_w, grad_b, delta_in):
    """One layer's backward pass on a minibatch.

    ``delta`` (n, n_out) is dLoss/dz of this layer's outputs for each sample.
    Writes ``grad_w = x.T @ delta / n`` and ``grad_b = mean(delta)`` (parallel
    over rows of ``grad_w``: each entry summed by one thread in sample order),
    and, when ``delta_in`` has rows, ``delta_in = (delta @ w.T) * f'(x)`` with
    ``act_in`` the activation that produced ``x``.
    """
    n = x.shape[0]
    n_in = w.shape[0]
    n_out = w.shape[1]
    for i in prange(n_in):
        for j in range(n_out):
            grad_w[i, j] = 0.0
        for r in range(n):
            v = x[r, i]
            for j in range(n_out):
                grad_w[i, j] += v * delta[r, j]
        for j in range(n_out):
            grad_w[i, j] /= n
    for j in range(grad_b.shape[0]):
        s = 0.0
        for r in range(n):
            s += delta[r, j]
        grad_b[j] = s / n
    if delta_in.shape[0] == n:
        for r in prange(n):
            for i in range(n_in):
                s = 0.0
                for j in range(n_out):
                    s += w[i, j] * delta[r, j]
                delta_in[r, i] = s * derivative(act_in, x[r, i])


dense_backward = njit(parallel=True, cache=True)(_dense_backward)
dense_backward_serial = njit(_dense_backward)


def make_layout(sizes, activations, bias):
    """The ``layout`` table and parameter count for layer ``sizes``.

    ``activations``: one code per weight layer; ``bias``: one bool per layer.
    """
    n_layers = len(sizes) - 1
    layout = np.zeros((n_layers, 6), dtype=np.int64)
    off = 0
    a_off = 0
    for l in range(n_layers):
        n_in, n_out = int(sizes[l]), int(sizes[l + 1])
        layout[l] = (n_in, n_out, off, -1, activations[l], a_off)
        off += n_in * n_out
        if bias[l]:
            layout[l, B_OFF] = off
            off += n_out
        a_off += n_out
    return layout, off, a_off


# Two intrinsics compiled apart, called from the one-hidden trainers rather
# than inlined: once a float type, not again in each of the three trainers
# (the first digits fit of a new process: 12 s, against 14 with the listed
# sums inlined and 10 before they took coasted rows), and with registers of
# their own (inlined into this trainer, the output update spilled and
# reloaded a vector a row: 18% of the digits samples against 11.5%). A call a
# sample is nothing beside their hundreds of rows.
@njit(cache=True)
def _listed_rows_sum_apart(acc, a0, x, rows, n_rows, w, v, w0, n_out, geo):
    listed_rows_sum(acc, a0, x, rows, n_rows, w, v, w0, n_out, geo)


@njit(cache=True)
def _narrow_rows_update_apart(params, vel, w0, n_in, n_out, inp, i0, delta, d0, skip, rule, alpha,
                              mom, lr):
    narrow_rows_update(params, vel, w0, n_in, n_out, inp, i0, delta, d0, skip, rule, alpha, mom, lr)


def _one_hidden_epochs(SOLVER, WIDE):
    """``train_samples`` for a network with one hidden layer,
    compiled for one optimiser and one kind of input: ``SOLVER`` and ``WIDE``
    (at least ``LAZY_MIN_INPUTS`` inputs: listed nonzero inputs and lazy
    momentum, else a loop over the inputs) are constants here.

    The article's networks all have one hidden layer, and on small ones (XOR's
    2-5-1) the generic step's overhead is most of the time: its loop over
    layers, and its optimiser chosen at run time in every update (each update
    site holds all the solvers' loops, 13 ns a sample each on XOR). Here the
    two layers are written out, a single output is summed in a register, and
    only the chosen optimiser is compiled (XOR: 270 -> 109 ns a sample; the
    first result of a new process with an empty cache 19 -> 10 s, as this
    compiles in 6 s against the generic loop's 15). An output layer of 4 to
    16 float64 (32 float32) units, a classifier's, is summed and updated in
    masked vectors (``simd.narrow_rows_sum``, ``narrow_rows_update``),
    where the loops ran a row of 10 as scalars (digits per-sample 3.9 -> 3.5
    us). Every sum and update is
    the generic engine's, in its order: the same bits (tested for every
    optimiser, activation, loss, bias setting and dtype). ``one_hidden_trainer``
    compiles one per optimiser and kind of input on first use and caches it
    on disk: numba's cache key hashes a closure's constants, so the six never
    collide. A trainer holds only its kind of input's code: XOR's compiles
    without the wide inputs' listed sums and lazy momentum, and the reverse.
    """

    def train(params, layout, loss, X, Y, batch_size, order_kind, seed, epoch0, n_epochs,
              solver, nesterov, hp, tol, n_iter_no_change, threads, vel, sq, state,
              order, A, D, G, batch_loss, loss_curve, sw, mt):
        T = params.dtype.type
        n_samples = X.shape[0]
        n_in = layout[0, N_IN]
        n_h = layout[0, N_OUT]
        w0 = _nonneg(layout[0, W_OFF])
        b0 = layout[0, B_OFF]
        act_h = layout[0, ACT]
        oh = _nonneg(layout[0, A_OFF])
        n_o = layout[1, N_OUT]
        w1 = _nonneg(layout[1, W_OFF])
        b1 = layout[1, B_OFF]
        act_o = layout[1, ACT]
        oo = _nonneg(layout[1, A_OFF])
        alpha = hp[ALPHA]
        weighted = sw.shape[0] > 0
        mom = hp[MOMENTUM]
        skip_zero = SOLVER == SGD and mom == 0.0 and alpha == 0.0
        lazy = WIDE and _lazy_momentum(SOLVER, hp, n_in)
        upto = np.zeros(n_in if lazy else 0, dtype=np.int64)
        # inputs listed, sums in registers: from LAZY_MIN_INPUTS inputs (lazy momentum
        # needs the list); on XOR's two they cost 18 ns a sample (149 against 131)
        nz = np.empty(n_in if WIDE else 0, dtype=np.int64)
        # lazy momentum: a listed row's coasting factors (_idle_factors; geo < 0: the
        # row is read as stored), and the listed rows split into those two kinds
        pks = np.empty(n_in if lazy else 0)
        geos = np.full(n_in if WIDE else 0, -1.0)
        live = np.empty(n_in if lazy else 0, dtype=np.int64)
        coasted = np.empty(n_in if lazy else 0, dtype=np.int64)
        powers, sums = _momentum_tables(mom, 1 << 14 if lazy else 0)
        a = A[0]
        d = D[0]
        step = 0
        done = 0
        for e in range(n_epochs):
            if e == 0 or order_kind != SEQUENTIAL:   # the call: 1.5 ns of an XOR sample
                next_order(order_kind, seed, epoch0 + e, order, mt)
            total = 0.0
            for k in range(n_samples):
                x = X[order[k]]
                y = Y[order[k]]
                alpha_s = alpha   # the L2 penalty of this sample's step
                if weighted:   # (see SAMPLE WEIGHTS above _epochs_trainer)
                    if sw[order[k]] == 0.0:
                        continue
                    alpha_s = alpha / sw[order[k]]
                state[STEP] += 1.0
                lr_t = _adam_lr(hp, state[STEP]) if SOLVER == ADAM else hp[LR]
                step += 1
                # the L2 term of the weights the step starts from (as train_samples)
                penalty = 0.5 * alpha_s * _sum_sq_weights(params, layout) if alpha > 0.0 else 0.0
                # hidden layer (rows of a zero input skipped; with lazy momentum a
                # row read is first brought up to date)
                _start_sums(params, b0, a, oh, n_h)
                if WIDE:   # (a closure constant: the other branch is not compiled)
                    n_nz = nonzero_positions(x, n_in, nz)   # the nonzero inputs
                    if lazy:
                        # the rows about to be read: a row that coasted is brought up
                        # to date as it is read and updated (listed_rows_sum,
                        # _update_coasted_rows), not written back first (_coast, which
                        # stored it twice: MNIST batch 1 8.2 -> 7.3 us a sample, digits
                        # the same); part D's rule still catches up in place
                        n_live = 0
                        n_coasted = 0
                        for t in range(n_nz):
                            i = nz[t]
                            idle = step - 1 - upto[i]
                            upto[i] = step
                            geos[i] = -1.0
                            coasts = idle > 0 and SOLVER == SGD
                            if SOLVER == SGD:   # (the lists _update_coasted_rows takes)
                                live[n_live] = i
                                n_live += not coasts
                                coasted[n_coasted] = i
                                n_coasted += coasts
                            if coasts:
                                pks[i], geos[i] = _idle_factors(idle, nesterov, mom, powers,
                                                                sums)
                            elif idle > 0:
                                _catch_up(params, vel, _nonneg(w0 + i * n_h), n_h, idle, SOLVER,
                                          nesterov, mom, powers, sums)
                    # the sums in registers for all the rows (the loop's order)
                    _listed_rows_sum_apart(a, oh, x, nz, n_nz, params, vel, w0, n_h, geos)
                else:   # a few inputs (XOR's two): the loop, a test an input
                    for i in range(n_in):
                        v = x[i]
                        if v != 0.0:
                            row = _nonneg(w0 + i * n_h)
                            for j in range(n_h):
                                a[oh + j] += v * params[row + j]
                activate_at(act_h, a, oh, n_h)
                # output layer; with few outputs (XOR's one) each is summed in a
                # register down its column, in the same order as the row-wise pass
                if n_o < 4:
                    for j in range(n_o):
                        z = params[_nonneg(b1 + j)] if b1 >= 0 else T(0.0)   # in the array's precision
                        for i in range(n_h):
                            v = a[oh + i]
                            if v != 0.0:
                                z += v * params[w1 + i * n_o + j]
                        a[oo + j] = z
                elif _narrow(params, n_o):   # a classifier's outputs, in registers
                    _start_sums(params, b1, a, oo, n_o)
                    narrow_rows_sum(a, oo, a, oh, params, w1, n_h, n_o)
                else:
                    _start_sums(params, b1, a, oo, n_o)
                    for i in range(n_h):
                        v = a[oh + i]
                        if v != 0.0:
                            row = _nonneg(w1 + i * n_o)
                            for j in range(n_o):
                                a[oo + j] += v * params[row + j]
                activate_at(act_o, a, oo, n_o)
                total += sample_loss_at(loss, act_o, a, y, oo, n_o) + penalty
                output_delta_at(loss, act_o, a, y, d, oo, n_o)
                # hidden deltas, four rows a pass: four independent running sums
                # (each in the order of j, so the same bits) instead of one chain
                quads = n_h // 4 if n_o >= 4 else 0
                for q in range(quads):
                    i = 4 * q
                    row = _nonneg(w1 + i * n_o)
                    s0 = s1 = s2 = s3 = 0.0
                    for j in range(n_o):
                        dj = d[oo + j]
                        s0 += params[row + j] * dj
                        s1 += params[row + n_o + j] * dj
                        s2 += params[row + 2 * n_o + j] * dj
                        s3 += params[row + 3 * n_o + j] * dj
                    d[oh + i] = s0 * derivative(act_h, a[oh + i])
                    d[oh + i + 1] = s1 * derivative(act_h, a[oh + i + 1])
                    d[oh + i + 2] = s2 * derivative(act_h, a[oh + i + 2])
                    d[oh + i + 3] = s3 * derivative(act_h, a[oh + i + 3])
                if n_o == 1:   # one output (XOR's): its column of weights in one loop
                    d_o = d[oo]
                    for i in range(n_h):
                        s = 0.0
                        s += params[w1 + i] * d_o
                        d[oh + i] = s * derivative(act_h, a[oh + i])
                for i in range(4 * quads if n_o > 1 else n_h, n_h):
                    row = _nonneg(w1 + i * n_o)
                    s = 0.0
                    for j in range(n_o):
                        s += params[row + j] * d[oo + j]
                    d[oh + i] = s * derivative(act_h, a[oh + i])
                # updates, each from the deltas computed with the old weights
                if WIDE and lazy and SOLVER == SGD:
                    _update_coasted_rows(params, vel, w0, n_h, x, live, n_live, coasted,
                                         n_coasted, d, oh, pks, geos, nesterov, hp)
                elif WIDE and SOLVER == SGD and skip_zero:   # plain SGD: the listed rows only
                    _update_listed_rows(params, w0, n_h, x, nz, n_nz, d, oh, hp)
                else:
                    _update_rows(params, vel, sq, w0, n_in, n_h, x, 0, d, oh, skip_zero or lazy,
                                 alpha_s, SOLVER, nesterov, hp, lr_t)
                if b0 >= 0:
                    _update_range_inline(params, vel, sq, b0, n_h, d[oh:oh + n_h], 1.0, 0.0,
                                         SOLVER, nesterov, hp, lr_t)
                if SOLVER == SGD_PREVIOUS_GRADIENT and n_o == 1:
                    # part D's network: the output's column in one loop, where
                    # _update_rows runs a loop of one weight a row (XOR: 114 -> 105 ns
                    # a sample with the hidden deltas' column above; same bits)
                    # (never skipped: skip_zero is plain SGD's)
                    lr = T(hp[LR])
                    mom_t = T(mom)
                    alpha_t = T(alpha_s)
                    d_o = d[oo]
                    for i in range(n_h):
                        _previous_gradient_step(params, vel, w1 + i,
                                                T(a[oh + i]) * d_o + alpha_t * params[w1 + i],
                                                lr, mom_t)
                elif SOLVER != ADAM and _narrow(params, n_o):
                    _narrow_rows_update_apart(params, vel, w1, n_h, n_o, a, oh, d, oo, skip_zero,
                                              _sgd_rule(SOLVER, nesterov, mom), T(alpha_s), T(mom),
                                              T(hp[LR]))
                else:
                    _update_rows(params, vel, sq, w1, n_h, n_o, a, oh, d, oo, skip_zero,
                                 alpha_s, SOLVER, nesterov, hp, lr_t)
                if b1 >= 0:
                    _update_range_inline(params, vel, sq, b1, n_o, d[oo:oo + n_o], 1.0, 0.0,
                                         SOLVER, nesterov, hp, lr_t)
            if lazy:
                _catch_up_all(params, vel, layout, upto, step, SOLVER, nesterov, hp, powers, sums)
            done = e + 1
            if end_epoch(state, loss_curve, e, total / n_samples, tol, n_iter_no_change):
                break
        return done

    return train


_ONE_HIDDEN = {}


def one_hidden_trainer(solver, n_in):
    """The batch-1 trainer of one-hidden-layer networks for ``solver`` and
    ``n_in`` inputs (compiled on first use, cached on disk). Same arguments
    and bits as ``train_samples``, for networks of that many inputs."""
    key = (int(solver), int(n_in) >= LAZY_MIN_INPUTS)
    if key not in _ONE_HIDDEN:
        _ONE_HIDDEN[key] = njit(cache=True)(_one_hidden_epochs(*key))
    return _ONE_HIDDEN[key]
