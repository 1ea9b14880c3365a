"""The peers fastnn is measured against: the same training, written other ways.

Every peer here does the same maths as the fastnn model it is compared with
(layers, activations, loss, learning rate, momentum rule, batch size, sample
order), starts from weights given to it, and returns what it learned plus a
per-epoch (or per-batch) loss curve, so a benchmark can check the result after
timing it.

- ``BPNetwork``: part D of the article, lists and loops in pure Python.
- ``sgd_numpy_per_sample``: part A's style, ``np.dot`` per layer per sample and
  ``np.outer`` updates.
- ``sgd_numpy_minibatch``: NumPy/BLAS on minibatches (``X_b @ W``).
- ``*_torch``: PyTorch on the CPU, a plain training loop.
- ``*_jax``: JAX with the whole training loop compiled (``jax.jit`` over
  ``jax.lax.scan``).

torch and jax are imported inside the functions that use them, so this module
imports with NumPy alone.
"""
import math

import numpy as np

# ---------------------------------------------------------------------------
# Data and initial weights
# ---------------------------------------------------------------------------


def xor_data(dtype=np.float64):
    """The four XOR samples: X of shape (4, 2), y of shape (4,)."""
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=dtype)
    y = np.array([0, 1, 1, 0], dtype=dtype)
    return X, y


def xor_init(seed=0, n_hidden=5):
    """Part D's initial weights: input (and bias) weights in [-0.2, 0.2],
    output weights in [-2, 2]. Returns (W1 (2, h), b1 (h,), W2 (h, 1)).

    Drawn from ``np.random.RandomState(seed)`` in the order fastnn draws them
    for ``init=((-0.2, 0.2), (-2.0, 2.0)), random_state=seed``, so the peers
    start where fastnn starts.
    """
    rng = np.random.RandomState(seed)
    W1 = rng.uniform(-0.2, 0.2, size=(2, n_hidden))
    b1 = rng.uniform(-0.2, 0.2, size=n_hidden)
    W2 = rng.uniform(-2.0, 2.0, size=(n_hidden, 1))
    return W1, b1, W2


