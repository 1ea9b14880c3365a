"""numba's ``parallel`` options for kernels that run serially too.

A cached parallel kernel that the models also run on small inputs writes its
loops twice, ``prange`` and ``range``, and takes the serial ones there (numba
cannot cache a kernel that sets the thread count, nor both twins of one body:
STYLE.md). With ``parallel=True`` every array expression, ``np.zeros`` and
slice assignment is a parallel loop too, and starts the threads on every call,
also where the kernel runs its serial loops: about 10 us a call on two threads,
and not safe where the caller is itself one of several threads.
"""
import numpy as np
from numba import njit


def prange_only():
    """``parallel`` options under which only ``prange`` loops run on threads.
    A new dict each call: numba empties the one it is given."""
    return {"prange": True, "comprehension": False, "reduction": False, "inplace_binop": False,
            "setitem": False, "numpy": False, "stencil": False, "fusion": False}


@njit(cache=True, inline="always")
def chunk(c, chunks, n):
    """Run ``c`` of ``chunks`` contiguous, near-equal runs of ``range(n)``:
    ``(start, stop)``, as int64.

    A parallel loop over runs (one a thread) whose body calls a compiled
    function over its run compiles that function once; a ``prange`` body is
    compiled as a function of its own, and an inlined one once more in the
    kernel's serial loop (which calls the same function over ``chunk(0, 1,
    n)``, or inlines it where a call costs: ``rbm._train``). An unsigned
    ``prange`` index, or a literal 0 for the serial call, would compile the
    called function a second time."""
    c = np.int64(c)
    return c * n // chunks, (c + 1) * n // chunks
