"""The batch scripts of the dense parts (scripts/part_{a,b,d,g,i}_*.py) with --quick.

Each script is imported from its file and its ``main(argv)`` run in process:
the results files hold the expected runs, the pictures are written, the
printed table has its rows, and a second run resumes instead of rerunning.
"""
import importlib.util
import os
import re
import sys

import numpy as np
import pytest

from fastnn import experiments

# a one-epoch network of the quick settings may never predict some digit
pytestmark = pytest.mark.filterwarnings("ignore:Precision is ill-defined")

SCRIPTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts")


def load_script(name):
    spec = importlib.util.spec_from_file_location(f"fastnn_script_{name}",
                                                  os.path.join(SCRIPTS, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_quick(name, tmp_path, capsys, *extra):
    assert load_script(name).main(["--quick", "--out-dir", str(tmp_path), "--no-progress",
                                   *extra]) == 0
    return capsys.readouterr().out


def table_rows(out, header_start):
    """The rows (split into cells) of the printed table whose header starts with ``header_start``."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    assert set(lines[start + 1].replace(" ", "")) == {"-"}
    rows = []
    for line in lines[start + 2:]:
        if not line.strip():
            break
        rows.append(line.split())
    return rows


def assert_done(path, n_runs):
    table = experiments.load(str(path))
    assert len(table) == n_runs
    assert list(table["status"]) == ["done"] * n_runs
    return table


def assert_pictures(tmp_path, *names):
    pytest.importorskip("matplotlib")
    for name in names:
        path = tmp_path / name
        assert path.is_file() and path.stat().st_size > 1000, name
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_part_a(tmp_path, capsys):
    out = run_quick("part_a_mlp", tmp_path, capsys)
    xor = assert_done(tmp_path / "xor_tanh.h5", 6)                  # 2 settings x 3 seeds
    assert sorted(set(xor["article_bias_units"])) == [False, True]
    digits = assert_done(tmp_path / "digits_mlp.h5", 2)             # 2 seeds
    assert np.all(np.asarray(digits["test_accuracy"], float) > 0.8)
    rows = table_rows(out, "article_bias_units")
    assert [r[0] for r in rows] == ["True", "False"]
    assert all(r[1] == "3" and re.fullmatch(r"[0-3]/3", r[2]) for r in rows)
    solved = {r[0]: sum(xor["solved"][xor["article_bias_units"] == (r[0] == "True")])
              for r in rows}
    assert [r[2] for r in rows] == [f"{solved[r[0]]}/3" for r in rows]
    rows = table_rows(out, "hidden")
    assert len(rows) == 1 and rows[0][:3] == ["100", "2", "2"]
    assert abs(float(rows[0][3]) - np.mean(digits["test_accuracy"])) < 1e-3
    assert "classification report of run" in out and "macro avg" in out
    assert_pictures(tmp_path, "xor_tanh_loss.png", "digits_loss.png", "digits_confusion.png")


def test_part_b(tmp_path, capsys):
    out = run_quick("part_b_single_layer", tmp_path, capsys)
    assert_done(tmp_path / "single_layer.h5", 4)                    # 2 learning rates x 2 seeds
    rows = table_rows(out, "learning_rate")
    assert [r[:3] for r in rows] == [["0.1", "2000", "2"], ["1", "2000", "2"]]
    assert all(r[5] == "0/2" for r in rows)                         # one layer never fits XOR
    assert rows[1][3] == "2/2"                                      # but fits [0, 0, 1, 1]
    assert_pictures(tmp_path, "single_layer_loss_linear.png", "single_layer_loss_xor.png")


def test_part_d(tmp_path, capsys):
    out = run_quick("part_d_bp", tmp_path, capsys)
    assert_done(tmp_path / "xor_bp.h5", 8)                          # 2 x 2 cells x 2 seeds
    assert_done(tmp_path / "xor_bp_momentum_rule.h5", 8)
    rows = table_rows(out, "learning_rate")
    assert [r[:3] for r in rows] == [["0.05", "0", "2"], ["0.05", "0.1", "2"],
                                     ["0.1", "0", "2"], ["0.1", "0.1", "2"]]
    rows = table_rows(out, "momentum_rule")
    assert [r[:3] for r in rows] == [["classical", "0.1", "2"], ["classical", "0.5", "2"],
                                     ["previous_gradient", "0.1", "2"],
                                     ["previous_gradient", "0.5", "2"]]
    assert_pictures(tmp_path, "xor_bp_loss.png", "xor_bp_momentum_rule_loss.png")

    # a second run resumes: nothing is run again, the file keeps its runs
    out = run_quick("part_d_bp", tmp_path, capsys)
    assert "8 runs (0 run now, 8 already stored, 0 failed)" in out
    assert_done(tmp_path / "xor_bp.h5", 8)


def test_part_g(tmp_path, capsys):
    out = run_quick("part_g_rashid", tmp_path, capsys)
    assert_done(tmp_path / "linear_classifier.h5", 4)               # 2 learning rates x 2 seeds
    assert_done(tmp_path / "rashid_digits.h5", 4)                   # 2 x 2 cells x 1 seed
    rows = table_rows(out, "learning_rate  book_slopes")
    assert [r[0] for r in rows] == ["0.1", "0.5"]
    assert " ".join(rows[1][1:6]) == "0.25 -> 0.3083 -> 1.6042"      # the book's history
    rows = table_rows(out, "hidden")
    assert [r[:4] for r in rows] == [["25", "0.1", "1", "1"], ["25", "0.3", "1", "1"],
                                     ["50", "0.1", "1", "1"], ["50", "0.3", "1", "1"]]
    assert "on the 8x8 digits" in out
    assert_pictures(tmp_path, "linear_slope_book.png", "linear_slope_bugs.png",
                    "rashid_digits_confusion.png")


def test_part_i(tmp_path, capsys):
    out = run_quick("part_i_two_layer", tmp_path, capsys)
    table = assert_done(tmp_path / "two_layer.h5", 3)               # 3 seeds
    rows = table_rows(out, "hidden")
    assert len(rows) == 1 and rows[0][:4] == ["4", "8", "300", "3"]
    assert float(rows[0][5]) == pytest.approx(np.mean(table["loss"]), rel=1e-3)
    assert rows[0][7] == str(int(np.sum(table["loss_increases"])))
    assert_pictures(tmp_path, "two_layer_loss.png")


def test_wrong_recipe_sweep_is_a_clear_error(tmp_path, capsys):
    script = load_script("part_i_two_layer")
    with pytest.raises(SystemExit):
        script.main(["--quick", "--out-dir", str(tmp_path),
                     "--sweep", os.path.join(SCRIPTS, "sweeps", "xor_bp.toml")])
    assert "is a sweep of recipe 'xor-bp'; this option needs 'two-layer'" in capsys.readouterr().err
    assert not (tmp_path / "xor_bp.h5").exists()


def test_without_matplotlib_the_pictures_are_skipped(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)            # import matplotlib fails
    out = run_quick("part_b_single_layer", tmp_path, capsys)
    assert "matplotlib is not installed: no pictures" in out
    assert_done(tmp_path / "single_layer.h5", 4)
    assert not list(tmp_path.glob("*.png"))
