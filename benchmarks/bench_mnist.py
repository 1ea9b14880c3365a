"""An MNIST-sized network, 784-128-10, one shuffled epoch of 60000 samples, float32.

Batch 1 (learning rate 0.01), 32 and 128 (learning rate 0.1); logistic hidden
layer, softmax output with log loss averaged over the batch, classical
momentum 0.9, no weight decay. The data are MNIST's training images when
``fastnn.data.idx.find_mnist()`` finds them, otherwise a synthetic set with
MNIST's sparsity (``data`` in extra_info says which).

At batch 1 the NumPy and PyTorch peers train on the first part of the epoch
only (``samples`` in extra_info); compare samples per second.
"""
import math

import numpy as np
import pytest

import peers

SIZES = [784, 128, 10]
N_SAMPLES = 60000
MOMENTUM = 0.9
BATCHES = [1, 32, 128]
# Samples the slow peers train at batch 1 (the rest run the whole epoch).
SUBSET_B1 = {"numpy": 10000, "torch": 5000}
# Timed rounds of every implementation: the median of 3 was decided by one slow
# stretch of the shared host often enough to flip a ratio (fastnn at batch 128:
# 230,600 and 276,600 samples/s in two runs minutes apart, PyTorch 162,500 and
# 100,000), as bench_cnn.py found. A round takes 0.2-3.6 s.
ROUNDS = 7


def group(batch):
    return f"mnist-784-128-10-b{batch}"


def learning_rate(batch):
    return 0.01 if batch == 1 else 0.1


@pytest.fixture(scope="module")
def mnist():
    X, y, source = peers.mnist_data(N_SAMPLES)
    Ws, bs = peers.glorot_init(SIZES, seed=0, dtype=np.float32)
    perm = np.random.default_rng(0).permutation(len(X))
    return X, y, source, Ws, bs, perm


def _subset(impl, batch, n):
    return min(n, SUBSET_B1.get(impl, n)) if batch == 1 else n


def _setup(benchmark, record, impl, batch, n_used, n_all, source):
    benchmark.group = group(batch)
    extra = {"batch_size": batch, "learning_rate": learning_rate(batch), "data": source,
             "dtype": "float32"}
    if n_used != n_all:
        extra["note"] = f"trains {n_used} of the epoch's {n_all} samples; compare samples/s"
    record(impl, n_used, **extra)


def _check(X, y, Ws, bs, losses):
    """Finite losses and better than guessing after the epoch."""
    assert np.all(np.isfinite(np.asarray(losses, dtype=np.float64)))
    accuracy = np.mean(peers.predict_numpy(X[:5000], Ws, bs) == y[:5000])
    assert accuracy > 0.5, accuracy


def fastnn_model(fastnn, batch):
    """The 784-128-10 network as fastnn trains it here (also ``paired.py``'s ``mnist-b1``)."""
    return fastnn.MLPClassifier(
        hidden_layer_sizes=(128,), activation="logistic", solver="sgd",
        learning_rate_init=learning_rate(batch), momentum=MOMENTUM,
        nesterovs_momentum=False, batch_size=batch, max_iter=1, alpha=0.0, tol=None,
        dtype="float32", random_state=0)


@pytest.mark.parametrize("batch", BATCHES)
def test_fastnn(fastnn_models, benchmark, run, record, mnist, batch):
    X, y, source = mnist[:3]
    _setup(benchmark, record, "fastnn", batch, len(X), len(X), source)
    fastnn_model(fastnn_models, batch).fit(X[:1000], y[:1000])  # compile outside the timing
    fitted = run(lambda: fastnn_model(fastnn_models, batch).fit(X, y), rounds=ROUNDS,
                 warmup_rounds=0)
    assert np.all(np.isfinite(fitted.loss_curve_))
    assert fitted.loss_curve_[0] < math.log(10)
    assert np.mean(fitted.predict(X[:5000]) == y[:5000]) > 0.5


@pytest.mark.parametrize("batch", BATCHES)
def test_numpy(benchmark, run, record, mnist, batch):
    X, y, source, Ws, bs, perm = mnist
    n = _subset("numpy", batch, len(X))
    _setup(benchmark, record, "numpy", batch, n, len(X), source)
    p = perm[:n]
    W, b, losses = run(lambda: peers.sgd_numpy_minibatch(
        X, y, Ws, bs, p, batch, learning_rate(batch), MOMENTUM), rounds=ROUNDS, warmup_rounds=0)
    _check(X, y, W, b, losses)


@pytest.mark.parametrize("batch", BATCHES)
def test_torch(torch, benchmark, run, record, mnist, batch):
    X, y, source, Ws, bs, perm = mnist
    n = _subset("torch", batch, len(X))
    _setup(benchmark, record, "torch", batch, n, len(X), source)
    p = perm[:n]
    peers.sgd_torch_minibatch(X, y, Ws, bs, p[:10 * batch], batch, 0.01, MOMENTUM)  # warm-up
    params, losses = run(lambda: peers.sgd_torch_minibatch(
        X, y, Ws, bs, p, batch, learning_rate(batch), MOMENTUM), rounds=ROUNDS, warmup_rounds=0)
    arrays = [t.detach().numpy() for t in params]
    _check(X, y, arrays[0::2], arrays[1::2], losses)


@pytest.mark.parametrize("batch", BATCHES)
def test_jax(jax, benchmark, run, record, mnist, batch):
    X, y, source, Ws, bs, perm = mnist
    _setup(benchmark, record, "jax", batch, len(X), len(X), source)
    train = peers.make_sgd_jax(learning_rate(batch), MOMENTUM, batch_size=batch)
    Xj, yj = jax.device_put(X), jax.device_put(y)
    params = peers.jax_params(Ws, bs)
    orders = perm[None, :]
    out, losses = run(lambda: peers.block(train(Xj, yj, params, orders)), rounds=ROUNDS)
    arrays = [np.asarray(a) for a in out]
    _check(X, y, arrays[0::2], arrays[1::2], losses)
