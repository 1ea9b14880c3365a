import os

# The suite runs on two workers (``pytest -n 2``), a core each. Threads that
# wait by spinning take the other worker's core: OpenMP's (numba's threading
# layer, and scikit-learn's) after every parallel region, OpenBLAS's after
# every BLAS call of the peers and references (scikit-learn, NumPy, SciPy).
# So OpenMP's threads sleep when idle and BLAS runs on one thread. Neither
# changes a result: numba's threads (NUMBA_NUM_THREADS) are as many as before.
# Measured on 2 cores, a worker's work beside a cold compile of the XOR
# trainer: the rbm-digits recipe's three logistic regressions 17.5 -> 6.4 s,
# small parallel RBM fits 1850 -> 2720 in 25 s, and the compile beside them
# 55 -> 49 s. Set before numba, NumPy or SciPy load their libraries, which
# read these once; a value already set is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numba  # noqa: E402
import pytest  # noqa: E402


def pytest_report_header(config):
    return f"numba {numba.__version__}, NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}, " \
           f"NUMBA_DISABLE_JIT={os.environ.get('NUMBA_DISABLE_JIT', '0')}"


@pytest.fixture
def n_threads():
    """The thread counts to compare for determinism: 1 and every available thread."""
    return sorted({1, numba.config.NUMBA_NUM_THREADS})


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "needs_jit: compares compiled code with its Python form (or reads compiled "
                   "code); skipped under NUMBA_DISABLE_JIT, where there is only the Python form")


# The test files that compile the same kernels: under ``--dist loadfile`` each
# set is run by one worker, one file after the other, so the later ones find
# the kernels compiled, where two workers used to compile them at once. Every
# other file is a unit of its own, as loadfile makes it.
SAME_KERNELS = {
    "dense": ("tests/kernels/test_dense.py", "tests/models/test_mlp",
              "tests/experiments/test_dense_recipes.py"),
    "conv": ("tests/kernels/test_conv.py", "tests/kernels/test_pool.py", "tests/models/test_cnn.py",
             "tests/experiments/test_cnn_recipes.py"),
    "rbm": ("tests/kernels/test_rbm.py", "tests/models/test_rbm.py",
            "tests/experiments/test_rbm_recipe.py"),
    "hopfield": ("tests/kernels/test_hopfield.py", "tests/models/test_hopfield.py"),
}


def work_unit(nodeid):
    """The unit of work of a test: its kernels' set, or its file."""
    path = nodeid.split("::")[0]
    return next((name for name, files in SAME_KERNELS.items() if path.startswith(files)), path)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadfile`` with SAME_KERNELS: a set of files is one unit of work."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SameKernels(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            return work_unit(nodeid)

    return SameKernels(config, log)


def pytest_collection_modifyitems(config, items):
    if not numba.config.DISABLE_JIT:
        return
    skip = pytest.mark.skip(reason="needs the JIT: under NUMBA_DISABLE_JIT there is only the "
                                   "Python form to compare")
    for item in items:
        if "needs_jit" in item.keywords:
            item.add_marker(skip)
