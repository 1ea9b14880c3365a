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
    ([[1.0, 2.0], [2.0, 1.0]], [0, 0], ValueError, r"y must hold exactly 2 classes; got 1 class: \[0\]\."),
    ([[1.0, 2.0], [2.0, 1.0]], [0.5, 1.5], ValueError,
     r"y must hold class labels, not continuous values; got 0.5 \(LinearClassifier separates 2 classes\)\."),
    ([[1.0, 2.0], [2.0, 1.0]], [[0, 1], [1, 0]], ValueError,
     r"y must be 1-dimensional, one label a sample; got shape \(2, 2\)\."),
    ([[1.0, 2.0], [2.0, 1.0]], 5, ValueError, r"y must be an array with one entry a sample; got a scalar, int 5\."),
    # labels that do not compare, and NaN: scikit-learn's errors named neither y nor the labels
    ([[1.0, 2.0], [2.0, 1.0]], np.array([1, "a"], dtype=object), ValueError,
     r"y must hold class labels of one kind, numbers or strings, that compare with each other; "
     r"got object labels \[1, 'a'\]\."),
    ([[1.0, 2.0], [2.0, 1.0]], [None, 1], ValueError, r"got object labels \[None, 1\]\."),
    ([[1.0, 2.0], [2.0, 1.0]], [np.nan, 1.0], ValueError, r"y must be finite \(no NaN or inf\); got non-finite labels\."),
    # dA = 0.5 * (1.1 - 0.25e-320) / 1e-320 overflows: the slope was NaN, silently
    ([[1e-320, 1.0], [1.0, 3.0]], [0, 1], ValueError,
     r"X must keep every update dA = learning_rate \* E / x finite; got x = 1e-320, y = 1.0 at row 0, "
     r"which made the slope inf at update 1\. Scale X, or drop rows whose x is nearly 0\."),
])
def test_bad_input(X, y, err, msg):
    with pytest.raises(err, match=msg):
        LinearClassifier().fit(np.array(X), y)


def test_bad_parameters():
    with pytest.raises(ValueError, match=r"learning_rate must be a finite float in \(0.0, 1.0\]; got 1.5"):
        LinearClassifier(learning_rate=1.5).fit([[1.0, 1.0], [2.0, 1.0]], [0, 1])
    with pytest.raises(ValueError, match=r"above_class must be one of the labels \[0, 1\]; got 7"):
        LinearClassifier(above_class=7).fit([[1.0, 1.0], [2.0, 1.0]], [0, 1])


def test_predict_before_fit_is_not_fitted_error():
    from sklearn.exceptions import NotFittedError
    with pytest.raises(NotFittedError, match="This LinearClassifier instance is not fitted yet"):
        LinearClassifier().predict([[1.0, 2.0]])


def test_a_column_of_labels_is_taken_with_a_warning():
    from sklearn.exceptions import DataConversionWarning
    with pytest.warns(DataConversionWarning, match="A column-vector y was passed"):
        m = LinearClassifier().fit([[3.0, 1.0], [1.0, 3.0]], [[0], [1]])
    assert m.slope_ == LinearClassifier().fit([[3.0, 1.0], [1.0, 3.0]], [0, 1]).slope_


def test_n_epochs_that_cannot_be_held_is_a_clear_error():
    """n_epochs=10**12 asked NumPy for a 14.6 TiB slope history (a MemoryError that named nothing)."""
    with pytest.raises(ValueError, match=r"n_epochs must leave room for slope_history_, one slope an "
                                         r"update: 1000000000000 epochs of 2 samples are "
                                         r"2000000000000 updates \(1\.49e\+04 GiB\); got n_epochs="):
        LinearClassifier(n_epochs=10 ** 12).fit([[3.0, 1.0], [1.0, 3.0]], [0, 1])


def test_heights_that_overflow_are_refused_not_inf():
    m = LinearClassifier().fit([[3.0, 1.0], [1.0, 3.0]], [0, 1])
    with pytest.raises(ValueError, match=r"X must be on a scale the network can compute in float64; "
                                         r"got rows whose outputs are NaN or inf \(the first: row 1, "
                                         r"max \|X\[1\]\| = 1\.7e\+308\)"):
        m.predict([[1.0, 1.0], [1.7e308, -1.7e308]])   # (the height was -inf)
    assert np.isfinite(m.decision_function([[1e300, -1e300]])).all()


def test_save_and_load_round_trip(tmp_path):
    import fastnn
    m = LinearClassifier(n_epochs=2, above_class="caterpillar").fit(
        [[3.0, 1.0], [1.0, 3.0]], ["ladybird", "caterpillar"])
    m.save(tmp_path / "linear.h5")
    back = fastnn.load(tmp_path / "linear.h5")
    assert type(back) is LinearClassifier and back.get_params() == m.get_params()
    assert back.slope_ == m.slope_ and back.above_ == "caterpillar"
    np.testing.assert_array_equal(back.slope_history_, m.slope_history_)
    np.testing.assert_array_equal(back.classes_, m.classes_)
    assert list(back.predict([[3.0, 1.0], [1.0, 3.0]])) == ["ladybird", "caterpillar"]
