"""Part A.7: RBM features for digit classification, fastnn beside scikit-learn.

Runs the ``rbm-digits`` recipe (scikit-learn's example "Restricted Boltzmann
Machine features for digit classification"), prints both classification
reports and the macro F1 scores, and draws the 100 learned components.

    python scripts/part_a7_rbm.py [--seed 0] [--out rbm_components.png]
"""
import argparse

from fastnn.experiments import registry


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="rbm_components.png", help="PNG of the components")
    args = parser.parse_args(argv)

    rec = registry.get("rbm-digits")
    result = rec.func(args.seed, **rec.params)
    for name, report in result.text.items():
        print(f"--- {name}\n{report}")
    for name, value in result.metrics.items():
        print(f"{name:>28}: {value:.4f}")
    print(result.summary)
    try:
        from fastnn.plots_rbm import rbm_components
    except ImportError:  # pragma: no cover
        return
    try:
        print("wrote", rbm_components(result.arrays["components"], args.out))
    except ImportError:
        print("matplotlib is not installed: no picture (pip install fastnn[plot])")


if __name__ == "__main__":
    main()
