"""fastnn's progress bars: a forked process killed inside its bar cannot hang the parent's."""
import subprocess
import sys

import pytest

from fastnn._progress import progress

_HOLD_THE_LOCK_AND_DIE = """
import os, signal, sys, time
from fastnn._progress import progress
if sys.argv[1] == "sweep":          # a sweep's bar, as fastnn.experiments.sweep makes it
    from fastnn.experiments.sweep import _progress
    new_bar = lambda: _progress(3, "sweep", False)
else:
    new_bar = lambda: progress(auto=sys.argv[1] == "auto", total=3, disable=True)
bar = new_bar()
bar.close()
r, w = os.pipe()
pid = os.fork()
if pid == 0:                        # killed while its bar holds the write lock
    type(bar).get_lock().acquire()
    os.write(w, b"x")
    time.sleep(60)
    os._exit(0)
os.read(r, 1)
os.kill(pid, signal.SIGKILL)
os.waitpid(pid, 0)
new_bar().close()
print("the next bar started")
"""


@pytest.mark.parametrize("kind", ["auto", "console", "sweep"])
def test_a_fork_killed_inside_its_bar_does_not_hang_the_parents_next_bar(kind):
    """The models' verbose bars (tqdm.auto), the console's, and a sweep's:
    with tqdm's default lock, a semaphore shared across fork, the parent's
    next bar waits for the killed child forever (the timeout below). (Seen
    as a hang of test_kill's random kills of forked sweeps, in one of three
    suite runs.)"""
    try:
        done = subprocess.run([sys.executable, "-c", _HOLD_THE_LOCK_AND_DIE, kind],
                              capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        raise AssertionError("the parent's next bar waited for the killed child's lock")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "the next bar started"


@pytest.mark.parametrize("auto", [True, False])
def test_bars_count_and_write_as_tqdms(auto, capsys):
    bar = progress(auto=auto, total=4, desc="fit", unit="epoch", file=sys.stderr)
    for _ in range(4):
        bar.update(1)
    bar.set_postfix(loss="0.5")
    bar.close()
    assert bar.n == 4 and type(bar).monitor_interval == 0
    err = capsys.readouterr().err
    assert "fit: 100%" in err and "4/4" in err and "loss=0.5" in err
