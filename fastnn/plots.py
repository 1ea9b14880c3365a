"""Pictures (matplotlib, an optional extra: ``pip install fastnn[plot]``).

Every function draws with the Agg backend into a PNG and returns the path.
The generic pictures live here: training curves across a sweep and
confusion matrices; model pictures (filters, RBM features, recalled
patterns...) are added beside them as further functions.
"""
import json
import os

import numpy as np


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise ImportError("fastnn's pictures need matplotlib: pip install 'fastnn[plot]'") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    return plt


def curves(path_or_table, metric, out_png, band="minmax", title=None):
    """Curve ``metric`` of every configuration: the mean over seeds, with a band.

    path_or_table : a results file path (or an open store).
    band : "minmax" (the range over seeds) or "std" (mean +/- one standard
        deviation). Curves of unequal length are cut to the shortest.
    Returns ``out_png``.
    """
    from .experiments.load import records
    if band not in ("minmax", "std"):
        raise ValueError(f"band must be one of ['minmax', 'std']; got {band!r}.")
    _, metric_columns = records(path_or_table, metric_columns=True)
    groups = _config_groups(path_or_table, metric, set(metric_columns))
    if not groups:
        raise ValueError(f"no run in {path_or_table} has a curve {metric!r}.")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, runs in groups.items():
        n = min(len(c) for c in runs)
        stack = np.vstack([c[:n] for c in runs])
        x = np.arange(1, n + 1)
        mean = stack.mean(axis=0)
        if band == "std":
            low, high = mean - stack.std(axis=0), mean + stack.std(axis=0)
        else:
            low, high = stack.min(axis=0), stack.max(axis=0)
        line, = ax.plot(x, mean, label=f"{label} (n={len(runs)})")
        if len(runs) > 1:
            ax.fill_between(x, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    if title:
        ax.set_title(title)
    if metric.endswith("loss") and all(np.all(np.concatenate(r) > 0) for r in groups.values()):
        ax.set_yscale("log")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(out_png, dpi=120)
    plt.close(fig)
    return out_png


def _config_groups(source, metric, metric_columns):
    """{label: [curve, ...]} grouping runs by configuration (everything but the seed)."""
    from .experiments.load import load_curves, records
    recs = records(source)
    curves_by_run = load_curves(source, metric)
    skip = {"run_id", "seed", "status", "error"} | set(metric_columns)
    configs = {}
    for rec in recs:
        if rec["run_id"] in curves_by_run:
            configs[rec["run_id"]] = {k: v for k, v in rec.items() if k not in skip}
    names = sorted(set().union(*(c.keys() for c in configs.values()))) if configs else []
    varying = [n for n in names
               if len({json.dumps(c.get(n), default=str) for c in configs.values()}) > 1]
    groups = {}
    for run_id, config in configs.items():
        label = ", ".join(f"{n}={config.get(n)}" for n in varying) or str(config.get("recipe", ""))
        groups.setdefault(label, []).append(np.asarray(curves_by_run[run_id], dtype=float))
    return groups


def confusion_matrix(matrix, labels, out_png, title=None, normalize=False):
    """Draw a confusion matrix (rows: true class, columns: predicted) with counts.

    labels : class names, or None for 0..n-1.
    normalize : show each row as fractions of its total.
    Returns ``out_png``.
    """
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"matrix must be a square 2-D array; got shape {m.shape}.")
    n = m.shape[0]
    labels = [str(i) for i in range(n)] if labels is None else [str(x) for x in labels]
    if len(labels) != n:
        raise ValueError(f"labels must have {n} entries (one per class); got {len(labels)}.")
    shown = m / np.maximum(m.sum(axis=1, keepdims=True), 1) if normalize else m
    plt = _pyplot()
    size = max(3.5, 0.5 * n + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    image = ax.imshow(shown, cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(n), labels)
    ax.set_yticks(range(n), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title)
    if n <= 20:
        threshold = shown.max() / 2 if shown.size else 0
        for i in range(n):
            for j in range(n):
                text = f"{shown[i, j]:.2f}" if normalize else f"{int(round(m[i, j]))}"
                ax.text(j, i, text, ha="center", va="center", fontsize="small",
                        color="white" if shown[i, j] > threshold else "black")
    fig.tight_layout()
    fig.savefig(out_png, dpi=120)
    plt.close(fig)
    return os.fspath(out_png)


# Model pictures live beside their family and are reachable from here.
def __getattr__(name):
    families = {"hopfield_recall": "plots_hopfield", "hopfield_capacity": "plots_hopfield",
                "feature_maps": "plots_cnn", "feature_maps_arrays": "plots_cnn",
                "rbm_components": "plots_rbm", "timing": "plots_timing"}
    if name in families:
        import importlib
        return getattr(importlib.import_module(f"fastnn.{families[name]}"), name)
    raise AttributeError(f"module 'fastnn.plots' has no attribute {name!r}")
