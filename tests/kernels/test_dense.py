"""Dense kernels: activations, losses, forward/backward, the compiled epoch loop."""
import itertools
import math
import platform

import numba
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from numba import njit
from numpy.testing import assert_allclose, assert_array_equal

from fastnn import threads
from fastnn.kernels import activations as A
from fastnn.kernels import _parallel, dense, losses, rng, simd
from tests import reference

TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-14)}
NAMES = ["identity", "logistic", "tanh", "relu", "softmax"]


def _z(seed=0, shape=(7, 5)):
    z = np.random.default_rng(seed).normal(0, 3, shape)
    z[0] = 0.0                       # the awkward rows: all zeros
    z[1] = [1e4, -1e4, 800, -800, 3]  # and saturating values
    return z


@pytest.mark.parametrize("name", NAMES)
def test_activation_matches_reference_and_is_finite(name):
    z = _z()
    out = np.empty_like(z)
    A.activation_forward(A.CODES[name], z, out)
    assert np.isfinite(out).all()
    with np.errstate(over="ignore"):
        expected = reference.activation(name, z)
    good = np.isfinite(expected).all(axis=1)
    assert_allclose(out[good], expected[good], rtol=1e-12, atol=1e-300)
    if name == "logistic":
        assert out[1, 0] == 1.0 and 0.0 <= out[1, 1] < 1e-300


def test_exp_activation_matches_numpy_and_overflows_to_inf():
    """The exponential output (scikit-learn's for loss='poisson'): np.exp's
    values within two ulp, inf (not NaN) beyond the float range, 0 far below."""
    z = _z()
    out = np.empty_like(z)
    A.activation_forward(A.EXP, z, out)
    with np.errstate(over="ignore"):
        want = np.exp(z)
    assert_allclose(out, want, rtol=5e-16, atol=0)
    assert out[1, 0] == np.inf and out[1, 1] == 0.0 and not np.isnan(out).any()
    d = np.empty_like(out)
    A.activation_derivative(A.EXP, out, d)
    assert_array_equal(d, out)   # exp' = exp


def _expit_long_double(x):
    """1 / (1 + exp(-x)) in long double, rounded to float64: the reference."""
    xl = np.asarray(x, dtype=np.longdouble)
    with np.errstate(over="ignore"):
        e = np.exp(-np.abs(xl))
    return np.where(xl >= 0, 1 / (1 + e), e / (1 + e)).astype(np.float64)


def test_logistic_is_within_three_ulp_of_the_long_double_reference():
    """The polynomial logistic (a vectorised loop in ``activate``) against long
    double: 3 ulp at most (libm's exp gives 2); beyond |x| = 708 exactly 0 or 1,
    NaN stays NaN, and the scalar function gives the loop's bits."""
    g = np.random.default_rng(5)
    x = np.concatenate([g.normal(0, 6, 200_000), g.uniform(-720, 720, 20_000),
                        np.linspace(-1e-3, 1e-3, 2001),
                        [0.0, -0.0, 5e-324, -5e-324, 707.9, -707.9, 708.0, -708.0, 708.5, -708.5,
                         745.2, -745.2, 1e308, -1e308, np.inf, -np.inf]])
    z = x.copy()
    A.activate(A.LOGISTIC, z)
    want = _expit_long_double(x)
    assert ((z >= 0) & (z <= 1)).all()
    normal = want > 1e-300
    ulp = np.abs(z[normal] - want[normal]) / np.spacing(want[normal])
    assert ulp.max() <= 3.0
    far = np.abs(x) > 708.0
    assert_array_equal(z[far], (x[far] > 0).astype(np.float64))
    scalar = np.array([A.logistic(v) for v in x[:2000]] + [A.logistic(v) for v in x[-16:]])
    assert_array_equal(scalar, np.concatenate([z[:2000], z[-16:]]))
    nan = np.array([np.nan, 1.0])
    A.activate(A.LOGISTIC, nan)
    assert np.isnan(nan[0]) and nan[1] == _expit_long_double(1.0)


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False, width=64))
def test_logistic_is_in_range_and_within_three_ulp(v):
    z = np.array([v])
    A.activate(A.LOGISTIC, z)
    want = _expit_long_double(v)
    assert 0.0 <= z[0] <= 1.0
    if want > 1e-300:
        assert abs(z[0] - want) <= 3 * np.spacing(want)


@pytest.mark.parametrize("name", ["identity", "logistic", "tanh", "relu", "exp"])
def test_activation_derivative_matches_finite_differences(name):
    z = np.random.default_rng(1).normal(0, 2, (4, 6))
    z[np.abs(z) < 1e-3] = 0.5        # keep relu away from its kink
    a = np.empty_like(z)
    A.activation_forward(A.CODES[name], z, a)
    d = np.empty_like(z)
    A.activation_derivative(A.CODES[name], a, d)
    h = 1e-6
    fd = (reference.activation(name, z + h) - reference.activation(name, z - h)) / (2 * h)
    assert_allclose(d, fd, rtol=1e-7, atol=1e-9)


def _loss_cases():
    for act in NAMES:
        yield act, "squared"
    yield "logistic", "log"
    yield "softmax", "log"
    yield "exp", "squared"
    yield "exp", "poisson"


@pytest.mark.parametrize("act,loss", list(_loss_cases()))
def test_output_delta_is_the_derivative_of_the_loss(act, loss):
    g = np.random.default_rng(2)
    z = g.normal(0, 1.5, 4)
    y = g.uniform(0, 1, 4) if act != "softmax" else np.eye(4)[1]
    if loss == "poisson":
        y = np.array([0.0, 1.0, 3.0, 0.5])   # counts and a rate, a zero among them
    if act == "relu":
        z = np.abs(z) + 0.1
    a = z.copy()
    A.activate(A.CODES[act], a)
    delta = np.empty(4)
    losses.output_delta(losses.CODES[loss], A.CODES[act], a, y, delta)

    def loss_at(zz):
        aa = zz.copy()
        A.activate(A.CODES[act], aa)
        return losses.sample_loss(losses.CODES[loss], A.CODES[act], aa, y)

    h = 1e-6
    fd = np.array([(loss_at(z + h * e) - loss_at(z - h * e)) / (2 * h) for e in np.eye(4)])
    assert_allclose(delta, fd, rtol=1e-6, atol=1e-9)


def test_losses_match_reference():
    g = np.random.default_rng(3)
    Y = np.eye(3)[g.integers(0, 3, 6)]
    Z = g.normal(size=(6, 3))
    for act, loss in [("softmax", "log"), ("logistic", "log"), ("tanh", "squared")]:
        P = reference.activation(act, Z)
        got = np.mean([losses.sample_loss(losses.CODES[loss], A.CODES[act], P[n], Y[n])
                       for n in range(6)])
        exp = reference.mlp_loss(Z, Y, [np.eye(3)], [np.zeros(3)], [act], loss)
        assert got == pytest.approx(exp, rel=1e-12)


