"""A line on stderr when a kernel compiles for a while.

A new machine's first fit compiles its kernels for 10-40 s (then they load
from Numba's disk cache in a fraction of a second), and nothing else shows
meanwhile: a first ``MLPClassifier().fit`` looked hung. Numba's
``numba:compile`` event (the compiler only, never a cache load) starts a
timer for each outermost compile of a ``fastnn.kernels`` function; one still
running after ``NOTICE_AFTER`` seconds writes a line naming the kernel, once
a kernel a process. ``FASTNN_COMPILE_NOTICE=0`` turns it off; the recipes'
warm-ups, which say what they compile themselves, run ``quiet()``.
"""
import contextlib
import os
import sys
import threading

from numba.core import event

NOTICE_AFTER = 3.0   # seconds


def _kernel_name(event):
    dispatcher = event.data.get("dispatcher")
    func = getattr(dispatcher, "py_func", None)
    module = getattr(func, "__module__", "") or ""
    if not module.startswith("fastnn.kernels"):
        return None
    return f"{module.removeprefix('fastnn.kernels.')}.{getattr(func, '__name__', '?')}"


class _Notice(event.Listener):
    """Numba compiles under one lock, so compiles nest but never overlap."""

    def __init__(self):
        self.depth = 0
        self.timer = None
        self.shown = set()
        self.quiet = 0

    def on_start(self, event):   # (the argument shadows the module, as numba names it)
        self.depth += 1
        if self.depth != 1 or self.quiet or os.environ.get("FASTNN_COMPILE_NOTICE") == "0":
            return
        name = _kernel_name(event)
        if name is None or name in self.shown:
            return
        if NOTICE_AFTER <= 0:
            self._show(name)
            return
        self.timer = threading.Timer(NOTICE_AFTER, self._show, args=(name,))
        self.timer.daemon = True
        self.timer.start()

    def on_end(self, event):
        self.depth = max(0, self.depth - 1)
        if self.depth == 0 and self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _show(self, name):
        self.shown.add(name)
        print(f"fastnn: compiling {name} for this machine; once, then it loads from the disk "
              f"cache (`fastnn compile` compiles the recipes' kernels ahead)",
              file=sys.stderr, flush=True)


_NOTICE = _Notice()
_installed = False


def install():
    """Listen to Numba's compiles (once a process)."""
    global _installed
    if not _installed:
        event.register("numba:compile", _NOTICE)
        _installed = True


@contextlib.contextmanager
def quiet():
    """No notice for what compiles inside (a caller that says so itself)."""
    _NOTICE.quiet += 1
    try:
        yield
    finally:
        _NOTICE.quiet -= 1
