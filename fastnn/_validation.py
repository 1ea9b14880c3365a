"""Input and parameter checks: the one place error messages are written.

Every message has the form *argument, what it must be, what it got*, e.g.
``learning_rate_init must be a float > 0; got -0.1.`` ``ValueError`` for a bad
value, ``TypeError`` for a bad type.
"""
import math
import numbers
import threading

import numpy as np

FLOAT_DTYPES = {"float32": np.float32, "float64": np.float64}


def _describe(value):
    if isinstance(value, str):
        return f"str {value!r}"
    return f"{type(value).__name__} {value!r}"


def check_int(value, name, low=None, high=None):
    """An int (not bool) in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int; got {_describe(value)}.")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be an int {_range_text(low, high, True, True)}; got {value}.")
    return value


def _range_text(low, high, low_inclusive, high_inclusive):
    lo = ">=" if low_inclusive else ">"
    hi = "<=" if high_inclusive else "<"
    if low is not None and high is not None:
        return f"in {'[' if low_inclusive else '('}{low}, {high}{']' if high_inclusive else ')'}"
    if low is not None:
        return f"{lo} {low}"
    if high is not None:
        return f"{hi} {high}"
    return ""


def check_float(value, name, low=None, high=None, low_inclusive=True, high_inclusive=True):
    """A finite real number in the given range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a float; got {_describe(value)}.")
    value = float(value)
    bad = not math.isfinite(value)
    if low is not None:
        bad |= value < low if low_inclusive else value <= low
    if high is not None:
        bad |= value > high if high_inclusive else value >= high
    if bad:
        rng = _range_text(low, high, low_inclusive, high_inclusive)
        raise ValueError(f"{name} must be a finite float {rng}; got {value!r}.".replace("float ;", "float;"))
    return value


_SEEDED = threading.local()


def seeded_random_state(random_state):
    """``sklearn.utils.check_random_state(random_state)`` for draws made at once
    and not kept: the same RandomState values, and an int costs 1.5 us instead of
    90. ``RandomState(seed)`` first builds its MT19937 from the system's entropy
    (a SeedSequence hashed into 624 words) and only then seeds it the legacy
    way, which is more than a small fit's training (32 rows: 250 us). Here an
    int reseeds one RandomState kept per thread (``RandomState.seed``: the same
    legacy seeding and a cleared Gaussian cache), so the caller must be done
    with it before it asks again in the same thread. None and RandomState
    instances are check_random_state's.
    """
    if isinstance(random_state, numbers.Integral):
        rs = getattr(_SEEDED, "rs", None)
        if rs is None:
            rs = _SEEDED.rs = np.random.RandomState(0)
        rs.seed(random_state)
        return rs
    from sklearn.utils import check_random_state
    return check_random_state(random_state)


def check_verbose(value, name="verbose"):
    """A bool or an int >= 0, as scikit-learn's ``verbose``."""
    if not isinstance(value, (bool, np.bool_)):
        check_int(value, name, low=0)
    return value


def check_random_state_param(value, name="random_state"):
    """None, an int in [0, 2**32 - 1] or a numpy ``RandomState``: what
    scikit-learn's ``check_random_state`` takes, refused here with the name
    of the parameter (NumPy's own errors name neither it nor what it takes)."""
    expected = f"{name} must be None, an int in [0, 4294967295] or a numpy.random.RandomState"
    if value is None or isinstance(value, np.random.RandomState):
        return value
    if not isinstance(value, numbers.Integral):
        raise TypeError(f"{expected}; got {_describe(value)}.")
    if not 0 <= value <= 2 ** 32 - 1:
        raise ValueError(f"{expected}; got {value!r}.")
    return value


