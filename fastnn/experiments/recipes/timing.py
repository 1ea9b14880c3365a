"""Part D's BP network as a market-timing model, evaluated walk-forward.

The network predicts the direction of the next period's return from a window
of past log returns. Walk-forward with an expanding window: at row ``t0`` the
network is fitted on every labelled row before ``t0`` (features standardised
with those rows' statistics), predicts rows ``t0 .. t0 + retrain_every - 1``,
and is refitted. A row's label ``r[t+1]`` is known once ``close[t+1]`` is, so
every training row of a fit at ``t0`` uses prices up to ``t0`` only, and no
prediction at ``t <= T`` depends on a price after ``T``.
"""
import math

import numpy as np

from ..registry import Result, recipe

PREDICTION_COLUMNS = ("index", "probability_up", "predicted", "realised")
PERIODS_PER_YEAR = 252


def wilson_interval(hits, n, z=1.959963984540054):
    """Wilson score interval (95% by default) for a proportion ``hits / n``."""
    if n == 0:
        return 0.0, 1.0
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def part_d_network(seed, hidden=5, epochs=50, learning_rate=0.05, momentum=0.1):
    """Part D's BP network as a classifier: sigmoid hidden and output units,
    squared error, per-sample updates in order, momentum on the previous
    gradient, a bias on the input layer only, weights in [-0.2, 0.2] and
    [-2, 2]."""
    from ...models.mlp import MLPClassifier
    return MLPClassifier((hidden,), activation="logistic", output_activation="logistic",
                         loss="squared", solver="sgd", learning_rate_init=learning_rate,
                         momentum=momentum, momentum_rule="previous_gradient", batch_size=1,
                         max_iter=epochs, sample_order="sequential", bias=(True, False),
                         init=((-0.2, 0.2), (-2.0, 2.0)), tol=None, alpha=0.0, random_state=seed)


def walk_forward(close, seed, window=10, train=500, retrain_every=50, dead_zone=0.0,
                 make_model=None):
    """Expanding-window walk-forward predictions of the next move.

    The first fit uses the ``train`` rows ``window .. window + train - 1``;
    predictions run from row ``window + train`` to the last row with a known
    next return (``n - 2``). ``make_model(seed)`` builds a fresh classifier
    for every fit (default: :func:`part_d_network`). Training rows inside the
    dead zone (label -1) are left out.

    Returns
    -------
    predictions : ndarray of shape (n_predicted, 4), float64
        Columns ``PREDICTION_COLUMNS``: row index ``t``, probability of an up
        move, predicted direction (0/1), realised direction (0/1, -1 in the
        dead zone).
    """
    from ...data.prices import features, labels
    make_model = make_model or part_d_network
    n = len(close)
    y = labels(close, dead_zone)
    start = window + train
    if start > n - 2:
        raise ValueError(f"train must leave rows to predict: window + train must be <= n - 2 = {n - 2}; "
                         f"got {window} + {train} = {start}.")
    out = []
    for t0 in range(start, n - 1, retrain_every):
        t1 = min(t0 + retrain_every, n - 1)
        X = features(close, window, train_end=t0)
        rows = np.arange(window, t0)
        rows = rows[y[rows] >= 0]
        model = make_model(seed).fit(X[rows], y[rows])
        proba = model.predict_proba(X[t0:t1])[:, list(model.classes_).index(1)]
        pred = (proba >= 0.5).astype(np.float64)
        out.append(np.column_stack([np.arange(t0, t1), proba, pred, y[t0:t1]]).astype(np.float64))
    return np.concatenate(out)


def strategy(close, predictions, cost):
    """Long/flat equity: long over ``t -> t+1`` when row ``t`` predicts up, flat
    otherwise, paying ``cost`` (a fraction of equity) at each position change
    (entering from flat at the start counts). Returns (equity, buy_and_hold,
    per-period simple returns of the strategy), the curves starting at 1."""
    t = predictions[:, 0].astype(np.int64)
    growth = close[t + 1] / close[t]
    position = predictions[:, 2]
    changes = np.abs(np.diff(np.concatenate([[0.0], position])))
    factor = np.where(position > 0, growth, 1.0) * (1.0 - cost) ** changes
    equity = np.concatenate([[1.0], np.cumprod(factor)])
    hold = np.concatenate([[1.0], np.cumprod(growth)])
    return equity, hold, factor - 1.0


