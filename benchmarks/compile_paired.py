"""Cold compile of one workload's kernels on two commits, alternately, each in a
fresh process with an empty kernel cache; per kernel, where numba spent it.

Compiling is most of the test suite's time and of a new user's first fit, and
a kernel change can move it by tens of seconds either way. As with
``paired.py``, the shared host's speed moves by 30% and more over minutes, so
the two commits alternate. Each commit's ``fastnn/`` is extracted with ``git
archive``. Each round runs one process a commit, with a new
``NUMBA_CACHE_DIR``, and times the workload's first call, which compiles
everything it needs. Then, for the kernels that took longest, it gives the
seconds in numba's own passes: type inference, which includes compiling
callees, lowering, and parfor lowering, with the time under LLVM's lock.

    NUMBA_NUM_THREADS=2 python benchmarks/compile_paired.py 854f55e HEAD --workload cnn-minibatch

Workloads: ``xor`` (part D's network, ``bench_xor``'s, 2 epochs), ``digits`` and
``digits-adam`` (the one-hidden batch-1 trainer on 8x8 digits, SGD with
momentum and Adam), ``mlp-minibatch`` (the same network, batch 32), ``cnn`` and
``cnn-minibatch`` (part E's network on 28x28 images, batch 1 and batch 4),
``cnn-predict`` (its ``predict_proba``, after a batch-1 fit, timed on its
own), ``rbm`` (``BernoulliRBM`` on 64 binary features).

Kernels that a commit renames or splits show under their own names. A kernel's
seconds include its callees compiled for it, so the rows overlap.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

from paired import extract   # (this folder is on the path: run as a script, or as the tests do)

HERE = os.path.dirname(os.path.abspath(__file__))

# Each workload: its set-up, then the statement whose first run is timed
WORKLOADS = {
    "xor": ("""
import bench_xor, peers
X, y = peers.xor_data()
model = bench_xor.fastnn_model(fastnn).set_params(max_iter=2)
""", "model.fit(X, y)"),
    "digits": ("""
X = rng.random((50, 64)); y = np.arange(50) % 10
model = fastnn.MLPClassifier(hidden_layer_sizes=(100,), solver=SOLVER, batch_size=BATCH,
                             max_iter=1, tol=None, random_state=0)
""", "model.fit(X, y)"),
    "cnn": ("""
X = rng.random((8, 28, 28)); y = np.arange(8) % 10
model = fastnn.ConvNetClassifier(n_filters=10, filter_size=5, pool_size=2,
                                 hidden_layer_sizes=(128,), learning_rate_init=0.1,
                                 batch_size=BATCH, max_iter=1, tol=None, random_state=0)
if PREDICT:
    model.fit(X, y)
""", "model.predict_proba(X) if PREDICT else model.fit(X, y)"),
    "rbm": ("""
X = (rng.random((40, 64)) < 0.3).astype(np.float64)
model = fastnn.BernoulliRBM(n_components=8, n_iter=1, random_state=0)
""", "model.fit(X)"),
}

RUN = """
import gc, json, sys, time
sys.path[:0] = [{root!r}, {here!r}]
from compile_paired import kernel_times
import numpy as np
import fastnn
from numba.core.registry import CPUDispatcher
rng = np.random.default_rng(0)
SOLVER, BATCH, PREDICT = {solver!r}, {batch!r}, {predict!r}
{setup}
before = set()
for obj in gc.get_objects():
    if isinstance(obj, CPUDispatcher):
        before.update((id(obj), sig) for sig in obj.overloads)
t = time.perf_counter()
{statement}
seconds = time.perf_counter() - t
print(json.dumps({{"fastnn": fastnn.__file__, "seconds": seconds,
                  "kernels": kernel_times(gc.get_objects(), before)}}))