def check_option(value, name, options):
    """One of a fixed set of strings."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {sorted(options)}; got {_describe(value)}.")
    if value not in options:
        raise ValueError(f"{name} must be one of {sorted(options)}; got {value!r}.")
    return value


def check_bool(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool; got {_describe(value)}.")
    return bool(value)


def check_partial_fit_early_stopping(early_stopping, samples="the data"):
    """partial_fit refuses ``early_stopping=True``, as scikit-learn's MLPs do: it
    trains one epoch on ``samples`` it is given, with no held-out set."""
    if check_bool(early_stopping, "early_stopping"):
        raise ValueError(f"partial_fit does not support early_stopping=True (it trains one epoch "
                         f"on {samples} it is given, with no held-out set); got "
                         "early_stopping=True. Set early_stopping=False.")


def check_partial_fit_classes(classes, fitted):
    """``partial_fit``'s ``classes``: required on the first call (``fitted`` None),
    and, given again, the classes the network was fitted with (as scikit-learn)."""
    if fitted is None:
        if classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit; got None.")
        return
    if classes is not None:
        from sklearn.utils.multiclass import unique_labels
        given = unique_labels(classes)
        if not np.array_equal(given, fitted):
            raise ValueError(f"classes must be the classes the network was fitted with, "
                             f"{fitted.tolist()} (partial_fit cannot change them); "
                             f"got {given.tolist()}.")


def check_dtype(value, name="dtype"):
    """float32 or float64, given as a name, a NumPy type or a dtype."""
    try:
        dt = np.dtype(value)
    except TypeError:
        raise TypeError(f"{name} must be 'float32' or 'float64'; got {_describe(value)}.") from None
    if dt not in (np.float32, np.float64):
        raise ValueError(f"{name} must be 'float32' or 'float64'; got {dt.name!r}.")
    return dt.type


def check_array(X, name, dtype=np.float64, ndim=2, min_samples=1, n_features=None, fitted_with=None,
                accept_sparse=False):
    """A finite numeric array, converted to a writeable C-contiguous array of
    ``dtype`` (copied where it was read-only: see ``writeable``).

    A SciPy sparse matrix or array (any format) is refused with a TypeError,
    or, with ``accept_sparse``, densified: the kernels work on dense rows and
    skip the zero inputs in them, so the cost of sparse input is mostly the
    dense copy's memory. A copy too big for memory is a MemoryError that
    names its size.

    Raises TypeError for object, string, boolean-like-of-strings or complex
    data, and ValueError for wrong dimensions, too few rows, NaN or inf, and
    a feature count that differs from ``n_features``.
    """
    if is_sparse(X):
        if not accept_sparse:
            refuse_sparse(X, name)
        X = _densified(X, name)
    arr = _numeric(np.asarray(X), name)
    _check_shape(arr.shape, name, ndim, min_samples)
    with np.errstate(over="ignore"):   # (an overflow is the ValueError below)
        out = np.ascontiguousarray(arr, dtype=dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        # a finite sum: all finite, checked without a temporary as big as X (where
        # the sum overflows or a value is not finite, each value is checked)
        finite = bool(np.isfinite(out.sum())) or bool(np.isfinite(out).all())
    if not finite:
        bad = tuple(np.argwhere(~np.isfinite(out))[0])
        _not_finite(name, dtype, arr[bad], out[bad], _where(bad))
    if ndim == 2:
        _check_n_features(out.shape[1], name, n_features, fitted_with)
    return writeable(out)


def _numeric(arr, name):
    """``arr`` if it holds real numbers (an object array converted to float64)."""
    if arr.dtype.kind in "OSUVMm":
        kind = {"O": "object", "S": "bytes", "U": "string", "V": "structured",
                "M": "datetime", "m": "timedelta"}[arr.dtype.kind]
        if arr.dtype.kind == "O":
            try:
                arr = arr.astype(np.float64)
            except (TypeError, ValueError) as err:
                raise TypeError(f"{name} must hold numbers; got an array of dtype {kind} ({err}).") from None
        else:
            raise TypeError(f"{name} must hold numbers; got an array of dtype {kind} ({arr.dtype}).")
    if arr.dtype.kind == "c":
        raise ValueError(f"{name} must hold real numbers; got complex dtype {arr.dtype} "
                         "(Complex data not supported).")
    return arr


def _check_shape(shape, name, ndim, min_samples):
    if len(shape) != ndim:
        if ndim == 2 and len(shape) == 1:
            raise ValueError(f"{name} must be 2-dimensional (n_samples, n_features); got a 1-D array "
                             f"of shape {shape}. Reshape your data with {name}.reshape(-1, 1) for one "
                             f"feature or {name}.reshape(1, -1) for one sample.")
        raise ValueError(f"{name} must be {ndim}-dimensional; got {len(shape)} dimensions, shape {shape}.")
    if shape[0] < min_samples:
        raise ValueError(f"{name} must have at least {min_samples} sample{'s' if min_samples > 1 else ''}; "
                         f"got {shape[0]} (shape {shape}).")
    if ndim == 2 and shape[1] < 1:
        raise ValueError(f"{name} has 0 feature(s) (shape={shape}) while a minimum of 1 is required.")


def _not_finite(name, dtype, given, cast, where):
    """The ValueError for a value that is not finite once cast to ``dtype``:
    ``given`` as it came, ``cast`` after the cast, at index text ``where``."""
    if np.isfinite(given):
        raise ValueError(f"{name} overflows {np.dtype(dtype).name}: {float(given)!r} at [{where}].")
    raise ValueError(f"{name} must be finite (no NaN or inf); got {float(cast)!r} at [{where}].")


def _check_n_features(count, name, n_features, fitted_with):
    if n_features is not None and count != n_features:
        who = fitted_with or "the model"
        raise ValueError(f"{name} has {count} features, but {who} is expecting "
                         f"{n_features} features as input.")


def is_sparse(X):
    """Whether ``X`` is a SciPy sparse matrix or array (or another sparse
    container with ``toarray``)."""
    return hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse")


def refuse_sparse(X, name):
    """The TypeError for a sparse ``X`` where only a dense array will do."""
    if is_sparse(X):
        raise TypeError(f"{name} must be a dense array; got a sparse {type(X).__name__}. "
                        f"Convert it with {name}.toarray().")


def _densified(X, name):
    """A sparse ``X`` as a dense array (of its own dtype: ``check_array``
    casts it, and names a value that overflows the cast)."""
    try:
        return X.toarray()
    except MemoryError:
        size = np.prod(X.shape, dtype=np.float64) * np.dtype(X.dtype).itemsize
        raise MemoryError(f"{name} is a sparse {type(X).__name__} of shape {X.shape}; the model works "
                          f"on its dense copy, {size / 2 ** 30:.3g} GiB, which does not fit in "
                          "memory.") from None


def check_sparse(X, name, dtype, n_features=None, fitted_with=None, unit_interval=False):
    """A SciPy sparse ``X`` (any format) as a CSR matrix of ``dtype`` in
    canonical form (sorted indices, duplicates summed), for a model that
    densifies a run of rows at a time (``kernels.sparse.scatter_rows``, which
    needs no duplicates) instead of all of ``X``. Its stored values are
    checked as ``check_array`` checks a dense array's, and named by the same
    [row, column]: numbers, finite once cast, in [0, 1] with
    ``unit_interval``. ``X`` itself is not modified."""
    _check_shape(X.shape, name, 2, 1)
    _numeric(np.empty(0, dtype=X.dtype), name)
    csr = X.tocsr()
    if not csr.has_canonical_format:   # (duplicates sum, and may leave [0, 1])
        csr = csr.copy() if csr is X else csr
        csr.sum_duplicates()
    data = csr.data
    with np.errstate(over="ignore"):
        cast = data.astype(dtype, copy=False)
    if data.size:
        with np.errstate(over="ignore", invalid="ignore"):
            finite = bool(np.isfinite(cast.sum())) or bool(np.isfinite(cast).all())
        if not finite:
            k = int(np.flatnonzero(~np.isfinite(cast))[0])
            _not_finite(name, dtype, data[k], cast[k], _sparse_where(csr, k))
        if unit_interval and not (cast.min() >= 0 and cast.max() <= 1):
            k = int(np.flatnonzero((cast < 0) | (cast > 1))[0])
            _outside_unit_interval(name, cast[k], _sparse_where(csr, k))
    _check_n_features(csr.shape[1], name, n_features, fitted_with)
    if cast is not data:
        csr = type(csr)((cast, csr.indices, csr.indptr), shape=csr.shape)
    return csr


def _sparse_where(csr, k):
    """The [row, column] text of stored value ``k`` of a CSR matrix."""
    return _where((np.searchsorted(csr.indptr, k, side="right") - 1, csr.indices[k]))


def check_feature_names(estimator, X, reset):
    """Record (``reset``) or compare the column names of a DataFrame ``X``,
    as scikit-learn estimators do (warns on a mismatch).

    A NumPy array has no names: unless the estimator was fitted with some
    (the warning case), the answer is known without scikit-learn's check,
    which asks the installed dataframe libraries about ``X`` (about 50 us a
    call, as much as a small minibatch's epoch)."""
    if type(X) is np.ndarray:
        if reset:
            estimator.__dict__.pop("feature_names_in_", None)
            return
        if getattr(estimator, "feature_names_in_", None) is None:
            return
    try:
        from sklearn.utils.validation import _check_feature_names
    except ImportError:  # older scikit-learn kept it as a method
        estimator._check_feature_names(X, reset=reset)
    else:
        _check_feature_names(estimator, X, reset=reset)


def label_kind(y):
    """``type_of_target(y)`` (scikit-learn), answered here for a 1-D array of
    numbers or strings, the common case, in microseconds instead of the
    fraction of a millisecond its checks take; anything else is asked of it."""
    kind = y.dtype.kind
    if (y.ndim != 1 or y.size == 0 or kind not in "biufUS"
            or (kind == "f" and not np.isfinite(y).all())):
        from sklearn.utils.multiclass import type_of_target
        return type_of_target(y)
    if kind == "f":
        with np.errstate(invalid="ignore"):   # as type_of_target: floats that
            whole = y == y.astype(np.int64)    # are not int64s (1e20 too)
        if not whole.all():
            return "continuous"
    return "binary" if len(np.unique(y)) <= 2 else "multiclass"


def label_indices(y, classes, first):
    """Each label of the 1-D ``y`` as its index in the sorted ``classes``;
    a ValueError naming the labels that are not there (``first``: the call that
    fixed ``classes``, for the message)."""
    try:
        at = np.searchsorted(classes, y)
        known = at < len(classes)
        known[known] = classes[at[known]] == y[known]
    except TypeError:   # labels that do not compare with classes (str against int)
        seen = set(classes.tolist())
        known = np.array([v in seen for v in y.tolist()], dtype=bool)
    if not known.all():
        unknown = set(y[~known].tolist())
        try:
            unknown = sorted(unknown)
        except TypeError:   # of several types
            unknown = sorted(unknown, key=repr)
        if first:
            raise ValueError(f"y holds labels not in classes: {unknown}; expected labels in "
                             f"{classes.tolist()}.")
        raise ValueError(f"y holds labels not seen in the first call: {unknown}; expected a "
                         f"subset of {classes.tolist()}.")
    return at


def check_consistent_length(X, y, names=("X", "y")):
    n_x, n_y = (_n_samples(a, name) for a, name in zip((X, y), names))
    if n_x != n_y:
        raise ValueError(f"{names[0]} and {names[1]} must have the same number of samples; "
                         f"got {n_x} and {n_y}.")


def _n_samples(a, name):
    """The rows of ``a``; a ValueError naming ``name`` for a scalar (``len()`` of
    one is a TypeError that names nothing)."""
    if is_sparse(a):
        return a.shape[0]
    if np.ndim(a) == 0:
        value = a.item() if isinstance(a, np.ndarray) else a
        raise ValueError(f"{name} must be an array with one entry a sample; got a scalar, "
                         f"{_describe(value)}.")
    return len(a)


def column_to_1d(y, stacklevel):
    """A column vector ``y`` (n, 1) as 1-D, with scikit-learn's
    DataConversionWarning; ``stacklevel`` counts this function's frame (the
    caller's own stacklevel plus one)."""
    import warnings

    from sklearn.exceptions import DataConversionWarning
    warnings.warn("A column-vector y was passed when a 1d array was expected. Please change "
                  "the shape of y to (n_samples,), for example using ravel().",
                  DataConversionWarning, stacklevel=stacklevel)
    return y.ravel()


def refuse_non_finite_output(X, out, params, what="rows"):
    """The ValueError for outputs ``out`` (one row a sample of ``X``) that are
    not finite: the network's parameters are (an earlier training call
    diverged), or ``X``'s scale overflows the arithmetic (relu or identity
    units and X * 1e308, say)."""
    if not np.isfinite(params).all():
        raise ValueError(
            "the network's parameters contain NaN or inf (an earlier training call diverged); "
            "fit it again, with a lower learning_rate_init or X scaled.")
    row = int(np.argwhere(~np.isfinite(out.reshape(len(out), -1)))[0, 0])
    one = what[:-1]
    raise ValueError(
        f"X must be on a scale the network can compute in {X.dtype.name}; got {what} whose "
        f"outputs are NaN or inf (the first: {one} {row}, max |X[{row}]| = "
        f"{float(np.abs(X[row]).max()):.3g}): the input's scale overflows. Scale X as the "
        f"training data.")


def writeable(a):
    """``a``, or a copy of it where it is read-only. The models hand the kernels
    their data through this: to Numba a read-only array (a memory-mapped file
    opened for reading, say) is a type of its own, and one read-only input
    compiled a second set of kernels (46 s for an MLP's first fit on one).
    (Read-only views of every input would give one path without copies, but a
    path the kernels' speed was never measured on; paired runs could not tell.)"""
    return a if a.flags.writeable else a.copy()


def check_sample_weight(sample_weight, n_samples):
    """``fit``'s ``sample_weight``: None, a number for every sample, or one
    finite weight >= 0 a sample, not all zero; float64, C-contiguous (None
    stays None)."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Number) and not isinstance(sample_weight, bool):
        sample_weight = np.full(n_samples, sample_weight, dtype=np.float64)
    sw = check_array(sample_weight, "sample_weight", ndim=1, min_samples=0)
    if sw.shape[0] != n_samples:
        raise ValueError(f"sample_weight must have one weight a sample ({n_samples}); "
                         f"got {sw.shape[0]}.")
    if (sw < 0).any():
        at = int(np.argmax(sw < 0))
        raise ValueError(f"sample_weight must be >= 0; got {float(sw[at])!r} at [{at}].")
    if n_samples and not sw.any():
        raise ValueError("sample_weight must not be all zero: no sample would count; "
                         f"got {n_samples} zeros.")
    return sw


def check_unit_interval(X, name):
    """Every value of the (already finite) array ``X`` in [0, 1], e.g. the
    probabilities of binary units; returns ``X``."""
    if X.size == 0 or (X.min() >= 0 and X.max() <= 1):   # (no temporaries as big as X)
        return X
    bad = (X < 0) | (X > 1)
    if bad.any():
        where = tuple(np.argwhere(bad)[0])
        _outside_unit_interval(name, X[where], _where(where))
    return X


def _outside_unit_interval(name, value, where):
    raise ValueError(f"{name} must hold values in [0, 1]; got {value.item()!r} at [{where}]. "
                     f"Scale it first, e.g. with sklearn.preprocessing.minmax_scale.")


def _where(index):
    return ", ".join(str(int(i)) for i in index)


def check_binary_states(X, name, alphabet=None, n_units=None):
    """Rows of two-valued states, {-1, +1} or {0, 1}, as int8 in {-1, +1}.

    ``alphabet`` None infers it from ``X`` (all values in {-1, 1}: bipolar;
    in {0, 1}: binary; a set of ones only counts as bipolar); otherwise the
    values must be ``alphabet`` (a pair, e.g. the alphabet a Hopfield network
    was fitted with) and ``n_units`` the row length. Returns
    ``(states, alphabet)``: a new C-contiguous int8 array and the pair.
    """
    arr = check_array(X, name, dtype=np.float64)
    if n_units is not None and arr.shape[1] != n_units:
        raise ValueError(f"{name} has {arr.shape[1]} units per row, but the network was fitted "
                         f"with {n_units}.")
    original = np.asarray(X)

    def shown(index):
        value = original[tuple(index)]
        return value.item() if hasattr(value, "item") else value

    if alphabet is None:
        bipolar = (arr == -1) | (arr == 1)
        if bipolar.all():
            alphabet = (-1, 1)
        elif ((arr == 0) | (arr == 1)).all():
            alphabet = (0, 1)
        else:
            other = ~(bipolar | (arr == 0))
            if other.any():
                at = np.argwhere(other)[0]
                got = f"{shown(at)!r} at [{_where(at)}]"
            else:
                minus, zero = np.argwhere(arr == -1)[0], np.argwhere(arr == 0)[0]
                got = f"both -1 (at [{_where(minus)}]) and 0 (at [{_where(zero)}])"
            raise ValueError(f"{name} must hold only -1 and +1, or only 0 and 1; got {got}.")
    else:
        alphabet = (int(alphabet[0]), int(alphabet[1]))
        bad = (arr != alphabet[0]) & (arr != alphabet[1])
        if bad.any():
            at = np.argwhere(bad)[0]
            words = "-1 and +1" if alphabet == (-1, 1) else "0 and 1"
            raise ValueError(f"{name} must hold only {words}, the values of the patterns the "
                             f"network was fitted with; got {shown(at)!r} at [{_where(at)}].")
    if alphabet == (0, 1):
        states = (2 * arr - 1).astype(np.int8)
    else:
        states = arr.astype(np.int8)
    return np.ascontiguousarray(states), alphabet


def check_hopfield_weights(W, name="weights"):
    """A finite, symmetric square matrix with a non-negative diagonal, as a
    new C-contiguous float64 array (the weights of a Hopfield network: with
    them, asynchronous updates at temperature 0 never raise the energy)."""
    arr = check_array(W, name, dtype=np.float64)
    if arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{name} must be a square matrix of shape (n_units, n_units); "
                         f"got shape {arr.shape}.")
    asym = arr != arr.T
    if asym.any():
        i, j = np.argwhere(asym)[0]
        raise ValueError(f"{name} must be symmetric; got {name}[{i}, {j}] = {float(arr[i, j])!r} but "
                         f"{name}[{j}, {i}] = {float(arr[j, i])!r}. Symmetrise it with "
                         f"({name} + {name}.T) / 2.")
    diag = np.diagonal(arr)
    if (diag < 0).any():
        i = int(np.argmax(diag < 0))
        raise ValueError(f"{name} must have a non-negative diagonal; got {float(diag[i])!r} at "
                         f"[{i}, {i}].")
    check_hopfield_scale(arr, name, np.float64)
    return np.array(arr, dtype=np.float64, order="C", copy=True)


def check_hopfield_scale(W, name, dtype):
    """The weights ``W`` (finite float64) must be stored in ``dtype`` and keep
    every local field and the energy finite there: their sum of magnitudes,
    which bounds both for states in {-1, 1} or {0, 1}, must be finite in
    ``dtype`` (1e300 became inf in float32, and 1e308 gave energies of -inf)."""
    with np.errstate(over="ignore"):
        total = float(np.abs(W).sum())
    limit = float(np.finfo(dtype).max)
    if not total <= limit:
        raise ValueError(
            f"{name} must be on a scale whose local fields and energy are finite in "
            f"{np.dtype(dtype).name}: the sum of |{name}| must be at most {limit:.4g}; got "
            f"{total:.4g}. Scale {name} down (a Hopfield network's recall does not depend "
            "on its scale).")


def validation_split(X, Y, fraction, seed, stratify=None, what="samples", sample_weight=None,
                     min_validation=1):
    """``early_stopping``'s held-out set: ``(X, X_val, Y, Y_val)``, C-contiguous,
    from scikit-learn's ``train_test_split`` (stratified by ``stratify`` where
    given; ``seed`` an int or a RandomState, drawn from), with its errors (a
    class with one member, a set too small to split) told in terms of the
    parameters. With ``sample_weight``, its two parts follow:
    ``(X, X_val, Y, Y_val, sw, sw_val)``, the same split; a part of weight
    zero is an error (training: nothing would count; held out: its weighted
    score divides by zero). A held-out part of fewer than ``min_validation``
    rows is an error too (the MLPs ask for 2, as scikit-learn's: R^2 is not
    defined on one sample)."""
    from sklearn.model_selection import train_test_split

    arrays = (X, Y) if sample_weight is None else (X, Y, sample_weight)
    if isinstance(seed, numbers.Integral):
        seed = seed % (2**32)
    try:
        parts = train_test_split(*arrays, random_state=seed, test_size=fraction,
                                 stratify=stratify)
    except ValueError as err:
        how = ", stratified by class," if stratify is not None else ""
        raise ValueError(f"early_stopping holds out validation_fraction={fraction} of the "
                         f"{len(X)} {what}{how} and that cannot be done here: {err}") from None
    n_val = len(parts[1])
    if n_val < min_validation:
        raise ValueError(f"The validation set is too small: validation_fraction={fraction} "
                         f"holds out {n_val} of the {len(X)} {what} for early_stopping, and a "
                         f"score needs at least {min_validation}; increase validation_fraction "
                         f"or the number of {what}.")
    if sample_weight is not None and not parts[4].any():
        raise ValueError(f"sample_weight is zero on every {what[:-1]} of the training part that "
                         "early_stopping leaves; nothing would count.")
    if sample_weight is not None and not parts[5].any():
        raise ValueError(f"sample_weight must be > 0 on at least one of the {n_val} {what} that "
                         f"early_stopping holds out (validation_fraction={fraction}) to score "
                         "them; got zero on every one. Give held-out "
                         f"{what} weight, or change random_state or validation_fraction.")
    return tuple(np.ascontiguousarray(a) for a in parts)
