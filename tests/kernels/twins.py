"""The ways a test runs a kernel that has twins and a ``threaded`` (or ``threads``) argument."""
import pytest


def ways(module, name, on=True, off=False):
    """Parametrize ``kernel, threaded`` over the three ways to run kernel ``name``
    of ``module``: the parallel twin on its threads and on the calling thread
    (as the models run small work), and the serial twin. ``on`` and ``off`` are
    the values of the kernel's last argument for the two (the RBM's kernels
    take a count of threads: 2 and 1)."""
    parallel, serial = getattr(module, name), getattr(module, name + "_serial")
    return pytest.mark.parametrize("kernel,threaded", [(parallel, on), (parallel, off),
                                                       (serial, on)],
                                   ids=["threads", "calling-thread", "serial-twin"])
