"""Sweeps: a recipe, grids of parameters and a list of seeds, written in TOML.

::

    recipe = "digits-mlp"        # a registered name, or "package.module:name"
    seeds = [0, 1, 2]

    [grid]                       # every combination of these lists
    learning_rate = [0.1, 0.3]
    n_hidden = [16, 32]

    [fixed]                      # the same for every run
    epochs = 200

Each (parameters, seed) point is one run; its id is a short hash of its
canonical configuration (recipe, every parameter with defaults filled in,
seed), so the same point has the same id in every sweep and on every machine.
Re-running a sweep on the same results file resumes it: finished runs are
skipped, failed and unfinished ones run again.
"""
import itertools
import math
import numbers
import os
import sys
import tomllib
from dataclasses import dataclass, field

import numpy as np

from .._progress import progress
from .runners import (MAX_SEED, Task, check_runner, configuration, coerce_param, make_runner,
                      recipe_ref, resolve_recipe, warm_up_all)
from .store import MemoryStore, StoreError, check_path, open_store

_KEYS = ("recipe", "seeds", "grid", "fixed")
# Runs a sweep may hold: listing a million runs takes about 15 s and 650 MB.
MAX_RUNS = 1_000_000


class SpecError(ValueError):
    """A sweep specification that cannot run."""


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) stopped a sweep; ``report`` (a SweepReport) says what was stored.

    Every run finished before it is stored; a run being written when it came
    is written first. Running the same sweep again resumes it.
    """

    def __init__(self, report):
        super().__init__("interrupted")
        self.report = report


@dataclass
class Spec:
    recipe: str                  # reference as written
    seeds: list
    grid: dict
    fixed: dict
    source: str = "the sweep"

    def tasks(self):
        """Every run of the sweep, in order (grid in the spec's order, seeds innermost)."""
        rec = resolve_recipe(self.recipe)
        names = list(self.grid)
        out = []
        for values in itertools.product(*(self.grid[n] for n in names)):
            params = dict(rec.params)
            params.update(self.fixed)
            params.update(zip(names, values))
            for seed in self.seeds:
                run_id, config = configuration(self.recipe, params, seed)
                out.append(Task(run_id, config, self.recipe, params, seed, len(out)))
        return out


def parse_spec(spec):
    """A checked ``Spec`` from a TOML path or a dict; SpecError (one line) otherwise."""
    source = "the sweep"
    if isinstance(spec, Spec):
        return spec
    if isinstance(spec, (str, os.PathLike)):
        source = os.fspath(spec)
        try:
            with open(source, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise SpecError(f"sweep file {source} does not exist.") from None
        except tomllib.TOMLDecodeError as err:
            raise SpecError(f"{source} is not valid TOML: {err}.") from None
        except UnicodeDecodeError as err:   # (an HDF5 file, say: UTF-8's error named no file)
            raise SpecError(f"{source} is not valid TOML: not a text file in UTF-8 (byte "
                            f"{err.start} is {err.object[err.start:err.start + 1]!r}).") from None
        except OSError as err:
            raise SpecError(f"cannot read sweep file {source}: {err.strerror or err}.") from None
    elif isinstance(spec, dict):
        data = spec
    else:
        raise TypeError(f"spec must be a path to a TOML file or a dict; got {type(spec).__name__}.")

    def fail(message, kind=SpecError):
        raise kind(f"{source}: {message}")

    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        fail(f"unknown key {unknown[0]!r}; a sweep has the keys {list(_KEYS)}.")
    if "recipe" not in data:
        fail("missing key 'recipe' (the recipe to run, e.g. recipe = \"xor-bp\").")
    if not isinstance(data["recipe"], str):
        fail(f"recipe must be a str; got {type(data['recipe']).__name__} {data['recipe']!r}.")
    try:
        rec = resolve_recipe(data["recipe"])
    except ValueError as err:
        fail(str(err))
    ref = recipe_ref(data["recipe"])

    seeds = data.get("seeds", [0])
    if not isinstance(seeds, (list, tuple)) or not seeds:
        fail(f"seeds must be a non-empty list of ints; got {seeds!r}.")
    for i, seed in enumerate(seeds):   # (NumPy ints too: list(np.arange(3)), as the grid takes them)
        if (isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral)
                or not 0 <= seed <= MAX_SEED):
            fail(f"seeds[{i}] must be an int in [0, {MAX_SEED}]; got {type(seed).__name__} {seed!r}.")
    seeds = [int(seed) for seed in seeds]
    if len(set(seeds)) != len(seeds):
        fail(f"seeds has duplicates: {seeds}.")

    tables = {}
    for key in ("grid", "fixed"):
        table = data.get(key, {})
        if not isinstance(table, dict):
            fail(f"[{key}] must be a table (parameter = value); got {type(table).__name__}.")
        for name in table:
            if name not in rec.params:
                fail(f"[{key}] names {name!r}, but recipe {rec.name!r} has no such parameter; "
                     f"its parameters are {sorted(rec.params)}.")
        tables[key] = table
    both = sorted(set(tables["grid"]) & set(tables["fixed"]))
    if both:
        fail(f"parameter {both[0]!r} is in both [grid] and [fixed].")

    grid = {}
    for name, values in tables["grid"].items():
        if not isinstance(values, list) or not values:
            fail(f"grid.{name} must be a non-empty list of values; got {values!r}.")
        checked = []
        for i, value in enumerate(values):
            try:
                checked.append(coerce_param(rec, name, value, where=f"grid.{name}[{i}]"))
            except (TypeError, ValueError) as err:
                fail(str(err), type(err) if isinstance(err, TypeError) else SpecError)
        keys = [repr(v) for v in checked]
        if len(set(keys)) != len(keys):
            fail(f"grid.{name} has duplicates: {values}.")
        grid[name] = checked
    n_runs = math.prod(len(values) for values in grid.values()) * len(seeds)
    if n_runs > MAX_RUNS:   # (10**9 points listed nothing for minutes, then ran out of memory)
        sizes = " x ".join([f"{len(v)} {n}" for n, v in grid.items()] + [f"{len(seeds)} seeds"])
        fail(f"the sweep has {n_runs:,} runs ({sizes}), more than the {MAX_RUNS:,} a sweep may "
             "hold; split it into several sweeps, each with its own results file.")
    fixed = {}
    for name, value in tables["fixed"].items():
        try:
            fixed[name] = coerce_param(rec, name, value, where=f"fixed.{name}")
        except (TypeError, ValueError) as err:
            fail(str(err), type(err) if isinstance(err, TypeError) else SpecError)
    # the recipe's own checks of every point (a negative count, a noise < 0...), before any run
    for values in itertools.product(*grid.values()):
        params = dict(rec.params, **fixed)
        params.update(zip(grid, values))
        try:
            rec.check_params(params)
        except (TypeError, ValueError) as err:
            fail(str(err), type(err) if isinstance(err, TypeError) else SpecError)
    return Spec(ref, list(seeds), grid, fixed, source)


@dataclass
class SweepReport:
    """What a sweep did. ``store`` is the results store (a MemoryStore when out=None)."""
    path: object
    store: object
    run_ids: list
    done: int = 0
    skipped: int = 0
    failed: int = 0
    errors: dict = field(default_factory=dict)


def _progress(total, desc, enabled):
    # (fastnn._progress: a forked sweep killed inside its bar cannot hang this one)
    return progress(auto=False, total=total, desc=desc, unit="run", disable=not enabled,
                    file=sys.stderr, dynamic_ncols=True)


def sweep(spec, out=None, workers=None, scheduler=None, progress=True, kind="sweep"):
    """Run every (parameters, seed) point of ``spec`` and store them in ``out``.

    spec : path to a TOML file, or a dict with the same keys.
    out : path of the HDF5 results file (created, or resumed when it holds a
        sweep of the same recipe); None keeps the results in memory.
    workers : int, local worker processes (None: in this process).
    scheduler : a Dask scheduler address ("tcp://host:8786") or "local".
    progress : show a tqdm progress bar on stderr.

    Every check (spec, recipe, parameters, output file) happens before any
    run starts. Returns a ``SweepReport``.
    """
    spec = parse_spec(spec)
    tasks = spec.tasks()
    check_runner(workers, scheduler)
    if out is None:
        store, created = MemoryStore(kind, spec.recipe), False
    else:
        check_path(out, "out")
        created = not os.path.lexists(out)
        store = open_store(out, kind=kind, recipe=spec.recipe)
    try:
        report = _run_tasks(tasks, store, out, workers, scheduler, progress,
                            desc=os.path.basename(os.fspath(out)) if out is not None else spec.recipe)
    except BaseException:
        _close_after_error(store, created)
        raise
    store.close()
    return report


def _close_after_error(store, created):
    """Close ``store`` after an error; a file this sweep created and stored no run
    in (an unreachable scheduler, a Ctrl-C during the warm-ups) is removed."""
    try:
        empty = created and not store.statuses()
    except BaseException:
        empty = False
    try:
        store.close()
    except BaseException:  # the error in flight says more
        return
    if empty:
        try:
            os.unlink(store.path)
        except OSError:
            pass


def _run_tasks(tasks, store, out, workers, scheduler, progress, desc):
    """Resume-aware loop shared by ``sweep`` and ``fastnn reproduce``."""
    statuses = store.statuses()
    for run_id, status in statuses.items():
        if status == "running":           # left by a killed sweep: run it again
            store.delete(run_id)
    wanted = {t.run_id for t in tasks}
    todo = []
    report = SweepReport(out, store, [t.run_id for t in tasks])
    for task in tasks:
        status = statuses.get(task.run_id)
        if status == "done":
            report.skipped += 1
            continue
        if status == "failed" and task.run_id in wanted:
            store.delete(task.run_id)
        todo.append(task)
    if not todo:
        return report
    bar = _progress(len(tasks), desc, progress)
    bar.update(report.skipped)
    status = _Status(bar, report)
    runner = None
    try:
        warm_up_all((t.recipe for t in todo), status.show)
        runner = make_runner(workers, scheduler)

        def on_start(t):
            store.begin(t.run_id, t.config, t.recipe, t.seed, t.order)
            status.show(t.recipe)

        for task, outcome in runner.map(todo, on_start):
            _store_outcome(store, task, outcome, report)
            bar.update(1)
            status.show(status.text)
    except KeyboardInterrupt:
        # the store defers Ctrl-C while it writes a run, so every run is whole;
        # the workers are ended at once (their runs may take minutes)
        bar.close()
        if runner is not None:
            runner.close(wait=False)
            runner = None
        try:   # the file says (the last run may be stored, Ctrl-C raised after its commit)
            wanted = set(report.run_ids)
            report.done = sum(status == "done" and run_id in wanted
                              for run_id, status in store.statuses().items()) - report.skipped
        except Exception:
            pass
        raise SweepInterrupted(report) from None
    finally:
        bar.close()
        if runner is not None:
            runner.close()
    return report


class _Status:
    """The bar's postfix: what runs (the recipe last started, or a warm-up, which
    takes minutes on a new machine) and how many runs failed. Redrawn only when
    it changes, not once a run: a sweep of small runs starts thousands."""

    def __init__(self, bar, report):
        self.bar, self.report = bar, report
        self.text, self.shown = "", None

    def show(self, text):
        self.text = text
        line = text + (f", failed={self.report.failed}" if self.report.failed else "")
        if line != self.shown:
            self.shown = line
            self.bar.set_postfix_str(line)


def _store_outcome(store, task, outcome, report):
    if outcome.result is not None:
        try:
            store.finish(task.run_id, outcome.result, outcome.attrs)
            report.done += 1
            return
        except StoreError as err:         # disk full: record it if possible, then stop
            try:
                store.fail(task.run_id, f"could not store the result: {err}", outcome.attrs)
            except Exception:
                pass
            raise
        except (ValueError, TypeError) as err:   # a result the store cannot hold
            outcome = type(outcome)(error=f"could not store the result: {err}", attrs=outcome.attrs)
        except OSError as err:
            outcome = type(outcome)(error=f"could not store the result: {err}", attrs=outcome.attrs)
    try:
        store.fail(task.run_id, outcome.error, outcome.attrs)
    except OSError as err:
        raise StoreError(f"stopped: could not write to {store.path}: {err}; the runs stored "
                         f"before are intact.") from err
    report.failed += 1
    report.errors[task.run_id] = outcome.error
