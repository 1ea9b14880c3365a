"""solver='lbfgs': fastnn's and scikit-learn's MLPClassifier, the same L-BFGS-B run.

Both hand scipy's L-BFGS-B the full-batch loss and gradient (scikit-learn's
from NumPy/BLAS, fastnn's from its compiled, threaded kernel) and start from
the same weights (the same ``random_state``), so they take the same steps:
the time a fit, beside scikit-learn's, is what the gradient and each library's
handling of it cost. ``tol=0`` keeps both to ``max_iter`` iterations.
``sklearn-blas1`` is scikit-learn with its BLAS on one thread
(``threadpoolctl``): as a user runs it, BLAS threads spin between its many
small vector operations and slow it down (fastnn sets this around scipy's part).

- ``lbfgs-digits-64-100-10-100it``: the 8x8 digits (1797 rows), 100 hidden
  units, 100 iterations (float64);
- ``lbfgs-mnist-784-128-10-20it``: 10000 MNIST rows (synthetic ones with
  MNIST's sparsity without the files), 128 hidden units, 20 iterations.

    NUMBA_NUM_THREADS=2 pytest benchmarks/bench_lbfgs.py --benchmark-json out.json
    python benchmarks/summary.py out.json
"""
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

import peers

ROUNDS = 5
WORKLOADS = {
    "lbfgs-digits-64-100-10-100it": dict(hidden=100, iterations=100),
    "lbfgs-mnist-784-128-10-20it": dict(hidden=128, iterations=20),
}


@pytest.fixture(scope="module")
def datasets():
    digits = load_digits()
    X, y, source = peers.mnist_data(10000)
    return {"lbfgs-digits-64-100-10-100it": (digits.data / 16, digits.target, "digits"),
            "lbfgs-mnist-784-128-10-20it": (np.asarray(X, np.float64), y, source)}


def _library(impl, fastnn_models):
    import sklearn.neural_network
    return {"fastnn": fastnn_models, "sklearn": sklearn.neural_network,
            "sklearn-blas1": sklearn.neural_network}[impl]


def _one_blas_thread(fit):
    from threadpoolctl import threadpool_limits

    def limited():
        with threadpool_limits(1, "blas"):
            return fit()
    return limited


@pytest.mark.parametrize("impl", ["fastnn", "sklearn", "sklearn-blas1"])
@pytest.mark.parametrize("workload", list(WORKLOADS))
def test_lbfgs_fit(benchmark, run, record, fastnn_models, datasets, workload, impl):
    X, y, source = datasets[workload]
    spec = WORKLOADS[workload]
    benchmark.group = workload
    record(impl, len(X), data=source, iterations=spec["iterations"])
    model = _library(impl, fastnn_models).MLPClassifier(
        hidden_layer_sizes=(spec["hidden"],), solver="lbfgs", max_iter=spec["iterations"],
        tol=0.0, alpha=1e-4, random_state=0)
    warnings.simplefilter("ignore", ConvergenceWarning)
    if impl == "fastnn":   # compile outside the timings
        _library(impl, fastnn_models).MLPClassifier(
            hidden_layer_sizes=(4,), solver="lbfgs", max_iter=2).fit(X[:50], y[:50])
    fit = (lambda: model.fit(X, y))
    run(_one_blas_thread(fit) if impl == "sklearn-blas1" else fit, rounds=ROUNDS)
    # the same run: as many iterations, and learned
    assert model.n_iter_ == spec["iterations"]
    assert np.isfinite(model.loss_) and model.score(X, y) > 0.9
