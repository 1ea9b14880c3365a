"""Hopfield network recipes (part H): recall from noisy and partial probes,
and capacity against load."""
import time

import numpy as np

from ..._validation import check_float, check_int, check_option
from ...data import patterns as pattern_data
from ...models.hopfield import RULES, HopfieldNetwork, warmup
from ..registry import Result, recipe

#: Loads P/N of the capacity sweep: fine around the Hebbian 0.138, coarser above.
LOADS = (0.02, 0.05, 0.08, 0.1, 0.12, 0.13, 0.14, 0.15, 0.16, 0.18, 0.2, 0.25, 0.3, 0.35,
         0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def _dataset(name):
    if name == "letters":
        return pattern_data.letters()
    if name == "digits":
        return pattern_data.digits(kind="mean", upscale=2)
    raise ValueError(f"dataset must be one of ['digits', 'letters']; got {name!r}.")


def _exact(states, targets):
    return float((np.asarray(states) == np.asarray(targets)).all(axis=1).mean())


def _check_recall(dataset, rule, noise, occlusion, n_probes_per_pattern, order, max_sweeps,
                  compare_rules):
    """Checks under the recipe's names (flip and occlude would name ``fraction``;
    n_probes_per_pattern=0 divided by zero)."""
    check_option(dataset, "dataset", ("digits", "letters"))
    check_option(rule, "rule", RULES)
    check_float(noise, "noise", low=0.0, high=1.0)
    check_float(occlusion, "occlusion", low=0.0, high=1.0)
    check_int(n_probes_per_pattern, "n_probes_per_pattern", low=1)
    check_int(max_sweeps, "max_sweeps", low=1)


@recipe("hopfield-recall", family="hopfield",
        article="part H: from a probe the network settles into a stored (stable) state or a "
                "spurious (metastable) one",
        headline="noisy_exact_recall",
        quick={"n_probes_per_pattern": 2, "compare_rules": False},
        warmup=warmup, check=_check_recall)
def hopfield_recall(seed, dataset="letters", rule="pseudoinverse", noise=0.15, occlusion=0.3,
                    n_probes_per_pattern=8, order="permutation", max_sweeps=100,
                    compare_rules=True):
    """Store letter bitmaps (or binarised digits) and recall them from noisy and partial probes.

    ``noise``: the fraction of units flipped in a noisy probe (``n_probes_per_pattern``
    per pattern). ``occlusion``: the fraction of the image, from the bottom,
    set to background in a partial probe (one per pattern). With
    ``compare_rules`` every storage rule is scored on the same probes; the
    arrays (for the picture: probe -> recalled -> stored) come from ``rule``.
    """
    _check_recall(dataset, rule, noise, occlusion, n_probes_per_pattern, order, max_sweeps,
                  compare_rules)
    t0 = time.perf_counter()
    patterns, shape = _dataset(dataset)
    rng = np.random.default_rng(seed)
    targets = np.repeat(patterns, n_probes_per_pattern, axis=0)
    noisy = pattern_data.flip(targets, noise, random_state=rng)
    partial = pattern_data.occlude(patterns, occlusion, region="bottom", fill="low")
    metrics, arrays = {}, {}
    for r in (RULES if compare_rules else (rule,)):
        net = HopfieldNetwork(rule=r, order=order, max_sweeps=max_sweeps, random_state=seed)
        net.fit(patterns)
        got_noisy = net.recall(noisy)
        got_partial = net.recall(partial)
        scores = {
            "noisy_exact_recall": _exact(got_noisy.states, targets),
            "noisy_overlap": float(pattern_data.overlap(got_noisy.states, targets).mean()),
            "partial_exact_recall": _exact(got_partial.states, patterns),
            "partial_overlap": float(pattern_data.overlap(got_partial.states, patterns).mean()),
            "stored_fixed_points": _exact(net.predict(patterns), patterns),
            "mean_sweeps": float(got_noisy.n_sweeps.mean()),
        }
        for key, value in scores.items():
            metrics[f"{r}_{key}"] = value
        if r == rule:
            metrics.update(scores)
            first = np.arange(0, len(noisy), n_probes_per_pattern)
            arrays.update({
                "patterns": patterns, "noisy_probes": noisy[first],
                "noisy_recalled": got_noisy.states[first],
                "partial_probes": partial, "partial_recalled": got_partial.states,
                "energy": got_noisy.energy[first], "shape": np.array(shape),
            })
    metrics["seconds"] = time.perf_counter() - t0
    others = ", ".join(f"{r} {metrics[f'{r}_noisy_exact_recall']:.0%}"
                       for r in RULES if r != rule and f"{r}_noisy_exact_recall" in metrics)
    summary = (f"{rule}: {metrics['noisy_exact_recall']:.0%} of {noise:.0%}-noisy and "
               f"{metrics['partial_exact_recall']:.0%} of {occlusion:.0%}-occluded probes of "
               f"{len(patterns)} {dataset} recalled exactly"
               + (f" (noisy, other rules: {others})" if others else ""))
    return Result(metrics=metrics, arrays=arrays, summary=summary)


def _critical_load(loads, overlaps, threshold):
    """The load where the mean overlap first falls below ``threshold``,
    interpolated linearly; NaN when it never does (and 0 if it starts below)."""
    loads = np.asarray(loads, dtype=np.float64)
    overlaps = np.asarray(overlaps, dtype=np.float64)
    below = np.flatnonzero(overlaps < threshold)
    if len(below) == 0:
        return float("nan")
    k = int(below[0])
    if k == 0:
        return 0.0
    a0, a1, m0, m1 = loads[k - 1], loads[k], overlaps[k - 1], overlaps[k]
    return float(a0 + (m0 - threshold) / (m0 - m1) * (a1 - a0))


def _check_capacity(sizes, loads, rules, n_seeds, n_probes, noise, threshold, zero_diagonal,
                    max_sweeps, order):
    """Checks under the recipe's names (a negative n_seeds or n_probes reached
    NumPy as "negative dimensions" or sliced from the end)."""
    for name, values in (("sizes", sizes), ("loads", loads), ("rules", rules)):
        if len(values) == 0:
            raise ValueError(f"{name} must be a non-empty list; got {list(values)!r}.")
    for i, n in enumerate(sizes):
        check_int(n, f"sizes[{i}]", low=1)
    for i, a in enumerate(loads):
        check_float(a, f"loads[{i}]", low=0.0, low_inclusive=False)
    for i, r in enumerate(rules):
        check_option(r, f"rules[{i}]", RULES)
    check_int(n_seeds, "n_seeds", low=1)
    check_int(n_probes, "n_probes", low=1)
    check_float(noise, "noise", low=0.0, high=1.0)
    check_float(threshold, "threshold")
    check_int(max_sweeps, "max_sweeps", low=1)


@recipe("hopfield-capacity", family="hopfield",
        article="Hebbian storage holds about 0.138 N random patterns (Amit, Gutfreund and "
                "Sompolinsky 1985); part H shows no number",
        headline="critical_load_hebbian",
        quick={"sizes": (100,), "n_seeds": 1,
               "loads": (0.05, 0.1, 0.14, 0.2, 0.3, 0.5, 0.8)},
        warmup=warmup, check=_check_capacity)
def hopfield_capacity(seed, sizes=(100, 500, 1000), loads=LOADS, rules=RULES, n_seeds=2,
                      n_probes=50, noise=0.05, threshold=0.9, zero_diagonal=True,
                      max_sweeps=100, order="permutation"):
    """Recall quality against load P/N for random patterns, every rule and size.

    For each size N, rule and seed, P = round(load * N) random patterns are
    stored (added with ``partial_fit`` from one load to the next for the
    Hebbian and Storkey rules), and the first ``n_probes`` of them, each with
    a fraction ``noise`` of units flipped, are recalled. Metrics: the mean
    final overlap and the exact-recall rate per load; the critical load, where
    the mean overlap (over seeds) first falls below ``threshold``.
    ``zero_diagonal`` applies to every rule (the pseudo-inverse's self-couplings
    otherwise freeze noisy probes at high load). A bigger study: more sizes,
    ``n_seeds=10``.
    """
    _check_capacity(sizes, loads, rules, n_seeds, n_probes, noise, threshold, zero_diagonal,
                    max_sweeps, order)
    t0 = time.perf_counter()
    loads = tuple(sorted(float(a) for a in loads))
    metrics, arrays = {}, {"loads": np.array(loads), "sizes": np.array(sizes)}
    for n in sizes:
        counts = [max(1, int(round(a * n))) for a in loads]
        for rule in rules:
            overlaps = np.zeros((n_seeds, len(loads)))
            exact = np.zeros((n_seeds, len(loads)))
            for s in range(n_seeds):
                rng = np.random.default_rng([seed, n, s])
                X = pattern_data.random_patterns(max(counts), n, random_state=rng)
                net = HopfieldNetwork(rule=rule, order=order, max_sweeps=max_sweeps,
                                      zero_diagonal=zero_diagonal if rule != "storkey" else None,
                                      random_state=rng.integers(2**31))
                stored = 0
                for k, count in enumerate(counts):
                    if rule == "pseudoinverse":
                        net.fit(X[:count])
                    elif count > stored:
                        net.partial_fit(X[stored:count])
                    stored = count
                    targets = X[:min(count, n_probes)]
                    probes = pattern_data.flip(targets, noise, random_state=rng)
                    states = net.predict(probes)
                    overlaps[s, k] = pattern_data.overlap(states, targets).mean()
                    exact[s, k] = _exact(states, targets)
            arrays[f"overlap_{rule}_n{n}"] = overlaps
            arrays[f"exact_{rule}_n{n}"] = exact
            metrics[f"critical_load_{rule}_n{n}"] = _critical_load(
                loads, overlaps.mean(axis=0), threshold)
    biggest = max(sizes)
    for rule in rules:
        metrics[f"critical_load_{rule}"] = metrics[f"critical_load_{rule}_n{biggest}"]
    metrics["seconds"] = time.perf_counter() - t0

    def show(value):
        return f">= {loads[-1]:g}" if np.isnan(value) else f"{value:.3f}"

    parts = [f"{rule} {show(metrics[f'critical_load_{rule}'])}" for rule in rules]
    summary = (f"critical load (mean overlap < {threshold:g}, {noise:.0%} noise) at N={biggest}: "
               + ", ".join(parts) + " (Hebbian theory 0.138)")
    return Result(metrics=metrics, arrays=arrays, summary=summary)
