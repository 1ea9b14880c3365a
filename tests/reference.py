"""Plain NumPy references, written the way the article writes the algorithms.

Every family keeps its references here (one section each); the kernel tests
and the benchmarks compare against them.
"""
import numpy as np

# ----------------------------------------------------------------- dense (MLP)


def activation(name, z):
    if name == "identity":
        return z
    if name == "logistic":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "softmax":
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    if name == "exp":
        return np.exp(z)
    raise ValueError(name)


def mlp_forward(X, coefs, intercepts, activations):
    """Activations of every layer (the input first)."""
    a = [X]
    for W, b, act in zip(coefs, intercepts, activations):
        z = a[-1] @ W
        if b is not None and len(b):
            z = z + b
        a.append(activation(act, z))
    return a


def mlp_loss(X, Y, coefs, intercepts, activations, loss, alpha=0.0, sample_weight=None):
    """Mean per-sample loss (0.5 * sum of squares, cross-entropy, or half the
    Poisson deviance) plus the L2 term; with ``sample_weight``, scikit-learn's
    weighted mean, the L2 term over the weights' sum."""
    out = mlp_forward(X, coefs, intercepts, activations)[-1]
    p = np.clip(out, 1e-15, 1 - 1e-15)
    if loss == "squared":
        per = 0.5 * ((out - Y) ** 2).sum(axis=1)
    elif loss == "poisson":
        from scipy.special import xlogy
        per = (xlogy(Y, Y / out) - Y + out).sum(axis=1)
    elif activations[-1] == "softmax":
        per = -(Y * np.log(p)).sum(axis=1)
    else:
        per = -(Y * np.log(p) + (1 - Y) * np.log(1 - p)).sum(axis=1)
    total = len(X) if sample_weight is None else np.sum(sample_weight)
    return (np.average(per, weights=sample_weight)
            + 0.5 * alpha * sum((W ** 2).sum() for W in coefs) / total)


def sgd_momentum_step(x, y, coefs, intercepts, velocities, lr, momentum, rule="classical"):
    """One per-sample backprop step on a logistic network with squared loss.

    Written out as the article's part D does it: output deltas
    ``o (1 - o) (o - y)``, hidden deltas through the transposed weights, then
    the change of each weight. Updates the lists in place.
    """
    a = mlp_forward(x[None, :], coefs, intercepts, ["logistic"] * len(coefs))
    deltas = [None] * len(coefs)
    out = a[-1][0]
    deltas[-1] = out * (1 - out) * (out - y)
    for l in range(len(coefs) - 1, 0, -1):
        h = a[l][0]
        deltas[l - 1] = h * (1 - h) * (coefs[l] @ deltas[l])
    for l in range(len(coefs)):
        gW = np.outer(a[l][0], deltas[l])
        gb = deltas[l]
        for P, g, key in ((coefs, gW, ("W", l)), (intercepts, gb, ("b", l))):
            if P[l] is None or not len(P[l]):
                continue
            if rule == "classical":
                velocities[key] = momentum * velocities.get(key, 0.0) - lr * g
                P[l] += velocities[key]
            elif rule == "nesterov":
                velocities[key] = momentum * velocities.get(key, 0.0) - lr * g
                P[l] += momentum * velocities[key] - lr * g
            else:  # part D: w -= lr * g + momentum * g_previous
                P[l] -= lr * g + momentum * velocities.get(key, 0.0)
                velocities[key] = g


# ----------------------------------------------------------------- convolutional network (part E)
#
# The article's convolution rotates the filter by 180 degrees and slides it:
# a true convolution, ``scipy.signal.convolve2d(x, w, 'valid')``
# (= ``correlate2d(x, rot180(w), 'valid')``), summed over input channels.


