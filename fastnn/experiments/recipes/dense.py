"""The article's dense networks (parts A, B, D, G and I) as recipes.

Each recipe is one configuration of the multilayer-perceptron engine with the
article's settings as defaults; ``fastnn reproduce`` runs them all and prints
what the article shows beside what fastnn got.
"""
import time

import numpy as np

from ..._validation import check_float, check_int, check_option
from ..registry import Result, recipe

XOR_TARGET = np.array([0.0, 1.0, 1.0, 0.0])


# Each recipe's ``check`` (run by sweeps for every point before any run, and by
# ``run``) checks under the recipe's own names the parameters that the model
# would check under its names (max_iter for epochs...) or that reach NumPy
# unchecked (a negative n_points was "negative dimensions are not allowed").

def _training_check(*counts):
    """A recipe's check: the parameters ``counts`` (epochs, hidden...) ints >= 1,
    ``learning_rate`` > 0 and, where the recipe has one, ``momentum`` in [0, 1)."""
    def check(**params):
        from ...models.mlp import HIDDEN_ACTIVATIONS, MOMENTUM_RULES
        for name in counts:
            check_int(params[name], name, low=1)
        check_float(params["learning_rate"], "learning_rate", low=0.0, low_inclusive=False)
        if "momentum" in params:
            check_float(params["momentum"], "momentum", low=0.0, high=1.0, high_inclusive=False)
        # (the options too: a sweep over momentum_rule = ["bogus", ...] started, and
        # stored every run of "bogus" as failed)
        if "activation" in params:
            check_option(params["activation"], "activation", HIDDEN_ACTIVATIONS)
        if "momentum_rule" in params:
            check_option(params["momentum_rule"], "momentum_rule", MOMENTUM_RULES)
    return check


def _check_xor_tanh(**params):
    _training_check("steps")(**params)
    layers = params["layers"]
    if not isinstance(layers, (list, tuple)) or len(layers) < 2:
        raise ValueError(f"layers must list the layer sizes from XOR's 2 inputs to its 1 output, "
                         f"such as [2, 2, 1]; got "
                         f"{list(layers) if isinstance(layers, tuple) else layers!r}.")
    for i, size in enumerate(layers):
        check_int(size, f"layers[{i}]", low=1)
    if layers[0] != 2 or layers[-1] != 1:   # (they were ignored: [7, 2, 9] ran [2, 2, 1])
        raise ValueError(f"layers must start with XOR's 2 inputs and end with its 1 output, such "
                         f"as [2, 2, 1]; got {list(layers)}.")


def _check_digits_mlp(**params):
    _training_check("hidden", "epochs", "batch_size")(**params)
    check_float(params["test_size"], "test_size", low=0.0, high=1.0, low_inclusive=False,
                high_inclusive=False)


def _timed_fit(model, X, y):
    t0 = time.perf_counter()
    model.fit(X, y)
    return time.perf_counter() - t0


def _classification(model, X_train, y_train, X_test, y_test, fit_seconds):
    """Shared metrics, arrays and text of the classifier recipes."""
    from sklearn.metrics import classification_report, confusion_matrix
    pred = model.predict(X_test)
    metrics = {
        "test_accuracy": float(np.mean(pred == y_test)),
        "train_accuracy": float(model.score(X_train, y_train)),
        "loss": float(model.loss_curve_[-1]),
        "epochs": int(model.n_iter_),
        "fit_seconds": fit_seconds,
    }
    arrays = {"confusion_matrix": confusion_matrix(y_test, pred),
              **{f"coefs_{i}": c for i, c in enumerate(model.coefs_)}}
    text = {"classification_report": classification_report(y_test, pred, digits=3, zero_division=0)}
    return metrics, arrays, text


# A recipe's warm-up (``warmup=``) is the recipe itself, made small: it compiles
# (or loads) the kernels the recipe's defaults run, and no other, so that a
# sweep's first run on a new machine waits for its own trainer only (each
# optimiser, input width, dtype and batch-size path is a trainer of its own,
# 10-30 s to compile).


