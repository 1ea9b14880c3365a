"""Loading results for analysis.

``load(path)`` is a table with one row per run: ``run_id``, ``recipe``,
``seed``, ``status`` ('done', 'failed' or 'running'), ``error``, the run's
parameters as columns (list and tuple values as JSON strings, e.g.
``"[16, 8]"``), then the final metrics (a metric whose name is already a
column gets the prefix ``metric_``). It is a pandas DataFrame when pandas is
installed, otherwise a NumPy structured array with the same columns (numbers
as float64 with NaN where a run lacks the value, strings as unicode).

``load_curves(path, metric)`` is a dict ``run_id -> 1-D array`` for the runs
that recorded curve ``metric``; ``load_run(path, run_id)`` everything one run
stored.
"""
import json
import os

import numpy as np

from .registry import Result
from .store import MemoryStore, StoreError, check_name, check_run_id, open_store

BASE_COLUMNS = ("run_id", "recipe", "seed", "status", "error")


class _Opened:
    """Open a path read-only, or use a store object as it is."""

    def __init__(self, source):
        self._close = not isinstance(source, MemoryStore)
        self.store = open_store(source, mode="r") if self._close else source

    def __enter__(self):
        return self.store

    def __exit__(self, *exc):
        if self._close:
            self.store.close()


def _rows(source):
    with _Opened(source) as store:
        rows = store.rows()
    rows.sort(key=lambda r: (str(r.get("recipe", "")), int(r.get("order", 0)), r["run_id"]))
    return rows


def _config(text, source, run_id):
    """A run's stored configuration (JSON) as a dict; StoreError if it is damaged."""
    try:
        config = json.loads(text or "{}")
        why = "not a JSON object"
    except ValueError as err:
        config, why = None, f"not JSON: {err}"
    if not isinstance(config, dict):
        name = os.fspath(source) if isinstance(source, (str, os.PathLike)) else "the store"
        raise StoreError(f"{name} is damaged: the configuration of run {run_id} is {why}. "
                         f"Move it away.")
    return config


def _cell(value):
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value)
    return value


def records(source, metric_columns=False):
    """The table as a list of dicts (one per run), columns in table order.

    With ``metric_columns=True`` returns ``(records, names of the metric columns)``.
    """
    rows = _rows(source)
    out = []
    metrics = []
    for row in rows:
        config = _config(row.get("config"), source, row["run_id"])
        rec = {"run_id": row["run_id"], "recipe": row.get("recipe", config.get("recipe", "")),
               "seed": int(row.get("seed", config.get("seed", 0))),
               "status": row.get("status", "running"), "error": row.get("error", "")}
        for name, value in config.get("params", {}).items():
            rec[name if name not in BASE_COLUMNS else f"param_{name}"] = _cell(value)
        for name, value in row.get("metrics", {}).items():
            column = name if name not in rec else f"metric_{name}"
            rec[column] = value
            if column not in metrics:
                metrics.append(column)
        out.append(rec)
    return (out, metrics) if metric_columns else out


def _columns(recs):
    columns = list(BASE_COLUMNS)
    for rec in recs:
        for name in rec:
            if name not in columns:
                columns.append(name)
    return columns


def load(path):
    """One row per run (DataFrame when pandas is installed, else a structured array)."""
    recs = records(path)
    columns = _columns(recs)
    try:
        import pandas as pd
    except ImportError:
        return _structured(recs, columns)
    frame = pd.DataFrame.from_records(recs, columns=columns)
    if len(frame):
        frame["seed"] = frame["seed"].astype("int64")
    return frame


def _structured(recs, columns):
    fields, data = [], []
    for name in columns:
        values = [rec.get(name) for rec in recs]
        present = [v for v in values if v is not None]
        if present and all(isinstance(v, bool) for v in present) and len(present) == len(values):
            fields.append((name, "?"))
        elif (present and all(isinstance(v, int) and not isinstance(v, bool) for v in present)
              and len(present) == len(values)):
            fields.append((name, "i8"))
        elif present and all(isinstance(v, (int, float)) for v in present):
            fields.append((name, "f8"))
            values = [np.nan if v is None else float(v) for v in values]
        else:
            values = ["" if v is None else str(v) for v in values]
            fields.append((name, f"U{max([1] + [len(v) for v in values])}"))
        data.append(values)
    return np.array(list(zip(*data)) if recs else [], dtype=fields)


def load_curves(path, metric):
    """``{run_id: 1-D array}`` of curve ``metric`` for every run that has it."""
    check_name(metric, "metric")
    out = {}
    with _Opened(path) as store:
        for row in sorted(store.rows(), key=lambda r: (int(r.get("order", 0)), r["run_id"])):
            curve = store.curve(row["run_id"], metric)
            if curve is not None:
                out[row["run_id"]] = curve
    return out


def load_run(path, run_id):
    """Everything run ``run_id`` stored: a dict with ``run_id``, ``recipe``,
    ``seed``, ``status``, ``error``, ``summary``, ``config`` (dict),
    ``params``, ``metrics``, ``curves``, ``arrays``, ``text`` and ``attrs``
    (timings and provenance)."""
    check_run_id(run_id)
    with _Opened(path) as store:
        run = store.read_run(run_id)
    attrs = run["attrs"]
    config = _config(attrs.get("config"), path, run_id)
    return {"run_id": run_id, "recipe": attrs.get("recipe", ""), "seed": attrs.get("seed"),
            "status": attrs.get("status", "running"), "error": attrs.get("error", ""),
            "summary": attrs.get("summary", ""), "config": config,
            "params": config.get("params", {}), "metrics": run["metrics"],
            "curves": run["curves"], "arrays": run["arrays"], "text": run["text"], "attrs": attrs}


def result_from_run(run):
    """A stored run (``read_run``/``load_run`` output) as a Result."""
    if "attrs" in run and "params" not in run:
        attrs = run["attrs"]
    else:
        attrs = run.get("attrs", {})
    return Result(metrics=dict(run["metrics"]), curves=dict(run["curves"]),
                  arrays=dict(run["arrays"]), text=dict(run["text"]),
                  summary=attrs.get("summary", run.get("summary", "")))


def is_results_file(path):
    """True when ``path`` is an existing fastnn results file."""
    from .store import StoreError, inspect_file
    if not os.path.isfile(path):
        return False
    try:
        inspect_file(path)
    except StoreError:
        return False
    return True
