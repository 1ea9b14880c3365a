"""Recipes of the convolutional network (part E of the article).

- ``digits-cnn``: scikit-learn's 8x8 digits, 10 filters of 3x3, 2x2 max
  pooling, 128 hidden units, softmax, per-image SGD.
- ``mnist-cnn``: the article's network on MNIST: 10 filters of 5x5 (sigmoid),
  2x2 max pooling, 128 sigmoid hidden units, softmax, per-image SGD. Registered
  for ``fastnn reproduce`` only when the MNIST files are found
  (``fastnn.data.find_mnist``); it can always be run by name.

``print_every=50`` prints the mean error of every 50 steps, as the article
prints its error every 50 steps; the ``step_error`` curve keeps those means
whatever ``print_every`` is. ``early_stopping=true`` holds out
``validation_fraction`` of the training images, stops when their accuracy no
longer improves and keeps the best epoch (the model's ``early_stopping``); the
``validation_score`` curve holds that accuracy after every epoch.
"""
import time

import numpy as np

from ..._validation import check_float, check_int
from ..registry import Result, recipe

_STEP_BLOCK = 50


def _check(**params):
    """Checks under the recipe's names, before any run of a sweep: the counts
    the model would check as max_iter..., and n_train / n_test, which slice
    the data (a negative one counted from the end)."""
    for name in ("epochs", "batch_size") + tuple(k for k in ("n_train", "n_test") if k in params):
        check_int(params[name], name, low=1)
    check_int(params["print_every"], "print_every", low=0)
    check_float(params["learning_rate"], "learning_rate", low=0.0, low_inclusive=False)
    check_float(params["learning_rate_decay"], "learning_rate_decay", low=0.0)
    if "test_size" in params:
        check_float(params["test_size"], "test_size", low=0.0, high=1.0, low_inclusive=False,
                    high_inclusive=False)


def _block_means(step_losses, block=_STEP_BLOCK):
    n = len(step_losses) // block * block
    return step_losses[:n].reshape(-1, block).mean(axis=1)


def _train_and_score(model, X_train, y_train, X_test, y_test):
    """Compile on a few images (timed apart), then fit and score."""
    from sklearn.base import clone
    from sklearn.metrics import classification_report, confusion_matrix

    t0 = time.perf_counter()
    warm_up = clone(model).set_params(max_iter=1, verbose=False, early_stopping=False)
    warm_up.fit(X_train[:20], y_train[:20])
    if model.early_stopping:   # it predicts after every epoch
        warm_up.predict(X_train[:2])
    compile_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    model.fit(X_train, y_train)
    fit_seconds = time.perf_counter() - t0
    pred = model.predict(X_test)
    test_accuracy = float(np.mean(pred == y_test))
    train_accuracy = float(model.score(X_train, y_train))
    metrics = {"test_accuracy": test_accuracy, "train_accuracy": train_accuracy,
               "loss": float(model.loss_curve_[-1]), "fit_seconds": fit_seconds,
               "compile_seconds": compile_seconds, "epochs": int(model.n_iter_),
               "images_per_second": float(model.t_ / fit_seconds),
               "n_train": int(len(X_train)), "n_test": int(len(X_test))}
    curves = {"loss": np.asarray(model.loss_curve_),
              "step_error": _block_means(model.step_losses_)}
    if model.validation_scores_ is not None:
        curves["validation_score"] = np.asarray(model.validation_scores_)
        metrics["best_validation_score"] = float(model.best_validation_score_)
    maps, pooled = model.feature_maps(X_test[:1])
    arrays = {"filters": model.filters_.copy(), "filter_biases": model.filter_biases_.copy(),
              "confusion_matrix": confusion_matrix(y_test, pred),
              "example_image": np.asarray(X_test[0], dtype=np.float64),
              "example_maps": maps[0], "example_pooled": pooled[0]}
    text = {"classification_report": classification_report(y_test, pred, digits=4, zero_division=0)}
    return metrics, curves, arrays, text


def _model(seed, print_every, early_stopping, validation_fraction, **params):
    from ...models.cnn import ConvNetClassifier

    return ConvNetClassifier(batch_size=1, tol=None, random_state=seed,
                             verbose=int(print_every) if print_every else False,
                             early_stopping=bool(early_stopping),
                             validation_fraction=validation_fraction, **params)


@recipe("digits-cnn", family="cnn",
        article="part E's network, here on scikit-learn's 8x8 digits (>= 97% expected)",
        headline="test_accuracy", warmup=lambda: digits_cnn(0, epochs=1),   # the recipe made small
        check=_check)
