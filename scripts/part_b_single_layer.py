"""Part B of the article: one layer fits a linearly separable target, not XOR.

Runs the ``single-layer`` sweep (``sweeps/single_layer.toml``: learning rates x
seeds), stores every run in a results file in ``--out-dir`` (re-running resumes
it), prints per learning rate how often each target was fitted (every output
within 0.1) and draws both loss curves (mean and range over seeds).

Usage::

    python scripts/part_b_single_layer.py [--out-dir part_b] [--workers N] [--quick]
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", help="results file and pictures (default part_b, "
                        "part_b_quick with --quick)")
    parser.add_argument("--workers", type=int, help="local worker processes (default: in process)")
    parser.add_argument("--quick", action="store_true", help="few seeds and iterations, a smoke test")
    parser.add_argument("--sweep", default=os.path.join(SWEEPS, "single_layer.toml"))
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    args.out_dir = args.out_dir or ("part_b_quick" if args.quick else "part_b")
    os.makedirs(args.out_dir, exist_ok=True)

    quick = ([0, 1], {"iterations": 2000}) if args.quick else None
    spec = read_spec(parser, args.sweep, "single-layer", quick)
    out, recs = run_sweep(spec, args.out_dir, args.workers, not args.no_progress)
    rows = []
    for (lr, iterations), runs in groups(recs, ["learning_rate", "iterations"]).items():
        linear, xor = values(runs, "linear_max_abs_error"), values(runs, "xor_max_abs_error")
        rows.append({"learning_rate": lr, "iterations": iterations, "runs": len(runs),
                     "linear_fitted": f"{int((linear < 0.1).sum())}/{len(runs)}",
                     "linear_max_error": linear.mean(),
                     "xor_fitted": f"{int((xor < 0.1).sum())}/{len(runs)}",
                     "xor_max_error": xor.mean()})
    print("\nsingle-layer: l1 = sigmoid(l0 . syn0); fitted = every output within 0.1")
    print(format_table(rows, ["learning_rate", "iterations", "runs", "linear_fitted",
                              "linear_max_error", "xor_fitted", "xor_max_error"]), end="\n\n")

    if not have_matplotlib():
        return 0
    from fastnn import plots
    for target, label in (("linear", "target [0, 0, 1, 1]"), ("xor", "target [0, 1, 1, 0]")):
        path = plots.curves(out, f"loss_{target}",
                            os.path.join(args.out_dir, f"single_layer_loss_{target}.png"),
                            title=f"part B: one layer, {label}")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    main()