def conv2d_valid(x, w, b, act="identity"):
    """x (n, C, H, W), w (F, C, kh, kw), b (F,) -> act(conv + b), (n, F, oh, ow)."""
    from scipy.signal import convolve2d

    n, n_c = x.shape[:2]
    n_f = w.shape[0]
    oh, ow = x.shape[2] - w.shape[2] + 1, x.shape[3] - w.shape[3] + 1
    out = np.empty((n, n_f, oh, ow))
    for i in range(n):
        for f in range(n_f):
            z = np.full((oh, ow), float(b[f]))
            for c in range(n_c):
                z += convolve2d(x[i, c].astype(np.float64), w[f, c].astype(np.float64), mode="valid")
            out[i, f] = z
    return activation(act, out)


def conv_article(image, filters, biases, act="logistic"):
    """The article's ``cnn_conv`` with its fault fixed: for each filter rotated
    by 180 degrees, the element-wise product with each patch, summed (the
    article took a matrix product there). ``image`` (H, W), ``filters``
    (F, kh, kw) -> (F, oh, ow)."""
    n_f, kh, kw = filters.shape
    oh, ow = image.shape[0] - kh + 1, image.shape[1] - kw + 1
    out = np.zeros((n_f, oh, ow))
    for k in range(n_f):
        flipped = np.rot90(filters[k], 2)
        for r in range(oh):
            for c in range(ow):
                out[k, r, c] = np.sum(image[r:r + kh, c:c + kw] * flipped) + biases[k]
    return activation(act, out)


