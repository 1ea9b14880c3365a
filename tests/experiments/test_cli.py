"""The fastnn command, through main([...])."""
import os
import subprocess
import sys

import h5py
import pytest
from hypothesis import given, settings, strategies as st
from toy_recipes import REF, read_plain

from fastnn.cli import MIN_WRAP, format_table, main, parse_value


def _sweep_file(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(f'recipe = "{REF}"\nseeds = [0, 1]\n[grid]\nlearning_rate = [0.1, 0.3]\n'
                    f'[fixed]\nn_steps = 12\n')
    return path


def _error(capsys, argv, match):
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fastnn: error: "), captured.err
    assert "Traceback" not in captured.err
    import re
    assert re.search(match, lines[0]), lines[0]


@pytest.mark.parametrize("text, default, expected", [
    ("3", 1, 3), ("0.5", 1.0, 0.5), ("1", 1.0, 1.0), ("true", False, True), ("No", True, False),
    ("hello", "a", "hello"), ("[16, 8]", (1, 2), (16, 8)), ("16,8", (1, 2), (16, 8)),
    ("0.1,0.2", [0.5], [0.1, 0.2]), ("", (1,), ()), ("[1, 2]", None, [1, 2]), ("abc", None, "abc"),
])
def test_set_values_take_the_type_of_the_default(text, default, expected):
    value = parse_value(text, default)
    assert value == expected and type(value) is type(expected)


def test_recipes_lists_parameters_and_defaults(capsys):
    assert main(["recipes"]) == 0
    out = capsys.readouterr().out
    assert "toy  [test]" in out and "    learning_rate = 0.1" in out and "    shape = [2, 2]" in out


def test_run_prints_metrics_and_stores(tmp_path, capsys):
    out = tmp_path / "one.h5"
    assert main(["run", REF, "--set", "n_steps=4", "--set", "shape=3,3", "--seed", "2",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "loss" in text and "wall_seconds" in text and f"stored in {out}" in text
    (run,) = read_plain(out).values()
    assert run["attrs"]["seed"] == 2 and run["arrays"]["confusion"].shape == (3, 3)


def test_sweep_show_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    spec, out = _sweep_file(tmp_path), tmp_path / "r.h5"
    assert main(["sweep", str(spec), "--out", str(out), "--no-progress"]) == 0
    assert "4 runs; 4 done now, 0 already done, 0 failed" in capsys.readouterr().out
    assert main(["sweep", str(spec), "--out", str(out), "--no-progress"]) == 0
    assert "0 done now, 4 already done" in capsys.readouterr().out
    assert main(["show", str(out)]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert shown[0].split()[:5] == ["run_id", "recipe", "seed", "status", "learning_rate"]
    assert "loss" in shown[0] and len(shown) == 2 + 4
    png = tmp_path / "loss.png"
    assert main(["plot", str(out), "--metric", "loss", "--out", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["plot", str(out), "--confusion", "confusion"]) == 0
    assert (tmp_path / "r-confusion.png").exists()


def test_reproduce_warms_several_recipes_up_side_by_side(tmp_path, capsys, monkeypatch):
    # Numba compiles on one thread: the warm-ups run first in worker processes, one
    # a core, then here, where a new machine's kernels are now in the disk cache
    import os

    import toy_recipes
    from fastnn.experiments import runners

    monkeypatch.chdir(tmp_path)
    marks = tmp_path / "marks"
    marks.mkdir()
    monkeypatch.setenv(toy_recipes.WARM_DIR, str(marks))
    monkeypatch.setattr(runners, "_cores", lambda: 2)
    assert main(["reproduce", "--only", "toy_recipes:toy-warm", "toy_recipes:toy-warm2",
                 "--no-progress"]) == 0
    ran = [path.name.rsplit(".", 1) for path in marks.iterdir()]
    here = str(os.getpid())
    for name in ("toy-warm", "toy-warm2"):
        where = [pid for recipe, pid in ran if recipe == name]
        assert len(where) == 2 and here in where and where[0] != where[1]   # a worker, then here
    assert 1 <= len({pid for _, pid in ran} - {here}) <= 2
    assert "results in fastnn-reproduce.h5" in capsys.readouterr().out


def test_compile_runs_the_warm_ups_side_by_side_then_here(tmp_path, capsys, monkeypatch):
    import os

    import toy_recipes
    from fastnn.experiments import runners

    marks = tmp_path / "marks"
    marks.mkdir()
    monkeypatch.setenv(toy_recipes.WARM_DIR, str(marks))
    monkeypatch.setattr(runners, "_cores", lambda: 2)
    assert main(["compile", "toy_recipes:toy-warm", "toy_recipes:toy-warm2", REF]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("compiled side by side in 2 processes: ")
    assert out[1].startswith("toy_recipes:toy-warm: ready (") and out[2].startswith(
        "toy_recipes:toy-warm2: ready (")
    assert out[3] == f"{REF}: no warm-up (it compiles as it runs)"
    assert out[4].startswith("kernels cached in ")
    ran = [path.name.rsplit(".", 1) for path in marks.iterdir()]
    for name in ("toy-warm", "toy-warm2"):
        where = [pid for recipe, pid in ran if recipe == name]
        assert len(where) == 2 and str(os.getpid()) in where and where[0] != where[1]
    assert main(["compile", "nope"]) == 2
    assert "unknown recipe 'nope'" in capsys.readouterr().err


def test_reproduce_table_and_resume(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["reproduce", "--only", REF, "--quick", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "the article shows" in out and "the loss falls towards the noise level" in out
    assert "loss 0." in out                                       # Result.summary
    with h5py.File(tmp_path / "fastnn-reproduce.h5", "r") as f:
        assert f.attrs["kind"] == "reproduce"
        (run_id,) = list(f["runs"])
        assert '"n_steps":5' in f["runs"][run_id].attrs["config"]    # the quick settings
    assert main(["reproduce", "--only", REF, "--quick", "--no-progress"]) == 0   # resumes
    assert len(read_plain(tmp_path / "fastnn-reproduce.h5")) == 1


def test_show_of_several_recipes_gives_each_its_section(tmp_path, capsys, monkeypatch):
    """A reproduce file holds one run of each recipe: show lists each recipe's
    run down the page, with its own metrics only (one table of every recipe's
    columns was hundreds of characters a line)."""
    monkeypatch.chdir(tmp_path)
    assert main(["reproduce", "--only", REF, "toy_recipes:toy-numba", "--quick",
                 "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["show", "fastnn-reproduce.h5"]) == 0
    toy, numba_toy = capsys.readouterr().out.split("\n\n")
    assert toy.splitlines()[0] == f"{REF}: 1 run"
    assert numba_toy.splitlines()[0] == "toy_recipes:toy-numba: 1 run"
    toy, numba_toy = ([line.split()[0] for line in part.splitlines()[3:]]
                      for part in (toy, numba_toy))
    assert toy[:3] == numba_toy[:3] == ["run_id", "seed", "status"]
    assert "weight_norm" in toy and "value" not in toy
    assert "value" in numba_toy and "weight_norm" not in numba_toy


def test_show_mean_gives_a_row_per_configuration_over_its_seeds(tmp_path, capsys):
    """show --mean: a row per configuration (learning rate x fail, the
    parameters that vary), the number of finished runs and each metric's mean
    +- sample standard deviation over the seeds; configurations whose runs all
    failed have no row."""
    import numpy as np
    from fastnn.cli import _fmt
    from fastnn.experiments import load
    spec, out = _sweep_file(tmp_path), tmp_path / "r.h5"
    spec.write_text(spec.read_text().replace("seeds = [0, 1]", "seeds = [0, 1, 2]")
                    .replace("learning_rate = [0.1, 0.3]", "learning_rate = [0.1, 0.3]\nfail = [false, true]"))
    assert main(["sweep", str(spec), "--out", str(out), "--no-progress"]) == 1   # 6 failed
    capsys.readouterr()
    assert main(["show", str(out), "--mean"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("failed ")]
    header = lines[0].split()
    assert sorted(header[:2]) == ["fail", "learning_rate"] and header[2:4] == ["runs", "compile_seconds"]
    assert len(lines) == 2 + 2
    table = load(out)
    for line in lines[2:]:
        cells = dict(zip(header[:3], line.split()[:3]))
        lr, fail, runs = cells["learning_rate"], cells["fail"], cells["runs"]
        assert fail == "False"
        losses = table[(table.learning_rate == float(lr)) & (table.status == "done")].loss.to_numpy()
        assert int(runs) == len(losses) == 3
        assert f"{_fmt(float(np.mean(losses)))} ± {_fmt(float(np.std(losses, ddof=1)))}" in line


def test_mean_over_seeds_leaves_out_what_is_not_a_finite_number():
    from fastnn.cli import _over_seeds
    runs = [{"status": "done", "lr": 0.1, "score": v, "name": "a"} for v in (1.0, 3.0, float("nan"))]
    runs += [{"status": "failed", "lr": 0.1, "score": 100.0},
             {"status": "done", "lr": 0.2, "score": float("inf"), "name": "b"}]
    rows = _over_seeds(runs, ["lr"], ["score", "name"])
    assert rows[0] == {"lr": 0.1, "runs": 3, "score": (2.0, 2.0 ** 0.5)}
    assert rows[1] == {"lr": 0.2, "runs": 1}


def test_show_sorts_by_a_column(tmp_path, capsys):
    """--sort orders the runs (or, with --mean, the configurations by their
    means), smallest first; --reverse largest first; an unknown column is a
    one-line error naming the columns there are."""
    spec, out = _sweep_file(tmp_path), tmp_path / "r.h5"
    spec.write_text(spec.read_text().replace("seeds = [0, 1]", "seeds = [0, 1, 2]"))
    assert main(["sweep", str(spec), "--out", str(out), "--no-progress"]) == 0
    capsys.readouterr()

    def column(argv, name):
        assert main(["show", str(out)] + argv) == 0
        lines = capsys.readouterr().out.splitlines()
        at = lines[0].split().index(name)
        return [float(line.split()[at]) for line in lines[2:]]

    losses = column(["--sort", "loss"], "loss")
    assert len(losses) == 6 and losses == sorted(losses)
    assert column(["--sort", "loss", "--reverse"], "loss") == sorted(losses, reverse=True)
    means = column(["--mean", "--sort", "loss", "--reverse"], "loss")   # the mean, before its ±
    assert len(means) == 2 and means == sorted(means, reverse=True)
    assert column(["--sort", "learning_rate"], "learning_rate") == [0.1] * 3 + [0.3] * 3
    _error(capsys, ["show", str(out), "--sort", "nope"],
           "--sort nope: no such column in .*; its columns are array_size, compile_seconds, .*loss")


def test_show_into_a_closed_pipe_stops_quietly(tmp_path, subprocess_env):
    """fastnn show f.h5 | head: the reader goes away; no error message, the
    status a shell gives a process ended by SIGPIPE."""
    spec, out = _sweep_file(tmp_path), tmp_path / "r.h5"
    assert main(["sweep", str(spec), "--out", str(out), "--no-progress"]) == 0
    proc = subprocess.Popen([sys.executable, "-m", "fastnn.cli", "show", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=subprocess_env)
    proc.stdout.close()                     # before the command writes its table
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141 and err == b""


@pytest.mark.parametrize("argv, match", [
    (["run", "nope"], "unknown recipe 'nope'"),
    (["run", REF, "--set", "n_steps=abc"], "--set n_steps: expected an int; got 'abc'"),
    (["run", REF, "--set", "bogus=1"], "recipe 'toy' has no parameter 'bogus'"),
    (["run", REF, "--set", "n_steps"], "--set expects key=value"),
    (["show", "missing.h5"], "missing.h5 does not exist"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["sweep", "s.toml"], "the following arguments are required: --out"),
    (["reproduce", "--only", "nope"], "unknown recipe 'nope'"),
    # a recipe's values, checked under their names (not "negative dimensions are not allowed")
    (["run", "linear-classifier", "--set", "n_points=-5"], r"n_points must be an int >= 1; got -5\.$"),
    (["run", "linear-classifier", "--set", "noise=-1"], r"noise must be a finite float >= 0\.0; got -1\.0"),
    (["run", "linear-classifier", "--seed", str(2**65)], r"seed must be an int in \[0, 4294967295\]"),
    # an empty --out ("[Errno 2] No such file or directory: '/tmp/..x.tmp' -> ''")
    (["run", "linear-classifier", "--out", ""], r"--out must name a file, such as results.h5; got ''"),
    (["sweep", "s.toml", "--out", ""], r"--out must name a file, such as results.h5; got ''"),
    (["reproduce", "--out", ""], r"--out must name a file, such as results.h5; got ''"),
])
def test_user_mistakes_are_one_line_and_exit_2(capsys, argv, match, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _error(capsys, argv, match)


def test_not_a_results_file_and_unwritable_out(tmp_path, capsys):
    spec = _sweep_file(tmp_path)
    _error(capsys, ["sweep", str(spec), "--out", str(spec), "--no-progress"],
           "s.toml is not an HDF5 file, not a fastnn results file; fastnn will not overwrite it")
    assert spec.read_text().startswith("recipe")
    _error(capsys, ["show", str(spec)], "not a fastnn results file")
    (tmp_path / "afile").write_text("")
    _error(capsys, ["sweep", str(spec), "--out", str(tmp_path / "afile" / "r.h5")],
           "cannot write results to .*does not exist")
    _error(capsys, ["sweep", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "r.h5")],
           "sweep file .*nope.toml does not exist")
    bad = tmp_path / "bad.toml"
    bad.write_text("recipe = \n")
    _error(capsys, ["sweep", str(bad), "--out", str(tmp_path / "r.h5")], "is not valid TOML")


def test_paths_that_are_not_files_are_one_line_errors(tmp_path, capsys):
    """An --out ending in '/' (the error named the store's temporary file), and
    show or plot of a named pipe or a directory (show hung on a pipe)."""
    spec = _sweep_file(tmp_path)
    _error(capsys, ["sweep", str(spec), "--out", str(tmp_path / "r.h5") + "/", "--no-progress"],
           r"--out .*r\.h5/ ends with '/', as a directory does; give a file name such as results\.h5\.")
    _error(capsys, ["run", REF, "--out", "r.h5/"], r"--out r\.h5/ ends with '/'")
    assert not (tmp_path / "r.h5").exists()
    fifo = tmp_path / "fifo.h5"
    os.mkfifo(fifo)
    for command in (["show", str(fifo)], ["plot", str(fifo)], ["show", str(tmp_path)]):
        _error(capsys, command, r"is not a results file: it is (not a regular file|a directory)\.")


def test_plot_names_the_file_it_wrote(tmp_path, capsys):
    """--out without an extension: matplotlib writes NAME.png, and plot said 'wrote NAME'."""
    pytest.importorskip("matplotlib")
    spec, out = _sweep_file(tmp_path), tmp_path / "r.h5"
    assert main(["sweep", str(spec), "--out", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["plot", str(out), "--out", str(tmp_path / "noext")]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {tmp_path / 'noext.png'}"
    assert (tmp_path / "noext.png").exists() and not (tmp_path / "noext").exists()


def test_memory_error_is_one_line(capsys, monkeypatch):
    """A network too large for memory (fastnn run xor-bp --set n_hidden=99999999999)
    printed a traceback."""
    from fastnn.experiments import runners

    def too_large(*args, **kwargs):
        raise MemoryError("hidden_layer_sizes=(99999999999,) with 2 features and 1 outputs "
                          "needs 2.9 TiB of weights and optimiser state: it does not fit in memory.")

    monkeypatch.setattr(runners, "run", too_large)
    assert main(["run", REF]) == 1
    err = capsys.readouterr().err
    assert err.startswith("fastnn: error: hidden_layer_sizes=(99999999999,)") and len(err.splitlines()) == 1


def test_more_workers_than_cores_get_a_warning(tmp_path, capsys, monkeypatch):
    """(40 workers on 2 cores took 58 s and 3.7 GB for a sweep 2 workers ran in 11 s.)"""
    sweep_module = sys.modules["fastnn.experiments.sweep"]
    started = []

    def sweep(spec, out, workers, scheduler, progress):
        started.append(workers)
        return sweep_module.SweepReport(out, None, [])

    monkeypatch.setattr(sweep_module, "sweep", sweep)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    spec, out = _sweep_file(tmp_path), tmp_path / "r.h5"
    assert main(["sweep", str(spec), "--out", str(out), "--no-progress", "--workers", "3"]) == 0
    assert ("fastnn: warning: --workers 3 starts more processes than this machine's 2 cores"
            in capsys.readouterr().err)
    assert main(["sweep", str(spec), "--out", str(out), "--no-progress", "--workers", "2"]) == 0
    assert "warning" not in capsys.readouterr().err
    assert started == [3, 2]


def test_workers_are_checked_before_anything_starts(tmp_path, capsys, monkeypatch):
    """--workers 0 or -1 with --scheduler local was all cores, or a Dask cluster that
    never came up (the sweep hung); reproduce checked it after creating its file
    and compiling the kernels."""
    from fastnn.experiments import runners

    def no_warm_up(*args, **kwargs):
        raise AssertionError("warmed up before --workers was checked")

    monkeypatch.setattr(runners, "DaskRunner", no_warm_up)
    monkeypatch.setattr(sys.modules["fastnn.experiments.sweep"], "warm_up_all", no_warm_up)
    spec, out = _sweep_file(tmp_path), tmp_path / "r.h5"
    for workers in ("0", "-1"):
        _error(capsys, ["sweep", str(spec), "--out", str(out), "--scheduler", "local",
                        "--workers", workers], rf"workers must be an int >= 1; got {workers}\.")
    _error(capsys, ["reproduce", "--only", REF, "--out", str(out), "--workers", "-1"],
           r"workers must be an int >= 1; got -1\.")
    assert not out.exists()


def test_malformed_scheduler_leaves_no_results_file(tmp_path, capsys):
    pytest.importorskip("distributed")
    spec, out = _sweep_file(tmp_path), tmp_path / "r.h5"
    _error(capsys, ["sweep", str(spec), "--out", str(out), "--scheduler", "garbage",
                    "--no-progress"],
           r"scheduler must be an address like 'tcp://host:8786' or 'local'; got 'garbage'")
    assert not out.exists()


def test_reproduce_runs_a_recipe_named_twice_once(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["reproduce", "--only", REF, REF, "--quick", "--no-progress"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert sum(line.startswith("toy ") for line in table) == 1, table
    assert len(read_plain(tmp_path / "fastnn-reproduce.h5")) == 1


def test_errors_are_worded_for_the_command(tmp_path, capsys):
    """show has no --out ("Pick another --out"); plot into a missing directory was
    a bare "[Errno 2]" with status 1."""
    text = tmp_path / "txt.h5"
    text.write_text("hello\n")
    _error(capsys, ["show", str(text)], r"txt\.h5 is not an HDF5 file, not a fastnn results file\.$")
    spec, out = _sweep_file(tmp_path), tmp_path / "r.h5"
    assert main(["sweep", str(spec), "--out", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    missing = tmp_path / "missing" / "x.png"
    for extra in ([], ["--confusion", "confusion"]):
        _error(capsys, ["plot", str(out), "--out", str(missing), *extra],
               rf"cannot write {missing}: the directory {missing.parent} does not exist\.")
    _error(capsys, ["plot", str(out), "--out", ""], r"--out must name a file, such as curves.png")


@pytest.mark.parametrize("command", ["recipes", "run", "sweep", "show", "plot", "reproduce",
                                     "compile"])
def test_help_on_every_command(capsys, command):
    assert main([command, "--help"]) == 0
    assert f"usage: fastnn {command}" in capsys.readouterr().out


def test_format_table():
    text = format_table([{"a": 1, "b": 0.5}, {"a": 22, "b": float("nan")}], ["a", "b"])
    assert text.splitlines() == ["a   b  ", "--  ---", "1   0.5", "22     "]


def _cells_of(text, columns):
    """The table's physical lines cut at its columns (widths from the dashes), and
    each row's cells with their lines joined; checks the two-space gaps."""
    lines = text.split("\n")
    widths = [len(d) for d in lines[1].split("  ")]
    assert len(widths) == len(columns)
    starts = [sum(widths[:k]) + 2 * k for k in range(len(widths))]
    rows, current = [], None
    for line in lines[2:]:
        if not line.strip():
            current = None
            continue
        for k in starts[1:]:
            assert line[k - 2:k] in ("  ", " ", ""), (line, k)
        parts = [line[k:k + w].strip() for k, w in zip(starts, widths)]
        if current is None or parts[0]:
            current = [[] for _ in columns]
            rows.append(current)
        for cell, part in zip(current, parts):
            if part:
                cell.append(part)
    return widths, rows


_words = st.text(st.sampled_from("abcdefghij.,:[]0123"), min_size=1, max_size=30)


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(st.lists(_words, min_size=1, max_size=40).map(" ".join), min_size=1,
                      max_size=5),
       width=st.integers(40, 200))
def test_format_table_wraps_to_the_width_and_keeps_every_character(texts, width):
    """The reproduce table (recipe, two long text columns): no line is wider than
    ``width`` when the columns' floors fit in it, and each cell's text reads back
    whole and in order, its words only broken where a word is wider than its
    column."""
    rows = [{"recipe": f"r{k}", "the article shows": t, "fastnn got": t[::-1]}
            for k, t in enumerate(texts)]
    columns = ["recipe", "the article shows", "fastnn got"]
    text = format_table(rows, columns, width=width)
    widths, got = _cells_of(text, columns)
    natural = [max(len(c), *(len(str(r[c])) for r in rows)) for c in columns]
    floors = [max(len(c), min(w, MIN_WRAP)) for c, w in zip(columns, natural)]
    fits = sum(floors) + 2 * (len(columns) - 1) <= width
    if fits:
        assert all(len(line) <= width for line in text.split("\n"))
    assert len(got) == len(rows)
    for row, cells in zip(rows, got):
        for c, cell in zip(columns, cells):
            assert "".join(cell).replace(" ", "") == row[c].replace(" ", "")
    # only what must be narrowed is: a table that fits as it is, or cannot fit,
    # is laid out as without a width
    plain = format_table(rows, columns)
    if max(len(line) for line in plain.split("\n")) <= width or not fits:
        assert text == plain
    else:
        assert min(widths[1:]) >= min(MIN_WRAP, len("the article shows"))


def test_format_table_leaves_short_columns_and_a_table_that_cannot_fit():
    rows = [{"id": "abc123", "note": "word " * 30, "value": 0.5}]
    text = format_table(rows, ["id", "note", "value"], width=50)
    lines = text.split("\n")
    assert lines[0].split() == ["id", "note", "value"]
    assert lines[2].startswith("abc123  ") and lines[2].rstrip().endswith("0.5")
    assert all(len(line) <= 50 for line in lines)
    assert len(lines) > 3                        # the note wrapped onto more lines
    assert format_table(rows, ["id", "note", "value"], width=20) == format_table(
        rows, ["id", "note", "value"])           # a line a row where the floors overflow
    floor = format_table(rows, ["id", "note", "value"], width=6 + 2 + MIN_WRAP + 2 + 5)
    assert len(floor.split("\n")[1]) == 6 + 2 + MIN_WRAP + 2 + 5
