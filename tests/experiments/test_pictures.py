"""`fastnn plot --picture`: model pictures drawn from stored runs."""
import pytest

from fastnn.cli import main

pytest.importorskip("matplotlib")


def _png_ok(path):
    data = path.read_bytes()
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


@pytest.mark.parametrize("recipe,sets,picture", [
    ("hopfield-recall", ["n_probes_per_pattern=2", "compare_rules=false"], "hopfield-recall"),
    ("hopfield-capacity", ["sizes=100", "n_seeds=1", "loads=0.05,0.14,0.3", "n_probes=8"],
     "hopfield-capacity"),
    ("rbm-digits", ["n_iter=1", "n_components=16", "compare_scikit_learn=false", "n_seeds=1"], "rbm-components"),
    ("digits-cnn", ["epochs=1", "n_filters=3"], "feature-maps"),
])
def test_picture_from_a_stored_run(tmp_path, capsys, recipe, sets, picture):
    out = tmp_path / "r.h5"
    args = ["run", recipe, "--out", str(out)]
    for s in sets:
        args += ["--set", s]
    assert main(args) == 0
    png = tmp_path / "p.png"
    assert main(["plot", str(out), "--picture", picture, "--out", str(png)]) == 0
    assert _png_ok(png)


def test_picture_of_the_wrong_recipe_is_a_clear_error(tmp_path, capsys):
    out = tmp_path / "r.h5"
    assert main(["run", "xor-bp", "--set", "epochs=10", "--out", str(out)]) == 0
    assert main(["plot", str(out), "--picture", "rbm-components"]) == 2
    err = capsys.readouterr().err
    assert "--picture rbm-components needs a run of rbm-digits with arrays ['components']" in err
