"""Training throughput of part E's network on 28x28 images, fastnn against its peers.

The network: 10 filters of 5x5 (sigmoid), 2x2 max pooling, 128 sigmoid hidden
units, softmax output with cross-entropy, plain SGD, float32. Every
implementation starts from the same weights and trains on the same images in
the same order:

- ``fastnn``: ``ConvNetClassifier`` (the whole loop in one compiled kernel);
- ``numpy`` (batch 1 only): the article's way, Python loops over filters and
  positions (``tests/reference.py: cnn_sgd_step``), on a few hundred images;
- ``torch``: PyTorch on the CPU, a plain training loop (skipped when absent);
- ``jax``: the whole loop compiled, ``jax.jit`` over ``jax.lax.scan`` (skipped
  when absent).

Groups ``cnn-28x28-f10k5-p2-h128-b1`` and ``...-b64``; compare images per
second (``samples`` in extra_info). Data: MNIST's training images when found,
otherwise a synthetic set (``data`` in extra_info).
"""
import sys
from pathlib import Path

import numpy as np
import pytest

import peers

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests import reference  # noqa: E402

N_FILTERS, K, POOL, HIDDEN, N_CLASSES = 10, 5, 2, 128, 10
SAMPLES = {("fastnn", 1): 6000, ("numpy", 1): 200, ("torch", 1): 1000, ("jax", 1): 6000,
           ("fastnn", 64): 12800, ("torch", 64): 12800, ("jax", 64): 12800}
LR = {1: 0.1, 64: 0.5}
# rounds of the compiled peers: this shared host has stretches of slow runs (fastnn's
# batch-64 round took 0.30 instead of 0.21 s in one run of three), and a median of
# three falls into one easily
ROUNDS = 7


def group(batch):
    return f"cnn-28x28-f{N_FILTERS}k{K}-p{POOL}-h{HIDDEN}-b{batch}"


@pytest.fixture(scope="module")
def problem():
    X, y, source = peers.mnist_data(12800)
    X = np.ascontiguousarray(np.asarray(X, dtype=np.float32).reshape(-1, 28, 28))
    y = np.asarray(y, dtype=np.int64)
    rng = np.random.default_rng(0)
    bound = 1.0 / np.sqrt(N_FILTERS * K * K)
    filters = rng.uniform(-bound, bound, (N_FILTERS, 1, K, K))
    fbias = rng.uniform(-0.5, 0.5, N_FILTERS)
    (W1, W2), (b1, b2) = peers.glorot_init([N_FILTERS * 12 * 12, HIDDEN, N_CLASSES], seed=0)
    weights = [np.asarray(a, dtype=np.float64) for a in (filters, fbias, W1, b1, W2, b2)]
    return X, y, source, weights


def _setup(benchmark, record, impl, batch, source):
    benchmark.group = group(batch)
    record(impl, SAMPLES[(impl, batch)], batch_size=batch, learning_rate=LR[batch],
           data=source, dtype="float32" if impl != "numpy" else "float64")


# ---------------------------------------------------------------- fastnn

def _fastnn_model(weights, X, y, batch, dtype="float32"):
    from fastnn.models.cnn import ConvNetClassifier

    m = ConvNetClassifier(n_filters=N_FILTERS, filter_size=K, pool_size=POOL,
                          hidden_layer_sizes=(HIDDEN,), learning_rate_init=LR[batch],
                          batch_size=batch, max_iter=1, sample_order="sequential", tol=None,
                          random_state=0, dtype=dtype)
    m.partial_fit(X[:2], y[:2], classes=np.arange(N_CLASSES))  # compiles; weights replaced below

    def reset():
        m._params[:] = np.concatenate([w.ravel() for w in weights]).astype(m._params.dtype)
        m._vel[:] = 0.0
        m._sq[:] = 0.0
    return m, reset


