"""The multilayer perceptron engine: parts A, B, D, G and I of the article.

One engine, configured rather than copied: the article's networks differ in
layer sizes, activations, biases, initial weight ranges, loss, learning rate,
momentum, batch size and sample order, and each of those is a parameter here.

    part A  MLPClassifier((100,), activation='logistic', solver='sgd', batch_size=1,
                          sample_order='replacement', init=(-0.25, 0.25))
    part B  MLPRegressor((), output_activation='logistic', batch_size='full')
    part D  MLPRegressor((5,), activation='logistic', output_activation='logistic',
                          loss='squared', solver='sgd', learning_rate_init=0.05,
                          momentum=0.1, momentum_rule='previous_gradient',
                          sample_order='sequential', bias=(True, False),
                          init=((-0.2, 0.2), (-2.0, 2.0)))
    part G  MLPClassifier((100,), activation='logistic', output_activation='logistic',
                          loss='squared', init='normal', bias=False)
    part I  MLPRegressor((4,), activation='logistic', output_activation='logistic',
                          bias=False, batch_size='full')

The training loop runs in ``fastnn.kernels.dense``: ``train_epochs`` (minibatches),
``train_samples`` or ``one_hidden_trainer`` (batch size 1).
"""
import math
import numbers
import operator
import time
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._progress import progress
from .._threads import threads_for
from .._validation import (
    check_array, check_bool, check_consistent_length, check_dtype, check_float, check_int,
    check_option, check_feature_names, check_partial_fit_classes,
    check_partial_fit_early_stopping, check_random_state_param,
    check_sample_weight, check_verbose, column_to_1d, is_sparse, label_indices, label_kind,
    refuse_non_finite_output, refuse_sparse,
    seeded_random_state, validation_split, writeable,
)
from ..kernels import dense
from ..kernels.rng import mt_state, set_mt_state
from ..kernels.memory import aligned_zeros, padded_rows, realigned
from ..kernels.activations import CODES as ACTIVATIONS
from ..kernels.losses import CODES as LOSSES

# scikit-learn's names for the same losses (MLPRegressor's loss='squared_error';
# 'log_loss' as its classifiers call the cross-entropy)
LOSS_ALIASES = {"squared_error": "squared", "log_loss": "log"}

# Below this many multiply-adds per minibatch (batch size x parameters), the
# threads cost more than they save, and the trainer runs its serial loops
# (threads=1).
PARALLEL_WORK = 1 << 17

# the trainers' ``sw`` when no sample is weighted (one array, not one a call:
# a small partial_fit costs about 55 us)
_NO_WEIGHTS = np.empty(0)
_NO_STREAM = np.empty(0, dtype=np.int64)   # the trainers' mt, for orders that need none

# Epochs one call of a compiled trainer runs at most, the size of the loss curve's
# buffer: a fit of max_iter epochs runs in calls of this many (the same bits as one
# call: the trainers carry all their state from a call to the next, as they do epoch
# by epoch under early stopping), so max_iter=10**11 no longer asks for 745 GiB up
# front.
EPOCH_CHUNK = 1 << 16
# n_iter_no_change as the trainers take it (an int64): no fit counts 2**62 epochs
# without improvement, so a larger value means the same, never stopping on it.
NO_CHANGE_CAP = 2 ** 62

SOLVERS = {"sgd", "adam", "lbfgs"}
# Samples a chunk of the full-batch gradient (solver='lbfgs') goes through at once.
LBFGS_ROWS = 512
SAMPLE_ORDERS = {"shuffle": dense.SHUFFLE_RANDOMSTATE, "sequential": dense.SEQUENTIAL,
                 "replacement": dense.REPLACEMENT}
MOMENTUM_RULES = {"classical", "previous_gradient"}
LEARNING_RATES = {"constant", "invscaling", "adaptive"}
INITS = {"glorot", "normal"}
HIDDEN_ACTIVATIONS = {"identity", "logistic", "tanh", "relu"}


def _sparse_multilabel(y):
    """A sparse ``y`` as CSR where it is a multilabel indicator matrix, which
    scikit-learn's MLPClassifier takes sparse (its predictions are then
    sparse too); a TypeError otherwise, as scikit-learn's."""
    kind = type_of_target(y)
    if kind != "multilabel-indicator":
        raise TypeError(f"y must be dense unless it is a multilabel indicator matrix; got a sparse "
                        f"{type(y).__name__} of shape {y.shape} holding {kind!r} targets. Convert it "
                        "with y.toarray().")
    return y.tocsr()


def _record_validation_score(model, score):
    """Append an early-stopping ``score`` to ``model.validation_scores_``, by
    scikit-learn's rule: a score ``tol`` short of the best counts as no
    improvement (the count is in the state array, which the kernels leave
    alone while early stopping is on, so it carries through warm starts and
    saves); a new best keeps a copy of the parameters. The MLPs and the CNN."""
    model.validation_scores_.append(score)
    if score < model.best_validation_score_ + (model.tol or 0.0):
        model._state[dense.NO_IMPROVE] += 1.0
    else:
        model._state[dense.NO_IMPROVE] = 0.0
    if score > model.best_validation_score_:
        model.best_validation_score_ = score
        model._best_params = model._params.copy()


def _accuracy(y, pred, sample_weight=None):
    """scikit-learn's ``accuracy_score(y, pred, sample_weight=...)`` (subset
    accuracy for label indicator rows) without its checks of the targets,
    which cost about 1 ms a call: early stopping scores every epoch, and on
    small sets that was a third of the fit."""
    pred, y = (a.toarray() if is_sparse(a) else np.asarray(a) for a in (pred, y))  # (multilabel, sparse)
    same = pred == y
    return float(np.average(same if same.ndim == 1 else same.all(axis=1), weights=sample_weight))


def _r2(Y, P, sample_weight=None):
    """scikit-learn's ``r2_score(Y, P, sample_weight=...)`` (the outputs' mean
    R^2; an output whose targets are constant scores 1 when predicted exactly,
    else 0), without its checks, for early stopping's score of every epoch.
    Arrays (n, k)."""
    if len(Y) < 2:   # undefined: scikit-learn warns and returns NaN
        from sklearn.metrics import r2_score
        return r2_score(Y, P, sample_weight=sample_weight)
    if sample_weight is None:
        numerator = ((Y - P) ** 2).sum(axis=0)
        denominator = ((Y - Y.mean(axis=0)) ** 2).sum(axis=0)
    else:
        w = np.asarray(sample_weight)[:, None]
        numerator = (w * (Y - P) ** 2).sum(axis=0)
        denominator = (w * (Y - np.average(Y, axis=0, weights=w[:, 0])) ** 2).sum(axis=0)
    scores = np.ones(Y.shape[1], dtype=numerator.dtype)
    valid = (denominator != 0) & (numerator != 0)
    scores[valid] = 1 - numerator[valid] / denominator[valid]
    scores[(numerator != 0) & (denominator == 0)] = 0.0
    return float(np.mean(scores))


