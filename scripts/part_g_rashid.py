"""Part G of the article: "Make Your Own Neural Network", the linear classifier and
the three-layer network.

Runs two sweeps, stores every run in a results file in ``--out-dir`` (re-running
resumes them) and draws their pictures:

1. ``linear-classifier`` (``sweeps/linear_classifier.toml``): the line
   ``y = A x`` moved by ``dA = L * E / x``; the book's slope history
   (0.25 -> 0.3083 -> 1.6042 with L = 0.5) and the slope's history over 400
   noisy bugs per seed.
2. ``rashid-mnist``: hidden units x learning rate, test accuracy per cell, the
   confusion matrix of the best cell's first run. On the 8x8 digits by default
   (``sweeps/rashid_digits.toml``); on MNIST with ``--mnist``
   (``sweeps/rashid_mnist.toml``; the files from ``FASTNN_DATA`` or
   ``../shared/data/mnist``).

Usage::

    python scripts/part_g_rashid.py [--out-dir part_g] [--workers N] [--quick] [--mnist]
        [--sweep FILE.toml] [--linear-sweep FILE.toml]
"""
import argparse
import os

from fastnn import experiments
from fastnn.cli import format_table
from fastnn.experiments.batch import groups, have_matplotlib, read_spec, run_sweep, values

SWEEPS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sweeps")


def linear_part(args, parser):
    quick = ([0, 1], {"n_points": 50}) if args.quick else None
    spec = read_spec(parser, args.linear_sweep, "linear-classifier", quick)
    out, recs = run_sweep(spec, args.out_dir, args.workers, not args.no_progress)
    rows = []
    for (lr, slope0), runs in groups(recs, ["learning_rate", "initial_slope"]).items():
        history = experiments.load_run(out, runs[0]["run_id"])["curves"]["slope"]
        acc = values(runs, "train_accuracy")
        rows.append({"learning_rate": lr, "book_slopes": " -> ".join(
                         [f"{slope0:.4g}"] + [f"{s:.4f}" for s in history]),
                     "runs": len(runs), "bugs_slope": values(runs, "bugs_slope").mean(),
                     "bugs_accuracy": acc.mean(), "accuracy_std": acc.std()})
    print("\nlinear-classifier: y = A x, dA = L * E / x (the book, L = 0.5: "
          "0.25 -> 0.3083 -> 1.6042)")
    print(format_table(rows, ["learning_rate", "book_slopes", "runs", "bugs_slope",
                              "bugs_accuracy", "accuracy_std"]), end="\n\n")
    return out


def network_part(args, parser):
    if args.mnist:
        from fastnn.data.mnist import find_mnist
        if find_mnist() is None:
            parser.error("--mnist: the MNIST files were not found; set FASTNN_DATA to their folder.")
    default = "rashid_mnist.toml" if args.mnist else "rashid_digits.toml"
    quick = ([0], {"epochs": 1}) if args.quick else None
    spec = read_spec(parser, args.sweep or os.path.join(SWEEPS, default), "rashid-mnist", quick)
    out, recs = run_sweep(spec, args.out_dir, args.workers, not args.no_progress)
    rows, best = [], None
    for (hidden, lr, epochs), runs in groups(recs, ["hidden", "learning_rate", "epochs"]).items():
        acc = values(runs, "test_accuracy")
        rows.append({"hidden": hidden, "learning_rate": lr, "epochs": epochs, "runs": len(runs),
                     "test_accuracy": acc.mean(), "test_std": acc.std(),
                     "fit_seconds": values(runs, "fit_seconds").mean()})
        if best is None or acc.mean() > best[0]:
            best = (acc.mean(), runs[0]["run_id"])
    data = "MNIST" if recs and recs[0]["on_mnist"] else "the 8x8 digits"
    print(f"\nrashid-mnist: 3-layer sigmoid network, no biases, per-sample updates, on {data} "
          "(the book: about 0.95 on MNIST)")
    print(format_table(rows, ["hidden", "learning_rate", "epochs", "runs", "test_accuracy",
                              "test_std", "fit_seconds"]), end="\n\n")
    return out, (experiments.load_run(out, best[1]) if best else None)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", help="results files and pictures (default part_g, "
                        "part_g_quick with --quick)")
    parser.add_argument("--workers", type=int, help="local worker processes (default: in process)")
    parser.add_argument("--quick", action="store_true", help="few cells, seeds and epochs, a smoke test")
    parser.add_argument("--mnist", action="store_true",
                        help="the network on MNIST (sweeps/rashid_mnist.toml) instead of the digits")
    parser.add_argument("--sweep", help="the network's sweep (default sweeps/rashid_digits.toml, "
                        "with --mnist sweeps/rashid_mnist.toml)")
    parser.add_argument("--linear-sweep", default=os.path.join(SWEEPS, "linear_classifier.toml"))
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    args.out_dir = args.out_dir or ("part_g_quick" if args.quick else "part_g")
    os.makedirs(args.out_dir, exist_ok=True)

    linear_out = linear_part(args, parser)
    net_out, best = network_part(args, parser)

    if not have_matplotlib():
        return 0
    from fastnn import plots
    pictures = [
        plots.curves(linear_out, "slope", os.path.join(args.out_dir, "linear_slope_book.png"),
                     title="part G: slope after each of the book's two examples"),
        plots.curves(linear_out, "bugs_slope", os.path.join(args.out_dir, "linear_slope_bugs.png"),
                     band="std", title="part G: slope after each noisy bug (mean +/- std over seeds)")]
    if best is not None:
        name = os.path.splitext(os.path.basename(net_out))[0]
        p = best["params"]
        pictures.append(plots.confusion_matrix(
            best["arrays"]["confusion_matrix"], None,
            os.path.join(args.out_dir, f"{name}_confusion.png"),
            title=f"hidden {p['hidden']}, learning rate {p['learning_rate']}, seed {best['seed']}: "
                  f"{best['metrics']['test_accuracy']:.3f}"))
    for path in pictures:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    main()
