import numpy as np
import pytest

from fastnn import LinearClassifier


def test_book_example_step_by_step():
    # slope 0.25; ladybird (3.0, 1.0): target 1.1, E = 1.1 - 0.75 = 0.35, dA = 0.5 * 0.35 / 3 = 0.0583
    # caterpillar (1.0, 3.0): target 2.9, E = 2.9 - 0.3083 = 2.5917, dA = 0.5 * 2.5917 = 1.2958
    m = LinearClassifier(learning_rate=0.5, above_class="caterpillar").fit(
        [[3.0, 1.0], [1.0, 3.0]], ["ladybird", "caterpillar"])
    np.testing.assert_allclose(m.slope_history_, [0.25 + 0.35 / 6, 1.6041666666666667])
    assert list(m.predict([[3.0, 1.0], [1.0, 3.0]])) == ["ladybird", "caterpillar"]


def test_learning_rate_one_fits_only_the_last_sample():
    m = LinearClassifier(learning_rate=1.0, above_class=1).fit([[3.0, 1.0], [1.0, 3.0]], [0, 1])
    assert m.slope_ == pytest.approx(2.9)       # the first update (to 1.1 / 3) is forgotten
    assert m.decision_function([[1.0, 3.0]])[0] == pytest.approx(0.1)  # 0.1 below the caterpillar


@pytest.mark.parametrize("X,y,err,msg", [
    ([[1.0, 2.0, 3.0]], [0], ValueError, r"X must have 2 features \(x, y\) per sample; got 3"),
    ([[0.0, 1.0], [1.0, 2.0]], [0, 1], ValueError, r"X\[:, 0\] must be non-zero \(the update divides by x\); got 0 at row 0"),
    ([[1.0, 1.0], [1.0, 2.0], [2.0, 2.0]], [0, 1, 2], ValueError, r"y must hold exactly 2 classes; got 3 classes"),
    ([[1.0, np.nan], [1.0, 2.0]], [0, 1], ValueError, r"X must be finite"),
])
def test_bad_input(X, y, err, msg):
    with pytest.raises(err, match=msg):
        LinearClassifier().fit(np.array(X), y)


def test_bad_parameters():
    with pytest.raises(ValueError, match=r"learning_rate must be a finite float in \(0.0, 1.0\]; got 1.5"):
        LinearClassifier(learning_rate=1.5).fit([[1.0, 1.0], [2.0, 1.0]], [0, 1])
    with pytest.raises(ValueError, match=r"above_class must be one of the labels \[0, 1\]; got 7"):
        LinearClassifier(above_class=7).fit([[1.0, 1.0], [2.0, 1.0]], [0, 1])