def _immutable(value):
    """Whether ``value`` cannot change in place (the parameter values whose
    identity ``_check_params_again`` trusts; a RandomState's draws do not
    change what ``random_state`` may be)."""
    return (value is None or type(value) in (bool, int, float, str, type, np.random.RandomState)
            or isinstance(value, (np.generic, np.dtype))
            or (type(value) is tuple and all(map(_immutable, value))))


def _state_array(rs):
    """A RandomState's state as one float64 array (its 624 words, position and
    Gaussian cache), which a results or model file stores as it is."""
    _, keys, pos, has_gauss, cached = rs.get_state()
    return np.concatenate([keys.astype(np.float64), [pos, has_gauss, cached]])


class _BaseMLP(BaseEstimator):
    """Shared engine of MLPClassifier and MLPRegressor."""

    _default_loss = "squared"

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 output_activation=None, loss=None, bias=True, init="glorot",
                 sample_order=None, momentum_rule="classical", dtype="float64"):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.output_activation = output_activation
        self.loss = loss
        self.bias = bias
        self.init = init
        self.sample_order = sample_order
        self.momentum_rule = momentum_rule
        self.dtype = dtype

    # ------------------------------------------------------------------ checks
    def _check_params(self):
        """Validate every hyper-parameter; return the hidden layer sizes."""
        check_random_state_param(self.random_state)
        hls = self.hidden_layer_sizes
        if isinstance(hls, (int, np.integer)) and not isinstance(hls, bool):
            hls = (hls,)
        if not isinstance(hls, (tuple, list, np.ndarray)):
            raise TypeError("hidden_layer_sizes must be a tuple of ints; got "
                            f"{type(hls).__name__} {hls!r}.")
        hls = tuple(check_int(h, f"hidden_layer_sizes[{i}]", low=1) for i, h in enumerate(hls))
        check_option(self.activation, "activation", HIDDEN_ACTIVATIONS)
        check_option(self.solver, "solver", SOLVERS)
        check_verbose(self.verbose)
        check_float(self.alpha, "alpha", low=0.0)
        if not (isinstance(self.batch_size, str) and self.batch_size in ("auto", "full")):
            if isinstance(self.batch_size, str):
                raise ValueError("batch_size must be an int >= 1, 'auto' or 'full'; got "
                                 f"{self.batch_size!r}.")
            check_int(self.batch_size, "batch_size", low=1)
        check_option(self.learning_rate, "learning_rate", LEARNING_RATES)
        check_float(self.learning_rate_init, "learning_rate_init", low=0.0, low_inclusive=False)
        check_float(self.power_t, "power_t", low=0.0)
        check_bool(self.warm_start, "warm_start")
        check_int(self.max_iter, "max_iter", low=1)
        check_bool(self.shuffle, "shuffle")
        if self.tol is not None:
            check_float(self.tol, "tol", low=0.0)
        check_float(self.momentum, "momentum", low=0.0, high=1.0, high_inclusive=False)
        check_bool(self.nesterovs_momentum, "nesterovs_momentum")
        check_bool(self.early_stopping, "early_stopping")
        check_float(self.validation_fraction, "validation_fraction", low=0.0, high=1.0,
                    low_inclusive=False, high_inclusive=False)
        check_float(self.beta_1, "beta_1", low=0.0, high=1.0, high_inclusive=False)
        check_float(self.beta_2, "beta_2", low=0.0, high=1.0, high_inclusive=False)
        check_float(self.epsilon, "epsilon", low=0.0, low_inclusive=False)
        check_int(self.n_iter_no_change, "n_iter_no_change", low=1)
        check_int(self.max_fun, "max_fun", low=1)
        if self.output_activation is not None:
            check_option(self.output_activation, "output_activation", set(ACTIVATIONS))
        if self.loss is not None:
            check_option(self.loss, "loss", set(LOSSES) | set(LOSS_ALIASES))
        if self.sample_order is not None:
            check_option(self.sample_order, "sample_order", set(SAMPLE_ORDERS))
        check_option(self.momentum_rule, "momentum_rule", MOMENTUM_RULES)
        check_dtype(self.dtype)
        return hls

    def _bias_flags(self, n_layers):
        bias = self.bias
        if isinstance(bias, (bool, np.bool_)):
            return [bool(bias)] * n_layers
        if not isinstance(bias, (tuple, list)) or not all(isinstance(b, (bool, np.bool_)) for b in bias):
            raise TypeError(f"bias must be a bool or a tuple of {n_layers} bools (one per weight layer); "
                            f"got {type(bias).__name__} {bias!r}.")
        if len(bias) != n_layers:
            raise ValueError(f"bias must have one entry per weight layer ({n_layers}); "
                             f"got {len(bias)}: {bias!r}.")
        return [bool(b) for b in bias]

    def _init_ranges(self, n_layers):
        """None for the named schemes, else one (low, high) per weight layer."""
        init = self.init
        if isinstance(init, str):
            check_option(init, "init", INITS)
            return None
        msg = (f"init must be 'glorot', 'normal', a (low, high) pair or a tuple of {n_layers} "
               f"(low, high) pairs; got {init!r}.")
        if not isinstance(init, (tuple, list)) or len(init) == 0:
            raise TypeError(msg)
        if all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in init):
            init = [tuple(init)] * n_layers
        if len(init) != n_layers:
            raise ValueError(msg)
        ranges = []
        for pair in init:
            if (not isinstance(pair, (tuple, list)) or len(pair) != 2
                    or not all(isinstance(v, (int, float, np.number)) for v in pair)):
                raise TypeError(msg)
            low, high = float(pair[0]), float(pair[1])
            if not (np.isfinite(low) and np.isfinite(high) and low < high):
                raise ValueError(f"init ranges must be finite with low < high; got {tuple(pair)!r}.")
            ranges.append((low, high))
        return ranges

    def _resolved_output(self):
        loss = LOSS_ALIASES.get(self.loss, self.loss) or self._default_loss
        out_act = self.output_activation or self._default_output_activation(loss)
        if loss == "log" and out_act not in ("logistic", "softmax"):
            raise ValueError("loss='log' needs output_activation 'logistic' or 'softmax'; got "
                             f"output_activation={out_act!r}. Use loss='squared' for other outputs.")
        if loss == "poisson":
            if is_classifier(self):
                raise ValueError("loss='poisson' is MLPRegressor's, for counts; a classifier takes "
                                 "loss 'log' or 'squared'.")
            if out_act != "exp":
                raise ValueError("loss='poisson' needs output_activation 'exp' (the default for it); "
                                 f"got output_activation={out_act!r}.")
        return out_act, loss

    # ------------------------------------------------------------- set-up
    def _network(self, n_features, n_outputs, hls):
        """The layout the parameters give (``dense.make_layout``), with the output
        activation, the loss and the activation codes of the layers."""
        out_act, loss = self._resolved_output()
        sizes = [n_features, *hls, n_outputs]
        n_params = sum(a * b + b for a, b in zip(sizes, sizes[1:]))   # (biases on: the most)
        if n_params * np.dtype(check_dtype(self.dtype)).itemsize > np.iinfo(np.intp).max:
            raise ValueError(f"hidden_layer_sizes must give a network that fits in memory; got "
                             f"{tuple(hls)!r}, which with {n_features} features and {n_outputs} "
                             f"output{'s' if n_outputs != 1 else ''} has {float(n_params):.3g} "
                             "parameters.")
        n_layers = len(sizes) - 1
        acts = [ACTIVATIONS[self.activation]] * (n_layers - 1) + [ACTIVATIONS[out_act]]
        layout, n_params, n_units = dense.make_layout(sizes, acts, self._bias_flags(n_layers))
        return layout, n_params, n_units, out_act, loss, acts

    def _initialize(self, n_features, n_outputs, rng, hls):
        """Layout, weights and state for ``hls`` (``_check_params``' hidden layer sizes)."""
        self._dtype = check_dtype(self.dtype)
        layout, n_params, n_units, out_act, loss, acts = self._network(n_features, n_outputs, hls)
        n_layers = len(acts)
        ranges = self._init_ranges(n_layers)
        try:
            params = np.zeros(n_params, dtype=self._dtype)
            for l in range(n_layers):
                n_in, n_out, w0, b0 = (int(v) for v in layout[l, :4])
                if ranges is not None:
                    low, high = ranges[l]
                    w = rng.uniform(low, high, (n_in, n_out))
                    b = rng.uniform(low, high, n_out)
                elif self.init == "normal":
                    w = rng.normal(0.0, n_in ** -0.5, (n_in, n_out))
                    b = np.zeros(n_out)
                else:  # glorot, as scikit-learn: the hidden activation sets every layer's bound
                    factor = 2.0 if self.activation == "logistic" else 6.0
                    bound = math.sqrt(factor / (n_in + n_out))
                    w = rng.uniform(-bound, bound, (n_in, n_out))
                    b = rng.uniform(-bound, bound, n_out)
                params[w0:w0 + n_in * n_out] = w.ravel()
                if b0 >= 0:
                    params[b0:b0 + n_out] = b
            params = realigned(params)
            vel = aligned_zeros(params.shape[0], params.dtype)
            sq = aligned_zeros(params.shape[0], params.dtype)
        except MemoryError:
            size = n_params * np.dtype(self._dtype).itemsize / 2 ** 30
            raise MemoryError(f"hidden_layer_sizes={tuple(hls)!r} with {n_features} features and "
                              f"{n_outputs} output{'s' if n_outputs != 1 else ''} make a network "
                              f"of {n_params} parameters, "
                              f"{size:.3g} GiB in {np.dtype(self._dtype).name} (three times that "
                              "with the optimiser's state), which does not fit in memory.") from None
        self._layout = layout
        self._n_units = n_units
        self._params = params
        self._vel = vel
        self._sq = sq
        self._params_checked = None   # (see _check_params_again)
        self._state = np.array([np.inf, 0.0, 0.0, dense.RUNNING])
        # early stopping's held-out set and the shuffles come from the random state as
        # the initial weights leave it, as scikit-learn's: kept for a warm start's
        # split, and rng given back as it was before _seed is drawn
        self._split_state = _state_array(rng) if self.early_stopping else None
        after_init = rng.get_state()
        self._seed = int(rng.randint(0, 2**62))
        rng.set_state(after_init)
        self._epochs = 0
        self._lr = float(self.learning_rate_init)
        self._loss_code = LOSSES[loss]
        self.out_activation_ = out_act
        self.loss_function_ = loss
        self.n_layers_ = n_layers + 1
        self.n_outputs_ = n_outputs
        self.n_features_in_ = n_features
        self.loss_curve_ = []
        self.n_iter_ = 0
        self.t_ = 0
        self.best_loss_ = np.inf
        self._best_params = None   # the parameters of best_validation_score_
        if self.early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None

    def _start(self, incremental):
        """``(first, warm)`` for a call: a new network (first ``fit``, a ``fit``
        without ``warm_start``, a first ``partial_fit``), or ``fit`` continuing
        the fitted one under ``warm_start``."""
        if incremental:
            check_partial_fit_early_stopping(self.early_stopping)
        fitted = hasattr(self, "_params")
        warm = not incremental and fitted and bool(self.warm_start)
        if incremental and fitted:
            self._check_params_again()
        return not ((incremental or warm) and fitted), warm

    def _check_params_again(self):
        """``partial_fit`` on a fitted network: ``_check_params`` again (``set_params``
        may have changed them since the network was drawn), and the network they
        describe must be the fitted one, as under ``warm_start``: partial_fit
        continues it, so a changed ``dtype`` is refused rather than the network
        converted (as a warm start refuses it), and so are changed layers.

        Skipped while every parameter is still the very object these checks last
        passed, and immutable: they cost about 10 us, a tenth of a 10-row
        partial_fit."""
        values = self._param_values(self)
        last = self.__dict__.get("_params_checked")
        if last is not None and all(map(operator.is_, values, last)):
            return
        hls = self._check_params()
        self._check_same_network(self.n_features_in_, self.n_outputs_, hls, "partial_fit",
                                 "set them back, or fit a new network with fit "
                                 "(warm_start=False)")
        self._params_checked = values if all(map(_immutable, values)) else None

    def _check_same_network(self, n_features, n_outputs, hls, call, fix):
        """A ValueError unless the parameters (``hls`` their hidden layer sizes)
        describe the fitted network: its layout and dtype."""
        layout = self._network(n_features, n_outputs, hls)[0]
        dtype = check_dtype(self.dtype)
        if dtype != self._dtype or not np.array_equal(layout, self._layout):
            now = [int(layout[0, 0])] + [int(n) for n in layout[:, 1]]
            raise ValueError(
                f"{call} continues the fitted network, but hidden_layer_sizes, "
                "activation, output_activation, bias or dtype now describe another one "
                f"(fitted: layer sizes {self._layer_sizes()}, dtype {np.dtype(self._dtype).name}; "
                f"now: layer sizes {now}, dtype {np.dtype(dtype).name}); {fix}.")

    def _warm_start(self, n_features, n_outputs, hls):
        """``fit`` with ``warm_start=True`` on a fitted network: the weights stay;
        as scikit-learn, the optimiser starts afresh (velocities and Adam's
        moments zero, the learning rate ``learning_rate_init``), ``n_iter_``
        counts this fit's epochs and ``loss_curve_`` and ``t_`` go on."""
        self._check_same_network(n_features, n_outputs, hls, "warm_start=True",
                                 "set warm_start=False to fit a new network")
        self._vel[:] = 0.0
        self._sq[:] = 0.0
        self._state[dense.STEP] = 0.0
        self._lr = float(self.learning_rate_init)
        self.n_iter_ = 0
        if self.early_stopping and self.validation_scores_ is None:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf

    def _layer_sizes(self):
        return [int(self._layout[0, 0])] + [int(n) for n in self._layout[:, 1]]

    @property
    def coefs_(self):
        """Weight matrices, one per layer, ``coefs_[l][i, j]`` from unit i to unit j (views)."""
        if "_params" not in self.__dict__:
            raise AttributeError("coefs_")
        return [self._params[w0:w0 + n_in * n_out].reshape(n_in, n_out)
                for n_in, n_out, w0 in self._layout[:, :3]]

    @property
    def intercepts_(self):
        """Bias vectors, one per layer (an empty array for a layer without bias)."""
        if "_params" not in self.__dict__:
            raise AttributeError("intercepts_")
        return [self._params[b0:b0 + n_out] if b0 >= 0 else np.zeros(0, self._params.dtype)
                for n_out, b0 in zip(self._layout[:, 1], self._layout[:, 3])]

    def _solver_code(self):
        if self.solver == "adam":
            return dense.ADAM
        if self.momentum_rule == "previous_gradient":
            return dense.SGD_PREVIOUS_GRADIENT
        return dense.SGD

    def _split_random_state(self):
        """The RandomState early stopping's ``train_test_split`` draws from:
        scikit-learn's (the random state as the initial weights left it), the
        same again in a warm-started fit, so that every fit of a network holds
        out the same samples of the same data. A network whose weights were
        drawn without early stopping (or saved before fastnn kept this) gets
        ``random_state`` afresh, as scikit-learn's warm start does."""
        state = getattr(self, "_split_state", None)
        if state is None:
            return check_random_state(self.random_state)
        rs = np.random.RandomState(0)
        rs.set_state(("MT19937", state[:624].astype(np.uint32), int(state[624]), int(state[625]),
                      float(state[626])))
        return rs

    def _order_code(self):
        if self.sample_order is not None:
            return SAMPLE_ORDERS[self.sample_order]
        return dense.SHUFFLE_RANDOMSTATE if self.shuffle else dense.SEQUENTIAL

    def _batch(self, n_samples):
        if self.batch_size == "full":
            return n_samples
        if self.batch_size == "auto":
            return min(200, n_samples)
        return max(1, min(int(self.batch_size), n_samples))

    # ------------------------------------------------------------ training
    def _fit(self, X, Y, incremental, max_iter, sw, rng, first):
        """Train on validated arrays for up to ``max_iter`` epochs, the samples
        weighted by ``sw`` (``check_sample_weight``'s) unless it is None.

        ``rng`` is the call's scikit-learn ``_random_state``
        (``check_random_state(random_state)``, past the initial weights' draws
        in a ``first`` call): early stopping's split and then the epochs'
        shuffles draw from it, in scikit-learn's order, so that a fit shuffles
        as scikit-learn's (a warm start keeps its first fit's split instead,
        ``_split_random_state``). A RandomState given as ``random_state`` (or
        NumPy's global one, for None) moves on as it would in scikit-learn.
        """
        if self.solver == "lbfgs":
            return self._fit_lbfgs(X, Y, max_iter, sw)
        sw_val = None
        if self.early_stopping and not incremental:
            stratify = self._stratify(Y)
            X, X_val, Y, Y_val, *weights = validation_split(
                X, Y, self.validation_fraction, rng if first else self._split_random_state(),
                stratify, sample_weight=sw, min_validation=2)   # (as scikit-learn's)
            if sw is not None:
                sw, sw_val = weights
            y_val = self._validation_targets(Y_val)
        else:
            X_val = None
        n_samples = X.shape[0]
        batch = self._batch(n_samples)
        # (the training loss's rule runs in the kernels, with tol >= 0; the validation
        # score's below. As scikit-learn's, the best loss and score and the epochs
        # without improvement carry on through partial_fit and warm starts.)
        tol = -1.0 if (self.tol is None or self.early_stopping) else float(self.tol)
        # scikit-learn's learning-rate schedules, for SGD: the current rate (_lr) starts
        # at learning_rate_init a fit (and a first partial_fit), and 'invscaling' sets
        # it after every epoch, 'adaptive' when the loss (or the validation score)
        # stops improving
        schedule = self.learning_rate if self.solver == "sgd" else "constant"
        lr = self.learning_rate_init if schedule == "constant" else getattr(
            self, "_lr", self.learning_rate_init)
        # (alpha + 0.0: a penalty of -0.0 is +0.0, which the kernels leave out exactly)
        hp = np.array([lr, self.momentum, self.beta_1, self.beta_2,
                       self.epsilon, self.alpha + 0.0], dtype=np.float64)
        dt = self._params.dtype
        # (scikit-learn's shuffles start from 0, 1, 2... every call, and each epoch
        # shuffles the order the last one left)
        order = np.arange(n_samples, dtype=np.int64)
        order_kind = self._order_code()
        mt = mt_state(rng) if order_kind == dense.SHUFFLE_RANDOMSTATE else _NO_STREAM
        # weight rows and the scratch's rows on cache lines (kernels.memory)
        # (writeable: a model unpickled from a read-only memmap holds read-only arrays)
        self._params, self._vel, self._sq = (realigned(writeable(a))
                                             for a in (self._params, self._vel, self._sq))
        self._layout, self._state = writeable(self._layout), writeable(self._state)
        A = padded_rows(batch, self._n_units, dt)
        D = padded_rows(batch, self._n_units, dt)
        G = aligned_zeros(self._params.shape[0], dt)
        batch_loss = np.empty(batch, dtype=np.float64)
        curve = np.empty(min(max_iter, EPOCH_CHUNK), dtype=np.float64)   # (a call's epochs)
        solver = self._solver_code()
        nesterov = bool(self.nesterovs_momentum)
        self._state[dense.STATUS] = dense.RUNNING

        # an epoch a call where Python acts after every epoch
        per_call = 1 if X_val is not None or schedule == "invscaling" else max_iter
        bar = None
        if self.verbose:
            bar = progress(total=max_iter, desc=type(self).__name__, unit="epoch", leave=True)
            per_call = 1
        done = 0
        t_start = self.t_
        t0 = time.perf_counter()
        if batch == 1 and self._layout.shape[0] == 2:   # the article's networks, per sample
            train = dense.one_hidden_trainer(solver, X.shape[1])
        elif batch == 1:
            train = dense.train_samples
        else:
            train = dense.train_epochs
        threads = threads_for(batch * self._params.shape[0] if batch > 1 else 0, PARALLEL_WORK)
        weights = _NO_WEIGHTS if sw is None else sw
        n_iter_no_change = min(int(self.n_iter_no_change), NO_CHANGE_CAP)
        best = math.inf
        stopped = False   # by early stopping's rule
        while done < max_iter:
            n = min(per_call, max_iter - done, curve.shape[0])
            ran = train(
                self._params, self._layout, self._loss_code, X, Y, batch, order_kind, self._seed,
                self._epochs, n, solver, nesterov, hp, tol, n_iter_no_change, threads,
                self._vel, self._sq, self._state, order, A, D, G, batch_loss, curve[:n],
                weights, mt)
            self._epochs += ran
            done += ran
            self.loss_curve_.extend(curve[:ran].tolist())
            best = min(best, float(curve[:ran].min()))   # (a loss not finite raises below)
            status = self._state[dense.STATUS]
            if bar is not None:
                bar.update(ran)
                bar.set_postfix(loss=f"{curve[ran - 1]:.6g}")
                if (per_call == 1 and X_val is None and schedule != "invscaling"
                        and time.perf_counter() - t0 > 0.2):
                    per_call = max(1, done)  # fewer, longer calls once we know an epoch is fast
            if schedule == "invscaling":
                self._lr = float(self.learning_rate_init) / (
                    t_start + done * n_samples + 1) ** self.power_t
                hp[dense.LR] = self._lr
            elif schedule == "adaptive" and status == dense.CONVERGED:
                status = self._slower(hp, bar, "Training loss")
            if status != dense.RUNNING:
                break
            if X_val is not None:
                _record_validation_score(self, self._validation_score(X_val, y_val, sw_val))
                if self._state[dense.NO_IMPROVE] > self.n_iter_no_change:
                    if schedule != "adaptive" or self._slower(hp, bar, "Validation score") != dense.RUNNING:
                        stopped = True
                        break
        if bar is not None:
            bar.close()
        if mt.shape[0] and not isinstance(self.random_state, numbers.Integral):
            set_mt_state(rng, mt)   # (an int's RandomState is the call's own)
        self.n_iter_ += done
        self.t_ += done * n_samples
        if done:   # this call's epochs (the earlier ones are in best_loss_ already)
            self.best_loss_ = float(min(self.best_loss_, best))
            self.loss_ = self.loss_curve_[-1]
        if self._state[dense.STATUS] == dense.DIVERGED or not np.isfinite(self._params).all():
            self._diverged()
        if X_val is not None and getattr(self, "_best_params", None) is not None:
            # the best epoch's parameters, of this fit or of an earlier one that
            # warm_start continues (as scikit-learn's)
            self._params[:] = self._best_params
        if (not incremental and self.tol is not None and self._state[dense.STATUS] == dense.RUNNING
                and not stopped and done == max_iter):   # (early stopping too, as scikit-learn's)
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({max_iter}) reached and the "
                          "optimization hasn't converged yet.", ConvergenceWarning)
        return self

    def _fit_lbfgs(self, X, Y, max_iter, sw):
        """solver='lbfgs', as scikit-learn's: scipy's L-BFGS-B from the current
        weights on the full-batch loss and gradient (``dense.loss_gradient``,
        compiled), at most ``max_iter`` iterations and ``max_fun`` evaluations,
        stopping when the projected gradient is below ``tol``. ``loss_curve_``
        gets the loss after each iteration."""
        from scipy.optimize import minimize
        from threadpoolctl import threadpool_limits
        n = X.shape[0]
        params = self._params
        dt = params.dtype
        chunk = min(n, LBFGS_ROWS)
        A = padded_rows(chunk, self._n_units, dt)
        D = padded_rows(chunk, self._n_units, dt)
        G = aligned_zeros(params.shape[0], dt)
        grad = np.empty(params.shape[0])
        batch_loss = np.empty(chunk)
        order = np.arange(n, dtype=np.int64)
        weights = _NO_WEIGHTS if sw is None else sw
        threads = threads_for(chunk * params.shape[0], PARALLEL_WORK)
        alpha = float(self.alpha) + 0.0
        last = [np.inf]
        curve = []
        bar = None
        if self.verbose:
            bar = progress(total=max_iter, desc=f"{type(self).__name__} (lbfgs)", unit="iter")

        def loss_and_gradient(x):
            params[:] = x
            last[0] = dense.loss_gradient(params, self._layout, self._loss_code, X, Y, weights,
                                          alpha, threads, grad, A, D, G, batch_loss, order)
            # (a copy: scipy keeps the gradient it is given, and the next call overwrites
            # the buffer; inf for a loss that is not finite, which its line search backs off)
            return (last[0] if math.isfinite(last[0]) else math.inf), grad.copy()

        def iteration(_):
            curve.append(float(last[0]))   # the last evaluation is the accepted point's
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{last[0]:.6g}")

        tol = 0.0 if self.tol is None else float(self.tol)
        options = {"maxfun": int(self.max_fun), "maxiter": int(max_iter), "gtol": tol}
        if self.tol is None:
            options["ftol"] = 0.0
        try:
            # BLAS on one thread: L-BFGS-B's vector steps are small, and BLAS threads left
            # spinning after each would hold the cores the gradient's threads need
            # (digits, 100 hidden units: 6.0 -> 2.0 ms a gradient, 2.2 -> 0.17 ms an L-BFGS
            # step; scipy and threadpoolctl come with scikit-learn)
            with threadpool_limits(1, "blas"):
                result = minimize(loss_and_gradient, params.astype(np.float64),
                                  method="L-BFGS-B", jac=True, callback=iteration,
                                  options=options)
        finally:
            if bar is not None:
                bar.close()
        params[:] = result.x
        self.loss_curve_.extend(curve)
        self.n_iter_ += int(min(result.nit, max_iter))
        if not np.isfinite(params).all() or not math.isfinite(result.fun):
            self._diverged()
        self.loss_ = float(result.fun)
        if curve:
            self.best_loss_ = float(min(self.best_loss_, min(curve)))
        if not result.success and self.tol is not None:
            warnings.warn(f"lbfgs failed to converge after {result.nit} iteration(s) "
                          f"(status={result.status}): {result.message}. Increase max_iter "
                          f"({max_iter}) or max_fun ({self.max_fun}), or scale the data.",
                          ConvergenceWarning)
        return self

    def _slower(self, hp, bar, what):
        """'adaptive': ``n_iter_no_change`` epochs did not improve; as scikit-learn, a
        fifth of the learning rate and training goes on, or it stops once the rate is
        1e-6 or less. The status to go on with (RUNNING or CONVERGED)."""
        if self._lr <= 1e-6:
            return dense.CONVERGED
        self._lr /= 5.0
        hp[dense.LR] = self._lr
        self._state[dense.STATUS] = dense.RUNNING
        self._state[dense.NO_IMPROVE] = 0.0
        if bar is not None:
            bar.write(f"{what} did not improve more than tol={self.tol} for "
                      f"{self.n_iter_no_change} consecutive epochs; learning rate {self._lr:.6g}.")
        return dense.RUNNING

    def _diverged(self):
        epoch = len(self.loss_curve_)
        bad = next((f"coefs_[{i}]" for i, c in enumerate(self.coefs_) if not np.isfinite(c).all()),
                   "the loss")
        data = "X" if is_classifier(self) else "X and y"   # (a regressor's y sets its scale too)
        if self.solver == "lbfgs":
            raise ValueError(f"training diverged at lbfgs iteration {epoch}: {bad} contains NaN "
                             f"or inf; scale {data}.")
        raise ValueError(
            f"training diverged at epoch {epoch}: {bad} contains NaN or inf; lower "
            f"learning_rate_init ({self.learning_rate_init}) or scale {data}.")

    def _forward(self, X):
        out = np.empty((X.shape[0], self.n_outputs_), dtype=self._params.dtype)
        A = np.empty((X.shape[0], self._n_units), dtype=self._params.dtype)
        threads = threads_for(X.shape[0] * self._params.shape[0], PARALLEL_WORK)
        dense.forward(writeable(self._params), writeable(self._layout), X, A, out, threads)
        return out

    def _predict_forward(self, X):
        """``_forward`` of the checked rows ``X`` for the public predictions,
        refused when not finite (parameters that an earlier call left NaN, or
        rows on a scale that overflows: identity units and X * 1e308 gave NaN
        probabilities and labels from them). A finite sum means every output
        is finite; the full check runs only when it is not (1 us on 32 rows)."""
        out = self._forward(X)
        if not math.isfinite(out.sum()) and not np.isfinite(out).all():
            refuse_non_finite_output(X, out, self._params)
        return out

    def _check_X_predict(self, X):
        check_is_fitted(self, "n_features_in_")
        check_feature_names(self, X, reset=False)
        return check_array(X, "X", dtype=self._params.dtype, n_features=self.n_features_in_,
                           fitted_with=type(self).__name__, accept_sparse=True)

    def _check_X_fit(self, X, reset):
        check_feature_names(self, X, reset=reset)
        dt = check_dtype(self.dtype)
        return check_array(X, "X", dtype=dt,
                           n_features=None if reset else self.n_features_in_,
                           fitted_with=type(self).__name__, accept_sparse=True)

    def _check_y_present(self, y):
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")

    def save(self, path):
        """Write the fitted model to an HDF5 file (see ``fastnn.load``)."""
        from ._io import save_model
        save_model(self, path)

    # the arrays that save/load keep besides the ``*_`` attributes
    _saved_private = ("_params", "_vel", "_sq", "_state", "_layout", "_n_units", "_seed",
                      "_split_state", "_epochs", "_loss_code", "_dtype", "_lr", "_best_params")

    def _stochastic(self):
        """``partial_fit`` is there for 'sgd' and 'adam' only, as scikit-learn's."""
        if self.solver not in ("sgd", "adam"):
            raise AttributeError(f"partial_fit is only available for stochastic optimizers; "
                                 f"solver={self.solver!r} is not stochastic.")
        return True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = True   # densified (see _validation.check_array)
        return tags


