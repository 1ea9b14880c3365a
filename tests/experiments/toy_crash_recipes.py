"""Toy recipes that end the process running them, for chosen seeds.

Named ``toy_crash_recipes:toy-crash`` in sweeps so that worker processes import
this module. Never run a killing seed in the test process itself.
"""
import os
import signal
import sys

from toy_recipes import toy

from fastnn.experiments.registry import recipe

REF = "toy_crash_recipes:toy-crash"


@recipe("toy-crash", family="test", headline="loss", reproduce=False)
def toy_crash(seed, kill_seeds=(), exit_seeds=(), system_exit_seeds=(), interrupt_seeds=(),
              sleep=0.0):
    """The toy recipe (``sleep`` seconds long), except for the seeds listed:

    kill_seeds : the process sends itself SIGKILL (as the out-of-memory killer does).
    exit_seeds : the process ends with ``os._exit(1)`` (as a crash in native code would).
    system_exit_seeds : the recipe calls ``sys.exit(3)`` (raises SystemExit).
    interrupt_seeds : the recipe raises KeyboardInterrupt (as Ctrl-C does).
    """
    if seed in kill_seeds:
        os.kill(os.getpid(), signal.SIGKILL)
    if seed in exit_seeds:
        os._exit(1)
    if seed in system_exit_seeds:
        sys.exit(3)
    if seed in interrupt_seeds:
        raise KeyboardInterrupt
    return toy(seed, n_steps=10, sleep=sleep)
