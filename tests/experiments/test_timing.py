"""The `timing` recipe: part D's BP network as a walk-forward market-timing model."""
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import fastnn.experiments as experiments
from fastnn.data.prices import synthetic_prices
from fastnn.experiments.recipes.timing import (
    PREDICTION_COLUMNS, max_drawdown, strategy, walk_forward, wilson_interval,
)

SMALL = dict(n=400, window=5, train=150, retrain_every=40, epochs=10)


def _write_csv(path, close):
    dates = np.datetime64("2020-01-01") + np.arange(len(close))
    lines = ["date,open,high,low,close"] + [f"{d},{c!r},{c!r},{c!r},{c!r}" for d, c in zip(dates, close.tolist())]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def predictable():
    return experiments.run("timing", seed=0, autocorrelation=0.3)


@pytest.fixture(scope="module")
def random_walk():
    return experiments.run("timing", seed=0, autocorrelation=0.0)


def test_wilson_interval_reference_values():
    assert_allclose(wilson_interval(50, 100), (0.403832, 0.596168), atol=1e-6)
    assert_allclose(wilson_interval(0, 10), (0.0, 0.277533), atol=1e-6)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_strategy_and_drawdown_by_hand():
    close = np.array([100.0, 110.0, 99.0, 99.0, 108.9])
    # rows 0..3 predict up, down, up, up: long 0->1, flat 1->2, long 2->3 and 3->4
    pred = np.array([[0, 0.9, 1, 1], [1, 0.2, 0, 0], [2, 0.6, 1, -1], [3, 0.7, 1, 1]], dtype=float)
    equity, hold, _ = strategy(close, pred, cost=0.01)
    # three position changes (enter, exit, enter), 1% each
    assert_allclose(equity, [1.0, 1.1 * 0.99, 1.1 * 0.99 ** 2, 1.1 * 0.99 ** 3, 1.1 * 1.1 * 0.99 ** 3])
    assert_allclose(hold, close / 100.0)
    assert max_drawdown(np.array([1.0, 2.0, 1.5, 3.0, 1.2])) == pytest.approx(0.6)


def test_predictable_series_beats_half_outside_interval(predictable):
    m = predictable.metrics
    assert m["hit_rate_low"] > 0.5
    assert m["hit_rate_low"] < m["hit_rate"] < m["hit_rate_high"]
    # the best possible hit rate on AR(1) 0.3 is 0.5 + arcsin(0.3) / pi = 0.597
    assert m["hit_rate"] < 0.597 + 0.05
    assert "beats 0.5 outside its 95% interval" in predictable.summary


def test_random_walk_interval_contains_half(random_walk):
    m = random_walk.metrics
    assert m["hit_rate_low"] <= 0.5 <= m["hit_rate_high"]
    assert "does NOT beat 0.5: 0.5 lies inside its 95% interval" in random_walk.summary


def test_outputs_are_consistent(predictable):
    m, a, c = predictable.metrics, predictable.arrays, predictable.curves
    p = a["predictions"]
    assert p.shape == (1500 - 10 - 500 - 1, len(PREDICTION_COLUMNS))
    assert_array_equal(p[:, 0], np.arange(510, 1499))
    assert np.all((p[:, 1] >= 0) & (p[:, 1] <= 1))
    assert_array_equal(p[:, 2], (p[:, 1] >= 0.5).astype(float))
    cm = a["confusion_matrix"]
    assert cm.shape == (2, 2) and cm.sum() == m["n_predictions"]
    assert m["hit_rate"] == pytest.approx(np.trace(cm) / cm.sum())
    assert m["strategy_return"] == pytest.approx(c["equity"][-1] - 1)
    assert m["buy_and_hold_return"] == pytest.approx(c["buy_and_hold"][-1] - 1)
    assert len(c["equity"]) == len(c["buy_and_hold"]) == len(p) + 1
    assert 0 <= m["max_drawdown"] < 1 and np.isfinite(m["sharpe"])
    # the strategy earns the period's move exactly when it is long
    close = synthetic_prices(1500, 0, autocorrelation=0.3)
    equity, _, _ = strategy(close, p, cost=0.0005)
    assert_allclose(equity, c["equity"])


def test_no_look_ahead_in_predictions(tmp_path):
    close = synthetic_prices(SMALL["n"], seed=5, autocorrelation=0.3)
    t = 260
    changed = close.copy()
    changed[t + 1:] *= np.exp(np.random.default_rng(1).normal(0, 0.05, len(close) - t - 1))
    params = {k: v for k, v in SMALL.items() if k != "n"}
    a = experiments.run("timing", seed=3, csv=str(_write_csv(tmp_path / "a.csv", close)), **params)
    b = experiments.run("timing", seed=3, csv=str(_write_csv(tmp_path / "b.csv", changed)), **params)
    pa, pb = a.arrays["predictions"], b.arrays["predictions"]
    upto = pa[:, 0] <= t
    assert upto.sum() > 50
    # index, probability and prediction unchanged up to t; the realised move of t is t -> t + 1
    assert_array_equal(pa[upto, :3], pb[upto, :3])
    assert_array_equal(pa[pa[:, 0] < t, 3], pb[pb[:, 0] < t, 3])
    assert not np.array_equal(pa[~upto, 1], pb[~upto, 1])
    assert_array_equal(a.arrays["prediction_dates"],
                       (np.datetime64("2020-01-01") + pa[:, 0].astype(int)).astype(np.int64))


def test_raising_cost_lowers_strategy_return():
    results = [experiments.run("timing", seed=1, cost=cost, **SMALL) for cost in (0.0, 0.001, 0.01)]
    returns = [r.metrics["strategy_return"] for r in results]
    assert results[0].metrics["trades"] > 0
    assert returns[0] > returns[1] > returns[2]
    for r in results[1:]:
        assert_array_equal(r.arrays["predictions"], results[0].arrays["predictions"])


def test_walk_forward_needs_rows_to_predict():
    with pytest.raises(ValueError, match=r"window \+ train must be <= n - 2 = 98; got 10 \+ 90 = 100"):
        walk_forward(synthetic_prices(100, 0), seed=0, window=10, train=90)


def test_csv_errors_surface_through_the_recipe(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("Date,Open,High,Low,Close\n2024-01-02,1,1,1,1\n2024-01-02,1,1,1,1\n")
    with pytest.raises(ValueError, match=r"row 3, column 'date': duplicate date 2024-01-02"):
        experiments.run("timing", csv=str(path))