@recipe("xor-bp", family="dense", headline="max_abs_error", warmup=lambda: xor_bp(0, epochs=1),
        check=_training_check("n_hidden", "epochs"),
        article="part D: BP network 2-5-1 with momentum learns XOR; outputs near [0, 1, 1, 0]")
def xor_bp(seed, n_hidden=5, learning_rate=0.05, momentum=0.1, epochs=10000,
           momentum_rule="previous_gradient"):
    """Part D's BP network with momentum on XOR.

    2-5-1, sigmoid everywhere, a bias cell on the input only, input weights in
    [-0.2, 0.2], output weights in [-2, 2], per-sample updates in order with
    learning rate 0.05 and momentum 0.1 on every layer (the article forgot to
    keep the output layer's previous change), 10000 epochs. Its momentum rule
    adds ``momentum`` times the previous gradient (``momentum_rule``).
    """
    from ...data.xor import xor
    from ...models.mlp import MLPRegressor
    X, y = xor()
    model = MLPRegressor((n_hidden,), activation="logistic", output_activation="logistic",
                         loss="squared", solver="sgd", learning_rate_init=learning_rate,
                         momentum=momentum, momentum_rule=momentum_rule, batch_size=1,
                         max_iter=epochs, sample_order="sequential", bias=(True, False),
                         init=((-0.2, 0.2), (-2.0, 2.0)), tol=None, alpha=0.0, random_state=seed)
    fit_seconds = _timed_fit(model, X, y.astype(float))
    out = model.predict(X)
    err = float(np.abs(out - XOR_TARGET).max())
    return Result(
        metrics={"max_abs_error": err, "loss": float(model.loss_curve_[-1]),
                 "solved": int(err < 0.1), "fit_seconds": fit_seconds},
        curves={"loss": np.asarray(model.loss_curve_)},
        arrays={"predictions": out, "coefs_0": model.coefs_[0], "coefs_1": model.coefs_[1],
                "intercepts_0": model.intercepts_[0]},
        summary="outputs [" + ", ".join(f"{v:.3f}" for v in out) + f"], max error {err:.3f}")


@recipe("xor-tanh", family="dense", headline="max_abs_error",
        warmup=lambda: xor_tanh(0, steps=4),
        check=_check_xor_tanh,
        article="part A: NeuralNetwork([2, 2, 1], 'tanh') learns XOR in 10000 random steps")
