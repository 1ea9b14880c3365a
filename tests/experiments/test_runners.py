"""Runners: in-process, local processes and a real Dask cluster store the same bits."""
import os
import signal
import threading
import time

import pytest
from toy_recipes import REF, assert_same_run, read_plain

from fastnn.experiments import sweep
from fastnn.experiments.runners import ProcessRunner, threads_per_worker

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
