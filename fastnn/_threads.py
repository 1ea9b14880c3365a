"""Thread count of the compiled kernels."""
from contextlib import contextmanager

import numba


@contextmanager
def threads(n):
    """Run the enclosed block with ``n`` Numba threads, then restore the count.

    >>> with threads(1):
    ...     model.fit(X, y)
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an int; got {type(n).__name__} {n!r}.")
    if not 1 <= n <= numba.config.NUMBA_NUM_THREADS:
        raise ValueError(
            f"n must be between 1 and NUMBA_NUM_THREADS ({numba.config.NUMBA_NUM_THREADS}); got {n}.")
    old = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield n
    finally:
        numba.set_num_threads(old)
