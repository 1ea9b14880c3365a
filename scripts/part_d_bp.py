"""Part D of the article: the BP network with momentum learns XOR.

Runs two ``xor-bp`` sweeps, stores every run in a results file in ``--out-dir``
(re-running resumes them) and draws their loss curves:

1. ``sweeps/xor_bp.toml`` (or ``--sweep``, e.g. ``sweeps/xor_bp_large.toml``):
   learning rate x momentum over seeds; the success rate (every output within
   0.1 of XOR) of each cell.
2. ``sweeps/xor_bp_momentum_rule.toml`` (``--rule-sweep``): the article's rule
   ``w -= lr g + m g_previous`` ('previous_gradient') against scikit-learn's
   ``v = m v - lr g; w += v`` ('classical').

Usage::

    python scripts/part_d_bp.py [--out-dir part_d] [--workers N] [--quick]
        [--sweep FILE.toml] [--rule-sweep FILE.toml]
"""
import argparse
import os

import numpy as np

from fastnn.cli import format_table
from fastnn.experiments.batch import groups, have_matplotlib, read_spec, run_sweep, values

SWEEPS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sweeps")


KEYS = ["momentum_rule", "learning_rate", "momentum", "epochs"]


def success_table(recs, title):
    """Success rate per cell: a row per value of the KEYS that vary, the others in the title."""
    varying = [k for k in KEYS if len({r[k] for r in recs}) > 1]
    fixed = ", ".join(f"{k}={recs[0][k]}" for k in KEYS if k not in varying and recs)
    rows = []
    for key, runs in groups(recs, varying).items():
        solved, err = values(runs, "solved"), values(runs, "max_abs_error")
        rows.append({**dict(zip(varying, key)), "runs": len(runs),
                     "solved": f"{int(solved.sum())}/{len(runs)}", "success_rate": solved.mean(),
                     "median_max_error": float(np.median(err))})
    print(f"\n{title}" + (f"\n({fixed})" if fixed else ""))
    print(format_table(rows, varying + ["runs", "solved", "success_rate", "median_max_error"]), end="\n\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", help="results files and pictures (default part_d, "
                        "part_d_quick with --quick)")
    parser.add_argument("--workers", type=int, help="local worker processes (default: in process)")
    parser.add_argument("--quick", action="store_true", help="few cells, seeds and epochs, a smoke test")
    parser.add_argument("--sweep", default=os.path.join(SWEEPS, "xor_bp.toml"),
                        help="learning rate x momentum sweep (default sweeps/xor_bp.toml)")
    parser.add_argument("--rule-sweep", default=os.path.join(SWEEPS, "xor_bp_momentum_rule.toml"),
                        help="momentum rule sweep (default sweeps/xor_bp_momentum_rule.toml)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    args.out_dir = args.out_dir or ("part_d_quick" if args.quick else "part_d")
    os.makedirs(args.out_dir, exist_ok=True)

    quick = ([0, 1], {"epochs": 500}) if args.quick else None
    grid_spec = read_spec(parser, args.sweep, "xor-bp", quick)
    rule_spec = read_spec(parser, args.rule_sweep, "xor-bp", quick)
    if os.path.basename(grid_spec.source) == os.path.basename(rule_spec.source):
        parser.error("--sweep and --rule-sweep need files of different names (one results file each).")
    grid_out, grid_recs = run_sweep(grid_spec, args.out_dir, args.workers, not args.no_progress)
    success_table(grid_recs, "xor-bp: 2-5-1 BP network with momentum; success = every output "
                  "within 0.1 of XOR")
    rule_out, rule_recs = run_sweep(rule_spec, args.out_dir, args.workers, not args.no_progress)
    success_table(rule_recs, "xor-bp: momentum rule 'previous_gradient' (the article) against "
                  "'classical'")

    if not have_matplotlib():
        return 0
    from fastnn import plots
    for out, title in ((grid_out, "part D: learning rate x momentum"),
                       (rule_out, "part D: momentum rules")):
        name = os.path.splitext(os.path.basename(out))[0]
        path = plots.curves(out, "loss", os.path.join(args.out_dir, f"{name}_loss.png"),
                            title=f"{title} (mean and range over seeds)")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    main()
