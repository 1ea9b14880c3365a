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


def threads_for(work, threshold):
    """Numba's thread count where ``work`` (multiply-adds of one parallel region)
    reaches ``threshold``, else 1: the models' choice of running a cached
    parallel kernel on its threads or on the calling thread (its ``threads``
    argument; the same bits either way). The count is asked only
    above the threshold: a call costs 0.7 us, a twentieth of a small
    ``partial_fit``."""
    return numba.get_num_threads() if work >= threshold else 1


def threads_kernel(kernel, work, threshold):
    """``kernel`` (a cached parallel twin whose last argument is ``threads``,
    the number of runs its parallel loops split their rows into) with that
    argument bound: numba's thread count where ``work`` reaches ``threshold``
    (``threads_for``), 1 (the calling thread) otherwise."""
    n = threads_for(work, threshold)
    return lambda *args: kernel(*args, n)
