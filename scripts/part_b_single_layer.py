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
import os

from fastnn.cli import format_table
from fastnn.experiments.batch import groups, have_matplotlib, read_spec, run_sweep, values

SWEEPS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sweeps")


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
