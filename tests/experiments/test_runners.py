"""Runners: in-process, local processes and a real Dask cluster store the same bits."""
import multiprocessing
import os
import re
import signal
import threading
import time

import numpy as np
import pytest
from toy_crash_recipes import REF as CRASH
from toy_recipes import REF, TIMING, assert_same_run, read_plain

from fastnn.cli import main
from fastnn.experiments import SweepInterrupted, parse_spec, sweep
from fastnn.experiments.runners import ProcessRunner, execute, threads_per_worker

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    """A real LocalCluster on the loopback interface: 2 worker processes, 1 thread each."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address="127.0.0.1:0") as c:
        yield c


def test_threads_per_worker_never_oversubscribes():
    cores = os.cpu_count()
    for workers in (1, 2, 3, 64):
        t = threads_per_worker(workers)
        assert t >= 1 and (workers * t <= max(cores, workers))


def test_workers_must_be_a_positive_int():
    with pytest.raises(ValueError, match="workers must be an int >= 1; got 0"):
        ProcessRunner(0)
    with pytest.raises(TypeError, match="workers must be an int; got float 2.0"):
        sweep({"recipe": REF}, workers=2.0)


def test_in_process_processes_and_dask_store_identical_bits(tmp_path, spec, cluster):
    files = {}
    for name, kwargs in [("inproc", {}), ("procs", {"workers": 2}),
                         ("dask", {"scheduler": cluster.scheduler_address})]:
        files[name] = tmp_path / f"{name}.h5"
        report = sweep(spec, out=files[name], progress=False, **kwargs)
        assert (report.done, report.failed) == (6, 0), report.errors
    runs = {name: read_plain(path) for name, path in files.items()}
    assert runs["inproc"].keys() == runs["procs"].keys() == runs["dask"].keys()
    for run_id, run in runs["inproc"].items():
        assert_same_run(runs["procs"][run_id], run)
        assert_same_run(runs["dask"][run_id], run)
    # each process worker got NUMBA_NUM_THREADS = cores // workers
    threads = {r["attrs"]["numba_threads"] for r in runs["procs"].values()}
    assert threads == {threads_per_worker(2)}


def test_process_workers_share_the_cores_between_blas_threads_too(tmp_path, monkeypatch):
    """Each process worker started BLAS with a thread a core, or with what the parent's
    environment said, while its Numba had the worker's share: with 2 workers on 2
    cores, BLAS threads spinning between calls ran a sweep of rbm-digits 10x slower.
    Now BLAS gets the share as well, whatever the parent's environment says."""
    share = threads_per_worker(2)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", str(share + 1))   # what workers would inherit
    out = tmp_path / "threads.h5"
    report = sweep({"recipe": "toy_recipes:toy-threads", "seeds": [0, 1]}, out=out, workers=2,
                   progress=False)
    assert (report.done, report.failed) == (2, 0), report.errors
    for run in read_plain(out).values():
        assert (run["metrics"]["blas_threads"], run["metrics"]["numba_threads"]) == (share, share)


def test_dask_worker_killed_during_a_sweep_still_completes(tmp_path, cluster):
    spec = {"recipe": REF, "seeds": list(range(8)), "fixed": {"sleep": 0.3}}
    reference = sweep(spec, progress=False).store
    client = distributed.Client(cluster.scheduler_address)
    pids = client.run(os.getpid)
    killed = []

    def kill_one():
        time.sleep(0.6)                       # both workers busy with 0.3 s runs by then
        pid = next(iter(pids.values()))
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    killer = threading.Thread(target=kill_one)
    killer.start()
    out = tmp_path / "dask.h5"
    report = sweep(spec, out=out, scheduler=cluster.scheduler_address, progress=False)
    killer.join()
    client.close()
    assert killed
    assert (report.done, report.failed) == (8, 0), report.errors
    stored = read_plain(out)
    assert stored.keys() == set(reference.statuses())
    for run_id, run in stored.items():
        assert_same_run(run, reference.read_run(run_id))


def test_local_dask_cluster_started_by_the_runner(tmp_path, spec):
    """scheduler="local": a LocalCluster on 127.0.0.1 whose workers get NUMBA_NUM_THREADS."""
    out = tmp_path / "local.h5"
    report = sweep(dict(spec, seeds=[0]), out=out, scheduler="local", workers=2, progress=False)
    assert (report.done, report.failed) == (2, 0), report.errors
    reference = sweep(dict(spec, seeds=[0]), progress=False).store
    for run_id, run in read_plain(out).items():
        assert_same_run(run, reference.read_run(run_id))
        assert run["attrs"]["numba_threads"] == threads_per_worker(2)