# the hyper-parameters' values, as one tuple (MLPClassifier and MLPRegressor take _BaseMLP's)
_BaseMLP._param_values = operator.attrgetter(*_BaseMLP._get_param_names())


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multilayer perceptron classifier trained by backpropagation.

    Parameters follow scikit-learn's ``MLPClassifier`` where the concept is the
    same; the article's networks need these as well:

    output_activation : {'logistic', 'softmax', 'identity', 'tanh', 'relu', 'exp'}, default=None
        None: logistic for one output (two classes or multilabel), softmax otherwise.
    loss : {'log', 'squared'}, default=None (log).
        scikit-learn's names 'log_loss' and 'squared_error' are taken too.
    bias : bool or tuple of bool, default=True
        Whether each weight layer has biases (part D: ``(True, False)``).
    init : 'glorot', 'normal' or (low, high) pairs, default='glorot'
        'glorot' as scikit-learn: uniform in +-sqrt(f / (fan_in + fan_out)),
        f = 2 in every layer when ``activation`` is 'logistic', else 6;
        'normal' draws N(0, fan_in**-0.5) with zero biases (part G); a
        (low, high) pair, or one per weight layer, draws weights and biases
        uniformly (parts A and D).
    sample_order : {'shuffle', 'sequential', 'replacement'}, default=None
        None follows ``shuffle``. 'shuffle' shuffles the samples every epoch as
        scikit-learn's MLP does (``RandomState.shuffle`` on the order the last
        epoch left, from ``check_random_state(random_state)`` as the initial
        weights and early stopping's split leave it; with an int, every
        ``fit`` and ``partial_fit`` call starts that stream afresh, as
        scikit-learn's), so that a fit trains on scikit-learn's orders.
        'replacement' draws every step's sample at random, as part A does.
    momentum_rule : {'classical', 'previous_gradient'}, default='classical'
        'classical': scikit-learn's ``v = momentum * v - lr * g; w += v``;
        'previous_gradient': part D's ``w -= lr * g + momentum * g_previous``.
    batch_size : int, 'auto' or 'full', default='auto'
    tol : float or None, default=1e-4 (None: ``fit`` runs ``max_iter`` epochs,
        unless ``early_stopping`` stops it, with a tolerance of 0).
        As scikit-learn's: an epoch whose loss is not ``tol`` below the best
        (or, with ``early_stopping``, whose validation score is ``tol`` short of
        the best) counts as no improvement, and more than ``n_iter_no_change``
        in a row stop ``fit``; the best loss and score and that count carry on
        through ``partial_fit`` calls and ``warm_start`` fits, so a warm fit
        after one that stopped stops again unless it improves at once. (An
        ``n_iter_no_change`` above 2**62, more epochs than any fit counts,
        is taken as 2**62: it never stops a fit.)
    dtype : {'float64', 'float32'}, default='float64'
        ``partial_fit`` and a ``warm_start`` fit continue the fitted network in
        the dtype it was fitted in: a changed dtype is refused.

    and these work as scikit-learn's:

    solver : {'sgd', 'adam', 'lbfgs'}, default='adam'
        'lbfgs': scipy's L-BFGS-B on the full-batch loss and gradient (compiled,
        the same loss and gradient as scikit-learn's), for small data sets; it
        stops after ``max_iter`` iterations, ``max_fun`` loss evaluations, or
        once the projected gradient is below ``tol``. It ignores the
        stochastic solvers' parameters (``batch_size``, learning rates,
        momentum, ``early_stopping``) and has no ``partial_fit``;
        ``loss_curve_`` holds the loss after each iteration.
    max_fun : int, default=15000
    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        The schedule of solver='sgd' (Adam ignores it). 'invscaling': after every
        epoch the rate is ``learning_rate_init / (t_ + 1) ** power_t``, ``t_`` the
        samples trained on. 'adaptive': each time ``n_iter_no_change`` epochs in a
        row do not improve the loss (or the validation score) by ``tol``, the rate
        is divided by 5, and training stops once it is 1e-6 or less (over
        ``partial_fit``'s calls too: one that ends such a run divides the rate
        its successors train at). A ``fit`` starts again at ``learning_rate_init``.
    power_t : float, default=0.5
    warm_start : bool, default=False
        ``fit`` continues from the fitted weights instead of drawing new ones: the
        same network and classes; the optimiser starts afresh (velocities and
        Adam's moments zero), ``n_iter_`` counts this fit's epochs, and
        ``loss_curve_`` and ``t_`` go on.

    Attributes
    ----------
    classes_, coefs_, intercepts_, loss_, loss_curve_, n_iter_, t_, n_layers_,
    n_outputs_, out_activation_, n_features_in_, best_loss_
        As scikit-learn's, but ``n_iter_`` counts the epochs since the network
        was drawn or warm-started, ``partial_fit``'s included (scikit-learn's is
        1 after any ``partial_fit``).
    """

    def _default_output_activation(self, loss):
        return "logistic" if self._n_label_outputs == 1 or self._multilabel else "softmax"

    _default_loss = "log"

    def _encode(self, y, incremental, classes=None):
        if y.ndim == 2 and y.shape[1] == 1 and type_of_target(y) != "multilabel-indicator":
            y = column_to_1d(y, stacklevel=5)
        if not incremental:
            target = label_kind(y)
            if target not in ("binary", "multiclass", "multilabel-indicator"):
                raise ValueError(f"Unknown label type: y must hold class labels (binary, multiclass or "
                                 f"multilabel); got target type {target!r}.")
            self._multilabel = target == "multilabel-indicator"
            if self._multilabel:
                # as scikit-learn's: the binarizer learns y's columns (a first partial_fit's
                # classes name them, so they must be the column indices)
                self._label_binarizer = LabelBinarizer().fit(y)
                self.classes_ = self._label_binarizer.classes_
                if classes is not None and not np.array_equal(unique_labels(classes), self.classes_):
                    raise ValueError(f"classes must be the column indices of the multilabel y, "
                                     f"{self.classes_.tolist()}; got {unique_labels(classes).tolist()}.")
            else:
                self.__dict__.pop("_label_binarizer", None)
                # (as LabelBinarizer: unique_labels, which also turns an object array of
                # strings into a string array; np.unique where that changes nothing)
                self.classes_ = (np.unique(y) if classes is None and y.dtype.kind in "biufUS"
                                 else unique_labels(y if classes is None else classes))
            if len(self.classes_) < 2 and target != "multilabel-indicator":
                raise ValueError(f"y must contain at least 2 classes; got 1 class: {self.classes_.tolist()}.")
        Y = self._one_hot(y, first=not incremental)
        self._n_label_outputs = Y.shape[1]
        return Y

    def _one_hot(self, y, first=False):
        """The network's targets for labels ``y``: a column of 0/1 for two
        classes, one column per class for more, as scikit-learn's
        ``LabelBinarizer`` (used for multilabel ``y``). Written out here: the
        binarizer's checks cost about 0.5 ms a call, more than an epoch of a
        small minibatch."""
        if self._multilabel:
            return self._label_binarizer.transform(y)
        classes = self.classes_
        if y.ndim != 1:
            raise ValueError(f"y must be 1-dimensional for a classifier fitted on "
                             f"{'binary' if len(classes) == 2 else 'multiclass'} labels; "
                             f"got shape {y.shape}.")
        at = label_indices(y, classes, first)
        if len(classes) == 2:
            return (at == 1).astype(np.int64)[:, None]
        Y = np.zeros((len(y), len(classes)), dtype=np.int64)
        Y[np.arange(len(y)), at] = 1
        return Y

    def _labels(self, out):
        """Labels from the network's outputs (``LabelBinarizer.inverse_transform``'s rule:
        above 0.5 for two classes, the largest output for more)."""
        if self._multilabel:
            return self._label_binarizer.inverse_transform(out)
        if out.ndim == 1 or out.shape[1] == 1:
            return self.classes_[(out.reshape(-1) > 0.5).astype(np.intp)]
        return self.classes_[out.argmax(axis=1)]

    def fit(self, X, y, sample_weight=None):
        """Fit the network to data ``X`` (n_samples, n_features), an array or a
        SciPy sparse matrix (densified), and labels ``y``.

        ``sample_weight`` (n_samples,), weights >= 0: as scikit-learn's, each
        minibatch's gradient and loss are its samples' weighted mean (the L2
        term over the batch's weight), so at batch size 1 a weight changes
        only the L2 term's share; a batch of weight zero makes no step. Early
        stopping scores the held-out part with its weights.
        """
        return self._fit_public(X, y, incremental=False, sample_weight=sample_weight)

    @available_if(_BaseMLP._stochastic)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over (X, y), continuing from the current weights.

        ``classes`` must be given on the first call and, given again, be the
        same (as scikit-learn); ``sample_weight`` as in ``fit``. The
        parameters are checked on every call, and must still describe the
        fitted network (its layers and dtype).
        """
        first = not hasattr(self, "_params")   # (as _start)
        check_partial_fit_classes(classes, None if first else self.classes_)
        return self._fit_public(X, y, incremental=True, classes=classes if first else None,
                                sample_weight=sample_weight)

    def _fit_public(self, X, y, incremental, classes=None, sample_weight=None):
        self._check_y_present(y)
        first, warm = self._start(incremental)
        X = self._check_X_fit(X, reset=first)
        y = _sparse_multilabel(y) if is_sparse(y) else np.asarray(y)
        if y.dtype.kind == "f" and not np.isfinite(y.data if is_sparse(y) else y).all():
            raise ValueError("y must be finite (no NaN or inf); got non-finite labels.")
        check_consistent_length(X, y)
        if first or warm:
            hls = self._check_params()
        if warm:
            got = unique_labels(y)
            if set(got.tolist()) != set(self.classes_.tolist()):
                raise ValueError(f"warm_start=True needs y to have the classes of the previous "
                                 f"fit, {self.classes_.tolist()}; got {got.tolist()}.")
        sw = check_sample_weight(sample_weight, X.shape[0])
        Y = self._encode(y, incremental=not first, classes=classes)
        Y = np.ascontiguousarray(Y, dtype=check_dtype(self.dtype))
        rng = seeded_random_state(self.random_state)   # scikit-learn's _random_state, a call's
        if first:
            self._initialize(X.shape[1], Y.shape[1], rng, hls)
        elif warm:
            self._warm_start(X.shape[1], Y.shape[1], hls)
        if self.loss_function_ == "poisson" and Y.min() < 0:
            raise ValueError("y must be >= 0 for loss='poisson' (counts or rates); got a minimum "
                             f"of {float(Y.min())!r}.")
        return self._fit(X, Y, incremental, 1 if incremental else int(self.max_iter), sw, rng, first)

    def _stratify(self, Y):
        # as scikit-learn's: by class for one output (two classes), not for several
        return Y[:, 0] if Y.shape[1] == 1 else None

    def _validation_targets(self, Y_val):
        return self._labels(Y_val)

    def _validation_score(self, X_val, y_val, sw_val):
        return _accuracy(y_val, self._predict_checked(X_val), sw_val)

    def _predict_checked(self, X):
        out = self._predict_forward(X)
        if self.n_outputs_ == 1:
            out = out.ravel()
        return self._labels(out)

    def predict(self, X):
        """Class labels for the rows of ``X``."""
        return self._predict_checked(self._check_X_predict(X))

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes)."""
        out = self._predict_forward(self._check_X_predict(X))
        if self.n_outputs_ == 1 and not self._multilabel:
            out = out.ravel()
            return np.vstack([1.0 - out, out]).T
        return out

    def predict_log_proba(self, X):
        return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    _saved_private = _BaseMLP._saved_private + ("_label_binarizer", "_multilabel", "_n_label_outputs")


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multilayer perceptron regressor trained by backpropagation.

    Same parameters as :class:`MLPClassifier`; the output activation defaults
    to 'identity' and the loss to 'squared' (``0.5 * sum of squared errors``
    per sample, averaged over samples; scikit-learn's name 'squared_error' is
    taken too).

    ``loss='poisson'``, as scikit-learn's: half the Poisson deviance
    ``sum_j y_j log(y_j / p_j) - y_j + p_j``, averaged over samples, for
    counts or rates (``y >= 0``); the output activation defaults to 'exp'
    (``p = exp(z)``), and is required to be it.
    """

    def _default_output_activation(self, loss):
        return "exp" if loss == "poisson" else "identity"

    def fit(self, X, y, sample_weight=None):
        """Fit the network to data ``X`` and targets ``y`` (n_samples,) or
        (n_samples, n_outputs); ``sample_weight`` as ``MLPClassifier.fit``'s."""
        return self._fit_public(X, y, incremental=False, sample_weight=sample_weight)

    @available_if(_BaseMLP._stochastic)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y), continuing from the current weights (the
        parameters checked again, as ``MLPClassifier.partial_fit``'s)."""
        return self._fit_public(X, y, incremental=True, sample_weight=sample_weight)

    def _fit_public(self, X, y, incremental, sample_weight=None):
        self._check_y_present(y)
        first, warm = self._start(incremental)
        X = self._check_X_fit(X, reset=first)
        dt = check_dtype(self.dtype)
        refuse_sparse(y, "y")   # (as scikit-learn's MLPRegressor)
        y_arr = np.asarray(y)
        if y_arr.ndim not in (1, 2):
            raise ValueError(f"y must be 1- or 2-dimensional; got shape {y_arr.shape}.")
        if y_arr.ndim == 2 and y_arr.shape[1] == 1:
            y_arr = column_to_1d(y_arr, stacklevel=4)   # as scikit-learn's: one output, predicted 1-D
        Y = check_array(y_arr.reshape(len(y_arr), -1), "y", dtype=dt)
        check_consistent_length(X, Y)
        sw = check_sample_weight(sample_weight, X.shape[0])
        if not first and Y.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {Y.shape[1]} outputs, but the network was fitted with {self.n_outputs_}.")
        hls = self._check_params() if first or warm else None
        # before anything is drawn or changed: a refused fit leaves the model as it was
        loss = self._resolved_output()[1] if first or warm else self.loss_function_
        if loss == "poisson" and Y.min() < 0:
            raise ValueError("y must be >= 0 for loss='poisson' (counts or rates); got a minimum "
                             f"of {float(Y.min())!r}.")
        rng = seeded_random_state(self.random_state)   # scikit-learn's _random_state, a call's
        if first:
            self._initialize(X.shape[1], Y.shape[1], rng, hls)
        elif warm:
            self._warm_start(X.shape[1], Y.shape[1], hls)
        return self._fit(X, Y, incremental, 1 if incremental else int(self.max_iter), sw, rng, first)

    def _stratify(self, Y):
        return None

    def _validation_targets(self, Y_val):
        return Y_val

    def _validation_score(self, X_val, Y_val, sw_val):
        return _r2(Y_val, self._forward(X_val), sw_val)

    def predict(self, X):
        """Network outputs, shape (n_samples,) for one output (as scikit-learn's,
        whether ``y`` was 1-D or a column), else (n_samples, n_outputs)."""
        out = self._predict_forward(self._check_X_predict(X))
        return out.ravel() if out.shape[1] == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        tags.target_tags.positive_only = self.loss == "poisson"
        return tags