def digits_data():
    """scikit-learn's digits, pixels scaled to [0, 1]: X (1797, 64) float64, y int64."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return np.ascontiguousarray(X / 16.0), y.astype(np.int64)


def synthetic_mnist(n=60000, n_features=784, n_classes=10, seed=0):
    """An MNIST-like float32 set: about 80% zeros, values in [0, 1], learnable labels.

    Each class has a template of "ink" pixels (20% of them); a sample keeps most
    of its class's ink at intensities in [0.5, 1], loses some and gains a little
    noise, so the zero fraction stays near MNIST's.
    """
    rng = np.random.default_rng(seed)
    templates = rng.random((n_classes, n_features)) < 0.2
    y = rng.integers(0, n_classes, size=n).astype(np.int64)
    X = np.zeros((n, n_features), dtype=np.float32)
    chunk = 5000
    for start in range(0, n, chunk):
        yc = y[start:start + chunk]
        ink = templates[yc] & (rng.random((len(yc), n_features)) < 0.9)
        ink |= rng.random((len(yc), n_features)) < 0.02
        values = rng.uniform(0.5, 1.0, size=(len(yc), n_features)).astype(np.float32)
        X[start:start + chunk] = np.where(ink, values, np.float32(0.0))
    return X, y


def mnist_data(n=60000):
    """MNIST's training images as float32 in [0, 1] and labels, or a synthetic set.

    Returns (X, y, source): source names which was used.
    """
    try:
        from fastnn.data import find_mnist, load_mnist
    except ImportError:
        find_mnist = None
    if find_mnist is not None:
        where = find_mnist()
        if where is not None:
            images, labels = load_mnist(where)[:2]
            X = images[:n].reshape(min(n, len(images)), -1).astype(np.float32)
            X /= np.float32(255.0)
            return X, labels[:n].astype(np.int64), "mnist"
    X, y = synthetic_mnist(n)
    return X, y, "synthetic (MNIST not found)"


def onehot(y, n_classes, dtype=np.float64):
    out = np.zeros((len(y), n_classes), dtype=dtype)
    out[np.arange(len(y)), y] = 1
    return out


def glorot_init(sizes, seed=0, dtype=np.float64, factor=2.0):
    """scikit-learn's initialisation for a logistic network: weights and biases
    uniform in +-sqrt(factor / (fan_in + fan_out)). Returns (Ws, bs).

    Drawn from ``np.random.RandomState(seed)`` layer by layer, weights then
    biases, as scikit-learn and fastnn draw them with ``random_state=seed``, so
    every implementation starts from the same weights.
    """
    rng = np.random.RandomState(seed)
    Ws, bs = [], []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = math.sqrt(factor / (fan_in + fan_out))
        Ws.append(rng.uniform(-bound, bound, size=(fan_in, fan_out)).astype(dtype))
        bs.append(rng.uniform(-bound, bound, size=fan_out).astype(dtype))
    return Ws, bs


def epoch_orders(n, epochs, seed=0):
    """One shuffled sample order per epoch, shape (epochs, n)."""
    rng = np.random.default_rng(seed)
    return np.stack([rng.permutation(n) for _ in range(epochs)])


# ---------------------------------------------------------------------------
# Pure Python: part D
# ---------------------------------------------------------------------------


def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def _sigmoid_derivative(out):
    return out * (1.0 - out)


class BPNetwork:
    """Part D's back-propagation network in lists and loops.

    A bias cell (always 1) is the last input; the hidden layer has none. Every
    layer gets the momentum term ``correct`` times its previous change (the
    article forgets it for the output layer), and ``train`` returns the summed
    error of each epoch (the article overwrites it).
    """

    def __init__(self, W1, b1, W2):
        self.input_n = len(W1) + 1
        self.hidden_n = len(b1)
        self.output_n = len(W2[0])
        self.input_cells = [1.0] * self.input_n
        self.hidden_cells = [1.0] * self.hidden_n
        self.output_cells = [1.0] * self.output_n
        self.input_weights = [list(map(float, row)) for row in W1] + [list(map(float, b1))]
        self.output_weights = [list(map(float, row)) for row in W2]
        self.input_correction = [[0.0] * self.hidden_n for _ in range(self.input_n)]
        self.output_correction = [[0.0] * self.output_n for _ in range(self.hidden_n)]

    def predict(self, inputs):
        for i in range(self.input_n - 1):
            self.input_cells[i] = inputs[i]
        for j in range(self.hidden_n):
            total = 0.0
            for i in range(self.input_n):
                total += self.input_cells[i] * self.input_weights[i][j]
            self.hidden_cells[j] = _sigmoid(total)
        for k in range(self.output_n):
            total = 0.0
            for j in range(self.hidden_n):
                total += self.hidden_cells[j] * self.output_weights[j][k]
            self.output_cells[k] = _sigmoid(total)
        return self.output_cells[:]

    def back_propagate(self, case, label, learn, correct):
        self.predict(case)
        output_deltas = [0.0] * self.output_n
        for o in range(self.output_n):
            error = label[o] - self.output_cells[o]
            output_deltas[o] = _sigmoid_derivative(self.output_cells[o]) * error
        hidden_deltas = [0.0] * self.hidden_n
        for h in range(self.hidden_n):
            error = 0.0
            for o in range(self.output_n):
                error += output_deltas[o] * self.output_weights[h][o]
            hidden_deltas[h] = _sigmoid_derivative(self.hidden_cells[h]) * error
        for h in range(self.hidden_n):
            for o in range(self.output_n):
                change = output_deltas[o] * self.hidden_cells[h]
                self.output_weights[h][o] += learn * change + correct * self.output_correction[h][o]
                self.output_correction[h][o] = change
        for i in range(self.input_n):
            for h in range(self.hidden_n):
                change = hidden_deltas[h] * self.input_cells[i]
                self.input_weights[i][h] += learn * change + correct * self.input_correction[i][h]
                self.input_correction[i][h] = change
        error = 0.0
        for o in range(len(label)):
            error += 0.5 * (label[o] - self.output_cells[o]) ** 2
        return error

    def train(self, cases, labels, limit=10000, learn=0.05, correct=0.1):
        curve = []
        for _ in range(limit):
            error = 0.0
            for j in range(len(cases)):
                error += self.back_propagate(cases[j], labels[j], learn, correct)
            curve.append(error)
        return curve


def xor_python(X, y, W1, b1, W2, epochs, lr, momentum):
    """Train part D's network; returns (network, per-epoch summed error)."""
    net = BPNetwork(W1, b1, W2)
    cases = X.tolist()
    labels = [[v] for v in y.tolist()]
    curve = net.train(cases, labels, epochs, lr, momentum)
    return net, curve


