"""Part D's BP network as a market-timing model, evaluated walk-forward.

The network predicts the direction of the next period's return from windows
of past log returns (optionally volume changes and high/low ranges).
Walk-forward: at row ``t0`` the network is fitted on the labelled rows before
``t0`` (every earlier row with ``scheme='expanding'``, the last ``train`` rows
with ``scheme='rolling'``; features standardised with those rows' statistics),
predicts rows ``t0 .. t0 + retrain_every - 1``, and is refitted. A row's label
``r[t+1]`` is known once ``close[t+1]`` is, so every training row of a fit at
``t0`` uses data up to ``t0`` only, and no prediction at ``t <= T`` depends on
a price after ``T``.
"""
import math
import os

import numpy as np

from ..._validation import check_bool, check_float, check_int, check_option
from ..registry import Result, recipe

PREDICTION_COLUMNS = ("index", "probability_up", "predicted", "realised")
FIT_COLUMNS = ("predict_from", "train_from", "train_to", "n_train")
PERIODS_PER_YEAR = 252
ROLLING = 50          # predictions in the rolling hit rate
SCHEMES = ("expanding", "rolling")
POSITIONS = ("long_flat", "long_short")
SOURCES = ("ar1", "regimes", "random_walk")


def wilson_interval(hits, n, z=1.959963984540054):
    """Wilson score interval (95% by default) for a proportion ``hits / n``."""
    if n == 0:
        return 0.0, 1.0
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def part_d_network(seed, hidden=5, epochs=50, learning_rate=0.05, momentum=0.1,
                   activation="logistic"):
    """Part D's BP network as a classifier: sigmoid hidden and output units,
    squared error, per-sample updates in order, momentum on the previous
    gradient, a bias on the input layer only, weights in [-0.2, 0.2] and
    [-2, 2].

    ``hidden``: the hidden layer's size, or a list of sizes for several hidden
    layers (the later ones initialised in [-2, 2] too, without bias);
    ``activation``: the hidden units' activation ('logistic' as in part D,
    'tanh', 'relu', 'identity').
    """
    from ...models.mlp import MLPClassifier
    sizes = (hidden,) if np.ndim(hidden) == 0 else tuple(hidden)
    if len(sizes) == 0:
        raise ValueError(f"hidden must be a layer size or a non-empty list of sizes; got {hidden!r}.")
    # checked here under the caller's names (the classifier's are max_iter, learning_rate_init...)
    names = ["hidden"] if np.ndim(hidden) == 0 else [f"hidden[{i}]" for i in range(len(sizes))]
    sizes = tuple(check_int(h, name, low=1) for h, name in zip(sizes, names))
    check_int(epochs, "epochs", low=1)
    check_float(learning_rate, "learning_rate", low=0.0, low_inclusive=False)
    check_float(momentum, "momentum", low=0.0, high=1.0, high_inclusive=False)
    return MLPClassifier(sizes, activation=activation, output_activation="logistic",
                         loss="squared", solver="sgd", learning_rate_init=learning_rate,
                         momentum=momentum, momentum_rule="previous_gradient", batch_size=1,
                         max_iter=epochs, sample_order="sequential",
                         bias=(True,) + (False,) * len(sizes),
                         init=((-0.2, 0.2),) + ((-2.0, 2.0),) * len(sizes), tol=None, alpha=0.0,
                         random_state=seed)