def xor_tanh(seed, layers=(2, 2, 1), activation="tanh", learning_rate=0.2, steps=10000,
             article_bias_units=True):
    """Part A's network on XOR: tanh, weights in [-0.25, 0.25], one randomly drawn
    sample per step (``steps`` draws), learning rate 0.2.

    The article's class appends a bias unit to the input and to every hidden
    layer, but gives the hidden "bias" unit incoming weights (its matrices are
    ``(layers[i-1] + 1, layers[i] + 1)``), so that unit is computed like the
    others: [2, 2, 1] really trains 3 hidden units over a biased input and no
    output bias. ``article_bias_units=True`` reproduces that network;
    ``False`` builds [2, 2, 1] with a true bias on every layer, which stalls on
    XOR for most seeds with these settings. The article's derivative bug
    (tanh' evaluated at the activation instead of the net input) is fixed.
    """
    from ...data.xor import xor
    from ...models.mlp import MLPRegressor
    X, y = xor()
    layers = tuple(int(v) for v in layers)
    hidden = layers[1:-1]
    bias = True
    if article_bias_units:
        hidden = tuple(h + 1 for h in hidden)
        bias = (True,) + (False,) * len(hidden)
    model = MLPRegressor(hidden, activation=activation, output_activation=activation,
                         loss="squared", solver="sgd", learning_rate_init=learning_rate, momentum=0.0,
                         batch_size=1, max_iter=max(1, steps // len(X)), sample_order="replacement",
                         bias=bias, init=(-0.25, 0.25), tol=None, alpha=0.0, random_state=seed)
    fit_seconds = _timed_fit(model, X, y.astype(float))
    out = model.predict(X)
    err = float(np.abs(out - XOR_TARGET).max())
    return Result(
        metrics={"max_abs_error": err, "loss": float(model.loss_curve_[-1]), "solved": int(err < 0.1),
                 "fit_seconds": fit_seconds},
        curves={"loss": np.asarray(model.loss_curve_)},
        arrays={"predictions": out},
        summary="outputs [" + ", ".join(f"{v:.3f}" for v in out) + f"], max error {err:.3f}")


@recipe("digits-mlp", family="dense", headline="test_accuracy",
        warmup=lambda: digits_mlp(0, epochs=1),
        check=_check_digits_mlp,
        article="part A.6: [64, 100, 10] logistic on the 8x8 digits, about 95% accuracy, "
                "confusion matrix and per-class report")
def digits_mlp(seed, hidden=100, activation="logistic", learning_rate=0.02, momentum=0.9, epochs=50,
               batch_size=1, test_size=0.25):
    """Part A.6: scikit-learn's 8x8 digits scaled to [0, 1], a [64, 100, 10] logistic
    network with a softmax output, weights in [-0.25, 0.25] as the article,
    per-sample SGD with momentum, a 75/25 split (``seed`` draws the split and
    the weights). The article trains 3000 random steps with a logistic output
    and gets about 95%; fastnn trains 50 epochs."""
    from sklearn.model_selection import train_test_split

    from ...data.digits import load_digits
    from ...models.mlp import MLPClassifier
    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_size, random_state=seed)
    model = MLPClassifier((hidden,), activation=activation, solver="sgd", learning_rate_init=learning_rate,
                          momentum=momentum, nesterovs_momentum=False, batch_size=batch_size,
                          max_iter=epochs, tol=None, alpha=0.0, init=(-0.25, 0.25), random_state=seed)
    fit_seconds = _timed_fit(model, X_train, y_train)
    metrics, arrays, text = _classification(model, X_train, y_train, X_test, y_test, fit_seconds)
    return Result(metrics=metrics, curves={"loss": np.asarray(model.loss_curve_)}, arrays=arrays,
                  text=text, summary=f"test accuracy {metrics['test_accuracy']:.3f}")


@recipe("single-layer", family="dense", headline="xor_max_abs_error",
        warmup=lambda: single_layer(0, iterations=1),
        check=_training_check("iterations"),
        article="part B: one layer (syn0) fits a linearly separable target; [0, 1, 1, 0] needs "
                "a hidden layer")
def single_layer(seed, iterations=10000, learning_rate=1.0):
    """Part B: four samples of three inputs (the third a constant 1), one weight
    vector drawn uniformly in [-1, 1), ``l1 = sigmoid(l0 . syn0)``, full-batch
    updates. Fitted twice: to the first input column [0, 0, 1, 1], which one
    layer can fit, and to [0, 1, 1, 0], which it cannot."""
    from ...models.mlp import MLPRegressor
    X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=float)
    linear_target = np.array([0.0, 0.0, 1.0, 1.0])
    out, curves, coefs = {}, {}, {}
    for name, target in (("linear", linear_target), ("xor", XOR_TARGET)):
        model = MLPRegressor((), output_activation="logistic", solver="sgd", learning_rate_init=learning_rate,
                             momentum=0.0, batch_size="full", max_iter=iterations, tol=None, bias=False,
                             alpha=0.0, init=(-1.0, 1.0), random_state=seed).fit(X, target)
        out[name] = model.predict(X)
        curves[f"loss_{name}"] = np.asarray(model.loss_curve_)
        coefs[f"syn0_{name}"] = model.coefs_[0][:, 0]
    lin_err = float(np.abs(out["linear"] - linear_target).max())
    xor_err = float(np.abs(out["xor"] - XOR_TARGET).max())
    return Result(
        metrics={"linear_max_abs_error": lin_err, "xor_max_abs_error": xor_err,
                 "loss": float(curves["loss_xor"][-1])},
        curves=curves, arrays={"predictions_linear": out["linear"], "predictions_xor": out["xor"], **coefs},
        summary=f"linear target fitted (max error {lin_err:.3f}); XOR not (outputs "
                + ", ".join(f"{v:.2f}" for v in out["xor"]) + ")")


