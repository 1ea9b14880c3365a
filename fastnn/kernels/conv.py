"""Valid convolution, forward and backward, and the convolutional network of part E.

Convention
----------
The article rotates each filter by 180 degrees and slides it over the image
(``numpy.rot90(filter, 2)``): a true convolution, as MATLAB's ``conv2(x, w,
'valid')`` and ``scipy.signal.convolve2d(x, w, mode='valid')``. fastnn keeps
that meaning (its element-wise product and sum replaces the article's faulty
matrix product)::

    z[f, r, c] = b[f] + sum_{ch, i, j} x[ch, r + i, c + j] * w[f, ch, kh - 1 - i, kw - 1 - j]

which is also ``scipy.signal.correlate2d(x, rot180(w), 'valid')``: the filters
``w`` are stored unflipped, the kernels index them flipped. Gradients follow::

    dL/dw[f, ch, kh - 1 - i, kw - 1 - j] = sum_{r, c} dz[f, r, c] * x[ch, r + i, c + j]
    dL/db[f] = sum_{r, c} dz[f, r, c]
    dL/dx[ch, r + i, c + j] += dz[f, r, c] * w[f, ch, kh - 1 - i, kw - 1 - j]

Shapes: images ``x`` (C, H, W) or (n, C, H, W); filters ``w`` (F, C, kh, kw);
maps (F, H - kh + 1, W - kw + 1).

The network
-----------
One convolution layer (activation ``conv_act``), ``p x p`` max pooling
(``pool.py``), then a dense head (``dense.py``'s layout: hidden layers and a
softmax output trained with cross-entropy). All parameters live in one flat
array: the filters (F*C*kh*kw, row-major), their biases (F), then the dense
head's parameters. ``spec`` is an int64 array of the shapes (see ``SPEC_*``).
The whole training loop runs in ``train_epochs``.
"""
import math

import numpy as np
from numba import njit, prange

from .activations import IDENTITY, LOGISTIC, RELU, SOFTMAX, TANH, derivative, logistic
from .dense import (A_OFF, ADAM, ALPHA, B_OFF, LR, MOMENTUM, N_IN, N_OUT, SGD, STEP, W_OFF,
                    _adam_lr, _update_range, end_epoch, epoch_order, forward_row, hidden_deltas_row,
                    make_layout)
from .losses import LOG, output_delta, sample_loss
from .pool import max_pool_image

# the entries of ``spec``
(SPEC_C, SPEC_H, SPEC_W, SPEC_F, SPEC_KH, SPEC_KW, SPEC_OH, SPEC_OW, SPEC_POOL, SPEC_PH, SPEC_PW,
 SPEC_ACT, SPEC_B_OFF, SPEC_DENSE_OFF, SPEC_N_POOLED) = range(15)
SPEC_LEN = 15


@njit(cache=True, inline="always")
def _act(code, v):
    """Activation ``code`` of one number (not softmax)."""
    if code == LOGISTIC:
        return logistic(v)
    if code == TANH:
        return math.tanh(v)
    if code == RELU:
        return v if v > 0.0 else 0.0 * v
    return v


# ---------------------------------------------------------------------------
# convolution of one image, and of a minibatch

@njit(cache=True)
def conv_image(x, w, b, act, out):
    """Valid convolution of one image with every filter, then ``act``.

    ``x`` (C, H, W), ``w`` (F, C, kh, kw), ``b`` (F,), ``out`` (F, H-kh+1,
    W-kw+1), written. The loops follow the definition above; the innermost
    runs along an output row, reading ``x`` contiguously.
    """
    n_f = w.shape[0]
    n_c = w.shape[1]
    kh = w.shape[2]
    kw = w.shape[3]
    oh = out.shape[1]
    ow = out.shape[2]
    for f in range(n_f):
        for r in range(oh):
            for c in range(ow):
                out[f, r, c] = b[f]
        for ch in range(n_c):
            for i in range(kh):
                for j in range(kw):
                    wv = w[f, ch, kh - 1 - i, kw - 1 - j]
                    for r in range(oh):
                        for c in range(ow):
                            out[f, r, c] += wv * x[ch, r + i, c + j]
        if act != IDENTITY:
            for r in range(oh):
                for c in range(ow):
                    out[f, r, c] = _act(act, out[f, r, c])


