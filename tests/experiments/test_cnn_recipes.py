"""The CNN recipes' options, run through the experiments layer and its store."""
import numpy as np

from fastnn.experiments import load, load_curves, run


def test_digits_cnn_with_early_stopping_stores_its_validation_curve(tmp_path):
    out = tmp_path / "cnn.h5"
    common = dict(epochs=40, n_filters=3, hidden_layer_sizes=(32,))
    stopped = run("digits-cnn", seed=1, out=out, early_stopping=True, validation_fraction=0.2,
                  **common)
    curve = stopped.curves["validation_score"]
    assert len(curve) == stopped.metrics["epochs"] == len(stopped.curves["loss"]) < 40
    assert stopped.metrics["best_validation_score"] == curve.max() > 0.9
    assert stopped.metrics["test_accuracy"] > 0.9
    plain = run("digits-cnn", seed=1, out=out, epochs=2, n_filters=3, hidden_layer_sizes=(32,))
    assert "validation_score" not in plain.curves and "best_validation_score" not in plain.metrics
    assert len(load(out)) == 2
    stored = load_curves(out, "validation_score")   # the early-stopped run's only
    assert len(stored) == 1
    np.testing.assert_array_equal(next(iter(stored.values())), curve)
    back = run("digits-cnn", seed=1, out=out, early_stopping=True, validation_fraction=0.2,
               **common)   # stored: read back, not run again
    np.testing.assert_array_equal(back.curves["validation_score"], curve)
    assert back.metrics["fit_seconds"] == stopped.metrics["fit_seconds"]
