"""What one call costs on small data: ``partial_fit`` on a minibatch, ``predict``, ``fit``.

A loop of ``partial_fit`` over minibatches (online learning), ``predict`` on a
few rows at a time, and sweeps of many small fits pay a model's fixed cost a
call (argument and label checks, set-up) more than its arithmetic. Each group
times fastnn's and scikit-learn's ``MLPClassifier`` on the same call:

- ``calls-partial_fit-b32``: one epoch of 32 samples (20 features, 3 classes,
  16 hidden units, batch 32), continuing a fitted model;
- ``calls-predict-32``: ``predict`` of those 32 rows;
- ``calls-fit-32``: a fresh ``fit`` of one epoch over them (``max_iter=1``).

A round is ``CALLS`` calls; pytest-benchmark reports the time of one, and the
summary's time a sample is that over the 32 rows.

    NUMBA_NUM_THREADS=2 pytest benchmarks/bench_calls.py --benchmark-json out.json
    python benchmarks/summary.py out.json
"""
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

N, FEATURES, CLASSES, HIDDEN = 32, 20, 3, 16
CALLS = 50
ROUNDS = 40


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.random((N, FEATURES))
    y = rng.integers(0, CLASSES, N)
    return X, y


def _model(lib):
    return lib.MLPClassifier(hidden_layer_sizes=(HIDDEN,), batch_size=N, max_iter=1,
                             random_state=0)


def _libraries(fastnn_models):
    import sklearn.neural_network
    return {"fastnn": fastnn_models, "sklearn": sklearn.neural_network}


def _time(benchmark, record, impl, call):
    record(impl, N, calls_a_round=CALLS)   # pytest-benchmark reports a call (an iteration)
    warnings.simplefilter("ignore", ConvergenceWarning)
    benchmark.pedantic(call, rounds=ROUNDS, iterations=CALLS, warmup_rounds=1)


@pytest.mark.parametrize("impl", ["fastnn", "sklearn"])
@pytest.mark.benchmark(group="calls-partial_fit-b32")
def test_partial_fit(benchmark, record, fastnn_models, data, impl):
    X, y = data
    model = _model(_libraries(fastnn_models)[impl]).partial_fit(X, y, classes=np.arange(CLASSES))
    _time(benchmark, record, impl, lambda: model.partial_fit(X, y))
    assert np.isfinite(model.loss_curve_[-1])
    assert model.loss_curve_[-1] < model.loss_curve_[0]   # the epochs learned


@pytest.mark.parametrize("impl", ["fastnn", "sklearn"])
@pytest.mark.benchmark(group="calls-predict-32")
def test_predict(benchmark, record, fastnn_models, data, impl):
    X, y = data
    model = _model(_libraries(fastnn_models)[impl]).set_params(max_iter=200).fit(X, y)
    _time(benchmark, record, impl, lambda: model.predict(X))
    assert set(model.predict(X)) <= set(range(CLASSES))
    assert (model.predict(X) == y).mean() > 0.6   # fitted, not guessing


@pytest.mark.parametrize("impl", ["fastnn", "sklearn"])
@pytest.mark.benchmark(group="calls-fit-32")
def test_fit(benchmark, record, fastnn_models, data, impl):
    X, y = data
    model = _model(_libraries(fastnn_models)[impl])
    _time(benchmark, record, impl, lambda: model.fit(X, y))
    assert model.n_iter_ == 1 and np.isfinite(model.loss_curve_[0])