def _conv2d_valid(x, w, b, act, out):
    """Valid convolution of a minibatch, parallel over images.

    ``x`` (n, C, H, W), ``w`` (F, C, kh, kw), ``b`` (F,), ``act`` an
    activation code (``IDENTITY`` for the plain convolution), ``out``
    (n, F, H-kh+1, W-kw+1), written.
    """
    for n in prange(x.shape[0]):
        conv_image(x[n], w, b, act, out[n])


conv2d_valid = njit(parallel=True, cache=True)(_conv2d_valid)
conv2d_valid_serial = njit(_conv2d_valid)  # never cache a twin (numba#6845)


def _im2col(x, kh, kw, cols):
    """Patches of a minibatch as rows: ``cols[(n*oh + r)*ow + c, (ch*kh + i)*kw + j]
    = x[n, ch, r + kh - 1 - i, c + kw - 1 - j]`` (flipped, so that a patch row
    times a filter row is the convolution). Parallel over images."""
    n_img = x.shape[0]
    n_c = x.shape[1]
    oh = x.shape[2] - kh + 1
    ow = x.shape[3] - kw + 1
    for n in prange(n_img):
        for r in range(oh):
            for c in range(ow):
                row = (n * oh + r) * ow + c
                k = 0
                for ch in range(n_c):
                    for i in range(kh):
                        for j in range(kw):
                            cols[row, k] = x[n, ch, r + kh - 1 - i, c + kw - 1 - j]
                            k += 1


im2col = njit(parallel=True, cache=True)(_im2col)
im2col_serial = njit(_im2col)


@njit(cache=True)
def conv2d_valid_gemm(x, w, b, act, cols, out):
    """The same convolution as ``conv2d_valid``, as one matrix product.

    The patches go into ``cols`` (n*oh*ow, C*kh*kw) (scratch), which is
    multiplied by the filters as a (C*kh*kw, F) matrix (BLAS through
    ``np.dot``); ``out`` (n, F, oh, ow) is written. For the article's sizes
    (25 x 10 filter matrix) it measured about 3x slower than the loops (the
    patch matrix is 25 times the image), so the models use the loops; it stays
    as the tested alternative for many channels and filters.
    """
    n_img = x.shape[0]
    n_f = w.shape[0]
    oh = out.shape[2]
    ow = out.shape[3]
    im2col(x, w.shape[2], w.shape[3], cols)
    wmat = np.ascontiguousarray(w.reshape(n_f, cols.shape[1]).T)
    prod = np.dot(cols, wmat)
    for n in range(n_img):
        for f in range(n_f):
            for r in range(oh):
                for c in range(ow):
                    out[n, f, r, c] = _act(act, prod[(n * oh + r) * ow + c, f] + b[f])


def _conv2d_backward(x, w, delta, grad_w, grad_b, delta_in):
    """Backward pass of ``conv2d_valid`` on a minibatch.

    ``delta`` (n, F, oh, ow) is dLoss/dz of each map (after the activation's
    derivative). Writes ``grad_w`` (F, C, kh, kw) and ``grad_b`` (F,), the
    gradients averaged over the ``n`` images (parallel over filters: each
    filter's sums run over images in order, in one thread), and, when
    ``delta_in`` has ``n`` rows, ``delta_in`` (n, C, H, W) = dLoss/dx
    (parallel over images). Pass ``delta_in`` with 0 rows to skip it.
    """
    n_img = x.shape[0]
    n_f = w.shape[0]
    n_c = w.shape[1]
    kh = w.shape[2]
    kw = w.shape[3]
    oh = delta.shape[2]
    ow = delta.shape[3]
    for f in prange(n_f):
        for ch in range(n_c):
            for i in range(kh):
                for j in range(kw):
                    grad_w[f, ch, i, j] = 0.0
        gb = 0.0
        for n in range(n_img):
            for r in range(oh):
                for c in range(ow):
                    gb += delta[n, f, r, c]
            for ch in range(n_c):
                for i in range(kh):
                    for j in range(kw):
                        s = 0.0
                        for r in range(oh):
                            for c in range(ow):
                                s += delta[n, f, r, c] * x[n, ch, r + i, c + j]
                        grad_w[f, ch, kh - 1 - i, kw - 1 - j] += s
        for ch in range(n_c):
            for i in range(kh):
                for j in range(kw):
                    grad_w[f, ch, i, j] /= n_img
        grad_b[f] = gb / n_img
    if delta_in.shape[0] == n_img:
        for n in prange(n_img):
            for ch in range(n_c):
                for r in range(delta_in.shape[2]):
                    for c in range(delta_in.shape[3]):
                        delta_in[n, ch, r, c] = 0.0
            for f in range(n_f):
                for ch in range(n_c):
                    for i in range(kh):
                        for j in range(kw):
                            wv = w[f, ch, kh - 1 - i, kw - 1 - j]
                            for r in range(oh):
                                for c in range(ow):
                                    delta_in[n, ch, r + i, c + j] += wv * delta[n, f, r, c]


