"""Part H of the article: a Hopfield network stores patterns and recalls them.

Runs the two Hopfield recipes and draws their pictures:

1. ``hopfield-recall``: letter bitmaps (or binarised digits) stored with each
   rule, recalled from noisy and from partly hidden probes; pictures of
   probe -> recalled -> stored.
2. ``hopfield-capacity``: recall quality against load P/N for random
   patterns, every rule, several sizes and seeds; the measured critical loads
   (Hebbian theory: 0.138) and a plot.

Usage::

    python scripts/part_h_hopfield.py [--out-dir DIR] [--dataset letters|digits]
        [--sizes 100 500 1000] [--seeds 2] [--quick]

For a sweep stored in a results file, use ``fastnn sweep`` or
``fastnn run hopfield-capacity --set n_seeds=10``.
"""
import argparse
import os
import time

from fastnn.experiments import registry
from fastnn.plots_hopfield import curves_from_result, hopfield_capacity, hopfield_recall


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", default="part_h", help="where the pictures go")
    parser.add_argument("--dataset", default="letters", choices=["letters", "digits"])
    parser.add_argument("--rule", default="pseudoinverse",
                        choices=["hebbian", "storkey", "pseudoinverse"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 1000])
    parser.add_argument("--seeds", type=int, default=2, help="seeds per capacity point")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="small settings, a smoke test")
    args = parser.parse_args(argv)
    os.makedirs(args.out_dir, exist_ok=True)

    recall = registry.get("hopfield-recall")
    params = recall.resolve(dict(recall.quick) if args.quick else {})
    params.update(dataset=args.dataset, rule=args.rule)
    t0 = time.perf_counter()
    result = recall.func(args.seed, **params)
    print(f"hopfield-recall ({time.perf_counter() - t0:.1f} s): {result.summary}")
    a = result.arrays
    for kind in ("noisy", "partial"):
        path = os.path.join(args.out_dir, f"recall_{args.dataset}_{kind}.png")
        hopfield_recall(a[f"{kind}_probes"], a[f"{kind}_recalled"], a["patterns"], a["shape"],
                        path, title=f"{args.rule}: {kind} probes")
        print(f"  wrote {path}")

    capacity = registry.get("hopfield-capacity")
    params = capacity.resolve(dict(capacity.quick) if args.quick else
                              {"sizes": tuple(args.sizes), "n_seeds": args.seeds})
    t0 = time.perf_counter()
    result = capacity.func(args.seed, **params)
    print(f"hopfield-capacity ({time.perf_counter() - t0:.1f} s): {result.summary}")
    for key, value in sorted(result.metrics.items()):
        if key.startswith("critical_load_") and "_n" in key:
            print(f"  {key} = {value:.3f}")
    for metric, label in (("overlap", "mean overlap"), ("exact", "exact-recall rate")):
        path = os.path.join(args.out_dir, f"capacity_{metric}.png")
        hopfield_capacity(result.arrays["loads"], curves_from_result(result.arrays, metric),
                          path, ylabel=label,
                          threshold=params["threshold"] if metric == "overlap" else None)
        print(f"  wrote {path}")


if __name__ == "__main__":
    main()
