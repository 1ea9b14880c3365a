"""Hopfield pictures (matplotlib, an optional extra: ``pip install fastnn[plot]``).

Like ``fastnn.plots``: each function draws with the Agg backend into a PNG and
returns the path. To be folded into ``fastnn.plots``.
"""
import numpy as np

from ._validation import check_int
from .plots import _pyplot


def _image(row, shape):
    return np.asarray(row, dtype=np.float64).reshape(shape)


def hopfield_recall(probes, recalled, stored, shape, out_png, title=None, max_rows=12):
    """One row per probe: probe -> recalled -> stored, as images.

    probes, recalled, stored : arrays of shape (n, n_units)
        Row ``k`` of each belongs together (``stored``: the pattern the probe
        was made from). {-1, +1} or {0, 1}.
    shape : (height, width)
        Image shape of a pattern (row-major), e.g. ``(10, 10)`` for the letters.
    max_rows : int >= 1
        Draw at most this many rows.

    Returns ``out_png``.
    """
    probes, recalled, stored = (np.asarray(a) for a in (probes, recalled, stored))
    if not (probes.shape == recalled.shape == stored.shape) or probes.ndim != 2:
        raise ValueError(f"probes, recalled and stored must be 2-D arrays of one shape; got "
                         f"{probes.shape}, {recalled.shape} and {stored.shape}.")
    if len(probes) == 0:
        raise ValueError(f"probes, recalled and stored must hold at least one row; got shape "
                         f"{probes.shape}.")
    max_rows = check_int(max_rows, "max_rows", low=1)
    shape = tuple(int(s) for s in shape)
    if len(shape) != 2 or shape[0] * shape[1] != probes.shape[1]:
        raise ValueError(f"shape must be (height, width) with height * width = "
                         f"{probes.shape[1]}; got {shape}.")
    n = min(len(probes), max_rows)
    plt = _pyplot()
    fig, axes = plt.subplots(n, 3, figsize=(4.2, 1.35 * n + 0.5), squeeze=False)
    for k in range(n):
        same = np.array_equal(recalled[k], stored[k])
        for c, (row, label) in enumerate(((probes[k], "probe"), (recalled[k], "recalled"),
                                          (stored[k], "stored"))):
            ax = axes[k, c]
            ax.imshow(_image(row, shape), cmap="gray_r", interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if k == 0:
                ax.set_title(label, fontsize=9)
            if c == 1:
                for spine in ax.spines.values():
                    spine.set_edgecolor("tab:green" if same else "tab:red")
                    spine.set_linewidth(2)
    if title:
        import textwrap
        fig.suptitle(textwrap.fill(title, 48), fontsize=8)
    fig.tight_layout()
    fig.savefig(out_png, dpi=110)
    plt.close(fig)
    return out_png


def hopfield_capacity(loads, curves, out_png, ylabel="mean overlap", threshold=None,
                      theory=0.138, title=None):
    """Recall quality against load P/N, one line per (rule, size).

    loads : array of shape (n_loads,)
    curves : dict ``{(rule, n_units): values}``; values of shape (n_loads,) or
        (n_seeds, n_loads) (drawn as the mean with a min-max band).
    threshold : float or None
        A horizontal line (the critical-load criterion).
    theory : float or None
        A vertical line at the Hebbian critical load.

    ``curves_from_result`` builds ``curves`` from the arrays of the
    ``hopfield-capacity`` recipe. Returns ``out_png``.
    """
    loads = np.asarray(loads, dtype=np.float64)
    if not curves:
        raise ValueError("curves must hold at least one curve; got none.")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    rules = sorted({rule for rule, _ in curves})
    sizes = sorted({n for _, n in curves})
    colors = dict(zip(rules, ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple")))
    styles = dict(zip(sizes, ("-", "--", ":", "-.")))
    for (rule, n), values in sorted(curves.items()):
        values = np.atleast_2d(np.asarray(values, dtype=np.float64))
        if values.shape[1] != len(loads):
            raise ValueError(f"curve {(rule, n)} has {values.shape[1]} values; expected one per "
                             f"load ({len(loads)}).")
        ax.plot(loads, values.mean(axis=0), styles.get(n, "-"), color=colors.get(rule),
                marker=".", label=f"{rule}, N={n}")
        if len(values) > 1:
            ax.fill_between(loads, values.min(axis=0), values.max(axis=0),
                            color=colors.get(rule), alpha=0.12)
    if threshold is not None:
        ax.axhline(threshold, color="gray", lw=0.8, ls=":")
    if theory is not None:
        ax.axvline(theory, color="black", lw=0.8, ls="--")
        ax.text(theory, ax.get_ylim()[0], f" {theory:g}", va="bottom", fontsize=8)
    ax.set_xlabel("load P/N")
    ax.set_ylabel(ylabel)
    ax.set_title(title or "Hopfield network capacity")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(out_png, dpi=110)
    plt.close(fig)
    return out_png


def curves_from_result(arrays, metric="overlap"):
    """``{(rule, n): (n_seeds, n_loads) array}`` from the arrays of a
    ``hopfield-capacity`` result (``metric``: 'overlap' or 'exact')."""
    out = {}
    prefix = f"{metric}_"
    for key, value in arrays.items():
        if key.startswith(prefix) and "_n" in key:
            rule, _, size = key[len(prefix):].rpartition("_n")
            if size.isdigit():
                out[(rule, int(size))] = np.asarray(value)
    return out
