"""The ``fastnn`` command.

::

    fastnn recipes                                   list recipes with their parameters
    fastnn run RECIPE --set key=value ... [--seed N] [--out FILE]
    fastnn sweep SPEC.toml --out FILE [--workers N | --scheduler ADDRESS|local]
    fastnn show FILE                                 runs, status and metrics
    fastnn plot FILE --metric loss [--out PNG]       curves: mean and spread over seeds
    fastnn reproduce [--out FILE] [--only NAME ...] [--quick]
    fastnn compile [NAME ...]                        the recipes' kernels into the disk cache

A user mistake (unknown recipe, bad --set, unwritable --out, a file that is
not a results file...) prints one line ``fastnn: error: ...`` on stderr and
exits with status 2. Ctrl-C stops a sweep once the run being written is
stored, prints one line saying how many runs are, and exits with status 130;
the same command resumes it.
"""
import argparse
import json
import math
import os
import shutil
import sys
import textwrap

import numpy as np

REPRODUCE_OUT = "fastnn-reproduce.h5"


class UserError(Exception):
    """A mistake the user can fix: reported as one line, exit status 2."""


# --------------------------------------------------------------------------
# parsing --set values

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _scalar(text, like, name):
    if isinstance(like, bool):
        low = text.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise UserError(f"--set {name}: expected a bool (true/false); got {text!r}.")
    if isinstance(like, int):
        try:
            return int(text)
        except ValueError:
            raise UserError(f"--set {name}: expected an int; got {text!r}.") from None
    if isinstance(like, float):
        try:
            return float(text)
        except ValueError:
            raise UserError(f"--set {name}: expected a float; got {text!r}.") from None
    return text


def parse_value(text, default, name="value"):
    """``text`` converted to the type of ``default``.

    bool: true/false/yes/no/1/0; int; float; str as given; tuple or list as
    JSON (``[16, 8]``) or a comma list (``16,8``); a None default: JSON, else
    the text.
    """
    if isinstance(default, (tuple, list)):
        stripped = text.strip()
        if stripped.startswith("["):
            try:
                items = json.loads(stripped)
            except json.JSONDecodeError:
                raise UserError(f"--set {name}: {text!r} is not a JSON list.") from None
            if not isinstance(items, list):
                raise UserError(f"--set {name}: expected a list; got {text!r}.")
            return type(default)(items)
        like = default[0] if default else ""
        parts = [p for p in stripped.split(",") if p.strip()] if stripped else []
        return type(default)(_scalar(p.strip(), like, name) for p in parts)
    if default is None:
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text
    return _scalar(text, default, name)


def parse_sets(recipe, items):
    params = {}
    for item in items or []:
        if "=" not in item:
            raise UserError(f"--set expects key=value; got {item!r}.")
        key, value = item.split("=", 1)
        key = key.strip()
        if key not in recipe.params:
            raise UserError(f"recipe {recipe.name!r} has no parameter {key!r}; its parameters "
                            f"are {sorted(recipe.params)}.")
        params[key] = parse_value(value, recipe.params[key], key)
    return params


# --------------------------------------------------------------------------
# tables

def _fmt(value):
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
            return f"{value:.3e}"
        return f"{value:.4g}"
    return "" if value is None else str(value)


MIN_WRAP = 24   # a column of longer cells is narrowed to no less than this (or its title)


def terminal_width():
    """The terminal's width in characters (``COLUMNS`` when set; 100 when not a terminal)."""
    return shutil.get_terminal_size((100, 24)).columns


def _column_widths(widths, floors, width):
    """``widths`` narrowed to fit ``width`` characters with two-space gaps: the widest
    columns are cut to one common width, none below its floor; unchanged where
    the table fits as it is or the floors leave too little room."""
    room = width - 2 * (len(widths) - 1)
    if sum(widths) <= room or sum(floors) > room:
        return list(widths)
    cap = max(widths)
    while cap > 1 and sum(min(w, max(cap, f)) for w, f in zip(widths, floors)) > room:
        cap -= 1
    return [min(w, max(cap, f)) for w, f in zip(widths, floors)]


