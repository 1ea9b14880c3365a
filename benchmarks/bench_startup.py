"""Start-up: a fresh Python process that imports fastnn, fits a small XOR
network and prints its predictions.

- ``startup-warm``: the kernels are already in the on-disk cache (one run
  fills it first), so this is import + cache load + fit + print.
- ``startup-cold``: every round gets an empty ``NUMBA_CACHE_DIR``, so the
  kernels the fit needs are compiled from scratch.

Each is timed as a whole subprocess. Both use their own temporary cache
directory, never the package's ``__pycache__``.
"""
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import pytest

SCRIPT = """
import numpy as np
import fastnn
X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
y = np.array([0, 1, 1, 0], dtype=float)
model = fastnn.MLPRegressor(
    hidden_layer_sizes=(5,), activation="logistic", output_activation="logistic",
    loss="squared", solver="sgd", learning_rate_init=0.05, momentum=0.1,
    momentum_rule="previous_gradient", batch_size=1, max_iter=100,
    sample_order="sequential", bias=(True, False), init=((-0.2, 0.2), (-2.0, 2.0)),
    tol=None, alpha=0.0, random_state=0)
print(" ".join(f"{v:.6f}" for v in model.fit(X, y).predict(X)))
"""


def _run(cache_dir):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _check(stdout):
    values = np.array(stdout.split(), dtype=float)
    assert values.shape == (4,) and np.all(np.isfinite(values))
    return values


@pytest.fixture(scope="module")
def warm_cache(fastnn_models):
    path = tempfile.mkdtemp(prefix="fastnn-bench-cache-")
    first = _run(path)  # fills the cache
    yield path, first
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.benchmark(group="startup-warm")
def test_fastnn_warm(fastnn_models, benchmark, record, warm_cache):
    record("fastnn", 1, cache="warm")
    path, first = warm_cache
    out = benchmark.pedantic(_run, args=(path,), rounds=5, iterations=1, warmup_rounds=1)
    np.testing.assert_array_equal(_check(out), _check(first))


@pytest.mark.benchmark(group="startup-cold")
def test_fastnn_cold(fastnn_models, benchmark, record, tmp_path, warm_cache):
    record("fastnn", 1, cache="empty NUMBA_CACHE_DIR each round")
    dirs = []

    def fresh():
        dirs.append(tempfile.mkdtemp(prefix="fastnn-bench-cold-", dir=tmp_path))
        return (dirs[-1],), {}

    outputs = []
    benchmark.pedantic(lambda d: outputs.append(_run(d)), setup=fresh, rounds=3,
                       iterations=1)
    # A process that compiled its kernels learns what one that loaded them learns.
    for out in outputs:
        np.testing.assert_array_equal(_check(out), _check(warm_cache[1]))