def digits_cnn(seed, n_filters=10, filter_size=3, pool_size=2, conv_activation="tanh",
               hidden_layer_sizes=(128,), activation="tanh", learning_rate=0.05,
               learning_rate_decay=0.1, epochs=30, batch_size=1, test_size=0.25, print_every=0,
               early_stopping=False, validation_fraction=0.1):
    """A small CNN on scikit-learn's digits: 3x3 filters, 2x2 pooling, softmax.

    The digits (pixels scaled to [0, 1]) are split stratified into train and
    test sets by ``seed``; per-image SGD with a learning rate that decays as
    ``learning_rate / (1 + learning_rate_decay * epoch)``.
    """
    from sklearn.model_selection import train_test_split

    from ...data import load_digits

    X, y = load_digits()
    X = X.reshape(-1, 8, 8)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=seed, stratify=y)
    model = _model(seed, print_every, early_stopping, validation_fraction,
                   n_filters=n_filters, filter_size=filter_size,
                   pool_size=pool_size, conv_activation=conv_activation,
                   hidden_layer_sizes=tuple(hidden_layer_sizes), activation=activation,
                   learning_rate_init=learning_rate, learning_rate_decay=learning_rate_decay,
                   max_iter=epochs)
    model.set_params(batch_size=batch_size)
    metrics, curves, arrays, text = _train_and_score(model, X_train, y_train, X_test, y_test)
    summary = (f"test accuracy {metrics['test_accuracy']:.2%} after {metrics['epochs']} epochs "
               f"({metrics['fit_seconds']:.1f} s)")
    return Result(metrics=metrics, curves=curves, arrays=arrays, text=text, summary=summary)


def _mnist_available():
    try:
        from ...data import find_mnist
    except ImportError:
        return False
    try:
        return find_mnist() is not None
    except Exception:  # a broken data directory must not break the registry
        return False


@recipe("mnist-cnn", family="cnn",
        article="part E: 10 filters 5x5, 2x2 max pooling, 128 hidden, softmax, per-image SGD "
                "on MNIST; feature maps shown (>= 98.5% expected)",
        headline="test_accuracy", reproduce=_mnist_available(),
        warmup=lambda: _mnist_available() and mnist_cnn(0, epochs=1, n_train=20, n_test=20),
        check=_check)
def mnist_cnn(seed, n_filters=10, filter_size=5, pool_size=2, conv_activation="sigmoid",
              hidden_layer_sizes=(128,), activation="sigmoid", learning_rate=0.1,
              learning_rate_decay=0.5, epochs=4, batch_size=1, n_train=60000, n_test=10000,
              print_every=0, data_dir="", early_stopping=False, validation_fraction=0.1):
    """The article's CNN on MNIST (LeCun, Cortes and Burges; CC BY-SA 3.0).

    Trains on the first ``n_train`` training images (pixels / 255) for
    ``epochs`` epochs of per-image SGD (the learning rate decays as
    ``learning_rate / (1 + learning_rate_decay * epoch)``) and tests on the
    first ``n_test`` test images. ``data_dir``: where the IDX files are (empty:
    ``fastnn.data.find_mnist``). The defaults are the full run.
    """
    from ...data import load_mnist

    check_int(n_train, "n_train", low=1)
    check_int(n_test, "n_test", low=1)
    X_train, y_train, X_test, y_test = load_mnist(data_dir or None)
    X_train = X_train[:n_train] / 255.0
    y_train = np.asarray(y_train[:n_train], dtype=np.int64)
    X_test = X_test[:n_test] / 255.0
    y_test = np.asarray(y_test[:n_test], dtype=np.int64)
    model = _model(seed, print_every, early_stopping, validation_fraction,
                   n_filters=n_filters, filter_size=filter_size,
                   pool_size=pool_size, conv_activation=conv_activation,
                   hidden_layer_sizes=tuple(hidden_layer_sizes), activation=activation,
                   learning_rate_init=learning_rate, learning_rate_decay=learning_rate_decay,
                   max_iter=epochs)
    model.set_params(batch_size=batch_size)
    metrics, curves, arrays, text = _train_and_score(model, X_train, y_train, X_test, y_test)
    maps, pooled = model.feature_maps(X_test[:1])
    arrays.update(example_image=X_test[0], example_conv_maps=maps[0], example_pooled_maps=pooled[0])
    summary = (f"test accuracy {metrics['test_accuracy']:.2%} after {metrics['epochs']} epochs "
               f"on {len(X_train)} images ({metrics['fit_seconds']:.0f} s, "
               f"{metrics['images_per_second']:.0f} images/s)")
    return Result(metrics=metrics, curves=curves, arrays=arrays, text=text, summary=summary)