def format_table(rows, columns, width=None):
    """Fixed-width text table of dicts.

    With ``width`` (say ``terminal_width()``), a table wider than that has its
    widest columns narrowed, down to ``MIN_WRAP`` characters or the column's
    title, and their cells wrapped at spaces onto more lines; rows are then
    set apart by blank lines. A table that cannot fit so (many columns, as
    ``fastnn show`` of a file of several recipes) keeps a line a row.
    """
    cells = [[_fmt(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    if width is not None:
        floors = [max(len(c), min(w, MIN_WRAP)) for c, w in zip(columns, widths)]
        widths = _column_widths(widths, floors, width)
    out = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)),
           "  ".join("-" * w for w in widths)]
    wrapped = [[textwrap.wrap(v, w, break_on_hyphens=False) or [""] if len(v) > w else [v]
                for v, w in zip(r, widths)] for r in cells]
    apart = any(len(lines) > 1 for r in wrapped for lines in r)
    for k, r in enumerate(wrapped):
        if apart and k:
            out.append("")
        for i in range(max(len(lines) for lines in r)):
            out.append("  ".join((lines[i] if i < len(lines) else "").ljust(w)
                                 for lines, w in zip(r, widths)))
    return "\n".join(out)


# --------------------------------------------------------------------------
# commands

def cmd_recipes(args):
    from .experiments import registry
    names = registry.names()
    if not names:
        print("no recipes registered.")
        return 0
    for name in names:
        rec = registry.get(name)
        flag = "" if rec.reproduce else "  (not in reproduce)"
        print(f"{name}  [{rec.family}]{flag}")
        if rec.description:
            print(f"    {rec.description}")
        for key, value in rec.params.items():
            print(f"    {key} = {json.dumps(_jsonable(value))}")
    return 0


def _jsonable(value):
    from .experiments.registry import jsonable
    return jsonable(value)


def _recipe(name):
    from .experiments.runners import resolve_recipe
    return resolve_recipe(name)


def cmd_run(args):
    from .experiments.runners import run
    rec = _recipe(args.recipe)
    params = parse_sets(rec, args.set)
    out = args.out
    if out is not None:
        _check_out(out)
    result = run(args.recipe, seed=args.seed, out=out, **params)
    rows = [{"metric": k, "value": v} for k, v in result.metrics.items()]
    print(format_table(rows, ["metric", "value"], width=terminal_width()))
    if result.summary:
        print(result.summary)
    if out is not None:
        print(f"stored in {out}")
    return 0


def _check_out(out, example="results.h5"):
    if not out:
        raise UserError(f"--out must name a file, such as {example}; got ''.")
    if os.path.isdir(out):
        raise UserError(f"--out {out} is a directory; give a file name such as {example}.")
    if out.endswith(("/", os.sep)):   # (the error named the store's temporary file)
        raise UserError(f"--out {out} ends with {out[-1]!r}, as a directory does; give a file "
                        f"name such as {example}.")


def _picture_name(out):
    """--out of ``plot`` as matplotlib writes it: a name without an extension gets
    '.png' (``wrote noext`` named a file matplotlib had written as noext.png)."""
    return out if not out or os.path.splitext(out)[1] else f"{out}.png"


