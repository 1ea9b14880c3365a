"""Valid convolution (forward, backward, the matrix-product form) and the part E
network's training kernel, against the references in tests/reference.py."""
import itertools

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from numba import njit
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy.signal import correlate2d
from scipy.special import expit

from fastnn._threads import threads
from fastnn.kernels import _parallel, activations, conv, dense, simd
from fastnn.kernels.activations import IDENTITY, LOGISTIC, RELU, TANH
from fastnn.kernels.memory import padded_rows
from tests import reference

TOL = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}
ACTS = {"identity": IDENTITY, "logistic": LOGISTIC, "tanh": TANH, "relu": RELU}


def _problem(seed, n, c, f, h, w, kh, kw, dtype=np.float64):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, c, h, w)).astype(dtype)
    filters = rng.normal(size=(f, c, kh, kw)).astype(dtype)
    b = rng.normal(size=f).astype(dtype)
    return x, filters, b


def _conv(kernel, x, w, b, act=IDENTITY):
    out = np.empty((x.shape[0], w.shape[0], x.shape[2] - w.shape[2] + 1,
                    x.shape[3] - w.shape[3] + 1), x.dtype)
    kernel(x, w, b, act, out)
    return out


@pytest.mark.parametrize("kernel", [conv.conv2d_valid, conv.conv2d_valid_serial])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@settings(max_examples=12, deadline=None)
@given(n=st.integers(1, 3), c=st.integers(1, 3), f=st.integers(1, 4), kh=st.integers(1, 4),
       kw=st.integers(1, 4), extra_h=st.integers(0, 5), extra_w=st.integers(0, 5),
       seed=st.integers(0, 2**31), act=st.sampled_from(sorted(ACTS)))
def test_conv2d_valid_matches_scipy_reference(kernel, dtype, n, c, f, kh, kw, extra_h, extra_w,
                                              seed, act):
    x, w, b = _problem(seed, n, c, f, kh + extra_h, kw + extra_w, kh, kw, dtype)
    out = _conv(kernel, x, w, b, ACTS[act])
    assert out.dtype == dtype
    assert_allclose(out, reference.conv2d_valid(x, w, b, act), **TOL[dtype])


def test_conv2d_valid_is_correlation_with_the_flipped_filter():
    """The convention: the article's rot90(filter, 2) then slide = correlate2d(x, rot180(w))."""
    x, w, b = _problem(1, 1, 1, 2, 7, 6, 3, 2)
    out = _conv(conv.conv2d_valid, x, w, np.zeros(2))
    for f in range(2):
        assert_allclose(out[0, f], correlate2d(x[0, 0], w[f, 0, ::-1, ::-1], mode="valid"),
                        rtol=1e-12, atol=1e-12)
        assert_allclose(out[0, f], reference.conv_article(x[0, 0], w[:, 0], np.zeros(2),
                                                          "identity")[f], rtol=1e-12, atol=1e-12)


def test_conv2d_valid_worked_example():
    # image 3x3 = 1..9, filter [[1, 0], [0, -1]] flipped is [[-1, 0], [0, 1]]:
    # out[0, 0] = -x[0,0] + x[1,1] = -1 + 5 = 4, and every output is 4; bias 0.5 -> 4.5.
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    w = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])
    assert_array_equal(_conv(conv.conv2d_valid, x, w, np.array([0.5])), np.full((1, 1, 2, 2), 4.5))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_conv2d_valid_gemm_matches_the_loops(dtype):
    x, w, b = _problem(2, 5, 2, 3, 9, 8, 3, 4, dtype)
    cols = np.empty((5 * 7 * 5, 2 * 3 * 4), dtype)
    out = np.empty((5, 3, 7, 5), dtype)
    conv.conv2d_valid_gemm(x, w, b, LOGISTIC, cols, out)
    assert_allclose(out, _conv(conv.conv2d_valid, x, w, b, LOGISTIC), **TOL[dtype])


def test_conv2d_valid_leaves_inputs_unchanged_and_handles_awkward_values():
    x, w, b = _problem(3, 2, 2, 2, 6, 6, 3, 3)
    x[0] = 0.0  # an all-zero image
    x[1, 0, 0, 0] = 1e300  # saturating: the logistic stays finite
    before = (x.copy(), w.copy(), b.copy())
    out = _conv(conv.conv2d_valid, x, np.abs(w) + 1.0, b, LOGISTIC)
    assert np.isfinite(out).all() and (out >= 0).all() and (out <= 1).all()
    assert_allclose(out[0], np.broadcast_to(1 / (1 + np.exp(-b))[:, None, None], (2, 4, 4)),
                    rtol=1e-12)
    for a, a0 in zip((x, w, b), before):
        assert_array_equal(a, a0)


@pytest.mark.parametrize("kernel", [conv.conv2d_backward, conv.conv2d_backward_serial])
def test_conv2d_backward_matches_central_differences(kernel):
    """d/dw, d/db, d/dx of sum(G * conv(x, w, b)) / n, float64, rtol 1e-5."""
    x, w, b = _problem(4, 3, 2, 3, 6, 5, 3, 2)
    g = np.random.default_rng(5).normal(size=(3, 3, 4, 4))

    def loss(x_, w_, b_):
        return np.sum(g * reference.conv2d_valid(x_, w_, b_)) / len(x_)

    gw, gb, dx = np.empty_like(w), np.empty_like(b), np.empty_like(x)
    kernel(x, w, g, gw, gb, dx)
    eps = 1e-6
    for arr, grad, scale in ((w, gw, 1.0), (b, gb, 1.0), (x, dx, 1.0 / len(x))):
        fd = np.empty_like(arr)
        for idx in np.ndindex(*arr.shape):
            old = arr[idx]
            arr[idx] = old + eps
            up = loss(x, w, b)
            arr[idx] = old - eps
            down = loss(x, w, b)
            arr[idx] = old
            fd[idx] = (up - down) / (2 * eps)
        # dx is the gradient of the un-averaged sum, per image
        assert_allclose(grad * scale, fd, rtol=1e-5, atol=1e-9)


def test_conv2d_backward_skips_delta_in_when_given_no_rows():
    x, w, _ = _problem(6, 2, 1, 2, 5, 5, 2, 2)
    g = np.ones((2, 2, 4, 4))
    gw, gb = np.empty_like(w), np.empty(2)
    conv.conv2d_backward(x, w, g, gw, gb, np.empty((0, 1, 5, 5)))
    assert_allclose(gb, [16.0, 16.0])


def test_conv2d_same_for_any_thread_count(n_threads):
    x, w, b = _problem(7, 12, 2, 5, 10, 10, 3, 3)
    g = np.random.default_rng(8).normal(size=(12, 5, 8, 8))
    runs = []
    for n in n_threads:
        with threads(n):
            out = _conv(conv.conv2d_valid, x, w, b, TANH)
            gw, gb, dx = np.empty_like(w), np.empty_like(b), np.empty_like(x)
            conv.conv2d_backward(x, w, g, gw, gb, dx)
        runs.append((out, gw, gb, dx))
    for a, c in zip(runs[0], runs[-1]):
        assert_array_equal(a, c)


# ----------------------------------------------------------------- the network kernels

