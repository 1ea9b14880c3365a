"""Price series: the OHLC(V) CSV reader, synthetic AR(1), regime and OHLC series, features and labels."""
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import fastnn.data
from fastnn.data.prices import (
    features, labels, log_returns, read_ohlc, regime_prices, synthetic_ohlc, synthetic_prices,
)

GOOD = """Date,Open,High,Low,Close,Volume
2024-01-02,10,11,9,10.5,1000
2024-01-03,10.5,12,10,11,0
2024-01-05,11,11.5,10.5,11.2,500
"""


def _write(tmp_path, text, name="prices.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_read_ohlc_columns_dates_and_volume(tmp_path):
    table = read_ohlc(_write(tmp_path, GOOD))
    assert table.dates.dtype == np.dtype("datetime64[D]")
    assert_array_equal(table.dates, np.array(["2024-01-02", "2024-01-03", "2024-01-05"], dtype="datetime64[D]"))
    assert_array_equal(table.open, [10, 10.5, 11])
    assert_array_equal(table.high, [11, 12, 11.5])
    assert_array_equal(table.low, [9, 10, 10.5])
    assert_array_equal(table.close, [10.5, 11, 11.2])
    assert_array_equal(table.volume, [1000, 0, 500])


def test_read_ohlc_case_insensitive_any_order_no_volume_blank_lines(tmp_path):
    text = "close,LOW,extra,DATE,high,Open\n10.5,9,x,2024-01-02,11,10\n\n11,10,y,2024-01-03,12,10.5\n"
    table = read_ohlc(_write(tmp_path, text))
    assert table.volume is None
    assert_array_equal(table.close, [10.5, 11])
    assert_array_equal(table.open, [10, 10.5])


@pytest.mark.parametrize("text, match", [
    ("Date,Open,High,Low,Volume\n2024-01-02,1,1,1,1\n",
     r"row 1, column 'close': missing from the header"),
    ("Date,Open,High,Low,Close\n2024-01-02,1,1,1,1\n2024-13-01,1,1,1,1\n",
     r"row 3, column 'date': expected a date YYYY-MM-DD; got '2024-13-01'"),
    ("Date,Open,High,Low,Close\n2024-01-03,1,1,1,1\n2024-01-02,1,1,1,1\n",
     r"row 3, column 'date': date 2024-01-02 is before the previous row's 2024-01-03; "
     r"dates must strictly increase"),
    ("Date,Open,High,Low,Close\n2024-01-02,1,1,1,1\n2024-01-02,1,1,1,1\n",
     r"row 3, column 'date': duplicate date 2024-01-02, the same as the previous row's; "
     r"dates must strictly increase"),
    ("Date,Open,High,Low,Close\n2024-01-02,1,1,1,1\n2024-01-03,1,1,-2,1\n",
     r"row 3, column 'low': expected a finite price > 0; got '-2'"),
    ("Date,Open,High,Low,Close\n2024-01-02,1,1,1,1\n2024-01-03,1,1,1,0\n",
     r"row 3, column 'close': expected a finite price > 0; got '0'"),
    ("Date,Open,High,Low,Close\n2024-01-02,1,1,1,1\n2024-01-03,1,,1,1\n",
     r"row 3, column 'high': missing value"),
    ("Date,Open,High,Low,Close\n2024-01-02,1,1,1,1\n2024-01-03,1,1\n",
     r"row 3, column 'low': malformed row with 3 cells; the header has 5"),
    ("Date,Open,High,Low,Close\n2024-01-02,1,1,1,1,7\n",
     r"row 2, column 'cell 6, beyond the header': malformed row with 6 cells; the header has 5"),
    ("Date,Open,High,Low,Close\n2024-01-02,1,abc,1,1\n",
     r"row 2, column 'high': expected a number; got 'abc'"),
    ("Date,Open,High,Low,Close,Volume\n2024-01-02,1,1,1,1,-5\n",
     r"row 2, column 'volume': expected a finite number >= 0; got '-5'"),
    ("Date,Open,High,Low,Close\n2024-01-02,10,11,9,10\n2024-01-03,10,9,11,10\n",
     r"row 3, column 'high': high 9.0 is below low 11.0; expected low <= high"),
    ("Date,Open,High,Low,Close\n2024-01-02,10,11,9,12\n",
     r"row 2, column 'close': close 12.0 is outside the bar's range \[low, high\] = \[9.0, 11.0\]"),
    ("Date,Open,High,Low,Close\n2024-01-02,10,11,9,10\n2024-01-03,8.5,11,9,10\n",
     r"row 3, column 'open': open 8.5 is outside the bar's range \[low, high\] = \[9.0, 11.0\]"),
    ("low,close,date,open,high\n9,8,2024-01-02,10,11\n",
     r"row 2, column 'close': close 8.0 is outside the bar's range \[low, high\] = \[9.0, 11.0\]"),
])
def test_read_ohlc_bad_input_names_row_and_column(tmp_path, text, match):
    with pytest.raises(ValueError, match=match):
        read_ohlc(_write(tmp_path, text))


def test_read_ohlc_of_a_file_that_is_not_utf8_text_names_it(tmp_path):
    """An HDF5 file given as csv: UTF-8's own error named neither the file nor CSV."""
    path = tmp_path / "r.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(range(256)))
    with pytest.raises(ValueError, match=r"r\.h5: not a text file in UTF-8 \(byte 0 is b'\\x89'\); "
                                         r"expected a CSV file with columns Date, Open, High, Low, Close"):
        read_ohlc(path)


def test_read_ohlc_empty_file(tmp_path):
    with pytest.raises(ValueError, match=r"row 1: empty file"):
        read_ohlc(_write(tmp_path, ""))
    with pytest.raises(ValueError, match=r"no data rows after the header"):
        read_ohlc(_write(tmp_path, "Date,Open,High,Low,Close\n"))


def test_synthetic_prices_ar1_statistics_and_seed():
    close = synthetic_prices(20000, seed=1, autocorrelation=0.3, volatility=0.01)
    assert close.shape == (20000,) and close[0] == 100.0 and np.all(close > 0)
    r = np.diff(np.log(close))
    assert abs(np.corrcoef(r[:-1], r[1:])[0, 1] - 0.3) < 0.03
    assert abs(r.std() - 0.01) < 0.0005
    walk = np.diff(np.log(synthetic_prices(20000, seed=1)))
    assert abs(np.corrcoef(walk[:-1], walk[1:])[0, 1]) < 0.03
    assert_array_equal(synthetic_prices(50, seed=3, autocorrelation=0.2),
                       synthetic_prices(50, seed=3, autocorrelation=0.2))
    assert not np.array_equal(synthetic_prices(50, seed=3), synthetic_prices(50, seed=4))


def test_synthetic_prices_rejects_nonstationary_coefficient():
    with pytest.raises(ValueError, match=r"autocorrelation must be a finite float in \(-1.0, 1.0\); got 1.0"):
        synthetic_prices(10, seed=0, autocorrelation=1.0)


def test_features_are_past_log_returns_standardised_on_training_rows():
    close = synthetic_prices(60, seed=0, autocorrelation=0.1)
    window, train_end = 3, 30
    X = features(close, window, train_end=train_end)
    r = log_returns(close)
    assert X.shape == (60, 3) and np.isnan(X[:window]).all() and np.isfinite(X[window:]).all()
    raw = np.array([r[t - window + 1:t + 1] for t in range(window, 60)])
    mean, std = raw[:train_end - window].mean(axis=0), raw[:train_end - window].std(axis=0)
    assert_allclose(X[window:], (raw - mean) / std)
    assert_allclose(X[window:train_end].mean(axis=0), 0.0, atol=1e-12)


def test_labels_next_direction_and_dead_zone():
    close = np.array([100.0, 101.0, 100.0, 100.05, 100.05, 99.0])
    assert_array_equal(labels(close), [1, 0, 1, -1, 0, -1])
    assert_array_equal(labels(close, dead_zone=0.001), [1, 0, -1, -1, 0, -1])


def test_no_look_ahead_in_features_and_labels():
    close = synthetic_prices(80, seed=2, autocorrelation=0.3)
    t = 50
    changed = close.copy()
    changed[t + 1:] *= np.exp(np.random.default_rng(0).normal(0, 0.05, len(close) - t - 1))
    # statistics from rows < train_end <= t + 1 use prices up to t only
    for train_end in (20, t + 1):
        assert_array_equal(features(close, 5, train_end)[:t + 1], features(changed, 5, train_end)[:t + 1])
    # the label of row t is the move to t + 1, so labels up to t - 1 are fixed
    assert_array_equal(labels(close)[:t], labels(changed)[:t])


def test_features_and_labels_reject_bad_input():
    with pytest.raises(ValueError, match=r"close must hold finite prices > 0; got -1.0 at index 2"):
        features(np.array([1.0, 2.0, -1.0, 3.0, 4.0]), 1)
    with pytest.raises(ValueError, match=r"train_end must be an int in \[4, 20\]; got 3"):
        features(np.linspace(1, 2, 20), 2, train_end=3)
    with pytest.raises(ValueError, match=r"dead_zone must be a finite float >= 0.0; got -0.1"):
        labels(np.linspace(1, 2, 20), dead_zone=-0.1)


def test_public_names_are_exported_from_fastnn_data():
    for name in ("read_ohlc", "synthetic_prices", "regime_prices", "synthetic_ohlc", "features", "labels",
                 "log_returns"):
        assert name in fastnn.data.__all__
    assert fastnn.data.regime_prices is regime_prices and fastnn.data.read_ohlc is read_ohlc


def test_regime_prices_reproducible_and_switching_at_the_given_rate():
    n, switch = 40000, 0.03
    close, regime = regime_prices(n, seed=4, switch=switch)
    assert close.shape == regime.shape == (n,) and close[0] == 100.0 and np.all(close > 0)
    assert regime.dtype == np.int64 and set(np.unique(regime)) == {0, 1}
    again_close, again_regime = regime_prices(n, seed=4, switch=switch)
    assert_array_equal(close, again_close)
    assert_array_equal(regime, again_regime)
    assert not np.array_equal(regime_prices(200, seed=5)[0], regime_prices(200, seed=6)[0])
    # the chain flips with probability `switch` each period: binomial standard error ~0.00085
    flips = np.mean(regime[1:] != regime[:-1])
    assert abs(flips - switch) < 4 * np.sqrt(switch * (1 - switch) / (n - 1))
    assert 0.4 < regime.mean() < 0.6                       # stationary law (1/2, 1/2)
    # the trending regime has positive, the mean-reverting negative lag-1 autocorrelation
    r = np.diff(np.log(close))                             # r[k] is the return into period k + 1
    state = regime[2:]                                     # the regime of r[1:]
    for code, coefficient in ((1, 0.6), (0, -0.4)):
        inside = state == code
        assert abs(np.corrcoef(r[:-1][inside], r[1:][inside])[0, 1] - coefficient) < 0.05
        assert abs(r[1:][inside].std() - 0.01) < 0.0005


def test_regime_prices_edge_switch_probabilities():
    _, stay = regime_prices(300, seed=1, switch=0.0)
    assert len(np.unique(stay)) == 1
    _, alternate = regime_prices(300, seed=1, switch=1.0)
    assert np.all(alternate[1:] != alternate[:-1])
    with pytest.raises(ValueError, match=r"switch must be a finite float in \[0.0, 1.0\]; got 1.5"):
        regime_prices(10, seed=0, switch=1.5)
    with pytest.raises(ValueError, match=r"trend must be a finite float in \(-1.0, 1.0\); got 1.0"):
        regime_prices(10, seed=0, trend=1.0)


def test_synthetic_ohlc_bars_are_valid_and_survive_the_csv_reader(tmp_path):
    close = synthetic_prices(300, seed=2, autocorrelation=0.2)
    table = synthetic_ohlc(close, seed=9)
    assert_array_equal(table.close, close)
    assert_array_equal(table.open[1:], close[:-1])
    assert np.all(table.low <= np.minimum(table.open, table.close))
    assert np.all(table.high >= np.maximum(table.open, table.close))
    assert np.all(table.volume > 0)
    assert np.all(np.diff(table.dates.astype(np.int64)) > 0) and np.is_busday(table.dates).all()
    # bigger moves come with bigger volume
    moves = np.abs(np.diff(np.log(close)))
    assert np.corrcoef(moves, np.log(table.volume[1:]))[0, 1] > 0.3
    assert_array_equal(synthetic_ohlc(close, seed=9).volume, table.volume)
    lines = ["Date,Open,High,Low,Close,Volume"] + [
        f"{d},{o!r},{h!r},{lo!r},{c!r},{v!r}" for d, o, h, lo, c, v in
        zip(table.dates, *(a.tolist() for a in (table.open, table.high, table.low, table.close, table.volume)))]
    back = read_ohlc(_write(tmp_path, "\n".join(lines) + "\n"))
    for name in ("dates", "open", "high", "low", "close", "volume"):
        assert_array_equal(getattr(back, name), getattr(table, name))


def test_volume_and_range_features_reference_values():
    close = synthetic_prices(80, seed=0, autocorrelation=0.1)
    table = synthetic_ohlc(close, seed=1)
    window, train_start, train_end = 4, 10, 50
    X = features(close, window, train_end, train_start=train_start, volume=table.volume,
                 high=table.high, low=table.low)
    assert X.shape == (80, 3 * window) and np.isnan(X[:window]).all() and np.isfinite(X[window:]).all()
    r = log_returns(close)
    dv = np.concatenate([[np.nan], np.diff(np.log1p(table.volume))])
    g = np.log(table.high / table.low)
    raw = np.array([np.concatenate([a[t - window + 1:t + 1] for a in (r, dv, g)]) for t in range(window, 80)])
    fit = raw[train_start - window:train_end - window]
    assert_allclose(X[window:], (raw - fit.mean(axis=0)) / fit.std(axis=0), rtol=1e-10, atol=1e-12)
    assert_allclose(X[train_start:train_end].mean(axis=0), 0.0, atol=1e-12)
    # volume only: returns then volume changes; a zero volume stays finite
    volume = table.volume.copy()
    volume[20] = 0.0
    only = features(close, window, train_end, volume=volume)
    assert only.shape == (80, 2 * window) and np.isfinite(only[window:]).all()
    # high == low everywhere: a constant range column, centred to 0, not NaN
    flat = features(close, window, train_end, high=close, low=close)
    assert_array_equal(flat[window:, window:], 0.0)


def test_no_look_ahead_in_volume_and_range_features():
    close = synthetic_prices(120, seed=3, autocorrelation=0.3)
    table = synthetic_ohlc(close, seed=4)
    t = 70
    noise = np.exp(np.random.default_rng(2).normal(0, 0.05, (4, len(close) - t - 1)))
    changed = [a.copy() for a in (close, table.volume, table.high, table.low)]
    for a, factor in zip(changed, noise):
        a[t + 1:] *= factor
    changed[2][t + 1:] = np.maximum(changed[2][t + 1:], changed[0][t + 1:]) * 1.01
    changed[3][t + 1:] = np.minimum(changed[3][t + 1:], changed[0][t + 1:]) * 0.99
    for train_end, train_start in ((30, None), (t + 1, None), (t + 1, 40)):
        kw = dict(train_start=train_start)
        before = features(close, 6, train_end, volume=table.volume, high=table.high, low=table.low, **kw)
        after = features(changed[0], 6, train_end, volume=changed[1], high=changed[2], low=changed[3], **kw)
        assert_array_equal(before[:t + 1], after[:t + 1])
        assert not np.array_equal(before[t + 1:, :], after[t + 1:, :])
        for k in range(3):  # every block moved after t: the test can see a leak in any of them
            assert not np.allclose(before[t + 1:, 6 * k:6 * (k + 1)], after[t + 1:, 6 * k:6 * (k + 1)])


def test_rolling_statistics_ignore_rows_before_train_start():
    close = synthetic_prices(100, seed=6, autocorrelation=0.2)
    table = synthetic_ohlc(close, seed=7)
    changed = [a.copy() for a in (close, table.volume)]
    changed[0][:30] *= np.exp(np.random.default_rng(0).normal(0, 0.05, 30))
    changed[1][:30] *= 3.0
    # rows >= 40 with window 5 use data from period 35 on, and the statistics rows 40..79 only
    a = features(close, 5, 80, train_start=40, volume=table.volume)
    b = features(changed[0], 5, 80, train_start=40, volume=changed[1])
    assert_array_equal(a[40:], b[40:])
    assert not np.array_equal(features(close, 5, 80)[40:], features(changed[0], 5, 80)[40:])


@pytest.mark.parametrize("kwargs, match", [
    (dict(volume=np.ones(5)), r"volume must have one value a period, like close \(30\); got 5"),
    (dict(volume=-np.ones(30)), r"volume must hold finite numbers >= 0; got -1.0 at index 0"),
    (dict(high=np.full(30, 2.0)), r"high and low must be given together for the range features; got high only"),
    (dict(high=np.full(30, 2.0), low=np.r_[np.ones(29), 3.0]),
     r"high must be >= low in every period; got high 2.0 < low 3.0 at index 29"),
    (dict(high=np.zeros(30), low=np.zeros(30)), r"high must hold finite prices > 0; got 0.0 at index 0"),
    (dict(train_start=3), r"train_start must be an int in \[5, 18\]; got 3"),
])
def test_features_reject_bad_volume_and_range(kwargs, match):
    with pytest.raises(ValueError, match=match):
        features(np.linspace(1, 2, 30), 5, train_end=20, **kwargs)