conv2d_backward = njit(parallel=True, cache=True)(_conv2d_backward)
conv2d_backward_serial = njit(_conv2d_backward)


# ---------------------------------------------------------------------------
# the network: one convolution layer, max pooling, a dense softmax head

def make_cnn_layout(image_shape, n_filters, kh, kw, pool, conv_act, hidden_sizes, hidden_act,
                    n_classes):
    """``spec``, the dense head's ``layout``, the parameter count and the
    dense units per image, for images of shape (C, H, W)."""
    n_c, h, w = (int(v) for v in image_shape)
    oh, ow = h - kh + 1, w - kw + 1
    ph, pw = oh // pool, ow // pool
    n_pooled = n_filters * ph * pw
    n_conv = n_filters * n_c * kh * kw
    sizes = [n_pooled] + [int(s) for s in hidden_sizes] + [int(n_classes)]
    acts = [hidden_act] * len(hidden_sizes) + [SOFTMAX]
    layout, n_dense, n_units = make_layout(sizes, acts, [True] * (len(sizes) - 1))
    spec = np.array([n_c, h, w, n_filters, kh, kw, oh, ow, pool, ph, pw, conv_act,
                     n_conv, n_conv + n_filters, n_pooled], dtype=np.int64)
    return spec, layout, n_conv + n_filters + n_dense, n_units


@njit(cache=True, inline="always")
def _conv_params(params, spec):
    n_f = spec[SPEC_F]
    w = params[:spec[SPEC_B_OFF]].reshape((n_f, spec[SPEC_C], spec[SPEC_KH], spec[SPEC_KW]))
    b = params[spec[SPEC_B_OFF]:spec[SPEC_B_OFF] + n_f]
    return w, b


@njit(cache=True)
def image_forward(params, spec, layout, x, conv, pooled, arg, a):
    """One image through the network.

    ``x`` (C, H, W); writes ``conv`` (F, oh, ow) the activated maps, ``pooled``
    (F*ph*pw,) the pooled maps flattened in (f, r, c) order (the dense head's
    input), ``arg`` (F*ph*pw,) int64 their argmax positions (flat, within each
    map), and ``a`` the dense head's activations (its output last).
    """
    w, b = _conv_params(params, spec)
    conv_image(x, w, b, spec[SPEC_ACT], conv)
    shp = (spec[SPEC_F], spec[SPEC_PH], spec[SPEC_PW])
    max_pool_image(conv, spec[SPEC_POOL], pooled.reshape(shp), arg.reshape(shp))
    forward_row(params[spec[SPEC_DENSE_OFF]:], layout, pooled, a)


@njit(cache=True, inline="always")
def _dot(a, a0, b, b0, n):
    """``sum_k a[a0 + k] * b[b0 + k]`` with eight partial sums in a fixed pattern.

    A plain running sum is one chain of dependent additions (no SIMD without
    fastmath); eight chains let the CPU overlap them. The rounding is fixed by
    the code, not by the thread count.
    """
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
    k = 0
    while k + 8 <= n:
        s0 += a[a0 + k] * b[b0 + k]
        s1 += a[a0 + k + 1] * b[b0 + k + 1]
        s2 += a[a0 + k + 2] * b[b0 + k + 2]
        s3 += a[a0 + k + 3] * b[b0 + k + 3]
        s4 += a[a0 + k + 4] * b[b0 + k + 4]
        s5 += a[a0 + k + 5] * b[b0 + k + 5]
        s6 += a[a0 + k + 6] * b[b0 + k + 6]
        s7 += a[a0 + k + 7] * b[b0 + k + 7]
        k += 8
    while k < n:
        s0 += a[a0 + k] * b[b0 + k]
        k += 1
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))


