"""The `timing` recipe: part D's BP network as a walk-forward market-timing model."""
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import fastnn.experiments as experiments
from fastnn.data.prices import synthetic_ohlc, synthetic_prices
from fastnn.experiments.recipes.timing import (
    FIT_COLUMNS, PREDICTION_COLUMNS, max_drawdown, part_d_network, positions, strategy, walk_forward,
    wilson_interval,
)

SMALL = dict(n=400, window=5, train=150, retrain_every=40, epochs=10)


def _write_csv(path, close):
    dates = np.datetime64("2020-01-01") + np.arange(len(close))
    lines = ["date,open,high,low,close"] + [f"{d},{c!r},{c!r},{c!r},{c!r}" for d, c in zip(dates, close.tolist())]
    path.write_text("\n".join(lines) + "\n")
    return path


def _write_ohlcv(path, table):
    columns = zip(*(c.tolist() for c in (table.open, table.high, table.low, table.close, table.volume)))
    lines = ["Date,Open,High,Low,Close,Volume"] + [
        ",".join([str(d)] + [repr(v) for v in row]) for d, row in zip(table.dates, columns)]
    path.write_text("\n".join(lines) + "\n")
    return path


class Recorder:
    """A stand-in classifier: records the rows it is fitted on and predicts up
    when the newest return of the window is positive (momentum)."""
    fitted = []

    def __init__(self, seed):
        self.seed = seed

    def fit(self, X, y):
        Recorder.fitted.append(len(X))
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        up = 1.0 / (1.0 + np.exp(-X[:, -1]))
        return np.column_stack([1.0 - up, up])


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


@pytest.fixture(scope="module")
def regimes():
    return experiments.run("timing", seed=0, data="regimes")


@pytest.fixture(scope="module")
def walk():
    return experiments.run("timing", seed=0, data="random_walk", autocorrelation=0.5)


def test_regime_series_beats_half_and_a_random_walk_does_not(regimes, walk):
    m = regimes.metrics
    assert m["hit_rate_low"] > 0.5 and "beats 0.5 outside its 95% interval" in regimes.summary
    assert "regime-switching" in regimes.summary
    # data='random_walk' ignores autocorrelation: nothing to predict
    w = walk.metrics
    assert w["hit_rate_low"] <= 0.5 <= w["hit_rate_high"]
    assert "does NOT beat 0.5: 0.5 lies inside its 95% interval" in walk.summary
    assert "random walk" in walk.summary


def test_expanding_fits_use_every_earlier_row(predictable):
    fits = predictable.arrays["fits"]
    assert fits.shape == (20, len(FIT_COLUMNS))
    assert_array_equal(fits[:, 0], np.arange(510, 1499, 50))
    assert_array_equal(fits[:, 1], 10)
    assert_array_equal(fits[:, 2], fits[:, 0])
    assert_array_equal(fits[:, 3], fits[:, 0] - 10)      # no dead zone: every row labelled


def test_rolling_scheme_trains_on_the_last_train_rows_only():
    close = synthetic_prices(400, seed=5, autocorrelation=0.3)
    kw = dict(window=5, train=120, retrain_every=40, make_model=Recorder, return_fits=True)
    Recorder.fitted = []
    _, fits = walk_forward(close, 0, scheme="rolling", **kw)
    assert Recorder.fitted == [120] * len(fits)
    assert_array_equal(fits[:, 1], fits[:, 0] - 120)
    assert_array_equal(fits[:, 3], 120)
    Recorder.fitted = []
    _, fits = walk_forward(close, 0, scheme="expanding", **kw)
    assert Recorder.fitted == list(fits[:, 0] - 5) and Recorder.fitted[-1] > 300