def _network(seed=0, hidden=(5,), n_filters=3, image=(1, 8, 8), k=3, pool=2, n_classes=3,
             conv_act=LOGISTIC, act=LOGISTIC):
    rng = np.random.default_rng(seed)
    spec, layout, n_params, n_units = conv.make_cnn_layout(image, n_filters, k, k, pool, conv_act,
                                                           hidden, act, n_classes)
    params = rng.uniform(-0.5, 0.5, n_params)
    return spec, layout, params, n_units


def _unpack(spec, layout, params):
    n_conv = spec[conv.SPEC_B_OFF]
    filters = params[:n_conv].reshape(spec[conv.SPEC_F], spec[conv.SPEC_C], spec[conv.SPEC_KH],
                                      spec[conv.SPEC_KW])
    fbias = params[n_conv:n_conv + spec[conv.SPEC_F]]
    d = spec[conv.SPEC_DENSE_OFF]
    coefs = [params[d + w0:d + w0 + i * o].reshape(i, o) for i, o, w0 in layout[:, :3]]
    intercepts = [params[d + b0:d + b0 + o] for o, b0 in zip(layout[:, 1], layout[:, 3])]
    return filters, fbias, coefs, intercepts


def _scratch(spec, n_units, batch=1, dtype=np.float64, padded=False):
    """The kernels' scratch arrays; ``padded``: activation and delta rows a whole
    number of cache lines apart, as the model allocates them."""
    n_p = spec[conv.SPEC_N_POOLED]
    rows = (lambda n, m: padded_rows(n, m, dtype)) if padded else (lambda n, m: np.empty((n, m), dtype))
    return dict(CONV=np.empty((batch, spec[conv.SPEC_F], spec[conv.SPEC_OH], spec[conv.SPEC_OW]),
                              dtype),
                POOL=np.empty((batch, n_p), dtype), ARG=np.empty((batch, n_p), np.int64),
                A=rows(batch, n_units), D=rows(batch, n_units), DP=np.empty((batch, n_p), dtype))


def _train(kernel, spec, layout, params, X, Y, batch, epochs=1, lr=0.1, order=dense.SEQUENTIAL,
           solver=dense.SGD, momentum=0.0, alpha=0.0, seed=3, padded=False, as_given=False,
           threads=2, sw=None):
    if batch == 1 and not as_given:   # the per-image kernel (the twin for the twin)
        kernel = {conv.train_epochs: conv.train_samples,
                  conv.train_epochs_serial: conv.train_samples_serial}.get(kernel, kernel)
    n_units = int(layout[-1, dense.A_OFF] + layout[-1, dense.N_OUT])
    s = _scratch(spec, n_units, batch, params.dtype, padded)
    vel, sq = np.zeros_like(params), np.zeros_like(params)
    state = np.array([np.inf, 0.0, 0.0, dense.RUNNING])
    hp = np.array([lr, momentum, 0.9, 0.999, 1e-8, alpha])
    n_batches = -(-len(X) // batch)
    curve = np.empty(epochs)
    steps = np.empty((epochs, n_batches))
    filters = _unpack(spec, layout, params)[0]
    ran = kernel(params, spec, layout, X, Y, batch, order, seed, 0, epochs, solver, hp, -1.0, 10,
                 vel, sq, state, np.empty(len(X), np.int64), s["CONV"], s["POOL"], s["ARG"], s["A"],
                 s["D"], s["DP"], np.empty_like(filters), np.empty(spec[conv.SPEC_F], params.dtype),
                 np.empty_like(params), np.empty(batch), curve, steps, threads,
                 np.empty(0) if sw is None else sw)
    assert ran == epochs
    return curve, steps


def _data(seed, n, image=(1, 8, 8), n_classes=3):
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(n,) + image)
    Y = np.eye(n_classes)[rng.integers(0, n_classes, n)]
    return X, Y


@pytest.mark.parametrize("batch", [1, 5])
def test_padded_activation_rows_give_the_same_bits(batch):
    """The model lays activation and delta rows on cache lines (rows wider than the
    network's units); the kernels take the stride from the arrays: same training."""
    spec, layout, params, _ = _network(seed=4, hidden=(12,))
    n_units = int(layout[-1, dense.A_OFF] + layout[-1, dense.N_OUT])
    assert padded_rows(batch, n_units, params.dtype).shape[1] > n_units
    X, Y = _data(5, 11)
    results = []
    for padded in (False, True):
        p = params.copy()
        curve, steps = _train(conv.train_epochs, spec, layout, p, X, Y, batch, epochs=2,
                              momentum=0.9, padded=padded)
        results.append((p, curve, steps))
    assert not np.array_equal(results[0][0], params)
    for a, b in zip(*results):
        assert_array_equal(a, b)


@pytest.mark.parametrize("kernel,batch,message", [
    ("train_epochs", 1, "train_epochs takes minibatches"),
    ("train_samples", 2, "train_samples takes batch_size 1"),
    ("train_samples_serial", 3, "train_samples takes batch_size 1"),
])
def test_each_trainer_refuses_the_other_ones_batch_size(kernel, batch, message):
    # per-image and minibatch training are separate kernels (a fit compiles one);
    # one given the other's batch size says so and leaves the weights alone
    spec, layout, params, _ = _network(seed=1, hidden=(6,))
    X, Y = _data(2, 4)
    before = params.copy()
    with pytest.raises(ValueError, match=message):
        _train(getattr(conv, kernel), spec, layout, params, X, Y, batch, as_given=True)
    assert_array_equal(params, before)