def walk_forward(close, seed, window=10, train=500, retrain_every=50, dead_zone=0.0,
                 make_model=None, scheme="expanding", volume=None, high=None, low=None,
                 return_fits=False):
    """Walk-forward predictions of the next move.

    The first fit uses the ``train`` rows ``window .. window + train - 1``;
    predictions run from row ``window + train`` to the last row with a known
    next return (``n - 2``), refitting every ``retrain_every`` rows. A fit at
    ``t0`` trains on rows ``window .. t0 - 1`` (``scheme='expanding'``) or on
    the last ``train`` rows ``t0 - train .. t0 - 1`` (``scheme='rolling'``;
    the features are then standardised on those rows only, so nothing before
    ``t0 - train - window`` matters). ``make_model(seed)`` builds a fresh
    classifier for every fit (default: :func:`part_d_network`). Training rows
    inside the dead zone (label -1) are left out; when a training window holds
    one direction only, its rows are predicted with that direction's
    probability 1; when it holds none (every move within ``dead_zone``) there
    is nothing to predict from, and a ValueError names ``dead_zone``.
    ``volume``, ``high`` and ``low`` add those features (see
    :func:`fastnn.data.prices.features`).

    Returns
    -------
    predictions : ndarray of shape (n_predicted, 4), float64
        Columns ``PREDICTION_COLUMNS``: row index ``t``, probability of an up
        move, predicted direction (0/1), realised direction (0/1, -1 in the
        dead zone).
    fits : ndarray of shape (n_fits, 4), int64
        Only with ``return_fits=True``. Columns ``FIT_COLUMNS``: the first row
        the fit predicts, its training rows ``[train_from, train_to)`` and how
        many of them were labelled (used).
    """
    from ...data.prices import features, labels
    make_model = make_model or part_d_network
    window = check_int(window, "window", low=1)
    train = check_int(train, "train", low=2)
    retrain_every = check_int(retrain_every, "retrain_every", low=1)
    scheme = check_option(scheme, "scheme", SCHEMES)
    n = len(close)
    y = labels(close, dead_zone)
    start = window + train
    if start > n - 2:
        raise ValueError(f"train must leave rows to predict: window + train must be <= n - 2 = {n - 2}; "
                         f"got {window} + {train} = {start}.")
    out, fits = [], []
    for t0 in range(start, n - 1, retrain_every):
        t1 = min(t0 + retrain_every, n - 1)
        first = window if scheme == "expanding" else t0 - train
        X = features(close, window, train_end=t0, train_start=first, volume=volume, high=high, low=low)
        rows = np.arange(first, t0)
        rows = rows[y[rows] >= 0]
        classes = np.unique(y[rows])
        if len(classes) == 2:
            model = make_model(seed).fit(X[rows], y[rows])
            proba = model.predict_proba(X[t0:t1])[:, list(model.classes_).index(1)]
        elif len(classes) == 1:
            proba = np.full(t1 - t0, float(classes[0]))
        else:   # (no default direction: it would be traded on as a prediction)
            raise ValueError(
                f"dead_zone must leave labelled rows to train on; got {dead_zone!r}, which leaves "
                f"none of the {t0 - first} training rows of the fit at row {t0} (every next log "
                f"return within +-{dead_zone!r}). Lower dead_zone.")
        pred = (proba >= 0.5).astype(np.float64)
        out.append(np.column_stack([np.arange(t0, t1), proba, pred, y[t0:t1]]).astype(np.float64))
        fits.append((t0, first, t0, len(rows)))
    predictions = np.concatenate(out)
    if return_fits:
        return predictions, np.array(fits, dtype=np.int64)
    return predictions


def positions(predictions, position="long_flat"):
    """The position held over ``t -> t+1`` for each prediction row: 1 (long)
    when it predicts up; when it predicts down, 0 (``'long_flat'``) or -1
    (``'long_short'``)."""
    position = check_option(position, "position", POSITIONS)
    up = predictions[:, 2] > 0
    return np.where(up, 1.0, 0.0 if position == "long_flat" else -1.0)


def strategy(close, predictions, cost, position="long_flat"):
    """Equity of the timing strategy, rebalanced every period.

    Over ``t -> t+1`` the strategy holds :func:`positions` ``p`` (1, 0 or -1)
    and its equity grows by ``1 + p * (close[t+1] / close[t] - 1)``. It pays
    ``cost`` (a fraction of equity) per unit of position change, the first
    position counting from flat: entering or leaving a long costs ``cost``,
    flipping from long to short ``2 * cost`` (factor ``(1 - cost) ** 2``).
    Returns (equity, buy_and_hold, per-period simple returns of the strategy),
    the curves starting at 1.
    """
    cost = check_float(cost, "cost", low=0.0, high=1.0, high_inclusive=False)
    t = predictions[:, 0].astype(np.int64)
    growth = close[t + 1] / close[t]
    held = positions(predictions, position)
    changes = np.abs(np.diff(np.concatenate([[0.0], held])))
    factor = (1.0 + held * (growth - 1.0)) * (1.0 - cost) ** changes
    equity = np.concatenate([[1.0], np.cumprod(factor)])
    hold = np.concatenate([[1.0], np.cumprod(growth)])
    return equity, hold, factor - 1.0


def max_drawdown(equity):
    """The largest fall from a running peak, as a fraction of the peak (>= 0)."""
    peak = np.maximum.accumulate(equity)
    return float(np.max(1.0 - equity / peak))


