"""A fit with scikit-learn's ConvergenceWarning silenced (the model tests' short fits)."""
import warnings

from sklearn.exceptions import ConvergenceWarning


def fit_quietly(model, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(*args, **kw)