def test_poisson_loss_matches_scikit_learns():
    """Half the Poisson deviance, scikit-learn's ``poisson_loss`` per sample
    (``0 log 0 = 0``); an output that underflowed to 0 under a positive count
    is an infinite loss, not an exception or NaN."""
    from sklearn.neural_network._base import poisson_loss
    g = np.random.default_rng(4)
    P = np.exp(g.normal(size=(8, 3)))
    Y = g.poisson(2.0, size=(8, 3)).astype(float)
    Y[0] = 0.0
    got = [losses.sample_loss(losses.POISSON, A.EXP, P[n], Y[n]) for n in range(8)]
    assert_allclose(got, [poisson_loss(Y[n:n + 1], P[n:n + 1]) for n in range(8)], rtol=1e-13)
    assert losses.sample_loss(losses.POISSON, A.EXP, np.array([0.0, 1.0]), np.array([2.0, 1.0])) == np.inf
    assert losses.sample_loss(losses.POISSON, A.EXP, np.array([0.0]), np.array([0.0])) == 0.0


def test_log_loss_is_clipped_not_infinite():
    a = np.array([0.0, 1.0])
    y = np.array([1.0, 0.0])
    v = losses.sample_loss(losses.LOG, A.LOGISTIC, a, y)
    assert np.isfinite(v) and v > 30


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kernel", [dense.dense_forward, dense.dense_forward_serial])
@pytest.mark.parametrize("act", NAMES)
def test_dense_forward_matches_reference(kernel, act, dtype):
    g = np.random.default_rng(4)
    x = g.normal(size=(9, 6)).astype(dtype)
    x[0] = 0.0
    w = g.normal(size=(6, 4)).astype(dtype)
    b = g.normal(size=4).astype(dtype)
    out = np.empty((9, 4), dtype)
    kernel(x, w, b, A.CODES[act], out)
    expected = reference.activation(act, x.astype(np.float64) @ w + b)
    assert_allclose(out, expected, **TOL[dtype])


@pytest.mark.parametrize("kernel", [dense.dense_backward, dense.dense_backward_serial])
def test_dense_backward_matches_reference(kernel):
    g = np.random.default_rng(5)
    x = reference.activation("tanh", g.normal(size=(8, 5)))
    w = g.normal(size=(5, 3))
    delta = g.normal(size=(8, 3))
    gw, gb, din = np.empty((5, 3)), np.empty(3), np.empty((8, 5))
    kernel(x, w, delta, A.TANH, gw, gb, din)
    assert_allclose(gw, x.T @ delta / 8, rtol=1e-12)
    assert_allclose(gb, delta.mean(axis=0), rtol=1e-12)
    assert_allclose(din, (delta @ w.T) * (1 - x ** 2), rtol=1e-12)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**63 - 1), stream=st.integers(0, 2**40), n=st.integers(1, 60))
def test_permutation_is_a_permutation(seed, stream, n):
    order = np.empty(n, np.int64)
    rng.permutation(seed, stream, order)
    assert_array_equal(np.sort(order), np.arange(n))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), drawn=st.integers(0, 700), n=st.integers(0, 1500),
       epochs=st.integers(1, 3))
def test_mt_shuffle_is_numpys_randomstate_shuffle(seed, drawn, n, epochs):
    """The trainers' SHUFFLE_RANDOMSTATE shuffles as ``RandomState.shuffle``
    (what scikit-learn's MLP calls every epoch, through ``sklearn.utils.shuffle``),
    from any position of the stream (``drawn`` words in: across the 624-word
    regeneration), each epoch shuffling the last epoch's order again; and the
    RandomState is left where NumPy's would be."""
    from sklearn.utils import shuffle
    want = np.random.RandomState(seed)
    want.randint(0, 2**31, size=drawn)          # a word each
    got = np.random.RandomState(0)
    got.set_state(want.get_state())
    mt = rng.mt_state(got)
    idx = order = np.arange(n)
    for _ in range(epochs):
        idx = shuffle(idx, random_state=want)
        rng.mt_shuffle(mt, order)
        assert_array_equal(order, idx)
    rng.set_mt_state(got, mt)
    assert_array_equal(got.get_state()[1], want.get_state()[1])
    assert got.get_state()[2] == want.get_state()[2]
    assert got.uniform() == want.uniform()


@pytest.mark.parametrize("hi", [1, 2, 5, 2**31 - 1, 2**32 - 1, 2**32, 3 * 2**40 + 17, 2**62])
def test_mt_interval_draws_as_numpy(hi):
    """``mt_interval`` is NumPy's masked draw on [0, hi]: 32-bit words up to
    2**32 - 1, two words above (legacy ``randint``'s masked path, the same rule)."""
    want = np.random.RandomState(11)
    mt = rng.mt_state(want)
    expected = want.randint(0, hi + 1, size=200, dtype=np.int64)
    assert_array_equal([_mt_interval(mt, hi) for _ in range(200)], expected)


@njit
def _mt_interval(mt, hi):
    return rng.mt_interval(mt, hi)


def test_uniform_is_uniform_and_keyed():
    u = np.array([rng.uniform(7, 3, i) for i in range(20000)])
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.01 and abs(u.var() - 1 / 12) < 0.005
    assert rng.uniform(7, 3, 5) == rng.uniform(7, 3, 5)
    assert len({rng.uniform(7, 3, 5), rng.uniform(8, 3, 5), rng.uniform(7, 4, 5), rng.uniform(7, 3, 6)}) == 4


# ------------------------------------------------------------ the epoch loop


def _net(sizes, acts, bias, dtype=np.float64, seed=0):
    layout, n_params, n_units = dense.make_layout(sizes, [A.CODES[a] for a in acts], bias)
    params = np.random.default_rng(seed).uniform(-0.5, 0.5, n_params).astype(dtype)
    return layout, params, n_units


def _views(layout, params):
    Ws = [params[w0:w0 + i * o].reshape(i, o) for i, o, w0 in layout[:, :3]]
    bs = [params[b0:b0 + o] if b0 >= 0 else None for o, b0 in zip(layout[:, 1], layout[:, 3])]
    return Ws, bs


