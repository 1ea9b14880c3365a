"""Part G's linear classifier ("Make Your Own Neural Network")."""
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from .._validation import (check_array, check_consistent_length, check_feature_names, check_float,
                           check_int, column_to_1d, label_kind, refuse_non_finite_output)
from ..kernels.linear import train_slope


class LinearClassifier(ClassifierMixin, BaseEstimator):
    """Separate two classes of 2-D points ``(x, y)`` by a line ``y = A x``.

    The article's first classifier: start from ``initial_slope``, and for each
    sample move the line so it passes ``margin`` beyond the sample on the
    correct side, by the fraction ``learning_rate`` of the way
    (``dA = L * E / x``). With ``learning_rate=1`` each step fits the last
    sample exactly and forgets the others; a moderate rate balances them.

    Parameters
    ----------
    learning_rate : float in (0, 1], default=0.5
    margin : float >= 0, default=0.1
    n_epochs : int >= 1, default=1
    initial_slope : float, default=0.25
    above_class : label or None, default=None
        The class that lies above the line (None: the larger label, ``classes_[1]``).

    Attributes
    ----------
    slope_ : float
    slope_history_ : ndarray, the slope after every update
    classes_ : ndarray of 2 labels
    above_ : the label of the class above the line
    """

    def __init__(self, learning_rate=0.5, margin=0.1, n_epochs=1, initial_slope=0.25, above_class=None):
        self.learning_rate = learning_rate
        self.margin = margin
        self.n_epochs = n_epochs
        self.initial_slope = initial_slope
        self.above_class = above_class

    def fit(self, X, y):
        check_float(self.learning_rate, "learning_rate", low=0.0, high=1.0, low_inclusive=False)
        check_float(self.margin, "margin", low=0.0)
        check_int(self.n_epochs, "n_epochs", low=1)
        check_float(self.initial_slope, "initial_slope")
        if y is None:
            raise ValueError("LinearClassifier requires y to be passed, but the target y is None.")
        check_feature_names(self, X, reset=True)
        X = check_array(X, "X")
        if X.shape[1] != 2:
            raise ValueError(f"X must have 2 features (x, y) per sample; got {X.shape[1]}.")
        zero = np.flatnonzero(X[:, 0] == 0.0)
        if zero.size:
            raise ValueError(f"X[:, 0] must be non-zero (the update divides by x); got 0 at row {zero[0]}.")
        y = np.asarray(y)
        check_consistent_length(X, y)
        if y.ndim == 2 and y.shape[1] == 1:   # as scikit-learn's classifiers
            y = column_to_1d(y, stacklevel=3)
        if y.ndim != 1:
            raise ValueError(f"y must be 1-dimensional, one label a sample; got shape {y.shape}.")
        if y.dtype.kind == "f" and not np.isfinite(y).all():
            raise ValueError("y must be finite (no NaN or inf); got non-finite labels.")
        try:
            kind = label_kind(y)
        except TypeError:   # labels that do not compare: 1 and 'a', None and 1
            kind = "unknown"
        if kind == "unknown":
            raise ValueError(f"y must hold class labels of one kind, numbers or strings, that "
                             f"compare with each other; got {y.dtype.name} labels "
                             f"{list(dict.fromkeys(y.tolist()))[:4]!r}.")
        if kind == "continuous":
            frac = y[y != np.round(y)]
            raise ValueError(f"y must hold class labels, not continuous values; got "
                             f"{(frac if frac.size else y)[0].item()!r} (LinearClassifier "
                             "separates 2 classes).")
        classes = np.unique(y)
        if kind not in ("binary", "multiclass") or len(classes) != 2:
            raise ValueError(f"y must hold exactly 2 classes; got {len(classes)} class"
                             f"{'es' if len(classes) != 1 else ''}: {classes[:10].tolist()}.")
        self.n_features_in_ = 2
        self.classes_ = classes
        if self.above_class is None:
            self.above_ = self.classes_[1]
        elif self.above_class in self.classes_.tolist():
            self.above_ = self.above_class
        else:
            raise ValueError(f"above_class must be one of the labels {self.classes_.tolist()}; "
                             f"got {self.above_class!r}.")
        above = y == self.above_
        updates = int(self.n_epochs) * X.shape[0]
        try:
            history = np.empty(updates)
        except MemoryError:
            raise ValueError(
                f"n_epochs must leave room for slope_history_, one slope an update: {self.n_epochs} "
                f"epochs of {X.shape[0]} samples are {updates} updates ({updates * 8 / 2**30:.4g} GiB); "
                f"got n_epochs={self.n_epochs}.") from None
        slope = float(train_slope(X, above, float(self.initial_slope), float(self.learning_rate),
                                  float(self.margin), int(self.n_epochs), history))
        if not np.isfinite(slope):
            # (dA = L * E / x overflows for an x near 0 against its height, or for huge
            # values; no finite slope is the article's answer then)
            step = int(np.argmax(~np.isfinite(history)))
            row = step % X.shape[0]
            raise ValueError(f"X must keep every update dA = learning_rate * E / x finite; got "
                             f"x = {float(X[row, 0])!r}, y = {float(X[row, 1])!r} at row {row}, "
                             f"which made the slope {float(history[step])!r} at update {step + 1}. "
                             "Scale X, or drop rows whose x is nearly 0.")
        self.slope_ = slope
        self.slope_history_ = history
        return self

    def decision_function(self, X):
        """Height of each point above the line: ``y - A x``."""
        check_is_fitted(self, "slope_")
        check_feature_names(self, X, reset=False)
        X = check_array(X, "X", n_features=2, fitted_with="LinearClassifier")
        with np.errstate(over="ignore"):
            out = X[:, 1] - self.slope_ * X[:, 0]
        if not np.isfinite(out).all():   # (points of 1e308 on both axes, say)
            refuse_non_finite_output(X, out, np.array([self.slope_]))
        return out

    def predict(self, X):
        check_is_fitted(self, "slope_")
        below = self.classes_[0] if self.classes_[1] == self.above_ else self.classes_[1]
        return np.where(self.decision_function(X) > 0, self.above_, below)

    def save(self, path):
        """Write the fitted classifier to an HDF5 file (see ``fastnn.load``)."""
        from ._io import save_model
        save_model(self, path)
