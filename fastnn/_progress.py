"""Progress bars (tqdm) that a killed fork cannot leave waiting.

tqdm's default write lock holds a ``multiprocessing.RLock``: a semaphore that a
forked process shares with its parent, taken by every bar (a disabled one
too). A forked process killed while its bar held it (SIGKILL, the OOM killer,
a job scheduler) left it taken, and the parent's next bar waited for it
forever. fastnn's bars are tqdm subclasses with a ``threading.RLock`` of their
own process, and no monitor thread (it takes the lock too): each bar is
updated from the one thread that trains or sweeps.
"""
import functools
import threading


@functools.cache
def _safe(base):
    bar = type(base.__name__, (base,), {"monitor_interval": 0, "__module__": __name__,
                                        "__doc__": f"{base.__name__} with a lock of this process's own."})
    bar.set_lock(threading.RLock())
    return bar


def progress(auto=True, **kwargs):
    """A bar: ``tqdm.auto``'s (a widget in notebooks) when ``auto``, else the
    console's, with ``kwargs`` as tqdm's."""
    if auto:
        from tqdm.auto import tqdm
    else:
        from tqdm import tqdm
    return _safe(tqdm)(**kwargs)
