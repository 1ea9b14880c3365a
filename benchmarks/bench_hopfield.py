"""Hopfield recall: 64 probes with 10% of their units flipped, P = 0.1 N stored
random patterns (Hebbian), N = 256, 1024, 4096, asynchronous updates in a
fresh random permutation every sweep, until a sweep changes nothing.

Peers, in the same run and group:

- ``numpy``: the per-unit loop of public Hopfield code, ``s[i] = sign(W[i] @ s)``
  (``tests/reference.py``), float64 weights; at N = 4096 it settles 8 of the
  64 probes (compare per probe: ``samples`` in extra_info);
- ``python``: lists and loops (N = 256 only).

Every peer visits the units in fastnn's order (the permutations are computed
before timing), so the results must equal fastnn's bit for bit; they are
checked after timing.

``test_memory_bandwidth`` measures the machine's read bandwidth (a parallel
sum over 512 MiB); the fastnn rows carry ``weight_bytes`` (bytes of weights
read: one row per unit flip, plus the whole matrix when the first fields come
from it) and ``weight_GBps`` (weight_bytes / median time), to set beside it.
"""
import os
import sys

import numba
import numpy as np
import pytest
from numba import njit, prange

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from fastnn.kernels.rng import hash3, permutation  # noqa: E402
from tests import reference  # noqa: E402  (the NumPy and pure-Python peers)

SIZES = (256, 1024, 4096)
N_PROBES = 64
NOISE = 0.1
LOAD = 0.1
MAX_SWEEPS = 30
NUMPY_PROBES = {256: 64, 1024: 64, 4096: 8}
ROUNDS = {256: 10, 1024: 5, 4096: 3}


@njit(parallel=True)
def _sweep_orders(seed, n_probes, n_sweeps, n, out):
    """The units each probe visits, sweep by sweep (fastnn's 'permutation' order)."""
    for p in prange(n_probes):
        for k in range(n_sweeps):
            permutation(hash3(seed, p, k), 2, out[p, k])


def _problem(n):
    from fastnn.data.patterns import flip, random_patterns
    from fastnn.models.hopfield import HopfieldNetwork, _draw_seed

    gen = np.random.default_rng(n)
    patterns = random_patterns(int(round(LOAD * n)), n, random_state=gen)
    targets = patterns[gen.integers(0, len(patterns), N_PROBES)]
    probes = flip(targets, NOISE, random_state=gen)
    net = HopfieldNetwork(max_sweeps=MAX_SWEEPS, random_state=0).fit(patterns)
    orders = np.empty((N_PROBES, MAX_SWEEPS, n), dtype=np.int64)
    _sweep_orders(_draw_seed(0), N_PROBES, MAX_SWEEPS, n, orders)
    expected = net.recall(probes)
    assert expected.converged.all()
    return net, probes, orders, expected


@pytest.fixture(scope="module", params=SIZES, ids=[f"n{n}" for n in SIZES])
def problem(request):
    return (request.param,) + _problem(request.param)


def _group(benchmark, n):
    benchmark.group = f"hopfield-recall-n{n}-p{N_PROBES}-load{LOAD:g}-noise{NOISE:g}"


def test_fastnn(benchmark, run, record, problem):
    n, net, probes, _, expected = problem
    _group(benchmark, n)
    weight_bytes = int(expected.n_flips.sum()) * n * net.weights_.itemsize
    if getattr(net, "_hebbian_self_coupling", None) is None:
        weight_bytes += net.weights_.nbytes
    record("fastnn", N_PROBES, n_units=n, weights_dtype=net.weights_.dtype.name,
           weight_bytes=weight_bytes, flips=int(expected.n_flips.sum()),
           sweeps_max=int(expected.n_sweeps.max()))
    result = run(lambda: net.recall(probes), rounds=ROUNDS[n] * 4)
    np.testing.assert_array_equal(result.states, expected.states)
    median = benchmark.stats.stats.median
    benchmark.extra_info["weight_GBps"] = weight_bytes / median / 1e9


def test_numpy(benchmark, run, record, problem):
    n, net, probes, orders, expected = problem
    _group(benchmark, n)
    k = NUMPY_PROBES[n]
    W = net.weights_.astype(np.float64) * net.weight_scale_
    record("numpy", k, n_units=n, note=f"{k} of {N_PROBES} probes; compare per probe")
    states = run(lambda: reference.hopfield_recall_numpy(W, probes[:k], lambda p, s: orders[p, s],
                                                         MAX_SWEEPS),
                 rounds=ROUNDS[n], warmup_rounds=0)
    np.testing.assert_array_equal(states, expected.states[:k])


def test_python(benchmark, run, record, problem):
    n, net, probes, orders, expected = problem
    if n != 256:
        pytest.skip("pure Python runs at N = 256 only")
    _group(benchmark, n)
    W = net.weights_.astype(np.float64) * net.weight_scale_
    units = lambda p, s: orders[p, s].tolist()  # noqa: E731
    record("python", N_PROBES, n_units=n)
    states = run(lambda: reference.hopfield_recall_python(W, probes, units, MAX_SWEEPS),
                 rounds=2, warmup_rounds=0)
    np.testing.assert_array_equal(states, expected.states)


@njit(parallel=True)
def _read(a, chunks):
    total = np.zeros(chunks.shape[0] - 1, dtype=np.int64)
    for c in prange(chunks.shape[0] - 1):
        acc = 0
        for i in range(chunks[c], chunks[c + 1]):
            acc += a[i]
        total[c] = acc
    return total.sum()


def test_memory_bandwidth(benchmark, run, record):
    """The machine's read bandwidth: a parallel integer sum over 512 MiB."""
    benchmark.group = "memory-read-512MiB"
    a = np.ones(64 * 2**20, dtype=np.int64)
    chunks = np.linspace(0, len(a), numba.get_num_threads() * 4 + 1).astype(np.int64)
    record("stream-read", 1, bytes=a.nbytes)
    total = run(lambda: _read(a, chunks), rounds=5)
    assert total == len(a)
    benchmark.extra_info["GBps"] = a.nbytes / benchmark.stats.stats.median / 1e9
