"""Bernoulli restricted Boltzmann machine: a compiled drop-in for scikit-learn's.

The same parameters, attributes and methods as
``sklearn.neural_network.BernoulliRBM`` (persistent contrastive divergence, the
same minibatches, the same initial weights for the same ``random_state``),
plus plain contrastive divergence (``method='cd'``), several Gibbs steps a
negative phase (``k``) and a choice of ``dtype``.
"""
import time

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._threads import threads_for, threads_kernel
from .._validation import (
    check_array, check_dtype, check_feature_names, check_float, check_int, check_option,
    check_random_state_param, check_sparse, check_unit_interval, check_verbose, is_sparse,
    writeable,
)
from ..kernels import rbm as kernels
from ..kernels import sparse

# Below this many multiply-adds a minibatch, the kernels' serial loops
# (threads=1) are faster than starting threads for every minibatch. Both
# give the same bits. Measured on 2 cores: the nudged digits (10 rows x 64 x
# 100 = 64k a minibatch) train 8% faster on the parallel kernel when nothing
# else runs, but 20% slower right after scikit-learn's LogisticRegression (the
# article's pipeline), whose BLAS threads keep spinning for a while and stall
# every parallel region; serial it stays.
_PARALLEL_WORK = 200_000

# A sparse X is densified a run of rows at a time, not whole: runs of about
# _RUN_BYTES of dense rows, and in training whole minibatches, at least
# _RUN_BATCHES of them (the kernel copies W at each call: 2 multiply-adds'
# worth a weight, against about 3 a weight a minibatch).
_RUN_BYTES = 16 * 2 ** 20
_RUN_BATCHES = 64


def _dense_runs(X, rows):
    """``(start, stop, rows start:stop of X as a dense array)``: ``X`` itself in
    one run if it is dense, else runs of ``rows`` rows of the CSR matrix (a
    checked one: ``check_sparse``), one after the other in one buffer, which
    the caller must not keep past its run."""
    if not is_sparse(X):
        yield 0, X.shape[0], X
        return
    n = X.shape[0]
    buffer = np.zeros((min(rows, n), X.shape[1]), dtype=X.dtype)
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        run = buffer[:stop - start]
        sparse.scatter_rows(X.indptr, X.indices, X.data, start, stop, run)
        yield start, stop, run
        sparse.clear_rows(X.indptr, X.indices, start, stop, run)


def _input_float_dtype(X):
    """float32 where scikit-learn's ``validate_data(X, dtype=(np.float64,
    np.float32))`` keeps X in float32, else float64: float32 arrays and sparse
    matrices, and DataFrames whose NumPy column dtypes promote to float32 (all
    float32, say; pandas' extension dtypes such as 'Float32' go to float64)."""
    dtype = getattr(X, "dtype", None)
    if not isinstance(dtype, np.dtype):   # a DataFrame has dtypes (a column may be named dtype)
        try:
            dtypes = list(getattr(X, "dtypes", None))
        except TypeError:
            dtypes = []
        dtype = (np.result_type(*dtypes) if dtypes and all(isinstance(d, np.dtype) for d in dtypes)
                 else None)
    return np.float32 if dtype == np.float32 else np.float64


