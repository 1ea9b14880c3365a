"""Part A of the article: the NeuralNetwork class on XOR and on the 8x8 digits.

Runs two sweeps, stores every run in a results file in ``--out-dir`` (re-running
resumes them) and draws their pictures:

1. ``xor-tanh`` (``sweeps/xor_tanh.toml``): NeuralNetwork([2, 2, 1], 'tanh') over
   many seeds, the article's network (its hidden "bias" unit has incoming
   weights: ``article_bias_units=true``) against a true [2, 2, 1] with biases
   (``false``); the success rate (every output within 0.1 of XOR) of each and
   their loss curves.
2. ``digits-mlp`` (``sweeps/digits_mlp.toml``, part A.6): [64, 100, 10] on the
   8x8 digits over seeds; test accuracy mean and spread, the confusion matrix
   and classification report of the first run, the loss curves.

Usage::

    python scripts/part_a_mlp.py [--out-dir part_a] [--workers N] [--quick]
        [--xor-sweep FILE.toml] [--digits-sweep FILE.toml]
"""
import argparse
import os

import numpy as np

from fastnn import experiments
from fastnn.cli import format_table
from fastnn.experiments.batch import groups, have_matplotlib, read_spec, run_sweep, values

SWEEPS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sweeps")


def xor_part(args, parser):
    quick = ([0, 1, 2], {"steps": 2000}) if args.quick else None
    spec = read_spec(parser, args.xor_sweep, "xor-tanh", quick)
    out, recs = run_sweep(spec, args.out_dir, args.workers, not args.no_progress)
    rows = []
    for (bias_units,), runs in groups(recs, ["article_bias_units"]).items():
        solved = values(runs, "solved")
        err = values(runs, "max_abs_error")
        rows.append({"article_bias_units": bias_units, "runs": len(runs),
                     "solved": f"{int(solved.sum())}/{len(runs)}", "success_rate": solved.mean(),
                     "median_max_error": float(np.median(err))})
    print("\nxor-tanh: NeuralNetwork([2, 2, 1], 'tanh'), success = every output within 0.1")
    print(format_table(rows, ["article_bias_units", "runs", "solved", "success_rate",
                              "median_max_error"]), end="\n\n")
    return out


def digits_part(args, parser):
    quick = ([0, 1], {"epochs": 2}) if args.quick else None
    spec = read_spec(parser, args.digits_sweep, "digits-mlp", quick)
    out, recs = run_sweep(spec, args.out_dir, args.workers, not args.no_progress)
    rows = []
    for key, runs in groups(recs, ["hidden", "epochs"]).items():
        test, train = values(runs, "test_accuracy"), values(runs, "train_accuracy")
        rows.append({"hidden": key[0], "epochs": key[1], "runs": len(runs),
                     "test_accuracy": test.mean(), "test_std": test.std(),
                     "train_accuracy": train.mean()})
    print("\ndigits-mlp: [64, hidden, 10] on the 8x8 digits (the article: about 0.95)")
    print(format_table(rows, ["hidden", "epochs", "runs", "test_accuracy", "test_std",
                              "train_accuracy"]), end="\n\n")
    first = experiments.load_run(out, recs[0]["run_id"]) if recs else None
    if first is not None:
        print(f"classification report of run {first['run_id']} (seed {first['seed']}):")
        print(first["text"].get("classification_report", ""))
    return out, first


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", help="results file and pictures (default part_a, "
                        "part_a_quick with --quick)")
    parser.add_argument("--workers", type=int, help="local worker processes (default: in process)")
    parser.add_argument("--quick", action="store_true", help="few seeds and steps, a smoke test")
    parser.add_argument("--xor-sweep", default=os.path.join(SWEEPS, "xor_tanh.toml"))
    parser.add_argument("--digits-sweep", default=os.path.join(SWEEPS, "digits_mlp.toml"))
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    args.out_dir = args.out_dir or ("part_a_quick" if args.quick else "part_a")
    os.makedirs(args.out_dir, exist_ok=True)

    xor_out = xor_part(args, parser)
    digits_out, first = digits_part(args, parser)

    if not have_matplotlib():
        return 0
    from fastnn import plots
    pictures = [plots.curves(xor_out, "loss", os.path.join(args.out_dir, "xor_tanh_loss.png"),
                             title="part A: XOR, [2, 2, 1] tanh (mean and range over seeds)"),
                plots.curves(digits_out, "loss", os.path.join(args.out_dir, "digits_loss.png"),
                             band="std", title="part A.6: digits (mean +/- std over seeds)")]
    if first is not None:
        pictures.append(plots.confusion_matrix(
            first["arrays"]["confusion_matrix"], None,
            os.path.join(args.out_dir, "digits_confusion.png"),
            title=f"digits-mlp, seed {first['seed']}: "
                  f"test accuracy {first['metrics']['test_accuracy']:.3f}"))
    for path in pictures:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    main()
