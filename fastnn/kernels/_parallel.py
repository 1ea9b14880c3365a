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


# Threads a minibatch (``dense``'s minibatch trainer, ``rbm.train``). Where a
# core is shared (a busy process on it, a host that slows one vCPU, two
# sweep workers on two cores), every parallel loop waits for its slowest
# thread, several times a batch: two threads ran MNIST slower than one (batch
# 32: 85,100 samples/s against about 187,000), and the 784-wide RBM 4-9 times
# slower (3.5-8.3 s a pass against 0.93 s). A trainer times its batches with
# the cycle counter and now and then runs one the other way (its prange loops
# on all threads, or its range loops on the calling one): after
# ADAPT_FIRST_GAP batches, then at gaps that double up to ADAPT_MAX_GAP while
# the choice holds, back to the first gap when it changes. The same bits
# either way: every output is summed by one thread in one order.
#
# What a way costs. Beside a busy process most parallel batches run at full
# speed and a few wait milliseconds for the descheduled thread (the 784-wide
# RBM's: median 0.28 ms, mean 1.3-1.6 ms, 1% over 25 ms), so one batch, or a
# mean of the last few, tells little. The chosen way's cost is its mean over
# all its batches since the last choice (the first batch of a fit left out:
# cold caches); the other way's, a probe folded into what that way cost
# before (a quarter of the weight), so that one lucky batch does not switch
# back to a way that stalled: a parallel batch that ran quickly once would
# bring the stalls back for a gap. (With the last probe and a running
# average of the last few batches instead, the RBM beside a busy process ran
# 12% of its batches in parallel, a third of its time.)
ADAPT_FIRST_GAP = 16
ADAPT_MAX_GAP = 256
# the entries of a trainer's choice (``adapt_choice``)
_PAR, _GAP, _NEXT, _BATCHES, _MAX_GAP = range(5)
# the entries of its costs: each way's (one thread, all), and the chosen way's
# sum and count since the last choice
_SUM, _COUNT = 2, 3


@njit(cache=True, inline="always")
def adapt_choice(max_gap=ADAPT_MAX_GAP):
    """A trainer's choice of threads, to start: all of them, the first probe
    of one after ``ADAPT_FIRST_GAP`` batches, gaps up to ``max_gap`` batches
    (steps far shorter than a stall take a longer one: a probe of two threads
    beside a busy process may wait 25 ms); and its costs (cycles a row, see
    above)."""
    choice = np.empty(5, dtype=np.int64)
    choice[_PAR] = 1
    choice[_GAP] = ADAPT_FIRST_GAP
    choice[_NEXT] = ADAPT_FIRST_GAP - 1
    choice[_BATCHES] = 0
    choice[_MAX_GAP] = max_gap
    return choice, np.zeros(4)


@njit(cache=True, inline="always")
def adapt_next(choice):
    """``(many, probe)`` for the next batch: whether it runs on all threads, and
    whether it is the probe of the way not chosen."""
    probe = choice[_BATCHES] == choice[_NEXT]
    return (choice[_PAR] == 1) != probe, probe


@njit(cache=True, inline="always")
def adapt_record(choice, recent, many, probe, cost):
    """Record the batch's ``cost`` (cycles a row) run on all threads (``many``)
    or on one; at a probe, choose the cheaper way (see above) and the gap to
    the next probe."""
    k = 1 if many else 0
    if probe:
        recent[k] = cost if recent[k] == 0.0 else 0.75 * recent[k] + 0.25 * cost
        if recent[_COUNT] > 0.0:
            recent[1 - k] = recent[_SUM] / recent[_COUNT]
        recent[_SUM] = 0.0
        recent[_COUNT] = 0.0
        faster = recent[1] <= recent[0]   # all threads, or one
        if faster == (choice[_PAR] == 1):
            choice[_GAP] = min(2 * choice[_GAP], choice[_MAX_GAP])
        else:
            choice[_GAP] = ADAPT_FIRST_GAP
        choice[_PAR] = 1 if faster else 0
        choice[_NEXT] = choice[_BATCHES] + choice[_GAP]
    elif choice[_BATCHES] > 0:
        recent[_SUM] += cost
        recent[_COUNT] += 1.0
    choice[_BATCHES] += 1
