"""Hopfield network kernels: storage rules, local fields, recall, energy.

A network of ``n`` units stores patterns ``x`` in {-1, +1}^n in a symmetric
weight matrix ``W``. A probe ``s`` settles by updates of single units::

    h_i = sum_j W[i, j] * s[j]          (the local field of unit i)
    s_i = +1 if h_i > 0, -1 if h_i < 0, unchanged if h_i == 0

or, at temperature ``T > 0``, by Glauber's rule ``P(s_i = +1) = 1 / (1 +
exp(-2 h_i / T))``. The energy ``E = -1/2 s^T W s`` never rises under
asynchronous updates at ``T = 0`` when ``W`` is symmetric with a non-negative
diagonal.

How the kernels are fast without changing the algorithm:

- Every probe keeps its local fields ``h = W s``. An update reads one field;
  only when unit ``k`` flips do the fields change, by ``2 s_k W[k, :]`` (one
  row of ``W``, contiguous because ``W`` is symmetric). A settled probe costs
  ``n`` comparisons a sweep instead of ``n**2`` multiply-adds; the trajectory
  is the one the textbook loop ``s[i] = sign(W[i] @ s)`` follows.
- Hebbian weights are integers (``sum_mu x_i x_j``; the ``1/n`` factor is a
  scale kept apart), so they are stored as int8/int16/int32 with integer
  fields: every sum is exact, the loops vectorise, and a row is 4-8 times
  smaller than in float64. Their fields at the start come from the patterns,
  ``h = X^T (X s)``: ``2 P n`` operations instead of ``n**2``.
- The first fields of all probes are computed row by row (``local_fields``):
  a row of ``W`` is read once for every probe. Float weights use
  ``local_fields_lockstep``, which sums the same terms in the same order but
  runs its inner loop over probes, so it vectorises.

Determinism: a parallel loop runs over probes (recall) or rows (storage,
fields) and each output is computed by one thread in a fixed order. Random
numbers come from ``rng`` keyed by ``(seed, probe, sweep)`` and the position in
the sweep, so a result is the same on any thread count.

Kernels are compiled twice from one body: ``name`` (parallel, cached) and
``name_serial`` (not cached: numba's cache ignores the parallel flag). Each
takes ``threads`` last, as the RBM's do: the parallel twin runs its loop over
rows or probes on numba's threads where it is above 1, or, given 1, the same
loop on the calling thread (its body inlined in both; ``settle`` calls its
probe), which is how the models run small work: a new process then loads
every kernel it needs from the cache, and compiles none.
"""
import math

import numpy as np
from numba import njit, prange

from ._parallel import prange_only
from .rng import hash3, permutation, randint, uniform

# update schedules (``mode`` of ``settle``)
RANDOM = 0        # async: a unit drawn at random for every step
PERMUTATION = 1   # async: a fresh random permutation of the units every sweep
SEQUENTIAL = 2    # async: units 0, 1, ..., n-1 every sweep
SYNC = 3          # all units at once, from the fields of the previous sweep

MODES = {"random": RANDOM, "permutation": PERMUTATION, "sequential": SEQUENTIAL,
         "sync": SYNC}

# streams of the random numbers of one (probe, sweep)
_UNIT_STREAM = 1     # the unit updated at a step (order 'random')
_ORDER_STREAM = 2    # the sweep's permutation (order 'permutation')
_ACCEPT_STREAM = 3   # the uniform of Glauber's rule (temperature > 0)


# ----------------------------------------------------------------- storage


@njit(cache=True, inline="always")
def _hebbian_row(patterns, weights, i):
    n_patterns, n = patterns.shape
    row = weights[i]
    for j in range(n):
        row[j] = 0
    for mu in range(n_patterns):
        x = patterns[mu]
        if x[i] > 0:
            for j in range(n):
                row[j] += x[j]
        else:
            for j in range(n):
                row[j] -= x[j]


