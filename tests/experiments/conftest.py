"""Shared fixtures: the toy recipes module is importable here, in worker
processes (spawn copies sys.path) and in subprocesses (PYTHONPATH)."""
import os
import signal
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import toy_recipes  # noqa: E402,F401  (registers "toy" and "toy-numba")


@pytest.fixture
def spec():
    """A small sweep of the toy recipe: 2 learning rates x 3 seeds."""
    return {"recipe": toy_recipes.REF, "seeds": [0, 1, 2],
            "grid": {"learning_rate": [0.1, 0.3]}, "fixed": {"n_steps": 15, "array_size": 40}}


@pytest.fixture
def subprocess_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([HERE] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return env


@pytest.fixture
def ctrl_c():
    """Ctrl-C (SIGINT) raises KeyboardInterrupt in this process and reaches the
    processes it starts, for the tests that send it, even where the suite was
    started with SIGINT ignored: a shell starts ``cmd &`` so, and Python then
    leaves it ignored, in this process and in every process started from here
    (SIG_IGN survives exec; a handler is reset to the default)."""
    saved = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, saved)