@njit(cache=True)
def _pooled_delta_and_update_first(pd, vd, sd, layout, pooled, d, cact, dp, alpha, solver, hp, lr_t):
    """For one image: the delta of the pooled units (with the old weights of
    the head's first layer), then that layer's update, row by row.

    ``dp[i] = f'(pooled[i]) * sum_j W[i, j] d[j]`` where ``f`` is the
    convolution's activation (a pooled value is the activated map at its
    argmax, so ``f'`` is taken there).
    """
    n_in = layout[0, N_IN]
    n_out = layout[0, N_OUT]
    w0 = layout[0, W_OFF]
    b0 = layout[0, B_OFF]
    o = layout[0, A_OFF]
    delta = d[o:o + n_out]
    plain = solver == SGD and hp[MOMENTUM] == 0.0 and alpha == 0.0
    for i in range(n_in):
        row = w0 + i * n_out
        v = pooled[i]
        dp[i] = _dot(pd, row, delta, 0, n_out) * derivative(cact, v)
        if plain:  # the article's rule, w -= lr * x_i * delta_j, in one pass
            c = lr_t * v
            for j in range(n_out):
                pd[row + j] -= c * delta[j]
        else:
            _update_range(pd, vd, sd, row, n_out, delta, v, alpha, solver, False, hp, lr_t)
    if b0 >= 0:
        _update_range(pd, vd, sd, b0, n_out, delta, 1.0, 0.0, solver, False, hp, lr_t)


@njit(cache=True)
def _update_head_upper(pd, vd, sd, layout, a, d, alpha, solver, hp, lr_t):
    """SGD/Adam update of the head's layers after the first, for one image."""
    for l in range(1, layout.shape[0]):
        n_in = layout[l, N_IN]
        n_out = layout[l, N_OUT]
        w0 = layout[l, W_OFF]
        b0 = layout[l, B_OFF]
        delta = d[layout[l, A_OFF]:layout[l, A_OFF] + n_out]
        p = layout[l - 1, A_OFF]
        for i in range(n_in):
            _update_range(pd, vd, sd, w0 + i * n_out, n_out, delta, a[p + i], alpha,
                          solver, False, hp, lr_t)
        if b0 >= 0:
            _update_range(pd, vd, sd, b0, n_out, delta, 1.0, 0.0, solver, False, hp, lr_t)


@njit(cache=True)
def filter_gradient_image(spec, x, dp, arg, gw, gb, accumulate):
    """One image's filter and bias gradients from the pooled deltas.

    Only the argmax position of each pooling block has a non-zero delta
    (``dp``, flat (f, r, c) order, at map position ``arg``), so the sum over
    map positions runs over the pooled cells. ``gw`` (F, C, kh, kw) and
    ``gb`` (F,) are overwritten, or added to when ``accumulate``.
    """
    n_f = spec[SPEC_F]
    n_c = spec[SPEC_C]
    kh = spec[SPEC_KH]
    kw = spec[SPEC_KW]
    ow = spec[SPEC_OW]
    cells = spec[SPEC_PH] * spec[SPEC_PW]
    for f in range(n_f):
        _filter_gradient_one(x, dp, arg, f, n_c, kh, kw, ow, cells, gw, gb, accumulate)


@njit(cache=True, inline="always")
def _filter_gradient_one(x, dp, arg, f, n_c, kh, kw, ow, cells, gw, gb, accumulate):
    if not accumulate:
        gb[f] = 0.0
        for ch in range(n_c):
            for i in range(kh):
                for j in range(kw):
                    gw[f, ch, i, j] = 0.0
    for k in range(cells):
        g = dp[f * cells + k]
        if g == 0.0:
            continue
        gb[f] += g
        pos = arg[f * cells + k]
        r = pos // ow
        c = pos % ow
        for ch in range(n_c):
            for i in range(kh):
                for j in range(kw):
                    gw[f, ch, kh - 1 - i, kw - 1 - j] += g * x[ch, r + i, c + j]


@njit(cache=True)
def _sum_sq(params, spec, layout):
    """Sum of squared weights (filters and head weights; no biases)."""
    s = 0.0
    for k in range(spec[SPEC_B_OFF]):
        s += float(params[k]) * float(params[k])
    d0 = spec[SPEC_DENSE_OFF]
    for l in range(layout.shape[0]):
        w0 = d0 + layout[l, W_OFF]
        for k in range(w0, w0 + layout[l, N_IN] * layout[l, N_OUT]):
            s += float(params[k]) * float(params[k])
    return s


