"""Print a pytest-benchmark JSON file as the issue's comparison table.

Usage::

    python benchmarks/summary.py out.json [more.json ...]

For each group (workload): every implementation's median time per round, its
time per sample (per-sample workloads) or samples per second (MNIST), and how
many times faster fastnn is than each peer, per sample, beside the targets of
the foundation issue (met / not met). Benchmarks written by the suites in this
folder carry ``impl`` and ``samples`` (sample-steps per round) in extra_info;
ratios are taken per sample, so a peer that trains fewer epochs still compares
fairly. The first line names the machine each file was measured on (ratios
move with the hardware: BLAS and XLA peers gain more from wider vectors and
fused multiply-add than fastnn's fixed-order kernels), with a warning when the
files come from different machines.
"""
import argparse
import json
import sys

#: Targets per group: an absolute figure for fastnn and the speed-up over peers.
TARGETS = {
    "xor-2-5-1-10000ep": {
        "us_per_sample": 0.2, "speedup": {"python": 100, "torch": 1000, "jax": 2}},
    # the digits targets, on both workloads of bench_digits.py
    "digits-64-100-10-b1-10ep-sgd": {
        "us_per_sample": 2.0,
        "speedup": {"numpy": 30, "sklearn": 200, "torch": 200, "jax": 2.5}},
    "digits-64-100-10-b1-10ep": {
        "us_per_sample": 2.0,
        "speedup": {"numpy": 30, "sklearn": 200, "torch": 200, "jax": 2.5}},
    "mnist-784-128-10-b1": {"samples_per_s": 50e3, "speedup": {"jax": 1.3}},
    "mnist-784-128-10-b32": {"samples_per_s": 120e3, "speedup": {"jax": 1.3}},
    "mnist-784-128-10-b128": {
        "samples_per_s": 160e3, "speedup": {"jax": 1.1, "numpy": 1.0, "torch": 1.8}},
    # issue 4: >= 8000 images/s at batch 1, >= 15000 at batch 64 (as us a sample)
    "cnn-28x28-f10k5-p2-h128-b1": {"us_per_sample": 125.0, "speedup": {"torch": 15, "jax": 2}},
    "cnn-28x28-f10k5-p2-h128-b64": {
        "us_per_sample": 1e6 / 15000, "speedup": {"torch": 2.3, "jax": 2.3}},
    # issue 6
    "rbm-digits-nudged-64-100-b10-10it": {"speedup": {"sklearn": 4}},
    "rbm-binary-20000x784-256-b10-1it": {"speedup": {"sklearn": 7}},
    "startup-warm": {"seconds": 1.0},
    "startup-cold": {},
}

#: Groups whose speed reads better as samples per second.
RATE_GROUPS = ("mnist-",)


def _fmt_time(seconds):
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def _verdict(ok):
    return "met" if ok else "NOT met"


def load(paths):
    """Benchmarks from one or more JSON files, grouped, and the machine each file
    was measured on: ``({group: [row, ...]}, {machine line: [path, ...]})``."""
    groups, machines = {}, {}
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        machines.setdefault(machine(data.get("machine_info") or {}), []).append(path)
        for bench in data.get("benchmarks", []):
            info = bench.get("extra_info", {})
            impl = info.get("impl") or bench.get("name", "?").split("[")[0].removeprefix("test_")
            median = bench["stats"]["median"]
            samples = info.get("samples")
            row = {"impl": impl, "median": median, "samples": samples,
                   "per_sample": median / samples if samples else None,
                   "rounds": bench["stats"].get("rounds"), "info": info}
            groups.setdefault(bench.get("group") or bench.get("name"), []).append(row)
    return groups, machines


def machine(info):
    """pytest-benchmark's ``machine_info`` as one line: CPU brand, vendor, family
    and model, CPUs, clock, the widest x86 vector extension, system and Python."""
    cpu = info.get("cpu") or {}
    flags = set(cpu.get("flags") or ())
    simd = next((f for f in ("avx512f", "avx2", "avx", "sse4_2") if f in flags), None)
    ident = [cpu["vendor_id_raw"]] if cpu.get("vendor_id_raw") else []
    if cpu.get("family") is not None:
        ident.append(f"family {cpu['family']} model {cpu.get('model')}")
    parts = [cpu.get("brand_raw") or info.get("processor") or info.get("machine") or "unknown CPU"]
    if ident:
        parts[0] += f" ({', '.join(ident)})"
    if cpu.get("count"):
        parts.append(f"{cpu['count']} CPUs" + (f" at {cpu['hz_actual_friendly']}"
                                                if cpu.get("hz_actual_friendly") else ""))
    if simd:
        parts.append(simd)
    if info.get("system"):
        parts.append(f"{info['system']} {info.get('release', '')}".strip())
    if info.get("python_version"):
        parts.append(f"Python {info['python_version']}")
    return ", ".join(parts)


