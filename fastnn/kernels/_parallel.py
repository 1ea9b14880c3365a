"""numba's ``parallel`` options for kernels that run serially too.

A cached parallel kernel that the models also run on small inputs writes its
loops twice, ``prange`` and ``range``, and takes the serial ones there (numba
cannot cache a kernel that sets the thread count, nor both twins of one body:
STYLE.md). With ``parallel=True`` every array expression, ``np.zeros`` and
slice assignment is a parallel loop too, and starts the threads on every call,
also where the kernel runs its serial loops: about 10 us a call on two threads,
and not safe where the caller is itself one of several threads.
"""


def prange_only():
    """``parallel`` options under which only ``prange`` loops run on threads.
    A new dict each call: numba empties the one it is given."""
    return {"prange": True, "comprehension": False, "reduction": False, "inplace_binop": False,
            "setitem": False, "numpy": False, "stencil": False, "fusion": False}