def _train(layout, params, n_units, X, Y, *, batch=1, order=dense.SEQUENTIAL, epochs=1, solver=dense.SGD,
           lr=0.1, momentum=0.0, alpha=0.0, nesterov=False, seed=0, kernel=None,
           loss=losses.SQUARED, sw=None):
    if kernel is None:   # the engine's trainer for the batch size
        kernel = dense.train_samples if batch == 1 else dense.train_epochs
    hp = np.array([lr, momentum, 0.9, 0.999, 1e-8, alpha])
    dt = params.dtype
    vel, sq = np.zeros_like(params), np.zeros_like(params)
    state = np.array([np.inf, 0, 0, 0.0])
    curve = np.empty(epochs)
    X, Y = X.astype(dt), Y.astype(dt)
    mt = (rng.mt_state(np.random.RandomState(seed)) if order == dense.SHUFFLE_RANDOMSTATE
          else np.empty(0, np.int64))
    n = kernel(params, layout, loss, X, Y, batch, order, seed, 0, epochs, solver,
               nesterov, hp, -1.0, 10, numba.get_num_threads(), vel, sq, state, np.arange(len(X)),
               np.empty((batch, n_units), dt), np.empty((batch, n_units), dt), np.empty_like(params),
               np.empty(batch), curve, np.empty(0) if sw is None else sw, mt)
    return n, curve, state


XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
XOR_Y = np.array([[0], [1], [1], [0]], float)


@pytest.mark.parametrize("one_hidden", [False, True], ids=["generic", "one-hidden"])
@pytest.mark.parametrize("rule,solver", [("classical", dense.SGD), ("nesterov", dense.SGD),
                                         ("previous_gradient", dense.SGD_PREVIOUS_GRADIENT)])
def test_per_sample_epochs_match_the_article_loop(rule, solver, one_hidden):
    """Part D's network, with the generic engine and the one-hidden-layer trainer."""
    layout, params, n_units = _net([2, 5, 1], ["logistic", "logistic"], [True, False])
    Ws, bs = _views(layout, params.copy())
    Ws, bs = [w.copy() for w in Ws], [b.copy() if b is not None else None for b in bs]
    nesterov = rule == "nesterov"
    kernel = dense.one_hidden_trainer(solver, 2) if one_hidden else dense.train_samples
    _train(layout, params, n_units, XOR_X, XOR_Y, epochs=3, lr=0.5, momentum=0.3, solver=solver,
           nesterov=nesterov, kernel=kernel)
    vel = {}
    for _ in range(3):
        for x, y in zip(XOR_X, XOR_Y):
            reference.sgd_momentum_step(x, y, Ws, bs, vel, 0.5, 0.3, rule)
    got_W, got_b = _views(layout, params)
    for g, e in zip(got_W, Ws):
        assert_allclose(g, e, rtol=1e-12)
    assert_allclose(got_b[0], bs[0], rtol=1e-12)


def _fd_gradient(layout, params, X, Y, acts, loss, alpha, h=1e-5):
    fd = np.empty_like(params)
    for k in range(len(params)):
        vals = []
        for s in (h, -h):
            p = params.copy()
            p[k] += s
            Ws, bs = _views(layout, p)
            vals.append(reference.mlp_loss(X, Y, Ws, bs, acts, loss, alpha))
        fd[k] = (vals[0] - vals[1]) / (2 * h)
    return fd


CASES = [(hidden, out, loss) for hidden in ["identity", "logistic", "tanh", "relu"]
         for out, loss in [("identity", "squared"), ("logistic", "squared"), ("tanh", "squared"),
                           ("relu", "squared"), ("softmax", "squared"), ("logistic", "log"),
                           ("softmax", "log")]]


# the exponential output, under its Poisson loss (counts) and the squared one
EXP_CASES = [(hidden, "exp", loss) for hidden in ["logistic", "tanh", "relu"]
             for loss in ["poisson", "squared"]]


def _targets(g, out, loss, n):
    if loss == "poisson":
        return g.poisson(1.5, size=(n, 3)).astype(float)
    return np.eye(3)[g.integers(0, 3, n)] if out in ("softmax", "logistic") else g.normal(size=(n, 3))


@pytest.mark.parametrize("batch", [1, 6], ids=["per-sample", "minibatch"])
@pytest.mark.parametrize("hidden,out,loss", CASES + EXP_CASES)
def test_training_step_follows_the_finite_difference_gradient(hidden, out, loss, batch):
    """One SGD step of the real training path moves the weights by -lr * gradient."""
    g = np.random.default_rng(6)
    X = g.normal(size=(batch, 3))
    Y = _targets(g, out, loss, batch)
    acts = [hidden, hidden, out]
    layout, params, n_units = _net([3, 4, 3, 3], acts, [True, False, True], seed=7)
    if out == "relu" or hidden == "relu":
        params[layout[0, 3]:layout[0, 3] + 4] += 0.3
    alpha = 0.01
    fd = _fd_gradient(layout, params, X, Y, acts, loss, alpha)
    p1 = params.copy()
    lr = 1e-7
    _train(layout, p1, n_units, X, Y, batch=batch, lr=lr, alpha=alpha, loss=losses.CODES[loss])
    step = (params - p1) / lr
    assert_allclose(step, fd, rtol=1e-5, atol=1e-7)


def _loss_gradient(layout, params, n_units, X, Y, loss, alpha, sw=None, chunk=None, threads=1):
    n = len(X)
    chunk = chunk or n
    grad = np.empty(len(params))
    value = dense.loss_gradient(params, layout, loss, X, Y, np.empty(0) if sw is None else sw,
                                alpha, threads, grad, np.empty((chunk, n_units), params.dtype),
                                np.empty((chunk, n_units), params.dtype), np.empty_like(params),
                                np.empty(chunk), np.arange(n))
    return value, grad


@pytest.mark.parametrize("hidden,out,loss", CASES[::3] + EXP_CASES[::3])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_full_batch_loss_gradient_matches_finite_differences(hidden, out, loss, weighted):
    """solver='lbfgs''s loss and gradient, with and without sample weights
    (some zero), against the NumPy loss and its central differences; in chunks
    of rows and on threads, the same loss and gradient (on threads, the same bits)."""
    g = np.random.default_rng(9)
    n = 37
    X = g.normal(size=(n, 3))
    X[::4, 1] = 0.0   # zero inputs: the listed rows
    Y = _targets(g, out, loss, n)
    sw = g.integers(0, 4, n).astype(float) if weighted else None
    acts = [hidden, hidden, out]
    layout, params, n_units = _net([3, 5, 4, 3], acts, [True, False, True], seed=10)
    alpha = 0.05
    code = losses.CODES[loss]
    value, grad = _loss_gradient(layout, params, n_units, X, Y, code, alpha, sw)
    Ws, bs = _views(layout, params)
    assert value == pytest.approx(reference.mlp_loss(X, Y, Ws, bs, acts, loss, alpha, sw), rel=1e-12)
    fd = np.empty_like(params)
    for k in range(len(params)):
        vals = []
        for h in (1e-6, -1e-6):
            p = params.copy()
            p[k] += h
            Ws, bs = _views(layout, p)
            vals.append(reference.mlp_loss(X, Y, Ws, bs, acts, loss, alpha, sw))
        fd[k] = (vals[0] - vals[1]) / 2e-6
    assert_allclose(grad, fd, rtol=1e-5, atol=1e-8)
    for chunk, n_threads in [(5, 1), (16, 2), (n, 2)]:
        v2, g2 = _loss_gradient(layout, params, n_units, X, Y, code, alpha, sw, chunk, n_threads)
        assert v2 == pytest.approx(value, rel=1e-13)
        assert_allclose(g2, grad, rtol=1e-12, atol=1e-15)
        if chunk == n:
            assert v2 == value
            assert_array_equal(g2, grad)


