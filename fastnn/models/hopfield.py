"""Binary Hopfield network: three storage rules, asynchronous or synchronous
recall at any temperature, many probes at once."""
import functools
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .._threads import threads_kernel
from .._validation import (
    check_binary_states, check_bool, check_float, check_hopfield_scale, check_hopfield_weights,
    check_int, check_option, writeable,
)
from ..kernels import hopfield as kernels

__all__ = ["HopfieldNetwork", "RecallResult"]

RULES = ("hebbian", "storkey", "pseudoinverse")
UPDATES = ("async", "sync")
ORDERS = ("random", "permutation", "sequential")
WEIGHT_DTYPES = ("auto", "float32", "float64")

# Below this many multiply-adds (probes x units**2) the kernels' serial loops
# (threads=1) beat starting threads. Both give the same bits.
_PARALLEL_WORK = 1 << 18

# recall keeps every probe's energy after every sweep: (n_probes, sweeps + 1)
# float64. It is allocated for the sweeps run, not for max_sweeps: a first
# run is allowed _ENERGY_VALUES values (8 MiB), or 2 a unit a probe (about
# what the fields and the scratch take already), whichever is more; a probe
# that runs past that restarts the recall with _SWEEPS_GROWTH times the
# sweeps (see HopfieldNetwork.recall).
_ENERGY_VALUES = 1 << 20
_SWEEPS_GROWTH = 8


def _first_sweeps(n_probes, n_units, max_sweeps):
    """The sweeps recall's first run allows (``max_sweeps`` when its energies are small)."""
    return min(max_sweeps, max(_ENERGY_VALUES // n_probes, 2 * n_units, 1))


def _energy_buffer(n_probes, sweeps, max_sweeps):
    """``np.empty((n_probes, sweeps + 1))``; too big for memory, a MemoryError
    that names max_sweeps."""
    try:
        return np.empty((n_probes, sweeps + 1), dtype=np.float64)
    except (MemoryError, ValueError):   # (ValueError: bigger than any array can be)
        size = n_probes * (sweeps + 1) * 8 / 2**30
        raise MemoryError(
            f"max_sweeps ({max_sweeps}) is too large for memory: the energies of {n_probes} "
            f"probes that have not converged after {sweeps} sweeps take {size:.3g} GiB; "
            f"lower max_sweeps or recall fewer probes at a time.") from None


@dataclass
class RecallResult:
    """What ``HopfieldNetwork.recall`` returns.

    states : ndarray of shape (n_probes, n_units), int8
        The final states, in the alphabet of the patterns ({-1, +1} or {0, 1}).
    n_sweeps : ndarray of shape (n_probes,), int64
        Sweeps run; for a converged probe the last one changed nothing.
    converged : ndarray of shape (n_probes,), bool
        Whether the probe stopped because a full sweep changed nothing.
    energy : ndarray of shape (n_probes, n_sweeps.max() + 1), float64
        Each probe's energy before the first sweep and after every sweep;
        after its last sweep a row repeats its final energy.
    n_flips : ndarray of shape (n_probes,), int64
        Unit updates that changed a state.
    """
    states: np.ndarray
    n_sweeps: np.ndarray
    converged: np.ndarray
    energy: np.ndarray
    n_flips: np.ndarray


def _draw_seed(random_state):
    """One 63-bit seed for the kernels' counter-based generator."""
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**63 - 1, dtype=np.int64))
    if random_state is not None and not isinstance(random_state, (int, np.integer,
                                                                  np.random.Generator)):
        raise TypeError(f"random_state must be an int, a numpy Generator or RandomState, or "
                        f"None; got {type(random_state).__name__} {random_state!r}.")
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError("random_state must be an int >= 0, a numpy Generator or RandomState, "
                             f"or None; got {int(random_state)}.")
        return _seed_of(int(random_state))
    return int(np.random.default_rng(random_state).integers(2**63 - 1))


