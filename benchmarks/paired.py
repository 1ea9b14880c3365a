"""Time one workload on two commits of fastnn, alternately, in fresh processes.

A change to a kernel is judged by a paired run: the shared host's speed moves
by 30% and more over minutes, which one benchmark run after another would
read as the change. Each commit's ``fastnn/`` is extracted with ``git
archive`` into a folder of its own (its own in-tree kernel cache), and each
round runs one process a commit, in turn: it fits once to compile, then fits
``--fits`` times and reports its fastest fit per sample.

    NUMBA_NUM_THREADS=2 python benchmarks/paired.py 7d05c83 HEAD --workload mnist-b1

Workloads (the benchmarks' settings): ``xor`` (part D, 10000 epochs),
``digits`` and ``digits32`` (per-sample SGD with momentum, 10 passes, float64
and float32), ``digits-sgd`` (the article's plain SGD, float64), ``mnist-b1``
(784-128-10, float32, 20000 samples, real MNIST when its files are present),
``mnist-b32`` and ``mnist-b128`` (the whole epoch).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

# Each workload's data and model: the benchmark modules' own
SETUP = {
    "xor": """
import bench_xor
X, y = peers.xor_data()
model = bench_xor.fastnn_model(fastnn)
samples = bench_xor.EPOCHS * len(X)
source = "xor"
""",
    "digits": """
import bench_digits
X, y = peers.digits_data()
model = bench_digits.fastnn_model(fastnn, DTYPE, WORKLOAD)
samples = bench_digits.EPOCHS * len(X)
source = "digits"
""",
    "mnist-b1": """
import bench_mnist
X, y, source = peers.mnist_data(60000)
X, y = X[:20000], y[:20000]
model = bench_mnist.fastnn_model(fastnn, 1)
samples = len(X)
""",
    "mnist-b32": """
import bench_mnist
X, y, source = peers.mnist_data(60000)
model = bench_mnist.fastnn_model(fastnn, 32)
samples = len(X)
""",
    "mnist-b128": """
import bench_mnist
X, y, source = peers.mnist_data(60000)
model = bench_mnist.fastnn_model(fastnn, 128)
samples = len(X)
""",
}

RUN = """
import json, sys, time
sys.path[:0] = [{root!r}, {here!r}]
import numpy as np
import fastnn
import peers
DTYPE = {dtype!r}
WORKLOAD = {digits!r}
{setup}
model.fit(X, y)
best = min(_time(model, X, y) for _ in range({fits}))
print(json.dumps({{"fastnn": fastnn.__file__, "per_sample": best / samples, "data": source}}))
"""

TIMER = """
def _time(model, X, y):
    t = time.perf_counter()
    model.fit(X, y)
    return time.perf_counter() - t
"""


def extract(rev, into):
    """``fastnn/`` of commit ``rev`` under ``into``."""
    os.makedirs(into)
    archive = subprocess.run(["git", "archive", rev, "fastnn"], capture_output=True, check=True,
                             cwd=os.path.dirname(HERE)).stdout
    subprocess.run(["tar", "-x", "-C", into], input=archive, check=True)
    return into


def run(root, workload, fits):
    dtype = "float32" if workload == "digits32" else "float64"
    setup = SETUP["digits" if workload.startswith("digits") else workload]
    digits = "sgd" if workload == "digits-sgd" else "momentum"
    code = RUN.format(root=root, here=HERE, dtype=dtype, digits=digits, setup=TIMER + setup,
                      fits=fits)
    # run from the checkout, where fastnn.data looks for MNIST (the copy is first on sys.path)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(HERE))
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if not result["fastnn"].startswith(root):
        raise RuntimeError(f"imported {result['fastnn']}, not the copy under {root}")
    return result["per_sample"], result["data"]


def _fmt(seconds):
    return f"{seconds * 1e9:.1f} ns" if seconds < 1e-6 else f"{seconds * 1e6:.3f} us"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rev_a")
    parser.add_argument("rev_b")
    parser.add_argument("--workload", default="digits",
                        choices=["xor", "digits", "digits32", "digits-sgd", "mnist-b1",
                                 "mnist-b32", "mnist-b128"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--fits", type=int, default=15)
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.fits < 1:
        parser.error(f"--rounds and --fits must be >= 1, got {args.rounds} and {args.fits}")
    with tempfile.TemporaryDirectory(prefix="fastnn-paired-") as tmp:
        roots = {rev: extract(rev, os.path.join(tmp, f"rev{k}"))
                 for k, rev in enumerate((args.rev_a, args.rev_b))}
        times = {rev: [] for rev in roots}
        for r in range(args.rounds):
            for rev, root in roots.items():
                per_sample, data = run(root, args.workload, args.fits)
                times[rev].append(per_sample)
                print(f"round {r + 1}: {rev:>12} {_fmt(per_sample)} a sample ({data})", flush=True)
    med = {rev: statistics.median(t) for rev, t in times.items()}
    a, b = args.rev_a, args.rev_b
    print(f"{args.workload}: {a} {_fmt(med[a])}, {b} {_fmt(med[b])} a sample "
          f"(medians of {args.rounds} rounds' fastest fits); {b} / {a} = {med[b] / med[a]:.3f}")


if __name__ == "__main__":
    main()