def _load(csv, data, n, seed, autocorrelation, trend, revert, switch, use_volume, use_range):
    """(close, dates, volume, high, low, description) of the run's price source."""
    from ...data.prices import read_ohlc, regime_prices, synthetic_ohlc, synthetic_prices
    if csv:
        table = read_ohlc(csv)
        if use_volume and table.volume is None:
            raise ValueError(f"use_volume=True needs a Volume column in csv; {csv} has none "
                             "(set use_volume=false or add the column).")
        return (table.close, table.dates, table.volume if use_volume else None,
                table.high if use_range else None, table.low if use_range else None, f"{csv}")
    if data == "ar1":
        close = synthetic_prices(n, seed, autocorrelation=autocorrelation)
        source = f"a synthetic AR(1) {autocorrelation} series of {n} prices"
    elif data == "random_walk":
        close = synthetic_prices(n, seed, autocorrelation=0.0)
        source = f"a synthetic random walk of {n} prices"
    else:
        close, _ = regime_prices(n, seed, trend=trend, revert=revert, switch=switch)
        source = (f"a synthetic regime-switching series of {n} prices (AR(1) {trend} trending / "
                  f"{revert} mean-reverting, switch probability {switch})")
    volume = high = low = None
    if use_volume or use_range:
        table = synthetic_ohlc(close, seed=[seed, 1])
        volume = table.volume if use_volume else None
        high, low = (table.high, table.low) if use_range else (None, None)
    return close, None, volume, high, low, source


def _check(**p):
    """The recipe's checks that need no data, for sweeps to run before any run (the
    run repeats them where the values are used)."""
    csv = p["csv"]
    if not isinstance(csv, str):
        raise TypeError(f"csv must be a path (a str; '' for synthetic data); got "
                        f"{type(csv).__name__} {csv!r}.")
    if csv and not os.path.isfile(csv):
        raise ValueError(f"csv must name an OHLC(V) CSV file; got {csv!r}, "
                         f"{'a directory' if os.path.isdir(csv) else 'which does not exist'}.")
    check_option(p["data"], "data", SOURCES)
    check_option(p["scheme"], "scheme", SCHEMES)
    check_option(p["position"], "position", POSITIONS)
    check_int(p["window"], "window", low=1)
    check_int(p["train"], "train", low=2)
    check_int(p["retrain_every"], "retrain_every", low=1)
    check_float(p["cost"], "cost", low=0.0, high=1.0, high_inclusive=False)
    part_d_network(0, hidden=p["hidden"], epochs=p["epochs"], learning_rate=p["learning_rate"],
                   momentum=p["momentum"], activation=p["activation"])


@recipe("timing", family="timing", headline="hit_rate",
        article="part D: the BP network with momentum as a market-timing model; here evaluated "
                "walk-forward, hit rate with a 95% interval against 0.5",
        quick={"n": 800, "epochs": 20},
        warmup=lambda: timing(0, n=600, epochs=1),   # the recipe made small: its own kernels
        check=_check)
