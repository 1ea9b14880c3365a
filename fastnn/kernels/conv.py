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
The whole training loop runs in ``train_samples`` at batch size 1, which runs
``_image_step``, whose loops are laid out for SIMD (maps at the image's row
stride, ``lane_dot`` for the sums; see the section "batch size 1"), and in
``train_epochs`` for minibatches, which runs the same loops per image
(section "minibatches"). Each is a kernel of its own: a fit compiles one.
"""
import math

import numpy as np
from numba import njit, prange, types
from numba.extending import overload

from ._parallel import adapt_choice, adapt_next, adapt_record, chunk
from .activations import (IDENTITY, LOGISTIC, RELU, SOFTMAX, TANH, activate_range, derivative,
                          logistic, logistic32_inplace)
from .dense import (A_OFF, ACT, ADAM, ALPHA, B_OFF, LR, MOMENTUM, N_IN, N_OUT, SGD, STEP, W_OFF,
                    _adam_lr, _add_four_rows, _nonneg, _update_range, end_epoch, epoch_order, forward_row,
                    hidden_deltas_row, make_layout)
from .losses import LOG, output_delta, sample_loss
from .pool import max_pool_image
from .simd import (CONV_VECTORS, TAP_LANES, TAP_ROWS, TILE_IMAGES, TILE_VECTORS, conv_tile1,
                   conv_tile2, cycles, lane_dot, lane_dot4, pool2_row, rows_tile4, tap_rows)

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


# ---------------------------------------------------------------------------
# batch size 1: the maps kept at the image's row stride
#
# Per image, the article's network is about 840k multiply-adds in loops of 5
# (the filter) or 24 (a map row). ``_image_step`` instead runs every loop over
# long contiguous ranges that LLVM vectorises: a map is stored at the image's
# row stride ``W`` (``z[f*lz + r*W + c]``, ``lz = (oh - 1)*W + ow``; columns
# ``ow..W-1`` of a row hold values of windows that wrap to the next image row,
# computed but never read), so one filter tap is a single multiply-add over
# ``lz`` consecutive positions. Each map value sums its taps in the same
# order as ``conv_image``. The filter gradient sums over the pooled cells
# (``_filter_gradient_maps``), a row of taps to a vector.
#
# The maps are pooled before they are activated. The convolution's
# activations (logistic, tanh, ReLU, identity) do not decrease, so max
# pooling commutes with them, and the derivative the backward pass needs is
# taken at the pooled value: only the pooled units are activated, a quarter
# of the values at 2 x 2 pooling (float32 logistic 3.3 -> 0.7 us an image on
# part E's network). The argmax is that of the map before the activation,
# the true maximum where the rounded activation ties two neighbours (a ReLU's
# zeros; its derivative there is 0, so the routing does not matter). An
# activation that is not monotone would need the maps activated first.

def _activate_maps32(code, z, n, bits, scale):
    if code == LOGISTIC:
        logistic32_inplace(z, n, bits, scale)
    elif code != IDENTITY:
        for j in range(n):
            z[j] = _act(code, z[j])


def _activate_maps64(code, z, n, bits, scale):   # activations.logistic, called (see activate_range)
    if code == LOGISTIC:
        activate_range(code, z, 0, n)
    elif code != IDENTITY:
        for j in range(n):
            z[j] = _act(code, z[j])


def _activate_maps(code, z, n, bits, scale):
    """Activation ``code`` on ``z[:n]`` in place (the polynomial logistic for
    float32); compiled, the float type picks the loop when the kernel compiles."""
    (_activate_maps32 if z.dtype == np.float32 else _activate_maps64)(code, z, n, bits, scale)


@overload(_activate_maps, inline="always")
def _activate_maps_overload(code, z, n, bits, scale):
    return _activate_maps32 if z.dtype == types.float32 else _activate_maps64


@njit(cache=True, inline="always")
def _conv_maps(params, spec, x, z, lz, f0, f1):
    """The maps of filters ``f0 <= f < f1`` of one image at the image's row stride.

    ``x`` is the image flattened (C*H*W,); ``z`` (F*lz,) is written,
    ``z[f*lz + r*W + c] = b[f] + sum_{ch, i, j} x[ch, r + i, c + j] * w[f, ch, kh-1-i, kw-1-j]``
    for ``c < ow`` (bias first, then the taps in ``(ch, i, j)`` order, as
    ``conv_image``), before the activation. Stretches of ``CONV_VECTORS``
    vectors of positions run in registers, two filters at a time
    (``conv_tile2``), the last stretch overlapping the one before; maps
    shorter than a stretch run a tap at a time over the map, four taps a
    pass. Both have the same bits. (On part E's network, float32, one
    thread: 7.1 -> 3.9 us an image.)
    """
    n_c = spec[SPEC_C]
    kh = spec[SPEC_KH]
    kw = spec[SPEC_KW]
    wd = spec[SPEC_W]
    hw = spec[SPEC_H] * wd
    b_off = spec[SPEC_B_OFF]
    per = n_c * kh * kw
    block = CONV_VECTORS * (64 // z.itemsize)
    if lz >= block:
        last = lz - block  # the last stretch overlaps the one before
        f = f0
        while f + 2 <= f1:
            for m0 in range(0, lz, block):
                conv_tile2(z, f * lz, x, params, f * per, b_off + f, n_c, kh, kw, wd, hw, lz,
                           min(m0, last))
            f += 2
        if f < f1:
            for m0 in range(0, lz, block):
                conv_tile1(z, f * lz, x, params, f * per, b_off + f, n_c, kh, kw, wd, hw, lz,
                           min(m0, last))
        return
    for f in range(f0, f1):
        zo = _nonneg(f * lz)
        bias = params[b_off + f]
        for m in range(lz):
            z[zo + m] = bias
    for f in range(f0, f1):
        zo = _nonneg(f * lz)
        for ch in range(n_c):
            for i in range(kh):
                wr = ((f * n_c + ch) * kh + kh - 1 - i) * kw + kw - 1  # tap j at wr - j
                xr = ch * hw + i * wd
                j = 0
                while j + 4 <= kw:  # four taps a pass over z, added in order: same bits
                    w0 = params[wr - j]
                    w1 = params[wr - j - 1]
                    w2 = params[wr - j - 2]
                    w3 = params[wr - j - 3]
                    x0 = _nonneg(xr + j)
                    x1 = _nonneg(x0 + 1)
                    x2 = _nonneg(x0 + 2)
                    x3 = _nonneg(x0 + 3)
                    for m in range(lz):
                        z[zo + m] = (((z[zo + m] + w0 * x[x0 + m]) + w1 * x[x1 + m])
                                     + w2 * x[x2 + m]) + w3 * x[x3 + m]
                    j += 4
                while j < kw:
                    wv = params[wr - j]
                    xo = _nonneg(xr + j)
                    for m in range(lz):
                        z[zo + m] += wv * x[xo + m]
                    j += 1


@njit(cache=True, inline="always")
def _pool_maps(z, lz, spec, pooled, arg, f0, f1):
    """Max pooling of the maps of filters ``f0 <= f < f1`` (``_conv_maps``'s):
    ``pooled`` (F*ph*pw,) in (f, r, c) order and ``arg``, the position of each
    maximum in its map, ``row * W + col`` (the image's stride). Ties go to the
    first maximum, as ``max_pool_image``."""
    p = spec[SPEC_POOL]
    ph = spec[SPEC_PH]
    pw = spec[SPEC_PW]
    wd = spec[SPEC_W]
    for f in range(f0, f1):
        zo = _nonneg(f * lz)
        if p == 2:  # the article's pooling: a row of windows to a vector
            for r in range(ph):
                pool2_row(z, zo, 2 * r * wd, wd, pw, pooled, (f * ph + r) * pw, arg)
            continue
        for r in range(ph):
            for c in range(pw):
                at = (p * r) * wd + p * c
                best = z[zo + at]
                for i in range(p):
                    for j in range(p):
                        pos = (p * r + i) * wd + p * c + j
                        v = z[zo + pos]
                        take = v > best  # strict: the first maximum wins ties
                        at = pos if take else at  # selects, not branches: the maxima
                        best = v if take else best  # fall at random, and mispredict
                k = (f * ph + r) * pw + c
                pooled[k] = best
                arg[k] = at


@njit(cache=True, inline="always")
def _filter_gradient_maps(spec, x, dp, arg, dz, lz, gw, gb, f0, f1):
    """One image's gradients of filters ``f0 <= f < f1`` and their biases,
    ``gw[f]`` (``gw`` (F, C, kh, kw)) and ``gb[f]`` overwritten, from the pooled
    deltas ``dp`` and their positions ``arg`` (``_pool_maps``'s).

    Only a pooled cell's argmax has a delta, so a tap's gradient is a sum over
    the cells: ``gw[f, ch, kh-1-i, kw-1-j] = sum_k dp[k] x[ch*H*W + i*W + j + arg[k]]``
    (cells in order, ``tap_rows``: a filter row's taps in one vector, every
    row's sums in registers). On part E's network that is 144 terms a tap
    where the sum over the map has 668, most of them zero: the filter
    gradient went from 8.8 to 3.3 us an image (float32, one thread). Filters
    wider than ``TAP_LANES`` route the deltas into ``dz`` (lz,), zero
    elsewhere (and zeroed again after), and take each tap as one ``lane_dot``
    over the map.
    """
    n_c = spec[SPEC_C]
    kh = spec[SPEC_KH]
    kw = spec[SPEC_KW]
    wd = spec[SPEC_W]
    hw = spec[SPEC_H] * wd
    cells = spec[SPEC_PH] * spec[SPEC_PW]
    zero = gb.dtype.type(0.0)
    gw1 = gw.reshape(gw.size)
    for f in range(f0, f1):
        k0 = _nonneg(f * cells)
        sb = zero  # the bias sum in a register: gb[f] += g would wait on memory each time
        for k in range(cells):
            sb += dp[k0 + k]
        gb[f] = sb
        if kw <= TAP_LANES:
            for ch in range(n_c):
                for i0 in range(0, kh, TAP_ROWS):
                    tap_rows(gw1, ((f * n_c + ch) * kh + kh - 1 - i0) * kw + kw - 1, -kw,
                             x, ch * hw + i0 * wd, wd, min(TAP_ROWS, kh - i0), dp, arg, k0,
                             cells, kw)
            continue
        for k in range(cells):
            dz[arg[k0 + k]] = dp[k0 + k]
        for ch in range(n_c):
            for i in range(kh):
                xr = ch * hw + i * wd
                j = 0
                while j + 4 <= kw:  # four taps of the row together
                    t0, t1, t2, t3 = lane_dot4(dz, 0, x, xr + j, 1, lz)
                    gw[f, ch, kh - 1 - i, kw - 1 - j] = t0
                    gw[f, ch, kh - 1 - i, kw - 2 - j] = t1
                    gw[f, ch, kh - 1 - i, kw - 3 - j] = t2
                    gw[f, ch, kh - 1 - i, kw - 4 - j] = t3
                    j += 4
                while j < kw:
                    gw[f, ch, kh - 1 - i, kw - 1 - j] = lane_dot(dz, 0, x, xr + j, lz)
                    j += 1
        for k in range(cells):
            dz[arg[k0 + k]] = 0.0


@njit(cache=True, inline="always")
def _head_layer(pd, layout, x, a, l):
    """The head's layer ``l`` for one image (``dense.forward_row``'s values), activated.

    ``a[o + j] = b[j] + sum_i x_i W[i, j]`` with the inputs added in order, but
    each pass over the outputs adds the rows of four inputs, loading and
    storing ``a`` once for four rows (the first layer has 1440 rows of 128).
    Zero inputs are skipped only when all four are zero. ``x`` is the pooled
    maps (layer 0's input); later layers read ``a``.
    """
    n_in = layout[l, N_IN]
    n_out = layout[l, N_OUT]
    w0 = layout[l, W_OFF]
    b0 = layout[l, B_OFF]
    o = _nonneg(layout[l, A_OFF])
    p = _nonneg(layout[l - 1, A_OFF]) if l > 0 else 0
    if b0 >= 0:
        b0 = _nonneg(b0)
        for j in range(n_out):
            a[o + j] = pd[b0 + j]
    else:
        for j in range(n_out):
            a[o + j] = 0.0
    i = 0
    while i + 4 <= n_in:
        if l == 0:
            v0, v1, v2, v3 = x[i], x[i + 1], x[i + 2], x[i + 3]
        else:
            v0, v1, v2, v3 = a[p + i], a[p + i + 1], a[p + i + 2], a[p + i + 3]
        if not (v0 == 0.0 and v1 == 0.0 and v2 == 0.0 and v3 == 0.0):
            r0 = w0 + i * n_out
            _add_four_rows(a, o, v0, v1, v2, v3, pd, r0, r0 + n_out, r0 + 2 * n_out,
                           r0 + 3 * n_out, n_out)
        i += 4
    while i < n_in:
        v = x[i] if l == 0 else a[p + i]
        if v != 0.0:
            row = _nonneg(w0 + i * n_out)
            for j in range(n_out):
                a[o + j] += v * pd[row + j]
        i += 1
    activate_range(layout[l, ACT], a, o, n_out)


@njit(cache=True, inline="always")
def _head_forward(pd, layout, x, a):
    """``dense.forward_row`` for one image (``_head_layer`` on every layer)."""
    for l in range(layout.shape[0]):
        _head_layer(pd, layout, x, a, l)


@njit(cache=True, inline="always")
def _first_layer_partial(pd, layout, x, s, f, cells):
    """``s[f, j] = sum_i x_i W[i, j]`` over filter ``f``'s pooled units
    ``f*cells <= i < (f+1)*cells``: its share of the head's first layer, in
    order, four rows a pass (``_head_layer``'s pattern)."""
    n_out = layout[0, N_OUT]
    w0 = layout[0, W_OFF]
    sf = s[f]
    for j in range(n_out):
        sf[j] = 0.0
    i = f * cells
    i1 = i + cells
    while i + 4 <= i1:
        v0, v1, v2, v3 = x[i], x[i + 1], x[i + 2], x[i + 3]
        if not (v0 == 0.0 and v1 == 0.0 and v2 == 0.0 and v3 == 0.0):
            r0 = w0 + i * n_out
            _add_four_rows(sf, 0, v0, v1, v2, v3, pd, r0, r0 + n_out, r0 + 2 * n_out,
                           r0 + 3 * n_out, n_out)
        i += 4
    while i < i1:
        v = x[i]
        if v != 0.0:
            row = _nonneg(w0 + i * n_out)
            for j in range(n_out):
                s[f, j] += v * pd[row + j]
        i += 1


@njit(cache=True, inline="always")
def _first_layer_from_partials(pd, layout, s, a):
    """The head's first layer for one image from ``_first_layer_partial``'s
    sums: ``a[o + j] = f(b[j] + s[0, j] + s[1, j] + ...)``, filters in order."""
    n_out = layout[0, N_OUT]
    b0 = layout[0, B_OFF]
    o = _nonneg(layout[0, A_OFF])
    if b0 >= 0:
        b0 = _nonneg(b0)
        for j in range(n_out):
            a[o + j] = pd[b0 + j]
    else:
        for j in range(n_out):
            a[o + j] = 0.0
    for f in range(s.shape[0]):
        for j in range(n_out):
            a[o + j] += s[f, j]
    activate_range(layout[0, ACT], a, o, n_out)


@njit(cache=True, inline="always")
def _pooled_deltas(pd, layout, pooled, d, cact, dp, i0, i1):
    """``dp[i] = f'(pooled[i]) * sum_j W[i, j] d[j]`` for ``i0 <= i < i1``, ``W``
    the head's first layer and ``f`` the convolution's activation (a pooled
    value is the activated map at its argmax, so ``f'`` is taken there); the
    sums are ``lane_dot``s, four rows together."""
    n_out = layout[0, N_OUT]
    w0 = _nonneg(layout[0, W_OFF])
    o = _nonneg(layout[0, A_OFF])
    i = i0
    while i + 4 <= i1:
        s0, s1, s2, s3 = lane_dot4(d, o, pd, w0 + i * n_out, n_out, n_out)
        dp[i] = s0 * derivative(cact, pooled[i])
        dp[i + 1] = s1 * derivative(cact, pooled[i + 1])
        dp[i + 2] = s2 * derivative(cact, pooled[i + 2])
        dp[i + 3] = s3 * derivative(cact, pooled[i + 3])
        i += 4
    while i < i1:
        dp[i] = lane_dot(pd, w0 + i * n_out, d, o, n_out) * derivative(cact, pooled[i])
        i += 1


@njit(cache=True, inline="always")
def _pooled_delta_and_update_rows(pd, vd, sd, layout, pooled, d, cact, dp, alpha, solver, hp, lr_t,
                                  i0, i1):
    """For one image and the rows ``i0 <= i < i1`` of the head's first layer:
    the delta of those pooled units (with the old weights), then the rows' update.

    ``dp[i] = f'(pooled[i]) * sum_j W[i, j] d[j]`` where ``f`` is the
    convolution's activation (a pooled value is the activated map at its
    argmax, so ``f'`` is taken there). The sum is a ``lane_dot``; the row is
    updated while it is in cache, indexed at clamped offsets (no views). (Four
    rows at a time through ``lane_dot4``, then their updates, measured 20%
    slower per image on part E's network.)
    """
    T = pd.dtype.type
    n_out = layout[0, N_OUT]
    w0 = layout[0, W_OFF]
    o = _nonneg(layout[0, A_OFF])
    plain = solver == SGD and hp[MOMENTUM] == 0.0 and alpha == 0.0
    for i in range(i0, i1):
        row = _nonneg(w0 + i * n_out)
        v = pooled[i]
        dp[i] = lane_dot(pd, row, d, o, n_out) * derivative(cact, v)
        if plain:  # the article's rule, w -= lr * x_i * delta_j, in one pass
            c = T(lr_t * v)
            for j in range(n_out):
                pd[row + j] -= c * d[o + j]
        else:
            _update_range(pd, vd, sd, row, n_out, d[o:o + n_out], v, alpha, solver, False,
                          hp, lr_t)


@njit(cache=True, inline="always")
def _head_top(pd, vd, sd, layout, a, d, y, alpha, solver, hp, lr_t):
    """The head of one image after its first layer's outputs are in ``a``:
    the later layers' forward pass, the loss (returned), every layer's delta
    (old weights), the update of the later layers and of the first layer's
    biases. The first layer's weights are left to ``_pooled_delta_and_update_rows``."""
    for l in range(1, layout.shape[0]):
        _head_layer(pd, layout, a, a, l)
    last = layout.shape[0] - 1
    o = layout[last, A_OFF]
    n_out = layout[last, N_OUT]
    out = a[o:o + n_out]
    value = sample_loss(LOG, SOFTMAX, out, y)
    output_delta(LOG, SOFTMAX, out, y, d[o:o + n_out])
    hidden_deltas_row(pd, layout, a, d)
    _update_head_upper(pd, vd, sd, layout, a, d, alpha, solver, hp, lr_t)
    b0 = layout[0, B_OFF]
    if b0 >= 0:
        o0 = layout[0, A_OFF]
        _update_range(pd, vd, sd, b0, layout[0, N_OUT], d[o0:o0 + layout[0, N_OUT]], 1.0, 0.0,
                      solver, False, hp, lr_t)
    return value


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
def _forward_part(params, spec, layout, x, z, lz, bits, scale, pooled, arg, s, f):
    """Filter ``f`` of one image: its map, pooled, the pooled units activated
    (see the section "batch size 1"), and its share ``s[f]`` of the head's
    first layer (``_first_layer_partial``)."""
    cells = spec[SPEC_PH] * spec[SPEC_PW]
    _conv_maps(params, spec, x, z, lz, f, f + 1)
    _pool_maps(z, lz, spec, pooled, arg, f, f + 1)
    m0 = f * cells
    _activate_maps(spec[SPEC_ACT], pooled[m0:m0 + cells], cells, bits[m0:m0 + cells],
                   scale[m0:m0 + cells])
    _first_layer_partial(params[spec[SPEC_DENSE_OFF]:], layout, pooled, s, f, cells)


@njit(cache=True)
def _backward_part(params, spec, layout, x, pooled, arg, d, dp, dz, lz, gw, gb, f,
                   solver, hp, lr_t, vel, sq):
    """Filter ``f`` of one image after ``_head_top``: the deltas of its pooled
    units and the update of the head's first-layer rows that read them, then
    the filter's gradient and update."""
    doff = spec[SPEC_DENSE_OFF]
    alpha = hp[ALPHA]
    cells = spec[SPEC_PH] * spec[SPEC_PW]
    _pooled_delta_and_update_rows(params[doff:], vel[doff:], sq[doff:], layout, pooled, d,
                                  spec[SPEC_ACT], dp, alpha, solver, hp, lr_t,
                                  f * cells, (f + 1) * cells)
    _filter_gradient_maps(spec, x, dp, arg, dz, lz, gw, gb, f, f + 1)
    n_conv = spec[SPEC_B_OFF]
    per = n_conv // spec[SPEC_F]
    _update_range(params, vel, sq, f * per, per, gw.reshape(n_conv)[f * per:(f + 1) * per],
                  1.0, alpha, solver, False, hp, lr_t)
    _update_range(params, vel, sq, n_conv + f, 1, gb[f:f + 1], 1.0, 0.0, solver, False, hp, lr_t)


@njit(cache=True, inline="always")
def _image_step(params, spec, layout, x, y, z, lz, bits, scale, dz, pooled, arg, a, d, dp, gw, gb,
                s, solver, hp, lr_t, vel, sq, split):
    """Forward, backward and update for one image (batch size 1); returns its loss.

    ``x`` is the image flattened; ``z`` (F*lz,), ``bits``, ``scale`` (at least
    F*ph*pw) and ``dz`` (F, lz) are the scratch of ``_conv_maps``, ``_activate_maps`` and
    ``_filter_gradient_maps`` (``dz`` all zero), ``s`` (F, first layer's
    outputs) the first layer's per-filter sums. Every delta is computed with
    the weights as they were before the step; the head's layers are updated
    as their deltas are used, then the filters.

    The work is per filter: the filter's map, its pooled units and their share
    of the first layer's sums (``_forward_part``), then, after the head
    (``_head_top``), the first-layer rows of those units and the filter
    (``_backward_part``). With ``split`` the filters run in parallel (a thread
    keeps the same filters, and so the same weight rows, in both loops); each
    output is computed by one filter's part in a fixed order, so the result
    does not depend on the number of threads.
    """
    n_f = spec[SPEC_F]
    doff = spec[SPEC_DENSE_OFF]
    pd = params[doff:]
    if split:
        for fu in prange(n_f):  # (an unsigned prange index would compile the parts again)
            _forward_part(params, spec, layout, x, z, lz, bits, scale, pooled, arg, s, np.int64(fu))
    else:
        for f in range(n_f):
            _forward_part(params, spec, layout, x, z, lz, bits, scale, pooled, arg, s, f)
    _first_layer_from_partials(pd, layout, s, a)
    value = _head_top(pd, vel[doff:], sq[doff:], layout, a, d, y, hp[ALPHA], solver, hp, lr_t)
    if split:
        for fu in prange(n_f):
            f = np.int64(fu)
            _backward_part(params, spec, layout, x, pooled, arg, d, dp, dz[f], lz, gw, gb, f,
                           solver, hp, lr_t, vel, sq)
    else:
        for f in range(n_f):
            _backward_part(params, spec, layout, x, pooled, arg, d, dp, dz[0], lz, gw, gb, f,
                           solver, hp, lr_t, vel, sq)
    return value


# Multiply-adds an image below which batch size 1 runs on one thread: a
# parallel loop costs about 1 us to start and wait for (OpenMP, 2 threads),
# and the split step starts two per image.
SPLIT_WORK = 100_000
# The longest gap between two probes of the other way at batch size 1, in
# images: an image takes 35-55 us and a probe of two threads beside a busy
# process may wait 25 ms, so the trainers' 256 batches would spend as much
# again on probes (part E's network, 10000 images: 0.80 s with them, 0.61-0.67 s
# with this; one thread 0.56 s).
ADAPT_MAX_GAP_IMAGES = 4096


@njit(cache=True)
def _split_work(spec, layout):
    """Whether ``_image_step`` runs its filters in parallel: when the image's
    multiply-adds (convolution, filter gradient, the head's first layer three
    times) pay for the parallel loops."""
    maps = spec[SPEC_F] * spec[SPEC_OH] * spec[SPEC_OW] * spec[SPEC_C] * spec[SPEC_KH] * spec[SPEC_KW]
    return 2 * maps + 3 * layout[0, N_IN] * layout[0, N_OUT] >= SPLIT_WORK


# ---------------------------------------------------------------------------
# minibatches: the batch-1 helpers per image, then the sums over the batch
#
# One thread takes four images of the batch through the same loops as
# ``_image_step`` (maps at the row stride, pooled then activated, ``lane_dot``
# for the pooled deltas, ``tap_rows`` for the filter gradient) but updates
# nothing: it leaves the images' head deltas and their filter and bias
# gradients in their own rows of the scratch, and reads the head's first
# layer once for the four (forward, sums in registers, and pooled deltas).
# The sums over the batch then run parallel over independent outputs
# (weight rows of the head, filters), each adding the batch rows in order,
# so the result does not depend on the thread count. Measured on part E's
# network in float32, one thread, per image: convolution 3.9 us (7.1 a tap
# at a time over the map), pooling about 0.9 (3.7 a window at a time),
# logistic 0.7 (3.3 on the whole maps), head forward 5.7 (7.0 with the four
# images' sums in memory, 10 an image at a time), pooled deltas 5.3-6.5 (8.6
# an image at a time), filter gradient 3.3 (8.8 as ``lane_dot`` over the
# map); the batch's sums and updates add about 7. The per-image loops used
# before (``image_forward``, libm's exp, ``_dot``, ``_filter_gradient_one``)
# took 330 us.

@njit(cache=True, inline="always")
def _first_layer_group(pd, layout, P, A, r0, r1):
    """The head's first layer for images ``r0 <= r < r1`` of a batch (pooled
    maps ``P[r]``, activations into ``A[r]``): ``_head_layer``'s values and
    order for each image. Four images at a time run ``rows_tile4`` over the
    columns, their sums in registers; the rest (a group's last images, the
    columns after the last whole tile) read every block of four weight rows
    once for all their images (from L1 after the first), not once an image."""
    n_in = layout[0, N_IN]
    n_out = layout[0, N_OUT]
    w0 = layout[0, W_OFF]
    b0 = layout[0, B_OFF]
    o = _nonneg(layout[0, A_OFF])
    n_units = A.shape[1]
    n_p = P.shape[1]
    A1 = A.reshape(A.size)
    P1 = P.reshape(P.size)
    for r in range(r0, r1):
        if b0 >= 0:
            for j in range(n_out):
                A[r, o + j] = pd[_nonneg(b0) + j]
        else:
            for j in range(n_out):
                A[r, o + j] = 0.0
    width = TILE_VECTORS * (64 // pd.itemsize)
    tiled = (n_out // width) * width
    r = r0
    while r + TILE_IMAGES <= r1:
        zeros = 0  # the four images' zero inputs (none: the tile need not test for them)
        for t in range(r, r + TILE_IMAGES):
            for i in range(n_in):
                zeros += P[t, i] == 0.0
        for j0 in range(0, tiled, width):
            rows_tile4(A1, r * n_units + o + j0, n_units, P1, r * n_p, n_p, 1, pd, w0 + j0, n_in,
                       n_out, zeros)
        r += TILE_IMAGES
    # the tiled images' last columns, then the images after the tiles: one call, one
    # inlined copy
    for part in range(2):
        _first_layer_rest(pd, layout, P, A1, n_units, r if part else r0, r1 if part else r,
                          0 if part else tiled, n_out)
    for r in range(r0, r1):
        activate_range(layout[0, ACT], A[r], o, n_out)


@njit(cache=True, inline="always")
def _first_layer_rest(pd, layout, P, A1, n_units, r0, r1, j0, j1):
    """Columns ``j0 <= j < j1`` of the head's first layer's sums for images
    ``r0 <= r < r1`` (``A1`` flat, a row every ``n_units``), added to what is
    there: four weight rows a pass, as ``_head_layer``."""
    if r1 <= r0 or j1 <= j0:
        return
    n_in = layout[0, N_IN]
    n_out = layout[0, N_OUT]
    w0 = layout[0, W_OFF]
    o = _nonneg(layout[0, A_OFF]) + j0
    n = j1 - j0
    i = 0
    while i + 4 <= n_in:
        q0 = w0 + i * n_out + j0
        q1 = q0 + n_out
        q2 = q1 + n_out
        q3 = q2 + n_out
        for r in range(r0, r1):
            v0, v1, v2, v3 = P[r, i], P[r, i + 1], P[r, i + 2], P[r, i + 3]
            if not (v0 == 0.0 and v1 == 0.0 and v2 == 0.0 and v3 == 0.0):
                _add_four_rows(A1, r * n_units + o, v0, v1, v2, v3, pd, q0, q1, q2, q3, n)
        i += 4
    while i < n_in:
        q = _nonneg(w0 + i * n_out + j0)
        for r in range(r0, r1):
            v = P[r, i]
            if v != 0.0:
                k = _nonneg(r * n_units + o)
                for j in range(n):
                    A1[k + j] += v * pd[q + j]
        i += 1


@njit(cache=True)
def _group_gradient(params, spec, layout, X1, Y, order, start, r0, r1, Z, lz, BITS, SCALE, dz, P,
                    ARG, A, D, DP, GP, batch_loss, sw):
    """Forward and backward of images ``r0 <= r < r1`` of the batch starting
    at ``start`` (at most four), with the weights unchanged.

    Per image as ``_image_step`` without the updates: ``P[r]``, ``ARG[r]``,
    ``A[r]``, ``D[r]`` (every layer's delta) and ``DP[r]`` are written,
    ``GP[r]`` (F*C*kh*kw + F,) gets the image's filter gradients (flat,
    ``params``' order) then its bias gradients, and ``batch_loss[r]`` its
    loss. The head's first layer is read once for the group, forward
    (``_first_layer_group``) and for the pooled deltas (``lane_dot4`` over
    the four images' deltas, each with ``lane_dot``'s bits). ``Z`` (F*lz a
    row) holds the maps; ``BITS`` and ``SCALE`` (F*ph*pw a row) are the
    logistic's scratch for the pooled units; ``dz`` (lz,) is zero. Where
    ``sw`` holds weights, an image's loss and output deltas (and so all its
    gradients, which are linear in them) are multiplied by its weight.
    """
    cact = spec[SPEC_ACT]
    n_f = spec[SPEC_F]
    n_pooled = spec[SPEC_N_POOLED]
    pd = params[spec[SPEC_DENSE_OFF]:]
    for r in range(r0, r1):
        z = Z[r]
        _conv_maps(params, spec, X1[order[start + r]], z, lz, 0, n_f)
        _pool_maps(z, lz, spec, P[r], ARG[r], 0, n_f)
        _activate_maps(cact, P[r], n_pooled, BITS[r], SCALE[r])
    _first_layer_group(pd, layout, P, A, r0, r1)
    last = layout.shape[0] - 1
    o = layout[last, A_OFF]
    n_out = layout[last, N_OUT]
    for r in range(r0, r1):
        a = A[r]
        d = D[r]
        for l in range(1, layout.shape[0]):
            _head_layer(pd, layout, a, a, l)
        y = Y[order[start + r]]
        batch_loss[r] = sample_loss(LOG, SOFTMAX, a[o:o + n_out], y)
        output_delta(LOG, SOFTMAX, a[o:o + n_out], y, d[o:o + n_out])
        if sw.shape[0] > 0:
            w = sw[order[start + r]]
            batch_loss[r] *= w
            for j in range(o, o + n_out):
                d[j] *= w
        hidden_deltas_row(pd, layout, a, d)
    if r1 - r0 == 4:
        n_in0 = layout[0, N_IN]
        n_out0 = layout[0, N_OUT]
        w00 = _nonneg(layout[0, W_OFF])
        o0 = _nonneg(layout[0, A_OFF])
        n_units = D.shape[1]
        D1 = D.reshape(D.size)
        e0 = _nonneg(r0 * n_units + o0)
        for i in range(n_in0):
            s0, s1, s2, s3 = lane_dot4(pd, w00 + i * n_out0, D1, e0, n_units, n_out0)
            DP[r0, i] = s0 * derivative(cact, P[r0, i])
            DP[r0 + 1, i] = s1 * derivative(cact, P[r0 + 1, i])
            DP[r0 + 2, i] = s2 * derivative(cact, P[r0 + 2, i])
            DP[r0 + 3, i] = s3 * derivative(cact, P[r0 + 3, i])
    else:
        for r in range(r0, r1):
            _pooled_deltas(pd, layout, P[r], D[r], cact, DP[r], 0, layout[0, N_IN])
    n_conv = spec[SPEC_B_OFF]
    for r in range(r0, r1):
        gwb = GP[r]
        gw = gwb[:n_conv].reshape((n_f, spec[SPEC_C], spec[SPEC_KH], spec[SPEC_KW]))
        _filter_gradient_maps(spec, X1[order[start + r]], DP[r], ARG[r], dz, lz, gw,
                              gwb[n_conv:n_conv + n_f], 0, n_f)


# Rows of the head's weight gradient one task sums together (``_batch_outer_rows``).
OUTER_ROWS = 8


@njit(cache=True, inline="always")
def _batch_outer_rows(inp, i0, i1, istride, d, d0, dstride, n_out, nb, g, g0):
    """Rows ``i0:i1`` of the batch's weight gradient: row ``i`` at ``g0 + (i - i0) * n_out``,
    ``g[.. + j] = sum_{r < nb} inp[i + r*istride] * d[d0 + r*dstride + j]``.

    ``inp`` and ``d`` are flat, a batch row every ``istride`` / ``dstride``. The
    batch rows are added in order; four are skipped only when all four inputs
    are zero. Four weight rows at a time run ``rows_tile4`` over the columns
    (the sums in registers for the whole batch); the rest
    (``_batch_outer_rest``) adds four batch rows a pass over a row of ``g``.
    Both have the same bits.
    """
    for k in range(i1 - i0):
        q = _nonneg(g0 + k * n_out)
        for j in range(n_out):
            g[q + j] = 0.0
    width = TILE_VECTORS * (64 // g.itemsize)
    tiled = (n_out // width) * width
    k = 0
    while k + TILE_IMAGES <= i1 - i0:
        zeros = 0  # the four rows' zero inputs over the batch
        for r in range(nb):
            for t in range(TILE_IMAGES):
                zeros += inp[_nonneg(i0 + k + t + r * istride)] == 0.0
        for j0 in range(0, tiled, width):
            rows_tile4(g, g0 + k * n_out + j0, n_out, inp, i0 + k, 1, istride, d, d0 + j0, nb,
                       dstride, zeros)
        k += TILE_IMAGES
    # the tiled rows' last columns, then the rows after the tiles: one call, so one
    # inlined copy. With _batch_tasks' one call of this, _batch_tasks compiles in 9 s,
    # not 18, and the minibatch trainer, whose parallel loop links it again, in 70, not
    # 90 (a 2 GHz first-Zen core; numba re-optimises linked code in every library)
    for part in range(2):
        a = i0 + k if part else i0
        _batch_outer_rest(inp, a, i1 if part else i0 + k, istride, d, d0, dstride, n_out, nb, g,
                          g0 + (a - i0) * n_out, 0 if part else tiled, n_out)


@njit(cache=True, inline="always")
def _batch_outer_rest(inp, i0, i1, istride, d, d0, dstride, n_out, nb, g, g0, j0, j1):
    """Columns ``j0 <= j < j1`` of ``_batch_outer_rows``' rows ``i0:i1``, added to
    ``g``: four batch rows a pass over a row (``_add_four_rows``: ``g`` loaded
    and stored once for four), the rows sharing each pass over four batch
    rows of ``d``, which stay in L1 while every row adds them."""
    if i1 <= i0 or j1 <= j0:
        return
    n = j1 - j0
    r = 0
    while r + 4 <= nb:
        e0 = d0 + r * dstride + j0
        for k in range(i1 - i0):
            q = _nonneg(i0 + k + r * istride)
            v0 = inp[q]
            v1 = inp[q + istride]
            v2 = inp[q + 2 * istride]
            v3 = inp[q + 3 * istride]
            if not (v0 == 0.0 and v1 == 0.0 and v2 == 0.0 and v3 == 0.0):
                _add_four_rows(g, g0 + k * n_out + j0, v0, v1, v2, v3, d, e0, e0 + dstride,
                               e0 + 2 * dstride, e0 + 3 * dstride, n)
        r += 4
    while r < nb:
        e = _nonneg(d0 + r * dstride + j0)
        for k in range(i1 - i0):
            v = inp[_nonneg(i0 + k + r * istride)]
            if v != 0.0:
                q = _nonneg(g0 + k * n_out + j0)
                for j in range(n):
                    g[q + j] += v * d[e + j]
        r += 1


@njit(cache=True, inline="always")
def _batch_task_count(spec, layout):
    """``(n_rows, n_tasks)`` of a minibatch's update: ``n_rows`` blocks of
    ``OUTER_ROWS`` weight rows, layer after layer, then a task a filter and a
    task a layer's biases."""
    n_layers = layout.shape[0]
    n_rows = 0
    for l in range(n_layers):
        n_rows += (layout[l, N_IN] + OUTER_ROWS - 1) // OUTER_ROWS
    return n_rows, n_rows + spec[SPEC_F] + n_layers


@njit(cache=True)
def _batch_tasks(t0, t1, spec, layout, params, vel, sq, G, GP, D, P1, A1, D1, n_units, nb, scale,
                 alpha_b, solver, hp, lr_t):
    """Tasks ``t0 <= t < t1`` of a minibatch's sums and updates (a run of
    ``_trainer``'s parallel loop over tasks, a run a thread): task ``t`` is a
    block of ``OUTER_ROWS`` weight rows of the head (``_batch_task_count``'s
    ``n_rows`` blocks, layers in order), then a filter, then a layer's biases.
    Each sums the batch's ``nb`` images in order into ``G`` and takes the
    optimiser's step. ``GP`` holds the images' filter gradients; ``P1``,
    ``A1``, ``D1`` the flat pooled units, activations and deltas, ``n_units`` a
    row (``D`` the same deltas, 2-D). ``scale`` multiplies the summed gradients
    and ``alpha_b`` the weights' L2 term: ``1 / nb`` and ``alpha / nb``, or over
    the batch's weight."""
    doff = spec[SPEC_DENSE_OFF]
    n_conv = spec[SPEC_B_OFF]
    n_f = spec[SPEC_F]
    per = spec[SPEC_C] * spec[SPEC_KH] * spec[SPEC_KW]
    n_rows = _batch_task_count(spec, layout)[0]
    pd = params[doff:]
    vd = vel[doff:]
    sd = sq[doff:]
    gd = G[doff:]
    for t in range(t0, t1):
        if t < n_rows:
            l = 0
            blk = t
            while blk >= (layout[l, N_IN] + OUTER_ROWS - 1) // OUTER_ROWS:
                blk -= (layout[l, N_IN] + OUTER_ROWS - 1) // OUTER_ROWS
                l += 1
            n_in = layout[l, N_IN]
            n_out = layout[l, N_OUT]
            i0 = blk * OUTER_ROWS
            i1 = min(n_in, i0 + OUTER_ROWS)
            row = layout[l, W_OFF] + i0 * n_out
            # the pooled units into the first layer, a layer's activations into the
            # next: one call, one inlined copy of the sums
            inp = P1 if l == 0 else A1
            a0 = 0 if l == 0 else layout[l - 1, A_OFF]
            _batch_outer_rows(inp, a0 + i0, a0 + i1, n_in if l == 0 else n_units, D1,
                              layout[l, A_OFF], n_units, n_out, nb, gd, row)
            _update_range(pd, vd, sd, row, (i1 - i0) * n_out,
                          gd[row:row + (i1 - i0) * n_out], scale,
                          alpha_b, solver, False, hp, lr_t)
        elif t < n_rows + n_f:
            f = t - n_rows
            k0 = f * per
            for k in range(per):
                G[k0 + k] = GP[0, k0 + k]
            G[n_conv + f] = GP[0, n_conv + f]
            for r in range(1, nb):
                for k in range(per):
                    G[k0 + k] += GP[r, k0 + k]
                G[n_conv + f] += GP[r, n_conv + f]
            _update_range(params, vel, sq, k0, per, G[k0:k0 + per], scale,
                          alpha_b, solver, False, hp, lr_t)
            _update_range(params, vel, sq, n_conv + f, 1, G[n_conv + f:n_conv + f + 1],
                          scale, 0.0, solver, False, hp, lr_t)
        else:
            l = t - n_rows - n_f
            b0 = layout[l, B_OFF]
            if b0 >= 0:
                n_out = layout[l, N_OUT]
                o = layout[l, A_OFF]
                g = gd[b0:b0 + n_out]
                for j in range(n_out):
                    g[j] = 0.0
                for r in range(nb):
                    for j in range(n_out):
                        g[j] += D[r, o + j]
                _update_range(pd, vd, sd, b0, n_out, g, scale, 0.0,
                              solver, False, hp, lr_t)


def _trainer(PER_IMAGE):
    """``_train_epochs`` for one batch size: ``PER_IMAGE`` (a closure constant)
    keeps the per-image path (batch size 1) or the minibatch path, so each
    kernel compiles only its own. Both paths in one kernel compiled in 67 s
    on a new machine; the per-image kernel alone, the default and the
    article's, compiles in about 20 s, the minibatch one in about 39 s."""

    def _train_epochs(params, spec, layout, X, Y, batch_size, order_kind, seed, epoch0, n_epochs,
                      solver, hp, tol, n_iter_no_change, vel, sq, state,
                      order, CONV, POOL, ARG, A, D, DP, GW, GB, G, batch_loss, loss_curve, step_loss,
                      threads, sw):
        """Train the network for up to ``n_epochs`` epochs; return the number run.

        Parameters
        ----------
        params : 1-D float array (see the module docstring), updated in place.
        spec, layout : from ``make_cnn_layout``.
        X : float array (n_samples, C, H, W); Y : float array (n_samples, n_classes), one-hot.
        batch_size : int, 1 (``train_samples``: the article's per-image SGD) or
            at least 2 (``train_epochs``).
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
        GB (F,), G (len(params),), batch_loss (batch_size,) : scratch. The maps
        are kept at the image's row stride in scratch allocated here (see
        ``_conv_maps``): CONV is not used and ARG holds the argmax positions at
        that stride.
        loss_curve : float64 (n_epochs,), out: mean loss of each epoch.
        step_loss : float64 (n_epochs, n_batches), out: the loss of each step (the
            image's loss at batch size 1, the batch mean otherwise), for the
            article's "error every 50 steps".
        threads : int, the runs a minibatch's update loop splits its tasks into,
            one a thread (the model passes numba's thread count); not used at
            batch size 1. The same bits for any value.
        sw : float64 (n_samples,), the images' weights, or (0,) for none; as the
            dense trainers take them (``dense``'s SAMPLE WEIGHTS): a minibatch's
            gradient is its images' weighted sum plus ``alpha * W`` over its
            weight, so at batch size 1 a weight changes only the L2 term's share;
            a batch of weight zero makes no step (its ``step_loss`` is 0).
            Unweighted, the same bits as without.

        Minibatches: forward and backward run in parallel over groups of four
        images (``_group_gradient``, the batch-1 loops without the updates); then one
        parallel loop sums the head's gradient per weight row (four images a pass,
        ``_batch_outer_rows``) and the filters' gradient per filter, by one thread
        each in image order, and updates those rows, so the result does not depend
        on the number of threads.
        """
        if PER_IMAGE and batch_size != 1:
            raise ValueError("train_samples takes batch_size 1; minibatches are train_epochs'")
        if not PER_IMAGE and batch_size < 2:
            raise ValueError("train_epochs takes minibatches (batch_size >= 2); "
                             "batch size 1 is train_samples'")
        n_samples = X.shape[0]
        alpha = hp[ALPHA]
        weighted = sw.shape[0] > 0
        hp_s = hp.copy()   # per image: alpha over the image's weight where weighted
        n_conv = spec[SPEC_B_OFF]
        n_f = spec[SPEC_F]
        n_c = spec[SPEC_C]
        n_batches = (n_samples + batch_size - 1) // batch_size
        # flat images and, a row per image of the batch, the scratch of _image_step or
        # _group_gradient: the maps at the image's row stride (see _conv_maps), the
        # logistic's exponent bits (the pooled units), the routed deltas (filters
        # wider than TAP_LANES), and (minibatches) the image's filter gradients
        X1 = X.reshape((n_samples, n_c * spec[SPEC_H] * spec[SPEC_W]))
        lz = (spec[SPEC_OH] - 1) * spec[SPEC_W] + spec[SPEC_OW]
        Z = np.empty((batch_size, n_f * lz), params.dtype)
        BITS = np.empty((batch_size, spec[SPEC_N_POOLED]), np.int32)
        SCALE = BITS.view(np.float32)
        DZ = np.zeros((max(batch_size, n_f), lz), params.dtype)
        GP = np.empty((batch_size if batch_size > 1 else 0, n_conv + n_f), params.dtype)
        done = 0
        for e in range(n_epochs):
            epoch = epoch0 + e
            epoch_order(order_kind, seed, epoch, order)
            total = 0.0
            if PER_IMAGE:   # (a closure constant: the other path is not compiled)
                split = _split_work(spec, layout)
                S = np.empty((n_f, layout[0, N_OUT]), params.dtype)
                # an image's filters on all threads, or on the calling one where that
                # has been faster (a shared core: _parallel.ADAPT_FIRST_GAP)
                choice, recent = adapt_choice(ADAPT_MAX_GAP_IMAGES)
                for k in range(n_samples):
                    idx = order[k]
                    alpha_s = alpha
                    if weighted:
                        if sw[idx] == 0.0:
                            step_loss[e, k] = 0.0
                            continue
                        alpha_s = alpha / sw[idx]
                        hp_s[ALPHA] = alpha_s
                    state[STEP] += 1.0
                    lr_t = _adam_lr(hp, state[STEP]) if solver == ADAM else hp[LR]
                    # the L2 term of the weights the step starts from, as the minibatch
                    # path and the MLPs count it
                    penalty = 0.5 * alpha_s * _sum_sq(params, spec, layout) if alpha > 0.0 else 0.0
                    many = False
                    probe = False
                    t0 = 0
                    if split:
                        many, probe = adapt_next(choice)
                        t0 = cycles()
                    value = _image_step(params, spec, layout, X1[idx], Y[idx], Z[0], lz, BITS[0],
                                        SCALE[0], DZ, POOL[0], ARG[0], A[0], D[0], DP[0], GW, GB, S,
                                        solver, hp_s, lr_t, vel, sq, many) + penalty
                    if split:
                        adapt_record(choice, recent, many, probe, float(cycles() - t0))
                    step_loss[e, k] = value
                    total += value
            else:
                n_units = A.shape[1]
                A1 = A.reshape(A.size)
                D1 = D.reshape(D.size)
                P1 = POOL.reshape(POOL.size)
                n_tasks = _batch_task_count(spec, layout)[1]
                runs = max(1, min(n_tasks, threads))
                # a batch's loops on all threads, or on the calling one where that
                # has been faster (a shared core: _parallel.ADAPT_FIRST_GAP)
                choice, recent = adapt_choice()
                for b in range(n_batches):
                    start = b * batch_size
                    nb = min(batch_size, n_samples - start)
                    sw_b = 0.0   # the batch's weight
                    if weighted:
                        for r in range(nb):
                            sw_b += sw[order[start + r]]
                        if sw_b == 0.0:
                            step_loss[e, b] = 0.0
                            continue
                    many = threads > 1
                    probe = False
                    tc = 0
                    if many:
                        many, probe = adapt_next(choice)
                        tc = cycles()
                    n_groups = (nb + 3) // 4
                    if many:
                        for grp in prange(n_groups):
                            r0 = 4 * np.int64(grp)
                            _group_gradient(params, spec, layout, X1, Y, order, start, r0,
                                            min(nb, r0 + 4), Z, lz, BITS, SCALE, DZ[r0], POOL, ARG,
                                            A, D, DP, GP, batch_loss, sw)
                    else:
                        for grp in range(n_groups):
                            r0 = 4 * grp
                            _group_gradient(params, spec, layout, X1, Y, order, start, r0,
                                            min(nb, r0 + 4), Z, lz, BITS, SCALE, DZ[r0], POOL, ARG,
                                            A, D, DP, GP, batch_loss, sw)
                    bl = 0.0
                    for r in range(nb):
                        bl += batch_loss[r]
                    if alpha > 0.0:   # once a batch: the step's gradient takes alpha / nb
                        bl += 0.5 * alpha * _sum_sq(params, spec, layout)
                    if weighted:   # the weighted mean, counted nb times in the epoch's
                        total += bl * (nb / sw_b)
                        step_loss[e, b] = bl / sw_b
                        scale = 1.0 / sw_b
                        alpha_b = alpha / sw_b
                    else:
                        total += bl
                        step_loss[e, b] = bl / nb
                        scale = 1.0 / nb
                        alpha_b = alpha / nb
                    state[STEP] += 1.0
                    lr_t = _adam_lr(hp, state[STEP]) if solver == ADAM else hp[LR]
                    # the batch's sums and the updates in one parallel loop (one wait for
                    # the threads a step), a run of tasks a thread (_batch_tasks)
                    if many:
                        for c in prange(runs):
                            t0, t1 = chunk(c, runs, n_tasks)
                            _batch_tasks(t0, t1, spec, layout, params, vel, sq, G, GP, D, P1, A1,
                                         D1, n_units, nb, scale, alpha_b, solver, hp, lr_t)
                    else:
                        t0, t1 = chunk(0, 1, n_tasks)
                        _batch_tasks(t0, t1, spec, layout, params, vel, sq, G, GP, D, P1, A1, D1,
                                     n_units, nb, scale, alpha_b, solver, hp, lr_t)
                    if threads > 1:
                        adapt_record(choice, recent, many, probe, (cycles() - tc) / nb)
            done = e + 1
            if end_epoch(state, loss_curve, e, total / n_samples, tol, n_iter_no_change):
                break
        return done

    return _train_epochs


# each batch size's kernel, and its twin; never cache a twin (numba#6845)
train_samples = njit(parallel=True, cache=True)(_trainer(True))
train_samples_serial = njit(_trainer(True))
train_epochs = njit(parallel=True, cache=True)(_trainer(False))
train_epochs_serial = njit(_trainer(False))


# ---------------------------------------------------------------------------
# prediction: the batch-1 loops, forward only, a block of images at a time
#
# Each image's maps come from ``_conv_maps`` (at the row stride), pooled
# (values only, no argmax) then activated, as in training (see the section
# "batch size 1"): the result has the training forward's bits
# (``_image_step``, ``_group_gradient``). The head's first layer (1440
# rows of 128 weights on the article's network, 1.5 MB in float64, more than
# a core's L2) runs for a block of images per pass over its rows
# (``_first_layer_group``: each image's sums in ``_head_layer``'s order). The
# images are split into contiguous groups, a row of scratch per group, and
# the groups run in parallel; an image's values do not depend on its group,
# so the result does not depend on the number of threads (or on which twin
# runs). Measured on part E's network, one thread: 16 us an image in
# float32, 39 in float64 (``image_forward`` per image: 48 and 79).

@njit(cache=True, inline="always")
def _pool_values(z, lz, spec, pooled):
    """The maxima of ``_pool_maps`` (the same values, ties and NaN alike:
    the same strict comparisons), without their positions: ``pooled``
    (F*ph*pw,) in (f, r, c) order from the maps ``z`` at the row stride."""
    p = spec[SPEC_POOL]
    ph = spec[SPEC_PH]
    pw = spec[SPEC_PW]
    wd = spec[SPEC_W]
    for f in range(spec[SPEC_F]):
        zo = _nonneg(f * lz)
        if p == 2:  # unrolled: the loop over c vectorises
            for r in range(ph):
                r0 = _nonneg(zo + 2 * r * wd)
                r1 = _nonneg(r0 + wd)
                k0 = _nonneg((f * ph + r) * pw)
                for c in range(pw):
                    best = z[r0 + 2 * c]
                    v = z[r0 + 2 * c + 1]
                    best = v if v > best else best
                    v = z[r1 + 2 * c]
                    best = v if v > best else best
                    v = z[r1 + 2 * c + 1]
                    best = v if v > best else best
                    pooled[k0 + c] = best
            continue
        for r in range(ph):
            for c in range(pw):
                best = z[zo + (p * r) * wd + p * c]
                for i in range(p):
                    row = _nonneg(zo + (p * r + i) * wd + p * c)
                    for j in range(p):
                        v = z[row + j]
                        best = v if v > best else best
                pooled[(f * ph + r) * pw + c] = best


# images a pass over the head's first layer
PREDICT_BLOCK = 8
# the most groups (rows of scratch) ``predict_proba`` splits its images into
PREDICT_GROUPS = 64


@njit(cache=True)
def _predict_group(params, spec, layout, X1, r0, r1, z, lz, bits, scale, P, A, out):
    """Class probabilities of the images ``r0 <= r < r1`` of ``X1`` (n, C*H*W)
    into ``out[r]``, a block of ``P.shape[0]`` images at a time. Scratch:
    ``z`` (F*lz,), ``bits`` and ``scale`` (P.size,), ``P`` (block, F*ph*pw)
    the pooled units and ``A`` (block, head units), C-contiguous."""
    n_f = spec[SPEC_F]
    n_pooled = spec[SPEC_N_POOLED]
    block = P.shape[0]
    P1 = P.reshape(P.size)
    pd = params[spec[SPEC_DENSE_OFF]:]
    n_layers = layout.shape[0]
    o = layout[n_layers - 1, A_OFF]
    n_out = layout[n_layers - 1, N_OUT]
    for s in range(r0, r1, block):
        nb = min(block, r1 - s)
        for b in range(nb):
            _conv_maps(params, spec, X1[s + b], z, lz, 0, n_f)
            _pool_values(z, lz, spec, P[b])
        _activate_maps(spec[SPEC_ACT], P1, nb * n_pooled, bits, scale)
        _first_layer_group(pd, layout, P, A, 0, nb)
        for b in range(nb):
            a = A[b]
            for l in range(1, n_layers):
                _head_layer(pd, layout, a, a, l)
            for j in range(n_out):
                out[s + b, j] = a[o + j]


def _predict_proba(params, spec, layout, X, out):
    """Class probabilities of every image of ``X`` (n, C, H, W), C-contiguous,
    into ``out`` (n, n_classes).

    Parallel over contiguous groups of images (at most ``PREDICT_GROUPS``),
    each with its own row of scratch, allocated here (about 0.2 MB a group in
    float64 on the article's network); see ``_predict_group``. The values
    are the training forward's, as the section's comment says.
    """
    n = X.shape[0]
    if n == 0:
        return
    last = layout.shape[0] - 1
    n_units = layout[last, A_OFF] + layout[last, N_OUT]
    n_pooled = spec[SPEC_N_POOLED]
    X1 = X.reshape((n, spec[SPEC_C] * spec[SPEC_H] * spec[SPEC_W]))
    lz = (spec[SPEC_OH] - 1) * spec[SPEC_W] + spec[SPEC_OW]
    n_groups = min((n + PREDICT_BLOCK - 1) // PREDICT_BLOCK, PREDICT_GROUPS)
    Z = np.empty((n_groups, spec[SPEC_F] * lz), params.dtype)
    BITS = np.empty((n_groups, PREDICT_BLOCK * n_pooled), np.int32)
    SCALE = BITS.view(np.float32)
    P = np.empty((n_groups, PREDICT_BLOCK, n_pooled), params.dtype)
    A = np.empty((n_groups, PREDICT_BLOCK, n_units), params.dtype)
    for g in prange(n_groups):
        _predict_group(params, spec, layout, X1, g * n // n_groups, (g + 1) * n // n_groups,
                       Z[g], lz, BITS[g], SCALE[g], P[g], A[g], out)


predict_proba = njit(parallel=True, cache=True)(_predict_proba)
predict_proba_serial = njit(_predict_proba)  # never cache a twin (numba#6845)


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
