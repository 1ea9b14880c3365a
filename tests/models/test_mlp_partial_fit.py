"""partial_fit on a fitted network: its parameters are checked again on every
call, and it continues the fitted network (its layers, dtype and classes)."""
import numpy as np
import pytest
from numpy.testing import assert_array_equal

from fastnn import MLPClassifier, MLPRegressor
from tests.models.quiet import fit_quietly

X = np.random.RandomState(0).randn(60, 4)
y = (X[:, 0] > 0).astype(int)
TARGET = {MLPClassifier: y, MLPRegressor: X[:, 0]}
CLASSES = {MLPClassifier: {"classes": [0, 1]}, MLPRegressor: {}}

NETWORK = (r"partial_fit continues the fitted network, but hidden_layer_sizes, activation, "
           r"output_activation, bias or dtype now describe another one \(fitted: layer sizes ")

LATER_PARAMS = [
    ("batch string", dict(batch_size="foo"), ValueError,
     r"batch_size must be an int >= 1, 'auto' or 'full'; got 'foo'"),
    ("alpha string", dict(alpha="x"), TypeError, r"alpha must be a float; got str 'x'"),
    ("lr negative", dict(learning_rate_init=-1), ValueError,
     r"learning_rate_init must be a finite float > 0.0; got -1.0"),
    ("momentum", dict(momentum=2.0), ValueError, r"momentum must be a finite float in \[0.0, 1.0\); got 2.0"),
    ("schedule", dict(learning_rate="optimal"), ValueError,
     r"learning_rate must be one of \['adaptive', 'constant', 'invscaling'\]; got 'optimal'"),
    ("n_iter_no_change", dict(n_iter_no_change=0), ValueError, r"n_iter_no_change must be an int >= 1; got 0"),
    ("to float32", dict(dtype="float32"), ValueError,
     NETWORK + r"\[4, 3, 1\], dtype float64; now: layer sizes \[4, 3, 1\], dtype float32\); set them back"),
    ("hidden", dict(hidden_layer_sizes=(5,)), ValueError,
     NETWORK + r"\[4, 3, 1\], dtype float64; now: layer sizes \[4, 5, 1\], dtype float64\)"),
    ("activation", dict(activation="tanh"), ValueError, NETWORK),
]


@pytest.mark.parametrize("model", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("case,kw,err,msg", LATER_PARAMS, ids=[c[0] for c in LATER_PARAMS])
def test_later_partial_fit_checks_its_parameters_again(model, case, kw, err, msg):
    """After partial_fit (twice: the second call's checks are the ones it may
    skip while nothing changed), set_params(...) and partial_fit: the error,
    the model left as it was, and training again once the parameter is back."""
    m = model((3,), random_state=0)
    m.partial_fit(X, TARGET[model], **CLASSES[model])
    m.partial_fit(X, TARGET[model])
    before = [c.copy() for c in m.coefs_]
    good = {k: m.get_params()[k] for k in kw}
    with pytest.raises(err, match=msg):
        m.set_params(**kw).partial_fit(X, TARGET[model])
    for a, b in zip(before, m.coefs_):
        assert_array_equal(a, b)
    m.set_params(**good).partial_fit(X, TARGET[model])
    assert len(m.loss_curve_) == 3


@pytest.mark.parametrize("model", [MLPClassifier, MLPRegressor])
def test_partial_fit_in_another_dtype_than_fit_is_refused(model):
    """Both ways (it compiled a trainer for the new dtype and failed in it
    with a Numba TypingError): partial_fit continues the fitted network, in
    the dtype it was fitted in, as a warm start does."""
    for fitted, other in [("float64", "float32"), ("float32", "float64")]:
        m = fit_quietly(model((3,), max_iter=2, random_state=0, dtype=fitted), X, TARGET[model])
        with pytest.raises(ValueError, match=NETWORK + rf"\[4, 3, 1\], dtype {fitted}; now: layer "
                                                       rf"sizes \[4, 3, 1\], dtype {other}\)"):
            m.set_params(dtype=other).partial_fit(X, TARGET[model])
        assert m.coefs_[0].dtype == np.dtype(fitted)


def test_a_hidden_layer_list_changed_in_place_is_noticed():
    """The checks are skipped only while every parameter is the same immutable
    object: a list changed in place is checked again."""
    sizes = [3]
    m = MLPClassifier(sizes, random_state=0)
    for _ in range(3):
        m.partial_fit(X, y, classes=[0, 1])
    sizes[0] = 5
    with pytest.raises(ValueError, match=NETWORK + r"\[4, 3, 1\], dtype float64; now: layer sizes "
                                                   r"\[4, 5, 1\]"):
        m.partial_fit(X, y)


def test_a_new_network_is_checked_afresh():
    """A fit that draws a new network forgets the parameters the old one passed."""
    m = MLPClassifier((3,), random_state=0)
    m.partial_fit(X, y, classes=[0, 1])
    m.partial_fit(X, y)
    hidden = m.hidden_layer_sizes
    fit_quietly(m.set_params(hidden_layer_sizes=(4,), max_iter=2), X, y)
    with pytest.raises(ValueError, match=NETWORK + r"\[4, 4, 1\], dtype float64; now: layer sizes "
                                                   r"\[4, 3, 1\]"):
        m.set_params(hidden_layer_sizes=hidden).partial_fit(X, y)


def test_later_classes_must_be_the_fitted_ones():
    """As scikit-learn's (``classes=[0, 1, 2]`` is not the same as on last
    call to partial_fit): it was ignored; after fit too. The same classes
    again are fine."""
    m = MLPClassifier((3,), random_state=0)
    m.partial_fit(X, y, classes=[0, 1])
    m.partial_fit(X, y, classes=np.array([1, 0]))
    before = [c.copy() for c in m.coefs_]
    with pytest.raises(ValueError, match=r"classes must be the classes the network was fitted with, "
                                         r"\[0, 1\] \(partial_fit cannot change them\); got \[0, 1, 2\]"):
        m.partial_fit(X, y, classes=[0, 1, 2])
    for a, b in zip(before, m.coefs_):
        assert_array_equal(a, b)
    fitted = fit_quietly(MLPClassifier((3,), max_iter=2, random_state=0), X, y)
    with pytest.raises(ValueError, match=r"fitted with, \[0, 1\] \(partial_fit cannot change them\); "
                                         r"got \[0\]"):
        fitted.partial_fit(X, y, classes=[0])


def test_multilabel_partial_fit_names_the_columns_as_classes():
    Ym = (np.random.RandomState(1).rand(60, 3) > 0.5).astype(int)
    with pytest.raises(ValueError, match=r"classes must be the column indices of the multilabel y, "
                                         r"\[0, 1, 2\]; got \[1, 2, 3\]"):
        MLPClassifier((3,)).partial_fit(X, Ym, classes=[1, 2, 3])
    m = MLPClassifier((3,), random_state=0).partial_fit(X, Ym, classes=[0, 1, 2])
    with pytest.raises(ValueError, match=r"fitted with, \[0, 1, 2\] \(partial_fit cannot change "
                                         r"them\); got \[0, 1\]"):
        m.partial_fit(X, Ym, classes=[0, 1])
