"""Price series: the OHLC(V) CSV reader, synthetic AR(1) prices, features and labels."""
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastnn.data.prices import features, labels, log_returns, read_ohlc, synthetic_prices

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
])
def test_read_ohlc_bad_input_names_row_and_column(tmp_path, text, match):
    with pytest.raises(ValueError, match=match):
        read_ohlc(_write(tmp_path, text))


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
