"""Helpers for batch experiment scripts (the files in ``scripts/``).

A script reads a sweep file, runs (or resumes) it into a results file, groups
the finished runs by parameters and prints or draws them::

    spec = read_spec(parser, "sweeps/xor_bp.toml", "xor-bp")
    out, runs = run_sweep(spec, "part_d", workers=None, progress=True)
    for (lr, momentum), group in groups(runs, ["learning_rate", "momentum"]).items():
        print(lr, momentum, values(group, "solved").mean())
"""
import dataclasses
import os

import numpy as np

from .load import records
from .sweep import parse_spec, sweep


def read_spec(parser, path, recipe, quick=None):
    """The checked sweep in ``path``; with ``quick`` = (seeds, fixed) a small version of it."""
    try:
        spec = parse_spec(path)
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
    report = sweep(spec, out=out, workers=workers, progress=progress)
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
