"""Pictures: curves over a sweep and confusion matrices."""
import numpy as np
import pytest
from toy_recipes import REF

from fastnn import plots
from fastnn.experiments import sweep

pytest.importorskip("matplotlib")
PNG = b"\x89PNG\r\n\x1a\n"


def test_curves_groups_configurations_and_draws_bands(tmp_path):
    out = tmp_path / "r.h5"
    sweep({"recipe": REF, "seeds": [0, 1, 2], "grid": {"learning_rate": [0.1, 0.3]}}, out=out,
          progress=False)
    groups = plots._config_groups(str(out), "loss", {"loss", "weight_norm", "wall_seconds",
                                                     "compile_seconds", "metric_n_steps", "label_len"})
    assert sorted(groups) == ["learning_rate=0.1", "learning_rate=0.3"]
    assert all(len(runs) == 3 for runs in groups.values())
    for band in ("minmax", "std"):
        png = plots.curves(out, "loss", tmp_path / f"{band}.png", band=band)
        assert open(png, "rb").read(8) == PNG
    with pytest.raises(ValueError, match="no run in .* has a curve 'nope'"):
        plots.curves(out, "nope", tmp_path / "x.png")
    with pytest.raises(ValueError, match="band must be one of"):
        plots.curves(out, "loss", tmp_path / "x.png", band="iqr")


def test_confusion_matrix(tmp_path):
    png = plots.confusion_matrix(np.array([[5, 1], [2, 7]]), ["cat", "dog"], tmp_path / "c.png",
                                 normalize=True, title="t")
    assert open(png, "rb").read(8) == PNG
    with pytest.raises(ValueError, match=r"matrix must be a square 2-D array; got shape \(2, 3\)"):
        plots.confusion_matrix(np.zeros((2, 3)), None, tmp_path / "c.png")
    with pytest.raises(ValueError, match="labels must have 2 entries"):
        plots.confusion_matrix(np.zeros((2, 2)), ["a"], tmp_path / "c.png")


def _png_width(path):
    data = open(path, "rb").read(24)
    assert data[:8] == PNG
    return int.from_bytes(data[16:20], "big")


def test_training_curves_of_fitted_models(tmp_path):
    """The solvers' loss curves side by side; a second panel for the
    validation scores of a model that held out a validation set."""
    import warnings
    from sklearn.exceptions import ConvergenceWarning
    from fastnn import MLPClassifier
    from fastnn.data import load_digits
    X, y = load_digits()
    X, y = X[:200].reshape(200, -1), y[:200]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        models = {solver: MLPClassifier((8,), solver=solver, max_iter=5, random_state=0).fit(X, y)
                  for solver in ("sgd", "adam", "lbfgs")}
        stopped = MLPClassifier((8,), early_stopping=True, max_iter=5, random_state=0).fit(X, y)
    one = plots.training_curves(models, tmp_path / "three.png", title="solvers")
    two = plots.training_curves({**models, "early stopping": stopped}, tmp_path / "four.png")
    alone = plots.training_curves(models["lbfgs"], tmp_path / "one.png")
    assert _png_width(one) == _png_width(alone) == 7 * 120 and _png_width(two) == 12 * 120
    with pytest.raises(ValueError, match=r"training_curves needs fitted models with a loss_curve_; "
                                         r"'new' \(MLPClassifier\) has none: fit it first"):
        plots.training_curves({"new": MLPClassifier()}, tmp_path / "x.png")
    with pytest.raises(ValueError, match="models must hold at least one fitted model"):
        plots.training_curves({}, tmp_path / "x.png")


# ---------------------------------------------------------------- model pictures: bad arguments

def test_rbm_components_names_a_bad_n_cols_or_no_components(tmp_path):
    comps = np.random.default_rng(0).normal(size=(6, 64))
    assert open(plots.rbm_components(comps, tmp_path / "ok.png", n_cols=4), "rb").read(8) == PNG
    with pytest.raises(ValueError, match=r"n_cols must be an int >= 1; got 0\."):
        plots.rbm_components(comps, tmp_path / "x.png", n_cols=0)
    with pytest.raises(TypeError, match=r"n_cols must be an int; got float 2\.5\."):
        plots.rbm_components(comps, tmp_path / "x.png", n_cols=2.5)
    with pytest.raises(ValueError, match=r"components must hold at least one component \(a row\); "
                                         r"got shape \(0, 64\)\."):
        plots.rbm_components(np.zeros((0, 64)), tmp_path / "x.png")


def test_hopfield_recall_names_no_rows_or_a_bad_max_rows(tmp_path):
    P = np.where(np.random.default_rng(0).random((5, 64)) < 0.5, -1, 1)
    assert open(plots.hopfield_recall(P, P, P, (8, 8), tmp_path / "ok.png", max_rows=2),
                "rb").read(8) == PNG
    with pytest.raises(ValueError, match=r"probes, recalled and stored must hold at least one row; "
                                         r"got shape \(0, 64\)\."):
        plots.hopfield_recall(P[:0], P[:0], P[:0], (8, 8), tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"max_rows must be an int >= 1; got 0\."):
        plots.hopfield_recall(P, P, P, (8, 8), tmp_path / "x.png", max_rows=0)
