"""Pictures (matplotlib, an optional extra: ``pip install fastnn[plot]``).

Every function draws with the Agg backend into a PNG and returns the path.
The generic pictures live here: training curves across a sweep or of fitted
models, and confusion matrices; model pictures (filters, RBM features, recalled
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


def training_curves(models, out_png, title=None):
    """The loss curve of each fitted model (``loss_curve_``: an epoch, or an
    L-BFGS iteration, a point) and, beside it, the validation score of those
    that held out a validation set (``early_stopping``).

    models : a fitted model, or a dict {label: model} to compare (labels
        default to the class name and solver).
    Returns ``out_png``.
    """
    if not isinstance(models, dict):
        models = {_model_label(models): models}
    if not models:
        raise ValueError("models must hold at least one fitted model; got an empty dict.")
    for label, model in models.items():
        if not getattr(model, "loss_curve_", None):
            raise ValueError(f"training_curves needs fitted models with a loss_curve_; {label!r} "
                             f"({type(model).__name__}) has none: fit it first.")
    scored = {label: m for label, m in models.items() if getattr(m, "validation_scores_", None)}
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2 if scored else 1, figsize=(12 if scored else 7, 4.5),
                             squeeze=False)
    ax = axes[0, 0]
    colors = {}   # a model's colour in both panels
    for label, model in models.items():
        curve = np.asarray(model.loss_curve_, dtype=float)
        line, = ax.plot(np.arange(1, len(curve) + 1), curve, label=label)
        colors[label] = line.get_color()
    ax.set_xlabel("epoch (L-BFGS: iteration)")
    ax.set_ylabel("training loss")
    if all(np.all(np.asarray(m.loss_curve_) > 0) for m in models.values()):
        ax.set_yscale("log")
    ax.legend(fontsize="small")
    if scored:
        right = axes[0, 1]
        for label, model in scored.items():
            scores = np.asarray(model.validation_scores_, dtype=float)
            right.plot(np.arange(1, len(scores) + 1), scores, label=label, color=colors[label])
        right.set_xlabel("epoch")
        right.set_ylabel("validation score")
        right.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out_png, dpi=120)
    plt.close(fig)
    return os.fspath(out_png)


def _model_label(model):
    solver = getattr(model, "solver", None)
    return type(model).__name__ + (f" ({solver})" if solver else "")


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
