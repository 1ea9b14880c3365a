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


def pytest_collection_modifyitems(config, items):
    if not numba.config.DISABLE_JIT:
        return
    skip = pytest.mark.skip(reason="needs the JIT: under NUMBA_DISABLE_JIT there is only the "
                                   "Python form to compare")
    for item in items:
        if "needs_jit" in item.keywords:
            item.add_marker(skip)
