"""Sweeps: spec checks, run ids, resuming, failed runs, one run, loading."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from toy_recipes import REF, assert_same_run, read_plain

from fastnn import experiments
from fastnn.experiments import SpecError, load, load_curves, load_run, parse_spec, sweep
from fastnn.experiments.runners import configuration
from fastnn.experiments.store import MemoryStore, open_store


def _write(tmp_path, text, name="s.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_toml_spec_expands_grid_and_seeds(tmp_path):
    path = _write(tmp_path, f'recipe = "{REF}"\nseeds = [0, 1]\n[grid]\nlearning_rate = [0.1, 1]\n'
                            f'shape = [[2, 2], [3, 3]]\n[fixed]\nn_steps = 7\n')
    tasks = parse_spec(path).tasks()
    assert len(tasks) == 8
    assert {t.params["learning_rate"] for t in tasks} == {0.1, 1.0}        # 1 became 1.0
    assert {t.params["shape"] for t in tasks} == {(2, 2), (3, 3)}           # tuples, as the default
    assert all(t.params["n_steps"] == 7 and t.params["noise"] == 0.1 for t in tasks)
    assert len({t.run_id for t in tasks}) == 8


def test_run_id_is_a_stable_hash_of_the_canonical_configuration():
    params = experiments.get("toy").params
    a = configuration(REF, dict(params, learning_rate=0.5), 3)
    b = configuration(REF, dict(reversed(list(dict(params, learning_rate=0.5).items()))), 3)
    assert a == b and len(a[0]) == 12
    config = json.loads(a[1])
    assert config == {"recipe": REF, "seed": 3,
                      "params": json.loads(json.dumps({**params, "learning_rate": 0.5,
                                                       "shape": [2, 2]}))}
    assert configuration(REF, params, 4)[0] != configuration(REF, params, 3)[0]


BAD_SPECS = [
    ('recipe = "toy_recipes:toy"\nseeds = [0, 1\n', SpecError, r"s\.toml is not valid TOML"),
    ('recipe = "nope"\n', SpecError, r"unknown recipe 'nope'; known recipes: .*toy"),
    ('recipe = "no_such_module:toy"\n', SpecError, "cannot import module 'no_such_module'"),
    ('seeds = [0]\n', SpecError, "missing key 'recipe'"),
    ('recipe = "toy_recipes:toy"\nseed = [0]\n', SpecError, "unknown key 'seed'"),
    ('recipe = "toy_recipes:toy"\n[grid]\nlearning_rat = [0.1]\n', SpecError,
     "names 'learning_rat', but recipe 'toy' has no such parameter"),
    ('recipe = "toy_recipes:toy"\n[fixed]\nbogus = 1\n', SpecError, "has no such parameter"),
    ('recipe = "toy_recipes:toy"\n[grid]\nn_steps = [10, 2.5]\n', TypeError,
     r"grid\.n_steps\[1\] must be an int; got float 2\.5"),
    ('recipe = "toy_recipes:toy"\n[fixed]\nnormalise = "yes"\n', TypeError,
     "fixed.normalise must be a bool; got str 'yes'"),
    ('recipe = "toy_recipes:toy"\n[grid]\nn_steps = 10\n', SpecError,
     r"grid\.n_steps must be a non-empty list"),
    ('recipe = "toy_recipes:toy"\nseeds = [0, 0]\n', SpecError, "seeds has duplicates"),
    ('recipe = "toy_recipes:toy"\nseeds = [-1]\n', SpecError,
     r"seeds\[0\] must be an int in \[0, 4294967295\]; got int -1"),
    # above 2**63 - 1 it was stored as seed 0 ran, then HDF5 could not hold it
    ('recipe = "toy_recipes:toy"\nseeds = [0, 36893488147419103232]\n', SpecError,
     r"seeds\[1\] must be an int in \[0, 4294967295\]; got int 36893488147419103232"),
    # the recipe's own checks, for every point (they failed inside NumPy, run by run)
    ('recipe = "linear-classifier"\n[fixed]\nn_points = -5\n', SpecError,
     r"n_points must be an int >= 1; got -5"),
    ('recipe = "linear-classifier"\n[grid]\nnoise = [0.1, -1]\n', SpecError,
     r"noise must be a finite float >= 0.0; got -1.0"),
    ('recipe = "toy_recipes:toy"\nseeds = []\n', SpecError, "seeds must be a non-empty list"),
    ('recipe = "toy_recipes:toy"\n[grid]\nn_steps = [1, 2]\n[fixed]\nn_steps = 3\n', SpecError,
     "'n_steps' is in both"),
    ('recipe = "toy_recipes:toy"\n[grid]\nlabel = ["a", "a"]\n', SpecError, "grid.label has duplicates"),
    # a grid too large to list (10**9 points ran out of memory, silently, listing them)
    ('recipe = "toy_recipes:toy"\nseeds = [0, 1]\n[grid]\nn_steps = [%s]\nlearning_rate = [%s]\n'
     % (", ".join(map(str, range(1, 1001))), ", ".join(str(i / 1000) for i in range(1, 1001))), SpecError,
     r"the sweep has 2,000,000 runs \(1000 n_steps x 1000 learning_rate x 2 seeds\), more than the "
     r"1,000,000 a sweep may hold; split it into several sweeps"),
    # the recipes' options, checked before any run (a grid of "bogus" ran, every such run failed)
    ('recipe = "xor-bp"\n[grid]\nmomentum_rule = ["bogus", "classical"]\n', SpecError,
     r"momentum_rule must be one of \['classical', 'previous_gradient'\]; got 'bogus'"),
    ('recipe = "digits-mlp"\n[fixed]\nactivation = "sigmoid"\n', SpecError,
     r"activation must be one of \['identity', 'logistic', 'relu', 'tanh'\]; got 'sigmoid'"),
    # xor-tanh's layers: its ends were ignored ([7, 2, 9] ran [2, 2, 1]), [] and [2] ran
    ('recipe = "xor-tanh"\n[grid]\nlayers = [[2, 2, 1], [7, 2, 9]]\n', SpecError,
     r"layers must start with XOR's 2 inputs and end with its 1 output, such as \[2, 2, 1\]; "
     r"got \[7, 2, 9\]"),
    ('recipe = "xor-tanh"\n[fixed]\nlayers = [2]\n', SpecError,
     r"layers must list the layer sizes from XOR's 2 inputs to its 1 output, such as \[2, 2, 1\]; "
     r"got \[2\]"),
    ('recipe = "timing"\n[fixed]\ncsv = "no-such-prices.csv"\n', SpecError,
     r"csv must name an OHLC\(V\) CSV file; got 'no-such-prices.csv', which does not exist"),
]


@pytest.mark.parametrize("text, error, match", BAD_SPECS)
def test_bad_spec_is_a_one_line_error_before_any_work(tmp_path, text, error, match):
    path = _write(tmp_path, text)
    out = tmp_path / "r.h5"
    with pytest.raises(error, match=match) as info:
        sweep(path, out=out, progress=False)
    assert "\n" not in str(info.value)
    assert not out.exists()


def test_a_spec_that_is_not_utf8_text_names_the_file(tmp_path):
    """A Latin-1 comment, or an HDF5 file given as the spec: UTF-8's own error
    named neither the file nor what was wrong."""
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'# r\xe9sum\xe9\nrecipe = "toy_recipes:toy"\n')
    with pytest.raises(SpecError, match=r"latin1\.toml is not valid TOML: not a text file in UTF-8 "
                                        r"\(byte 3 is b'\\xe9'\)"):
        sweep(path, out=tmp_path / "r.h5")
    assert not (tmp_path / "r.h5").exists()


def test_seeds_may_be_numpy_ints_and_a_tuple(tmp_path):
    """A dict spec with seeds from NumPy (list(np.arange(2))) or a tuple: they were
    refused ('got int64'), while the grid took NumPy values."""
    want = sweep({"recipe": REF, "seeds": [0, 1], "fixed": {"n_steps": 4}}, progress=False)
    for seeds in (list(np.arange(2)), (0, 1), np.array([0, 1], dtype=np.uint32).tolist()):
        got = sweep({"recipe": REF, "seeds": seeds, "fixed": {"n_steps": 4}}, progress=False)
        assert got.run_ids == want.run_ids


def test_missing_spec_file(tmp_path):
    with pytest.raises(SpecError, match=r"sweep file .*missing\.toml does not exist"):
        sweep(tmp_path / "missing.toml", out=tmp_path / "r.h5")


def test_sweep_resume_skips_done_runs(tmp_path, spec):
    out = tmp_path / "r.h5"
    first = sweep(spec, out=out, progress=False)
    assert (first.done, first.skipped, first.failed) == (6, 0, 0)
    stored = read_plain(out)
    again = sweep(spec, out=out, progress=False)
    assert (again.done, again.skipped) == (0, 6)
    for run_id, run in read_plain(out).items():
        assert run["attrs"]["wall_seconds"] == stored[run_id]["attrs"]["wall_seconds"]   # untouched
    bigger = sweep(dict(spec, seeds=[0, 1, 2, 3]), out=out, progress=False)           # extend
    assert (bigger.done, bigger.skipped) == (2, 6)


def test_running_run_left_by_a_kill_is_rerun(tmp_path, spec):
    out = tmp_path / "r.h5"
    sweep(spec, out=out, progress=False)
    task = parse_spec(spec).tasks()[2]
    with open_store(out, kind="sweep", recipe=REF) as s:
        s.begin(task.run_id, task.config, REF, task.seed)           # as a killed sweep leaves it
    assert read_plain(out)[task.run_id]["attrs"]["status"] == "running"
    report = sweep(spec, out=out, progress=False)
    assert (report.done, report.skipped) == (1, 5)
    assert read_plain(out)[task.run_id]["attrs"]["status"] == "done"


def test_failed_run_is_stored_and_does_not_stop_the_sweep(tmp_path):
    out = tmp_path / "r.h5"
    spec = {"recipe": REF, "seeds": [0, 1], "grid": {"fail": [False, True]}}
    report = sweep(spec, out=out, progress=False)
    assert (report.done, report.failed) == (2, 2)
    table = load(out)
    failed = table[table.status == "failed"]
    assert len(failed) == 2 and failed.error.str.contains("toy failed on purpose").all()
    again = sweep(spec, out=out, progress=False)                     # failed runs are retried
    assert (again.skipped, again.failed) == (2, 2)


def test_the_progress_bar_says_what_runs_and_what_failed(tmp_path, capsys):
    import toy_recipes

    toy_recipes.WARMED.clear()
    spec = {"recipe": "toy_recipes:toy-warm", "seeds": [0, 1, 2], "grid": {"fail": [False, True]}}
    report = sweep(spec, out=tmp_path / "r.h5", progress=True)
    assert (report.done, report.failed) == (3, 3) and toy_recipes.WARMED == ["toy-warm"]
    frames = capsys.readouterr().err.split("\r")
    warm = [i for i, f in enumerate(frames) if "toy_recipes:toy-warm: compiling or loading its "
            "kernels" in f]
    running = [i for i, f in enumerate(frames) if "toy_recipes:toy-warm]" in f
               or "toy_recipes:toy-warm, failed=" in f]
    assert warm and running and max(warm) < min(running)   # the warm-up first, then the runs
    last = [f for f in frames if f.strip()][-1]
    assert "6/6" in last and "toy_recipes:toy-warm, failed=3]" in last
    assert sweep(spec, out=tmp_path / "r.h5", progress=False).skipped == 3


def test_run_adds_timings_and_measures_numba_compile_time():
    result = experiments.run(REF, seed=1, n_steps=4)
    assert result.metrics["wall_seconds"] > 0 and result.metrics["compile_seconds"] == 0.0
    compiled = experiments.run("toy_recipes:toy-numba", seed=2, n=4)
    assert compiled.metrics["value"] == sum(i * (i + 2) for i in range(4))
    assert compiled.metrics["compile_seconds"] > 0
    assert compiled.metrics["compile_seconds"] <= compiled.metrics["wall_seconds"]


def test_compile_seconds_counts_loading_from_the_disk_cache(subprocess_env):
    """A new process's first run of a cached kernel loads it from the disk
    cache: compile_seconds counts that (it read 0 while the load went into the
    run's fit time); the second run in the process needs nothing."""
    script = ("import json\n"
              "from fastnn.experiments.runners import execute\n"
              "runs = [execute('xor-bp', {'epochs': 10}, 0).result.metrics for _ in range(2)]\n"
              "print(json.dumps([[m['compile_seconds'], m['wall_seconds']] for m in runs]))\n")
    for _ in range(2):   # the first process compiles (or loads) and caches; the second loads
        proc = subprocess.run([sys.executable, "-c", script], env=subprocess_env,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
    (compile1, wall1), (compile2, wall2) = json.loads(proc.stdout.splitlines()[-1])
    assert 0 < compile1 <= wall1
    assert compile2 == 0.0


def test_run_checks_parameters():
    with pytest.raises(ValueError, match="recipe 'toy' has no parameter 'epochs'"):
        experiments.run(REF, epochs=3)
    with pytest.raises(TypeError, match="parameter 'n_steps' of recipe 'toy' must be an int; got str"):
        experiments.run(REF, n_steps="3")


def test_run_checks_the_recipes_values_and_the_seed_before_running(tmp_path):
    """The recipe's values failed inside NumPy ("negative dimensions are not
    allowed", "scale < 0"), after the run was begun in the results file."""
    out = tmp_path / "one.h5"
    with pytest.raises(ValueError, match=r"^n_points must be an int >= 1; got -5\.$"):
        experiments.run("linear-classifier", out=out, n_points=-5)
    with pytest.raises(ValueError, match=r"^noise must be a finite float >= 0\.0; got -1\.0\.$"):
        experiments.run("linear-classifier", out=out, noise=-1.0)
    with pytest.raises(ValueError, match=r"^seed must be an int in \[0, 4294967295\]; "
                                         r"got 36893488147419103232\.$"):
        experiments.run("linear-classifier", seed=2**65, out=out)
    assert not out.exists()


@pytest.mark.parametrize("scheduler", [None, "local"])
@pytest.mark.parametrize("workers, error, match", [
    (-1, ValueError, r"workers must be an int >= 1; got -1\."),
    (0, ValueError, r"workers must be an int >= 1; got 0\."),
    ("2", TypeError, r"workers must be an int; got str '2'\."),
    (2.0, TypeError, r"workers must be an int; got float 2\.0\."),
])
def test_workers_are_checked_for_every_scheduler_before_anything_starts(
        tmp_path, monkeypatch, scheduler, workers, error, match):
    """With scheduler='local', workers=-1 started a Dask cluster of -1 workers that
    never came up (the sweep hung), '2' was a raw TypeError and 0 meant every core."""
    from fastnn.experiments import runners

    class NoRunner:
        def __init__(self, *args, **kwargs):
            raise AssertionError("a runner was started before workers was checked")

    monkeypatch.setattr(runners, "DaskRunner", NoRunner)
    monkeypatch.setattr(runners, "ProcessRunner", NoRunner)
    out = tmp_path / "r.h5"
    with pytest.raises(error, match=match):
        sweep({"recipe": "linear-classifier"}, out=out, workers=workers, scheduler=scheduler,
              progress=False)
    assert not out.exists()


def test_empty_out_is_refused_before_any_file_is_made(tmp_path, monkeypatch):
    """out='' made its temporary file in the parent of the working directory, then
    failed to rename it to ''."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    with pytest.raises(ValueError, match=r"^out must name a results file; got ''\.$"):
        sweep({"recipe": "linear-classifier"}, out="", progress=False)
    with pytest.raises(ValueError, match=r"^out must name a results file; got ''\.$"):
        experiments.run("linear-classifier", out="")
    with pytest.raises(ValueError, match=r"^path must name a results file; got ''\.$"):
        open_store("", kind="sweep", recipe="linear-classifier")
    assert sorted(os.listdir(tmp_path)) == ["work"] and os.listdir(work) == []


def test_a_sweep_that_fails_before_its_first_run_leaves_no_new_file(tmp_path, monkeypatch):
    """An unreachable or malformed scheduler left an empty results file behind; a
    file that was there before, with its runs, stays."""
    from fastnn.experiments import runners

    class Unreachable:
        def __init__(self, scheduler, workers=None):
            raise ConnectionError(f"cannot reach the Dask scheduler at {scheduler}")

    monkeypatch.setattr(runners, "DaskRunner", Unreachable)
    out = tmp_path / "r.h5"
    spec = {"recipe": "linear-classifier", "seeds": [0, 1]}
    with pytest.raises(ConnectionError):
        sweep(spec, out=out, scheduler="tcp://127.0.0.1:9", progress=False)
    assert not out.exists()
    sweep(dict(spec, seeds=[0]), out=out, progress=False)
    with pytest.raises(ConnectionError):
        sweep(spec, out=out, scheduler="tcp://127.0.0.1:9", progress=False)
    assert len(load(out)) == 1


def test_run_with_out_stores_once(tmp_path):
    out = tmp_path / "one.h5"
    a = experiments.run(REF, seed=5, out=out, n_steps=3)
    b = experiments.run(REF, seed=5, out=out, n_steps=3)       # already there: read back
    assert a.metrics == b.metrics and a.summary == b.summary
    np.testing.assert_array_equal(a.arrays["noise"], b.arrays["noise"])
    assert len(read_plain(out)) == 1


def test_load_round_trip(tmp_path, spec):
    out = tmp_path / "r.h5"
    sweep(spec, out=out, progress=False)
    table = load(out)
    params = list(experiments.get("toy").params)
    assert list(table.columns[:5]) == ["run_id", "recipe", "seed", "status", "error"]
    assert set(params) <= set(table.columns)
    assert {"loss", "weight_norm", "wall_seconds", "compile_seconds", "metric_n_steps"} <= set(table.columns)
    assert len(table) == 6 and table.run_id.is_unique and (table.status == "done").all()
    assert sorted(table.seed) == [0, 0, 1, 1, 2, 2]
    assert set(table.learning_rate) == {0.1, 0.3} and (table["shape"] == "[2, 2]").all()
    for row in table.itertuples():
        run = load_run(out, row.run_id)
        assert run["metrics"]["loss"] == row.loss
        assert run["params"]["learning_rate"] == row.learning_rate and run["seed"] == row.seed
    curves = load_curves(out, "loss")
    assert list(curves) == list(table.run_id) and all(len(c) == 15 for c in curves.values())
    assert load_curves(out, "missing") == {}


def test_load_without_pandas_gives_a_structured_array(tmp_path, spec, monkeypatch):
    out = tmp_path / "r.h5"
    sweep(spec, out=out, progress=False)
    frame = load(out)
    monkeypatch.setitem(sys.modules, "pandas", None)
    table = load(out)
    assert isinstance(table, np.ndarray) and table.dtype.names == tuple(frame.columns)
    assert len(table) == 6 and table["seed"].dtype == np.int64
    np.testing.assert_array_equal(table["loss"], frame["loss"].to_numpy())
    assert set(table["status"]) == {"done"}


def test_in_memory_sweep_matches_the_file(tmp_path, spec):
    memory = sweep(spec, progress=False)
    assert isinstance(memory.store, MemoryStore)
    sweep(spec, out=tmp_path / "r.h5", progress=False)
    on_disk = read_plain(tmp_path / "r.h5")
    for run_id in memory.run_ids:
        assert_same_run(memory.store.read_run(run_id), on_disk[run_id])
    assert list(load(memory.store).run_id) == memory.run_ids
