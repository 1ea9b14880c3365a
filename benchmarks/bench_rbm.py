"""Bernoulli RBM training (part A.7), fastnn against scikit-learn's BernoulliRBM.

Both get the same parameters and the same data; fastnn's sampling uses its own
counter-based generator, so the weights differ by sampling noise only. Checked
after timing: the mean pseudo-likelihood of fastnn's model is within noise of
scikit-learn's (same flipped units, ``random_state=0``).

- ``rbm-digits-nudged-64-100-b10-10it``: scikit-learn's RBM example, the nudged
  digits min-max scaled (7188 x 64 training rows, float32), 100 components,
  learning rate 0.06, 10 passes, minibatch 10;
- ``rbm-binary-20000x784-256-b10-1it``: 20000 binary rows of 784 pixels
  (MNIST's training images thresholded at 0.5 when found, else peers'
  synthetic stand-in thresholded), 256 components, 1 pass, minibatch 10, float64.

``samples`` in extra_info is rows x passes. Compare with summary.py.
"""
import numpy as np
import pytest

import peers

DIGITS = dict(n_components=100, learning_rate=0.06, n_iter=10, batch_size=10, random_state=0)
BINARY = dict(n_components=256, learning_rate=0.1, n_iter=1, batch_size=10, random_state=0)


@pytest.fixture(scope="module")
def digits_nudged():
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import minmax_scale

    from fastnn.data.digits import load_digits, nudge_digits
    X, y = load_digits(np.float32)
    X, y = nudge_digits(X, y)
    X = minmax_scale(X, feature_range=(0, 1))
    X_train, _, _, _ = train_test_split(X, y, test_size=0.2, random_state=0)
    return np.ascontiguousarray(X_train)


@pytest.fixture(scope="module")
def binary_784():
    X, _, source = peers.mnist_data(20000)   # MNIST in [0, 1], or its synthetic stand-in
    X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)[:20000]
    return np.ascontiguousarray(X >= 0.5, dtype=np.float64), source


def _fastnn(params):
    from fastnn.models.rbm import BernoulliRBM
    return BernoulliRBM(**params)


def _sklearn(params):
    from sklearn.neural_network import BernoulliRBM
    return BernoulliRBM(**params)


MAKERS = {"fastnn": _fastnn, "sklearn": _sklearn}


@pytest.mark.benchmark(group="rbm-digits-nudged-64-100-b10-10it")
@pytest.mark.parametrize("impl", ["fastnn", "sklearn"])
def test_rbm_digits(benchmark, run, record, impl, digits_nudged):
    X = digits_nudged
    record(impl, len(X) * DIGITS["n_iter"], data="digits-nudged", dtype=str(X.dtype))
    model = run(lambda: MAKERS[impl](DIGITS).fit(X), rounds=3)
    score = model.score_samples(X).mean()
    benchmark.extra_info["pseudo_likelihood"] = float(score)
    sk_score = _sklearn(DIGITS).fit(X).score_samples(X).mean() if impl == "fastnn" else score
    assert abs(score - sk_score) < 1.0, (score, sk_score)


@pytest.mark.benchmark(group="rbm-binary-20000x784-256-b10-1it")
@pytest.mark.parametrize("impl", ["fastnn", "sklearn"])
def test_rbm_binary_784(benchmark, run, record, impl, binary_784):
    X, source = binary_784
    record(impl, len(X) * BINARY["n_iter"], data=source, dtype=str(X.dtype))
    rounds = 3 if impl == "fastnn" else 1
    model = run(lambda: MAKERS[impl](BINARY).fit(X), rounds=rounds,
                warmup_rounds=1 if impl == "fastnn" else 0)
    score = model.score_samples(X[:5000]).mean()
    benchmark.extra_info["pseudo_likelihood"] = float(score)
    assert np.isfinite(score)
