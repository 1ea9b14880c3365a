"""Cheap deterministic recipes for the experiments tests (pure NumPy, no Numba).

Named ``toy_recipes:toy`` in sweeps so that worker processes and Dask workers
import this module (its folder is on their sys.path / PYTHONPATH).
"""
import os
import time

import numpy as np

from fastnn.experiments.registry import Result, recipe

REF = "toy_recipes:toy"


@recipe("toy", family="test", article="the loss falls towards the noise level",
        headline="loss", reproduce=False, quick={"n_steps": 5})
def toy(seed, n_steps=20, learning_rate=0.1, n_features=3, noise=0.1, label="a",
        shape=(2, 2), normalise=True, sleep=0.0, array_size=4, fail=False):
    """Least squares by gradient descent on random data.

    Returns the final loss, a loss curve, the weights, a fake confusion matrix
    and a random array of ``array_size`` x ``array_size`` to store.
    """
    if fail:
        raise ValueError("toy failed on purpose")
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(32, n_features))
    w_true = rng.normal(size=n_features)
    y = X @ w_true + noise * rng.normal(size=32)
    if normalise:
        X = X / np.linalg.norm(X, axis=0)
    w = np.zeros(n_features)
    losses = np.empty(n_steps)
    for step in range(n_steps):
        residual = X @ w - y
        losses[step] = 0.5 * np.mean(residual ** 2)
        w -= learning_rate * X.T @ residual
    if sleep:
        time.sleep(sleep)
    confusion = rng.integers(0, 10, size=tuple(shape))
    return Result(metrics={"loss": float(losses[-1]), "weight_norm": float(np.linalg.norm(w)),
                           "n_steps": int(n_steps), "label_len": len(label)},
                  curves={"loss": losses, "weight_first": np.cumsum(losses)},
                  arrays={"weights": w, "confusion": confusion,
                          "noise": rng.random((array_size, array_size))},
                  text={"report": f"toy {label}: final loss {losses[-1]:.6f}"},
                  summary=f"loss {losses[-1]:.4f}")


WARMED = []
WARM_DIR = "FASTNN_TEST_WARM_DIR"   # where the warm-ups leave a file (recipe, process id)


def _warm(name):
    WARMED.append(name)
    if os.environ.get(WARM_DIR):
        with open(os.path.join(os.environ[WARM_DIR], f"{name}.{os.getpid()}"), "w"):
            pass


@recipe("toy-warm", family="test", headline="loss", reproduce=False,
        warmup=lambda: _warm("toy-warm"))
def toy_warm(seed, fail=False):
    """The toy recipe with a warm-up (which records where it ran)."""
    return toy(seed, fail=fail)


@recipe("toy-warm2", family="test", headline="loss", reproduce=False,
        warmup=lambda: _warm("toy-warm2"))
def toy_warm2(seed):
    """A second toy recipe with a warm-up."""
    return toy(seed)


@recipe("toy-numba", family="test", headline="value", reproduce=False)
def toy_numba(seed, n=5):
    """Compiles a fresh Numba function on every call (for compile_seconds)."""
    from numba import njit

    def body(x):
        acc = 0.0
        for i in range(x.shape[0]):
            acc += x[i] * (i + seed)
        return acc

    value = njit(body)(np.arange(n, dtype=np.float64))
    return Result(metrics={"value": value})


@recipe("toy-threads", family="test", headline="blas_threads", reproduce=False)
def toy_threads(seed):
    """The threads of the process it runs in: its BLAS's (the most of any BLAS
    loaded, NumPy's at least) and Numba's."""
    import numba
    from threadpoolctl import threadpool_info
    blas = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    return Result(metrics={"blas_threads": max(blas), "numba_threads": numba.get_num_threads()})


# --------------------------------------------------------------------------
# helpers for the tests

TIMING = ("wall_seconds", "compile_seconds", "fit_seconds")


def comparable(run):
    """The parts of a stored run that must be bit-identical on every runner."""
    return {"config": run["attrs"]["config"], "status": run["attrs"]["status"],
            "metrics": {k: v for k, v in run["metrics"].items() if k not in TIMING},
            "curves": run["curves"], "arrays": run["arrays"], "text": run["text"]}


def assert_same_run(a, b):
    """Bit equality of two ``read_run`` dicts (timings excluded)."""
    a, b = comparable(a), comparable(b)
    assert a["config"] == b["config"]
    assert a["status"] == b["status"]
    assert a["metrics"] == b["metrics"]
    assert a["text"] == b["text"]
    for part in ("curves", "arrays"):
        assert sorted(a[part]) == sorted(b[part])
        for name in a[part]:
            x, y = np.asarray(a[part][name]), np.asarray(b[part][name])
            assert x.dtype == y.dtype and x.shape == y.shape, name
            assert x.tobytes() == y.tobytes(), name


def read_plain(path):
    """Every run of a results file read with plain h5py (no fastnn code)."""
    import h5py
    out = {}
    with h5py.File(path, "r") as f:
        for run_id, g in f["runs"].items():
            attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in g.attrs.items()}
            run = {"attrs": attrs, "metrics": {}, "curves": {}, "arrays": {}, "text": {}}
            if "metrics" in g:
                run["metrics"] = {k: (v.item() if hasattr(v, "item") else v)
                                  for k, v in g["metrics"].attrs.items()}
            for part in ("curves", "arrays"):
                if part in g:
                    run[part] = {k: d[()] for k, d in g[part].items()}
            if "text" in g:
                run["text"] = {k: d[()].decode() if isinstance(d[()], bytes) else d[()]
                               for k, d in g["text"].items()}
            out[run_id] = run
    return out