def timing(seed, csv="", data="ar1", n=1500, autocorrelation=0.3, trend=0.6, revert=-0.4, switch=0.02,
           window=10, train=500, retrain_every=50, scheme="expanding", position="long_flat",
           use_volume=False, use_range=False, hidden=(5,), activation="logistic", epochs=50,
           learning_rate=0.05, momentum=0.1, cost=0.0005, dead_zone=0.0):
    """Part D's BP network predicting the next move of a price series, walk-forward.

    ``csv=PATH`` reads an OHLC(V) file (``data`` and the synthetic parameters
    are then ignored); otherwise ``n`` synthetic prices: ``data='ar1'`` log
    returns AR(1) with coefficient ``autocorrelation``; ``'random_walk'`` a
    pure random walk (nothing to predict); ``'regimes'`` a Markov chain that
    switches with probability ``switch`` between a trending (AR(1) ``trend``)
    and a mean-reverting (AR(1) ``revert``) regime. Features: the last
    ``window`` log returns, plus, with ``use_volume`` / ``use_range``, the
    log volume changes / log high-low ranges of the same periods, all
    standardised on the training rows. Synthetic series get a plausible
    volume and range from ``fastnn.data.prices.synthetic_ohlc`` (volume
    rising with the size of the move; neither says anything about the next
    move); a CSV without a Volume column rejects ``use_volume``. Label: the
    sign of the next return (``dead_zone`` leaves small moves unlabelled; one
    that leaves no labelled training rows for a fit, or no labelled predicted
    rows to score the hit rate on, is refused with a ValueError).
    The network (``hidden``: the hidden layer sizes, part D's one of 5 sigmoid units;
    ``activation`` for other hidden units; ``epochs`` per-sample epochs) is
    refitted every ``retrain_every`` rows on all earlier rows
    (``scheme='expanding'``) or the last ``train`` rows (``'rolling'``),
    starting with ``train`` rows. The strategy is long when the network says
    up and flat (``position='long_flat'``) or short (``'long_short'``)
    otherwise, paying ``cost`` per unit of position change.
    """
    data = check_option(data, "data", SOURCES)
    scheme = check_option(scheme, "scheme", SCHEMES)
    position = check_option(position, "position", POSITIONS)
    use_volume = check_bool(use_volume, "use_volume")
    use_range = check_bool(use_range, "use_range")
    close, dates, volume, high, low, source = _load(csv, data, n, seed, autocorrelation, trend, revert,
                                                    switch, use_volume, use_range)
    def make(s):
        return part_d_network(s, hidden=hidden, activation=activation, epochs=epochs,
                              learning_rate=learning_rate, momentum=momentum)
    predictions, fits = walk_forward(close, seed, window=window, train=train, retrain_every=retrain_every,
                                     dead_zone=dead_zone, make_model=make, scheme=scheme, volume=volume,
                                     high=high, low=low, return_fits=True)
    predicted, realised = predictions[:, 2].astype(int), predictions[:, 3].astype(int)
    known = realised >= 0
    hits, total = int(np.sum(predicted[known] == realised[known])), int(np.sum(known))
    if total == 0:   # the hit rate, the recipe's headline, is undefined
        raise ValueError(
            f"dead_zone must leave labelled rows among the predictions to score the hit rate on; "
            f"got {dead_zone!r}: the next log return of every one of the {len(predictions)} "
            f"predicted rows lies within +-{dead_zone!r}. Lower dead_zone.")
    hit_rate = hits / total
    low_ci, high_ci = wilson_interval(hits, total)
    confusion = np.zeros((2, 2), dtype=np.int64)
    np.add.at(confusion, (realised[known], predicted[known]), 1)
    equity, hold, returns = strategy(close, predictions, cost, position)
    sd = returns.std()
    sharpe = float(returns.mean() / sd * math.sqrt(PERIODS_PER_YEAR)) if sd > 0 else 0.0
    hit = (predicted[known] == realised[known]).astype(float)  # rolling over labelled rows
    k = min(ROLLING, len(hit))
    rolling = np.convolve(hit, np.ones(k) / k, mode="valid") if k else np.zeros(0)
    if low_ci > 0.5:
        verdict = "beats 0.5 outside its 95% interval"
    elif high_ci < 0.5:
        verdict = "is below 0.5 outside its 95% interval"
    else:
        verdict = "does NOT beat 0.5: 0.5 lies inside its 95% interval"
    held = positions(predictions, position)
    metrics = {"hit_rate": hit_rate, "hit_rate_low": low_ci, "hit_rate_high": high_ci,
               "n_predictions": total, "strategy_return": float(equity[-1] - 1.0),
               "buy_and_hold_return": float(hold[-1] - 1.0), "sharpe": sharpe,
               "max_drawdown": max_drawdown(equity),
               "trades": int(np.sum(np.abs(np.diff(np.concatenate([[0.0], held]))))),
               "n_fits": len(fits)}
    arrays = {"predictions": predictions, "confusion_matrix": confusion, "fits": fits}
    if dates is not None:
        arrays["prediction_dates"] = dates[predictions[:, 0].astype(np.int64)].astype(np.int64)
    extra = [name for name, on in (("log volume changes", volume is not None),
                                   ("log high/low ranges", high is not None)) if on]
    described = f"the last {window} log returns" + "".join(f" and {window} {e}" for e in extra)
    if not csv and extra:
        described += " (synthetic volume and range from synthetic_ohlc: plausible, no extra information)"
    summary = (f"hit rate {hit_rate:.3f} [{low_ci:.3f}, {high_ci:.3f}] over {total} predictions on {source}: "
               f"{verdict}; {position.replace('_', '/')} strategy {metrics['strategy_return']:+.1%} vs "
               f"buy-and-hold {metrics['buy_and_hold_return']:+.1%}")
    text = {"predictions_columns": ", ".join(PREDICTION_COLUMNS)
            + ("; prediction_dates: days since 1970-01-01" if dates is not None else ""),
            "fits_columns": ", ".join(FIT_COLUMNS),
            "features": described,
            "walk_forward": (f"{scheme} window, first fit on {train} rows, refit every {retrain_every} rows; "
                             f"{position.replace('_', '/')} positions, cost {cost} per unit of position "
                             f"change; rolling_hit_rate over {k} labelled predictions")}
    return Result(metrics=metrics,
                  curves={"equity": equity, "buy_and_hold": hold, "rolling_hit_rate": rolling},
                  arrays=arrays, text=text, summary=summary)