def test_rolling_predictions_ignore_prices_older_than_the_window():
    close = synthetic_prices(400, seed=5, autocorrelation=0.3)
    changed = close.copy()
    changed[:150] *= np.exp(np.random.default_rng(3).normal(0, 0.05, 150))   # moves r[1..150]
    kw = dict(window=5, train=100, retrain_every=40,
              make_model=lambda s: part_d_network(s, epochs=5), return_fits=True)
    a, fits = walk_forward(close, 2, scheme="rolling", **kw)
    b, _ = walk_forward(changed, 2, scheme="rolling", **kw)
    # a fit at t0 reads returns r[t0 - train - window + 1 ..]: fits from t0 = 265 on see none changed
    clean = fits[fits[:, 1] - 5 + 1 > 150, 0].min()
    assert clean == 265
    later = a[:, 0] >= clean
    assert later.sum() > 100
    assert_array_equal(a[later], b[later])
    assert not np.array_equal(a[~later, 1], b[~later, 1])
    # the expanding window still sees the old prices
    c, _ = walk_forward(close, 2, scheme="expanding", **kw)
    d, _ = walk_forward(changed, 2, scheme="expanding", **kw)
    assert not np.array_equal(c[c[:, 0] >= clean, 1], d[d[:, 0] >= clean, 1])


def test_long_short_strategy_by_hand_flip_costs_twice():
    close = np.array([100.0, 110.0, 99.0, 99.0, 108.9])
    pred = np.array([[0, 0.9, 1, 1], [1, 0.2, 0, 0], [2, 0.6, 1, -1], [3, 0.7, 1, 1]], dtype=float)
    assert_array_equal(positions(pred, "long_short"), [1, -1, 1, 1])
    assert_array_equal(positions(pred, "long_flat"), [1, 0, 1, 1])
    c = 0.01
    equity, hold, returns = strategy(close, pred, cost=c, position="long_short")
    # enter long (1 unit), flip to short (2), flip to long (2), hold: short earns +10% on 110 -> 99
    assert_allclose(equity, [1.0, 1.1 * (1 - c), 1.1 * 1.1 * (1 - c) ** 3, 1.1 * 1.1 * (1 - c) ** 5,
                             1.1 * 1.1 * 1.1 * (1 - c) ** 5])
    assert_allclose(returns, equity[1:] / equity[:-1] - 1)
    # one flip alone: the same moves, costs (1 - c) ** 2 against long/flat's (1 - c)
    flip = np.array([[0, 0.9, 1, 1], [1, 0.2, 0, 0]], dtype=float)
    ls, _, _ = strategy(close[:3], flip, cost=c, position="long_short")
    free, _, _ = strategy(close[:3], flip, cost=0.0, position="long_short")
    assert ls[-1] / free[-1] == pytest.approx((1 - c) ** 3)        # enter 1 + flip 2
    lf, _, _ = strategy(close[:3], flip, cost=c)
    lf_free, _, _ = strategy(close[:3], flip, cost=0.0)
    assert lf[-1] / lf_free[-1] == pytest.approx((1 - c) ** 2)     # enter 1 + exit 1
    with pytest.raises(ValueError, match=r"position must be one of \['long_flat', 'long_short'\]; got 'short'"):
        strategy(close, pred, cost=c, position="short")


def test_raising_cost_lowers_long_short_return():
    results = [experiments.run("timing", seed=1, cost=cost, position="long_short", **SMALL)
               for cost in (0.0, 0.001, 0.01)]
    returns = [r.metrics["strategy_return"] for r in results]
    assert returns[0] > returns[1] > returns[2]
    flat = experiments.run("timing", seed=1, cost=0.0, **SMALL)
    assert_array_equal(results[0].arrays["predictions"], flat.arrays["predictions"])
    # every change between long and short is two units of trading
    held = positions(results[0].arrays["predictions"], "long_short")
    changes = np.abs(np.diff(held))
    assert set(np.unique(changes)) <= {0.0, 2.0}
    assert results[0].metrics["trades"] == 1 + changes.sum() > flat.metrics["trades"]


