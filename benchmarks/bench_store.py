"""The experiments layer's overheads.

- group ``store-per-run``: storing one typical result (begin + write + flush,
  i.e. two journaled commits) in the HDF5 store and the in-memory store,
  beside the training time of the smallest recipe of the article, ``xor-bp``
  (part D's 2-5-1 network, 10000 epochs).
- group ``runner-20-runs``: the same sweep of 20 ``xor-bp`` runs (1000 epochs) in-process and on a
  local Dask cluster (2 workers, 1 thread each, started outside the timing);
  (dask - in-process) / 20 is the Dask runner's overhead per run.

Run: ``pytest benchmarks/bench_store.py --benchmark-only``.
"""
import uuid

import numba
import pytest

from fastnn.experiments import sweep
from fastnn.experiments.runners import configuration, execute, resolve_params, resolve_recipe
from fastnn.experiments.store import MemoryStore, open_store

SMALLEST = "xor-bp"
PARAMS = {}
N_RUNS = 20


def _info(benchmark):
    benchmark.extra_info.update(numba_threads=numba.get_num_threads(), numba=numba.__version__)


@pytest.fixture(scope="module")
def outcome():
    rec = resolve_recipe(SMALLEST)
    params = resolve_params(rec, PARAMS)
    run_id, config = configuration(SMALLEST, params, 0)
    return config, execute(SMALLEST, params, 0)


def _store_one(store, config, outcome):
    run_id = uuid.uuid4().hex[:12]
    store.begin(run_id, config, SMALLEST, 0)
    store.finish(run_id, outcome.result, outcome.attrs)
    return run_id


@pytest.mark.benchmark(group="store-per-run")
def test_store_hdf5(benchmark, tmp_path, outcome):
    config, out = outcome
    with open_store(tmp_path / "bench.h5", kind="sweep", recipe=SMALLEST) as store:
        run_id = benchmark.pedantic(_store_one, args=(store, config, out), rounds=30,
                                    warmup_rounds=2)
        assert store.statuses()[run_id] == "done"
    _info(benchmark)


@pytest.mark.benchmark(group="store-per-run")
def test_store_memory(benchmark, outcome):
    config, out = outcome
    store = MemoryStore("sweep", SMALLEST)
    run_id = benchmark.pedantic(_store_one, args=(store, config, out), rounds=30, warmup_rounds=2)
    assert store.statuses()[run_id] == "done"
    _info(benchmark)


@pytest.mark.benchmark(group="store-per-run")
def test_train_smallest_recipe(benchmark):
    rec = resolve_recipe(SMALLEST)
    params = resolve_params(rec, PARAMS)
    result = benchmark.pedantic(execute, args=(SMALLEST, params, 0), rounds=30, warmup_rounds=2)
    assert result.result is not None
    _info(benchmark)


SPEC = {"recipe": SMALLEST, "seeds": list(range(N_RUNS)), "fixed": {"epochs": 1000}}


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address="127.0.0.1:0") as c:
        sweep(SPEC, scheduler=c.scheduler_address, progress=False)       # workers import fastnn
        yield c


@pytest.mark.benchmark(group=f"runner-{N_RUNS}-runs")
def test_runner_in_process(benchmark):
    report = benchmark.pedantic(sweep, args=(SPEC,), kwargs={"progress": False}, rounds=5,
                                warmup_rounds=1)
    assert report.done == N_RUNS
    _info(benchmark)


@pytest.mark.benchmark(group=f"runner-{N_RUNS}-runs")
def test_runner_dask(benchmark, cluster):
    report = benchmark.pedantic(sweep, args=(SPEC,), kwargs={"progress": False,
                                "scheduler": cluster.scheduler_address}, rounds=5, warmup_rounds=1)
    assert report.done == N_RUNS
    _info(benchmark)
