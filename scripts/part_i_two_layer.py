"""Part I of the article: a 3-4-1 network without biases, full-batch gradient steps.

Runs the ``two-layer`` sweep (``sweeps/two_layer.toml``: 1500 full-batch
steps over many seeds), stores every run in a results file in ``--out-dir``
(re-running resumes it), prints the loss at the start and the end (mean and
spread over seeds), how often the loss rose, and draws the loss curve: the
mean over seeds with a band of one standard deviation.

Usage::

    python scripts/part_i_two_layer.py [--out-dir part_i] [--workers N] [--quick]
        [--sweep FILE.toml]
"""
import argparse
import dataclasses
import os

import numpy as np

from fastnn import experiments
from fastnn.cli import format_table
from fastnn.experiments.load import records

SWEEPS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sweeps")


def read_spec(parser, path, recipe, quick=None):
    """The checked sweep in ``path``; with ``quick`` = (seeds, fixed) a small version of it."""
    try:
        spec = experiments.parse_spec(path)
    except (ValueError, TypeError) as err:
        parser.error(str(err))
    if spec.recipe != recipe:
        parser.error(f"{path} is a sweep of recipe {spec.recipe!r}; this option needs {recipe!r}.")
    if quick:
        seeds, fixed = quick
        grid = {k: v[:2] for k, v in spec.grid.items() if k not in fixed}
        spec = dataclasses.replace(spec, seeds=seeds, grid=grid, fixed={**spec.fixed, **fixed})
    return spec


def run_sweep(spec, out_dir, workers, progress):
    """Run (or resume) ``spec`` into OUT_DIR/<sweep file name>.h5; its finished runs as dicts."""
    name = os.path.splitext(os.path.basename(spec.source))[0]
    out = os.path.join(out_dir, name + ".h5")
    report = experiments.sweep(spec, out=out, workers=workers, progress=progress)
    print(f"{out}: {len(report.run_ids)} runs ({report.done} run now, {report.skipped} already "
          f"stored, {report.failed} failed)")
    for run_id, error in report.errors.items():
        print(f"  failed {run_id}: {error.splitlines()[0] if error else ''}")
    wanted = set(report.run_ids)
    return out, [r for r in records(out) if r["run_id"] in wanted and r["status"] == "done"]


def groups(recs, keys):
    """{values of ``keys``: [runs]} in the sweep's order."""
    out = {}
    for rec in recs:
        out.setdefault(tuple(rec[k] for k in keys), []).append(rec)
    return out


def values(runs, metric):
    return np.array([r[metric] for r in runs], dtype=float)


def have_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("matplotlib is not installed: no pictures (pip install 'fastnn[plot]')")
        return False
    return True


KEYS = ["hidden", "learning_rate", "iterations"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", help="results file and picture (default part_i, "
                        "part_i_quick with --quick)")
    parser.add_argument("--workers", type=int, help="local worker processes (default: in process)")
    parser.add_argument("--quick", action="store_true", help="few seeds and steps, a smoke test")
    parser.add_argument("--sweep", default=os.path.join(SWEEPS, "two_layer.toml"))
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    args.out_dir = args.out_dir or ("part_i_quick" if args.quick else "part_i")
    os.makedirs(args.out_dir, exist_ok=True)

    quick = ([0, 1, 2], {"iterations": 300}) if args.quick else None
    spec = read_spec(parser, args.sweep, "two-layer", quick)
    out, recs = run_sweep(spec, args.out_dir, args.workers, not args.no_progress)
    rows = []
    for key, runs in groups(recs, KEYS).items():
        loss, err = values(runs, "loss"), values(runs, "max_abs_error")
        rows.append({**dict(zip(KEYS, key)), "runs": len(runs),
                     "initial_loss": values(runs, "initial_loss").mean(),
                     "final_loss": loss.mean(), "final_std": loss.std(),
                     "loss_rises": int(values(runs, "loss_increases").sum()),
                     "solved": f"{int((err < 0.1).sum())}/{len(runs)}"})
    print("\ntwo-layer: 3-4-1 sigmoid, no biases, full-batch steps; loss = mean of half squared "
          "errors; solved = every output within 0.1")
    print(format_table(rows, KEYS + ["runs", "initial_loss", "final_loss", "final_std",
                                     "loss_rises", "solved"]), end="\n\n")

    if not have_matplotlib():
        return 0
    from fastnn import plots
    path = plots.curves(out, "loss", os.path.join(args.out_dir, "two_layer_loss.png"), band="std",
                        title="part I: 3-4-1 network, loss (mean +/- std over seeds)")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    main()
