"""The convolutional network of part E: one convolution layer, max pooling, a
dense softmax head, trained one image at a time (or in minibatches).

The article's network is the default::

    ConvNetClassifier(n_filters=10, filter_size=5, pool_size=2,
                      conv_activation='sigmoid', hidden_layer_sizes=(128,),
                      activation='sigmoid', batch_size=1)

The convolution is a true valid convolution (the filter flipped, as the
article's ``rot90(filter, 2)`` intends; see ``fastnn.kernels.conv``). The
whole training loop runs in ``fastnn.kernels.conv.train_samples`` (batch size 1) or
``train_epochs`` (minibatches).
"""
import math
import warnings

import numba
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import check_is_fitted

from .._progress import progress
from .._validation import (
    check_array, check_bool, check_consistent_length, check_dtype, check_feature_names,
    check_float, check_int, check_option, check_partial_fit_classes,
    check_partial_fit_early_stopping, check_random_state_param,
    check_sample_weight, check_verbose, column_to_1d, label_indices, label_kind,
    refuse_non_finite_output, refuse_sparse,
    seeded_random_state, validation_split, writeable,
)
from ..kernels import conv, dense, pool
from ..kernels.memory import aligned_zeros, padded_rows, realigned
from ..kernels.activations import CODES as ACTIVATIONS
from .mlp import _NO_WEIGHTS, EPOCH_CHUNK, NO_CHANGE_CAP, _accuracy, _record_validation_score

_ACTIVATION_NAMES = {"sigmoid": "logistic", "logistic": "logistic", "tanh": "tanh",
                     "relu": "relu", "identity": "identity"}
SOLVERS = {"sgd", "adam"}
SAMPLE_ORDERS = {"shuffle": dense.SHUFFLE, "sequential": dense.SEQUENTIAL,
                 "replacement": dense.REPLACEMENT}
_CHUNK = 256  # images per call when predicting (bounds the scratch memory)
# Step losses a call of a trainer records at most (its buffer: 16 MiB), with
# mlp.EPOCH_CHUNK epochs: max_iter=10**10 asked for 75 GiB up front.
_STEP_CHUNK = 1 << 21