def test_full_batch_loss_gradient_equals_the_check_kernel():
    """Two implementations: the blocked, threaded one solver='lbfgs' takes and
    the plain serial loop of the gradient checks, on a wide sparse input (the
    first layer's listed rows) in float64 and float32."""
    g = np.random.default_rng(11)
    X = g.random((300, 40)) * (g.random((300, 40)) < 0.3)
    Y = np.eye(10)[g.integers(0, 10, 300)]
    for dt in (np.float64, np.float32):
        layout, params, n_units = _net([40, 24, 10], ["relu", "softmax"], [True, True], dt)
        Xd, Yd = X.astype(dt), Y.astype(dt)
        value, grad = _loss_gradient(layout, params, n_units, Xd, Yd, losses.LOG, 1e-3, chunk=128,
                                     threads=2)
        want = np.empty(len(params), dt)
        want_value = dense.gradient(params, layout, losses.LOG, Xd, Yd, 1e-3,
                                    np.empty((300, n_units), dt), np.empty((300, n_units), dt), want)
        assert_allclose(value, want_value, **TOL[dt])
        assert_allclose(grad, want, **TOL[dt])


def test_gradient_kernel_matches_finite_differences():
    g = np.random.default_rng(8)
    X = g.normal(size=(5, 3))
    Y = np.eye(2)[g.integers(0, 2, 5)]
    acts = ["tanh", "softmax"]
    layout, params, n_units = _net([3, 4, 2], acts, [True, True])
    grad = np.empty_like(params)
    value = dense.gradient(params, layout, losses.LOG, X, Y, 0.1, np.empty((5, n_units)),
                           np.empty((5, n_units)), grad)
    Ws, bs = _views(layout, params)
    assert value == pytest.approx(reference.mlp_loss(X, Y, Ws, bs, acts, "log", 0.1), rel=1e-12)
    assert_allclose(grad, _fd_gradient(layout, params, X, Y, acts, "log", 0.1), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("order", [dense.SHUFFLE, dense.REPLACEMENT, dense.SHUFFLE_RANDOMSTATE])
@pytest.mark.parametrize("solver", [dense.SGD, dense.ADAM])
def test_training_is_bit_identical_across_thread_counts_and_twins(batch, order, solver, n_threads):
    g = np.random.default_rng(9)
    X = g.normal(size=(11, 4))
    X[X < 0] = 0.0                   # zeros take the skipping branch
    Y = np.eye(3)[g.integers(0, 3, 11)]
    results = []
    kernels = [dense.train_samples] if batch == 1 else [dense.train_epochs, dense.train_epochs_serial]
    for kernel, n in itertools.product(kernels, n_threads):
        layout, params, n_units = _net([4, 8, 3], ["relu", "softmax"], [True, True])
        with threads(n):
            _, curve, _ = _train(layout, params, n_units, X, Y, batch=batch, order=order, epochs=4,
                                 solver=solver, lr=0.05, momentum=0.9, nesterov=True, kernel=kernel,
                                 loss=losses.LOG, alpha=1e-3)
        results.append((params, curve))
    for params, curve in results[1:]:
        assert_array_equal(params, results[0][0])
        assert_array_equal(curve, results[0][1])


@pytest.mark.parametrize("kernel,batch,message", [
    ("train_epochs", 1, "train_epochs takes minibatches"),
    ("train_epochs_serial", 1, "train_epochs takes minibatches"),
    ("train_samples", 2, "train_samples takes batch_size 1"),
])
def test_each_trainer_refuses_the_other_ones_batch_size(kernel, batch, message):
    # the per-sample and minibatch paths are separate kernels (a fit compiles only
    # its own); one given the other's batch size says so instead of misreading it
    layout, params, n_units = _net([2, 3, 1], ["logistic", "logistic"], [True, True])
    before = params.copy()
    with pytest.raises(ValueError, match=message):
        _train(layout, params, n_units, XOR_X, XOR_Y, batch=batch, kernel=getattr(dense, kernel))
    assert_array_equal(params, before)


def test_divergence_is_reported_not_hidden():
    layout, params, n_units = _net([2, 5, 1], ["relu", "identity"], [True, True])
    X = np.random.default_rng(1).normal(size=(20, 2)) * 1e3
    Y = X.sum(axis=1, keepdims=True) * 1e3
    n, curve, state = _train(layout, params, n_units, X, Y, epochs=50, lr=10.0)
    assert state[dense.STATUS] == dense.DIVERGED
    assert n < 50 and not np.isfinite(curve[n - 1])


def test_stopping_rule_follows_scikit_learn():
    layout, params, n_units = _net([2, 3, 1], ["logistic", "logistic"], [True, True])
    hp = np.array([1e-12, 0.0, 0.9, 0.999, 1e-8, 0.0])   # no progress: stops after n_iter_no_change + 1
    state = np.array([np.inf, 0, 0, 0.0])
    curve = np.empty(100)
    n = dense.train_samples(params, layout, 0, XOR_X, XOR_Y, 1, 1, 0, 0, 100, 0,
                            False, hp, 1e-4, 5, 1,
                            np.zeros_like(params), np.zeros_like(params), state, np.empty(4, np.int64),
                            np.empty((1, n_units)), np.empty((1, n_units)), np.empty_like(params),
                            np.empty(1), curve, np.empty(0), np.empty(0, np.int64))
    assert n == 7 and state[dense.STATUS] == dense.CONVERGED


@pytest.mark.parametrize("one_hidden", [False, True], ids=["generic", "one-hidden"])
@pytest.mark.parametrize("rule", ["classical", "nesterov", "previous_gradient"])
def test_lazy_momentum_matches_the_eager_loop_on_sparse_inputs(rule, one_hidden):
    n_in = dense.LAZY_MIN_INPUTS + 4        # wide enough for the lazy path
    g = np.random.default_rng(11)
    X = g.uniform(0, 1, (25, n_in)) * (g.uniform(0, 1, (25, n_in)) < 0.2)   # 80% zeros, rows idle for long
    Y = g.uniform(0, 1, (25, 2))
    layout, params, n_units = _net([n_in, 4, 2], ["logistic", "logistic"], [True, True])
    Ws, bs = [w.copy() for w in _views(layout, params)[0]], [b.copy() for b in _views(layout, params)[1]]
    solver = dense.SGD_PREVIOUS_GRADIENT if rule == "previous_gradient" else dense.SGD
    nesterov = rule == "nesterov"
    kernel = dense.one_hidden_trainer(solver, n_in) if one_hidden else dense.train_samples
    _train(layout, params, n_units, X, Y, epochs=4, lr=0.3, momentum=0.9, solver=solver,
           nesterov=nesterov, kernel=kernel)
    vel = {}
    for _ in range(4):
        for x, y in zip(X, Y):
            reference.sgd_momentum_step(x, y, Ws, bs, vel, 0.3, 0.9, rule)
    for got, exp in zip(_views(layout, params)[0], Ws):
        assert_allclose(got, exp, rtol=1e-11, atol=1e-13)


# (hidden, output, loss, biases, inputs, outputs): XOR-sized and wide sparse inputs (the
# lazy-momentum path), one output (summed down its column) and several (row-wise)
ONE_HIDDEN_NETS = [
    ("logistic", "logistic", "squared", (True, False), 2, 1),
    ("tanh", "softmax", "log", (True, True), 20, 5),
    ("relu", "identity", "squared", (False, True), 18, 2),
    ("identity", "logistic", "log", (False, False), 3, 1),
    ("logistic", "softmax", "squared", (True, True), 24, 4),
    ("relu", "softmax", "log", (True, True), 12, 10),      # narrow rows, zero hidden units
    ("logistic", "identity", "squared", (True, False), 9, 17),   # narrow in float32 only
]


@pytest.mark.parametrize("solver,nesterov,momentum", [
    (dense.SGD, False, 0.0), (dense.SGD, False, 0.9), (dense.SGD, True, 0.9),
    (dense.SGD_PREVIOUS_GRADIENT, False, 0.5), (dense.ADAM, False, 0.0)],
    ids=["sgd", "momentum", "nesterov", "previous-gradient", "adam"])
def test_one_hidden_trainer_gives_the_generic_engines_bits(solver, nesterov, momentum):
    """The batch-1 trainer compiled for one optimiser and two layers repeats the
    generic engine exactly: every activation and loss, with and without biases,
    L2 penalty, lazy momentum, and the loss curve too; in float64 for every
    optimiser, in float32 for SGD (plain, momentum, Nesterov). A trainer takes
    30-60 s to compile on a slow 2-core host, and float32 for the other two
    optimisers cost four more (2 min of the suite) for code they share: their
    updates are the generic engine's (``_update_rows``) but for the output rows
    of part D's rule, tested in float32 in
    test_narrow_rows_update_gives_the_loops_bits."""
    g = np.random.default_rng(21)
    for dtype in (np.float64, np.float32) if solver == dense.SGD else (np.float64,):
        for k, (hidden, out, loss, bias, n_in, n_out) in enumerate(ONE_HIDDEN_NETS):
            X = g.uniform(0, 1, (13, n_in)) * (g.uniform(0, 1, (13, n_in)) < 0.4)
            if out in ("softmax", "logistic"):
                Y = np.eye(n_out)[g.integers(0, n_out, 13)] if n_out > 1 else g.integers(0, 2, (13, 1))
            else:
                Y = g.normal(size=(13, n_out))
            alpha = 1e-3 if k % 2 else 0.0
            order = [dense.SHUFFLE_RANDOMSTATE, dense.SEQUENTIAL, dense.REPLACEMENT,
                     dense.SHUFFLE][k % 4]
            results = []
            for kernel in (dense.train_samples, dense.one_hidden_trainer(solver, n_in)):
                layout, params, n_units = _net([n_in, 7, n_out], [hidden, out], bias, dtype, seed=k)
                _, curve, state = _train(layout, params, n_units, X, Y, order=order, epochs=3,
                                         solver=solver, lr=0.05, momentum=momentum, alpha=alpha,
                                         nesterov=nesterov, kernel=kernel, loss=losses.CODES[loss])
                results.append((params, curve, state))
            assert_array_equal(results[1][0], results[0][0], err_msg=f"{dtype.__name__} net {k}")
            assert_array_equal(results[1][1], results[0][1], err_msg=f"{dtype.__name__} net {k}")
            assert_array_equal(results[1][2], results[0][2])
            assert np.isfinite(results[0][1]).all() and not np.array_equal(results[0][0], _net(
                [n_in, 7, n_out], [hidden, out], bias, dtype, seed=k)[1])   # it trained


def test_blocked_minibatch_path_matches_numpy_and_is_bit_identical_across_twins(n_threads):
    """Minibatches go through weight blocks (``BLOCK_BYTES``) and sample groups
    (``GROUP_ROWS``): a layer of 70 x 64 float64 spans four blocks of rows and a
    batch of 20 two groups, plus a partial last batch. Compared with NumPy's
    ``X_b @ W`` minibatch SGD with momentum, and across twins and thread counts."""
    rows = getattr(dense._block_rows, "py_func", dense._block_rows)(70, 64, 8)
    assert 70 > 3 * rows and 20 > dense.GROUP_ROWS
    g = np.random.default_rng(12)
    X = g.uniform(0, 1, (47, 70)) * (g.uniform(0, 1, (47, 70)) < 0.3)   # mostly zeros
    Y = np.eye(3)[g.integers(0, 3, 47)]
    acts = ["logistic", "softmax"]
    lr, mom, batch = 0.2, 0.9, 20
    results = []
    for kernel, n in itertools.product([dense.train_epochs, dense.train_epochs_serial], n_threads):
        layout, params, n_units = _net([70, 64, 3], acts, [True, True])
        with threads(n):
            _train(layout, params, n_units, X, Y, batch=batch, epochs=2, lr=lr, momentum=mom,
                   kernel=kernel, loss=losses.LOG)
        results.append(params)
    for params in results[1:]:
        assert_array_equal(params, results[0])
    _assert_matches_numpy_momentum(results[0], [70, 64, 3], acts, X, Y, lr, mom, batch, epochs=2)


def test_minibatches_that_switch_thread_counts_give_the_same_bits():
    """The parallel twin runs a batch's loops on all threads or on the calling
    one, as it has timed them: it tries the other way at batch ADAPT_FIRST_GAP - 1
    and then at gaps of ADAPT_FIRST_GAP to ADAPT_MAX_GAP batches. 240 batches of
    a small network run both ways several times (the cached trainer itself,
    not a copy compiled with other gaps: that cost 50 s a test run), and end
    with the serial twin's bits; the caller's thread count is as it was, and
    with threads=1 nothing is tried."""
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs two threads to switch between")
    assert _parallel.ADAPT_FIRST_GAP * 4 < 240
    g = np.random.default_rng(13)
    X = g.uniform(0, 1, (90, 40)) * (g.uniform(0, 1, (90, 40)) < 0.3)
    Y = np.eye(4)[g.integers(0, 4, 90)]
    results = []
    n_all = numba.config.NUMBA_NUM_THREADS
    for kernel, n in [(dense.train_epochs_serial, 1), (dense.train_epochs, n_all),
                      (dense.train_epochs, 1)]:
        layout, params, n_units = _net([40, 24, 4], ["logistic", "softmax"], [True, True])
        with threads(n):
            _train(layout, params, n_units, X, Y, batch=3, epochs=8, lr=0.3, momentum=0.9,
                   kernel=kernel, loss=losses.LOG)
            assert numba.get_num_threads() == n
        results.append(params)
    for params in results[1:]:
        assert_array_equal(params, results[0])


def test_cycle_counter_counts_up():
    @njit
    def spin(n):
        t0 = simd.cycles()
        s = 0.0
        for i in range(n):
            s += math.sqrt(i + s)
        return t0, simd.cycles(), s
    t0, t1, _ = spin(100_000)
    if platform.machine().lower() in ("x86_64", "amd64"):   # rdtsc
        assert t1 > t0 > 0
    else:   # a target without a counter reads 0
        assert t1 >= t0 >= 0


def _assert_matches_numpy_momentum(got, sizes, acts, X, Y, lr, mom, batch, epochs):
    """``got``: the parameters of ``_net(sizes, acts)`` (one hidden layer, log loss)
    after ``epochs`` of minibatch SGD with momentum in order; checked against
    NumPy's ``X_b @ W`` version of the same steps."""
    layout, params, _ = _net(sizes, acts, [True, True])
    Ws, bs = [w.copy() for w in _views(layout, params)[0]], [b.copy() for b in _views(layout, params)[1]]
    vel = [np.zeros_like(p) for p in Ws + bs]
    for _ in range(epochs):
        for start in range(0, len(X), batch):
            xb, yb = X[start:start + batch], Y[start:start + batch]
            a = reference.mlp_forward(xb, Ws, bs, acts)
            deltas = [(a[-1] - yb) / len(xb)]
            deltas.insert(0, (deltas[0] @ Ws[1].T) * a[1] * (1 - a[1]))
            grads = [a[0].T @ deltas[0], a[1].T @ deltas[1], deltas[0].sum(0), deltas[1].sum(0)]
            for p, v, gr in zip(Ws + bs, vel, grads):
                v *= mom
                v -= lr * gr
                p += v
    got_W, got_b = _views(layout, got)
    for g, exp in zip(got_W + got_b, Ws + bs):
        assert_allclose(g, exp, rtol=1e-10, atol=1e-13)


def test_batch_too_large_to_keep_its_input_lists_takes_the_blocked_path():
    """A minibatch keeps each sample's list of nonzero inputs for the first
    layer's gradient only up to ``KEPT_LISTS`` entries; a larger one (here
    full-batch descent on 4000 features) lists them a sample at a time and sums
    the gradient four samples at a time instead. Both ways give NumPy's steps."""
    n_in = 4000
    n = dense.KEPT_LISTS // n_in + 3
    assert n * n_in > dense.KEPT_LISTS and 40 * n_in <= dense.KEPT_LISTS
    g = np.random.default_rng(13)
    X = g.uniform(0, 1, (n, n_in)) * (g.uniform(0, 1, (n, n_in)) < 0.1)
    Y = np.eye(3)[g.integers(0, 3, n)]
    acts = ["logistic", "softmax"]
    for batch in [n, 40]:
        layout, params, n_units = _net([n_in, 8, 3], acts, [True, True])
        _train(layout, params, n_units, X, Y, batch=batch, epochs=2, lr=0.2, momentum=0.9,
               kernel=dense.train_epochs_serial, loss=losses.LOG)
        _assert_matches_numpy_momentum(params, [n_in, 8, 3], acts, X, Y, 0.2, 0.9, batch, epochs=2)


# ---------------------------------------------------------------------------
# the narrow-row intrinsics (a classifier's output layer) against the loops

@njit
def _loops_update(params, vel, w0, n_in, n_out, inp, i0, delta, d0, skip, solver, nesterov, hp):
    dense._update_rows(params, vel, vel, w0, n_in, n_out, inp, i0, delta, d0, skip,
                       hp[dense.ALPHA], solver, nesterov, hp, hp[dense.LR])


def _narrow_update_with(update):
    @njit
    def run(params, vel, w0, n_in, n_out, inp, i0, delta, d0, skip, solver, nesterov, hp):
        T = params.dtype.type
        update(params, vel, w0, n_in, n_out, inp, i0, delta, d0, skip,
               dense._sgd_rule(solver, nesterov, T(hp[dense.MOMENTUM])),
               T(hp[dense.ALPHA]), T(hp[dense.MOMENTUM]), T(hp[dense.LR]))
    return run


_narrow_update = _narrow_update_with(simd.narrow_rows_update)
# the intrinsic's Python form under NUMBA_DISABLE_JIT, compiled here
_narrow_update_py = _narrow_update_with(njit(simd._narrow_rows_update_py))


def _assert_same_bits(got, want, msg):
    """Bit for bit, NaN for NaN (a NaN's sign and payload are the hardware's choice)."""
    nan = np.isnan(want)
    assert_array_equal(np.isnan(got), nan, err_msg=msg)
    assert_array_equal(got[~nan].view(np.uint8), want[~nan].view(np.uint8), err_msg=msg)


def _awkward(g, n, dtype, zeros=0.3):
    """Random values with zeros of both signs, and an infinity."""
    v = g.normal(size=n)
    v[g.uniform(size=n) < zeros] = 0.0
    v[g.uniform(size=n) < 0.1] = -0.0
    return v.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver,nesterov,momentum", [
    (dense.SGD, False, 0.0), (dense.SGD, False, 0.9), (dense.SGD, True, 0.9),
    (dense.SGD_PREVIOUS_GRADIENT, False, 0.5)],
    ids=["sgd", "momentum", "nesterov", "previous-gradient"])