def max_pool(a, p):
    """a (..., rows, cols) -> (pooled, arg): max of each p x p block and the
    flat index (row * cols + col) of its first maximum in row-major order."""
    *lead, rows, cols = a.shape
    ph, pw = rows // p, cols // p
    out = np.empty((*lead, ph, pw), dtype=a.dtype)
    arg = np.empty((*lead, ph, pw), dtype=np.int64)
    for idx in np.ndindex(*lead):
        for r in range(ph):
            for c in range(pw):
                block = a[idx][p * r:p * r + p, p * c:p * c + p]
                k = int(np.argmax(block))  # first maximum, row-major
                out[idx + (r, c)] = block.flat[k]
                arg[idx + (r, c)] = (p * r + k // p) * cols + p * c + k % p
    return out, arg


def max_pool_backward(delta_out, arg, shape):
    """Route each pooled gradient to its argmax; zero elsewhere."""
    out = np.zeros(shape)
    cols = shape[-1]
    for idx in np.ndindex(*delta_out.shape):
        lead = idx[:-2]
        at = arg[idx]
        out[lead + (at // cols, at % cols)] += delta_out[idx]
    return out


def cnn_forward(X, filters, fbias, coefs, intercepts, pool, conv_act="logistic",
                act="logistic"):
    """The part E network on images X (n, C, H, W): (conv maps, pooled maps, probabilities)."""
    maps = conv2d_valid(X, filters, fbias, conv_act)
    pooled, _ = max_pool(maps, pool)
    acts = [act] * (len(coefs) - 1) + ["softmax"]
    probs = mlp_forward(pooled.reshape(len(X), -1), coefs, intercepts, acts)[-1]
    return maps, pooled, probs


def cnn_loss(X, Y, filters, fbias, coefs, intercepts, pool, conv_act="logistic", act="logistic",
             alpha=0.0):
    """Mean cross-entropy plus ``0.5 * alpha * (sum filters**2 + sum W**2) / n``."""
    probs = cnn_forward(X, filters, fbias, coefs, intercepts, pool, conv_act, act)[2]
    per = -(Y * np.log(np.clip(probs, 1e-15, 1 - 1e-15))).sum(axis=1)
    l2 = (filters ** 2).sum() + sum((W ** 2).sum() for W in coefs)
    return per.mean() + 0.5 * alpha * l2 / len(X)


def _derivative(act, a):
    if act == "logistic":
        return a * (1 - a)
    if act == "tanh":
        return 1 - a * a
    if act == "relu":
        return (a > 0).astype(float)
    return np.ones_like(a)


def cnn_sgd_step(image, y, filters, fbias, coefs, intercepts, lr, pool=2, conv_act="logistic",
                 act="logistic"):
    """One per-image SGD step of part E, written out as the article does, in
    place: convolution, max pooling with its argmax, the MLP's deltas, the
    pooled delta sent back to the argmax positions (times the convolution's
    derivative), then the filter gradient ``sum_{r,c} dz[r, c] *
    patch(r, c)`` (rotated back, since the forward pass used the rotated
    filter) and the bias gradient ``sum dz``. ``image`` (H, W), one channel;
    ``filters`` (F, 1, kh, kw); ``y`` one-hot. Returns the loss."""
    n_f, _, kh, kw = filters.shape
    maps = conv_article(image, filters[:, 0], fbias, conv_act)
    pooled, arg = max_pool(maps, pool)
    acts = [act] * (len(coefs) - 1) + ["softmax"]
    a = mlp_forward(pooled.reshape(1, -1), coefs, intercepts, acts)
    out = a[-1][0]
    loss = -float(np.sum(y * np.log(np.clip(out, 1e-15, 1 - 1e-15))))
    deltas = [None] * len(coefs)
    deltas[-1] = out - y
    for l in range(len(coefs) - 1, 0, -1):
        deltas[l - 1] = _derivative(act, a[l][0]) * (coefs[l] @ deltas[l])
    d_pooled = (coefs[0] @ deltas[0]).reshape(pooled.shape)
    dz = max_pool_backward(d_pooled, arg, maps.shape) * _derivative(conv_act, maps)
    g_filters = np.zeros_like(filters)
    for k in range(n_f):
        for r in range(maps.shape[1]):
            for c in range(maps.shape[2]):
                if dz[k, r, c] != 0.0:
                    g_filters[k, 0] += dz[k, r, c] * np.rot90(image[r:r + kh, c:c + kw], 2)
    g_fbias = dz.sum(axis=(1, 2))
    for l in range(len(coefs)):
        coefs[l] -= lr * np.outer(a[l][0], deltas[l])
        intercepts[l] -= lr * deltas[l]
    filters -= lr * g_filters
    fbias -= lr * g_fbias
    return loss


# ----------------------------------------------------------------- Hopfield network (part H)
# The textbook loops: one unit at a time, ``s[i] = sign(W[i] @ s)`` recomputed
# from the whole row at every step, the energy -1/2 s^T W s after every sweep.
# The units are visited in the kernels' order: the same counter-based random
# numbers (SplitMix64, fastnn.kernels.rng), recomputed here in Python integers.

_M64 = (1 << 64) - 1
_GOLDEN64 = 0x9E3779B97F4A7C15


def _mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def hopfield_hash3(seed, stream, counter):
    """``fastnn.kernels.rng.hash3`` in Python integers."""
    z = _mix64((seed + _GOLDEN64) & _M64)
    z = _mix64(z ^ ((stream + _GOLDEN64) & _M64))
    return _mix64(z ^ ((counter * _GOLDEN64) & _M64))


def hopfield_uniform(seed, stream, counter):
    return float(hopfield_hash3(seed, stream, counter) >> 11) * (1.0 / 9007199254740992.0)


def hopfield_randint(seed, stream, counter, n):
    return int(hopfield_uniform(seed, stream, counter) * n)


def hopfield_permutation(seed, stream, n):
    """Fisher-Yates, the partner of position i drawn with counter i (``rng.permutation``)."""
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        j = hopfield_randint(seed, stream, i, i + 1)
        order[i], order[j] = order[j], order[i]
    return order


def hopfield_sweep_units(seed, probe, sweep, n, order):
    """The units probe ``probe`` visits in sweep ``sweep`` (asynchronous updates)."""
    key = hopfield_hash3(seed, probe, sweep)
    if order == "random":
        return [hopfield_randint(key, 1, t, n) for t in range(n)]
    if order == "permutation":
        return hopfield_permutation(key, 2, n)
    return list(range(n))


def hopfield_hebbian(patterns, zero_diagonal=True):
    """``sum_mu x_mu x_mu^T`` (integers; the network scales it by 1/n)."""
    X = np.asarray(patterns, dtype=np.int64)
    W = np.zeros((X.shape[1], X.shape[1]), dtype=np.int64)
    for x in X:
        W += np.outer(x, x)
    if zero_diagonal:
        np.fill_diagonal(W, 0)
    return W


def hopfield_storkey(patterns):
    """Storkey (1997): ``W += (x x^T - x_i h_ji - h_ij x_j) / n`` pattern by pattern,
    ``h_ij = sum_{k != i, j} W[i, k] x_k``, the diagonal kept at zero."""
    X = np.asarray(patterns, dtype=np.float64)
    n = X.shape[1]
    W = np.zeros((n, n))
    for x in X:
        H = np.empty((n, n))
        for i in range(n):
            for j in range(n):
                H[i, j] = sum(W[i, k] * x[k] for k in range(n) if k != i and k != j)
        W = W + (np.outer(x, x) - x[:, None] * H.T - H * x[None, :]) / n
        np.fill_diagonal(W, 0.0)
    return W


def hopfield_pseudoinverse(patterns):
    """The projection onto the span of the patterns: ``X^+ X``."""
    X = np.asarray(patterns, dtype=np.float64)
    return np.linalg.pinv(X) @ X


def hopfield_energy(weights, states, scale=1.0):
    """``-1/2 * scale * s^T W s`` of every row."""
    S = np.asarray(states, dtype=np.float64)
    W = np.asarray(weights, dtype=np.float64)
    return -0.5 * scale * np.einsum("pi,ij,pj->p", S, W, S)


def hopfield_recall(weights, probes, update="async", order="permutation", max_sweeps=100,
                    temperature=0.0, scale=1.0, seed=0, units=None):
    """Settle every probe the textbook way, in the kernels' order.

    ``units(p, k)``, when given, returns the units of sweep ``k`` of probe ``p``
    (default: ``hopfield_sweep_units``), so a benchmark can precompute them.
    Returns ``(states, n_sweeps, converged, energies)`` as ``settle`` writes
    them (``energies`` of shape (n_probes, max_sweeps + 1)).
    """
    import math

    W = np.asarray(weights, dtype=np.float64)
    S = np.array(probes, dtype=np.int8)
    n_probes, n = S.shape
    beta2 = 2.0 * scale / temperature if temperature > 0 else 0.0
    n_sweeps = np.zeros(n_probes, dtype=np.int64)
    converged = np.zeros(n_probes, dtype=bool)
    energies = np.zeros((n_probes, max_sweeps + 1))

    def decide(h, current, key, position):
        if beta2 > 0.0:
            p_up = 1.0 / (1.0 + math.exp(-beta2 * h))
            return 1 if hopfield_uniform(key, 3, position) < p_up else -1
        return 1 if h > 0 else (-1 if h < 0 else current)

    for p in range(n_probes):
        s = S[p].astype(np.float64)
        energies[p, 0] = -0.5 * scale * (s @ W @ s)
        k = 0
        while k < max_sweeps:
            key = hopfield_hash3(seed, p, k)
            changes = 0
            if update == "sync":
                h = W @ s
                new = np.array([decide(h[i], s[i], key, i) for i in range(n)], dtype=np.float64)
                changes = int((new != s).sum())
                s = new
            else:
                sweep = units(p, k) if units is not None else \
                    hopfield_sweep_units(seed, p, k, n, order)
                for t, i in enumerate(sweep):
                    new = decide(W[i] @ s, s[i], key, t)
                    if new != s[i]:
                        s[i] = new
                        changes += 1
            k += 1
            energies[p, k] = -0.5 * scale * (s @ W @ s)
            if changes == 0:
                converged[p] = True
                break
        energies[p, k + 1:] = energies[p, k]
        n_sweeps[p] = k
        S[p] = s.astype(np.int8)
    return S, n_sweeps, converged, energies


def hopfield_recall_python(weights, probes, units, max_sweeps=100):
    """Pure Python (lists and loops), temperature 0, asynchronous: the
    per-unit loop of public Hopfield code. ``units(p, k)`` gives the order."""
    W = [list(map(float, row)) for row in np.asarray(weights)]
    out = []
    for p, probe in enumerate(np.asarray(probes).tolist()):
        s = list(probe)
        n = len(s)
        for k in range(max_sweeps):
            changes = 0
            for i in units(p, k):
                row = W[i]
                h = 0.0
                for j in range(n):
                    h += row[j] * s[j]
                new = 1 if h > 0 else (-1 if h < 0 else s[i])
                if new != s[i]:
                    s[i] = new
                    changes += 1
            if changes == 0:
                break
        out.append(s)
    return np.array(out, dtype=np.int8)


def hopfield_recall_numpy(weights, probes, units, max_sweeps=100):
    """The per-unit loop of public Hopfield code, ``s[i] = sign(W[i] @ s)`` (a
    tie keeps the state), asynchronous, temperature 0, until a sweep changes
    nothing. ``units(p, k)``: the units of sweep ``k`` of probe ``p``.
    Returns the final states (int8)."""
    W = np.asarray(weights, dtype=np.float64)
    out = np.array(probes, dtype=np.int8)
    for p in range(len(out)):
        s = out[p].astype(np.float64)
        for k in range(max_sweeps):
            changes = 0
            for i in units(p, k):
                h = W[i] @ s
                new = 1.0 if h > 0 else (-1.0 if h < 0 else s[i])
                if new != s[i]:
                    s[i] = new
                    changes += 1
            if changes == 0:
                break
        out[p] = s
    return out


# ----------------------------------------------------------------- Bernoulli RBM (part A.7)
# W has shape (n_visible, n_hidden): P(h=1|v) = sigmoid(v W + c), P(v=1|h) = sigmoid(h W.T + b).


def rbm_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def rbm_hidden_probabilities(v, W, c):
    return rbm_sigmoid(v @ W + c)


def rbm_visible_probabilities(h, W, b):
    return rbm_sigmoid(h @ W.T + b)


def rbm_free_energy(v, W, b, c):
    """F(v) = -v.b - sum_j log(1 + exp(c_j + v.W[:, j]))."""
    return -v @ b - np.logaddexp(0, v @ W + c).sum(axis=1)


def rbm_pseudo_likelihood(v, W, b, c, flip):
    """scikit-learn's score: n_visible * log sigmoid(F(v') - F(v)), v' with unit flip[n] flipped."""
    v2 = v.copy()
    rows = np.arange(len(v))
    v2[rows, flip] = 1 - v2[rows, flip]
    return -v.shape[1] * np.logaddexp(0, -(rbm_free_energy(v2, W, b, c) - rbm_free_energy(v, W, b, c)))


def rbm_train(X, W, b, c, chain, learning_rate, batch_size, n_epochs, k, persistent, uniforms):
    """PCD / CD-k in NumPy, minibatch by minibatch, the uniforms consumed in the
    documented order (fastnn.kernels.rbm.train). Returns new (W, b, c, chain)."""
    W, b, c, chain = W.copy(), b.copy(), c.copy(), chain.copy()
    uniforms = iter(np.asarray(uniforms))

    def draw(shape):
        return np.array([next(uniforms) for _ in range(int(np.prod(shape)))]).reshape(shape)

    n = len(X)
    for _ in range(n_epochs):
        for start in range(0, n, batch_size):
            v_pos = X[start:start + batch_size]
            m = len(v_pos)
            h_pos = rbm_hidden_probabilities(v_pos, W, c)
            if persistent:
                h = chain
            else:
                h = (draw(h_pos.shape) < h_pos).astype(float)
            for s in range(k):
                if s > 0:
                    h = (draw(h_neg.shape) < h_neg).astype(float)
                p_v = rbm_visible_probabilities(h, W, b)
                v_neg = (draw(p_v.shape) < p_v).astype(float)
                h_neg = rbm_hidden_probabilities(v_neg, W, c)
            lr = learning_rate / m
            W += lr * (v_pos.T @ h_pos - v_neg.T @ h_neg)
            c += lr * (h_pos.sum(axis=0) - h_neg.sum(axis=0))
            b += lr * (v_pos.sum(axis=0) - v_neg.sum(axis=0))
            if persistent:
                chain = (draw(h_neg.shape) < h_neg).astype(float)
    return W, b, c, chain