def _pair(value, name):
    """An int or a pair of ints >= 1, as a pair."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints; got {value!r}.")
        return tuple(check_int(v, f"{name}[{i}]", low=1) for i, v in enumerate(value))
    v = check_int(value, name, low=1)
    return (v, v)


class ConvNetClassifier(ClassifierMixin, BaseEstimator):
    """Convolutional network classifier: convolution, max pooling, softmax MLP.

    Parameters
    ----------
    n_filters : int, default=10
    filter_size : int or (int, int), default=5
    pool_size : int, default=2
        Max pooling over ``pool_size x pool_size`` blocks; it must divide the
        size of the convolution maps (image size - filter size + 1).
    conv_activation : {'sigmoid', 'tanh', 'relu', 'identity'}, default='sigmoid'
        'logistic' is accepted for 'sigmoid'.
    hidden_layer_sizes : tuple of int, default=(128,)
        Hidden layers of the dense head (may be empty); its output is a softmax.
    activation : {'sigmoid', 'tanh', 'relu', 'identity'}, default='sigmoid'
        Activation of the head's hidden layers.
    solver : {'sgd', 'adam'}, default='sgd'
    learning_rate_init : float, default=0.1
    learning_rate_decay : float >= 0, default=0.0
        The learning rate of epoch ``e`` is ``learning_rate_init / (1 +
        learning_rate_decay * e)``, ``e`` counted from 0 over the calls that
        continue a network (``partial_fit``; a ``warm_start`` fit starts at 0).
    momentum : float in [0, 1), default=0.0
        Classical momentum for 'sgd' (``v = momentum * v - lr * g; w += v``).
    alpha : float, default=0.0
        L2 penalty on the filters and the head's weights, as the MLPs':
        ``0.5 * alpha * sum(w**2)`` added to a step's summed loss, so that a
        minibatch's loss is its mean plus that over the batch size.
    batch_size : int, default=1
        1 is the article's per-image SGD; larger batches run in parallel over
        images with the same results for any thread count.
    max_iter : int, default=10
        Epochs.
    sample_order : {'shuffle', 'sequential', 'replacement'}, default='shuffle'
        'replacement' draws each step's image at random, as the article.
    tol : float or None, default=1e-4
        Stop when the epoch loss has not improved by ``tol`` for more than
        ``n_iter_no_change`` epochs in a row; None always runs ``max_iter``
        epochs. As MLPClassifier's, the best loss (and validation score) and
        that count carry on through ``partial_fit`` calls and warm fits.
    n_iter_no_change : int, default=10
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the images (stratified), score the
        accuracy on them after every epoch, stop when it has not improved by
        ``tol`` for ``n_iter_no_change`` epochs, and keep the best epoch's
        parameters (as scikit-learn's MLPClassifier). ``partial_fit`` refuses it.
    validation_fraction : float in (0, 1), default=0.1
    warm_start : bool, default=False
        ``fit`` on a fitted network continues from its parameters; as
        scikit-learn, the optimiser starts afresh (momentum and Adam's moments
        zero, the learning rate ``learning_rate_init`` and its decay from epoch 0).
    image_shape : tuple (H, W) or (C, H, W), or None, default=None
        The shape of one image when X is given as flat rows. None: a square
        number of features is a square one-channel image, anything else a
        single row (1 x n_features).
    verbose : bool or int, default=False
        True prints a progress bar by epoch; an int ``k > 1`` also prints the
        mean error of every ``k`` steps (the article prints every 50).
    random_state : int, RandomState or None, default=None
    dtype : {'float64', 'float32'}, default='float64'

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    filters_ : ndarray of shape (n_filters, C, kh, kw) (a view of the parameters)
    filter_biases_ : ndarray of shape (n_filters,)
    coefs_, intercepts_ : lists of the dense head's weights and biases (views)
    image_shape_ : (C, H, W)
    n_features_in_ : int, values per image (C * H * W)
    loss_curve_ : list of float, mean loss of each epoch
    best_loss_ : float, the lowest of ``loss_curve_``
    loss_ : float, the last epoch's loss (as the MLPs' and scikit-learn's)
    validation_scores_ : list of float or None
        The held-out accuracy after each epoch (``early_stopping``), else None.
    best_validation_score_ : float or None
    step_losses_ : ndarray, the loss of every step (every image at batch size 1)
    n_iter_ : int, epochs run
    t_ : int, images seen
    """

    def __init__(self, n_filters=10, filter_size=5, pool_size=2, conv_activation="sigmoid",
                 hidden_layer_sizes=(128,), activation="sigmoid", *, solver="sgd",
                 learning_rate_init=0.1, learning_rate_decay=0.0, momentum=0.0, alpha=0.0, batch_size=1, max_iter=10,
                 sample_order="shuffle", tol=1e-4, n_iter_no_change=10, early_stopping=False,
                 validation_fraction=0.1, warm_start=False, image_shape=None, verbose=False,
                 random_state=None, dtype="float64"):
        self.n_filters = n_filters
        self.filter_size = filter_size
        self.pool_size = pool_size
        self.conv_activation = conv_activation
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.learning_rate_init = learning_rate_init
        self.learning_rate_decay = learning_rate_decay
        self.momentum = momentum
        self.alpha = alpha
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.sample_order = sample_order
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.warm_start = warm_start
        self.image_shape = image_shape
        self.verbose = verbose
        self.random_state = random_state
        self.dtype = dtype

    # ------------------------------------------------------------------ checks
    def _check_params(self):
        check_random_state_param(self.random_state)
        check_int(self.n_filters, "n_filters", low=1)
        _pair(self.filter_size, "filter_size")
        check_int(self.pool_size, "pool_size", low=1)
        check_option(self.conv_activation, "conv_activation", set(_ACTIVATION_NAMES))
        hls = self.hidden_layer_sizes
        if isinstance(hls, (int, np.integer)) and not isinstance(hls, bool):
            hls = (hls,)
        if not isinstance(hls, (tuple, list, np.ndarray)):
            raise TypeError("hidden_layer_sizes must be a tuple of ints; got "
                            f"{type(hls).__name__} {hls!r}.")
        hls = tuple(check_int(h, f"hidden_layer_sizes[{i}]", low=1) for i, h in enumerate(hls))
        check_option(self.activation, "activation", set(_ACTIVATION_NAMES))
        check_option(self.solver, "solver", SOLVERS)
        check_float(self.learning_rate_init, "learning_rate_init", low=0.0, low_inclusive=False)
        check_float(self.learning_rate_decay, "learning_rate_decay", low=0.0)
        check_float(self.momentum, "momentum", low=0.0, high=1.0, high_inclusive=False)
        check_float(self.alpha, "alpha", low=0.0)
        check_int(self.batch_size, "batch_size", low=1)
        check_int(self.max_iter, "max_iter", low=1)
        check_option(self.sample_order, "sample_order", set(SAMPLE_ORDERS))
        if self.tol is not None:
            check_float(self.tol, "tol", low=0.0)
        check_int(self.n_iter_no_change, "n_iter_no_change", low=1)
        check_bool(self.early_stopping, "early_stopping")
        check_float(self.validation_fraction, "validation_fraction", low=0.0, high=1.0,
                    low_inclusive=False, high_inclusive=False)
        check_bool(self.warm_start, "warm_start")
        check_verbose(self.verbose)
        check_dtype(self.dtype)
        return hls

    def _check_image_shape(self):
        shp = self.image_shape
        if shp is None:
            return None
        if not isinstance(shp, (tuple, list)) or len(shp) not in (2, 3):
            raise ValueError(f"image_shape must be None, (H, W) or (C, H, W); got {shp!r}.")
        shp = tuple(check_int(v, f"image_shape[{i}]", low=1) for i, v in enumerate(shp))
        return shp if len(shp) == 3 else (1,) + shp

    def _images(self, X, dtype, reset):
        """X as a C-contiguous (n, C, H, W) array of ``dtype``, checked."""
        check_feature_names(self, X, reset=reset)
        refuse_sparse(X, "X")
        X = np.asarray(X)
        if X.dtype.kind == "O":
            try:
                X = X.astype(np.float64)
            except (TypeError, ValueError) as err:
                raise TypeError(f"X must hold numbers; got an array of dtype object ({err}).") from None
        ndim = X.ndim
        if ndim not in (2, 3, 4):
            hint = (" Reshape your data: X.reshape(1, -1) for one flat image." if ndim == 1 else "")
            raise ValueError("X must be 2-dimensional (flat rows), 3-dimensional (n, H, W) or "
                             f"4-dimensional (n, C, H, W); got {ndim} dimensions, shape "
                             f"{X.shape}.{hint}")
        arr = check_array(X, "X", dtype=dtype, ndim=ndim)
        n = arr.shape[0]
        if ndim == 4:
            shape = arr.shape[1:]
        elif ndim == 3:
            shape = (1,) + arr.shape[1:]
        else:
            d = arr.shape[1]
            shape = self._check_image_shape() if reset else tuple(self.image_shape_)
            if reset and shape is None:
                s = math.isqrt(d)
                shape = (1, s, s) if s * s == d else (1, 1, d)
            if int(np.prod(shape)) != d:
                if reset:
                    raise ValueError(f"X has {d} features per row, but image_shape {self.image_shape!r} "
                                     f"holds {int(np.prod(shape))} values.")
                raise ValueError(f"X has {d} features, but {type(self).__name__} is expecting "
                                 f"{self.n_features_in_} features as input.")
        shape = tuple(int(v) for v in shape)
        if min(shape) == 0:
            raise ValueError(f"X must hold images of at least 1 channel, 1 row and 1 column; got "
                             f"shape {X.shape}, images of shape {shape} (C, H, W).")
        if not reset and shape != tuple(self.image_shape_):
            raise ValueError(f"X holds images of shape {shape}, but {type(self).__name__} was fitted "
                             f"with images of shape {tuple(self.image_shape_)}.")
        return np.ascontiguousarray(arr.reshape((n,) + shape))

    def _check_geometry(self, image_shape):
        kh, kw = _pair(self.filter_size, "filter_size")
        _, h, w = image_shape
        if kh > h or kw > w:
            raise ValueError(f"filter_size {(kh, kw)} is larger than the images {(h, w)}; the filter "
                             f"must fit inside the image (filter_size <= {(h, w)}).")
        oh, ow = h - kh + 1, w - kw + 1
        p = int(self.pool_size)
        if oh % p or ow % p:
            raise ValueError(f"pool_size {p} does not divide the convolution maps {(oh, ow)} (images "
                             f"{(h, w)}, filters {(kh, kw)}); choose sizes so that the image size - "
                             f"filter_size + 1 is a multiple of pool_size.")
        return kh, kw

    # ------------------------------------------------------------- set-up
    def _architecture(self, image_shape, n_classes):
        """``(kh, kw, spec, layout, n_params, n_units)`` of the network the
        parameters describe for these images and classes."""
        hls = self._check_params()
        kh, kw = self._check_geometry(image_shape)
        cact = ACTIVATIONS[_ACTIVATION_NAMES[self.conv_activation]]
        hact = ACTIVATIONS[_ACTIVATION_NAMES[self.activation]]
        return (kh, kw) + conv.make_cnn_layout(
            image_shape, int(self.n_filters), kh, kw, int(self.pool_size), cact, hls, hact,
            n_classes)

    def _initialize(self, image_shape, n_classes, rng):
        kh, kw, spec, layout, n_params, n_units = self._architecture(image_shape, n_classes)
        self._dtype = check_dtype(self.dtype)
        params = np.zeros(n_params, dtype=self._dtype)
        n_f, n_c = int(self.n_filters), image_shape[0]
        n_conv = int(spec[conv.SPEC_B_OFF])
        # the article's filters: uniform in +-1/sqrt(n_filters * filter area), biases in +-0.5
        bound = 1.0 / math.sqrt(n_f * n_c * kh * kw)
        params[:n_conv] = rng.uniform(-bound, bound, n_conv)
        params[n_conv:n_conv + n_f] = rng.uniform(-0.5, 0.5, n_f)
        doff = int(spec[conv.SPEC_DENSE_OFF])
        for l in range(layout.shape[0]):  # the head: Glorot uniform, as scikit-learn
            n_in, n_out, w0, b0 = (int(v) for v in layout[l, :4])
            factor = 2.0 if layout[l, dense.ACT] == ACTIVATIONS["logistic"] else 6.0
            b = math.sqrt(factor / (n_in + n_out))
            params[doff + w0:doff + w0 + n_in * n_out] = rng.uniform(-b, b, n_in * n_out)
            params[doff + b0:doff + b0 + n_out] = rng.uniform(-b, b, n_out)
        self._spec = spec
        self._layout = layout
        self._n_units = n_units
        self._params = realigned(params, doff)   # the head's weight rows on cache lines
        self._vel = aligned_zeros(n_params, self._dtype, doff)
        self._sq = aligned_zeros(n_params, self._dtype, doff)
        self._state = np.array([np.inf, 0.0, 0.0, dense.RUNNING])
        self._seed = int(rng.randint(0, 2**62))
        self._epochs = 0
        self._decay_from = 0
        self.image_shape_ = tuple(int(v) for v in image_shape)
        self.n_features_in_ = int(np.prod(image_shape))
        self.loss_curve_ = []
        self.step_losses_ = np.zeros(0)
        self.n_iter_ = 0
        self.t_ = 0
        self.best_loss_ = np.inf
        self._best_params = None   # the parameters of best_validation_score_
        self.validation_scores_ = [] if self.early_stopping else None
        self.best_validation_score_ = -np.inf if self.early_stopping else None

    def _check_same_network(self, image_shape, n_classes, call, fix):
        """A ValueError unless the parameters describe the fitted network."""
        spec, layout = self._architecture(image_shape, n_classes)[2:4]
        if (check_dtype(self.dtype) != self._dtype or not np.array_equal(spec, self._spec)
                or not np.array_equal(layout, self._layout)):
            raise ValueError(
                f"{call} continues the fitted network, but n_filters, filter_size, "
                "pool_size, the activations, hidden_layer_sizes or dtype now describe another "
                f"one (fitted: {int(self._spec[conv.SPEC_F])} filters of "
                f"{tuple(self.filters_.shape[2:])}, head {self._head_sizes()}, dtype "
                f"{np.dtype(self._dtype).name}); {fix}.")

    def _warm_start(self, image_shape, n_classes):
        """``fit`` with ``warm_start=True`` on a fitted network: the parameters
        stay, the optimiser starts afresh (as MLPClassifier's), ``n_iter_``
        counts this fit's epochs, ``loss_curve_`` and ``t_`` go on."""
        self._check_same_network(image_shape, n_classes, "warm_start=True",
                                 "set warm_start=False to fit a new network")
        self._vel[:] = 0.0
        self._sq[:] = 0.0
        self._state[dense.STEP] = 0.0
        self._decay_from = self._epochs
        self.n_iter_ = 0
        if self.early_stopping and getattr(self, "validation_scores_", None) is None:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf

    def _head_sizes(self):
        return [int(self._layout[0, 0])] + [int(n) for n in self._layout[:, 1]]

    # ------------------------------------------------------------ views
    def _require_params(self, name):
        if "_params" not in self.__dict__:
            raise AttributeError(name)

    @property
    def filters_(self):
        """The convolution filters, (n_filters, C, kh, kw), stored unflipped (a view)."""
        self._require_params("filters_")
        s = self._spec
        return self._params[:s[conv.SPEC_B_OFF]].reshape(
            int(s[conv.SPEC_F]), int(s[conv.SPEC_C]), int(s[conv.SPEC_KH]), int(s[conv.SPEC_KW]))

    @property
    def filter_biases_(self):
        self._require_params("filter_biases_")
        b0 = int(self._spec[conv.SPEC_B_OFF])
        return self._params[b0:b0 + int(self._spec[conv.SPEC_F])]

    @property
    def coefs_(self):
        """The dense head's weight matrices (views)."""
        self._require_params("coefs_")
        d = int(self._spec[conv.SPEC_DENSE_OFF])
        return [self._params[d + w0:d + w0 + n_in * n_out].reshape(n_in, n_out)
                for n_in, n_out, w0 in self._layout[:, :3]]

    @property
    def intercepts_(self):
        self._require_params("intercepts_")
        d = int(self._spec[conv.SPEC_DENSE_OFF])
        return [self._params[d + b0:d + b0 + n_out]
                for n_out, b0 in zip(self._layout[:, 1], self._layout[:, 3])]

    # ------------------------------------------------------------ training
    def _encode(self, y, first, classes=None):
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_to_1d(y, stacklevel=5)
        if y.ndim != 1:
            raise ValueError(f"y must be 1-dimensional (one label per image); got shape {y.shape}.")
        if y.dtype.kind == "f" and not np.isfinite(y).all():
            raise ValueError("y must be finite (no NaN or inf); got non-finite labels.")
        if label_kind(y) not in ("binary", "multiclass"):
            check_classification_targets(y)   # scikit-learn's error for the rest
        if first:
            self.classes_ = np.unique(y if classes is None else np.asarray(classes))
            if len(self.classes_) < 2:
                raise ValueError(f"y must contain at least 2 classes; got 1 class: "
                                 f"{self.classes_.tolist()}.")
        idx = label_indices(y, self.classes_, first and classes is not None)
        Y = np.zeros((len(y), len(self.classes_)), dtype=self._dtype if not first
                     else check_dtype(self.dtype))
        Y[np.arange(len(y)), idx] = 1.0
        return Y

    def fit(self, X, y, sample_weight=None):
        """Fit the network to images ``X`` and labels ``y``.

        ``sample_weight`` (one weight >= 0 an image, or a number) weighs the
        images as the MLPs' do, scikit-learn's way: a minibatch's gradient is
        the weighted sum of its images' gradients plus ``alpha * W``, over the
        sum of its weights, so at batch size 1 a weight changes only the L2
        term's share; a batch of weight zero makes no step. Early stopping
        splits the weights with the images and scores the held-out part with
        its weights.
        """
        return self._fit_public(X, y, incremental=False, sample_weight=sample_weight)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over (X, y), continuing from the current weights.

        ``classes`` must be given on the first call and, given again, be the
        same (as scikit-learn); ``sample_weight`` as ``fit``'s. The parameters
        are checked on every call, and must still describe the fitted network.
        """
        first = "_params" not in self.__dict__   # (a refused first call leaves no network)
        check_partial_fit_classes(classes, None if first else self.classes_)
        return self._fit_public(X, y, incremental=True, classes=classes if first else None,
                                sample_weight=sample_weight)

    def _fit_public(self, X, y, incremental, classes=None, sample_weight=None):
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        if incremental:
            check_partial_fit_early_stopping(self.early_stopping, "the images")
        fitted = "_params" in self.__dict__
        warm = not incremental and fitted and check_bool(self.warm_start, "warm_start")
        first = not ((incremental or warm) and fitted)
        self._check_params()   # (partial_fit too: set_params may have changed them)
        if incremental and not first:
            self._check_same_network(self.image_shape_, len(self.classes_), "partial_fit",
                                     "set them back, or fit a new network with fit "
                                     "(warm_start=False)")
        X = self._images(X, check_dtype(self.dtype) if first else self._dtype, reset=first)
        y = np.asarray(y)
        check_consistent_length(X, y)
        sw = check_sample_weight(sample_weight, X.shape[0])
        if warm:
            got = unique_labels(y)
            if set(got.tolist()) != set(self.classes_.tolist()):
                raise ValueError(f"warm_start=True needs y to have the classes of the previous "
                                 f"fit, {self.classes_.tolist()}; got {got.tolist()}.")
        Y = self._encode(y, first, classes)
        if first:
            self._initialize(X.shape[1:], len(self.classes_), seeded_random_state(self.random_state))
        elif warm:
            self._warm_start(X.shape[1:], len(self.classes_))
        return self._fit(X, np.ascontiguousarray(Y, dtype=self._dtype), incremental,
                         1 if incremental else int(self.max_iter), sw)

    def _fit(self, X, Y, incremental, max_iter, sw=None):
        X_val = None
        sw_val = None
        if self.early_stopping and not incremental:
            X, X_val, Y, Y_val, *weights = validation_split(
                X, Y, self.validation_fraction, self._seed, Y.argmax(axis=1), "images",
                sample_weight=sw)
            if sw is not None:
                sw, sw_val = weights
            y_val = Y_val.argmax(axis=1)
        n_samples = X.shape[0]
        batch = max(1, min(int(self.batch_size), n_samples))
        n_batches = (n_samples + batch - 1) // batch
        # (as MLPClassifier's: the best loss and score and the epochs without improvement
        # carry on through partial_fit and warm starts; the loss's rule runs in the kernels)
        tol = -1.0 if (self.tol is None or X_val is not None) else float(self.tol)
        hp = np.array([self.learning_rate_init, self.momentum, 0.9, 0.999, 1e-8,
                       self.alpha + 0.0], dtype=np.float64)   # (as MLPClassifier's)
        dt = self._dtype
        # (writeable: a model unpickled from a read-only memmap holds read-only arrays)
        self._spec, self._layout = writeable(self._spec), writeable(self._layout)
        self._state = writeable(self._state)
        s = self._spec
        n_f, oh, ow = int(s[conv.SPEC_F]), int(s[conv.SPEC_OH]), int(s[conv.SPEC_OW])
        n_pooled = int(s[conv.SPEC_N_POOLED])
        order = np.empty(n_samples, dtype=np.int64)
        CONV = np.empty((0, n_f, oh, ow), dtype=dt)  # not used by the trainers (maps in their own scratch)
        # rows of the scratch arrays and the head's weight rows on cache lines (kernels.memory)
        doff = int(s[conv.SPEC_DENSE_OFF])
        self._params, self._vel, self._sq = (realigned(writeable(a), doff)
                                             for a in (self._params, self._vel, self._sq))
        POOL = aligned_zeros(batch * n_pooled, dt).reshape(batch, n_pooled)   # stride n_pooled
        ARG = np.empty((batch, n_pooled), dtype=np.int64)
        A = padded_rows(batch, self._n_units, dt)
        D = padded_rows(batch, self._n_units, dt)
        DP = aligned_zeros(batch * n_pooled, dt).reshape(batch, n_pooled)
        GW = np.empty(self.filters_.shape, dtype=dt)
        GB = np.empty(n_f, dtype=dt)
        G = aligned_zeros(self._params.shape[0], dt, doff)
        batch_loss = np.empty(batch, dtype=np.float64)
        # a call runs at most `chunk` epochs (the trainers carry their state from a
        # call to the next: the same bits as one call), so a large max_iter that
        # tol stops early does not ask for max_iter epochs' buffers up front
        chunk = max(1, min(max_iter, EPOCH_CHUNK, _STEP_CHUNK // n_batches))
        curve = np.empty(chunk, dtype=np.float64)
        steps = np.zeros((chunk, n_batches), dtype=np.float64)
        curves, step_rows = [], []
        solver = dense.ADAM if self.solver == "adam" else dense.SGD
        order_kind = SAMPLE_ORDERS[self.sample_order]
        self._state[dense.STATUS] = dense.RUNNING
        every = int(self.verbose) if not isinstance(self.verbose, (bool, np.bool_)) else 0
        bar = None
        per_call = chunk if self.learning_rate_decay == 0 and X_val is None else 1
        if self.verbose:
            bar = progress(total=max_iter, desc=type(self).__name__, unit="epoch", leave=True)
            per_call = 1
        done = 0
        train = conv.train_samples if batch == 1 else conv.train_epochs
        n_iter_no_change = min(int(self.n_iter_no_change), NO_CHANGE_CAP)
        while done < max_iter:
            n = min(per_call, max_iter - done)
            hp[dense.LR] = self.learning_rate_init / (
                1.0 + self.learning_rate_decay * (self._epochs - getattr(self, "_decay_from", 0)))
            ran = train(
                self._params, s, self._layout, X, Y, batch, order_kind, self._seed, self._epochs, n,
                solver, hp, tol, n_iter_no_change, self._vel, self._sq, self._state,
                order, CONV, POOL, ARG, A, D, DP, GW, GB, G, batch_loss, curve[:n],
                steps[:n], numba.get_num_threads(), _NO_WEIGHTS if sw is None else sw)
            if every > 1:
                for e in range(ran):
                    row = steps[e]
                    for k in range(0, n_batches - every + 1, every):
                        print(f"epoch {self._epochs + e + 1} step {k + every}: "
                              f"error {row[k:k + every].mean():.6f}")
            curves.append(curve[:ran].copy())
            step_rows.append(steps[:ran].ravel().copy())
            self._epochs += ran
            done += ran
            score = None
            if X_val is not None and self._state[dense.STATUS] == dense.RUNNING:
                score = _accuracy(y_val, self._proba(X_val).argmax(axis=1), sw_val)
                _record_validation_score(self, score)
            if bar is not None:
                bar.update(ran)
                bar.set_postfix(loss=f"{curve[ran - 1]:.6g}",
                                **({} if score is None else {"val_score": f"{score:.4f}"}))
            if (self._state[dense.STATUS] != dense.RUNNING
                    or self._state[dense.NO_IMPROVE] > self.n_iter_no_change):
                break
        if bar is not None:
            bar.close()
        curve = np.concatenate(curves) if curves else np.zeros(0)
        self.loss_curve_.extend(curve.tolist())
        self.step_losses_ = np.concatenate([self.step_losses_, *step_rows])
        self.n_iter_ += done
        self.t_ += done * n_samples
        if done:   # this call's epochs (the earlier ones are in best_loss_ already)
            self.best_loss_ = float(min(getattr(self, "best_loss_", np.inf), curve.min()))
            self.loss_ = float(curve[-1])
        if self._state[dense.STATUS] == dense.DIVERGED or not np.isfinite(self._params).all():
            raise ValueError(
                f"training diverged at epoch {len(self.loss_curve_)}: the parameters contain NaN "
                f"or inf; lower learning_rate_init ({self.learning_rate_init}) or scale X.")
        if X_val is not None and getattr(self, "_best_params", None) is not None:
            # the best epoch's parameters, of this fit or of an earlier one that
            # warm_start continues (as scikit-learn's)
            self._params[:] = self._best_params
        if (not incremental and self.tol is not None and self._state[dense.STATUS] == dense.RUNNING
                and X_val is None and done == max_iter):
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({max_iter}) reached and the "
                          "optimization hasn't converged yet.", ConvergenceWarning)
        return self

    # ------------------------------------------------------------ inference
    def _check_X_predict(self, X):
        check_is_fitted(self, "_params")
        return self._images(X, self._dtype, reset=False)

    def _scratch(self, n):
        s = self._spec
        n_pooled = int(s[conv.SPEC_N_POOLED])
        dt = self._dtype
        return (np.empty((n, int(s[conv.SPEC_F]), int(s[conv.SPEC_OH]), int(s[conv.SPEC_OW])), dt),
                np.empty((n, n_pooled), dt), np.empty((n, n_pooled), np.int64),
                np.empty((n, self._n_units), dt))

    def _proba(self, X):
        out = np.empty((X.shape[0], len(self.classes_)), dtype=self._dtype)
        # (writeable: a model unpickled from a read-only memmap holds read-only
        # arrays, a type of their own to Numba: the kernel compiled again, 30 s)
        params, spec, layout = writeable(self._params), writeable(self._spec), writeable(self._layout)
        for start in range(0, X.shape[0], _CHUNK):  # the kernel allocates its own scratch
            stop = min(start + _CHUNK, X.shape[0])
            conv.predict_proba(params, spec, layout, X[start:stop], out[start:stop])
        return out

    def _finite_proba(self, X):
        """``_proba`` of the checked images ``X``, refused when not finite: images
        on a scale that overflows the network's arithmetic (e.g. relu or identity
        activations and X * 1e308) give NaN or inf. Checked on the output only."""
        out = self._proba(X)
        if not np.isfinite(out).all():
            refuse_non_finite_output(X, out, self._params, "images")
        return out

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes)."""
        return self._finite_proba(self._check_X_predict(X))

    def predict_log_proba(self, X):
        return np.log(np.clip(self.predict_proba(X), 1e-300, None))

    def predict(self, X):
        """Class labels of the images ``X``."""
        proba = self._finite_proba(self._check_X_predict(X))
        return self.classes_[proba.argmax(axis=1)]

    def feature_maps(self, X):
        """The activated convolution maps and the pooled maps of the images ``X``.

        Returns
        -------
        conv_maps : ndarray of shape (n, n_filters, H - kh + 1, W - kw + 1)
        pooled_maps : ndarray of shape (n, n_filters, (H - kh + 1) // p, (W - kw + 1) // p)
        """
        X = self._check_X_predict(X)
        s = self._spec
        n = X.shape[0]
        p = int(s[conv.SPEC_POOL])
        maps = np.empty((n, int(s[conv.SPEC_F]), int(s[conv.SPEC_OH]), int(s[conv.SPEC_OW])),
                        self._dtype)
        conv.conv2d_valid(X, writeable(np.ascontiguousarray(self.filters_)),   # (see _proba)
                          writeable(np.ascontiguousarray(self.filter_biases_)), int(s[conv.SPEC_ACT]),
                          maps)
        pooled = np.empty((n, maps.shape[1], maps.shape[2] // p, maps.shape[3] // p), self._dtype)
        if not np.isfinite(maps).all():   # (the pooled maps are maxima of these)
            refuse_non_finite_output(X, maps, self._params, "images")
        pool.max_pool(maps, p, pooled, np.empty(pooled.shape, np.int64))
        return maps, pooled

    # ------------------------------------------------------------ gradient checks
    def _get_flat_params(self):
        check_is_fitted(self, "_params")
        return self._params.copy()

    def _set_flat_params(self, p):
        check_is_fitted(self, "_params")
        self._params[:] = p

    def _param_groups(self):
        """Slices of the flat parameters: the convolution, then each head layer."""
        s = self._spec
        d = int(s[conv.SPEC_DENSE_OFF])
        groups = [slice(0, d)]
        for n_in, n_out, w0, b0 in self._layout[:, :4]:
            groups.append(slice(d + int(w0), d + int(b0) + int(n_out)))
        return groups

    def _loss_and_gradient(self, X, y):
        """Full-batch loss (mean log-loss plus the L2 term) and its gradient
        with respect to the flat parameters, in float64."""
        check_is_fitted(self, "_params")
        X = self._images(X, np.float64, reset=False)
        check_consistent_length(X, np.asarray(y))
        saved = self._dtype
        self._dtype = np.float64
        try:
            Y = self._encode(y, first=False)
        finally:
            self._dtype = saved
        params = self._params.astype(np.float64)
        c, pooled, arg, a = (v[0] for v in self._scratch(1))
        c = c.astype(np.float64)
        pooled = pooled.astype(np.float64)
        a = a.astype(np.float64)
        d = np.empty_like(a)
        dp = np.empty_like(pooled)
        grad = np.empty_like(params)
        loss = conv.gradient(params, self._spec, self._layout, X, Y, float(self.alpha), c, pooled,
                             arg, a, d, dp, grad)
        return float(loss), grad

    # ------------------------------------------------------------ persistence
    def save(self, path):
        """Write the fitted model to an HDF5 file (see ``fastnn.load``)."""
        from ._io import save_model
        save_model(self, path)

    _saved_private = ("_params", "_vel", "_sq", "_state", "_spec", "_layout", "_n_units", "_seed",
                      "_epochs", "_decay_from", "_dtype", "_best_params")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags
