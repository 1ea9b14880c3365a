"""Shared fixtures for the benchmarks.

- ``torch`` / ``jax``: the module, or the test is skipped when it is not
  installed. torch gets the same thread count as Numba.
- ``fastnn_models``: fastnn, skipping when its models are not importable yet.
- ``record``: fills ``benchmark.extra_info`` with what a reader needs to compare
  runs: the implementation, the samples trained per round, thread counts,
  versions and the data source.
- ``run``: ``benchmark.pedantic`` with one call per round.
"""
import os
import platform
import sys
import time

import numba
import numpy as np
import pytest

# seconds each benchmark waits before timing (see ``run``)
IDLE_SECONDS = 1.0


@pytest.fixture(scope="session")
def torch():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(numba.get_num_threads())
    return torch


@pytest.fixture(scope="session")
def jax():
    return pytest.importorskip("jax")


@pytest.fixture(scope="session")
def fastnn_models():
    fastnn = pytest.importorskip("fastnn")
    if not hasattr(fastnn, "MLPClassifier") or not hasattr(fastnn, "MLPRegressor"):
        pytest.skip("fastnn.MLPClassifier / MLPRegressor are not available")
    return fastnn


def _versions():
    out = {"python": platform.python_version(), "numpy": np.__version__,
           "numba": numba.__version__}
    for name in ("fastnn", "sklearn", "torch", "jax", "jaxlib"):
        module = sys.modules.get(name)
        if module is not None:
            out[name] = getattr(module, "__version__", "?")
    return out


def _blas_threads():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return {info.get("internal_api", "?"): info.get("num_threads")
            for info in threadpool_info() if info.get("user_api") == "blas"}


@pytest.fixture
def record(benchmark):
    """``record(impl, samples, **extra)``: describe the benchmark in extra_info.

    ``samples`` is the number of sample-steps (epochs x samples) trained in one
    timed round; summary.py divides the median by it.
    """

    def record(impl, samples, **extra):
        info = benchmark.extra_info
        info["impl"] = impl
        info["samples"] = int(samples)
        info["numba_threads"] = numba.get_num_threads()
        torch = sys.modules.get("torch")
        if torch is not None:
            info["torch_threads"] = torch.get_num_threads()
        info["blas_threads"] = _blas_threads()
        info["cpu_count"] = os.cpu_count()
        if os.environ.get("XLA_FLAGS"):
            info["xla_flags"] = os.environ["XLA_FLAGS"]
        info["versions"] = _versions()
        info.update(extra)

    return record


@pytest.fixture
def run(benchmark):
    """``run(fn, rounds, warmup_rounds=1)``: time ``fn()`` once per round; returns its result."""

    def run(fn, rounds, warmup_rounds=1):
        # Let the previous test's thread pools go idle first: OpenBLAS, OpenMP
        # (torch) and XLA (JAX) workers keep spinning on the cores for a while
        # after their last task, and a parallel kernel timed meanwhile waits
        # for its threads behind them (fastnn's minibatches ran at half speed
        # right after the JAX and NumPy peers). Every implementation gets the
        # same quiet start.
        time.sleep(IDLE_SECONDS)
        return benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=warmup_rounds)

    return run