def _hebbian(patterns, weights, threads):
    """Hebb's rule without the 1/n factor: ``W[i, j] = sum_mu x_mu[i] x_mu[j]``.

    The diagonal is written too (``W[i, i] = P``); the caller zeroes it when
    the network has no self-coupling. Every entry is an integer, exact in any
    dtype that holds ``P``.

    Parameters
    ----------
    patterns : ndarray of shape (n_patterns, n_units), int8
        Patterns in {-1, +1}.
    weights : ndarray of shape (n_units, n_units), integer or float
        Out.

    threads : int
        See the module notes (the serial twin ignores it).
    Returns
    -------
    None
    """
    n = patterns.shape[1]
    if threads > 1:
        for i in prange(n):                 # thread owns row i
            _hebbian_row(patterns, weights, i)
    else:
        for i in range(n):
            _hebbian_row(patterns, weights, i)


_COLUMNS = 256   # fields per block in storkey


@njit(cache=True, inline="always")
def _storkey_fields(x, weights, fields, b):
    """Block ``b`` of ``_COLUMNS`` fields of ``h = W x``, summed over k in order."""
    n = x.shape[0]
    c0 = b * _COLUMNS
    c1 = min(c0 + _COLUMNS, n)
    for i in range(c0, c1):
        fields[i] = 0.0
    for k in range(n):
        row = weights[k]
        if x[k] > 0:
            for i in range(c0, c1):
                fields[i] += row[i]
        else:
            for i in range(c0, c1):
                fields[i] -= row[i]


@njit(cache=True, inline="always")
def _storkey_row(x, weights, fields, i):
    """Row ``i`` of the update of one pattern ``x``."""
    n = x.shape[0]
    row = weights[i]
    xi = x[i]
    hi = fields[i]
    for j in range(n):
        t = xi * x[j] + 2.0 * row[j]
        t = t - (xi * fields[j] + hi * x[j])
        row[j] = row[j] + t / n
    row[i] = 0.0


def _storkey(patterns, fields, weights, threads):
    """Storkey's incremental rule (1997), the patterns learnt in order.

    For every pattern ``x``, with ``h_i = sum_k W[i, k] x_k`` and
    ``h_ij = sum_{k != i, j} W[i, k] x_k = h_i - W[i, j] x_j`` (zero diagonal)::

        W[i, j] += (x_i x_j - x_i h_ji - h_ij x_j) / n
                 = W[i, j] + (x_i x_j + 2 W[i, j] - (x_i h_j + h_i x_j)) / n

    The second form is what is computed; it is symmetric bit for bit (the
    products are exact and ``a + b == b + a``), and row ``i`` of the update
    reads only row ``i`` of ``W``.

    Parameters
    ----------
    patterns : ndarray of shape (n_patterns, n_units), int8
    fields : ndarray of shape (n_units,), float64
        Scratch.
    weights : ndarray of shape (n_units, n_units), float64
        In: the starting weights (zeros for a fresh network), symmetric with
        a zero diagonal. Out: the weights after learning every pattern.

    threads : int
        See the module notes (the serial twin ignores it).
    Returns
    -------
    None
    """
    n_patterns, n = patterns.shape
    n_blocks = (n + _COLUMNS - 1) // _COLUMNS
    for mu in range(n_patterns):
        x = patterns[mu]
        # h = W x summed over k in order; W is symmetric, so row k of W gives
        # column k, and the inner loop runs over independent fields (vectorised)
        if threads > 1:
            for b in prange(n_blocks):
                _storkey_fields(x, weights, fields, b)
            for i in prange(n):
                _storkey_row(x, weights, fields, i)
        else:
            for b in range(n_blocks):
                _storkey_fields(x, weights, fields, b)
            for i in range(n):
                _storkey_row(x, weights, fields, i)


# ----------------------------------------------------------------- fields and energy


@njit(cache=True, inline="always")
def _fields_row(weights, states, fields, i):
    n_probes, n = states.shape
    row = weights[i]
    for p in range(n_probes):
        s = states[p]
        acc = fields.dtype.type(0)   # integer fields: exact, vectorised sums
        for j in range(n):
            acc += row[j] * s[j]
        fields[p, i] = acc