def test_narrow_rows_update_gives_the_loops_bits(dtype, solver, nesterov, momentum):
    """Every row width up to two vectors, with and without skipped rows and L2:
    the same bits as ``_update_rows``' loops, and nothing outside the matrix
    written (it sits between guard values, and ``inp`` and ``delta`` at offsets)."""
    g = np.random.default_rng(31)
    widths = [4, 7, 8, 9, 10, 15, 16] + ([17, 24, 31, 32] if dtype == np.float32 else [])
    for n_out, skip, alpha in itertools.product(widths, [True, False], [0.0, 1e-3]):
        n_in, w0, i0, d0 = 9, 5, 2, 3
        params = _awkward(g, w0 + n_in * n_out + 40, dtype)
        params[w0 + n_out + 1] = np.inf if skip else params[w0 + n_out + 1]
        inp = _awkward(g, i0 + n_in + 3, dtype, zeros=0.4)
        inp[i0 + 1] = 0.0                        # the row of the infinity: skipped
        delta = _awkward(g, d0 + n_out + 5, dtype, zeros=0.2)
        vel = _awkward(g, params.shape[0], dtype)
        hp = np.array([0.05, momentum, 0.9, 0.999, 1e-8, alpha])
        got, want = (params.copy(), vel.copy()), (params.copy(), vel.copy())
        python_form = (params.copy(), vel.copy())
        _narrow_update(*got, w0, n_in, n_out, inp, i0, delta, d0, skip, solver, nesterov, hp)
        _loops_update(*want, w0, n_in, n_out, inp, i0, delta, d0, skip, solver, nesterov, hp)
        _narrow_update_py(*python_form, w0, n_in, n_out, inp, i0, delta, d0, skip, solver,
                          nesterov, hp)
        for a, b, c in zip(got, want, python_form):
            assert_array_equal(a.view(np.uint8), b.view(np.uint8),
                               err_msg=f"n_out={n_out} skip={skip} alpha={alpha}")
            assert_array_equal(c.view(np.uint8), b.view(np.uint8),
                               err_msg=f"Python form: n_out={n_out} skip={skip} alpha={alpha}")
        changed = ~np.isclose(got[0], params, equal_nan=True, rtol=0, atol=0)
        assert changed[w0:w0 + n_in * n_out].any() and not changed[:w0].any() \
            and not changed[w0 + n_in * n_out:].any()


