"""The floor under the digits per-sample targets: the weight updates alone.

``bench_digits.py`` trains [64, 100, 10] one sample at a time. Whatever else a
trainer does, each sample must update the first layer's rows of its nonzero
inputs (33 of 64 on average) and the whole second layer, and with momentum
each weight's velocity too. This times those updates and nothing else: the
same rows, in plain loops that LLVM vectorises, with fixed deltas and no
forward or backward pass. It is not a proven lower bound (other loops may
store a little faster), but it is the work any per-sample trainer of this
network does besides its forward and backward passes; fastnn's own updates
take about as long (a ``perf`` profile of its trainer). Set beside a
target, it shows how much time the target leaves for everything else.

    python benchmarks/floor_digits.py

prints the time a sample of the updates alone, for the plain SGD step
(``w -= lr g``) and for classical momentum (``v = m v - lr g; w += v``), the
fastest of 10 rounds of 10 passes over the 1797 digits.
"""
import time

import numpy as np
from numba import njit

import peers

HIDDEN, OUTPUTS = 100, 10


@njit(inline="always")
def _row_step(W, V, i, x, d, momentum, lr, mom):
    """Row ``i`` of ``W`` (velocities ``V``) steps on the gradient ``x * d``."""
    for j in range(W.shape[1]):
        g = x * d[j]
        if momentum:
            v = mom * V[i, j] - lr * g
            V[i, j] = v
            W[i, j] += v
        else:
            W[i, j] -= lr * g


@njit
def updates(X, rows, n_rows, W1, V1, W2, V2, d1, a1, d2, momentum, passes, lr, mom):
    """``passes`` passes of the updates a sample: first-layer rows ``rows[k, :n_rows[k]]``
    with gradient ``x_i d1``, every second-layer row with ``a1_i d2``."""
    for _ in range(passes):
        for k in range(X.shape[0]):
            for t in range(n_rows[k]):
                i = rows[k, t]
                _row_step(W1, V1, i, X[k, i], d1, momentum, lr, mom)
            for i in range(W2.shape[0]):
                _row_step(W2, V2, i, a1[i], d2, momentum, lr, mom)


def main():
    X, _ = peers.digits_data()
    n, n_in = X.shape
    rows = np.zeros((n, n_in), dtype=np.int64)
    n_rows = np.zeros(n, dtype=np.int64)
    for k in range(n):
        nz = np.flatnonzero(X[k])
        rows[k, :len(nz)] = nz
        n_rows[k] = len(nz)
    g = np.random.default_rng(0)
    W1 = g.normal(size=(n_in, HIDDEN)) * 0.1
    W2 = g.normal(size=(HIDDEN, OUTPUTS)) * 0.1
    V1, V2 = np.zeros_like(W1), np.zeros_like(W2)
    d1, a1, d2 = g.normal(size=HIDDEN) * 1e-3, g.uniform(size=HIDDEN), g.normal(size=OUTPUTS) * 1e-3
    print(f"digits: {n} samples, {n_rows.mean():.1f} nonzero inputs of {n_in} on average")
    for momentum in (False, True):
        args = (X, rows, n_rows, W1, V1, W2, V2, d1, a1, d2, momentum)
        updates(*args, 1, 0.01, 0.9)   # compile
        best = float("inf")
        for _ in range(10):
            t = time.perf_counter()
            updates(*args, 10, 0.01, 0.9)
            best = min(best, time.perf_counter() - t)
        name = "momentum 0.9" if momentum else "plain SGD"
        print(f"{name:>12}: the updates alone take {best / (10 * n) * 1e6:.3f} us a sample")


if __name__ == "__main__":
    main()
