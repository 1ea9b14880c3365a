"""How fast part D's XOR network can train at all: one loop written for it alone.

``bench_xor.py`` asks fastnn for 100x the pure-Python version. This trains the
same 2-5-1 network (logistic units, a bias on the inputs, part D's rule
``w -= lr * g_t + 0.1 * g_(t-1)`` on every layer, the four samples in order)
in one compiled loop that knows its sizes and keeps every sum in a register:
no layout, no optimiser or activation chosen at run time, no loss kernel, no
model around it. It is not a proven lower bound, but it is what a loop for
this one network costs; fastnn's general engine cannot do less work. Each
sample is a chain (the next one's forward pass needs this one's updated
weights) through two logistic units, so its latency, not the arithmetic,
sets the time.

It runs with fastnn's logistic (polynomial, vectorisable; the same bits as
fastnn's training) and with libm's ``exp`` (one call a unit), checks that
both end where part D's pure-Python loops end, and prints the time a sample
(the fastest of 30 runs) beside the pure-Python version's (the fastest of 5
runs of 200 epochs), timed in the same run:

    python benchmarks/floor_xor.py
"""
import math
import time

import numpy as np
from numba import njit

import peers
from fastnn.kernels.activations import logistic

EPOCHS = 10000
PYTHON_EPOCHS = 200
LR, MOMENTUM = 0.05, 0.1


def _make(sigmoid):
    @njit
    def train(X, y, W1, b1, w2, epochs, lr, mom):
        """``epochs`` passes of part D's steps over ``X`` in order (weights updated in place)."""
        n_h = W1.shape[1]
        V1 = np.zeros_like(W1)
        vb = np.zeros_like(b1)
        v2 = np.zeros_like(w2)
        h = np.empty(n_h)
        dh = np.empty(n_h)
        for _ in range(epochs):
            for k in range(X.shape[0]):
                x0 = X[k, 0]
                x1 = X[k, 1]
                for j in range(n_h):
                    h[j] = sigmoid(b1[j] + x0 * W1[0, j] + x1 * W1[1, j])
                z = 0.0
                for j in range(n_h):
                    z += h[j] * w2[j]
                o = sigmoid(z)
                d_o = (o - y[k]) * o * (1.0 - o)
                for j in range(n_h):
                    dh[j] = w2[j] * d_o * h[j] * (1.0 - h[j])
                for j in range(n_h):
                    g = x0 * dh[j]
                    W1[0, j] -= lr * g + mom * V1[0, j]
                    V1[0, j] = g
                    g = x1 * dh[j]
                    W1[1, j] -= lr * g + mom * V1[1, j]
                    V1[1, j] = g
                    g = dh[j]
                    b1[j] -= lr * g + mom * vb[j]
                    vb[j] = g
                    g = h[j] * d_o
                    w2[j] -= lr * g + mom * v2[j]
                    v2[j] = g
    return train


@njit(inline="always")
def _libm_sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


def main():
    X, y = peers.xor_data()
    W1, b1, W2 = peers.xor_init(seed=0)
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64).ravel()
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        peers.xor_python(X, y, W1, b1, W2, PYTHON_EPOCHS, LR, MOMENTUM)
        best = min(best, time.perf_counter() - t)
    python_ns = best / (PYTHON_EPOCHS * len(X)) * 1e9
    ref, _ = peers.xor_python(X, y, W1, b1, W2, EPOCHS, LR, MOMENTUM)
    print(f"part D's pure-Python loops: {python_ns:,.0f} ns a sample "
          f"(100x that is {python_ns / 100:.1f} ns)")
    for name, sigmoid in (("fastnn's logistic", logistic), ("libm's exp", _libm_sigmoid)):
        train = _make(sigmoid)
        train(X, y, W1.copy(), b1.copy(), W2[:, 0].copy(), 1, LR, MOMENTUM)   # compile
        best = float("inf")
        for _ in range(30):
            w1, c1, w2 = W1.copy(), b1.copy(), W2[:, 0].copy()
            t = time.perf_counter()
            train(X, y, w1, c1, w2, EPOCHS, LR, MOMENTUM)
            best = min(best, time.perf_counter() - t)
        np.testing.assert_allclose(w1, np.array(ref.input_weights[:2]), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(w2, np.array(ref.output_weights)[:, 0], rtol=1e-9, atol=1e-12)
        ns = best / (EPOCHS * len(X)) * 1e9
        print(f"{name:>18}: {ns:.1f} ns a sample, {python_ns / ns:.0f}x the pure-Python loops")


if __name__ == "__main__":
    main()
