"""The ways a test runs a kernel that has twins and a ``threaded`` argument."""
import pytest


def ways(module, name):
    """Parametrize ``kernel, threaded`` over the three ways to run kernel ``name``
    of ``module``: the parallel twin on its threads and on the calling thread
    (as the models run small work), and the serial twin."""
    parallel, serial = getattr(module, name), getattr(module, name + "_serial")
    return pytest.mark.parametrize("kernel,threaded", [(parallel, True), (parallel, False),
                                                       (serial, True)],
                                   ids=["threads", "calling-thread", "serial-twin"])
