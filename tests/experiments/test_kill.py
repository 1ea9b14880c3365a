"""Crash safety: a sweep killed with SIGKILL at random moments, resumed after each kill."""
import os
import random
import signal
import subprocess
import sys
import time

import h5py
from toy_recipes import REF, assert_same_run, read_plain

from fastnn.experiments import parse_spec, recover, sweep
from fastnn.experiments.store import _journal_path

SPEC = f'''recipe = "{REF}"
seeds = {list(range(40))}
[grid]
learning_rate = [0.1, 0.2]
[fixed]
n_steps = 50
array_size = 64
sleep = 0.005
'''


def _fork_sweep(spec_path, out):
    """Start ``fastnn sweep`` in a forked process (no interpreter start-up to wait for)."""
    pid = os.fork()
    if pid == 0:
        code = 70
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            from fastnn.cli import main
            code = main(["sweep", str(spec_path), "--out", str(out), "--no-progress"])
        finally:
            os._exit(code)
    return pid


def _check_after_kill(out, reference, done_before):
    """h5py opens the file; every finished run is intact; none was lost."""
    pending = os.path.exists(_journal_path(str(out)))
    if pending:            # killed while copying a committed run in: the next open replays it
        assert recover(out)
    with h5py.File(out, "r") as f:                       # plain h5py opens it
        assert f.attrs["schema_version"] == 1
    runs = read_plain(out)
    done = {rid for rid, run in runs.items() if run["attrs"]["status"] == "done"}
    assert done_before <= done, "a run finished before a kill was lost"
    assert set(runs) <= set(reference.statuses()), "a run stored under an unknown id"
    for rid in done:
        assert_same_run(runs[rid], reference.read_run(rid))
    return done, pending, sum(run["attrs"]["status"] == "running" for run in runs.values())


def test_sigkill_at_random_moments_then_resume(tmp_path, subprocess_env):
    spec_path = tmp_path / "sweep.toml"
    spec_path.write_text(SPEC)
    out = tmp_path / "results.h5"
    reference = sweep(spec_path, progress=False).store         # a clean in-process sweep
    planned = {t.run_id for t in parse_spec(spec_path).tasks()}
    rng = random.Random(20240611)
    done, kills, pendings = set(), 0, 0

    # 1 kill of the real command, `python -m fastnn.cli sweep`
    proc = subprocess.Popen([sys.executable, "-m", "fastnn.cli", "sweep", str(spec_path), "--out",
                             str(out), "--no-progress"], env=subprocess_env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not out.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(rng.uniform(0.0, 0.05))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    kills += 1
    done, pending, running = _check_after_kill(out, reference, done)
    pendings += pending
    history = [(len(done), running)]

    # 19 more kills of forked sweeps, at random moments
    while kills < 20:
        pid = _fork_sweep(spec_path, out)
        time.sleep(rng.uniform(0.02, 0.2))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        kills += 1
        done, pending, running = _check_after_kill(out, reference, done)
        pendings += pending
        history.append((len(done), running))
    print(f"(done runs, runs left running) after each kill: {history}; journals replayed: {pendings}")
    assert sum(r for _, r in history) >= 5, "too few kills landed inside a run"

    report = sweep(spec_path, out=out, progress=False)           # resume to the end
    assert report.skipped == len(done)
    runs = read_plain(out)
    assert set(runs) == planned                                  # each run stored exactly once
    for rid, run in runs.items():
        assert run["attrs"]["status"] == "done"
        assert_same_run(run, reference.read_run(rid))
