"""Backpropagation against central finite differences."""
import copy

import numpy as np
from sklearn.base import clone

from .._validation import check_array, check_consistent_length, check_float
from ..kernels import dense


def check_gradients(estimator, X, y, eps=1e-5):
    """Largest relative error between backprop and finite-difference gradients.

    The estimator is cloned in float64; when it is fitted its current weights
    are used (and ``X`` and ``y`` must suit its network: its features, its
    classes or outputs), otherwise fresh initial weights. ``eps``: a float in
    (0, 1]. For each parameter ``p`` the
    central difference ``(L(p + eps) - L(p - eps)) / (2 eps)`` of the
    full-batch loss (with its L2 term) is compared with the backprop gradient;
    a layer's error is normwise: ``max |g - fd| / max |fd|`` over its weights
    and biases.

    Returns
    -------
    errors : ndarray of shape (n_layers,)
        The largest relative error over each layer's weights and biases.
    """
    from .mlp import _BaseMLP
    eps = check_float(eps, "eps", low=0.0, high=1.0, low_inclusive=False)
    if not isinstance(estimator, _BaseMLP):
        if hasattr(estimator, "_loss_and_gradient"):
            return _finite(_check_generic(_float64_model(estimator, X, y), X, y, eps))
        raise TypeError(f"estimator must be a fastnn network; got {type(estimator).__name__}.")
    if hasattr(estimator, "_params"):
        # fitted: its own network (its features, classes and outputs), in float64; a
        # fit of a clone would size the network from this X and y instead
        model = copy.deepcopy(estimator)
        model._params = np.ascontiguousarray(estimator._params, dtype=np.float64)
        Xc = model._check_X_predict(X)
        y = np.asarray(y)
        check_consistent_length(Xc, y)
        if hasattr(model, "classes_"):
            Y = model._one_hot(y, first=True)
        else:
            Y = check_array(y.reshape(len(y), -1), "y")
            if Y.shape[1] != model.n_outputs_:
                raise ValueError(f"y has {Y.shape[1]} outputs, but the network was fitted with "
                                 f"{model.n_outputs_}.")
    else:
        model = clone(estimator).set_params(dtype="float64", max_iter=1, tol=None, verbose=False)
        # initialise by one partial step with a zero learning rate: weights unchanged
        model.set_params(learning_rate_init=1e-300, solver="sgd", momentum=0.0,
                         early_stopping=False)
        model.fit(X, y)
        Xc = model._check_X_predict(X)
        if hasattr(model, "classes_"):   # a classifier: its targets, as fit made them
            Y = model._one_hot(np.asarray(y))
        else:
            Y = np.asarray(y, dtype=np.float64).reshape(len(Xc), -1)
    Y = np.ascontiguousarray(Y, dtype=np.float64)
    params = model._params
    layout = model._layout
    A = np.empty((Xc.shape[0], model._n_units))
    D = np.empty_like(A)
    grad = np.empty_like(params)
    alpha = float(model.alpha)
    dense.gradient(params, layout, model._loss_code, Xc, Y, alpha, A, D, grad)
    scratch = np.empty_like(params)
    fd = np.empty_like(params)
    for k in range(params.shape[0]):
        old = params[k]
        params[k] = old + eps
        up = dense.gradient(params, layout, model._loss_code, Xc, Y, alpha, A, D, scratch)
        params[k] = old - eps
        down = dense.gradient(params, layout, model._loss_code, Xc, Y, alpha, A, D, scratch)
        params[k] = old
        fd[k] = (up - down) / (2.0 * eps)
    groups = []
    for n_in, n_out, w0, b0 in layout[:, :4]:
        idx = np.arange(w0, w0 + n_in * n_out)
        if b0 >= 0:
            idx = np.concatenate([idx, np.arange(b0, b0 + n_out)])
        groups.append(idx)
    return _finite(_relative_errors(grad, fd, groups))


def _finite(errors):
    """The errors, refused when not finite (a loss that overflows at these
    weights and data), rather than returned as NaN."""
    if not np.isfinite(errors).all():
        raise ValueError("the loss or its gradient is not finite at these weights and data "
                         f"(relative errors {errors.tolist()}); scale X.")
    return errors


def _float64_model(estimator, X, y):
    """A float64 copy of ``estimator`` for ``_check_generic``, with its fitted
    weights, or, unfitted, with the initial weights a fit on ``X`` and ``y``
    draws (one step at a learning rate of 1e-300: the weights unchanged)."""
    if "_params" in estimator.__dict__:
        model = copy.deepcopy(estimator)
        model._params = np.array(model._params, dtype=np.float64)
        model._dtype = np.float64
        return model
    model = clone(estimator).set_params(dtype="float64", max_iter=1, tol=None, verbose=False,
                                        learning_rate_init=1e-300, solver="sgd", momentum=0.0,
                                        early_stopping=False)
    return model.fit(X, y)


def _relative_errors(grad, fd, groups):
    """Per group: ``max |g - fd| / max(max |fd|, 1e-12)`` (normwise, infinity norm),
    which does not blow up on entries whose gradient is nearly zero."""
    return np.array([float(np.abs(grad[g] - fd[g]).max() / max(np.abs(fd[g]).max(), 1e-12))
                     for g in groups])


def _check_generic(estimator, X, y, eps):
    """For models exposing ``_loss_and_gradient``, ``_get_flat_params``,
    ``_set_flat_params`` and ``_param_groups`` (slices, one per layer)."""
    p0 = estimator._get_flat_params().astype(np.float64).copy()
    loss, grad = estimator._loss_and_gradient(X, y)
    fd = np.empty_like(p0)
    for k in range(p0.shape[0]):
        p = p0.copy()
        p[k] += eps
        estimator._set_flat_params(p)
        up, _ = estimator._loss_and_gradient(X, y)
        p[k] -= 2 * eps
        estimator._set_flat_params(p)
        down, _ = estimator._loss_and_gradient(X, y)
        fd[k] = (up - down) / (2 * eps)
    estimator._set_flat_params(p0)
    groups = getattr(estimator, "_param_groups", lambda: [slice(None)])()
    return _relative_errors(grad, fd, groups)
