"""Price series for the market-timing model of part D: OHLC(V) CSV files,
synthetic series with a known amount of predictability, and the features and
labels built from them without look-ahead.

Conventions: ``close`` has one price per period ``t = 0 .. n-1``; the log
return of period ``t`` is ``r[t] = log(close[t] / close[t-1])`` (``t >= 1``).
The row at ``t`` of :func:`features` uses only ``r[t - window + 1 .. t]``
(and, when given, the volumes and high/low ranges of the same periods), i.e.
data up to ``t``; its label (:func:`labels`) is the direction of the NEXT
return ``r[t + 1]``.

Synthetic sources: :func:`synthetic_prices` (AR(1) log returns; 0 is a pure
random walk), :func:`regime_prices` (a Markov chain switching between a
trending and a mean-reverting regime) and :func:`synthetic_ohlc` (plausible
open, high, low and volume around a close series).
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


def _check_bar(path, line, open_, high, low, close):
    """A bar must satisfy low <= open, close <= high."""
    if high < low:
        raise ValueError(f"{_where(path, line, 'high')}: high {high!r} is below low {low!r}; "
                         "expected low <= high.")
    for name, value in (("open", open_), ("close", close)):
        if not low <= value <= high:
            raise ValueError(f"{_where(path, line, name)}: {name} {value!r} is outside the bar's "
                             f"range [low, high] = [{low!r}, {high!r}].")


def read_ohlc(path):
    """Read an OHLC(V) CSV file.

    The header names a ``Date`` column and ``Open``, ``High``, ``Low``,
    ``Close`` and optionally ``Volume`` columns, in any order and any case;
    other columns are ignored. Dates are ISO ``YYYY-MM-DD`` and must strictly
    increase; prices must be numbers > 0 with ``Low <= Open, Close <= High``,
    volumes numbers >= 0. Blank lines are skipped. Any bad cell raises
    ValueError naming the row (the line of the file, the header being row 1)
    and the column.

    Returns
    -------
    OHLC
    """
    path = str(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except UnicodeDecodeError as err:   # (an HDF5 file, say: UTF-8's error named no file)
        raise ValueError(f"{path}: not a text file in UTF-8 (byte {err.start} is "
                         f"{err.object[err.start:err.start + 1]!r}); expected a CSV file with "
                         "columns Date, Open, High, Low, Close (Volume optional).") from None
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
        _check_bar(path, line, *(values[name][-1] for name in PRICE_COLUMNS))
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
    a = _check_coefficient(autocorrelation, "autocorrelation")
    volatility = check_float(volatility, "volatility", low=0.0, low_inclusive=False)
    start = check_float(start, "start", low=0.0, low_inclusive=False)
    e = np.random.default_rng(seed).standard_normal(n - 1)
    r = np.empty(n - 1)
    scale = volatility * np.sqrt(1.0 - a * a)
    r[0] = volatility * e[0]
    for t in range(1, n - 1):
        r[t] = a * r[t - 1] + scale * e[t]
    return start * np.exp(np.concatenate([[0.0], np.cumsum(r)]))


def _check_coefficient(value, name):
    return check_float(value, name, low=-1.0, high=1.0, low_inclusive=False, high_inclusive=False)


def regime_prices(n, seed, trend=0.6, revert=-0.4, switch=0.02, volatility=0.01, start=100.0):
    """``n`` closing prices whose log returns switch between two AR(1) regimes.

    A two-state Markov chain ``s[t]`` (1: trending, 0: mean-reverting) keeps
    its state from one period to the next with probability ``1 - switch`` and
    flips with probability ``switch`` (mean stay ``1 / switch`` periods);
    ``s[0]`` is 0 or 1 with probability 1/2, the chain's stationary law. The
    return into period ``t >= 1`` is::

        a = trend if s[t] == 1 else revert
        r[t] = a * r[t-1] + volatility * sqrt(1 - a**2) * e[t]

    with ``e`` standard normal and ``r[0] = 0``, so within a regime returns
    have standard deviation about ``volatility`` and lag-1 autocorrelation
    ``a``: positive (momentum) while trending, negative while mean-reverting.
    Knowing the regime, the best hit rate on the next sign is
    ``0.5 + arcsin(|a|) / pi`` (0.705 for 0.6, 0.631 for -0.4). ``seed`` seeds
    NumPy's generator (the same seed gives the same path and prices).

    Returns
    -------
    close : ndarray of shape (n,), float64
        ``close[0] = start``.
    regime : ndarray of shape (n,), int64
        ``s``: the regime of the return into each period.
    """
    n = check_int(n, "n", low=2)
    trend = _check_coefficient(trend, "trend")
    revert = _check_coefficient(revert, "revert")
    switch = check_float(switch, "switch", low=0.0, high=1.0)
    volatility = check_float(volatility, "volatility", low=0.0, low_inclusive=False)
    start = check_float(start, "start", low=0.0, low_inclusive=False)
    rng = np.random.default_rng(seed)
    first = rng.integers(2)
    flips = rng.random(n - 1) < switch
    e = rng.standard_normal(n - 1)
    regime = np.concatenate([[first], (first + np.cumsum(flips)) % 2]).astype(np.int64)
    coefficient = np.where(regime[1:] == 1, trend, revert)
    scale = volatility * np.sqrt(1.0 - coefficient * coefficient)
    r = np.empty(n - 1)
    previous = 0.0
    for t in range(n - 1):
        previous = coefficient[t] * previous + scale[t] * e[t]
        r[t] = previous
    close = start * np.exp(np.concatenate([[0.0], np.cumsum(r)]))
    return close, regime


def synthetic_ohlc(close, seed, start_date="2000-01-03"):
    """A plausible OHLCV table around a close series, for tests and synthetic runs.

    ``open[t] = close[t-1]`` (``open[0] = close[0]``); the bar stretches beyond
    its body by half-normal amounts of scale ``sigma / 2``, ``sigma`` being the
    standard deviation of the log returns::

        high[t] = max(open[t], close[t]) * exp(sigma / 2 * |u[t]|)
        low[t]  = min(open[t], close[t]) * exp(-sigma / 2 * |w[t]|)

    and volume rises with the size of the move, as it does in markets::

        volume[t] = 1e6 * exp(0.5 * |r[t]| / sigma + 0.25 * v[t])

    with ``u``, ``w``, ``v`` standard normal drawn from ``seed`` (give a seed
    other than the one that drew ``close``). Volume and range carry no
    information about the NEXT move beyond what the returns do. Dates are
    consecutive business days from ``start_date``.

    Returns
    -------
    OHLC
    """
    close = _check_close(close)
    n = len(close)
    rng = np.random.default_rng(seed)
    u, w, v = rng.standard_normal((3, n))
    r = np.concatenate([[0.0], np.diff(np.log(close))])
    sigma = float(r[1:].std()) if n > 2 else 0.0
    sigma = sigma if sigma > 0 else 0.01
    open_ = np.concatenate([close[:1], close[:-1]])
    high = np.maximum(open_, close) * np.exp(0.5 * sigma * np.abs(u))
    low = np.minimum(open_, close) * np.exp(-0.5 * sigma * np.abs(w))
    volume = 1e6 * np.exp(0.5 * np.abs(r) / sigma + 0.25 * v)
    dates = np.busday_offset(np.datetime64(start_date, "D"), np.arange(n), roll="forward")
    return OHLC(dates.astype("datetime64[D]"), open_, high, low, close.copy(), volume)


def _check_close(close):
    close = np.asarray(close)
    if close.ndim != 1 or close.dtype.kind not in "iuf":
        raise ValueError(f"close must be a 1-D numeric array; got shape {close.shape}, dtype {close.dtype}.")
    close = close.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(close) | (close <= 0))
    if bad.size:
        raise ValueError(f"close must hold finite prices > 0; got {float(close[bad[0]])!r} at index {bad[0]}.")
    return close


def _check_series(values, name, n, positive):
    values = np.asarray(values)
    if values.ndim != 1 or values.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be a 1-D numeric array; got shape {values.shape}, "
                         f"dtype {values.dtype}.")
    if len(values) != n:
        raise ValueError(f"{name} must have one value a period, like close ({n}); got {len(values)}.")
    values = values.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(values) | ((values <= 0) if positive else (values < 0)))
    if bad.size:
        what = "finite prices > 0" if positive else "finite numbers >= 0"
        raise ValueError(f"{name} must hold {what}; got {float(values[bad[0]])!r} at index {bad[0]}.")
    return values


def log_returns(close):
    """``r`` of shape (n,): ``r[0] = nan``, ``r[t] = log(close[t] / close[t-1])``."""
    close = _check_close(close)
    return np.concatenate([[np.nan], np.diff(np.log(close))])


def _windows(series, window):
    """Row ``t >= window`` holds ``series[t - window + 1 .. t]`` (oldest first);
    rows before are NaN."""
    n = len(series)
    X = np.full((n, window), np.nan)
    for j in range(window):
        X[window:, j] = series[1 + j:n - window + 1 + j]
    return X


def features(close, window, train_end=None, *, train_start=None, volume=None, high=None, low=None):
    """Windows of past log returns (and optionally volume and range), standardised.

    Row ``t`` holds ``r[t - window + 1], ..., r[t]`` (oldest first): prices up to
    ``t`` only. With ``volume`` it also holds the log volume changes of the
    same periods, ``log1p(volume[s]) - log1p(volume[s-1])`` (``log1p`` keeps
    a zero volume finite); with ``high`` and ``low`` the log ranges
    ``log(high[s] / low[s])`` (to first order ``(high - low) / close``, and
    finite when ``high == low``). Columns: the returns, then the volume
    changes, then the ranges, ``window`` of each. Every value of row ``t``
    is known at the close of ``t``.

    Rows ``t < window`` have no full window and are NaN. Each column is
    standardised with the mean and standard deviation of the training rows
    ``max(window, train_start) <= t < train_end`` (``train_end`` None: every
    row, which looks ahead and is meant for exploration only), so changing
    any value at or after ``train_end`` changes no row before it, and a
    rolling window's statistics ignore rows before ``train_start``.

    Returns
    -------
    X : ndarray of shape (n, window * (1 + [volume given] + [range given])), float64
    """
    close = _check_close(close)
    n = len(close)
    window = check_int(window, "window", low=1, high=max(1, n - 3))
    if train_end is None:
        train_end = n
    train_end = check_int(train_end, "train_end", low=window + 2, high=n)
    train_start = window if train_start is None else check_int(train_start, "train_start", low=window,
                                                               high=train_end - 2)
    if (high is None) != (low is None):
        raise ValueError("high and low must be given together for the range features; got "
                         f"{'high' if low is None else 'low'} only.")
    blocks = [_windows(log_returns(close), window)]
    if volume is not None:
        volume = _check_series(volume, "volume", n, positive=False)
        blocks.append(_windows(np.concatenate([[np.nan], np.diff(np.log1p(volume))]), window))
    if high is not None:
        high = _check_series(high, "high", n, positive=True)
        low = _check_series(low, "low", n, positive=True)
        below = np.flatnonzero(high < low)
        if below.size:
            k = below[0]
            raise ValueError(f"high must be >= low in every period; got high {float(high[k])!r} < low "
                             f"{float(low[k])!r} at index {k}.")
        blocks.append(_windows(np.log(high / low), window))
    X = np.hstack(blocks) if len(blocks) > 1 else blocks[0]
    train = X[train_start:train_end]
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
