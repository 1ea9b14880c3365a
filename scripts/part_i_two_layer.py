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
import os

from fastnn.cli import format_table
from fastnn.experiments.batch import groups, have_matplotlib, read_spec, run_sweep, values

SWEEPS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sweeps")


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