@njit(cache=True)
def _image_step(params, spec, layout, x, y, conv, pooled, arg, a, d, dp, gw, gb,
                solver, hp, lr_t, vel, sq):
    """Forward, backward and update for one image (batch size 1); returns its loss.

    Every delta is computed with the weights as they were before the step;
    the head's layers are updated as their deltas are used, then the filters.
    """
    image_forward(params, spec, layout, x, conv, pooled, arg, a)
    last = layout.shape[0] - 1
    o = layout[last, A_OFF]
    n_out = layout[last, N_OUT]
    out = a[o:o + n_out]
    value = sample_loss(LOG, SOFTMAX, out, y)
    output_delta(LOG, SOFTMAX, out, y, d[o:o + n_out])
    doff = spec[SPEC_DENSE_OFF]
    pd = params[doff:]
    vd = vel[doff:]
    sd = sq[doff:]
    hidden_deltas_row(pd, layout, a, d)
    alpha = hp[ALPHA]
    _update_head_upper(pd, vd, sd, layout, a, d, alpha, solver, hp, lr_t)
    _pooled_delta_and_update_first(pd, vd, sd, layout, pooled, d, spec[SPEC_ACT], dp, alpha,
                                   solver, hp, lr_t)
    filter_gradient_image(spec, x, dp, arg, gw, gb, False)
    n_conv = spec[SPEC_B_OFF]
    _update_range(params, vel, sq, 0, n_conv, gw.reshape(n_conv), 1.0, alpha, solver, False,
                  hp, lr_t)
    _update_range(params, vel, sq, n_conv, spec[SPEC_F], gb, 1.0, 0.0, solver, False, hp, lr_t)
    return value


