"""The article's dense recipes reproduce what the article shows."""
import numpy as np
import pytest

from fastnn import experiments


def test_xor_bp_outputs_near_targets():
    r = experiments.run("xor-bp", seed=0)
    assert r.metrics["max_abs_error"] < 0.1
    assert len(r.curves["loss"]) == 10000
    np.testing.assert_allclose(r.arrays["predictions"], [0, 1, 1, 0], atol=0.1)


def test_xor_tanh_reproduces_the_article_network_and_the_true_bias_one_stalls():
    solved = [experiments.run("xor-tanh", seed=s).metrics["solved"] for s in range(10)]
    assert sum(solved) == 10
    true_bias = [experiments.run("xor-tanh", seed=s, article_bias_units=False).metrics["solved"]
                 for s in range(10)]
    assert sum(true_bias) < 10


def test_single_layer_fits_a_linear_target_but_not_xor():
    r = experiments.run("single-layer", seed=0)
    assert r.metrics["linear_max_abs_error"] < 0.05
    assert r.metrics["xor_max_abs_error"] > 0.4


def test_two_layer_loss_falls_monotonically():
    r = experiments.run("two-layer", seed=0)
    assert r.metrics["loss_increases"] == 0
    assert r.metrics["max_abs_error"] < 0.1
    assert np.all(np.diff(r.curves["loss"]) <= 0)


def test_digits_mlp_accuracy_and_report():
    r = experiments.run("digits-mlp", seed=0)
    assert r.metrics["test_accuracy"] >= 0.97
    cm = r.arrays["confusion_matrix"]
    assert cm.shape == (10, 10) and cm.sum() == 450
    assert np.trace(cm) / cm.sum() == pytest.approx(r.metrics["test_accuracy"])
    assert "macro avg" in r.text["classification_report"]


def test_rashid_network_on_digits():
    r = experiments.run("rashid-mnist", seed=0, dataset="digits", epochs=5)
    assert r.metrics["on_mnist"] == 0
    assert r.metrics["test_accuracy"] > 0.9


def test_linear_classifier_follows_the_book():
    r = experiments.run("linear-classifier", seed=0)
    np.testing.assert_allclose(r.curves["slope"], [0.3083333333, 1.6041666667], rtol=1e-9)
    assert r.metrics["train_accuracy"] > 0.95


def test_unknown_dataset_is_rejected():
    with pytest.raises(ValueError, match="dataset must be 'auto', 'mnist' or 'digits'; got 'cifar'"):
        experiments.run("rashid-mnist", seed=0, dataset="cifar")


@pytest.mark.parametrize("name", ["xor-bp", "xor-tanh", "digits-mlp", "single-layer", "two-layer",
                                  "rashid-mnist", "timing"])
def test_a_recipes_warm_up_runs_the_trainers_of_its_run_and_no_other(name, monkeypatch):
    # each trainer (optimiser, input width, batch-size path, dtype) is 10-30 s of compile
    # on a new machine; a warm-up that compiled the others made part D's first sweep
    # wait 51 s instead of 14
    from fastnn.experiments.runners import warm_up
    from fastnn.kernels import dense

    used = []

    def recording(key, kernel):
        def call(params, *args):
            used.append(key + (params.dtype.name,))
            return kernel(params, *args)
        return call

    one_hidden = dense.one_hidden_trainer
    monkeypatch.setattr(dense, "one_hidden_trainer", lambda solver, n_in: recording(
        ("one hidden layer", solver, n_in >= dense.LAZY_MIN_INPUTS), one_hidden(solver, n_in)))
    for path in ("train_samples", "train_epochs"):
        monkeypatch.setattr(dense, path, recording((path,), getattr(dense, path)))
    warm_up(name)
    warmed = set(used)
    used.clear()
    experiments.run(name, seed=0)
    assert warmed and set(used) == warmed