@recipe("two-layer", family="dense", headline="loss", warmup=lambda: two_layer(0, iterations=1),
        check=_training_check("hidden", "iterations"),
        article="part I: 3-4-1 sigmoid, no biases, 1500 full-batch iterations; the loss falls "
                "steadily and the predictions approach [0, 1, 1, 0]")
def two_layer(seed, hidden=4, iterations=1500, learning_rate=8.0):
    """Part I: input 3 (the third a constant 1), hidden 4, output 1, sigmoid, no
    biases, weights uniform in [0, 1), 1500 full-batch gradient steps on the sum
    of squares. The article's step is the raw gradient of the sum over the four
    samples; on fastnn's mean of half squares that is a learning rate of 8."""
    from ...models.mlp import MLPRegressor
    X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=float)
    model = MLPRegressor((hidden,), activation="logistic", output_activation="logistic", solver="sgd",
                         learning_rate_init=learning_rate, momentum=0.0, batch_size="full",
                         max_iter=iterations, tol=None, bias=False, alpha=0.0, init=(0.0, 1.0),
                         random_state=seed).fit(X, XOR_TARGET)
    curve = np.asarray(model.loss_curve_)
    out = model.predict(X)
    return Result(
        metrics={"loss": float(curve[-1]), "initial_loss": float(curve[0]),
                 "loss_increases": int((np.diff(curve) > 0).sum()),
                 "max_abs_error": float(np.abs(out - XOR_TARGET).max())},
        curves={"loss": curve}, arrays={"predictions": out},
        summary=f"loss {curve[0]:.3f} -> {curve[-1]:.4f}, rises {int((np.diff(curve) > 0).sum())} times; "
                "outputs [" + ", ".join(f"{v:.3f}" for v in out) + "]")


@recipe("rashid-mnist", family="dense", headline="test_accuracy",
        warmup=lambda: _warm_rashid(),
        check=_training_check("hidden", "epochs"),
        article="part G: 784-100-10 sigmoid network, no biases, one epoch of per-sample updates "
                "(the book reports about 95% on MNIST)")
def rashid_mnist(seed, hidden=100, learning_rate=0.3, epochs=1, dataset="auto"):
    """Part G's three-layer network ("Make Your Own Neural Network"): ``X = W . I``,
    sigmoid on every layer, no biases, weights normal with standard deviation
    fan_in**-0.5, errors sent back through the transposed weights, one epoch of
    per-sample updates in order. Inputs scaled to [0.01, 1]. MNIST when its
    files are found (``dataset='auto'`` or ``'mnist'``), else the 8x8 digits."""
    X_train, y_train, X_test, y_test, name = _rashid_data(dataset, seed)
    model = _rashid_model(hidden, learning_rate, epochs, seed)
    fit_seconds = _timed_fit(model, X_train, y_train)
    metrics, arrays, text = _classification(model, X_train, y_train, X_test, y_test, fit_seconds)
    metrics["on_mnist"] = int(name == "mnist")
    return Result(metrics=metrics, curves={"loss": np.asarray(model.loss_curve_)}, arrays=arrays, text=text,
                  summary=f"test accuracy {metrics['test_accuracy']:.3f} on {name}")


def _rashid_model(hidden, learning_rate, epochs, seed):
    from ...models.mlp import MLPClassifier
    return MLPClassifier((hidden,), activation="logistic", output_activation="logistic",
                         loss="squared", solver="sgd", learning_rate_init=learning_rate,
                         momentum=0.0, batch_size=1, max_iter=epochs, sample_order="sequential",
                         init="normal", bias=False, tol=None, alpha=0.0, random_state=seed)


