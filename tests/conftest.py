import os

import numba
import pytest


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


# The costliest units first, in this order (their seconds on a 2.0 GHz 2-core
# host with an empty cache, mostly Numba compiling: dense ~640, conv ~430, rbm
# ~200, test_kill ~85, hopfield ~60, test_runners ~30, then 10-20 each), then
# the rest as xdist orders them (most tests first). xdist's own order, by number
# of tests, left test_kill (6 tests, 85 s) for the end, and one worker idle for
# a minute or more.
COSTLIEST_FIRST = ("dense", "conv", "rbm", "tests/experiments/test_kill.py", "hopfield",
                   "tests/experiments/test_runners.py", "tests/test_readme.py",
                   "tests/models/test_sparse_input.py", "tests/experiments/test_store.py",
                   "tests/experiments/test_cli.py", "tests/test_scripts.py",
                   "tests/experiments/test_pictures.py", "tests/kernels/test_cache.py",
                   "tests/experiments/test_sweep.py")


def costliest_first(units):
    """``units`` (names in xdist's order) with those of COSTLIEST_FIRST first, in its order."""
    rank = {name: k for k, name in enumerate(COSTLIEST_FIRST)}
    return sorted(units, key=lambda u: rank.get(u, len(rank)))   # (stable: the rest keep their order)


def work_unit(nodeid):
    """The unit of work of a test: its kernels' set, or its file."""
    path = nodeid.split("::")[0]
    return next((name for name, files in SAME_KERNELS.items() if path.startswith(files)), path)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadfile`` with SAME_KERNELS: a set of files is one unit of work,
    the costliest handed out first (COSTLIEST_FIRST)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SameKernels(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            return work_unit(nodeid)

        def _assign_work_unit(self, node):
            if not getattr(self, "_ordered", False):   # the first unit handed out: order them
                self._ordered = True
                for unit in costliest_first(list(self.workqueue)):
                    self.workqueue.move_to_end(unit)
            super()._assign_work_unit(node)

    return SameKernels(config, log)


def pytest_collection_modifyitems(config, items):
    if not numba.config.DISABLE_JIT:
        return
    skip = pytest.mark.skip(reason="needs the JIT: under NUMBA_DISABLE_JIT there is only the "
                                   "Python form to compare")
    for item in items:
        if "needs_jit" in item.keywords:
            item.add_marker(skip)