def _local_fields(weights, states, fields, threads):
    """``fields[p] = W @ states[p]`` for every probe, summed over ``j`` in order.

    The loop runs over rows outside and probes inside, so a row of ``W`` is
    read from memory once for all the probes. Integer weights and fields give
    exact sums that vectorise.

    Parameters
    ----------
    weights : ndarray of shape (n_units, n_units)
    states : ndarray of shape (n_probes, n_units), int8
    fields : ndarray of shape (n_probes, n_units), int32, int64 or float64
        Out.

    threads : int
        See the module notes (the serial twin ignores it).
    Returns
    -------
    None
    """
    n = states.shape[1]
    if threads > 1:
        for i in prange(n):
            _fields_row(weights, states, fields, i)
    else:
        for i in range(n):
            _fields_row(weights, states, fields, i)


_ROWS = 8   # rows of W per block in local_fields_lockstep


@njit(cache=True, inline="always")
def _lockstep_block(weights, states_t, fields_t, b):
    n, n_probes = states_t.shape
    r0 = b * _ROWS
    r1 = min(r0 + _ROWS, n)
    for r in range(r0, r1):
        for p in range(n_probes):
            fields_t[r, p] = 0.0
    for j in range(n):
        sj = states_t[j]
        for r in range(r0, r1):
            w = np.float64(weights[r, j])
            out = fields_t[r]
            for p in range(n_probes):
                out[p] += w * sj[p]


def _local_fields_lockstep(weights, states_t, fields_t, threads):
    """``fields_t[:, p] = W @ states_t[:, p]``, the probes in lock-step.

    For float weights, where a dot product summed in order is a chain of
    dependent additions that cannot vectorise: a block of 8 rows of ``W``
    is applied to all the probes at once, the inner loop running over probes
    (independent sums, so it vectorises). Each field is still summed over
    ``j = 0, 1, ..., n-1`` in order, so it equals ``local_fields`` bit for bit.

    Parameters
    ----------
    weights : ndarray of shape (n_units, n_units)
    states_t : ndarray of shape (n_units, n_probes), float64
        The probes as columns, in {-1.0, +1.0}.
    fields_t : ndarray of shape (n_units, n_probes), float64
        Out.

    threads : int
        See the module notes (the serial twin ignores it).
    Returns
    -------
    None
    """
    n_blocks = (states_t.shape[0] + _ROWS - 1) // _ROWS
    if threads > 1:
        for b in prange(n_blocks):
            _lockstep_block(weights, states_t, fields_t, b)
    else:
        for b in range(n_blocks):
            _lockstep_block(weights, states_t, fields_t, b)


@njit(cache=True, inline="always")
def _hebbian_probe(patterns, states, self_coupling, overlaps, fields, p):
    n = states.shape[1]
    n_patterns = patterns.shape[0]
    s = states[p]
    m = overlaps[p]
    h = fields[p]
    for mu in range(n_patterns):
        x = patterns[mu]
        acc = overlaps.dtype.type(0)
        for j in range(n):
            acc += x[j] * s[j]
        m[mu] = acc
    for j in range(n):
        h[j] = self_coupling * s[j]
    for mu in range(n_patterns):
        x = patterns[mu]
        c = m[mu]
        for j in range(n):
            h[j] += c * x[j]


def _hebbian_fields(patterns, states, self_coupling, overlaps, fields, threads):
    """Local fields of Hebbian weights from the patterns: ``h = X^T (X s) + c s``.

    ``X^T X`` has ``P`` on its diagonal; ``self_coupling`` ``c`` is ``-P``
    for a zero diagonal and ``0`` to keep it. Integer arithmetic: the fields
    equal ``local_fields`` with the integer Hebbian weights exactly, at
    ``2 P n`` operations per probe instead of ``n**2``.

    Parameters
    ----------
    patterns : ndarray of shape (n_patterns, n_units), int8
    states : ndarray of shape (n_probes, n_units), int8
    self_coupling : int
    overlaps : ndarray of shape (n_probes, n_patterns), int32 or int64
        Out: ``X s`` of every probe.
    fields : ndarray of shape (n_probes, n_units), int32 or int64
        Out.

    threads : int
        See the module notes (the serial twin ignores it).
    Returns
    -------
    None
    """
    n_probes = states.shape[0]
    if threads > 1:
        for p in prange(n_probes):
            _hebbian_probe(patterns, states, self_coupling, overlaps, fields, p)
    else:
        for p in range(n_probes):
            _hebbian_probe(patterns, states, self_coupling, overlaps, fields, p)