@pytest.mark.parametrize("batch", [1, 64])
def test_cnn_fastnn(benchmark, record, run, problem, batch):
    X, y, source, weights = problem
    n = SAMPLES[("fastnn", batch)]
    _setup(benchmark, record, "fastnn", batch, source)
    m, reset = _fastnn_model(weights, X, y, batch)

    def train():
        reset()
        m.partial_fit(X[:n], y[:n])
        return m.step_losses_[-(n // batch):]

    steps = run(train, rounds=ROUNDS)
    k = len(steps) // 10  # it learns: the last tenth of the steps beats the first
    assert np.isfinite(steps).all() and steps[-k:].mean() < steps[:k].mean()


# ---------------------------------------------------------------- NumPy, the article's way

def test_cnn_numpy_article(benchmark, record, run, problem):
    X, y, source, weights = problem
    n = SAMPLES[("numpy", 1)]
    _setup(benchmark, record, "numpy", 1, source)
    Y = np.eye(N_CLASSES)[y]

    def train():
        f, fb, W1, b1, W2, b2 = (w.copy() for w in weights)
        coefs, intercepts = [W1, W2], [b1, b2]
        for i in range(n):
            reference.cnn_sgd_step(X[i].astype(np.float64), Y[i], f, fb, coefs, intercepts, LR[1])
        return np.concatenate([f.ravel(), fb, W1.ravel(), b1, W2.ravel(), b2])

    got = run(train, rounds=1, warmup_rounds=0)
    # the same maths as fastnn: same weights after the same images (float64)
    m, reset = _fastnn_model(weights, X, y, 1, dtype="float64")
    reset()
    m.partial_fit(X[:n], y[:n])
    np.testing.assert_allclose(m._params, got, rtol=1e-7, atol=1e-9)


# ---------------------------------------------------------------- PyTorch

def _torch_net(torch, weights):
    nn = torch.nn
    net = nn.Sequential(nn.Conv2d(1, N_FILTERS, K), nn.Sigmoid(), nn.MaxPool2d(POOL), nn.Flatten(),
                        nn.Linear(N_FILTERS * 12 * 12, HIDDEN), nn.Sigmoid(),
                        nn.Linear(HIDDEN, N_CLASSES))
    f, fb, W1, b1, W2, b2 = weights
    with torch.no_grad():  # torch correlates: give it the flipped filters
        net[0].weight.copy_(torch.from_numpy(np.ascontiguousarray(f[:, :, ::-1, ::-1])).float())
        net[0].bias.copy_(torch.from_numpy(fb).float())
        net[4].weight.copy_(torch.from_numpy(W1.T.copy()).float())
        net[4].bias.copy_(torch.from_numpy(b1).float())
        net[6].weight.copy_(torch.from_numpy(W2.T.copy()).float())
        net[6].bias.copy_(torch.from_numpy(b2).float())
    return net


@pytest.mark.parametrize("batch", [1, 64])
def test_cnn_torch(benchmark, record, run, problem, torch, batch):
    X, y, source, weights = problem
    n = SAMPLES[("torch", batch)]
    _setup(benchmark, record, "torch", batch, source)
    Xt = torch.from_numpy(X[:n, None])
    yt = torch.from_numpy(y[:n])
    loss_fn = torch.nn.CrossEntropyLoss()

    def train():
        net = _torch_net(torch, weights)
        opt = torch.optim.SGD(net.parameters(), lr=LR[batch])
        total = 0.0
        for start in range(0, n, batch):
            opt.zero_grad()
            loss = loss_fn(net(Xt[start:start + batch]), yt[start:start + batch])
            loss.backward()
            opt.step()
            total += loss.item() * min(batch, n - start)
        return total / n

    loss = run(train, rounds=ROUNDS)
    assert np.isfinite(loss)


# ---------------------------------------------------------------- JAX

@pytest.mark.parametrize("batch", [1, 64])
def test_cnn_jax(benchmark, record, run, problem, jax, batch):
    jnp = jax.numpy
    X, y, source, weights = problem
    n = SAMPLES[("jax", batch)] // batch * batch
    _setup(benchmark, record, "jax", batch, source)
    f, fb, W1, b1, W2, b2 = weights
    params0 = tuple(jnp.asarray(a, dtype=jnp.float32)
                    for a in (f[:, :, ::-1, ::-1].copy(), fb, W1, b1, W2, b2))
    Xb = jnp.asarray(X[:n, None]).reshape(n // batch, batch, 1, 28, 28)
    Yb = jnp.asarray(np.eye(N_CLASSES, dtype=np.float32)[y[:n]]).reshape(n // batch, batch, N_CLASSES)

    def loss_fn(p, xb, yb):
        cf, cb, w1, bb1, w2, bb2 = p
        z = jax.lax.conv_general_dilated(xb, cf, (1, 1), "VALID") + cb[None, :, None, None]
        a = jax.nn.sigmoid(z)
        pooled = jax.lax.reduce_window(a, -jnp.inf, jax.lax.max, (1, 1, POOL, POOL),
                                       (1, 1, POOL, POOL), "VALID")
        h = jax.nn.sigmoid(pooled.reshape(xb.shape[0], -1) @ w1 + bb1)
        logits = h @ w2 + bb2
        return -jnp.mean(jnp.sum(yb * jax.nn.log_softmax(logits), axis=1))

    grad_fn = jax.value_and_grad(loss_fn)

    @jax.jit
    def epoch(p, xs, ys):
        def step(p, batch_xy):
            loss, g = grad_fn(p, *batch_xy)
            return tuple(a - LR[batch] * b for a, b in zip(p, g)), loss
        return jax.lax.scan(step, p, (xs, ys))

    def train():
        p, losses = epoch(params0, Xb, Yb)
        return float(losses.mean())

    loss = run(train, rounds=ROUNDS)
    assert np.isfinite(loss)