@njit
def _plain_rows_both_ways(w, x, delta, alpha, lr):
    """``w`` after ``_plain_row`` at ``alpha``, and after the step written with the
    ``alpha * w`` term that ``_plain_row`` leaves out at ``alpha == 0``."""
    got = w.copy()
    dense._plain_row(got, 0, w.shape[0], x, delta, 0, alpha, lr)
    want = w.copy()
    for j in range(w.shape[0]):
        g = x * delta[j] + alpha * want[j]
        want[j] -= lr * g
    return got, want


_finite = st.floats(allow_nan=False, allow_infinity=False, width=32)


@settings(max_examples=200, deadline=None)
@given(w=st.lists(st.one_of(_finite, st.sampled_from([0.0, -0.0])), min_size=1, max_size=19),
       x=st.one_of(_finite, st.sampled_from([0.0, -0.0])),
       d=st.lists(st.one_of(_finite, st.sampled_from([0.0, -0.0])), min_size=19, max_size=19),
       lr=st.floats(1e-6, 10.0), dtype=st.sampled_from([np.float64, np.float32]))
def test_plain_step_without_penalty_leaves_out_a_zero_and_nothing_else(w, x, d, lr, dtype):
    """At ``alpha = +0.0`` the plain step skips ``alpha * w``: the same bits as
    with it for any finite weights, inputs and deltas, signed zeros included."""
    w = np.array(w, dtype=dtype)
    T = dtype
    with np.errstate(over="ignore"):
        got, want = _plain_rows_both_ways(w, T(x), np.array(d, dtype=dtype), T(0.0), T(lr))
    finite = np.isfinite(want)   # (a product may overflow; both ways alike)
    assert_array_equal(np.isfinite(got), finite)
    assert_array_equal(got.view(np.uint8), want.view(np.uint8))


