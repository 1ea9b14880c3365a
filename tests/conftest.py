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