def max_drawdown(equity):
    """The largest fall from a running peak, as a fraction of the peak (>= 0)."""
    peak = np.maximum.accumulate(equity)
    return float(np.max(1.0 - equity / peak))


def _load_close(csv, n, seed, autocorrelation):
    from ...data.prices import read_ohlc, synthetic_prices
    if csv:
        table = read_ohlc(csv)
        return table.close, table.dates
    return synthetic_prices(n, seed, autocorrelation=autocorrelation), None


@recipe("timing", family="timing", headline="hit_rate",
        article="part D: the BP network with momentum as a market-timing model; here evaluated "
                "walk-forward, hit rate with a 95% interval against 0.5",
        quick={"n": 800, "epochs": 20})
def timing(seed, csv="", n=1500, autocorrelation=0.3, window=10, train=500, retrain_every=50,
           hidden=5, epochs=50, learning_rate=0.05, momentum=0.1, cost=0.0005, dead_zone=0.0):
    """Part D's BP network predicting the next move of a price series, walk-forward.

    ``csv=PATH`` reads an OHLC(V) file (its Close column); otherwise ``n``
    synthetic prices whose log returns are AR(1) with coefficient
    ``autocorrelation`` (0: a pure random walk). Features: the last ``window``
    log returns, standardised on the training rows; label: the sign of the next
    return. The network (``hidden`` sigmoid units, ``epochs`` per-sample epochs)
    is refitted every ``retrain_every`` rows on all earlier rows, starting with
    ``train`` rows. The strategy is long when the network says up, flat
    otherwise, paying ``cost`` per position change.
    """
    close, dates = _load_close(csv, n, seed, autocorrelation)
    make = lambda s: part_d_network(s, hidden=hidden, epochs=epochs, learning_rate=learning_rate,  # noqa: E731
                                    momentum=momentum)
    predictions = walk_forward(close, seed, window=window, train=train, retrain_every=retrain_every,
                               dead_zone=dead_zone, make_model=make)
    predicted, realised = predictions[:, 2].astype(int), predictions[:, 3].astype(int)
    known = realised >= 0
    hits, total = int(np.sum(predicted[known] == realised[known])), int(np.sum(known))
    hit_rate = hits / total if total else float("nan")
    low, high = wilson_interval(hits, total)
    confusion = np.zeros((2, 2), dtype=np.int64)
    np.add.at(confusion, (realised[known], predicted[known]), 1)
    equity, hold, returns = strategy(close, predictions, cost)
    sd = returns.std()
    sharpe = float(returns.mean() / sd * math.sqrt(PERIODS_PER_YEAR)) if sd > 0 else 0.0
    hit = (predicted[known] == realised[known]).astype(float)  # rolling over labelled rows
    k = min(50, len(hit))
    rolling = np.convolve(hit, np.ones(k) / k, mode="valid") if k else np.zeros(0)
    if low > 0.5:
        verdict = "beats 0.5 outside its 95% interval"
    elif high < 0.5:
        verdict = "is below 0.5 outside its 95% interval"
    else:
        verdict = "does NOT beat 0.5: 0.5 lies inside its 95% interval"
    metrics = {"hit_rate": hit_rate, "hit_rate_low": low, "hit_rate_high": high,
               "n_predictions": total, "strategy_return": float(equity[-1] - 1.0),
               "buy_and_hold_return": float(hold[-1] - 1.0), "sharpe": sharpe,
               "max_drawdown": max_drawdown(equity),
               "trades": int(np.sum(np.abs(np.diff(np.concatenate([[0.0], predictions[:, 2]])))))}
    arrays = {"predictions": predictions, "confusion_matrix": confusion}
    if dates is not None:
        arrays["prediction_dates"] = dates[predictions[:, 0].astype(np.int64)].astype(np.int64)
    source = f"{csv}" if csv else f"synthetic AR(1) {autocorrelation} series of {n} prices"
    summary = (f"hit rate {hit_rate:.3f} [{low:.3f}, {high:.3f}] over {total} predictions on {source}: "
               f"{verdict}; strategy {metrics['strategy_return']:+.1%} vs buy-and-hold "
               f"{metrics['buy_and_hold_return']:+.1%}")
    return Result(metrics=metrics,
                  curves={"equity": equity, "buy_and_hold": hold, "rolling_hit_rate": rolling},
                  arrays=arrays,
                  text={"predictions_columns": ", ".join(PREDICTION_COLUMNS)
                        + ("; prediction_dates: days since 1970-01-01" if dates is not None else "")},
                  summary=summary)