def _train_epochs(params, spec, layout, X, Y, batch_size, order_kind, seed, epoch0, n_epochs,
                  solver, hp, tol, n_iter_no_change, vel, sq, state,
                  order, CONV, POOL, ARG, A, D, DP, GW, GB, G, batch_loss, loss_curve, step_loss):
    """Train the network for up to ``n_epochs`` epochs; return the number run.

    Parameters
    ----------
    params : 1-D float array (see the module docstring), updated in place.
    spec, layout : from ``make_cnn_layout``.
    X : float array (n_samples, C, H, W); Y : float array (n_samples, n_classes), one-hot.
    batch_size : int >= 1. 1 is the article's per-image SGD.
    order_kind, seed, epoch0 : sample order as ``dense.train_epochs`` (SHUFFLE,
        SEQUENTIAL, REPLACEMENT keyed by ``(seed, epoch0 + e)``).
    solver, hp : ``dense.SGD`` or ``dense.ADAM`` and the hyper-parameters
        (lr, momentum, beta1, beta2, epsilon, alpha).
    tol, n_iter_no_change, state : stopping rule and training state as
        ``dense.train_epochs``.
    vel, sq : optimiser state, same length as ``params``.
    order : int64 (n_samples,), scratch.
    CONV (batch_size, F, oh, ow), POOL (batch_size, F*ph*pw), ARG (same, int64),
    A, D (batch_size, head units), DP (batch_size, F*ph*pw), GW (F, C, kh, kw),
    GB (F,), G (len(params),), batch_loss (batch_size,) : scratch.
    loss_curve : float64 (n_epochs,), out: mean loss of each epoch.
    step_loss : float64 (n_epochs, n_batches), out: the loss of each step (the
        image's loss at batch size 1, the batch mean otherwise), for the
        article's "error every 50 steps".

    Minibatches: forward and backward run in parallel over images; the head's
    gradient is summed per weight row and the filters' gradient per filter, by
    one thread each in image order, so the result does not depend on the
    number of threads.
    """
    n_samples = X.shape[0]
    n_layers = layout.shape[0]
    last = n_layers - 1
    o_last = layout[last, A_OFF]
    n_last = layout[last, N_OUT]
    alpha = hp[ALPHA]
    doff = spec[SPEC_DENSE_OFF]
    n_conv = spec[SPEC_B_OFF]
    n_f = spec[SPEC_F]
    n_c = spec[SPEC_C]
    kh = spec[SPEC_KH]
    kw = spec[SPEC_KW]
    ow = spec[SPEC_OW]
    cells = spec[SPEC_PH] * spec[SPEC_PW]
    cact = spec[SPEC_ACT]
    pd = params[doff:]
    vd = vel[doff:]
    sd = sq[doff:]
    gd = G[doff:]
    n_batches = (n_samples + batch_size - 1) // batch_size
    done = 0
    for e in range(n_epochs):
        epoch = epoch0 + e
        epoch_order(order_kind, seed, epoch, order)
        total = 0.0
        if batch_size == 1:
            for k in range(n_samples):
                idx = order[k]
                state[STEP] += 1.0
                lr_t = _adam_lr(hp, state[STEP]) if solver == ADAM else hp[LR]
                value = _image_step(params, spec, layout, X[idx], Y[idx], CONV[0], POOL[0],
                                    ARG[0], A[0], D[0], DP[0], GW, GB, solver, hp, lr_t, vel, sq)
                if alpha > 0.0:
                    value += 0.5 * alpha * _sum_sq(params, spec, layout)
                step_loss[e, k] = value
                total += value
        else:
            n_in0 = layout[0, N_IN]
            n_out0 = layout[0, N_OUT]
            o0 = layout[0, A_OFF]
            w00 = layout[0, W_OFF]
            for b in range(n_batches):
                start = b * batch_size
                nb = min(batch_size, n_samples - start)
                for r in prange(nb):
                    idx = order[start + r]
                    image_forward(params, spec, layout, X[idx], CONV[r], POOL[r], ARG[r], A[r])
                    out = A[r, o_last:o_last + n_last]
                    batch_loss[r] = sample_loss(LOG, SOFTMAX, out, Y[idx])
                    output_delta(LOG, SOFTMAX, out, Y[idx], D[r, o_last:o_last + n_last])
                    hidden_deltas_row(pd, layout, A[r], D[r])
                    dr = D[r]
                    for i in range(n_in0):
                        DP[r, i] = (_dot(pd, w00 + i * n_out0, dr, o0, n_out0)
                                    * derivative(cact, POOL[r, i]))
                bl = 0.0
                for r in range(nb):
                    bl += batch_loss[r]
                if alpha > 0.0:
                    bl += nb * 0.5 * alpha * _sum_sq(params, spec, layout)
                total += bl
                step_loss[e, b] = bl / nb
                state[STEP] += 1.0
                lr_t = _adam_lr(hp, state[STEP]) if solver == ADAM else hp[LR]
                scale = 1.0 / nb
                for l in range(n_layers):
                    n_in = layout[l, N_IN]
                    n_out = layout[l, N_OUT]
                    w0 = layout[l, W_OFF]
                    b0 = layout[l, B_OFF]
                    o = layout[l, A_OFF]
                    p = layout[l - 1, A_OFF] if l > 0 else 0
                    for i in prange(n_in):
                        row = w0 + i * n_out
                        g = gd[row:row + n_out]
                        for j in range(n_out):
                            g[j] = 0.0
                        for r in range(nb):
                            v = POOL[r, i] if l == 0 else A[r, p + i]
                            if v == 0.0:
                                continue
                            for j in range(n_out):
                                g[j] += v * D[r, o + j]
                        _update_range(pd, vd, sd, row, n_out, g, scale, alpha / nb,
                                      solver, False, hp, lr_t)
                    if b0 >= 0:
                        g = gd[b0:b0 + n_out]
                        for j in range(n_out):
                            g[j] = 0.0
                        for r in range(nb):
                            for j in range(n_out):
                                g[j] += D[r, o + j]
                        _update_range(pd, vd, sd, b0, n_out, g, scale, 0.0,
                                      solver, False, hp, lr_t)
                for f in prange(n_f):
                    gb = GB[f:f + 1]
                    gw = GW[f:f + 1]
                    gb[0] = 0.0
                    for ch in range(n_c):
                        for i in range(kh):
                            for j in range(kw):
                                gw[0, ch, i, j] = 0.0
                    for r in range(nb):
                        _filter_gradient_one(X[order[start + r]], DP[r], ARG[r], f, n_c, kh, kw,
                                             ow, cells, GW, GB, True)
                    per = n_c * kh * kw
                    _update_range(params, vel, sq, f * per, per, GW[f].reshape(per), scale,
                                  alpha / nb, solver, False, hp, lr_t)
                    _update_range(params, vel, sq, n_conv + f, 1, gb, scale, 0.0,
                                  solver, False, hp, lr_t)
        epoch_loss = total / n_samples
        loss_curve[e] = epoch_loss
        done = e + 1
        if end_epoch(state, epoch_loss, tol, n_iter_no_change):
            break
    return done