# ---------------------------------------------------------------------------
# NumPy
# ---------------------------------------------------------------------------


def _logistic(z):
    return 1.0 / (1.0 + np.exp(-z))


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def sgd_numpy_per_sample(X, y, Ws, bs, orders, lr, momentum):
    """Part A's style: one sample at a time, ``np.dot`` per layer, ``np.outer`` updates.

    Logistic hidden layers, softmax output, log loss, classical momentum
    (``v = momentum * v - lr * g; w += v``), or with ``momentum == 0`` the
    article's plain step (``w -= lr * g``, no velocities). ``orders`` holds one
    sample order per epoch. Returns (Ws, bs, per-epoch mean loss).
    """
    Ws = [W.copy() for W in Ws]
    bs = [b.copy() for b in bs]
    vWs = [np.zeros_like(W) for W in Ws]
    vbs = [np.zeros_like(b) for b in bs]
    T = onehot(y, Ws[-1].shape[1], X.dtype)
    n_layers = len(Ws)
    curve = []
    for order in orders:
        total = 0.0
        for k in order:
            a = [X[k]]
            for l in range(n_layers - 1):
                a.append(_logistic(np.dot(a[l], Ws[l]) + bs[l]))
            p = _softmax(np.dot(a[-1], Ws[-1]) + bs[-1])
            total -= math.log(max(p[y[k]], 1e-10))
            deltas = [p - T[k]]
            for l in range(n_layers - 1, 0, -1):
                deltas.append(np.dot(Ws[l], deltas[-1]) * a[l] * (1.0 - a[l]))
            deltas.reverse()
            for l in range(n_layers):
                if momentum == 0:
                    Ws[l] -= lr * np.outer(a[l], deltas[l])
                    bs[l] -= lr * deltas[l]
                    continue
                vWs[l] *= momentum
                vWs[l] -= lr * np.outer(a[l], deltas[l])
                Ws[l] += vWs[l]
                vbs[l] *= momentum
                vbs[l] -= lr * deltas[l]
                bs[l] += vbs[l]
        curve.append(total / len(order))
    return Ws, bs, curve


def sgd_numpy_minibatch(X, y, Ws, bs, perm, batch_size, lr, momentum):
    """One epoch of minibatch SGD with BLAS matrix products (``X_b @ W``).

    Logistic hidden layers, softmax output, log loss averaged over the batch,
    classical momentum. The epoch's sample order is ``perm``; the last batch
    may be short. Returns (Ws, bs, per-batch mean loss).
    """
    dtype = X.dtype
    Ws = [W.copy() for W in Ws]
    bs = [b.copy() for b in bs]
    vWs = [np.zeros_like(W) for W in Ws]
    vbs = [np.zeros_like(b) for b in bs]
    lr = dtype.type(lr)
    momentum = dtype.type(momentum)
    Xs = X[perm]
    ys = y[perm]
    n_layers = len(Ws)
    losses = []
    for start in range(0, len(Xs), batch_size):
        Xb = Xs[start:start + batch_size]
        yb = ys[start:start + batch_size]
        m = len(Xb)
        a = [Xb]
        for l in range(n_layers - 1):
            a.append(_logistic(a[l] @ Ws[l] + bs[l]))
        p = _softmax(a[-1] @ Ws[-1] + bs[-1])
        rows = np.arange(m)
        losses.append(-np.log(np.maximum(p[rows, yb], 1e-10)).mean())
        d = p
        d[rows, yb] -= 1
        d /= dtype.type(m)
        for l in range(n_layers - 1, -1, -1):
            gW = a[l].T @ d
            gb = d.sum(axis=0)
            if l > 0:
                d = (d @ Ws[l].T) * a[l] * (1 - a[l])
            vWs[l] *= momentum
            vWs[l] -= lr * gW
            Ws[l] += vWs[l]
            vbs[l] *= momentum
            vbs[l] -= lr * gb
            bs[l] += vbs[l]
    return Ws, bs, losses