def summarise(groups, out=None):
    """Write the table (to ``out``, else the current ``sys.stdout``); returns the
    list of (group, target, ok) checked."""
    out = sys.stdout if out is None else out
    checked = []
    for name in sorted(groups):
        rows = sorted(groups[name], key=lambda r: r["per_sample"] or r["median"])
        rate = name.startswith(RATE_GROUPS)
        targets = TARGETS.get(name, {})
        fast = next((r for r in rows if r["impl"] == "fastnn"), None)
        print(f"\n== {name}", file=out)
        notes = {r["info"].get(k) for r in rows for k in ("data",) if r["info"].get(k)}
        if notes:
            print(f"   data: {', '.join(sorted(notes))}", file=out)
        threads = {r["info"].get("numba_threads") for r in rows} - {None}
        if threads:
            print(f"   numba threads: {', '.join(map(str, sorted(threads)))}", file=out)
        width = max(10, *(len(r["impl"]) + 1 for r in rows))   # the impl column
        print(f"   {'impl':<{width}}{'median':>12}{'per round':>12}"
              f"{'samples/s' if rate else 'per sample':>14}{'fastnn x':>12}  target", file=out)
        for r in rows:
            if r["per_sample"] is None or r["samples"] == 1:
                speed = "-"
            elif rate:
                speed = f"{1.0 / r['per_sample']:,.0f}"
            else:
                speed = _fmt_time(r["per_sample"])
            ratio, target = "", ""
            if fast is not None and r is not fast and r["per_sample"] and fast["per_sample"]:
                x = r["per_sample"] / fast["per_sample"]
                ratio = f"{x:.2f}"
                want = targets.get("speedup", {}).get(r["impl"])
                if want is not None:
                    ok = x >= want
                    target = f">= {want:g}x: {_verdict(ok)}"
                    checked.append((name, f"fastnn vs {r['impl']} >= {want:g}x", ok))
            if r is fast:
                if "us_per_sample" in targets and r["per_sample"]:
                    want = targets["us_per_sample"]
                    ok = r["per_sample"] * 1e6 <= want
                    target = f"<= {want:g} us/sample: {_verdict(ok)}"
                    checked.append((name, target.split(":")[0], ok))
                if "samples_per_s" in targets and r["per_sample"]:
                    want = targets["samples_per_s"]
                    ok = 1.0 / r["per_sample"] >= want
                    target = f">= {want:,.0f} samples/s: {_verdict(ok)}"
                    checked.append((name, target.split(":")[0], ok))
                if "seconds" in targets:
                    want = targets["seconds"]
                    ok = r["median"] < want
                    target = f"< {want:g} s: {_verdict(ok)}"
                    checked.append((name, target.split(":")[0], ok))
            samples = "" if r["samples"] in (None, 1) else f"{r['samples']:,}"
            print(f"   {r['impl']:<{width}}{_fmt_time(r['median']):>12}{samples:>12}"
                  f"{speed:>14}{ratio:>12}  {target}", file=out)
        for r in rows:
            if r["info"].get("note"):
                print(f"   note ({r['impl']}): {r['info']['note']}", file=out)
        if fast is None:
            print("   (no fastnn result in this group)", file=out)
    if checked:
        met = sum(ok for _, _, ok in checked)
        print(f"\nTargets met: {met} of {len(checked)}", file=out)
        for name, what, ok in checked:
            if not ok:
                print(f"   not met: {name}: {what}", file=out)
    return checked


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", nargs="+", help="pytest-benchmark JSON (--benchmark-json FILE)")
    args = parser.parse_args(argv)
    groups, machines = load(args.json)
    if not groups:
        print("no benchmarks in " + ", ".join(args.json))
        return 1
    # ratios are only comparable on one machine: say which, and warn when several
    for line, paths in machines.items():
        print(f"machine: {line}" + (f"  [{', '.join(paths)}]" if len(machines) > 1 else ""))
    if len(machines) > 1:
        print("warning: these files come from different machines; ratios across them "
              "are not comparable")
    summarise(groups)
    return 0


if __name__ == "__main__":
    sys.exit(main())
