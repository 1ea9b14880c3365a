"""The ways a test runs a kernel that has twins and a ``threads`` argument."""
import pytest


def ways(module, name):
    """Parametrize ``kernel, threads`` over the three ways to run kernel ``name``
    of ``module``: the parallel twin on two threads and on the calling thread
    (1, as the models run small work), and the serial twin."""
    parallel, serial = getattr(module, name), getattr(module, name + "_serial")
    return pytest.mark.parametrize("kernel,threads", [(parallel, 2), (parallel, 1), (serial, 2)],
                                   ids=["threads", "calling-thread", "serial-twin"])