def predict_numpy(X, Ws, bs):
    """Class predictions of a logistic network with a softmax output."""
    a = X
    for W, b in zip(Ws[:-1], bs[:-1]):
        a = _logistic(a @ W + b)
    return np.argmax(a @ Ws[-1] + bs[-1], axis=1)


# ---------------------------------------------------------------------------
# scikit-learn
# ---------------------------------------------------------------------------


def sklearn_classifier(hidden, batch_size, lr, momentum, max_iter, seed=0):
    """scikit-learn's MLPClassifier with the benchmarks' settings (constant rate,
    no weight decay, plain momentum, never stopping early)."""
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(
        hidden_layer_sizes=hidden, activation="logistic", solver="sgd",
        learning_rate="constant", learning_rate_init=lr, momentum=momentum,
        nesterovs_momentum=False, batch_size=batch_size, max_iter=max_iter,
        alpha=0.0, tol=0.0, n_iter_no_change=max_iter, shuffle=True, random_state=seed)


# ---------------------------------------------------------------------------
# PyTorch
# ---------------------------------------------------------------------------


def _torch_params(arrays):
    import torch

    return [torch.tensor(np.asarray(a), requires_grad=True) for a in arrays]


def xor_torch(X, y, W1, b1, W2, epochs, lr, momentum):
    """Part D's training in PyTorch at batch 1: autograd gradients, the update
    ``w -= lr * g_t + momentum * g_(t-1)`` by hand. Returns (params, curve)."""
    import torch

    Xt = torch.from_numpy(np.ascontiguousarray(X))
    Yt = torch.from_numpy(np.ascontiguousarray(y)).reshape(-1, 1)
    params = _torch_params([W1, b1, W2])
    w1, c1, w2 = params
    prev = [torch.zeros_like(p) for p in params]
    curve = []
    for _ in range(epochs):
        total = 0.0
        for i in range(len(Xt)):
            h = torch.sigmoid(Xt[i] @ w1 + c1)
            o = torch.sigmoid(h @ w2)
            loss = 0.5 * ((Yt[i] - o) ** 2).sum()
            loss.backward()
            with torch.no_grad():
                for p, g_prev in zip(params, prev):
                    p -= lr * p.grad + momentum * g_prev
                    g_prev.copy_(p.grad)
                    p.grad = None
            total += loss.item()
        curve.append(total)
    return params, curve


def _torch_mlp(Ws, bs):
    import torch

    params = _torch_params([a for pair in zip(Ws, bs) for a in pair])

    def logits(x):
        for l in range(0, len(params) - 2, 2):
            x = torch.sigmoid(x @ params[l] + params[l + 1])
        return x @ params[-2] + params[-1]

    return params, logits


def sgd_torch_per_sample(X, y, Ws, bs, orders, lr, momentum):
    """Per-sample SGD in PyTorch: a plain loop, cross-entropy, torch.optim.SGD
    with momentum (the same rule as scikit-learn's for a constant rate).
    Returns (params, per-epoch mean loss)."""
    import torch
    import torch.nn.functional as F

    Xt = torch.from_numpy(np.ascontiguousarray(X))
    yt = torch.from_numpy(np.ascontiguousarray(y))
    params, logits = _torch_mlp(Ws, bs)
    opt = torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=False)
    curve = []
    for order in orders:
        total = 0.0
        for k in order.tolist():
            loss = F.cross_entropy(logits(Xt[k:k + 1]), yt[k:k + 1])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        curve.append(total / len(order))
    return params, curve


def sgd_torch_minibatch(X, y, Ws, bs, perm, batch_size, lr, momentum):
    """One epoch of minibatch SGD in PyTorch (dtype of X), torch.optim.SGD with
    momentum. Returns (params, per-batch loss)."""
    import torch
    import torch.nn.functional as F

    Xt = torch.from_numpy(np.ascontiguousarray(X))
    yt = torch.from_numpy(np.ascontiguousarray(y))
    p = torch.from_numpy(np.asarray(perm))
    Xs, ys = Xt[p], yt[p]
    params, logits = _torch_mlp(Ws, bs)
    opt = torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=False)
    losses = []
    for start in range(0, len(Xs), batch_size):
        loss = F.cross_entropy(logits(Xs[start:start + batch_size]), ys[start:start + batch_size])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.detach())
    return params, torch.stack(losses).numpy()