@functools.lru_cache(maxsize=1024)
def _seed_of(seed):
    """``_draw_seed`` of an int, kept: ``default_rng(seed)`` takes about 20 us, as
    long as a recall of one probe on a small network (``predict`` draws a seed
    a call)."""
    return int(np.random.default_rng(seed).integers(2**63 - 1))


def _projection(patterns):
    """``X^T (X X^T)^+ X``: the orthogonal projection onto the span of the patterns.

    Cholesky on the Gram matrix when the patterns are clearly independent
    (a third of the work of an eigendecomposition), the pseudo-inverse
    otherwise. Symmetrised, so it is symmetric bit for bit.
    """
    from scipy.linalg import LinAlgError, cho_factor, cho_solve  # scipy comes with scikit-learn

    X = patterns.astype(np.float64)
    gram = X @ X.T
    coefs = None
    try:
        factor = cho_factor(gram, lower=True, check_finite=False)
        pivots = np.diagonal(factor[0]) ** 2
        if pivots.min() > 1e-8 * X.shape[1]:
            coefs = cho_solve(factor, X, check_finite=False)
    except LinAlgError:
        pass
    if coefs is None:
        coefs = np.linalg.pinv(gram, hermitian=True) @ X
    W = X.T @ coefs
    return (W + W.T) / 2.0


def _int_dtype(bound):
    """The smallest signed integer type holding every value in [-bound, bound]."""
    for dt in (np.int8, np.int16, np.int32):
        if bound <= np.iinfo(dt).max:
            return dt
    return np.int64


