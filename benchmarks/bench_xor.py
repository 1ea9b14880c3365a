"""Part D's XOR network, 2-5-1, 10000 epochs of the 4 samples in order, batch 1.

Logistic hidden and output layers, squared error, a bias on the input only
(weights in [-0.2, 0.2]), output weights in [-2, 2], learning rate 0.05 and
part D's momentum rule ``w -= lr * g_t + 0.1 * g_(t-1)`` on every layer.

fastnn and JAX run all 10000 epochs; the pure-Python and PyTorch peers run
fewer (``epochs`` in extra_info) and are compared per sample.
"""
import numpy as np
import pytest

import peers

# Rounds of the two fast implementations (5-12 ms each): enough to span a second,
# so a few hundred milliseconds of a slower host (shared cores come and go in
# stretches of ~20 runs of fastnn's 5 ms) do not decide the median on their own.
FAST_ROUNDS = 100

GROUP = "xor-2-5-1-10000ep"
EPOCHS = 10000
LR = 0.05
MOMENTUM = 0.1
PYTHON_EPOCHS = 1000
TORCH_EPOCHS = 250

pytestmark = pytest.mark.benchmark(group=GROUP)


@pytest.fixture(scope="module")
def xor():
    X, y = peers.xor_data()
    return X, y, peers.xor_init(seed=0)


@pytest.fixture(scope="module")
def reference(xor):
    """Part D's loops run for all 10000 epochs: the network every peer must end with."""
    X, y, init = xor
    net, curve = peers.xor_python(X, y, *init, EPOCHS, LR, MOMENTUM)
    W1 = np.array(net.input_weights[:-1])
    b1 = np.array(net.input_weights[-1])
    W2 = np.array(net.output_weights)
    return (W1, b1, W2), np.array(curve)


def _check_curve(curve, reference):
    """Finite and falling over the whole run; a shortened run follows the
    reference's first epochs (the loss is flat for the first few hundred)."""
    curve = np.asarray(curve, dtype=np.float64)
    assert np.all(np.isfinite(curve))
    if len(curve) == EPOCHS:
        assert curve[-1] < curve[0]
    np.testing.assert_allclose(curve, reference[1][:len(curve)], rtol=1e-6)


def _note(epochs):
    if epochs == EPOCHS:
        return {"epochs": epochs}
    return {"epochs": epochs,
            "note": f"runs {epochs} of {EPOCHS} epochs; compare per-sample times"}


def fastnn_model(fastnn):
    """Part D's network as fastnn trains it here (also ``paired.py``'s ``xor``)."""
    return fastnn.MLPRegressor(
        hidden_layer_sizes=(5,), activation="logistic", output_activation="logistic",
        loss="squared", solver="sgd", learning_rate_init=LR, momentum=MOMENTUM,
        momentum_rule="previous_gradient", batch_size=1, max_iter=EPOCHS,
        sample_order="sequential", bias=(True, False), init=((-0.2, 0.2), (-2.0, 2.0)),
        tol=None, alpha=0.0, random_state=0)


def test_fastnn(fastnn_models, run, record, xor, reference):
    X, y, _ = xor
    model = fastnn_model(fastnn_models)
    record("fastnn", EPOCHS * len(X), **_note(EPOCHS))
    fitted = run(lambda: model.fit(X, y), rounds=FAST_ROUNDS)
    curve = np.asarray(fitted.loss_curve_)
    assert np.all(np.isfinite(curve)) and curve[-1] < curve[0]
    # Same initial weights (xor_init draws them as fastnn does), same maths.
    (W1, b1, W2), _ = reference
    np.testing.assert_allclose(fitted.coefs_[0], W1, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(fitted.intercepts_[0], b1, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(fitted.coefs_[1], W2, rtol=1e-6, atol=1e-9)


def test_python(run, record, xor, reference):
    X, y, init = xor
    record("python", PYTHON_EPOCHS * len(X), **_note(PYTHON_EPOCHS))
    _, curve = run(lambda: peers.xor_python(X, y, *init, PYTHON_EPOCHS, LR, MOMENTUM),
                   rounds=5)
    _check_curve(curve, reference)


def test_torch(torch, run, record, xor, reference):
    X, y, init = xor
    peers.xor_torch(X, y, *init, 2, LR, MOMENTUM)  # warm-up
    record("torch", TORCH_EPOCHS * len(X), **_note(TORCH_EPOCHS))
    _, curve = run(lambda: peers.xor_torch(X, y, *init, TORCH_EPOCHS, LR, MOMENTUM),
                   rounds=5, warmup_rounds=0)
    _check_curve(curve, reference)


def test_jax(jax, run, record, xor, reference):
    X, y, init = xor
    train = peers.make_xor_jax(EPOCHS, LR, MOMENTUM)
    record("jax", EPOCHS * len(X), **_note(EPOCHS))
    params, curve = run(lambda: peers.block(train(X, y, *init)), rounds=FAST_ROUNDS)
    _check_curve(curve, reference)
    # Same maths, same initial weights: JAX ends where part D's loops end.
    for got, want in zip(params, reference[0]):
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6, atol=1e-9)