# ---------------------------------------------------------------------------
# JAX: the whole training loop compiled
# ---------------------------------------------------------------------------


def _jax():
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    return jax, jnp


def make_xor_jax(epochs, lr, momentum):
    """A compiled part D training: ``jax.jit`` over ``lax.scan`` over epochs and,
    inside, over the samples. Returns ``train(X, y, W1, b1, W2) -> (params, curve)``."""
    jax, jnp = _jax()

    def loss(params, x, t):
        W1, b1, W2 = params
        h = jax.nn.sigmoid(x @ W1 + b1)
        o = jax.nn.sigmoid(h @ W2)
        return 0.5 * jnp.sum((t - o) ** 2)

    value_and_grad = jax.value_and_grad(loss)

    def sample(carry, xt):
        params, prev = carry
        value, grads = value_and_grad(params, *xt)
        params = tuple(p - lr * g - momentum * q for p, g, q in zip(params, grads, prev))
        return (params, grads), value

    def epoch(carry, _, X, Y):
        carry, values = jax.lax.scan(sample, carry, (X, Y))
        return carry, values.sum()

    @jax.jit
    def train(X, y, W1, b1, W2):
        params = (W1, b1, W2)
        prev = tuple(jnp.zeros_like(p) for p in params)
        Y = y.reshape(-1, 1)
        (params, _), curve = jax.lax.scan(
            lambda c, e: epoch(c, e, X, Y), (params, prev), None, length=epochs)
        return params, curve

    return train


def _jax_mlp_loss(jax, jnp):
    def loss(params, Xb, yb):
        n = len(params) // 2
        a = Xb
        for l in range(n - 1):
            a = jax.nn.sigmoid(a @ params[2 * l] + params[2 * l + 1])
        z = a @ params[-2] + params[-1]
        logp = jax.nn.log_softmax(z)
        return -jnp.mean(jnp.take_along_axis(logp, yb[..., None], axis=-1))

    return loss


def make_sgd_jax(lr, momentum, batch_size=1):
    """Compiled minibatch SGD with classical momentum (plain SGD at ``momentum
    == 0``), logistic hidden layers, softmax and log loss.

    Returns ``train(X, y, params, orders) -> (params, losses)``: ``orders`` holds
    one sample order per epoch, shape (epochs, n). ``jax.jit`` over ``lax.scan``
    over the epochs and, inside, over the batches; a short last batch is
    trained after the full ones.
    """
    jax, jnp = _jax()
    value_and_grad = jax.value_and_grad(_jax_mlp_loss(jax, jnp))

    def step(carry, batch):
        params, vel = carry
        value, grads = value_and_grad(params, *batch)
        if momentum == 0:   # plain SGD: no velocities to update (a trace-time branch)
            return (tuple(p - lr * g for p, g in zip(params, grads)), vel), value
        vel = tuple(momentum * v - lr * g for v, g in zip(vel, grads))
        params = tuple(p + v for p, v in zip(params, vel))
        return (params, vel), value

    def epoch(carry, order, X, y):
        n = order.shape[0]
        n_full = n // batch_size
        Xs = X[order]
        ys = y[order]
        full = n_full * batch_size
        Xb = Xs[:full].reshape(n_full, batch_size, X.shape[1])
        yb = ys[:full].reshape(n_full, batch_size)
        carry, values = jax.lax.scan(step, carry, (Xb, yb))
        if full < n:
            carry, last = step(carry, (Xs[full:], ys[full:]))
            values = jnp.concatenate([values, last[None]])
        return carry, values

    @jax.jit
    def train(X, y, params, orders):
        vel = tuple(jnp.zeros_like(p) for p in params)
        (params, _), values = jax.lax.scan(
            lambda c, o: epoch(c, o, X, y), (tuple(params), vel), orders)
        return params, values

    return train


def jax_params(Ws, bs):
    """The weights as a tuple of JAX arrays, (W1, b1, W2, b2, ...)."""
    jax, jnp = _jax()
    return tuple(jnp.asarray(a) for pair in zip(Ws, bs) for a in pair)


def block(tree):
    """Wait for every JAX array in ``tree``; returns it."""
    jax, _ = _jax()
    return jax.block_until_ready(tree)