"""


def kernel_times(objects, before=()):
    """``{qualified name: {"seconds", "llvm", "passes"}}`` for each numba
    dispatcher among ``objects`` with a compiled signature not in ``before``
    (pairs of ``id(dispatcher)`` and signature). ``seconds`` is the sum of numba's
    pipeline passes (``passes``: the three longest, name to seconds), ``llvm``
    the time under LLVM's lock; a name compiled for several signatures sums
    them."""
    from numba.core.registry import CPUDispatcher
    out = {}
    for obj in objects:
        if not isinstance(obj, CPUDispatcher):
            continue
        for sig, result in list(obj.overloads.items()):
            if (id(obj), sig) in before:
                continue
            meta = result.metadata or {}
            timings = meta.get("pipeline_times", {}).get("nopython", {})
            if not timings:   # loaded from the cache, or compiled in another way
                continue
            passes = {name.split("_", 1)[-1]: t.init + t.run + t.finalize
                      for name, t in timings.items()}
            name = f"{obj.py_func.__module__}.{obj.py_func.__qualname__}"
            entry = out.setdefault(name, {"seconds": 0.0, "llvm": 0.0, "passes": {}})
            entry["seconds"] += sum(passes.values())
            entry["llvm"] += meta.get("timers", {}).get("llvm_lock", 0.0)
            for k, v in passes.items():
                entry["passes"][k] = entry["passes"].get(k, 0.0) + v
    for entry in out.values():
        top = sorted(entry["passes"].items(), key=lambda kv: -kv[1])[:3]
        entry["passes"] = dict(top)
    return out


# Each workload's set-up above, solver, batch size, and whether predict is what is timed
VARIANTS = {
    "xor": ("xor", "sgd", 1, False),
    "digits": ("digits", "sgd", 1, False),
    "digits-adam": ("digits", "adam", 1, False),
    "mlp-minibatch": ("digits", "sgd", 32, False),
    "cnn": ("cnn", "sgd", 1, False),
    "cnn-minibatch": ("cnn", "sgd", 4, False),
    "cnn-predict": ("cnn", "sgd", 1, True),
    "rbm": ("rbm", "sgd", 1, False),
}


def run(root, workload):
    base, solver, batch, predict = VARIANTS[workload]
    setup, statement = WORKLOADS[base]
    code = RUN.format(root=root, here=HERE, setup=setup, statement=statement, solver=solver,
                      batch=batch, predict=predict)
    with tempfile.TemporaryDirectory(prefix="fastnn-cache-") as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, env=env, cwd=os.path.dirname(HERE))
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if not result["fastnn"].startswith(root):
        raise RuntimeError(f"imported {result['fastnn']}, not the copy under {root}")
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rev_a")
    parser.add_argument("rev_b")
    parser.add_argument("--workload", default="cnn-minibatch", choices=list(VARIANTS))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--kernels", type=int, default=4,
                        help="kernels shown, the longest first (default 4)")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.kernels < 1:
        parser.error(f"--rounds and --kernels must be >= 1, got {args.rounds} and {args.kernels}")
    totals = {}
    kernels = {}
    with tempfile.TemporaryDirectory(prefix="fastnn-compile-") as tmp:
        # a commit against itself (its noise) keeps two labels
        a, b = ((args.rev_a, args.rev_b) if args.rev_a != args.rev_b
                else (args.rev_a + " (a)", args.rev_b + " (b)"))
        roots = {a: extract(args.rev_a, os.path.join(tmp, "rev0")),
                 b: extract(args.rev_b, os.path.join(tmp, "rev1"))}
        for r in range(args.rounds):
            for rev, root in roots.items():
                result = run(root, args.workload)
                totals.setdefault(rev, []).append(result["seconds"])
                for name, entry in result["kernels"].items():
                    kernels.setdefault(name, {}).setdefault(rev, []).append(entry)
                top = sorted(result["kernels"].items(), key=lambda kv: -kv[1]["seconds"])
                print(f"round {r + 1}: {rev:>12} {result['seconds']:6.1f} s; " + ", ".join(
                    f"{name.rsplit('.', 1)[-1]} {e['seconds']:.1f}" for name, e in top[:3]),
                    flush=True)
    med = {rev: statistics.median(t) for rev, t in totals.items()}
    print(f"\n{args.workload}: first call {a} {med[a]:.1f} s, {b} {med[b]:.1f} s "
          f"(medians of {args.rounds} rounds); {b} / {a} = {med[b] / med[a]:.3f}")
    longest = sorted(kernels.items(), key=lambda kv: -max(
        statistics.median(e["seconds"] for e in entries) for entries in kv[1].values()))
    print(f"{'kernel':58s} {a:>12s} {b:>12s}   (seconds; llvm; longest passes)")
    for name, by_rev in longest[:args.kernels]:
        cells = []
        for rev in (a, b):
            entries = by_rev.get(rev)
            if not entries:
                cells.append(f"{'-':>12s}")
                continue
            cells.append(f"{statistics.median(e['seconds'] for e in entries):7.1f}; "
                         f"{statistics.median(e['llvm'] for e in entries):4.1f}")
        passes = by_rev.get(b, by_rev.get(a))[-1]["passes"]
        print(f"{name[-58:]:58s} {cells[0]:>12s} {cells[1]:>12s}   " + ", ".join(
            f"{k} {v:.1f}" for k, v in passes.items()))


if __name__ == "__main__":
    main()