train_epochs = njit(parallel=True, cache=True)(_train_epochs)
train_epochs_serial = njit(_train_epochs)  # never cache a twin (numba#6845)


def _predict_proba(params, spec, layout, X, CONV, POOL, ARG, A, out):
    """Class probabilities of every image of ``X`` (n, C, H, W) into ``out``
    (n, n_classes); the scratch arrays have ``n`` rows. Parallel over images."""
    last = layout.shape[0] - 1
    o = layout[last, A_OFF]
    n_out = layout[last, N_OUT]
    for r in prange(X.shape[0]):
        image_forward(params, spec, layout, X[r], CONV[r], POOL[r], ARG[r], A[r])
        for j in range(n_out):
            out[r, j] = A[r, o + j]


predict_proba = njit(parallel=True, cache=True)(_predict_proba)
predict_proba_serial = njit(_predict_proba)


@njit(cache=True)
def gradient(params, spec, layout, X, Y, alpha, conv, pooled, arg, a, d, dp, grad):
    """Full-batch loss and its gradient with respect to ``params``.

    ``loss = mean_n L(x_n, y_n) + 0.5 * alpha * sum(weights**2) / n`` (filters
    and head weights; biases are not penalised); ``grad`` is overwritten with
    its derivative. ``conv``, ``pooled``, ``arg``, ``a``, ``d``, ``dp`` are
    one image's scratch. Serial; used by gradient checks, not by training.
    """
    n = X.shape[0]
    last = layout.shape[0] - 1
    o_last = layout[last, A_OFF]
    n_last = layout[last, N_OUT]
    doff = spec[SPEC_DENSE_OFF]
    n_conv = spec[SPEC_B_OFF]
    n_f = spec[SPEC_F]
    pd = params[doff:]
    gd = grad[doff:]
    gw = grad[:n_conv].reshape((n_f, spec[SPEC_C], spec[SPEC_KH], spec[SPEC_KW]))
    gb = grad[n_conv:n_conv + n_f]
    for k in range(grad.shape[0]):
        grad[k] = 0.0
    n_in0 = layout[0, N_IN]
    n_out0 = layout[0, N_OUT]
    total = 0.0
    for r in range(n):
        image_forward(params, spec, layout, X[r], conv, pooled, arg, a)
        out = a[o_last:o_last + n_last]
        total += sample_loss(LOG, SOFTMAX, out, Y[r])
        output_delta(LOG, SOFTMAX, out, Y[r], d[o_last:o_last + n_last])
        hidden_deltas_row(pd, layout, a, d)
        for l in range(layout.shape[0]):
            n_in = layout[l, N_IN]
            n_out = layout[l, N_OUT]
            w0 = layout[l, W_OFF]
            b0 = layout[l, B_OFF]
            o = layout[l, A_OFF]
            for i in range(n_in):
                v = pooled[i] if l == 0 else a[layout[l - 1, A_OFF] + i]
                for j in range(n_out):
                    gd[w0 + i * n_out + j] += v * d[o + j]
            if b0 >= 0:
                for j in range(n_out):
                    gd[b0 + j] += d[o + j]
        o0 = layout[0, A_OFF]
        for i in range(n_in0):
            dp[i] = (_dot(pd, layout[0, W_OFF] + i * n_out0, d, o0, n_out0)
                     * derivative(spec[SPEC_ACT], pooled[i]))
        filter_gradient_image(spec, X[r], dp, arg, gw, gb, True)
    for k in range(grad.shape[0]):
        grad[k] /= n
    ssw = 0.0
    for k in range(n_conv):
        grad[k] += alpha * params[k] / n
        ssw += params[k] * params[k]
    for l in range(layout.shape[0]):
        w0 = doff + layout[l, W_OFF]
        for k in range(w0, w0 + layout[l, N_IN] * layout[l, N_OUT]):
            grad[k] += alpha * params[k] / n
            ssw += params[k] * params[k]
    return total / n + 0.5 * alpha * ssw / n