@pytest.mark.parametrize("kernel", [conv.train_epochs, conv.train_epochs_serial])
def test_one_sgd_step_matches_the_article_written_out(kernel):
    """One image, one step: the kernel equals reference.cnn_sgd_step."""
    spec, layout, params, _ = _network(seed=1, hidden=(6,))
    X, Y = _data(2, 1)
    filters, fbias, coefs, intercepts = (
        [p.copy() for p in v] if isinstance(v, list) else v.copy()
        for v in _unpack(spec, layout, params))
    ref_loss = reference.cnn_sgd_step(X[0, 0], Y[0], filters, fbias, coefs, intercepts, lr=0.1)
    curve, steps = _train(kernel, spec, layout, params, X, Y, batch=1)
    got = _unpack(spec, layout, params)
    assert_allclose(curve[0], ref_loss, rtol=1e-12)
    assert_allclose(got[0], filters, rtol=1e-12, atol=1e-14)
    assert_allclose(got[1], fbias, rtol=1e-12, atol=1e-14)
    for a, r in zip(got[2] + got[3], coefs + intercepts):
        assert_allclose(a, r, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("conv_act,act", [(TANH, TANH), (LOGISTIC, RELU)])
def test_minibatch_step_is_the_mean_gradient_step(conv_act, act):
    """Batch of all samples, plain SGD: params -= lr * gradient(full batch)."""
    spec, layout, params, n_units = _network(seed=2, hidden=(4, 5), conv_act=conv_act, act=act)
    X, Y = _data(3, 6)
    s = _scratch(spec, n_units)
    grad = np.empty_like(params)
    conv.gradient(params, spec, layout, X, Y, 0.0, s["CONV"][0], s["POOL"][0], s["ARG"][0],
                  s["A"][0], s["D"][0], s["DP"][0], grad)
    expected = params - 0.05 * grad
    _train(conv.train_epochs, spec, layout, params, X, Y, batch=6, lr=0.05)
    assert_allclose(params, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("conv_act,act,alpha", [(LOGISTIC, LOGISTIC, 0.0), (TANH, RELU, 0.3),
                                                (RELU, TANH, 0.0)])
def test_network_gradient_matches_central_differences(conv_act, act, alpha):
    """Convolution, pooling and the softmax head, on the whole network, float64."""
    spec, layout, params, n_units = _network(seed=4, hidden=(5,), conv_act=conv_act, act=act,
                                             image=(2, 7, 9), k=2, pool=2)
    X, Y = _data(5, 4, image=(2, 7, 9))
    s = _scratch(spec, n_units)
    args = (s["CONV"][0], s["POOL"][0], s["ARG"][0], s["A"][0], s["D"][0], s["DP"][0])
    grad = np.empty_like(params)
    loss = conv.gradient(params, spec, layout, X, Y, alpha, *args, grad)
    filters, fbias, coefs, intercepts = _unpack(spec, layout, params)
    names = {LOGISTIC: "logistic", TANH: "tanh", RELU: "relu"}
    assert_allclose(loss, reference.cnn_loss(X, Y, filters, fbias, coefs, intercepts, 2,
                                             names[conv_act], names[act], alpha), rtol=1e-12)
    fd = np.empty_like(params)
    eps = 1e-6
    scratch = np.empty_like(params)
    for k in range(len(params)):
        old = params[k]
        params[k] = old + eps
        up = conv.gradient(params, spec, layout, X, Y, alpha, *args, scratch)
        params[k] = old - eps
        down = conv.gradient(params, spec, layout, X, Y, alpha, *args, scratch)
        params[k] = old
        fd[k] = (up - down) / (2 * eps)
    assert_allclose(grad, fd, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("batch", [1, 4])
@pytest.mark.parametrize("solver,momentum", [(dense.SGD, 0.0), (dense.SGD, 0.9), (dense.ADAM, 0.0)])
def test_train_epochs_same_for_any_thread_count(n_threads, batch, solver, momentum):
    runs = []
    X, Y = _data(6, 11)
    for n in n_threads:
        spec, layout, params, _ = _network(seed=7)
        with threads(n):
            curve, steps = _train(conv.train_epochs, spec, layout, params, X, Y, batch, epochs=2,
                                  order=dense.SHUFFLE, solver=solver, momentum=momentum, alpha=0.01,
                                  threads=n)
        runs.append((params, curve, steps))
    for a, b in zip(runs[0], runs[-1]):
        assert_array_equal(a, b)


@pytest.mark.parametrize("solver,momentum", [(dense.SGD, 0.9), (dense.ADAM, 0.0)])
def test_minibatch_update_same_for_any_split_of_its_tasks(solver, momentum):
    # the update loop splits its tasks (weight row blocks, filters, biases) into
    # `threads` runs, uneven ones and more runs than tasks included
    X, Y = _data(6, 11)
    runs = []
    for n in (1, 2, 3, 7, 1000):
        spec, layout, params, _ = _network(seed=7)
        curve, steps = _train(conv.train_epochs, spec, layout, params, X, Y, 4, epochs=2,
                              order=dense.SHUFFLE, solver=solver, momentum=momentum, alpha=0.01,
                              threads=n)
        runs.append((params, curve, steps))
    for run in runs[1:]:
        for a, b in zip(runs[0], run):
            assert_array_equal(a, b)


def test_parallel_and_serial_training_agree():
    X, Y = _data(8, 9)
    out = []
    for kernel in (conv.train_epochs, conv.train_epochs_serial):
        spec, layout, params, _ = _network(seed=9)
        _train(kernel, spec, layout, params, X, Y, 3, epochs=2, order=dense.REPLACEMENT)
        out.append(params)
    assert_array_equal(*out)


def _split_network(seed):
    """A network large enough that batch size 1 runs its filters in parallel."""
    spec, layout, params, n_units = _network(seed=seed, hidden=(256,), n_filters=4,
                                             image=(1, 16, 16), k=5)
    assert conv._split_work(spec, layout)
    return spec, layout, params, n_units


def test_split_step_matches_the_article_written_out():
    """Batch size 1 split per filter (parallel): three steps equal reference.cnn_sgd_step."""
    spec, layout, params, _ = _split_network(seed=21)
    X, Y = _data(22, 3, image=(1, 16, 16))
    filters, fbias, coefs, intercepts = (
        [p.copy() for p in v] if isinstance(v, list) else v.copy()
        for v in _unpack(spec, layout, params))
    losses = [reference.cnn_sgd_step(X[i, 0], Y[i], filters, fbias, coefs, intercepts, lr=0.1)
              for i in range(3)]
    curve, steps = _train(conv.train_epochs, spec, layout, params, X, Y, batch=1)
    got = _unpack(spec, layout, params)
    assert_allclose(steps[0], losses, rtol=1e-12)
    assert_allclose(got[0], filters, rtol=1e-10, atol=1e-13)
    assert_allclose(got[1], fbias, rtol=1e-10, atol=1e-13)
    for a, r in zip(got[2] + got[3], coefs + intercepts):
        assert_allclose(a, r, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver,momentum", [(dense.SGD, 0.0), (dense.SGD, 0.9), (dense.ADAM, 0.0)])
def test_split_training_same_for_any_thread_count(n_threads, dtype, solver, momentum):
    """Each filter's part computes its outputs in a fixed order: any thread
    count, and the serial twin, give the same bits."""
    X, Y = _data(23, 5, image=(1, 16, 16))
    X, Y = X.astype(dtype), Y.astype(dtype)
    runs = []
    for n in n_threads:
        spec, layout, params, _ = _split_network(seed=24)
        params = params.astype(dtype)
        with threads(n):
            curve, steps = _train(conv.train_epochs, spec, layout, params, X, Y, 1, epochs=2,
                                  order=dense.SHUFFLE, solver=solver, momentum=momentum,
                                  alpha=0.01)
        runs.append((params, curve, steps))
    if dtype == np.float64:
        spec, layout, params, _ = _split_network(seed=24)
        curve, steps = _train(conv.train_epochs_serial, spec, layout, params, X, Y, 1, epochs=2,
                              order=dense.SHUFFLE, solver=solver, momentum=momentum, alpha=0.01)
        runs.append((params, curve, steps))
    assert np.isfinite(runs[0][1]).all()
    for other in runs[1:]:
        for a, b in zip(runs[0], other):
            assert_array_equal(a, b)


@pytest.mark.parametrize("batch", [1, 2])
def test_steps_that_switch_threads_give_the_same_bits(batch):
    """The parallel twin times its steps (an image's, or a minibatch's) and runs
    one's loops on the calling thread where that has been faster (a shared
    core), trying the other way at step ADAPT_FIRST_GAP - 1, then at gaps of
    ADAPT_FIRST_GAP on: 2 passes of 80 steps run both ways, and give the serial
    twin's bits."""
    assert _parallel.ADAPT_FIRST_GAP * 4 < 80
    X, Y = _data(25, 80 * batch, image=(1, 16, 16))
    runs = []
    for kernel in (conv.train_epochs, conv.train_epochs_serial):
        spec, layout, params, _ = _split_network(seed=26)
        with threads(numba.config.NUMBA_NUM_THREADS):
            curve, steps = _train(kernel, spec, layout, params, X, Y, batch, epochs=2,
                                  order=dense.SHUFFLE, momentum=0.9, alpha=0.01)
        runs.append((params, curve, steps))
    assert np.isfinite(runs[0][1]).all()
    for a, b in zip(*runs):
        assert_array_equal(a, b)


def test_predict_proba_matches_reference_forward():
    spec, layout, params, n_units = _network(seed=10, hidden=(4,))
    X, _ = _data(11, 5)
    out = np.empty((5, 3))
    conv.predict_proba(params, spec, layout, X, out)
    filters, fbias, coefs, intercepts = _unpack(spec, layout, params)
    _, _, probs = reference.cnn_forward(X, filters, fbias, coefs, intercepts, 2)
    assert_allclose(out, probs, rtol=1e-12)
    assert_allclose(out.sum(axis=1), 1.0, rtol=1e-12)


ACT_NAMES = {code: name for name, code in ACTS.items()}


@pytest.mark.parametrize("kernel", [conv.predict_proba, conv.predict_proba_serial])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("image,k,pool,n_filters,hidden,conv_act,act,n", [
    ((2, 9, 7), 2, 3, 2, (), TANH, LOGISTIC, 19),  # no hidden layer, maps 8 x 6 under 3 x 3 pools
    ((1, 11, 10), 4, 2, 3, (6, 5), RELU, TANH, 37),  # two hidden layers, 8 x 7 maps
    ((3, 6, 6), 1, 1, 2, (7,), IDENTITY, RELU, 9),
    ((1, 7, 7), 2, 2, 5, (3,), LOGISTIC, TANH, 600),  # several blocks of images a group
])
def test_predict_proba_matches_reference_on_any_network(kernel, dtype, image, k, pool, n_filters,
                                                        hidden, conv_act, act, n):
    spec, layout, params, _ = _network(seed=n, hidden=hidden, n_filters=n_filters, image=image,
                                       k=k, pool=pool, n_classes=4, conv_act=conv_act, act=act)
    params = params.astype(dtype)
    X = _data(n + 1, n, image=image)[0].astype(dtype)
    out = np.full((n, 4), np.nan, dtype)
    kernel(params, spec, layout, X, out)
    filters, fbias, coefs, intercepts = (
        [p.astype(np.float64) for p in v] if isinstance(v, list) else v.astype(np.float64)
        for v in _unpack(spec, layout, params))
    probs = reference.cnn_forward(X.astype(np.float64), filters, fbias, coefs, intercepts, pool,
                                  ACT_NAMES[conv_act], ACT_NAMES[act])[2]
    assert_allclose(out, probs, **TOL[dtype])
    assert_allclose(out.sum(axis=1), 1.0, rtol=TOL[dtype]["rtol"])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_predict_proba_same_bits_for_any_thread_count_twin_and_split(n_threads, dtype):
    """Each image is computed by one thread in a fixed order: thread count,
    the serial twin, and how the images are split into calls change nothing."""
    n = 600  # 64 groups of 9 or 10 images: a full block and a partial one each
    spec, layout, params, _ = _network(seed=12, hidden=(6,), n_filters=4, image=(1, 9, 9))
    params = params.astype(dtype)
    X = _data(13, n, image=(1, 9, 9))[0].astype(dtype)
    runs = []
    for t in n_threads:
        out = np.empty((n, 3), dtype)
        with threads(t):
            conv.predict_proba(params, spec, layout, X, out)
        runs.append(out)
    out = np.empty((n, 3), dtype)
    conv.predict_proba_serial(params, spec, layout, X, out)
    runs.append(out)
    out = np.empty((n, 3), dtype)
    for a, b in [(0, 1), (1, 70), (70, n)]:
        conv.predict_proba(params, spec, layout, X[a:b], out[a:b])
    runs.append(out)
    for other in runs[1:]:
        assert_array_equal(runs[0], other)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("batch", [1, 4])
def test_predict_proba_is_the_training_forward(dtype, batch):
    """A training step with learning rate 0 reports the loss of the training
    kernel's own forward pass: -log of predict_proba at the true class (the
    batch's mean in minibatches). Batch size 1 runs the split step here."""
    spec, layout, params, _ = _split_network(seed=25)  # 4 filters, 256 hidden units
    params = params.astype(dtype)
    X, Y = _data(26, 8, image=(1, 16, 16))
    X, Y = X.astype(dtype), Y.astype(dtype)
    out = np.empty((8, 3), dtype)
    conv.predict_proba(params, spec, layout, X, out)
    before = params.copy()
    _, steps = _train(conv.train_epochs, spec, layout, params, X, Y, batch, lr=0.0)
    assert_array_equal(params, before)
    p_true = out[Y == 1].astype(np.float64)
    assert p_true.min() > 1e-6  # the loss does not clip it
    expected = -np.log(p_true).reshape(-1, batch).mean(axis=1)
    assert_allclose(steps[0], expected, rtol=1e-12 if dtype == np.float64 else 1e-5)


# ----------------------------------------------------------------- the batch-1 helpers

def _lane_dot_reference(a, b, lanes):
    """lane_dot's documented order, in NumPy (element-wise float ops round as the kernel's)."""
    n = len(a)
    if n < lanes:
        s = a.dtype.type(0.0)
        for k in range(n):
            s = s + a[k] * b[k]
        return s
    acc = [np.zeros(lanes, a.dtype), np.zeros(lanes, a.dtype)]
    chunks = n // lanes
    for c in range(chunks):
        last_lone = chunks % 2 == 1 and c == chunks - 1
        acc[0 if last_lone else c % 2] += a[c * lanes:(c + 1) * lanes] * b[c * lanes:(c + 1) * lanes]
    rem = n - chunks * lanes
    if rem:
        tail = a[n - lanes:] * b[n - lanes:]
        tail[:lanes - rem] = 0.0
        acc[0] += tail
    v = acc[0] + acc[1]
    while len(v) > 1:
        v = v[:len(v) // 2] + v[len(v) // 2:]
    return v[0]


@njit
def _call_lane_dot(a, a0, b, b0, n):
    return simd.lane_dot(a, a0, b, b0, n)


@pytest.mark.parametrize("dtype,lanes", [(np.float32, 16), (np.float64, 8)])
def test_lane_dot_sums_in_its_documented_order(dtype, lanes):
    rng = np.random.default_rng(12)
    a = rng.normal(size=900).astype(dtype)
    b = rng.normal(size=900).astype(dtype)
    for n in [0, 1, 5, lanes - 1, lanes, lanes + 1, 2 * lanes, 3 * lanes, 3 * lanes + 5, 128, 668]:
        for a0, b0 in [(0, 0), (3, 17)]:
            got = _call_lane_dot(a, a0, b, b0, n)
            want = _lane_dot_reference(a[a0:a0 + n], b[b0:b0 + n], lanes)
            assert got == want, (n, a0, b0)
            exact = np.dot(a[a0:a0 + n].astype(np.float64), b[b0:b0 + n].astype(np.float64))
            assert abs(got - exact) <= 1e-5 * (1 + np.abs(a[a0:a0 + n] * b[b0:b0 + n]).sum())


@njit
def _call_lane_dot4(a, a0, b, b0, step, n):
    return simd.lane_dot4(a, a0, b, b0, step, n)


@pytest.mark.parametrize("dtype,lanes", [(np.float32, 16), (np.float64, 8)])
def test_lane_dot4_is_four_lane_dots(dtype, lanes):
    """Four dot products computed together have each lane_dot's bits."""
    rng = np.random.default_rng(13)
    a = rng.normal(size=900).astype(dtype)
    b = rng.normal(size=2000).astype(dtype)
    for n in [0, 1, lanes - 1, lanes, lanes + 3, 3 * lanes, 128, 668]:
        for step in [1, 5, 128]:
            got = _call_lane_dot4(a, 3, b, 17, step, n)
            want = tuple(_call_lane_dot(a, 3, b, 17 + t * step, n) for t in range(4))
            assert got == want, (n, step)
            assert got[2] == _lane_dot_reference(a[3:3 + n], b[17 + 2 * step:17 + 2 * step + n],
                                                 lanes)


# ------------------------------------------- the intrinsics' Python forms (NUMBA_DISABLE_JIT)

def _pair(name, call):
    """``call`` compiled twice: with the intrinsic ``name``, and with its Python form."""
    return njit(call(getattr(simd, "_" + name))), njit(call(njit(getattr(simd, f"_{name}_py"))))


def _calls():
    def dot(f):
        return lambda a, a0, b, b0, n: f(a, a0, b, b0, n)

    def dot4(f):
        return lambda a, a0, b, b0, step, n: f(a, a0, b, b0, step, n)

    def tile(f):
        def run(acc, a0, astride, x, x0, xstride, xstep, w, w0, n_in, n_out, zeros):
            f(acc, a0, astride, x, x0, xstride, xstep, w, w0, n_in, n_out, zeros)
        return run

    def conv_tile(f):
        def run(z, z0, x, w, fw, fb, n_c, kh, kw, wd, hw, lz, m0):
            f(z, z0, x, w, fw, fb, n_c, kh, kw, wd, hw, lz, m0)
        return run

    def pool(f):
        def run(z, zo, r0, wd, n_cells, pooled, k0, arg):
            f(z, zo, r0, wd, n_cells, pooled, k0, arg)
        return run

    def taps(f):
        def run(out, o0, ostep, x, x0, xstep, n_rows, dp, arg, k0, cells, kw):
            f(out, o0, ostep, x, x0, xstep, n_rows, dp, arg, k0, cells, kw)
        return run
    return {"lane_dot": dot, "lane_dot4": dot4, "rows_tile4": tile, "conv_tile1": conv_tile,
            "conv_tile2": conv_tile, "pool2_row": pool, "tap_rows": taps}


_PAIRS = {name: _pair(name, call) for name, call in _calls().items()}


def _bits(a):
    return np.atleast_1d(np.asarray(a)).view(np.uint8)


@pytest.mark.needs_jit
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cnn_intrinsics_python_forms_give_their_bits(dtype):
    """Under NUMBA_DISABLE_JIT the CNN runs the intrinsics' Python forms
    (``simd._<name>_py``): compiled, each gives its intrinsic's bits, zeros
    (skipped or not), ties, NaN and the offsets included."""
    g = np.random.default_rng(41)
    lanes = 16 if dtype == np.float32 else 8

    def values(n, zeros=0.0):
        v = g.normal(size=n)
        v[g.uniform(size=n) < zeros] = 0.0
        return v.astype(dtype)

    intr, py = _PAIRS["lane_dot"]
    intr4, py4 = _PAIRS["lane_dot4"]
    a, b = values(700), values(900)
    for n in [0, 3, lanes - 1, lanes, lanes + 5, 3 * lanes, 3 * lanes + 1, 130]:
        assert_array_equal(_bits(py(a, 3, b, 11, n)), _bits(intr(a, 3, b, 11, n)), err_msg=n)
        assert_array_equal(_bits(np.array(py4(a, 3, b, 11, 37, n))),
                           _bits(np.array(intr4(a, 3, b, 11, 37, n))), err_msg=n)

    intr, py = _PAIRS["rows_tile4"]
    n_out = 2 * simd.TILE_VECTORS * lanes + 3
    for n_in, zeros in itertools.product([1, 4, 7, 13], [True, False]):
        x = values(4 * 40 + 5, zeros=0.5)
        x[1:1 + 4 * 3:3] = 0.0                 # image 0's first four inputs: a skipped quad
        x[40 + 1 + 3 * (n_in - 1)] = 0.0         # image 1's last input: skipped alone
        x[2 * 40 + 1] = np.nan
        w = values(n_in * n_out + 10)
        w[5 + (n_in - 1) * n_out + 1] = np.inf    # behind the zeros: NaN unless skipped
        w[5 + min(1, n_in - 1) * n_out] = np.inf
        acc = values(4 * 70 + 9)
        acc[2] = -0.0
        got, want = acc.copy(), acc.copy()
        intr(got, 2, 70, x, 1, 40, 3, w, 5, n_in, n_out, zeros)
        py(want, 2, 70, x, 1, 40, 3, w, 5, n_in, n_out, zeros)
        assert_array_equal(_bits(got), _bits(want), err_msg=f"n_in={n_in} zeros={zeros}")

    for name in ("conv_tile1", "conv_tile2"):
        intr, py = _PAIRS[name]
        n_c, kh, kw, wd, ht = 2, 3, 4, 30, 12
        x = values(n_c * wd * ht)
        w = values(2 * n_c * kh * kw + 7)
        lz = (ht - kh) * wd + wd - kw + 1
        z = np.full(2 * lz + 9, np.nan, dtype)
        got, want = z.copy(), z.copy()
        intr(got, 1, x, w, 3, 0, n_c, kh, kw, wd, wd * ht, lz, 5)
        py(want, 1, x, w, 3, 0, n_c, kh, kw, wd, wd * ht, lz, 5)
        assert_array_equal(_bits(got), _bits(want), err_msg=name)

    intr, py = _PAIRS["pool2_row"]
    z = g.integers(0, 3, 400).astype(dtype)   # ties
    z[g.uniform(size=z.size) < 0.1] = np.nan
    for n_cells in [1, lanes - 1, lanes, lanes + 3]:
        out = [(np.full(60, -7.0, dtype), np.full(60, -7, np.int64)) for _ in range(2)]
        intr(z, 4, 6, 2 * lanes + 10, n_cells, out[0][0], 3, out[0][1])
        py(z, 4, 6, 2 * lanes + 10, n_cells, out[1][0], 3, out[1][1])
        assert_array_equal(_bits(out[0][0]), _bits(out[1][0]), err_msg=f"n_cells={n_cells}")
        assert_array_equal(out[0][1], out[1][1], err_msg=f"n_cells={n_cells}")

    intr, py = _PAIRS["tap_rows"]
    x = values(2000)
    dp = values(50, zeros=0.2)
    arg = g.integers(0, 300, 50).astype(np.int64)
    for n_rows, kw in [(1, 1), (3, 5), (simd.TAP_ROWS, simd.TAP_LANES)]:
        out = np.full(200, np.nan, dtype)
        got, want = out.copy(), out.copy()
        intr(got, 120, -9, x, 7, 33, n_rows, dp, arg, 2, 40, kw)
        py(want, 120, -9, x, 7, 33, n_rows, dp, arg, 2, 40, kw)
        assert_array_equal(_bits(got), _bits(want), err_msg=f"n_rows={n_rows} kw={kw}")


@njit
def _conv_maps(params, spec, x, z, lz):
    conv._conv_maps(params, spec, x, z, lz, 0, spec[conv.SPEC_F])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("c,h,w,k_h,k_w,n_f", [(1, 28, 28, 5, 5, 10), (2, 11, 9, 3, 4, 3),
                                               (1, 8, 8, 3, 3, 5), (3, 14, 30, 2, 7, 1),
                                               (1, 12, 12, 1, 1, 2)])
def test_conv_maps_have_the_article_loops_bits(dtype, c, h, w, k_h, k_w, n_f):
    """The maps at the row stride (stretches in registers, two filters at a
    time, the last stretch overlapping; short maps a tap at a time) equal
    ``conv_image``'s loops bit for bit."""
    rng = np.random.default_rng(h * w + k_w)
    spec, layout, n_params, _ = conv.make_cnn_layout((c, h, w), n_f, k_h, k_w, 1, LOGISTIC, (3,),
                                                     LOGISTIC, 2)
    params = rng.normal(size=n_params).astype(dtype)
    x = rng.normal(size=(c, h, w)).astype(dtype)
    filters, fbias = _unpack(spec, layout, params)[:2]
    want = np.empty((n_f, h - k_h + 1, w - k_w + 1), dtype)
    conv.conv_image(x, filters, fbias, IDENTITY, want)
    oh, ow = want.shape[1:]
    lz = (oh - 1) * w + ow
    z = np.full(n_f * lz + 3, np.nan, dtype)
    _conv_maps(params, spec, x.reshape(-1), z, lz)
    assert np.isnan(z[n_f * lz:]).all()
    padded = [np.concatenate([z[f * lz:(f + 1) * lz], np.zeros(w - ow, dtype)]) for f in range(n_f)]
    got = np.stack([m.reshape(oh, w)[:, :ow] for m in padded])
    assert_array_equal(got, want)


@njit
def _pool_maps(z, lz, spec, pooled, arg):
    conv._pool_maps(z, lz, spec, pooled, arg, 0, spec[conv.SPEC_F])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("h,w,pool", [(24, 28, 2), (9, 41, 2), (5, 6, 2), (9, 10, 3)])
def test_pool_maps_take_the_first_maximum_of_each_window(dtype, h, w, pool):
    """Windows at the row stride (2 x 2: a row of windows to a vector, masked at
    the row's end): the first of tied maxima, a NaN only where it comes first,
    positions in the map; nothing outside the cells written."""
    rng = np.random.default_rng(h * w)
    n_f, k = 3, 3
    spec, *_ = conv.make_cnn_layout((1, h + k - 1, w), n_f, k, 1, pool, LOGISTIC, (3,), LOGISTIC, 2)
    wd = spec[conv.SPEC_W]
    oh, ow = spec[conv.SPEC_OH], spec[conv.SPEC_OW]
    ph, pw = spec[conv.SPEC_PH], spec[conv.SPEC_PW]
    lz = (oh - 1) * wd + ow
    z = rng.integers(0, 4, n_f * lz).astype(dtype)  # many ties
    z[rng.random(z.size) < 0.05] = np.nan
    cells = n_f * ph * pw
    pooled = np.full(cells + 2, -7.0, dtype)
    arg = np.full(cells + 2, -7, np.int64)
    _pool_maps(z, lz, spec, pooled, arg)
    assert (pooled[cells:] == -7.0).all() and (arg[cells:] == -7).all()
    for f in range(n_f):
        for r in range(ph):
            for c in range(pw):
                at = pool * r * wd + pool * c
                best = z[f * lz + at]
                for i in range(pool):
                    for j in range(pool):
                        pos = (pool * r + i) * wd + pool * c + j
                        if z[f * lz + pos] > best:
                            at, best = pos, z[f * lz + pos]
                kk = (f * ph + r) * pw + c
                assert arg[kk] == at, (f, r, c)
                assert_array_equal(pooled[kk], best)


@njit
def _first_layer_group(pd, layout, P, A, r0, r1):
    conv._first_layer_group(pd, layout, P, A, r0, r1)


@njit
def _head_layer0(pd, layout, x, a):
    conv._head_layer(pd, layout, x, a, 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_in,n_out", [(1440, 128), (37, 45), (6, 16), (9, 3)])
@pytest.mark.parametrize("zeros", [True, False])
def test_first_layer_group_has_the_bits_of_one_image_at_a_time(dtype, n_in, n_out, zeros):
    """Four images at a time in registers (``rows_tile4``) and the rest (the
    group's last images, the columns after the last whole tile) give each
    image the bits of ``_head_layer``, zero quads of inputs skipped alike
    (signed zeros and an infinite weight behind a skipped quad tell), and
    inputs without zeros (the tile's loop without tests) alike."""
    rng = np.random.default_rng(n_in + n_out)
    layout, n_params, n_units = dense.make_layout([n_in, n_out, 3], [LOGISTIC, IDENTITY],
                                                  [True, True])
    pd = rng.normal(size=n_params).astype(dtype)
    P = rng.normal(size=(7, n_in)).astype(dtype)
    P[rng.random(P.shape) < 0.3] = 0.0
    P[1, :4] = 0.0
    P[2, 4:8] = -0.0
    pd[:n_out] = -0.0  # first row: -0.0 weights, so skipped and added quads differ in sign
    if n_in >= 8:
        pd[4 * n_out:5 * n_out] = np.inf  # row 4: adds nan unless its quad is skipped
    P[5, 4:8] = 0.0
    if not zeros:
        P = np.abs(P) + dtype(0.25)
    for r0, r1 in [(0, 7), (2, 6), (0, 3), (3, 4)]:
        A = np.full((7, n_units + 5), np.nan, dtype)
        _first_layer_group(pd, layout, P, A, r0, r1)
        for r in range(r0, r1):
            a = np.full(n_units, np.nan, dtype)
            _head_layer0(pd, layout, P[r], a)
            assert_array_equal(A[r, :n_out], a[:n_out])
            assert_array_equal(np.signbit(A[r, :n_out]), np.signbit(a[:n_out]))
        assert np.isnan(A[:r0]).all() and np.isnan(A[r1:]).all()


@njit
def _outer_rows(inp, i0, i1, istride, d, d0, dstride, n_out, nb, g, g0, tiled):
    if tiled:
        conv._batch_outer_rows(inp, i0, i1, istride, d, d0, dstride, n_out, nb, g, g0)
    else:
        conv._batch_outer_rest(inp, i0, i1, istride, d, d0, dstride, n_out, nb, g, g0, 0, n_out)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_in,n_out,nb", [(1440, 128, 64), (13, 45, 7), (8, 16, 3), (5, 10, 9)])
@pytest.mark.parametrize("zeros", [True, False])
def test_batch_weight_gradient_in_registers_has_the_passes_bits(dtype, n_in, n_out, nb, zeros):
    """The batch's weight gradient, four weight rows at a time in registers
    (``rows_tile4`` with the batch rows as its inputs), equals the loop that
    adds four batch rows a pass over each row of the gradient, bit for bit."""
    rng = np.random.default_rng(n_in + nb)
    istride, dstride = n_in + 3, n_out + 5
    inp = rng.normal(size=nb * istride).astype(dtype)
    inp[rng.random(inp.size) < 0.4] = 0.0
    inp[:4 * istride:istride] = 0.0  # the first input's first four batch rows: a skipped quad
    if not zeros:
        inp = np.abs(inp) + dtype(0.25)
    d = rng.normal(size=nb * dstride + 2).astype(dtype)
    for i0, i1 in [(0, min(n_in, 8)), (1, min(n_in, 9)), (n_in - 5, n_in)]:
        got = np.full(n_out * (i1 - i0) + 4, np.nan, dtype)
        want = got.copy()
        want[2:2 + n_out * (i1 - i0)] = 0.0
        _outer_rows(inp, i0, i1, istride, d, 2, dstride, n_out, nb, got, 2, True)
        _outer_rows(inp, i0, i1, istride, d, 2, dstride, n_out, nb, want, 2, False)
        assert_array_equal(got, want)
        assert np.isnan(got[:2]).all() and np.isnan(got[-2:]).all()


@njit
def _filter_gradients(spec, x, dp, arg, dz, lz, gw, gb):
    conv._filter_gradient_maps(spec, x, dp, arg, dz, lz, gw, gb, 0, spec[conv.SPEC_F])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("c,h,w,k_h,k_w,pool", [(1, 28, 28, 5, 5, 2), (2, 13, 12, 3, 8, 2),
                                                (1, 14, 12, 10, 1, 1), (3, 9, 13, 2, 9, 2)])
def test_filter_gradient_sums_the_routed_deltas_in_cell_order(dtype, c, h, w, k_h, k_w, pool):
    """Each filter tap sums ``dp[k] * x[tap + arg[k]]`` over the pooled cells in
    order, each product rounded (``tap_rows``, filters up to 8 wide; wider ones
    route the deltas into a map), and the bias sums the deltas."""
    rng = np.random.default_rng(c * h + k_w)
    n_f = 3
    spec, layout, n_params, n_units = conv.make_cnn_layout((c, h, w), n_f, k_h, k_w, pool, LOGISTIC,
                                                           (4,), LOGISTIC, 2)
    oh, ow, ph, pw = (spec[conv.SPEC_OH], spec[conv.SPEC_OW], spec[conv.SPEC_PH],
                      spec[conv.SPEC_PW])
    lz = (oh - 1) * w + ow
    x = rng.normal(size=c * h * w).astype(dtype)
    cells = ph * pw
    dp = rng.normal(size=n_f * cells).astype(dtype)
    dp[::5] = 0.0
    # an argmax in each pooling window, at the image's row stride
    r = (np.arange(ph)[:, None] * pool + rng.integers(0, pool, (n_f, ph, pw)))
    col = (np.arange(pw)[None, :] * pool + rng.integers(0, pool, (n_f, ph, pw)))
    arg = (r * w + col).reshape(-1).astype(np.int64)
    gw = np.full((n_f, c, k_h, k_w), np.nan, dtype)
    gb = np.full(n_f, np.nan, dtype)
    dz = np.zeros(lz, dtype)
    _filter_gradients(spec, x, dp, arg, dz, lz, gw, gb)
    assert not dz.any()
    want = np.zeros_like(gw)
    xi = x.reshape(c, h, w)
    for f in range(n_f):
        assert gb[f] == np.cumsum(dp[f * cells:(f + 1) * cells], dtype=dtype)[-1]
        for ch in range(c):
            for i in range(k_h):
                for j in range(k_w):
                    s = dtype(0.0)
                    for k in range(f * cells, (f + 1) * cells):
                        s = s + dp[k] * xi[ch, arg[k] // w + i, arg[k] % w + j]
                    want[f, ch, k_h - 1 - i, k_w - 1 - j] = s
    if k_w <= simd.TAP_LANES:
        assert_array_equal(gw, want)
    else:  # lane_dot's order
        assert_allclose(gw, want, **TOL[dtype])


@njit
def _call_logistic32(z, bits):
    activations.logistic32_inplace(z, z.shape[0], bits, bits.view(np.float32))


def test_logistic32_is_within_a_few_ulp_of_expit_and_finite():
    x = np.concatenate([np.linspace(-100, 100, 20001), [0.0, -0.0, 1e-30, -1e-30, 87.5, -87.5,
                                                      1e30, -1e30, 3.4e38, -3.4e38]])
    z = x.astype(np.float32)
    want = expit(z.astype(np.float64))
    _call_logistic32(z, np.empty(len(z), np.int32))
    assert z.dtype == np.float32 and np.isfinite(z).all() and (z >= 0).all() and (z <= 1).all()
    big = want > 1e-30
    assert_allclose(z[big], want[big], rtol=5e-7, atol=0)
    assert (z[~big] < 2e-30).all()


@pytest.mark.parametrize("conv_act,act,k,pool", [("logistic", "logistic", 3, 2),
                                                 ("tanh", "relu", 2, 3), ("relu", "tanh", 3, 2)])
def test_float32_sgd_step_matches_the_article(conv_act, act, k, pool):
    """Batch size 1 in float32 (the polynomial logistic, lane sums) against the float64 reference."""
    spec, layout, params, _ = _network(seed=13, hidden=(6,), image=(1, 10, 10), k=k, pool=pool,
                                       conv_act=ACTS[conv_act], act=ACTS[act])
    X, Y = _data(14, 1, image=(1, 10, 10))
    ref = [[p.copy() for p in v] if isinstance(v, list) else v.copy()
           for v in _unpack(spec, layout, params)]
    ref_loss = reference.cnn_sgd_step(X[0, 0], Y[0], *ref, lr=0.1, pool=pool, conv_act=conv_act,
                                      act=act)
    p32 = params.astype(np.float32)
    curve, _ = _train(conv.train_epochs, spec, layout, p32, X.astype(np.float32),
                      Y.astype(np.float32), batch=1)
    assert_allclose(curve[0], ref_loss, rtol=1e-5)
    got = _unpack(spec, layout, p32)
    for a, r in zip([got[0], got[1]] + got[2] + got[3], [ref[0], ref[1]] + ref[2] + ref[3]):
        assert a.dtype == np.float32
        assert_allclose(a, r, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("conv_act,act", [(LOGISTIC, LOGISTIC), (TANH, RELU)])
def test_float32_minibatch_step_is_the_mean_gradient_step(conv_act, act):
    """A float32 minibatch (the batch-1 helpers per image, the batch's sums four
    rows a pass) against the float64 full-batch gradient: params -= lr * grad."""
    spec, layout, params, n_units = _network(seed=17, hidden=(6, 5), image=(1, 10, 10),
                                             conv_act=conv_act, act=act)
    X, Y = _data(18, 7, image=(1, 10, 10))
    s = _scratch(spec, n_units)
    grad = np.empty_like(params)
    loss = conv.gradient(params, spec, layout, X, Y, 0.0, s["CONV"][0], s["POOL"][0],
                         s["ARG"][0], s["A"][0], s["D"][0], s["DP"][0], grad)
    p32 = params.astype(np.float32)
    curve, steps = _train(conv.train_epochs, spec, layout, p32, X.astype(np.float32),
                          Y.astype(np.float32), batch=7, lr=0.5)
    assert p32.dtype == np.float32
    assert_allclose(steps[0, 0], loss, rtol=1e-5)
    assert_allclose(p32, params - 0.5 * grad, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("batch", [1, 4])
def test_float32_training_same_for_any_thread_count(n_threads, batch):
    # (the serial twin is checked in float64 above; compiling it for float32
    # too would cost 20 s of the suite)
    X, Y = _data(15, 9)
    runs = []
    for n in n_threads:
        spec, layout, params, _ = _network(seed=16)
        p32 = params.astype(np.float32)
        with threads(n):
            curve, steps = _train(conv.train_epochs, spec, layout, p32, X.astype(np.float32),
                                  Y.astype(np.float32), batch, epochs=2, order=dense.SHUFFLE,
                                  momentum=0.9 if batch > 1 else 0.0)
        runs.append((p32, curve, steps))
    for other in runs[1:]:
        for a, b in zip(runs[0], other):
            assert_array_equal(a, b)


# ------------------------------------------------------------------- sample weights

WEIGHTED_RUNS = [(1, dense.SGD, 0.9), (1, dense.ADAM, 0.0), (4, dense.SGD, 0.9), (4, dense.ADAM, 0.0)]


@pytest.mark.parametrize("batch,solver,momentum", WEIGHTED_RUNS)
def test_weights_of_one_give_the_unweighted_bits(batch, solver, momentum):
    X, Y = _data(8, 12)
    runs = []
    for sw in (None, np.ones(len(X))):
        spec, layout, params, _ = _network(seed=4)
        curve, steps = _train(conv.train_epochs, spec, layout, params, X, Y, batch, epochs=2,
                              order=dense.SHUFFLE, solver=solver, momentum=momentum, alpha=0.02, sw=sw)
        runs.append((params, curve, steps))
    for a, b in zip(*runs):
        assert_array_equal(a, b)


@pytest.mark.parametrize("batch,solver,momentum", WEIGHTED_RUNS)
def test_images_of_weight_zero_are_as_if_absent(batch, solver, momentum):
    """In order, images (batch size 1) or whole minibatches of weight zero
    leave the network as training without them does, Adam's step count
    included; the epoch's loss is still a mean over every image."""
    X, Y = _data(9, 12)
    keep = np.ones(len(X), bool)
    keep[[2, 7, 8] if batch == 1 else slice(4, 8)] = False
    spec, layout, weighted, _ = _network(seed=5)
    without = weighted.copy()
    curve_w, _ = _train(conv.train_epochs, spec, layout, weighted, X, Y, batch, epochs=2,
                        solver=solver, momentum=momentum, alpha=0.02, sw=keep.astype(float))
    curve_o, _ = _train(conv.train_epochs, spec, layout, without, X[keep], Y[keep], batch, epochs=2,
                        solver=solver, momentum=momentum, alpha=0.02)
    assert_array_equal(weighted, without)
    assert_allclose(curve_w * len(X), curve_o * keep.sum(), rtol=1e-12)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**16), solver=st.sampled_from([dense.SGD, dense.ADAM]))
def test_integer_weights_equal_repeated_images_in_full_batch(seed, solver):
    """One minibatch of all the images: an image of weight k trains as k copies of it."""
    X, Y = _data(seed, 7)
    w = np.random.default_rng(seed).integers(0, 4, len(X))
    w[0] = 1
    spec, layout, weighted, _ = _network(seed=seed % 7)
    repeated = weighted.copy()
    curve_w, _ = _train(conv.train_epochs, spec, layout, weighted, X, Y, len(X), epochs=3,
                        solver=solver, momentum=0.5, alpha=0.05, sw=w.astype(float))
    Xr, Yr = np.repeat(X, w, axis=0), np.repeat(Y, w, axis=0)
    curve_r, _ = _train(conv.train_epochs, spec, layout, repeated, Xr, Yr, len(Xr), epochs=3,
                        solver=solver, momentum=0.5, alpha=0.05)
    assert_allclose(weighted, repeated, rtol=1e-10, atol=1e-13)
    assert_allclose(curve_w, curve_r, rtol=1e-10)


def test_a_weighted_minibatch_step_follows_the_weighted_gradient():
    """One SGD step on a weighted minibatch moves the parameters by -lr times the
    weighted mean of the images' gradients plus alpha W over the weights' sum
    (the per-image gradients from ``conv.gradient``, which is unweighted)."""
    X, Y = _data(10, 5)
    w = np.array([0.5, 2.0, 0.0, 1.0, 3.0])
    spec, layout, params, n_units = _network(seed=6)
    alpha, lr = 0.1, 1e-3
    want = np.zeros_like(params)
    for i in range(len(X)):
        s = _scratch(spec, n_units, 1)
        g = np.empty_like(params)
        conv.gradient(params, spec, layout, X[i:i + 1], Y[i:i + 1], 0.0, s["CONV"][0],
                      s["POOL"][0], s["ARG"][0], s["A"][0], s["D"][0], s["DP"][0], g)
        want += w[i] * g
    n_conv = spec[conv.SPEC_B_OFF]
    d = spec[conv.SPEC_DENSE_OFF]
    decay = np.zeros_like(params)
    decay[:n_conv] = params[:n_conv]                  # filters
    for i, o, w0 in layout[:, :3]:                   # the head's weights, not biases
        decay[d + w0:d + w0 + i * o] = params[d + w0:d + w0 + i * o]
    want = (want + alpha * decay) / w.sum()
    before = params.copy()
    _train(conv.train_epochs, spec, layout, params, X, Y, len(X), lr=lr, alpha=alpha, sw=w)
    assert_allclose((before - params) / lr, want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("batch", [1, 4])
def test_weighted_training_same_for_any_thread_count(n_threads, batch):
    X, Y = _data(11, 11)
    w = np.random.default_rng(3).integers(0, 3, len(X)).astype(float)
    runs = []
    for n in n_threads:
        spec, layout, params, _ = _network(seed=8)
        with threads(n):
            curve, steps = _train(conv.train_epochs, spec, layout, params, X, Y, batch, epochs=2,
                                  order=dense.SHUFFLE, solver=dense.ADAM, alpha=0.01, threads=n, sw=w)
        runs.append((params, curve, steps))
    for a, b in zip(runs[0], runs[-1]):
        assert_array_equal(a, b)