@njit
def _momentum_rows_both_ways(w, v, x, delta, alpha, mom, lr, nesterov):
    """``(w, v)`` after ``_momentum_row`` at ``alpha``, and after the step written
    with the ``alpha * w`` term."""
    got_w, got_v = w.copy(), v.copy()
    dense._momentum_row(got_w, got_v, 0, w.shape[0], x, delta, 0, alpha, mom, lr, nesterov)
    want_w, want_v = w.copy(), v.copy()
    for j in range(w.shape[0]):
        g = x * delta[j] + alpha * want_w[j]
        vk = mom * want_v[j] - lr * g
        want_v[j] = vk
        want_w[j] += mom * vk - lr * g if nesterov else vk
    return got_w, got_v, want_w, want_v


@settings(max_examples=200, deadline=None)
@given(w=st.lists(st.one_of(_finite, st.sampled_from([0.0, -0.0])), min_size=19, max_size=19),
       v=st.lists(st.one_of(_finite, st.sampled_from([0.0, -0.0])), min_size=19, max_size=19),
       x=st.one_of(_finite, st.sampled_from([0.0, -0.0])),
       d=st.lists(st.one_of(_finite, st.sampled_from([0.0, -0.0])), min_size=19, max_size=19),
       mom=st.floats(0.0, 0.99), lr=st.floats(1e-6, 10.0), nesterov=st.booleans(),
       dtype=st.sampled_from([np.float64, np.float32]))
def test_momentum_step_without_penalty_keeps_the_weights_bits(w, v, x, d, mom, lr, nesterov,
                                                              dtype):
    """At ``alpha = +0.0`` the step with momentum skips ``alpha * w``: the weights
    get the same bits as with it, the velocities the same values (only the sign
    of a zero velocity may differ)."""
    T = dtype
    arr = lambda a: np.array(a, dtype=dtype)   # noqa: E731
    with np.errstate(over="ignore", invalid="ignore"):
        got_w, got_v, want_w, want_v = _momentum_rows_both_ways(
            arr(w), arr(v), T(x), arr(d), T(0.0), T(mom), T(lr), nesterov)
    assert_array_equal(got_w.view(np.uint8), want_w.view(np.uint8))
    assert_array_equal(got_v, want_v)   # (-0.0 == 0.0; NaN where both are NaN)


@njit
def _narrow_sum(acc, a0, x, x0, w, w0, n_in, n_out):
    simd.narrow_rows_sum(acc, a0, x, x0, w, w0, n_in, n_out)


