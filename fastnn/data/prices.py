"""Price series for the market-timing model of part D: OHLC(V) CSV files,
synthetic series with a known amount of predictability, and the features and
labels built from them without look-ahead.

Conventions: ``close`` has one price per period ``t = 0 .. n-1``; the log
return of period ``t`` is ``r[t] = log(close[t] / close[t-1])`` (``t >= 1``).
The row at ``t`` of :func:`features` uses only ``r[t - window + 1 .. t]``,
i.e. prices up to ``t``; its label (:func:`labels`) is the direction of the
NEXT return ``r[t + 1]``.
"""
import csv
import datetime
from typing import NamedTuple, Optional

import numpy as np

from .._validation import check_float, check_int

REQUIRED = ("date", "open", "high", "low", "close")
PRICE_COLUMNS = ("open", "high", "low", "close")


class OHLC(NamedTuple):
    """A price table: ``dates`` (datetime64[D]) and one float64 array a column.
    ``volume`` is None when the file has no Volume column."""
    dates: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: Optional[np.ndarray]


def _where(path, row, column):
    return f"{path}: row {row}, column {column!r}"


def read_ohlc(path):
    """Read an OHLC(V) CSV file.

    The header names a ``Date`` column and ``Open``, ``High``, ``Low``,
    ``Close`` and optionally ``Volume`` columns, in any order and any case;
    other columns are ignored. Dates are ISO ``YYYY-MM-DD`` and must strictly
    increase; prices must be numbers > 0, volumes numbers >= 0. Blank lines
    are skipped. Any bad cell raises ValueError naming the row (the line of
    the file, the header being row 1) and the column.

    Returns
    -------
    OHLC
    """
    path = str(path)
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise ValueError(f"{path}: row 1: empty file; expected a header with columns "
                         "Date, Open, High, Low, Close (Volume optional).")
    header = [h.strip().lower() for h in rows[0]]
    for name in REQUIRED:
        if name not in header:
            raise ValueError(f"{_where(path, 1, name)}: missing from the header; expected columns "
                             f"Date, Open, High, Low, Close (Volume optional), got {rows[0]}.")
    for name in set(header):
        if name in REQUIRED + ("volume",) and header.count(name) > 1:
            raise ValueError(f"{_where(path, 1, name)}: appears {header.count(name)} times in the header.")
    columns = list(REQUIRED) + (["volume"] if "volume" in header else [])
    index = {name: header.index(name) for name in columns}
    dates, values = [], {name: [] for name in columns[1:]}
    previous = None
    for line, row in enumerate(rows[1:], start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            if len(row) < len(header):
                missing = [c for c in columns if index[c] >= len(row)]
                column = missing[0] if missing else rows[0][len(row)].strip()
            else:
                column = f"cell {len(header) + 1}, beyond the header"
            where = _where(path, line, column)
            raise ValueError(f"{where}: malformed row with {len(row)} cells; the header has "
                             f"{len(header)}.")
        text = row[index["date"]].strip()
        try:
            date = datetime.date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{_where(path, line, 'date')}: expected a date YYYY-MM-DD; "
                             f"got {text!r}.") from None
        if previous is not None and date <= previous:
            what = (f"duplicate date {date.isoformat()}, the same as the previous row's" if date == previous
                    else f"date {date.isoformat()} is before the previous row's {previous.isoformat()}")
            raise ValueError(f"{_where(path, line, 'date')}: {what}; dates must strictly increase.")
        previous = date
        dates.append(date)
        for name in columns[1:]:
            text = row[index[name]].strip()
            if not text:
                raise ValueError(f"{_where(path, line, name)}: missing value.")
            try:
                value = float(text)
            except ValueError:
                raise ValueError(f"{_where(path, line, name)}: expected a number; got {text!r}.") from None
            if name == "volume":
                if not np.isfinite(value) or value < 0:
                    raise ValueError(f"{_where(path, line, name)}: expected a finite number >= 0; "
                                     f"got {text!r}.")
            elif not np.isfinite(value) or value <= 0:
                raise ValueError(f"{_where(path, line, name)}: expected a finite price > 0; got {text!r}.")
            values[name].append(value)
    if not dates:
        raise ValueError(f"{path}: no data rows after the header.")
    return OHLC(np.array(dates, dtype="datetime64[D]"),
                *(np.array(values[name], dtype=np.float64) for name in PRICE_COLUMNS),
                np.array(values["volume"], dtype=np.float64) if "volume" in values else None)