def _warm_rashid():
    """The recipe's kernels for its data (MNIST is float32, the digits float64), on a few rows."""
    X_train, y_train, X_test, _, _ = _rashid_data("auto", 0)
    _rashid_model(10, 0.3, 1, 0).fit(X_train[:20], y_train[:20]).predict(X_test[:5])


def _rashid_data(dataset, seed):
    from ...data.mnist import find_mnist, load_mnist
    if dataset not in ("auto", "mnist", "digits"):
        raise ValueError(f"dataset must be 'auto', 'mnist' or 'digits'; got {dataset!r}.")
    directory = find_mnist() if dataset != "digits" else None
    if dataset == "mnist" and directory is None:
        raise FileNotFoundError("dataset='mnist' but the MNIST files were not found; set FASTNN_DATA.")
    if directory is not None:
        X_train, y_train, X_test, y_test = load_mnist(directory)
        scale = lambda X: X.reshape(len(X), -1).astype(np.float32) / 255.0 * 0.99 + 0.01  # noqa: E731
        return scale(X_train), y_train, scale(X_test), y_test, "mnist"
    from sklearn.model_selection import train_test_split

    from ...data.digits import load_digits
    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X * 0.99 + 0.01, y, test_size=0.25, random_state=seed)
    return X_train, y_train, X_test, y_test, "digits"


def _check_linear(learning_rate, margin, initial_slope, n_points, noise):
    """The linear classifier's checks, and those of the bugs: n_points and noise."""
    check_float(learning_rate, "learning_rate", low=0.0, high=1.0, low_inclusive=False)
    check_float(margin, "margin", low=0.0)
    check_float(initial_slope, "initial_slope")
    check_int(n_points, "n_points", low=1)
    check_float(noise, "noise", low=0.0)


@recipe("linear-classifier", family="dense", headline="slope", warmup=None, check=_check_linear,
        article="part G: the line y = A x moved by dA = L * E / x; with L = 0.5 the slope goes "
                "0.25 -> 0.3083 -> 1.6042 and separates the ladybird from the caterpillar")
def linear_classifier(seed, learning_rate=0.5, margin=0.1, initial_slope=0.25, n_points=200, noise=0.3):
    """Part G's linear classifier: first the book's two examples (a ladybird at
    width 3.0, length 1.0 and a caterpillar at 1.0, 3.0), then ``n_points``
    random bugs of each kind (``seed``), a line fitted in one pass and its accuracy."""
    from ...models.linear import LinearClassifier
    _check_linear(learning_rate, margin, initial_slope, n_points, noise)
    book = LinearClassifier(learning_rate=learning_rate, margin=margin, initial_slope=initial_slope,
                            above_class="caterpillar")
    book.fit(np.array([[3.0, 1.0], [1.0, 3.0]]), np.array(["ladybird", "caterpillar"]))
    g = np.random.default_rng(seed)
    lady = np.column_stack([g.uniform(2.0, 4.0, n_points), g.uniform(0.5, 1.5, n_points)])
    cat = np.column_stack([g.uniform(0.5, 1.5, n_points), g.uniform(2.0, 4.0, n_points)])
    X = np.vstack([lady, cat]) + g.normal(0.0, noise, (2 * n_points, 2))
    X[:, 0] = np.maximum(X[:, 0], 0.05)
    y = np.array(["ladybird"] * n_points + ["caterpillar"] * n_points)
    order = g.permutation(len(X))
    model = LinearClassifier(learning_rate=learning_rate, margin=margin, initial_slope=initial_slope,
                             above_class="caterpillar")
    model.fit(X[order], y[order])
    acc = float(model.score(X, y))
    return Result(
        metrics={"slope": book.slope_, "train_accuracy": acc, "bugs_slope": model.slope_},
        curves={"slope": book.slope_history_, "bugs_slope": model.slope_history_},
        summary=f"slope {initial_slope} -> " + " -> ".join(f"{s:.4f}" for s in book.slope_history_)
                + f"; {2 * n_points} noisy bugs: accuracy {acc:.3f}")