class HopfieldNetwork(BaseEstimator):
    """Binary Hopfield network (part H of the article).

    One fully connected layer of ``n`` units in {-1, +1}, symmetric weights,
    updates that settle a probe into a stored (or a spurious, metastable)
    state. The energy ``E(s) = -1/2 s^T W s`` never rises under asynchronous
    updates at temperature 0.

    Parameters
    ----------
    rule : {'hebbian', 'storkey', 'pseudoinverse'}, default='hebbian'
        Storage rule. 'hebbian': ``W = (1/n) sum_mu x x^T``, capacity about
        0.138 n random patterns. 'storkey': Storkey's incremental rule (1997),
        more capacity and larger basins. 'pseudoinverse' (projection rule):
        ``W = X^T (X X^T)^+ X``, every linearly independent set of patterns is
        stored exactly (up to ``n`` patterns), correlated ones included.
    update : {'async', 'sync'}, default='async'
        'async': one unit at a time, in ``order``; 'sync': all units at once
        from the previous states (may end in a 2-cycle).
    order : {'random', 'permutation', 'sequential'}, default='permutation'
        Asynchronous schedule: a unit drawn at random at every step, a fresh
        random permutation of the units every sweep, or units 0..n-1.
    max_sweeps : int, default=100
        A probe stops after a sweep (``n`` updates) that changes nothing, or
        after this many sweeps.
    temperature : float, default=0.0
        0: a unit takes the sign of its field (a tie keeps its state).
        ``T > 0``: Glauber dynamics, ``P(s_i = +1) = 1 / (1 + exp(-2 h_i / T))``
        with ``h = W s`` (the weights with their scale, ``weight_scale_``).
    zero_diagonal : bool or None, default=None
        Remove the self-couplings ``W[i, i]``. None: True for 'hebbian' and
        'storkey', False for 'pseudoinverse' (the projection's diagonal is
        what makes every independent set a fixed point: without it a unit
        that the other units determine, ``W[i, i] = 1``, has no field).
        'storkey' always has a zero diagonal.
    weight_dtype : {'auto', 'float32', 'float64'}, default='auto'
        Storage of ``weights_``. 'auto': Hebbian weights as the smallest
        integer type that holds them exactly (int8 up to 127 patterns, then
        int16), scaled by ``weight_scale_ = 1/n``; other rules float32.
    random_state : int, numpy Generator or RandomState, or None, default=None
        Draws one seed per ``recall`` call for the kernels' counter-based
        generator (orders and Glauber draws): an int gives the same result on
        every call and any thread count.

    Attributes
    ----------
    weights_ : ndarray of shape (n_units, n_units)
        Symmetric weights; the network's weights are ``weight_scale_ *
        weights_``. int8/int16/int32 (Hebbian, 'auto') or float.
    weight_scale_ : float
    patterns_ : ndarray of shape (n_patterns, n_units), int8
        The stored patterns in {-1, +1} (empty after ``set_weights``).
    alphabet_ : ndarray of shape (2,), int8
        [-1, 1] or [0, 1]: the values of the patterns; probes and results
        use the same.
    n_units_ : int
    n_patterns_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn import HopfieldNetwork
    >>> patterns = np.array([[1, -1, 1, -1, 1, -1], [1, 1, 1, -1, -1, -1]])
    >>> net = HopfieldNetwork(random_state=0).fit(patterns)
    >>> net.predict([[1, -1, 1, -1, 1, 1]])
    array([[ 1, -1,  1, -1,  1, -1]], dtype=int8)
    """

    def __init__(self, rule="hebbian", update="async", order="permutation", max_sweeps=100,
                 temperature=0.0, zero_diagonal=None, weight_dtype="auto", random_state=None):
        self.rule = rule
        self.update = update
        self.order = order
        self.max_sweeps = max_sweeps
        self.temperature = temperature
        self.zero_diagonal = zero_diagonal
        self.weight_dtype = weight_dtype
        self.random_state = random_state

    # ------------------------------------------------------------ parameters

    def _check_recall_params(self):
        check_option(self.update, "update", UPDATES)
        check_option(self.order, "order", ORDERS)
        max_sweeps = check_int(self.max_sweeps, "max_sweeps", low=1)
        temperature = check_float(self.temperature, "temperature", low=0.0)
        return max_sweeps, temperature

    def _check_storage_params(self):
        rule = check_option(self.rule, "rule", RULES)
        check_option(self.weight_dtype, "weight_dtype", WEIGHT_DTYPES)
        zero = self.zero_diagonal
        if zero is None:
            zero = rule != "pseudoinverse"
        zero = check_bool(zero, "zero_diagonal")
        if rule == "storkey" and not zero:
            raise ValueError("zero_diagonal must be True or None for rule='storkey' (Storkey's "
                             "rule is defined without self-couplings); got False.")
        return rule, zero

    # ------------------------------------------------------------ storage

    def fit(self, patterns, y=None):
        """Store ``patterns`` (forgetting anything stored before).

        Parameters
        ----------
        patterns : array-like of shape (n_patterns, n_units)
            Values in {-1, +1} or in {0, 1}.
        y : ignored

        Returns
        -------
        self
        """
        rule, zero = self._check_storage_params()
        self._check_recall_params()
        X, alphabet = check_binary_states(patterns, "patterns")
        self._storage = None
        self._store(X, alphabet, rule, zero)
        return self

    def partial_fit(self, patterns, y=None):
        """Store more patterns, keeping those stored before.

        The result equals ``fit`` on all the patterns in the order they were
        given (Storkey's rule is order-dependent; the others are not), at the
        cost of the new patterns only for 'hebbian' and 'storkey'.

        Parameters
        ----------
        patterns : array-like of shape (n_patterns, n_units)
            In the alphabet of the patterns already stored.
        y : ignored

        Returns
        -------
        self
        """
        if getattr(self, "_storage", None) is None:
            if hasattr(self, "weights_"):
                raise ValueError("partial_fit cannot add patterns to weights given with "
                                 "set_weights; call fit to store patterns.")
            return self.fit(patterns)
        rule, zero = self._check_storage_params()
        self._check_recall_params()
        if (rule, zero, self.weight_dtype) != tuple(self._storage):
            raise ValueError(
                f"rule, zero_diagonal and weight_dtype must stay as they were when the "
                f"patterns were first stored {tuple(self._storage)}; got {(rule, zero, self.weight_dtype)}. "
                f"Call fit to start again.")
        X, _ = check_binary_states(patterns, "patterns", alphabet=tuple(self.alphabet_),
                                   n_units=self.n_units_)
        self._store(X, tuple(int(a) for a in self.alphabet_), rule, zero, add=True)
        return self

    def _store(self, X, alphabet, rule, zero, add=False):
        if add:
            self._own_arrays()
        n_new, n = X.shape
        all_patterns = np.concatenate([self.patterns_, X]) if add else X
        n_patterns = len(all_patterns)
        if rule == "hebbian":
            if self.weight_dtype == "auto":   # exact integers, as small as they fit
                dtype, new_dtype = _int_dtype(n_patterns), _int_dtype(n_new)
            else:
                dtype = new_dtype = np.dtype(self.weight_dtype).type
            W = np.empty((n, n), dtype=new_dtype)
            self._kernel("hebbian", n * n * n_new)(X, W)
            if zero:
                np.fill_diagonal(W, 0)
            if add:
                W = self.weights_.astype(dtype) + W.astype(dtype)
            W = np.ascontiguousarray(W, dtype=dtype)
            scale = 1.0 / n
            master = None
        elif rule == "storkey":
            master = self._storkey_weights if add else np.zeros((n, n), dtype=np.float64)
            # two parallel regions per pattern: threads pay only for large n
            self._kernel("storkey", n * n // 4)(X, np.empty(n), master)
            W = master
            scale = 1.0
        else:
            W = _projection(all_patterns)
            if zero:
                np.fill_diagonal(W, 0.0)
            scale = 1.0
            master = None
        if W.dtype.kind == "f" and not np.isfinite(W).all():
            raise ValueError(f"rule={rule!r} produced non-finite weights; check the patterns.")
        if rule != "hebbian":
            dtype = np.float32 if self.weight_dtype in ("auto", "float32") else np.float64
            W = np.array(W, dtype=dtype, order="C", copy=True) if W is master else \
                np.ascontiguousarray(W, dtype=dtype)
        self.weights_ = W
        self.weight_scale_ = scale
        self.patterns_ = all_patterns
        self.alphabet_ = np.array(alphabet, dtype=np.int8)
        self.n_units_ = n
        self.n_patterns_ = n_patterns
        self._storkey_weights = master
        self._storage = (rule, zero, self.weight_dtype)
        self._hebbian_self_coupling = None
        if rule == "hebbian" and W.dtype.kind == "i" and 2 * n_patterns < n:
            self._hebbian_self_coupling = 0 if not zero else -n_patterns

    def set_weights(self, weights, alphabet=(-1, 1)):
        """Use given weights instead of a storage rule.

        Parameters
        ----------
        weights : array-like of shape (n_units, n_units)
            Finite, symmetric, with a non-negative diagonal. Stored as float64
            (or float32 with ``weight_dtype='float32'``), scale 1.
        alphabet : (-1, 1) or (0, 1), default=(-1, 1)
            The values of probes and results.

        Returns
        -------
        self
        """
        check_option(self.weight_dtype, "weight_dtype", WEIGHT_DTYPES)
        W = check_hopfield_weights(weights, "weights")
        if tuple(np.ravel(np.asarray(alphabet, dtype=object)).tolist()) not in ((-1, 1), (0, 1)):
            raise ValueError(f"alphabet must be (-1, 1) or (0, 1); got {alphabet!r}.")
        if self.weight_dtype == "float32":
            check_hopfield_scale(W, "weights", np.float32)
            W = W.astype(np.float32)
        self.weights_ = W
        self.weight_scale_ = 1.0
        self.patterns_ = np.empty((0, len(W)), dtype=np.int8)
        self.alphabet_ = np.array(alphabet, dtype=np.int8)
        self.n_units_ = len(W)
        self.n_patterns_ = 0
        self._hebbian_self_coupling = None
        self._storkey_weights = None
        self._storage = None
        return self

    # ------------------------------------------------------------ recall

    @staticmethod
    def _kernel(name, work):
        """Kernel ``name``, the cached parallel twin, called on its threads where
        ``work`` pays for them and on the calling thread otherwise (its
        ``threads`` argument). The serial twin, not cached, would be compiled
        by every new process (about 3 s for a fit and a recall)."""
        return threads_kernel(getattr(kernels, name), work, _PARALLEL_WORK)

    def _own_arrays(self):
        """The learned arrays, copied once where read-only: a model unpickled from
        a read-only memmap (``joblib.load(mmap_mode="r")``) holds read-only
        arrays, to Numba a type of their own (every kernel compiled again) that
        the Storkey rule's running sums cannot be written to."""
        for name in ("weights_", "patterns_", "_storkey_weights"):
            a = getattr(self, name, None)
            if isinstance(a, np.ndarray):
                setattr(self, name, writeable(a))

    def _fields(self, states):
        """``weights_ @ s`` of every row: exact integers for integer weights."""
        self._own_arrays()
        n_probes, n = states.shape
        W = self.weights_
        if W.dtype.kind == "i":
            bound = n * int(np.abs(W).max(initial=0))
            fields = np.empty((n_probes, n), dtype=np.int32 if bound < 2**31 else np.int64)
        else:
            fields = np.empty((n_probes, n), dtype=np.float64)
        coupling = getattr(self, "_hebbian_self_coupling", None)
        if coupling is not None:
            overlaps = np.empty((n_probes, self.n_patterns_), dtype=fields.dtype)
            kernel = self._kernel("hebbian_fields", 2 * n_probes * n * self.n_patterns_)
            kernel(self.patterns_, states, coupling, overlaps, fields)
        elif W.dtype.kind == "i":
            self._kernel("local_fields", n_probes * n * n)(W, states, fields)
        else:
            states_t = np.ascontiguousarray(states.T, dtype=np.float64)
            fields_t = np.empty((n, n_probes), dtype=np.float64)
            self._kernel("local_fields_lockstep", n_probes * n * n)(W, states_t, fields_t)
            fields[:] = fields_t.T
        return fields

    def _to_alphabet(self, states):
        if self.alphabet_[0] == 0:
            return ((states + 1) // 2).astype(np.int8)
        return states

    def recall(self, probes):
        """Settle every probe.

        Parameters
        ----------
        probes : array-like of shape (n_probes, n_units)
            In the alphabet of the patterns. Not modified.

        Returns
        -------
        RecallResult
            ``states``, ``n_sweeps``, ``converged``, ``energy`` (each probe's
            energy after every sweep, starting with the probe's own) and
            ``n_flips``.
        """
        check_is_fitted(self)
        max_sweeps, temperature = self._check_recall_params()
        states, _ = check_binary_states(probes, "probes", alphabet=tuple(self.alphabet_),
                                        n_units=self.n_units_)
        seed = _draw_seed(self.random_state)
        n_probes, n = states.shape
        fields = self._fields(states)
        mode = kernels.SYNC if self.update == "sync" else kernels.MODES[self.order]
        work = np.empty((n_probes, n), dtype=np.int64)
        n_sweeps = np.empty(n_probes, dtype=np.int64)
        converged = np.empty(n_probes, dtype=np.bool_)
        n_flips = np.empty(n_probes, dtype=np.int64)
        settle = self._kernel("settle", n_probes * n * n if n_probes > 1 else 0)
        # The energies are allocated for the sweeps run, not for max_sweeps (10**7
        # sweeps of 4 probes would take 320 MB when they converge in 3): a run
        # allows `sweeps`; if a probe is still unconverged after them, the recall
        # starts again from the probes with 8 times as many. A probe's draws
        # depend on (seed, probe, sweep) only and it stops at its first sweep
        # without a change, so a run that allows more sweeps gives the same bits.
        sweeps = _first_sweeps(n_probes, n, max_sweeps)
        start = (states.copy(), fields.copy()) if sweeps < max_sweeps else None
        while True:
            energies = _energy_buffer(n_probes, sweeps, max_sweeps)
            settle(self.weights_, states, mode, sweeps, temperature, float(self.weight_scale_),
                   seed, fields, work, energies, n_sweeps, converged, n_flips)
            if sweeps == max_sweeps or converged.all():
                break
            del energies
            sweeps = min(max_sweeps, sweeps * _SWEEPS_GROWTH)
            states[:], fields[:] = start
        used = int(n_sweeps.max()) + 1
        return RecallResult(states=self._to_alphabet(states), n_sweeps=n_sweeps,
                            converged=converged,
                            energy=energies if used == energies.shape[1] else energies[:, :used].copy(),
                            n_flips=n_flips)

    def predict(self, probes):
        """The settled states of ``probes``, in the alphabet of the patterns (int8)."""
        return self.recall(probes).states

    def energy(self, states):
        """``E(s) = -1/2 s^T W s`` of every row of ``states`` (W with its scale).

        Parameters
        ----------
        states : array-like of shape (n_states, n_units)
            In the alphabet of the patterns.

        Returns
        -------
        ndarray of shape (n_states,), float64
        """
        check_is_fitted(self)
        S, _ = check_binary_states(states, "states", alphabet=tuple(self.alphabet_),
                                   n_units=self.n_units_)
        fields = self._fields(S)
        out = np.empty(len(S), dtype=np.float64)
        self._kernel("energy", S.size * 64)(S, fields, float(self.weight_scale_), out)
        return out

    def save(self, path):
        """Write the fitted network to an HDF5 file (see ``fastnn.load``)."""
        from ._io import save_model
        save_model(self, path)

    _saved_private = ("_hebbian_self_coupling", "_storkey_weights", "_storage")


def warmup():
    """Compile (and cache) the parallel kernels for the dtypes the models use:
    int8 and int16 Hebbian weights with int32 fields, float32 and float64
    weights with float64 fields, each with the signature the models call
    (``threads`` an int; 1, the calling thread, gives the same bits). Cheap:
    tiny arrays."""
    n, n_probes = 8, 2
    X = np.where(np.arange(2 * n).reshape(2, n) % 3 == 0, 1, -1).astype(np.int8)
    states = X.copy()
    kernels.storkey(X, np.empty(n), np.zeros((n, n)), 1)
    for dtype in (np.int8, np.int16, np.float32, np.float64):
        W = np.empty((n, n), dtype=dtype)
        kernels.hebbian(X, W, 1)
        if W.dtype.kind == "i":
            fields = np.empty((n_probes, n), dtype=np.int32)
            kernels.local_fields(W, states, fields, 1)
            kernels.hebbian_fields(X, states, -2, np.empty((n_probes, 2), np.int32), fields, 1)
        else:
            fields = np.empty((n_probes, n), dtype=np.float64)
            fields_t = np.empty((n, n_probes))
            kernels.local_fields_lockstep(W, np.ascontiguousarray(states.T, dtype=np.float64),
                                          fields_t, 1)
            fields[:] = fields_t.T
        kernels.energy(states, fields, 1.0, np.empty(n_probes), 1)
        kernels.settle(W, states.copy(), kernels.PERMUTATION, 2, 0.0, 1.0, 0, fields,
                       np.empty((n_probes, n), np.int64), np.empty((n_probes, 3)),
                       np.empty(n_probes, np.int64), np.empty(n_probes, np.bool_),
                       np.empty(n_probes, np.int64), 1)