# the loops: the intrinsic's Python form under NUMBA_DISABLE_JIT, compiled here
_loops_sum = njit(simd._narrow_rows_sum_py)


@pytest.mark.parametrize("masked_stores", [None, True, False], ids=["host", "avx512", "avx2"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_narrow_rows_sum_gives_the_loops_bits(dtype, masked_stores, monkeypatch):
    """The output layer's sums in registers: the loop's order, its skip of zero
    inputs (an infinite weight behind a zero adds nothing, a sum of -0.0 stays
    -0.0), a NaN input propagated, and nothing written beside the sums. Also
    with the sums stored by LLVM's masked stores (AVX-512) and a lane at a time
    (without it), whichever this host uses."""
    narrow_sum = _narrow_sum
    if masked_stores is not None:
        if numba.config.DISABLE_JIT:
            pytest.skip("the two store forms are compiled code")
        monkeypatch.setattr(simd, "_MASKED_STORES", masked_stores)
        narrow_sum = njit(lambda acc, a0, x, x0, w, w0, n_in, n_out:
                          simd.narrow_rows_sum(acc, a0, x, x0, w, w0, n_in, n_out))
    g = np.random.default_rng(32)
    widths = [4, 7, 8, 9, 10, 16] + ([17, 32] if dtype == np.float32 else [])
    for n_out in widths:
        n_in, a0, x0, w0 = 11, 3, 4, 6
        w = _awkward(g, w0 + n_in * n_out + 20, dtype)
        w[w0 + 2 * n_out] = np.inf
        x = _awkward(g, x0 + n_in + 2, dtype, zeros=0.3)
        x[x0 + 2] = 0.0
        acc = _awkward(g, a0 + n_out + 20, dtype)
        acc[a0] = -0.0
        cases = [x.copy(), x.copy()]
        cases[0][x0:x0 + n_in] = 0.0             # every input zero: -0.0 stays
        cases[1][x0 + 5] = np.nan
        for xs in [x] + cases:
            got, want = acc.copy(), acc.copy()
            narrow_sum(got, a0, xs, x0, w, w0, n_in, n_out)
            _loops_sum(want, a0, xs, x0, w, w0, n_in, n_out)
            assert_array_equal(got.view(np.uint8), want.view(np.uint8), err_msg=f"n_out={n_out}")
    if masked_stores is not None:
        llvm = "".join(narrow_sum.inspect_llvm().values())
        assert ("llvm.masked.store" in llvm) == masked_stores


_loops_nonzero_positions = njit(simd._nonzero_positions_py)


@pytest.mark.needs_jit
@pytest.mark.parametrize("compress", [True, False], ids=["vector", "older-llvm"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_nonzero_positions_lists_what_the_loop_lists(dtype, compress, monkeypatch):
    """Lengths across the steps' edges, a step all zeros and one all nonzero,
    -0.0 (not listed), NaN and infinities (listed), a shorter ``n`` than ``x``;
    nothing written from ``out[n]`` on. Also as compiled under an LLVM without
    ``vector.compress`` (an input at a time)."""
    if compress and not simd._HAS_COMPRESS:
        pytest.skip("this LLVM has no vector.compress")
    monkeypatch.setattr(simd, "_HAS_COMPRESS", compress)
    _nonzero_positions = njit(lambda x, n, out: simd.nonzero_positions(x, n, out))
    g = np.random.default_rng(35)
    step = simd.LIST_CHUNK
    for n in [0, 1, step - 1, step, step + 1, 2 * step + 5, 64, 100, 784]:
        x = (g.normal(size=n + 3) * (g.uniform(size=n + 3) < 0.3)).astype(dtype)
        x[:min(n, step)] = 0.0
        x[step:min(n, 2 * step)] = 1.5
        x[g.integers(0, n + 3, 3)] = [-0.0, np.nan, -np.inf]
        got = np.full(n + 4, -7, np.int64)
        want = got.copy()
        count = _nonzero_positions(x, n, got)
        assert count == _loops_nonzero_positions(x, n, want)
        assert count == np.count_nonzero(x[:n]) and np.all(got[n:] == -7)
        assert_array_equal(got[:count], want[:count])
        assert_array_equal(got[:count], np.flatnonzero(x[:n]))
    llvm = "".join(_nonzero_positions.inspect_llvm().values())
    assert ("llvm.experimental.vector.compress" in llvm) == compress


@njit
def _listed_sum(acc, a0, x, rows, n_rows, w, v, w0, n_out, geo):
    simd.listed_rows_sum(acc, a0, x, rows, n_rows, w, v, w0, n_out, geo)


# the loops: the intrinsic's Python form under NUMBA_DISABLE_JIT, compiled here
_loops_listed_sum = njit(simd._listed_rows_sum_py)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_listed_rows_sum_gives_the_loops_bits(dtype):
    """The hidden layer's sums over the listed rows, in registers a stretch of
    ``LISTED_VECTORS`` vectors at a time: the loop's bits for widths across
    the stretches' edges, rows listed in any order (repeats too), zeros of
    both signs, an infinity and a NaN; rows read as stored (``geo < 0``) and
    brought up to date on the way (``w + v geo``, ``geo = 0`` too: a weight of
    -0.0 reads as +0.0 then); nothing written beside the sums."""
    g = np.random.default_rng(33)
    per_pass = simd.LISTED_VECTORS * 64 // np.dtype(dtype).itemsize
    for n_out in [1, 5, 8, 9, per_pass - 1, per_pass, per_pass + 1, 100, 2 * per_pass + 3]:
        n_in, a0, w0 = 13, 2, 7
        w = _awkward(g, w0 + n_in * n_out + 9, dtype)
        v = _awkward(g, w.shape[0], dtype)
        x = _awkward(g, n_in, dtype, zeros=0.0)
        x[3], w[w0 + 5 * n_out] = np.nan, np.inf
        w[w0 + 2 * n_out:w0 + 3 * n_out] = -0.0
        geo = np.where(g.uniform(size=n_in) < 0.5, -1.0, g.uniform(0.0, 3.0, n_in))
        geo[2], geo[7] = 0.0, -1.0
        for rows in (np.flatnonzero(g.uniform(size=n_in) < 0.6), np.array([5, 0, 5, 12]),
                     np.array([3, 1, 2, 7]), np.zeros(0, np.int64)):
            rows = rows.astype(np.int64)
            acc = _awkward(g, a0 + n_out + 17, dtype)
            got, want = acc.copy(), acc.copy()
            _listed_sum(got, a0, x, rows, len(rows), w, v, w0, n_out, geo)
            _loops_listed_sum(want, a0, x, rows, len(rows), w, v, w0, n_out, geo)
            _assert_same_bits(got, want, f"n_out={n_out} rows={rows}")
