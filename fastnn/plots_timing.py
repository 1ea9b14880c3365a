"""Market-timing pictures (matplotlib, an optional extra: ``pip install fastnn[plot]``).

Like ``fastnn.plots``: each function draws with the Agg backend into a PNG and
returns the path. ``fastnn plot RESULTS --picture timing`` draws
:func:`timing` from a stored run of the ``timing`` recipe.
"""
import os

import numpy as np

from .plots import _pyplot


def _parts(path_or_run, run_id):
    """(metrics, curves, arrays, title) of a timing run given as a Result, a
    ``load_run`` dict, or a results file (``run_id`` or its first finished
    ``timing`` run)."""
    if hasattr(path_or_run, "metrics") and hasattr(path_or_run, "arrays"):
        return path_or_run.metrics, path_or_run.curves, path_or_run.arrays, "timing"
    if isinstance(path_or_run, dict):
        run = path_or_run
    elif isinstance(path_or_run, (str, os.PathLike)):
        from .experiments.load import load_run, records
        path = os.fspath(path_or_run)
        if run_id is None:
            done = [r["run_id"] for r in records(path) if r["status"] == "done" and r["recipe"] == "timing"]
            if not done:
                raise ValueError(f"{path} has no finished run of the timing recipe.")
            run_id = done[0]
        run = load_run(path, run_id)
    else:
        raise TypeError("path_or_run must be a results file path, a Result or a load_run dict; got "
                        f"{type(path_or_run).__name__}.")
    title = f"{run.get('recipe', 'timing')} {run.get('run_id', '')}".strip()
    return run["metrics"], run["curves"], run["arrays"], title


def timing(path_or_run, out_png, run_id=None, title=None):
    """Two panels of a ``timing`` run: the equity curves of the strategy and of
    buy-and-hold (log scale), and the rolling hit rate with the 0.5 line and
    the overall hit rate's 95% interval.

    path_or_run : a results file path (its run ``run_id``, default the first
        finished ``timing`` run), a ``load_run`` dict or a Result.
    Returns ``out_png``.
    """
    metrics, curves, arrays, default_title = _parts(path_or_run, run_id)
    missing = [k for k in ("equity", "buy_and_hold", "rolling_hit_rate") if k not in curves]
    missing += [k for k in ("hit_rate", "hit_rate_low", "hit_rate_high") if k not in metrics]
    if "predictions" not in arrays:
        missing.append("predictions")
    if missing:
        raise ValueError(f"the timing picture needs a run of the timing recipe; this run lacks {missing}.")
    predictions = np.asarray(arrays["predictions"], dtype=np.float64)
    equity = np.asarray(curves["equity"], dtype=np.float64)
    hold = np.asarray(curves["buy_and_hold"], dtype=np.float64)
    rolling = np.asarray(curves["rolling_hit_rate"], dtype=np.float64)
    rows = predictions[:, 0]
    # equity[k] is the value after the move of prediction row k - 1
    x_equity = np.concatenate([rows[:1], rows + 1]) if len(rows) else np.arange(len(equity))
    labelled = rows[predictions[:, 3] >= 0]
    width = len(labelled) - len(rolling) + 1
    x_rolling = labelled[width - 1:] if 0 < width <= len(labelled) else np.arange(len(rolling))
    x_label = "period"
    if "prediction_dates" in arrays:
        dates = np.asarray(arrays["prediction_dates"]).astype("datetime64[D]")
        by_row = dict(zip(rows.astype(np.int64).tolist(), dates))
        step = dates[-1] - dates[-2] if len(dates) > 1 else np.timedelta64(1, "D")
        x_equity = np.concatenate([dates, dates[-1:] + step]) if len(dates) else x_equity
        x_rolling = np.array([by_row[int(r)] for r in x_rolling], dtype="datetime64[D]")
        x_label = "date"
    hit, low, high = (float(metrics[k]) for k in ("hit_rate", "hit_rate_low", "hit_rate_high"))
    plt = _pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6.5), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 2]})
    top.plot(x_equity, equity, color="tab:blue", lw=1.2,
             label=f"strategy {float(equity[-1]) - 1:+.1%}")
    top.plot(x_equity, hold, color="gray", lw=1.0, label=f"buy and hold {float(hold[-1]) - 1:+.1%}")
    top.axhline(1.0, color="black", lw=0.6, ls=":")
    if np.all(equity > 0) and np.all(hold > 0):
        from matplotlib.ticker import FuncFormatter
        top.set_yscale("log")
        plain = FuncFormatter(lambda v, _: f"{v:g}")
        top.yaxis.set_major_formatter(plain)
        top.yaxis.set_minor_formatter(plain)
    top.set_ylabel("equity (start = 1)")
    top.legend(fontsize="small", loc="upper left")
    top.set_title(title or default_title)
    bottom.plot(x_rolling, rolling, color="tab:blue", lw=1.0,
                label=f"rolling hit rate ({width if width > 0 else len(rolling)} predictions)")
    bottom.axhspan(low, high, color="tab:orange", alpha=0.2,
                   label=f"overall {hit:.3f}, 95% interval [{low:.3f}, {high:.3f}]")
    bottom.axhline(hit, color="tab:orange", lw=1.0)
    bottom.axhline(0.5, color="black", lw=0.8, ls="--", label="0.5 (a coin)")
    bottom.set_ylim(0, 1)
    bottom.set_ylabel("hit rate")
    bottom.set_xlabel(x_label)
    bottom.legend(fontsize="small", loc="lower left")
    fig.tight_layout()
    fig.savefig(out_png, dpi=110)
    plt.close(fig)
    return out_png
