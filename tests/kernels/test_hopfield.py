"""Hopfield kernels against the NumPy references of tests/reference.py."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from fastnn._threads import threads
from fastnn.kernels import hopfield, rng
from tests import reference
from tests.kernels.twins import ways

MODES = {"random": hopfield.RANDOM, "permutation": hopfield.PERMUTATION,
         "sequential": hopfield.SEQUENTIAL, "sync": hopfield.SYNC}


@pytest.fixture
def problem():
    """3 random patterns of 64 units, integer Hebbian weights (zero diagonal,
    int8), and 4 probes per pattern with 10% of the units flipped."""
    gen = np.random.default_rng(0)
    patterns = np.where(gen.random((3, 64)) < 0.5, 1, -1).astype(np.int8)
    weights = reference.hopfield_hebbian(patterns).astype(np.int8)
    probes = patterns.repeat(4, axis=0)
    for row in probes:
        row[gen.choice(64, size=6, replace=False)] *= -1
    return weights, patterns, probes


def settle(kernel, weights, probes, mode, max_sweeps=20, temperature=0.0, scale=1.0, seed=7,
           threads=2):
    """Run ``kernel`` (settle or settle_serial) on a copy of ``probes``."""
    states = probes.copy()
    n_probes, n = states.shape
    fdt = np.int32 if weights.dtype.kind == "i" else np.float64
    fields = np.asarray(states.astype(np.int64) @ weights.astype(np.int64).T, dtype=fdt) \
        if weights.dtype.kind == "i" else states.astype(np.float64) @ weights.T.astype(np.float64)
    fields = np.ascontiguousarray(fields)
    out = dict(energies=np.empty((n_probes, max_sweeps + 1)),
               n_sweeps=np.empty(n_probes, np.int64), converged=np.empty(n_probes, np.bool_),
               n_flips=np.empty(n_probes, np.int64))
    kernel(weights, states, MODES[mode], max_sweeps, temperature, scale, seed, fields,
           np.empty((n_probes, n), np.int64), out["energies"], out["n_sweeps"],
           out["converged"], out["n_flips"], threads)
    return states, fields, out


# ----------------------------------------------------------------- the random numbers


def test_reference_random_numbers_are_the_kernels():
    for seed, stream, counter in [(0, 0, 0), (7, 3, 11), (2**62 + 5, 2**40, 123456789)]:
        assert reference.hopfield_hash3(seed, stream, counter) == int(rng.hash3(seed, stream, counter))
        assert reference.hopfield_uniform(seed, stream, counter) == rng.uniform(seed, stream, counter)
    order = np.empty(50, np.int64)
    key = int(rng.hash3(7, 2, 3))
    rng.permutation(np.uint64(key), 2, order)  # a uint64 key, as the kernels pass it
    assert order.tolist() == reference.hopfield_permutation(key, 2, 50)


# ----------------------------------------------------------------- storage


@ways(hopfield, "hebbian")
@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.float32, np.float64])
def test_hebbian_matches_reference(kernel, threads, dtype):
    patterns = np.where(np.random.default_rng(1).random((5, 23)) < 0.5, 1, -1).astype(np.int8)
    weights = np.full((23, 23), 99, dtype=dtype)          # overwritten, diagonal included
    kernel(patterns, weights, threads)
    expected = reference.hopfield_hebbian(patterns, zero_diagonal=False)
    assert_array_equal(weights, expected.astype(dtype))
    assert np.all(np.diagonal(weights) == 5)


@ways(hopfield, "storkey")
def test_storkey_matches_reference(kernel, threads):
    patterns = np.where(np.random.default_rng(2).random((4, 11)) < 0.5, 1, -1).astype(np.int8)
    weights = np.zeros((11, 11))
    kernel(patterns, np.empty(11), weights, threads)
    assert_allclose(weights, reference.hopfield_storkey(patterns), rtol=1e-12, atol=1e-14)


def test_storkey_weights_are_symmetric_bit_for_bit():
    patterns = np.where(np.random.default_rng(3).random((30, 300)) < 0.5, 1, -1).astype(np.int8)
    weights = np.zeros((300, 300))
    hopfield.storkey(patterns, np.empty(300), weights, 2)
    assert_array_equal(weights, weights.T)
    assert np.all(np.diagonal(weights) == 0.0)


def test_storkey_first_pattern_is_the_hebbian_rule():
    # From zero weights h = 0, so one Storkey step is x x^T / n off the diagonal.
    x = np.array([[1, -1, -1, 1, 1]], dtype=np.int8)
    weights = np.zeros((5, 5))
    hopfield.storkey(x, np.empty(5), weights, 1)
    expected = np.outer(x[0], x[0]) / 5.0
    np.fill_diagonal(expected, 0.0)
    assert_array_equal(weights, expected)


# ----------------------------------------------------------------- fields and energy


@ways(hopfield, "local_fields")
def test_local_fields_integer_weights_exact(kernel, threads, problem):
    weights, _, probes = problem
    fields = np.empty(probes.shape, np.int32)
    kernel(weights, probes, fields, threads)
    assert_array_equal(fields, probes.astype(np.int64) @ weights.astype(np.int64))


@ways(hopfield, "local_fields_lockstep")
def test_local_fields_lockstep_sums_in_order(kernel, threads):
    gen = np.random.default_rng(4)
    a = gen.standard_normal((21, 21)).astype(np.float32)
    weights = a + a.T
    states = np.where(gen.random((5, 21)) < 0.5, 1, -1).astype(np.int8)
    fields_t = np.empty((21, 5))
    kernel(weights, np.ascontiguousarray(states.T, dtype=np.float64), fields_t, threads)
    for p in range(5):
        for i in range(21):
            acc = 0.0
            for j in range(21):                       # the sequential sum, j in order
                acc += float(weights[i, j]) * float(states[p, j])
            assert fields_t[i, p] == acc


@pytest.mark.parametrize("zero_diagonal", [True, False])
@ways(hopfield, "hebbian_fields")
def test_hebbian_fields_equal_weight_fields(kernel, threads, zero_diagonal, problem):
    _, patterns, probes = problem
    weights = reference.hopfield_hebbian(patterns, zero_diagonal=zero_diagonal)
    fields = np.empty(probes.shape, np.int32)
    overlaps = np.empty((len(probes), len(patterns)), np.int32)
    kernel(patterns, probes, -len(patterns) if zero_diagonal else 0, overlaps, fields, threads)
    assert_array_equal(fields, probes.astype(np.int64) @ weights)
    assert_array_equal(overlaps, probes.astype(np.int64) @ patterns.T.astype(np.int64))


@ways(hopfield, "energy")
def test_energy_matches_reference(kernel, threads, problem):
    weights, _, probes = problem
    fields = np.ascontiguousarray(probes.astype(np.int32) @ weights.astype(np.int32))
    out = np.empty(len(probes))
    kernel(probes, fields, 1 / 64, out, threads)
    assert_array_equal(out, reference.hopfield_energy(weights, probes, 1 / 64))


# ----------------------------------------------------------------- recall


@ways(hopfield, "settle")
@pytest.mark.parametrize("mode", ["random", "permutation", "sequential", "sync"])
@pytest.mark.parametrize("temperature", [0.0, 0.6])
def test_settle_matches_reference(kernel, threads, mode, temperature, problem):
    weights, _, probes = problem        # integer weights: every field is exact
    scale = 1 / 64
    max_sweeps = 6
    states, fields, out = settle(kernel, weights, probes, mode, max_sweeps, temperature, scale,
                                 threads=threads)
    expected = reference.hopfield_recall(
        weights, probes, update="sync" if mode == "sync" else "async",
        order="permutation" if mode == "sync" else mode, max_sweeps=max_sweeps,
        temperature=temperature, scale=scale, seed=7)
    assert_array_equal(states, expected[0])
    assert_array_equal(out["n_sweeps"], expected[1])
    assert_array_equal(out["converged"], expected[2])
    assert_array_equal(out["energies"], expected[3])
    # the fields kept up to date are the fields of the final states
    assert_array_equal(fields, states.astype(np.int64) @ weights.astype(np.int64))


def test_settle_float_weights_match_reference(problem):
    weights, _, probes = problem
    states, _, out = settle(hopfield.settle, weights.astype(np.float64) / 64, probes,
                            "permutation")
    expected = reference.hopfield_recall(weights / 64, probes, seed=7, max_sweeps=20)
    assert_array_equal(states, expected[0])
    assert_array_equal(out["n_sweeps"], expected[1])
    assert_allclose(out["energies"], expected[3], rtol=1e-12)


@pytest.mark.parametrize("mode", ["random", "permutation", "sync"])
def test_settle_same_for_any_thread_count(mode, n_threads, problem):
    weights, _, probes = problem
    runs = []
    for n in n_threads:
        with threads(n):
            states, fields, out = settle(hopfield.settle, weights, probes, mode, temperature=0.4,
                                         scale=1 / 64)
        runs.append((states, fields, out["energies"], out["n_sweeps"]))
    for a, b in zip(runs[0], runs[-1]):
        assert_array_equal(a, b)


def test_settle_recalls_stored_patterns(problem):
    weights, patterns, probes = problem  # 3 patterns, 64 units, 10% of bits flipped
    states, _, out = settle(hopfield.settle, weights, probes, "permutation")
    assert_array_equal(states, patterns.repeat(4, axis=0))
    assert out["converged"].all()
    # a stored pattern is a fixed point: one sweep, no flip, constant energy
    states, _, out = settle(hopfield.settle, weights, patterns, "random")
    assert_array_equal(states, patterns)
    assert_array_equal(out["n_sweeps"], 1)
    assert_array_equal(out["n_flips"], 0)
    assert np.all(out["energies"] == out["energies"][:, :1])


def test_settle_stops_after_max_sweeps():
    # two units joined by a positive weight: synchronous updates of (+1, -1)
    # swap them for ever (a 2-cycle), so no sweep is quiet
    weights = np.array([[0, 1], [1, 0]], dtype=np.int8)
    states, _, out = settle(hopfield.settle, weights, np.array([[1, -1]], np.int8),
                            "sync", max_sweeps=5, threads=1)
    assert out["n_sweeps"][0] == 5 and not out["converged"][0]
    assert_array_equal(states, [[-1, 1]])            # 5 swaps: an odd number
    assert out["n_flips"][0] == 10


def test_glauber_probability():
    # One sweep in sequential order: unit 0 is updated first, from the probe's
    # own field h_0 = W[0] @ s = 2, so P(s_0 = +1) = 1 / (1 + exp(-2 * 2 * scale / T)).
    weights = np.array([[0, 1, 1], [1, 0, -1], [1, -1, 0]], dtype=np.int8)
    probes = np.tile(np.array([-1, 1, 1], np.int8), (4000, 1))
    scale, temperature = 0.5, 1.5
    states, _, _ = settle(hopfield.settle, weights, probes, "sequential", max_sweeps=1,
                          temperature=temperature, scale=scale)
    expected = 1.0 / (1.0 + np.exp(-2.0 * 2 * scale / temperature))
    assert abs((states[:, 0] == 1).mean() - expected) < 0.03   # 4 standard errors


def test_zero_temperature_ties_keep_the_state():
    weights = np.zeros((4, 4), dtype=np.int8)        # every field is 0
    probes = np.array([[1, -1, 1, -1]], np.int8)
    states, _, out = settle(hopfield.settle, weights, probes, "permutation")
    assert_array_equal(states, probes)
    assert out["converged"][0]


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 24), n_probes=st.integers(1, 4), seed=st.integers(0, 2**32 - 1),
       mode=st.sampled_from(["random", "permutation", "sequential"]),
       integer=st.booleans())
def test_energy_never_increases_under_async_updates(n, n_probes, seed, mode, integer):
    gen = np.random.default_rng(seed)
    a = gen.integers(-3, 4, size=(n, n)) if integer else gen.standard_normal((n, n))
    weights = np.triu(a, 1)
    weights = weights + weights.T                    # symmetric, zero diagonal
    weights = weights.astype(np.int8 if integer else np.float64)
    probes = np.where(gen.random((n_probes, n)) < 0.5, 1, -1).astype(np.int8)
    states, _, out = settle(hopfield.settle, weights, probes, mode, max_sweeps=30,
                            seed=seed, threads=1)
    steps = np.diff(out["energies"], axis=1)
    if integer:
        assert np.all(steps <= 0)                    # exact arithmetic
    else:
        assert np.all(steps <= 1e-9 * np.abs(weights).sum())
    # the energy recorded last is the energy of the final states
    assert_allclose(out["energies"][:, -1], reference.hopfield_energy(weights, states),
                    rtol=1e-9, atol=1e-9)
    # at temperature 0 with a symmetric, zero-diagonal W every probe settles
    assert out["converged"].all()