def _check_picture_out(out):
    """--out of ``plot`` (or its default): a file in a directory that can be written."""
    _check_out(out, "curves.png")
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise UserError(f"cannot write {out}: the directory {folder} does not exist.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserError(f"cannot write {out}: the directory {folder} is not writable.")


def cmd_sweep(args):
    from .experiments.sweep import sweep
    if args.workers is not None and args.scheduler not in (None, "local"):
        raise UserError("--workers sets the local worker count; with a remote --scheduler the "
                        "cluster's workers run the sweep. Give one of them.")
    _check_out(args.out)
    _warn_workers(args.workers)
    report = sweep(args.spec, out=args.out, workers=args.workers, scheduler=args.scheduler,
                   progress=not args.no_progress)
    print(f"{args.out}: {len(report.run_ids)} runs; {report.done} done now, {report.skipped} "
          f"already done, {report.failed} failed.")
    for run_id, error in report.errors.items():
        print(f"  failed {run_id}: {error.splitlines()[0] if error else ''}")
    return 1 if report.failed else 0


def _runs_table(recs, columns, metric_columns, width, mean=False, sort=None, reverse=False):
    """Runs as rows: ``columns``, the parameters that differ between them, the
    metrics; with ``mean``, a row per configuration instead (``_over_seeds``).
    ``sort``: a column to order the rows by (``reverse``: largest first); rows
    without a value come last."""
    skip = {"run_id", "recipe", "seed", "status", "error"} | set(metric_columns)
    keys = list(dict.fromkeys(k for rec in recs for k in rec if k not in skip))
    varying = [k for k in keys if len({json.dumps(rec.get(k), default=str) for rec in recs}) > 1]
    if mean:
        rows, shown = _over_seeds(recs, varying, metric_columns), varying + ["runs"] + metric_columns
    else:
        rows, shown = recs, columns + varying + metric_columns
    if sort is not None:
        rows = _sorted(rows, sort, reverse)
    if mean:
        rows = [{k: (f"{_fmt(v[0])} ± {_fmt(v[1])}" if v[1] is not None else _fmt(v[0]))
                 if isinstance(v, tuple) else v for k, v in row.items()} for row in rows]
    return format_table(rows, shown, width=width)


def _sorted(rows, column, reverse):
    """``rows`` ordered by ``column``: numbers (a mean for ``_over_seeds``' cells)
    before text, rows without a value (or NaN) last either way."""
    keyed, missing = [], []
    for row in rows:
        v = row.get(column)
        v = v[0] if isinstance(v, tuple) else v
        if v is None or (isinstance(v, float) and math.isnan(v)):
            missing.append(row)
        elif isinstance(v, (int, float, np.number)) and not isinstance(v, bool):
            keyed.append(((0, float(v), ""), row))
        else:
            keyed.append(((1, 0.0, str(v)), row))
    keyed.sort(key=lambda pair: pair[0], reverse=reverse)
    return [row for _, row in keyed] + missing


def _over_seeds(recs, varying, metric_columns):
    """A row per configuration (its values of the ``varying`` parameters) of the
    done runs: how many, and each metric's mean +- the sample standard
    deviation over them (the mean alone for one run; NaN and inf left out)."""
    groups = {}
    for rec in recs:
        if rec["status"] == "done":
            groups.setdefault(json.dumps([rec.get(k) for k in varying], default=str), []).append(rec)
    rows = []
    for runs in groups.values():
        row = {k: runs[0].get(k) for k in varying}
        row["runs"] = len(runs)
        for m in metric_columns:
            values = [float(r[m]) for r in runs if isinstance(r.get(m), (int, float, np.number))
                      and not isinstance(r.get(m), bool) and math.isfinite(r[m])]
            if values:   # (mean, std or None): formatted once sorted
                row[m] = (float(np.mean(values)),
                          float(np.std(values, ddof=1)) if len(values) > 1 else None)
        rows.append(row)
    return rows


def cmd_show(args):
    from .experiments.load import records
    recs, metric_columns = records(_existing(args.file), metric_columns=True)
    if not recs:
        print(f"{args.file}: no runs.")
        return 0
    groups = {}
    for rec in recs:
        groups.setdefault(rec["recipe"], []).append(rec)
    width = terminal_width()
    if args.sort is not None and not any(args.sort in rec for rec in recs) and not (
            args.mean and args.sort == "runs"):
        names = sorted({k for rec in recs for k in rec} - {"error"})
        raise UserError(f"--sort {args.sort}: no such column in {args.file}; its columns are "
                        f"{', '.join(names)}.")
    order = dict(sort=args.sort, reverse=args.reverse)
    if len(groups) == 1:
        print(_runs_table(recs, ["run_id", "recipe", "seed", "status"], metric_columns, width,
                          mean=args.mean, **order))
    else:   # (a reproduce file) a section a recipe, with its own parameters and metrics
        for k, (name, runs) in enumerate(groups.items()):
            mine = [c for c in metric_columns if any(c in rec for rec in runs)]
            print(("\n" if k else "") + f"{name}: {len(runs)} run{'s' if len(runs) > 1 else ''}")
            if len(runs) == 1:   # its metrics down the page
                rows = [{"field": c, "value": runs[0].get(c)} for c in ["run_id", "seed", "status"] + mine]
                print(format_table(rows, ["field", "value"], width=width))
            else:
                print(_runs_table(runs, ["run_id", "seed", "status"], mine, width, mean=args.mean,
                                  **order))
    for rec in recs:
        if rec["status"] == "failed":
            print(f"failed {rec['run_id']}: {(rec['error'] or '').splitlines()[0] if rec['error'] else ''}")
    return 0


def _warn_workers(workers):
    """A line on stderr when ``--workers`` asks for more processes than there
    are cores: each loads its own copy of the data and kernels, and they take
    turns on the cores (40 workers on 2 cores: 58 s and 3.7 GB against 11 s)."""
    cores = os.cpu_count() or 1
    if workers is not None and workers > cores:
        print(f"fastnn: warning: --workers {workers} starts more processes than this machine's "
              f"{cores} cores; they take turns on the cores, each with its own memory. "
              f"--workers {cores} is usually faster.", file=sys.stderr)


def _existing(path):
    if not os.path.exists(path):
        raise UserError(f"{path} does not exist.")
    if not os.path.isfile(path):   # (a named pipe hung the reader)
        raise UserError(f"{path} is not a results file: it is "
                        f"{'a directory' if os.path.isdir(path) else 'not a regular file'}.")
    return path


# picture name -> (the recipe whose runs have it, the arrays it needs)
PICTURES = {
    "hopfield-recall": ("hopfield-recall", ("noisy_probes", "noisy_recalled", "patterns", "shape")),
    "hopfield-capacity": ("hopfield-capacity", ()),
    "rbm-components": ("rbm-digits", ("components",)),
    "feature-maps": ("digits-cnn / mnist-cnn", ("example_image", "filters", "example_maps",
                                               "example_pooled")),
    "timing": ("timing", ("predictions",)),
}


def _picture(name, run, out):
    from . import plots
    a = run["arrays"]
    missing = [k for k in PICTURES[name][1] if k not in a]
    if missing:
        raise UserError(f"--picture {name} needs a run of {PICTURES[name][0]} with arrays "
                        f"{list(PICTURES[name][1])}; run {run['run_id']} ({run['recipe']}) lacks {missing}.")
    title = f"{run['recipe']} {run['run_id']}"
    if name == "hopfield-recall":
        plots.hopfield_recall(a["noisy_probes"], a["noisy_recalled"], a["patterns"],
                              tuple(int(v) for v in a["shape"]), out, title=title)
    elif name == "hopfield-capacity":
        from .plots_hopfield import curves_from_result
        curves = curves_from_result(a)
        if not curves:
            raise UserError(f"--picture hopfield-capacity needs a run of hopfield-capacity; run "
                            f"{run['run_id']} is {run['recipe']}.")
        loads = run["params"]["loads"]
        plots.hopfield_capacity(np.asarray(loads, dtype=float), curves, out, title=title)
    elif name == "rbm-components":
        plots.rbm_components(a["components"], out, title=title)
    elif name == "timing":
        try:
            plots.timing(run, out, title=title)
        except ValueError as error:  # a stored run without the timing curves
            raise UserError(f"--picture timing: {error}") from None
    else:
        from .plots_cnn import feature_maps_arrays
        feature_maps_arrays(a["example_image"], a["filters"], a["example_maps"], a["example_pooled"],
                            out, title=title)


def cmd_plot(args):
    from . import plots
    path = _existing(args.file)
    stem = os.path.splitext(path)[0]
    if args.picture:
        from .experiments.load import load_run, records
        run_ids = [args.run] if args.run else [r["run_id"] for r in records(path) if r["status"] == "done"]
        if not run_ids:
            raise UserError(f"{path} has no finished run.")
        out = _picture_name(args.out) if args.out is not None else f"{stem}-{args.picture}.png"
        _check_picture_out(out)
        _picture(args.picture, load_run(path, run_ids[0]), out)
    elif args.confusion:
        from .experiments.load import load_run, records
        run_ids = [args.run] if args.run else [r["run_id"] for r in records(path) if r["status"] == "done"]
        if not run_ids:
            raise UserError(f"{path} has no finished run.")
        run = load_run(path, run_ids[0])
        if args.confusion not in run["arrays"]:
            raise UserError(f"run {run_ids[0]} has no array {args.confusion!r}; it has "
                            f"{sorted(run['arrays'])}.")
        out = _picture_name(args.out) if args.out is not None else f"{stem}-{args.confusion}.png"
        _check_picture_out(out)
        plots.confusion_matrix(run["arrays"][args.confusion], None, out,
                               title=f"{run['recipe']} {run_ids[0]}")
    else:
        out = _picture_name(args.out) if args.out is not None else f"{stem}-{args.metric}.png"
        _check_picture_out(out)
        plots.curves(path, args.metric, out)
    print(f"wrote {out}")
    return 0


def cmd_reproduce(args):
    from .experiments import registry
    from .experiments.runners import (Task, check_runner, configuration, recipe_ref,
                                      resolve_params)
    from .experiments.store import open_store
    from .experiments.sweep import _run_tasks
    out = args.out if args.out is not None else REPRODUCE_OUT
    _check_out(out)
    check_runner(args.workers)              # before the file and the warm-ups
    _warn_workers(args.workers)
    if args.only:
        names = []
        for name in args.only:
            rec = _recipe(name)
            names.append(recipe_ref(name) if ":" in name else rec.name)
        names = list(dict.fromkeys(names))  # a recipe named twice runs once
    else:
        names = [n for n in registry.names() if registry.get(n).reproduce]
    if not names:
        raise UserError("no recipe is registered for reproduce.")
    tasks = []
    for name in names:
        rec = _recipe(name)
        params = resolve_params(rec, rec.quick if args.quick else {})
        rec.check_params(params)
        run_id, config = configuration(name, params, 0)
        tasks.append(Task(run_id, config, name, params, 0, len(tasks)))
    with open_store(out, kind="reproduce", recipe="") as store:
        report = _run_tasks(tasks, store, out, args.workers, None, not args.no_progress,
                            desc="reproduce")
        rows = []
        for task in tasks:
            rec = _recipe(task.recipe)
            run = store.read_run(task.run_id)
            status = run["attrs"].get("status")
            if status == "done":
                got = run["attrs"].get("summary") or _headline(rec, run["metrics"])
            else:
                got = f"{status}: {(run['attrs'].get('error') or '').splitlines()[0] if run['attrs'].get('error') else ''}"
            rows.append({"recipe": rec.name, "the article shows": rec.article, "fastnn got": got})
    print(format_table(rows, ["recipe", "the article shows", "fastnn got"],
                       width=terminal_width()))
    print(f"results in {out}")
    return 1 if report.failed else 0


def cmd_compile(args):
    """Compile (or load) the kernels of the recipes into Numba's disk cache: their
    warm-ups side by side, a recipe a core, then each here, which now loads."""
    import time

    from .experiments import registry
    from .experiments.runners import recipe_ref, warm_up_all
    names = ([recipe_ref(n) if ":" in n else _recipe(n).name for n in args.names]
             if args.names else registry.names())
    t0 = time.perf_counter()
    processes, side, here = warm_up_all(names)
    if processes:
        print(f"compiled side by side in {processes} processes: {side:.1f} s")
    for name in names:
        print(f"{name}: ready ({here[name]:.1f} s here)" if name in here
              else f"{name}: no warm-up (it compiles as it runs)")
    print(f"kernels cached in {time.perf_counter() - t0:.1f} s")
    return 0


def _headline(rec, metrics):
    if rec.headline and rec.headline in metrics:
        return f"{rec.headline} = {_fmt(metrics[rec.headline])}"
    shown = [(k, v) for k, v in metrics.items() if not k.endswith("_seconds")][:3]
    return ", ".join(f"{k} = {_fmt(v)}" for k, v in shown)


# --------------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UserError(f"{self.prog}: {message}" if self.prog != "fastnn" else message)


def build_parser():
    parser = _Parser(prog="fastnn", description="Classic neural networks as fast Numba kernels: "
                     "run the article's experiments, sweeps and reproductions.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("recipes", help="list the recipes with their parameters and defaults",
                       description="List every registered recipe with its parameters and defaults.")
    p.set_defaults(func=cmd_recipes)

    p = sub.add_parser("run", help="run one recipe", description="Run one recipe once and print "
                       "its metrics; --out stores the run in a results file.")
    p.add_argument("recipe", help="recipe name (see `fastnn recipes`) or package.module:name")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", default=[],
                   help="set a parameter (repeatable); lists as JSON [16,8] or 16,8")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", help="HDF5 results file to store the run in")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("sweep", help="run a sweep from a TOML file",
                       description="Run every (parameters, seed) point of a TOML sweep into one "
                       "HDF5 results file; re-running resumes it.")
    p.add_argument("spec", help="sweep file (TOML: recipe, seeds, [grid], [fixed])")
    p.add_argument("--out", required=True, help="HDF5 results file (created or resumed)")
    p.add_argument("--workers", type=int, help="local worker processes (with --scheduler local: "
                   "the local Dask cluster's workers)")
    p.add_argument("--scheduler", help="Dask scheduler address (tcp://host:8786), or 'local' to "
                   "start a Dask cluster on 127.0.0.1")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("show", help="show the runs of a results file",
                       description="Print the runs of a results file: status, the parameters "
                       "that vary, and the final metrics.")
    p.add_argument("file", help="HDF5 results file")
    p.add_argument("--mean", action="store_true",
                   help="a row per configuration: the number of finished runs and each metric's "
                        "mean ± standard deviation over them (the seeds)")
    p.add_argument("--sort", metavar="COLUMN", help="order the rows by this column (a metric or "
                   "parameter; with --mean, by the mean), smallest first")
    p.add_argument("--reverse", action="store_true", help="with --sort: largest first")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("plot", help="plot curves (mean and spread over seeds) to a PNG",
                       description="Draw a metric's curves from a results file, one line per "
                       "configuration with its spread over seeds; or a confusion matrix.")
    p.add_argument("file", help="HDF5 results file")
    p.add_argument("--metric", default="loss", help="curve to plot (default loss)")
    p.add_argument("--confusion", metavar="ARRAY", help="plot stored array ARRAY as a confusion matrix")
    p.add_argument("--picture", choices=sorted(PICTURES),
                   help="a model picture from a stored run: " + ", ".join(
                       f"{k} ({v[0]})" for k, v in sorted(PICTURES.items())))
    p.add_argument("--run", help="run id for --confusion or --picture (default: the first finished run)")
    p.add_argument("--out", help="PNG file (default: FILE-METRIC.png)")
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("reproduce", help="run every recipe of the article and compare",
                       description="Run every recipe of the article at seed 0 into one results "
                       "file (resumed if it exists) and print the article's result beside fastnn's.")
    p.add_argument("--out", help=f"HDF5 results file (default {REPRODUCE_OUT})")
    p.add_argument("--only", nargs="+", metavar="NAME", help="only these recipes")
    p.add_argument("--quick", action="store_true", help="shorter settings, for a smoke test")
    p.add_argument("--workers", type=int, help="local worker processes")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_reproduce)

    p = sub.add_parser("compile", help="compile the recipes' kernels into the disk cache",
                       description="Compile (or load) the kernels that the recipes (default: "
                       "all) run into Numba's disk cache, a recipe a core, so that later runs, "
                       "sweeps and reproduce start at once: for a new machine, a machine image, "
                       "or each node of a cluster before a sweep.")
    p.add_argument("names", nargs="*", metavar="NAME", help="only these recipes")
    p.set_defaults(func=cmd_compile)
    return parser