def _energy(states, fields, scale, out, threads):
    """``out[p] = -1/2 * scale * sum_i s_i h_i``: the energy from the fields.

    Parameters
    ----------
    states : ndarray of shape (n_probes, n_units), int8
    fields : ndarray of shape (n_probes, n_units)
        ``W @ s`` of every probe (``local_fields``).
    scale : float
        The network's weights are ``scale * W``.
    out : ndarray of shape (n_probes,), float64
        Out.

    threads : int
        See the module notes (the serial twin ignores it).
    Returns
    -------
    None
    """
    n_probes = states.shape[0]
    if threads > 1:
        for p in prange(n_probes):
            out[p] = _probe_energy(states[p], fields[p], scale)
    else:
        for p in range(n_probes):
            out[p] = _probe_energy(states[p], fields[p], scale)


@njit(cache=True, inline="always")
def _probe_energy(s, h, scale):
    acc = 0.0
    for i in range(s.shape[0]):
        acc += s[i] * h[i]
    return -0.5 * scale * acc


# ----------------------------------------------------------------- recall


@njit(cache=True, inline="always")
def _decide(h, current, beta2, kseed, position):
    """The new state of a unit with field ``h``: sign (ties keep ``current``)
    at temperature 0 (``beta2 == 0``), Glauber's rule otherwise."""
    if beta2 > 0.0:
        p_up = 1.0 / (1.0 + math.exp(-beta2 * h))
        if uniform(kseed, _ACCEPT_STREAM, position) < p_up:
            return 1
        return -1
    if h > 0:
        return 1
    if h < 0:
        return -1
    return current


@njit(cache=True, inline="always")
def _flip(weights, s, h, k):
    """Flip unit ``k`` and move the fields by ``2 s_k W[k, :]``."""
    new = -s[k]
    s[k] = new
    row = weights[k]
    if new > 0:
        for m in range(h.shape[0]):
            h[m] += 2 * row[m]
    else:
        for m in range(h.shape[0]):
            h[m] -= 2 * row[m]


@njit(cache=True)   # called, not inlined: compiled once for both of _settle's loops
def _settle_probe(weights, states, mode, max_sweeps, beta2, scale, seed, fields, work, energies,
                  n_sweeps, converged, n_flips, p):
    """Settle probe ``p`` (the body of ``_settle``'s loop over probes)."""
    n = states.shape[1]
    s = states[p]
    h = fields[p]
    order = work[p]
    e = energies[p]
    e[0] = _probe_energy(s, h, scale)
    done = False
    flips = 0
    k = 0
    while k < max_sweeps:
        key = hash3(seed, p, k)
        changes = 0
        if mode == SYNC:
            for i in range(n):
                if _decide(h[i], s[i], beta2, key, i) != s[i]:
                    order[changes] = i
                    changes += 1
            for c in range(changes):
                _flip(weights, s, h, order[c])
        else:
            if mode == PERMUTATION:
                permutation(key, _ORDER_STREAM, order)
            for t in range(n):
                if mode == RANDOM:
                    i = randint(key, _UNIT_STREAM, t, n)
                elif mode == PERMUTATION:
                    i = order[t]
                else:
                    i = t
                if _decide(h[i], s[i], beta2, key, t) != s[i]:
                    _flip(weights, s, h, i)
                    changes += 1
        flips += changes
        k += 1
        e[k] = _probe_energy(s, h, scale)
        if changes == 0:
            done = True
            break
    for r in range(k + 1, e.shape[0]):
        e[r] = e[k]
    n_sweeps[p] = k
    converged[p] = done
    n_flips[p] = flips