def test_unreachable_scheduler_is_a_clear_error():
    from fastnn.experiments.runners import DaskRunner
    with pytest.raises(ConnectionError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        DaskRunner("tcp://127.0.0.1:9", timeout=1)


# --------------------------------------------------------------------------
# a recipe that ends its process: only its own run fails, and the sweep goes on

def _sweep_file(tmp_path, seeds, **fixed):
    """A sweep of the toy-crash recipe written as TOML; returns its path and {seed: run_id}."""
    lines = [f'recipe = "{CRASH}"', f"seeds = {list(seeds)}", "[fixed]"]
    lines += [f"{name} = {value!r}" for name, value in fixed.items()]
    path = tmp_path / "sweep.toml"
    path.write_text("\n".join(lines) + "\n")
    return path, {task.seed: task.run_id for task in parse_spec(path).tasks()}


def test_a_worker_that_dies_fails_only_the_run_that_killed_it():
    """A run that killed its worker (SIGKILL, as the out-of-memory killer sends it)
    broke the whole pool: every run in flight failed with BrokenProcessPool, the
    next submit raised it and the sweep stopped. Now the runs in flight run again,
    each alone in a new worker; the run that kills its worker alone fails, saying
    how it died; the others, and the runs after, give the same outcomes as in this
    process. Each run starts once and ends once, and no worker is left behind."""
    spec = {"recipe": CRASH, "seeds": list(range(6)), "fixed": {"kill_seeds": [1], "sleep": 0.05}}
    tasks = parse_spec(spec).tasks()
    children = len(multiprocessing.active_children())
    started, outcomes = [], []
    runner = ProcessRunner(2)
    try:
        for task, outcome in runner.map(tasks, started.append):
            outcomes.append((task, outcome))
    finally:
        runner.close()
    assert len(multiprocessing.active_children()) == children
    assert [t.run_id for t in started] == [t.run_id for t in tasks]
    assert sorted(t.order for t, _ in outcomes) == list(range(6))
    by_seed = {task.seed: (task, outcome) for task, outcome in outcomes}
    assert re.fullmatch(r"the worker process running this run died \(exit code -9: killed by "
                        r"signal SIGKILL\) while this run ran alone in it\. .*the sweep went on "
                        r"with the other runs\.", by_seed[1][1].error)
    for seed in (0, 2, 3, 4, 5):
        task, outcome = by_seed[seed]
        expected = execute(task.recipe, task.params, task.seed).result
        assert outcome.error == "" and outcome.result is not None, (seed, outcome.error)
        assert outcome.attrs["numba_threads"] == threads_per_worker(2)   # whichever attempt
        got = outcome.result
        assert ({k: v for k, v in got.metrics.items() if k not in TIMING}
                == {k: v for k, v in expected.metrics.items() if k not in TIMING})
        for part in ("curves", "arrays"):
            assert sorted(getattr(got, part)) == sorted(getattr(expected, part))
            for name, value in getattr(expected, part).items():
                assert np.asarray(getattr(got, part)[name]).tobytes() == np.asarray(value).tobytes()


def test_sweep_command_goes_on_after_a_worker_dies(tmp_path, capsys):
    """`fastnn sweep --workers 2` stopped with "fastnn: error: A child process
    terminated abruptly, the process pool is not usable anymore", the runs in
    flight stored as failed with BrokenProcessPool and the rest never started.
    Now only the run that killed its worker (os._exit(1)) fails; the file holds
    every run once, the others as an in-process sweep stores them."""
    spec_path, ids = _sweep_file(tmp_path, range(3), exit_seeds=[1], sleep=0.05)
    out = tmp_path / "r.h5"
    code = main(["sweep", str(spec_path), "--out", str(out), "--no-progress", "--workers", "2"])
    captured = capsys.readouterr()
    assert code == 1, captured.err
    assert "error" not in captured.err, captured.err
    assert f"{out}: 3 runs; 2 done now, 0 already done, 1 failed." in captured.out
    assert (f"  failed {ids[1]}: the worker process running this run died (exit code 1) while "
            f"this run ran alone in it.") in captured.out
    runs = read_plain(out)
    assert {seed: runs[rid]["attrs"]["status"] for seed, rid in ids.items()} == {
        0: "done", 1: "failed", 2: "done"}
    assert "died (exit code 1)" in runs[ids[1]]["attrs"]["error"]
    reference = sweep({"recipe": CRASH, "seeds": [0, 2],
                       "fixed": {"exit_seeds": [1], "sleep": 0.05}}, progress=False).store
    for seed in (0, 2):
        assert_same_run(runs[ids[seed]], reference.read_run(ids[seed]))


@pytest.mark.parametrize("workers", [[], ["--workers", "2"]], ids=["in-process", "workers"])
def test_sys_exit_in_a_recipe_fails_only_its_run(tmp_path, capsys, workers):
    """sys.exit(3) in a recipe ended an in-process sweep silently with status 3, its
    run left "running" and the rest never started; in a worker it came back as
    SystemExit and ended the sweep the same way. Now it is that run's failure."""
    spec_path, ids = _sweep_file(tmp_path, range(4), system_exit_seeds=[1])
    out = tmp_path / "r.h5"
    code = main(["sweep", str(spec_path), "--out", str(out), "--no-progress", *workers])
    captured = capsys.readouterr()
    assert code == 1, captured.err
    assert f"{out}: 4 runs; 3 done now, 0 already done, 1 failed." in captured.out
    message = (f"SystemExit: recipe '{CRASH}' called sys.exit(3) (exit code 3); a recipe must "
               f"return a Result or raise an exception.")
    assert f"  failed {ids[1]}: {message}" in captured.out
    runs = read_plain(out)
    assert {seed: runs[rid]["attrs"]["status"] for seed, rid in ids.items()} == {
        0: "done", 1: "failed", 2: "done", 3: "done"}
    assert runs[ids[1]]["attrs"]["error"].startswith(message + "\n")


def test_keyboard_interrupt_in_a_recipe_still_stops_an_in_process_sweep(tmp_path):
    """SystemExit is a run's failure now; KeyboardInterrupt (Ctrl-C) still stops the sweep."""
    out = tmp_path / "r.h5"
    spec = {"recipe": CRASH, "seeds": [0, 1, 2], "fixed": {"interrupt_seeds": [1]}}
    ids = {task.seed: task.run_id for task in parse_spec(spec).tasks()}
    with pytest.raises(SweepInterrupted) as info:
        sweep(spec, out=out, progress=False)
    assert info.value.report.done == 1
    statuses = {rid: run["attrs"]["status"] for rid, run in read_plain(out).items()}
    assert statuses[ids[0]] == "done" and ids[2] not in statuses