class BernoulliRBM(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Bernoulli restricted Boltzmann machine (binary visible and hidden units).

    Trained by persistent contrastive divergence exactly as scikit-learn's
    ``BernoulliRBM`` (Tieleman 2008), or by plain contrastive divergence CD-k
    (Hinton 2002). Visible values are probabilities in [0, 1].

    Parameters
    ----------
    n_components : int, default=256
        Number of binary hidden units.
    learning_rate : float, default=0.1
        Learning rate; each update is divided by the minibatch size.
    batch_size : int, default=10
        Examples per minibatch (consecutive rows of ``X``, the last one shorter).
    n_iter : int, default=10
        Passes over the training set.
    verbose : bool or int, default=0
        Print the pseudo-likelihood after every pass when > 0.
    random_state : int, RandomState instance or None, default=None
        Draws the initial weights (the same numbers as scikit-learn's
        ``BernoulliRBM`` for the same seed), the seeds of the counter-based
        generator that samples the units, and the units flipped by
        ``score_samples``.
    method : {'pcd', 'cd'}, default='pcd'
        'pcd': the negative chains persist from minibatch to minibatch
        (``h_samples_``); 'cd': they start from each minibatch.
    k : int, default=1
        Gibbs steps in each negative phase.
    dtype : {'float32', 'float64'} or None, default=None
        dtype of the parameters and of the arithmetic's storage. None follows
        ``X`` as scikit-learn does: float32 stays float32, anything else is float64.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Weight matrix, Fortran-ordered (its transpose is C-contiguous).
    intercept_hidden_ : ndarray of shape (n_components,)
    intercept_visible_ : ndarray of shape (n_features,)
    h_samples_ : ndarray of shape (batch_size, n_components)
        The persistent hidden samples of the negative chains (PCD); zeros with
        ``method='cd'``, whose chains start from the data.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined only when ``X`` has string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn import BernoulliRBM
    >>> X = np.array([[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 1]])
    >>> BernoulliRBM(n_components=2, random_state=0).fit(X).transform(X).shape
    (4, 2)
    """

    def __init__(self, n_components=256, *, learning_rate=0.1, batch_size=10, n_iter=10,
                 verbose=0, random_state=None, method="pcd", k=1, dtype=None):
        self.n_components = n_components
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.verbose = verbose
        self.random_state = random_state
        self.method = method
        self.k = k
        self.dtype = dtype

    # ---------------------------------------------------------------- checks

    def _check_params(self):
        """Check the parameters; return ``(n_components, batch_size, n_iter, k)``
        as Python ints (a NumPy scalar, np.uint8 say, would overflow in the
        arithmetic on them)."""
        check_random_state_param(self.random_state)
        n_components = check_int(self.n_components, "n_components", low=1)
        check_float(self.learning_rate, "learning_rate", low=0.0, low_inclusive=False)
        batch_size = check_int(self.batch_size, "batch_size", low=1)
        n_iter = check_int(self.n_iter, "n_iter", low=0)
        check_verbose(self.verbose)
        check_option(self.method, "method", ("pcd", "cd"))
        k = check_int(self.k, "k", low=1)
        if self.dtype is not None:
            check_dtype(self.dtype)
        return n_components, batch_size, n_iter, k

    def _check_same_model(self, n_components):
        """``partial_fit`` continues the fitted model: ``n_components`` and
        ``dtype`` (changed with ``set_params`` since, say) must still describe it."""
        fitted = self.components_.shape[0]
        dtype = self.components_.dtype if self.dtype is None else np.dtype(check_dtype(self.dtype))
        if n_components != fitted or dtype != self.components_.dtype:
            raise ValueError(
                "partial_fit continues the fitted model, but n_components or dtype now describe "
                f"another one (fitted: n_components={fitted}, dtype {self.components_.dtype.name}; "
                f"now: n_components={n_components}, dtype {dtype.name}); set them back, or fit "
                "a new model with fit.")

    @property
    def _n_hidden(self):
        """The fitted model's number of hidden units (``n_components`` may have
        been changed with ``set_params`` since)."""
        return self.components_.shape[0]

    def _fit_dtype(self, X):
        if self.dtype is not None:
            return check_dtype(self.dtype)
        return _input_float_dtype(X)

    def _check_X(self, X, reset, dtype=None, runs=False):
        """X as a C-contiguous array in [0, 1] of the model's dtype; with
        ``runs``, a sparse X as a CSR matrix of that dtype, checked, for the
        caller to densify a run of rows at a time (``_dense_runs``)."""
        check_feature_names(self, X, reset=reset)
        if dtype is None:
            dtype = self.components_.dtype
        n_features = None if reset else self.n_features_in_
        if runs and is_sparse(X):
            X = check_sparse(X, "X", dtype, n_features, type(self).__name__, unit_interval=True)
        else:
            X = check_array(X, "X", dtype=dtype, n_features=n_features,
                            fitted_with=type(self).__name__, accept_sparse=True)
            X = self._check_values(X)
        if reset:
            self.n_features_in_ = X.shape[1]
        return X

    def _check_values(self, X):
        """The visible values must be probabilities."""
        return check_unit_interval(X, "X")

    @staticmethod
    def _run_rows(X, multiple=1, at_least=1):
        """Rows a run of ``_dense_runs``: about ``_RUN_BYTES`` of dense rows of
        ``X``, at least ``at_least``, a multiple of ``multiple``."""
        rows = max(at_least, _RUN_BYTES // (X.shape[1] * X.dtype.itemsize))
        return -(-rows // multiple) * multiple

    def _arrays(self):
        """``(W, intercept_visible_, intercept_hidden_)`` for the kernels: W =
        components_.T, C-contiguous of the model's dtype (a view after fit).
        A model unpickled from a read-only memmap holds read-only arrays: to
        Numba a type of their own (every kernel compiled again, 5-30 s) that
        training cannot write. Those are copied once and kept, as a
        non-contiguous ``components_`` is."""
        W = self.components_.T
        if not (W.flags.c_contiguous and W.flags.writeable):
            W = np.array(W, order="C")
            self.components_ = W.T
        self.intercept_visible_ = writeable(self.intercept_visible_)
        self.intercept_hidden_ = writeable(self.intercept_hidden_)
        return W, self.intercept_visible_, self.intercept_hidden_

    @staticmethod
    def _uniforms(uniforms, needed):
        if uniforms is None:
            return np.empty(0), False
        arr = check_array(uniforms, "uniforms", ndim=1)
        if arr.shape[0] != needed:
            raise ValueError(f"uniforms must hold {needed} numbers for this call; "
                             f"got {arr.shape[0]}.")
        check_unit_interval(arr, "uniforms")
        return arr, True

    def _seed(self, rng):
        return int(rng.randint(0, np.iinfo(np.int64).max, dtype=np.int64))

    @staticmethod
    def _threads(work):
        """numba's thread count where ``work`` pays for the threads, else 1:
        the ``threads`` argument of the kernels (the cached parallel twins),
        which run serially at 1; the serial twins are not cached, and a new
        process would compile them (7 s for the article's pipeline)."""
        return threads_for(work, _PARALLEL_WORK)

    @staticmethod
    def _kernel(name, work):
        """Kernel ``name``, the cached parallel twin, with its ``threads``
        argument set by whether ``work`` pays for the threads."""
        return threads_kernel(getattr(kernels, name), work, _PARALLEL_WORK)

    def _check_finite(self, where):
        for name in ("components_", "intercept_hidden_", "intercept_visible_"):
            value = getattr(self, name)
            if not np.isfinite(value).all():
                raise ValueError(
                    f"training diverged {where}: {name} contains non-finite values; "
                    f"lower learning_rate ({self.learning_rate}).")

    # ----------------------------------------------------------------- train

    def _uniforms_per_step(self, n_chains, k):
        return n_chains * k * (self.n_features_in_ + self._n_hidden)

    def fit(self, X, y=None, *, uniforms=None):
        """Fit the model to the data X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features), values in [0, 1]
        y : ignored
        uniforms : 1-D array of float64, optional
            Replay mode (a testing aid): the uniform random numbers that sample
            the units, in the order scikit-learn's ``BernoulliRBM`` draws them
            (see ``fastnn.kernels.rbm.train``), instead of the counter-based
            generator. With ``method='pcd'`` and ``k=1`` the weights then equal
            scikit-learn's fed the same numbers.

        Returns
        -------
        self
        """
        n_components, batch_size, n_iter, k = self._check_params()
        dtype = self._fit_dtype(X)
        X = self._check_X(X, reset=True, dtype=dtype, runs=True)
        n_samples, n_features = X.shape
        rng = check_random_state(self.random_state)
        self.components_ = np.asarray(
            rng.normal(0, 0.01, (n_components, n_features)), order="F", dtype=dtype)
        self._n_features_out = n_components
        self.intercept_hidden_ = np.zeros(n_components, dtype=dtype)
        self.intercept_visible_ = np.zeros(n_features, dtype=dtype)
        self.h_samples_ = np.zeros((batch_size, n_components), dtype=dtype)
        seed = self._seed(rng)

        n_batches = -(-n_samples // batch_size)
        batch_rows = min(batch_size, n_samples)
        if self.method == "pcd":
            per_epoch = n_batches * self._uniforms_per_step(batch_size, k)
        else:  # one chain a row of the minibatch
            per_epoch = self._uniforms_per_step(n_samples, k)
        replay, _ = self._uniforms(uniforms, n_iter * per_epoch)
        threads = self._threads(max(batch_rows, len(self.h_samples_)) * n_features * n_components)
        W, b, c = self._arrays()
        chain = self.h_samples_ if self.method == "pcd" else np.zeros((0, n_components), dtype)
        position = 0
        rows = self._run_rows(X, batch_size, _RUN_BATCHES * batch_size)
        begin = time.time()
        for epoch in range(n_iter):
            for start, _, run in _dense_runs(X, rows):   # (the same bits as one call)
                position = kernels.train(run, W, b, c, chain, float(self.learning_rate), batch_size, 1,
                                         k, self.method == "pcd", seed,
                                         epoch * n_batches + start // batch_size, replay,
                                         position, threads)
            self._check_finite(f"in pass {epoch + 1}")
            if self.verbose:
                end = time.time()
                print(f"[{type(self).__name__}] Iteration {epoch + 1}, pseudo-likelihood = "
                      f"{self.score_samples(X).mean():.2f}, time = {end - begin:.2f}s")
                begin = end
        return self

    def partial_fit(self, X, y=None, *, uniforms=None):
        """Fit the model to ``X`` as one minibatch (one PCD or CD-k update).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features), values in [0, 1]
        y : ignored
        uniforms : 1-D array of float64, optional
            Replay mode, as in ``fit``.

        Returns
        -------
        self
        """
        n_components, batch_size, _, k = self._check_params()
        first = not hasattr(self, "components_")
        if first:  # scikit-learn's partial_fit always works in float64
            dtype = np.float64 if self.dtype is None else check_dtype(self.dtype)
        else:
            self._check_same_model(n_components)
            dtype = self.components_.dtype
        X = self._check_X(X, reset=first, dtype=dtype)
        if not hasattr(self, "random_state_"):
            self.random_state_ = check_random_state(self.random_state)
        if first:
            self.components_ = np.asarray(
                self.random_state_.normal(0, 0.01, (n_components, X.shape[1])),
                order="F", dtype=dtype)
            self._n_features_out = n_components
            self.intercept_hidden_ = np.zeros(n_components, dtype=dtype)
            self.intercept_visible_ = np.zeros(X.shape[1], dtype=dtype)
            self.h_samples_ = np.zeros((batch_size, n_components), dtype=dtype)
        seed = self._seed(self.random_state_)
        n_samples = X.shape[0]
        persistent = self.method == "pcd"
        if persistent:
            self.h_samples_ = writeable(self.h_samples_)   # (see _arrays)
        chain = self.h_samples_ if persistent else np.zeros((0, n_components), dtype)
        n_chains = chain.shape[0] if persistent else n_samples
        replay, _ = self._uniforms(uniforms, self._uniforms_per_step(n_chains, k))
        threads = self._threads(max(n_samples, n_chains) * X.shape[1] * n_components)
        kernels.train(X, *self._arrays(), chain, float(self.learning_rate), n_samples, 1, k,
                      persistent, seed, 0, replay, 0, threads)
        self._check_finite("in partial_fit")
        return self

    # ------------------------------------------------------------ inference

    def transform(self, X):
        """Hidden activation probabilities P(h=1|v=X), shape (n_samples, n_components).

        The dtype is scikit-learn's: float32 when both the model and ``X`` are
        float32, else float64. The arithmetic is in the model's dtype (``X``
        converted to it), so a float32 model gives float32 values of a
        float64 ``X``, returned as float64.
        """
        check_is_fitted(self)
        out_dtype = np.result_type(self.components_.dtype, _input_float_dtype(X))
        X = self._check_X(X, reset=False, runs=True)
        out = np.empty((X.shape[0], self._n_hidden), dtype=X.dtype)
        W, _, c = self._arrays()
        for start, stop, run in _dense_runs(X, self._run_rows(X)):
            self._kernel("hidden_probabilities", run.size * self._n_hidden)(
                run, W, c, out[start:stop])
        return out.astype(out_dtype, copy=False)

    def gibbs(self, v):
        """One Gibbs sampling step from ``v``: h ~ P(h|v), then v' ~ P(v|h).

        Parameters
        ----------
        v : {array-like, sparse matrix} of shape (n_samples, n_features), or
            (n_features,) for one sample; a sparse ``v`` is densified a run
            of rows at a time (the same draws as dense)

        Returns
        -------
        v_new : ndarray of bool, shape (n_samples, n_features), or (n_features,)
            for a 1-D ``v`` (as scikit-learn's)
        """
        check_is_fitted(self)
        if not is_sparse(v) and np.ndim(v) == 1:
            return self.gibbs(np.reshape(v, (1, -1)))[0]
        v = self._check_X(v, reset=False, runs=True)
        if not hasattr(self, "random_state_"):
            self.random_state_ = check_random_state(self.random_state)
        seed = self._seed(self.random_state_)
        out = np.empty(v.shape, dtype=bool)
        rows = min(self._run_rows(v), v.shape[0]) if is_sparse(v) else v.shape[0]
        h = np.empty((rows, self._n_hidden), dtype=v.dtype)
        new = np.empty((rows, v.shape[1]), dtype=v.dtype)
        arrays = self._arrays()
        for start, stop, run in _dense_runs(v, rows):
            n = stop - start
            self._kernel("gibbs", run.size * self._n_hidden)(
                run, *arrays, seed, 0,
                start, np.empty(0), h[:n], new[:n])
            out[start:stop] = new[:n]
        return out

    def free_energy(self, X):
        """F(v) = -v . b - sum_j log(1 + exp(c_j + v . W[:, j])), shape (n_samples,)."""
        check_is_fitted(self)
        X = self._check_X(X, reset=False, runs=True)
        out = np.empty(X.shape[0])
        arrays = self._arrays()
        for start, stop, run in _dense_runs(X, self._run_rows(X)):
            self._kernel("free_energy", run.size * self._n_hidden)(run, *arrays, out[start:stop])
        return out

    def score_samples(self, X):
        """Pseudo-likelihood of each sample, as scikit-learn computes it.

        One unit a sample, drawn by a fresh ``check_random_state(random_state)``
        (the same units as scikit-learn for the same ``random_state``), is
        flipped; the score is ``n_features * log(sigmoid(F(v') - F(v)))``.
        Not deterministic when ``random_state`` is None.
        """
        check_is_fitted(self)
        X = self._check_X(X, reset=False, runs=True)
        rng = check_random_state(self.random_state)
        flip = np.ascontiguousarray(rng.randint(0, X.shape[1], X.shape[0]), dtype=np.int64)
        out = np.empty(X.shape[0])
        arrays = self._arrays()
        for start, stop, run in _dense_runs(X, self._run_rows(X)):
            self._kernel("pseudo_likelihood", run.size * self._n_hidden)(
                run, *arrays, flip[start:stop], out[start:stop])
        return out

    # ------------------------------------------------------------------ misc

    def save(self, path):
        """Write the fitted model to an HDF5 file (see ``fastnn.load``)."""
        from ._io import save_model
        save_model(self, path)

    _saved_private = ("_n_features_out",)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.positive_only = True   # X in [0, 1]
        tags.input_tags.sparse = True   # densified a run of rows at a time (_dense_runs)
        try:
            dt = None if self.dtype is None else np.dtype(check_dtype(self.dtype)).name
        except (TypeError, ValueError):
            dt = None
        tags.transformer_tags.preserves_dtype = ["float64", "float32"] if dt is None else [dt]
        return tags