def test_volume_and_range_features_without_look_ahead(tmp_path):
    close = synthetic_prices(SMALL["n"], seed=5, autocorrelation=0.3)
    table = synthetic_ohlc(close, seed=8)
    t = 260
    rng = np.random.default_rng(1)
    scale = np.exp(rng.normal(0, 0.05, len(close) - t - 1))
    changed = table._replace(**{name: getattr(table, name).copy() for name in ("open", "high", "low", "close",
                                                                               "volume")})
    for name in ("open", "high", "low", "close"):
        getattr(changed, name)[t + 1:] *= scale                         # every later price moves
    changed.high[t + 1:] *= 1.02                                       # and the ranges widen
    changed.volume[t + 1:] *= np.exp(rng.normal(0, 0.5, len(close) - t - 1))
    params = dict({k: v for k, v in SMALL.items() if k != "n"}, use_volume=True, use_range=True)
    a = experiments.run("timing", seed=3, csv=str(_write_ohlcv(tmp_path / "a.csv", table)), **params)
    b = experiments.run("timing", seed=3, csv=str(_write_ohlcv(tmp_path / "b.csv", changed)), **params)
    pa, pb = a.arrays["predictions"], b.arrays["predictions"]
    upto = pa[:, 0] <= t
    assert_array_equal(pa[upto, :3], pb[upto, :3])
    assert not np.array_equal(pa[~upto, 1], pb[~upto, 1])
    assert "10 log volume changes" not in a.text["features"]
    assert a.text["features"] == "the last 5 log returns and 5 log volume changes and 5 log high/low ranges"
    plain = experiments.run("timing", seed=3, csv=str(_write_ohlcv(tmp_path / "a.csv", table)),
                            **{k: v for k, v in SMALL.items() if k != "n"})
    assert not np.array_equal(plain.arrays["predictions"][:, 1], pa[:, 1])


def test_synthetic_series_get_volume_and_range_when_asked():
    base = experiments.run("timing", seed=2, data="regimes", **SMALL)
    extra = experiments.run("timing", seed=2, data="regimes", use_volume=True, use_range=True, **SMALL)
    assert "synthetic volume and range from synthetic_ohlc" in extra.text["features"]
    assert_array_equal(base.curves["buy_and_hold"], extra.curves["buy_and_hold"])   # the same prices
    assert not np.array_equal(base.arrays["predictions"][:, 1], extra.arrays["predictions"][:, 1])


def test_csv_without_volume_rejects_use_volume(tmp_path):
    path = _write_csv(tmp_path / "p.csv", synthetic_prices(300, seed=0))
    with pytest.raises(ValueError, match=r"use_volume=True needs a Volume column in csv; .*p.csv has none"):
        experiments.run("timing", csv=str(path), use_volume=True)
    ok = experiments.run("timing", csv=str(path), use_range=True, window=5, train=150, epochs=2)
    assert ok.text["features"] == "the last 5 log returns and 5 log high/low ranges"


@pytest.mark.parametrize("name, value, match", [
    ("data", "garch", r"data must be one of \['ar1', 'random_walk', 'regimes'\]; got 'garch'"),
    ("scheme", "sliding", r"scheme must be one of \['expanding', 'rolling'\]; got 'sliding'"),
    ("position", "short", r"position must be one of \['long_flat', 'long_short'\]; got 'short'"),
    ("use_volume", "yes", r"parameter 'use_volume' of recipe 'timing' must be a bool; got str 'yes'"),
    # the recipe's names, not the classifier's (max_iter, learning_rate_init, hidden_layer_sizes)
    ("epochs", 0, r"^epochs must be an int >= 1; got 0\.$"),
    ("learning_rate", 0.0, r"^learning_rate must be a finite float > 0\.0; got 0\.0\.$"),
    ("momentum", 1.0, r"^momentum must be a finite float in \[0\.0, 1\.0\); got 1\.0\.$"),
    ("hidden", [5, 0], r"^hidden\[1\] must be an int >= 1; got 0\.$"),
])
def test_recipe_rejects_bad_options(name, value, match):
    with pytest.raises((ValueError, TypeError), match=match):
        experiments.run("timing", **{name: value})


def test_timing_picture_from_a_result_and_from_a_stored_run(tmp_path, predictable):
    pytest.importorskip("matplotlib")
    from fastnn.cli import main
    from fastnn.plots_timing import timing
    png = tmp_path / "direct.png"
    assert timing(predictable, png) == png
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    out = tmp_path / "r.h5"
    csv = _write_csv(tmp_path / "p.csv", synthetic_prices(300, seed=0, autocorrelation=0.3))
    assert main(["run", "timing", "--out", str(out), "--set", f"csv={csv}", "--set", "window=5",
                 "--set", "train=150", "--set", "epochs=2"]) == 0
    stored = tmp_path / "stored.png"
    assert main(["plot", str(out), "--picture", "timing", "--out", str(stored)]) == 0
    assert stored.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and stored.stat().st_size > 5000
    from_path = tmp_path / "path.png"
    assert timing(str(out), from_path) == from_path and from_path.stat().st_size > 5000
    with pytest.raises(ValueError, match=r"the timing picture needs a run of the timing recipe; this run lacks"):
        timing({"metrics": {}, "curves": {}, "arrays": {}}, tmp_path / "x.png")


def test_any_mlp_configuration_two_hidden_layers_and_tanh():
    from fastnn import experiments
    r = experiments.run("timing", seed=1, n=700, train=300, retrain_every=100, epochs=5,
                        hidden=[8, 4], activation="tanh")
    assert 0.0 <= r.metrics["hit_rate"] <= 1.0 and r.metrics["n_predictions"] > 0
    net = part_d_network(0, hidden=[8, 4], activation="tanh")
    assert net.hidden_layer_sizes == (8, 4) and net.activation == "tanh"
    assert net.bias == (True, False, False) and len(net.init) == 3
    with pytest.raises(ValueError, match="hidden must be a layer size or a non-empty list"):
        part_d_network(0, hidden=[])
    with pytest.raises(ValueError, match="activation"):
        experiments.run("timing", seed=1, n=700, train=300, epochs=2, activation="sigmoidal")


def test_a_dead_zone_that_leaves_nothing_to_train_on_is_refused():
    # every move of the series is within +-1.0: it reported hit_rate nan over 0
    # predictions and still traded, every prediction defaulting to "up"
    match = (r"dead_zone must leave labelled rows to train on; got 1\.0, which leaves none of the "
             r"500 training rows of the fit at row 510 .*Lower dead_zone\.")
    with pytest.raises(ValueError, match=match):
        experiments.run("timing", seed=0, n=600, epochs=1, dead_zone=1.0)
    with pytest.raises(ValueError, match=match):
        walk_forward(synthetic_prices(600, 0), seed=0, dead_zone=1.0, make_model=Recorder)


def test_a_dead_zone_that_leaves_no_labelled_prediction_is_refused(tmp_path):
    # moves of 1% up to row 155, of 0.01% after: the fits learn from the early
    # rows, but no predicted row (155 on) has a move outside the dead zone
    steps = np.where(np.arange(300) <= 155, 0.01, 1e-4) * np.where(np.arange(300) % 3, 1.0, -1.0)
    close = 100.0 * np.exp(np.cumsum(steps))
    csv = _write_csv(tmp_path / "quiet.csv", close)
    with pytest.raises(ValueError, match=r"dead_zone must leave labelled rows among the predictions "
                                         r"to score the hit rate on; got 0\.001: the next log return "
                                         r"of every one of the 144 predicted rows lies within"):
        experiments.run("timing", csv=str(csv), window=5, train=150, epochs=1, dead_zone=1e-3)
    ok = experiments.run("timing", csv=str(csv), window=5, train=150, epochs=1, dead_zone=1e-5)
    assert ok.metrics["n_predictions"] == 144 and 0.0 <= ok.metrics["hit_rate"] <= 1.0