def _interrupted(err):
    """The line for Ctrl-C: what a sweep (or reproduce) had stored when it came."""
    report = getattr(err, "report", None)
    if report is None or report.path is None:
        return "fastnn: interrupted."
    stored = report.done + report.skipped
    return (f"fastnn: interrupted; {stored} of {len(report.run_ids)} runs are done and stored in "
            f"{report.path}. Run the same command again to resume.")


def main(argv=None):
    """Entry point of the ``fastnn`` command; returns the exit status."""
    from .experiments.store import StoreError
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return args.func(args)
    except SystemExit as exc:            # --help
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt as err:     # Ctrl-C: the runs stored are whole (the store defers it)
        print(_interrupted(err), file=sys.stderr)
        return 130                       # as a shell reports a process ended by SIGINT
    except (UserError, StoreError, ValueError, TypeError, KeyError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
        print(f"fastnn: error: {message}".splitlines()[0], file=sys.stderr)
        return 2
    except ImportError as err:
        print(f"fastnn: error: {err}".splitlines()[0], file=sys.stderr)
        return 2
    except (RuntimeError, MemoryError) as err:   # (a network too large: one line, not a traceback)
        print(f"fastnn: error: {err or type(err).__name__}".splitlines()[0], file=sys.stderr)
        return 1
    except BrokenPipeError:              # the reader went away (fastnn show f.h5 | head)
        try:                             # quietly: Python's flush at exit would fail again
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 141                       # as a shell reports a process ended by SIGPIPE
    except OSError as err:
        print(f"fastnn: error: {err}".splitlines()[0], file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
