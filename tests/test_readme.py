"""The README's Python examples run as written (with the data their fragments
assume defined first), and the outputs they show in comments are what they give."""
import os
import re

import numpy as np
import pytest
from sklearn.datasets import load_digits

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _blocks():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        return re.findall(r"```python\n(.*?)```", f.read(), re.S)


def _data():
    """What the tour's fragments take as given: digits scaled to [0, 1] (X01, y),
    8x8 digit images split for the CNN, {-1, +1} patterns and noisy copies."""
    digits = load_digits()
    X01, y = digits.data[:200] / 16, digits.target[:200]
    images = digits.images / 16
    rng = np.random.default_rng(0)
    patterns = np.where(rng.random((5, 64)) < 0.5, -1, 1)
    noisy = np.where(rng.random(patterns.shape) < 0.1, -patterns, patterns)
    return dict(X01=X01, y=y, X_train=images[:1200], y_train=digits.target[:1200],
                X_test=images[1200:], patterns=patterns, noisy=noisy)


def _shown_arrays(block):
    """``(expression, values)`` of each line ``expression  # array([...])``."""
    for line in block.splitlines():
        m = re.match(r"\s*(\S.*?)\s+#\s*array\((\[.*?\])\)", line)
        if m:
            yield m.group(1), np.array(eval(m.group(2)))


def test_readme_has_the_tour_examples():
    blocks = _blocks()
    assert len(blocks) >= 5 and "fastnn.MLPRegressor(" in blocks[0]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")   # LogisticRegression's
def test_readme_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                       # digits.h5, xor.h5 and the like
    space = {}
    shown = 0
    for block in _blocks():
        block = block.replace('"scripts/sweeps/', '"' + os.path.join(ROOT, "scripts", "sweeps", ""))
        data = _data()
        if "X01" in block:          # the RBM fragment's y is the digits', not part D's
            space["y"] = data["y"]
        for name, value in data.items():
            space.setdefault(name, value)
        exec(compile(block, "README.md", "exec"), space)
        for expression, values in _shown_arrays(block):
            got = eval(expression, space)
            np.testing.assert_allclose(got, values, atol=5e-4, err_msg=expression)
            shown += 1
    assert shown >= 1
    assert space["res"].states.shape == space["noisy"].shape
    assert len(space["table"]) == 45 and set(space["table"].status) == {"done"}