def _settle(weights, states, mode, max_sweeps, temperature, scale, seed,
            fields, work, energies, n_sweeps, converged, n_flips, threads):
    """Settle many probes, in place, until a sweep changes nothing.

    A sweep is ``n_units`` steps. In sweep ``k`` of probe ``p`` (both from 0),
    with ``key = hash3(seed, p, k)``:

    - ``mode == RANDOM``: step ``t`` updates unit ``randint(key, 1, t, n)``;
    - ``mode == PERMUTATION``: the sweep visits ``rng.permutation(key, 2, .)``;
    - ``mode == SEQUENTIAL``: units ``0 .. n-1``;
    - ``mode == SYNC``: every unit decides from the fields at the start of
      the sweep, then all the changes are applied.

    At ``temperature == 0`` a unit takes the sign of its field and keeps its
    state on a tie. At ``temperature > 0`` it becomes +1 when
    ``uniform(key, 3, t) < 1 / (1 + exp(-(2 * scale / temperature) * h))``
    (``t``: the step, or the unit in a synchronous sweep). A probe stops after
    a sweep with no change (``converged``) or after ``max_sweeps`` sweeps.

    Parameters
    ----------
    weights : ndarray of shape (n_units, n_units)
        Symmetric; any numeric dtype. The network's weights are
        ``scale * weights``.
    states : ndarray of shape (n_probes, n_units), int8
        Probes in {-1, +1}. Overwritten with the final states.
    mode : int
        RANDOM, PERMUTATION, SEQUENTIAL or SYNC.
    max_sweeps : int
    temperature : float
        >= 0, in units of the scaled weights.
    scale : float
        > 0.
    seed : int
    fields : ndarray of shape (n_probes, n_units)
        In: ``weights @ states[p]`` for every probe (``local_fields`` or
        ``hebbian_fields``). Out: the fields of the final states. int32/int64
        for integer weights (exact), float64 otherwise.
    work : ndarray of shape (n_probes, n_units), int64
        Scratch.
    energies : ndarray of shape (n_probes, max_sweeps + 1), float64
        Out: the energy of each probe before the first sweep and after
        every sweep; after the last sweep it repeats the final energy.
    n_sweeps : ndarray of shape (n_probes,), int64
        Out: sweeps run (the last one, when converged, changed nothing).
    converged : ndarray of shape (n_probes,), bool
        Out.
    n_flips : ndarray of shape (n_probes,), int64
        Out: unit flips (each moved the fields by a row of ``weights``).

    threads : int
        See the module notes (the serial twin ignores it).
    Returns
    -------
    None
    """
    n_probes = states.shape[0]
    beta2 = 0.0
    if temperature > 0.0:
        beta2 = 2.0 * scale / temperature
    if threads > 1:
        for pu in prange(n_probes):  # (an unsigned index would compile the probe again)
            _settle_probe(weights, states, mode, max_sweeps, beta2, scale, seed, fields, work,
                          energies, n_sweeps, converged, n_flips, np.int64(pu))
    else:
        for p in range(n_probes):
            _settle_probe(weights, states, mode, max_sweeps, beta2, scale, seed, fields, work,
                          energies, n_sweeps, converged, n_flips, p)


# ----------------------------------------------------------------- compiled twins

hebbian = njit(parallel=prange_only(), cache=True)(_hebbian)
hebbian_serial = njit(_hebbian)
storkey = njit(parallel=prange_only(), cache=True)(_storkey)
storkey_serial = njit(_storkey)
local_fields = njit(parallel=prange_only(), cache=True)(_local_fields)
local_fields_serial = njit(_local_fields)
local_fields_lockstep = njit(parallel=prange_only(), cache=True)(_local_fields_lockstep)
local_fields_lockstep_serial = njit(_local_fields_lockstep)
hebbian_fields = njit(parallel=prange_only(), cache=True)(_hebbian_fields)
hebbian_fields_serial = njit(_hebbian_fields)
energy = njit(parallel=prange_only(), cache=True)(_energy)
energy_serial = njit(_energy)
settle = njit(parallel=prange_only(), cache=True)(_settle)
settle_serial = njit(_settle)