def synthetic_prices(n, seed, autocorrelation=0.0, volatility=0.01, start=100.0):
    """``n`` closing prices whose log returns follow an AR(1) process::

        r[t] = autocorrelation * r[t-1] + volatility * sqrt(1 - autocorrelation**2) * e[t]

    with ``e`` standard normal (``seed`` seeds NumPy's generator) and ``r[1]``
    drawn from the stationary law, so every return has standard deviation
    ``volatility``. ``autocorrelation=0`` is a pure random walk (nothing to
    predict); for ``a != 0`` the best possible hit rate on the sign of the next
    return is ``0.5 + arcsin(|a|) / pi`` (0.597 for 0.3).
    ``close[0] = start``.
    """
    n = check_int(n, "n", low=2)
    a = check_float(autocorrelation, "autocorrelation", low=-1.0, high=1.0,
                    low_inclusive=False, high_inclusive=False)
    volatility = check_float(volatility, "volatility", low=0.0, low_inclusive=False)
    start = check_float(start, "start", low=0.0, low_inclusive=False)
    e = np.random.default_rng(seed).standard_normal(n - 1)
    r = np.empty(n - 1)
    scale = volatility * np.sqrt(1.0 - a * a)
    r[0] = volatility * e[0]
    for t in range(1, n - 1):
        r[t] = a * r[t - 1] + scale * e[t]
    return start * np.exp(np.concatenate([[0.0], np.cumsum(r)]))


def _check_close(close):
    close = np.asarray(close)
    if close.ndim != 1 or close.dtype.kind not in "iuf":
        raise ValueError(f"close must be a 1-D numeric array; got shape {close.shape}, dtype {close.dtype}.")
    close = close.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(close) | (close <= 0))
    if bad.size:
        raise ValueError(f"close must hold finite prices > 0; got {float(close[bad[0]])!r} at index {bad[0]}.")
    return close


def log_returns(close):
    """``r`` of shape (n,): ``r[0] = nan``, ``r[t] = log(close[t] / close[t-1])``."""
    close = _check_close(close)
    return np.concatenate([[np.nan], np.diff(np.log(close))])


def features(close, window, train_end=None):
    """Windows of past log returns, standardised, one row a period.

    Row ``t`` holds ``r[t - window + 1], ..., r[t]`` (oldest first): prices up to
    ``t`` only. Rows ``t < window`` have no full window and are NaN. Each
    column is standardised with the mean and standard deviation of the rows
    ``window <= t < train_end`` (the training window; None: every row, which
    looks ahead and is meant for exploration only), so changing prices at or
    after ``train_end`` changes no row before it.

    Returns
    -------
    X : ndarray of shape (n, window), float64
    """
    close = _check_close(close)
    n = len(close)
    window = check_int(window, "window", low=1, high=max(1, n - 3))
    if train_end is None:
        train_end = n
    train_end = check_int(train_end, "train_end", low=window + 2, high=n)
    r = log_returns(close)
    X = np.full((n, window), np.nan)
    for j in range(window):
        # column j at row t holds r[t - window + 1 + j]
        X[window:, j] = r[1 + j:n - window + 1 + j]
    train = X[window:train_end]
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std[std == 0] = 1.0
    return (X - mean) / std


def labels(close, dead_zone=0.0):
    """Direction of the NEXT return: ``y[t] = 1`` if ``r[t+1] > dead_zone``,
    0 if ``r[t+1] < -dead_zone``, -1 (no label) otherwise and for the last
    period, whose next return is unknown.

    Returns
    -------
    y : ndarray of shape (n,), int64
    """
    close = _check_close(close)
    dead_zone = check_float(dead_zone, "dead_zone", low=0.0)
    r_next = np.concatenate([log_returns(close)[1:], [0.0]])
    y = np.full(len(close), -1, dtype=np.int64)
    y[r_next > dead_zone] = 1
    y[r_next < -dead_zone] = 0
    y[-1] = -1
    return y
