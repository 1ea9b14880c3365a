"""HopfieldNetwork: storage rules, recall, energy, conventions, errors."""
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from fastnn._threads import threads
from fastnn.data import patterns as pattern_data
from fastnn.models.hopfield import HopfieldNetwork, RecallResult, _draw_seed
from tests import reference

RULES = ["hebbian", "storkey", "pseudoinverse"]


@pytest.fixture
def random_set():
    """10 random patterns of 200 units (load 0.05) and noisy probes."""
    patterns = pattern_data.random_patterns(10, 200, random_state=0)
    probes = pattern_data.flip(patterns.repeat(3, axis=0), 0.1, random_state=1)
    return patterns, probes


# ----------------------------------------------------------------- conventions


def test_init_only_stores_parameters():
    net = HopfieldNetwork(rule="bogus", max_sweeps=-3)
    assert net.get_params()["rule"] == "bogus" and net.max_sweeps == -3
    assert not any(k.endswith("_") for k in vars(net))


def test_get_set_params_and_clone(random_set):
    patterns, _ = random_set
    net = HopfieldNetwork(rule="storkey", order="random", temperature=0.1, random_state=3)
    twin = clone(net)
    assert twin.get_params() == net.get_params()
    net.set_params(rule="pseudoinverse", update="sync")
    assert net.rule == "pseudoinverse" and net.update == "sync"
    net.fit(patterns)
    assert not hasattr(clone(net), "weights_")


def test_fitted_attributes(random_set):
    patterns, _ = random_set
    net = HopfieldNetwork().fit(patterns)
    assert net.n_units_ == 200 and net.n_patterns_ == 10
    assert net.weights_.dtype == np.int8 and net.weight_scale_ == 1 / 200
    assert_array_equal(net.weights_, reference.hopfield_hebbian(patterns))
    assert_array_equal(net.alphabet_, [-1, 1])
    assert_array_equal(net.patterns_, patterns)


def test_auto_weight_dtypes():
    many = pattern_data.random_patterns(130, 300, random_state=0)
    assert HopfieldNetwork().fit(many).weights_.dtype == np.int16      # 130 > 127
    assert HopfieldNetwork(rule="storkey").fit(many[:5]).weights_.dtype == np.float32
    assert HopfieldNetwork(weight_dtype="float64").fit(many[:5]).weights_.dtype == np.float64


# ----------------------------------------------------------------- storage and recall


@pytest.mark.parametrize("rule", RULES)
def test_stored_patterns_are_fixed_points_below_capacity(rule, random_set):
    patterns, probes = random_set
    net = HopfieldNetwork(rule=rule, random_state=0).fit(patterns)
    result = net.recall(patterns)
    assert_array_equal(result.states, patterns)
    assert_array_equal(result.n_sweeps, 1)
    assert result.converged.all()
    assert_array_equal(net.predict(probes), patterns.repeat(3, axis=0))


@settings(max_examples=10, deadline=None)
@given(n=st.integers(3, 24), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_pseudoinverse_stores_any_independent_set(n, seed, data):
    gen = np.random.default_rng(seed)
    n_patterns = data.draw(st.integers(1, n))
    patterns = np.where(gen.random((n_patterns, n)) < 0.5, 1, -1).astype(np.int8)
    if np.linalg.matrix_rank(patterns.astype(float)) < n_patterns:
        patterns = patterns[:1]                       # keep an independent set
    net = HopfieldNetwork(rule="pseudoinverse", random_state=0).fit(patterns)
    result = net.recall(patterns)
    assert_array_equal(result.states, patterns)
    assert_array_equal(result.n_flips, 0)


def test_pseudoinverse_stores_correlated_and_full_rank_sets():
    # the letters share strokes (Hebbian storage fails on them) ...
    letters, _ = pattern_data.letters()
    assert_array_equal(HopfieldNetwork(rule="pseudoinverse").fit(letters).predict(letters), letters)
    assert not (HopfieldNetwork().fit(letters).predict(letters) == letters).all()
    # ... and n independent patterns of n units (W = I), and a unit that the
    # others determine (e_3 in the span: W[3, 3] = 1)
    hadamard = np.array([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]])
    assert_array_equal(HopfieldNetwork(rule="pseudoinverse").fit(hadamard).predict(hadamard),
                       hadamard)
    pair = np.array([[1, 1, 1, 1], [1, 1, 1, -1]])
    assert_array_equal(HopfieldNetwork(rule="pseudoinverse").fit(pair).predict(pair), pair)


def test_pseudoinverse_weights_are_the_projection(random_set):
    patterns, _ = random_set
    net = HopfieldNetwork(rule="pseudoinverse", weight_dtype="float64").fit(patterns)
    assert_allclose(net.weights_, reference.hopfield_pseudoinverse(patterns), atol=1e-12)
    assert_array_equal(net.weights_, net.weights_.T)
    dependent = np.vstack([patterns, patterns[:2]])    # a dependent set: the same projection
    again = HopfieldNetwork(rule="pseudoinverse", weight_dtype="float64").fit(dependent)
    assert_allclose(again.weights_, net.weights_, atol=1e-10)


def test_binary_alphabet_round_trip(random_set):
    patterns, probes = random_set
    binary = (patterns + 1) // 2
    net = HopfieldNetwork(random_state=0).fit(binary)
    assert_array_equal(net.alphabet_, [0, 1])
    got = net.predict((probes + 1) // 2)
    assert set(np.unique(got)) <= {0, 1}
    assert_array_equal(got, binary.repeat(3, axis=0))
    assert_allclose(net.energy(binary), HopfieldNetwork().fit(patterns).energy(patterns))


@pytest.mark.parametrize("update,order", [("async", "random"), ("async", "permutation"),
                                          ("async", "sequential"), ("sync", "permutation")])
@pytest.mark.parametrize("temperature", [0.0, 0.3])
def test_recall_matches_reference(update, order, temperature, random_set):
    patterns, probes = random_set
    net = HopfieldNetwork(update=update, order=order, temperature=temperature, max_sweeps=8,
                          random_state=11).fit(patterns)
    result = net.recall(probes)
    states, n_sweeps, converged, energies = reference.hopfield_recall(
        reference.hopfield_hebbian(patterns), probes, update=update, order=order, max_sweeps=8,
        temperature=temperature, scale=1 / 200, seed=_draw_seed(11))
    assert isinstance(result, RecallResult)
    assert_array_equal(result.states, states)
    assert_array_equal(result.n_sweeps, n_sweeps)
    assert_array_equal(result.converged, converged)
    assert_array_equal(result.energy, energies[:, :n_sweeps.max() + 1])


@pytest.mark.parametrize("rule", RULES)
def test_recall_same_for_any_thread_count(rule, n_threads):
    patterns = pattern_data.random_patterns(8, 96, random_state=5)
    probes = pattern_data.flip(patterns.repeat(8, axis=0), 0.2, random_state=6)  # 64 x 96: threads
    net = HopfieldNetwork(rule=rule, order="random", temperature=0.05, random_state=2)
    net.fit(patterns)
    runs = []
    for n in n_threads:
        with threads(n):
            r = net.recall(probes)
        runs.append((r.states, r.energy, r.n_sweeps))
    for a, b in zip(runs[0], runs[-1]):
        assert_array_equal(a, b)


@pytest.mark.parametrize("rule", RULES)
def test_energy_curve_starts_at_the_probe_and_never_rises(rule, random_set):
    patterns, probes = random_set
    probes = pattern_data.flip(probes, 0.3, random_state=2)
    net = HopfieldNetwork(rule=rule, order="random", random_state=0).fit(patterns)
    result = net.recall(probes)
    assert result.energy.shape == (len(probes), result.n_sweeps.max() + 1)
    assert_allclose(result.energy[:, 0], net.energy(probes), rtol=1e-9)
    assert_allclose(result.energy[:, -1], net.energy(result.states), rtol=1e-9)
    assert np.all(np.diff(result.energy, axis=1) <= 1e-9)


def test_energy_matches_reference(random_set):
    patterns, probes = random_set
    net = HopfieldNetwork().fit(patterns)
    assert_array_equal(net.energy(probes),
                       reference.hopfield_energy(reference.hopfield_hebbian(patterns), probes,
                                                 1 / 200))


def test_same_random_state_same_result_and_input_untouched(random_set):
    patterns, probes = random_set
    kept = probes.copy()
    net = HopfieldNetwork(temperature=0.5, max_sweeps=3, random_state=4).fit(patterns)
    a, b = net.predict(probes), net.predict(probes)
    assert_array_equal(a, b)
    assert_array_equal(probes, kept)
    c = net.set_params(random_state=5).predict(probes)
    assert not np.array_equal(a, c)


def test_partial_fit_equals_fit(random_set):
    patterns, probes = random_set
    for rule in RULES:
        whole = HopfieldNetwork(rule=rule, weight_dtype="float64").fit(patterns)
        parts = HopfieldNetwork(rule=rule, weight_dtype="float64")
        parts.partial_fit(patterns[:4]).partial_fit(patterns[4:])
        assert_allclose(parts.weights_, whole.weights_, rtol=0, atol=1e-12)
    grown = HopfieldNetwork().partial_fit(pattern_data.random_patterns(100, 50, random_state=1))
    grown.partial_fit(pattern_data.random_patterns(40, 50, random_state=2))
    assert grown.weights_.dtype == np.int16 and grown.n_patterns_ == 140


def test_set_weights():
    weights = np.array([[0.0, 1.0, -2.0], [1.0, 0.0, 0.5], [-2.0, 0.5, 0.0]])
    net = HopfieldNetwork(update="sync").set_weights(weights)
    assert net.n_units_ == 3 and net.weights_.dtype == np.float64
    # E = -1/2 sum_ij W_ij s_i s_j = -1/2 * 2 * (1 - 2 + 0.5) = 0.5
    assert_allclose(net.energy([[1, 1, 1]]), [0.5])
    with pytest.raises(ValueError, match="partial_fit cannot add patterns to weights"):
        net.partial_fit([[1, 1, 1]])


def test_save_and_load(tmp_path, random_set):
    pytest.importorskip("h5py")
    from fastnn.models._io import load_model
    patterns, probes = random_set
    net = HopfieldNetwork(rule="storkey", random_state=3).fit(patterns)
    net.save(tmp_path / "net.h5")
    back = load_model(tmp_path / "net.h5")
    assert_array_equal(back.predict(probes), net.predict(probes))
    back.partial_fit(patterns[:1])


# ----------------------------------------------------------------- errors


BAD_PATTERNS = [
    ([[1, -1, 0.5]], ValueError, r"patterns must hold only -1 and \+1, or only 0 and 1; got 0\.5 at \[0, 2\]"),
    ([[1, -1], [0, 1]], ValueError, r"patterns must hold only -1 and \+1, or only 0 and 1; got both -1 \(at \[0, 1\]\) and 0 \(at \[1, 0\]\)"),
    ([[2, 2]], ValueError, r"patterns must hold only -1 and \+1, or only 0 and 1; got 2 at \[0, 0\]"),
    (np.empty((0, 5)), ValueError, r"patterns must have at least 1 sample; got 0"),
    ([1, -1, 1], ValueError, r"patterns must be 2-dimensional"),
    ([[1, np.nan]], ValueError, r"patterns must be finite"),
    ([["a", "b"]], TypeError, r"patterns must hold numbers"),
]


@pytest.mark.parametrize("patterns,error,message", BAD_PATTERNS)
def test_bad_patterns(patterns, error, message):
    with pytest.raises(error, match=message):
        HopfieldNetwork().fit(patterns)


def test_bad_probes(random_set):
    patterns, _ = random_set
    net = HopfieldNetwork().fit(patterns)
    with pytest.raises(ValueError, match=r"probes has 199 units per row, but the network was "
                                         r"fitted with 200\."):
        net.predict(patterns[:, 1:])
    with pytest.raises(ValueError, match=r"probes must hold only -1 and \+1, the values of the "
                                         r"patterns the network was fitted with; got 0 at \[0, 0\]"):
        net.predict(np.zeros((1, 200), dtype=int))
    with pytest.raises(ValueError, match=r"states has 3 units per row"):
        net.energy([[1, 1, 1]])
    binary = HopfieldNetwork().fit((patterns + 1) // 2)
    with pytest.raises(ValueError, match=r"probes must hold only 0 and 1, the values"):
        binary.recall(patterns)


def test_not_fitted():
    with pytest.raises(NotFittedError):
        HopfieldNetwork().predict([[1, -1]])


BAD_WEIGHTS = [
    ([[0.0, np.inf], [np.inf, 0.0]], r"weights must be finite"),
    ([[0.0, np.nan], [np.nan, 0.0]], r"weights must be finite"),
    ([[0.0, 1.0, 2.0], [1.0, 0.0, 2.0]], r"weights must be a square matrix of shape \(n_units, "
                                         r"n_units\); got shape \(2, 3\)"),
    ([[0.0, 0.5], [0.25, 0.0]], r"weights must be symmetric; got weights\[0, 1\] = 0\.5 but "
                                r"weights\[1, 0\] = 0\.25\. Symmetrise it"),
    ([[0.0, 1.0], [1.0, -1.0]], r"weights must have a non-negative diagonal; got -1\.0 at \[1, 1\]"),
    # finite, but the energy was -inf
    ([[0.0, 1e308], [1e308, 0.0]], r"weights must be on a scale whose local fields and energy are "
                                   r"finite in float64: the sum of \|weights\| must be at most "
                                   r"1\.798e\+308; got inf\. Scale weights down"),
]


@pytest.mark.parametrize("weights,message", BAD_WEIGHTS)
def test_bad_weights(weights, message):
    with pytest.raises(ValueError, match=message):
        HopfieldNetwork().set_weights(weights)


def test_weights_too_large_for_float32_are_refused_and_large_ones_work():
    """weight_dtype='float32' checks the weights' scale in float32 (1e300 was
    stored as inf, and energies were NaN); a scale float32 holds recalls as
    the same weights at scale 1."""
    big = np.array([[0.0, 1e300, -1e300], [1e300, 0.0, 1e300], [-1e300, 1e300, 0.0]])
    with pytest.raises(ValueError, match=r"finite in float32: the sum of \|weights\| must be at "
                                         r"most 3\.403e\+38; got 6e\+300"):
        HopfieldNetwork(weight_dtype="float32").set_weights(big)
    probes = np.array([[1, -1, 1], [-1, -1, 1], [1, 1, 1]])
    want = HopfieldNetwork(update="sync").set_weights(np.sign(big))
    for dtype, scale in (("float64", 1e300), ("float32", 1e37)):
        net = HopfieldNetwork(update="sync", weight_dtype=dtype).set_weights(np.sign(big) * scale)
        assert np.isfinite(net.energy(probes)).all()
        assert_array_equal(net.predict(probes), want.predict(probes))


@pytest.mark.parametrize("alphabet", [(-1.5, 1), ("a", "b"), (-1, 1, 0), (1, -1), 1])
def test_set_weights_refuses_other_alphabets(alphabet):
    """(-1.5, 1) was truncated to (-1, 1); ('a', 'b') raised int()'s error."""
    with pytest.raises(ValueError, match=r"alphabet must be \(-1, 1\) or \(0, 1\); got "
                                         + re.escape(repr(alphabet))):
        HopfieldNetwork().set_weights(np.zeros((3, 3)), alphabet=alphabet)
    for ok in ((-1, 1), (0, 1), (0.0, 1.0), np.array([-1, 1], dtype=np.int8)):
        assert HopfieldNetwork().set_weights(np.zeros((3, 3)), alphabet=ok).alphabet_.tolist() \
            == list(np.ravel(ok).astype(int))


BAD_PARAMS = [
    (dict(rule="hebb"), ValueError, r"rule must be one of \['hebbian', 'pseudoinverse', 'storkey'\]; got 'hebb'"),
    (dict(update="parallel"), ValueError, r"update must be one of \['async', 'sync'\]; got 'parallel'"),
    (dict(order="shuffle"), ValueError, r"order must be one of \['permutation', 'random', 'sequential'\]"),
    (dict(max_sweeps=0), ValueError, r"max_sweeps must be an int >= 1; got 0"),
    (dict(max_sweeps=2.5), TypeError, r"max_sweeps must be an int; got float 2\.5"),
    (dict(temperature=-1.0), ValueError, r"temperature must be a finite float >= 0\.0; got -1\.0"),
    (dict(temperature=float("nan")), ValueError, r"temperature must be a finite float"),
    (dict(zero_diagonal="yes"), TypeError, r"zero_diagonal must be a bool; got str 'yes'"),
    (dict(rule="storkey", zero_diagonal=False), ValueError, r"zero_diagonal must be True or None for rule='storkey'"),
    (dict(weight_dtype="int8"), ValueError, r"weight_dtype must be one of \['auto', 'float32', 'float64'\]"),
    (dict(random_state="seed"), TypeError, r"random_state must be an int, a numpy Generator"),
    (dict(random_state=-3), ValueError, r"random_state must be an int >= 0, a numpy Generator or "
                                        r"RandomState, or None; got -3\."),
]


@pytest.mark.parametrize("params,error,message", BAD_PARAMS)
def test_bad_parameters(params, error, message):
    with pytest.raises(error, match=message):
        HopfieldNetwork(**params).fit([[1, -1, 1], [-1, 1, 1]]).predict([[1, 1, 1]])


def test_partial_fit_refuses_a_changed_rule(random_set):
    patterns, _ = random_set
    net = HopfieldNetwork().fit(patterns)
    with pytest.raises(ValueError, match=r"rule, zero_diagonal and weight_dtype must stay"):
        net.set_params(rule="storkey").partial_fit(patterns)


# ----------------------------------------------------------------- data and recipes


def test_pattern_helpers():
    letters, shape = pattern_data.letters("AXT")
    assert letters.shape == (3, 100) and shape == (10, 10) and letters.dtype == np.int8
    assert letters[0].reshape(shape)[0].tolist() == [-1] * 4 + [1, 1] + [-1] * 4   # A's apex
    digits, shape = pattern_data.digits(upscale=2)
    assert digits.shape == (10, 256) and shape == (16, 16)
    noisy = pattern_data.flip(letters, 0.1, random_state=0)
    assert_array_equal((noisy != letters).sum(axis=1), 10)            # exactly 10% flipped
    binary = pattern_data.flip((letters + 1) // 2, 0.1, random_state=0)
    assert_array_equal(binary, (noisy + 1) // 2)                       # same alphabet back
    hidden = pattern_data.occlude(letters, 0.3)
    assert np.all(hidden[:, 70:] == -1)
    assert_array_equal(hidden[:, :70], letters[:, :70])
    assert_allclose(pattern_data.overlap(noisy, letters), 0.8)
    with pytest.raises(ValueError, match=r"names must be letters among 'ABCDEFHJLTXZ'; got 'Q'"):
        pattern_data.letters("AQ")
    with pytest.raises(ValueError, match=r"fraction must be a finite float in \[0\.0, 1\.0\]; got 1\.5"):
        pattern_data.flip(letters, 1.5)


def test_critical_load_interpolates():
    from fastnn.experiments.recipes.hopfield import _critical_load
    assert _critical_load([0.1, 0.2, 0.3], [1.0, 0.95, 0.85], 0.9) == pytest.approx(0.25)
    assert np.isnan(_critical_load([0.1, 0.2], [1.0, 0.95], 0.9))


def test_recipes_run():
    from fastnn.experiments import registry
    recall = registry.get("hopfield-recall")
    result = recall.func(0, n_probes_per_pattern=1, compare_rules=False)
    assert result.metrics["stored_fixed_points"] == 1.0                # pseudo-inverse
    assert result.metrics["noisy_exact_recall"] >= 0.75
    assert result.arrays["noisy_recalled"].shape == (12, 100)
    capacity = registry.get("hopfield-capacity")
    result = capacity.func(0, sizes=(60,), loads=(0.05, 0.5), n_seeds=1, n_probes=10)
    assert result.metrics["critical_load_hebbian_n60"] < 0.5
    assert result.arrays["overlap_storkey_n60"].shape == (1, 2)
    assert result.arrays["overlap_hebbian_n60"][0, 0] > 0.9


def test_draw_seed_of_an_int_is_kept_and_of_a_generator_drawn():
    """An int seed gives default_rng's draw, the same at every call (kept, as
    default_rng costs as much as a small recall); a Generator or RandomState
    is drawn from at every call, None draws fresh entropy."""
    for seed in (0, 11, np.int64(11), 2**40):
        assert _draw_seed(seed) == int(np.random.default_rng(int(seed)).integers(2**63 - 1))
        assert _draw_seed(seed) == _draw_seed(seed)
    g = np.random.default_rng(5)
    assert _draw_seed(g) != _draw_seed(g)
    rs = np.random.RandomState(5)
    assert _draw_seed(rs) != _draw_seed(rs)
    assert _draw_seed(None) != _draw_seed(None)
    with pytest.raises(ValueError):
        _draw_seed(-1)


@pytest.mark.parametrize("rule", ["hebbian", "storkey"])
def test_small_networks_run_the_cached_kernels(rule, monkeypatch):
    # small work runs the cached parallel twins on the calling thread, not the
    # serial twins, which every new process would compile (about 3 s)
    from fastnn.kernels import hopfield as kernels

    def compiled_anew(*args):
        raise AssertionError("the model ran a serial twin")
    names = ["hebbian", "storkey", "local_fields", "local_fields_lockstep", "hebbian_fields",
             "energy", "settle"]
    for name in names:
        monkeypatch.setattr(kernels, name + "_serial", compiled_anew)
    patterns = pattern_data.random_patterns(3, 40, random_state=0)
    net = HopfieldNetwork(rule=rule, random_state=0).fit(patterns)
    assert_array_equal(net.predict(patterns), patterns)
    net.energy(patterns)
    used = [getattr(kernels, name) for name in names if getattr(kernels, name).signatures]
    assert used and all(k._cache.load_overload(sig, k.targetctx) is not None
                        for k in used for sig in k.signatures)


def test_the_warm_up_compiles_the_signatures_the_models_call():
    # the experiments layer runs warmup() before its workers start; a signature it
    # compiles that the models never call (a bool where they pass a thread count)
    # is compile time spent twice on every new machine
    import numba

    from fastnn.kernels import hopfield as kernels
    from fastnn.models.hopfield import warmup

    names = ("hebbian", "storkey", "local_fields", "local_fields_lockstep", "hebbian_fields",
             "energy", "settle")
    warmup()
    warmed = {name: set(getattr(kernels, name).signatures) for name in names}
    for name, sigs in warmed.items():
        assert sigs and all(sig[-1] == numba.types.int64 for sig in sigs), (name, sigs)
    rng = np.random.default_rng(0)
    for n_patterns, kw in ((3, {}), (130, {}), (3, dict(rule="storkey")),
                           (3, dict(rule="pseudoinverse", weight_dtype="float64"))):
        P = np.where(rng.random((n_patterns, 40)) < 0.5, 1, -1)
        for n_threads in (1, 2):
            with threads(n_threads):
                net = HopfieldNetwork(random_state=0, **kw).fit(P)
                net.energy(net.predict(P[:2]))
    for name in names:
        assert set(getattr(kernels, name).signatures) == warmed[name], name


# ----------------------------------------------------------------- memory of recall


def _five_patterns():
    """P: five random +-1 patterns of 64 units; four probes with 6 units flipped."""
    patterns = np.random.default_rng(0).choice([-1, 1], size=(5, 64)).astype(np.int8)
    probes = patterns[:4].copy()
    probes[:, :6] *= -1
    return patterns, probes


@pytest.mark.parametrize("max_sweeps", [10**7, 10**12])
def test_recall_memory_follows_the_sweeps_run_not_max_sweeps(max_sweeps):
    import tracemalloc
    patterns, probes = _five_patterns()
    net = HopfieldNetwork(max_sweeps=100, random_state=0).fit(patterns)
    expected = net.recall(probes)
    net.set_params(max_sweeps=max_sweeps)
    tracemalloc.start()   # (NumPy reports its arrays to tracemalloc)
    try:
        got = net.recall(probes)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # 10**7 sweeps took 320 MB of energies (545 MB at the peak); 10**12, a MemoryError
    assert peak < 20 * 2**20
    assert got.converged.all() and got.energy.shape == (4, got.n_sweeps.max() + 1)
    for name in ("states", "n_sweeps", "converged", "energy", "n_flips"):
        assert_array_equal(getattr(got, name), getattr(expected, name))


@pytest.mark.parametrize("update,order,temperature", [
    ("async", "permutation", 0.0), ("async", "random", 0.0), ("async", "sequential", 0.0),
    ("sync", "permutation", 0.0), ("async", "permutation", 0.3), ("sync", "permutation", 0.3)])
def test_recall_that_restarts_with_more_sweeps_gives_the_same_bits(update, order, temperature,
                                                                   random_set, monkeypatch):
    from fastnn.models import hopfield
    patterns, probes = random_set
    net = HopfieldNetwork(update=update, order=order, temperature=temperature, max_sweeps=70,
                          random_state=4).fit(patterns)
    expected = net.recall(probes)   # one run of 70 sweeps
    runs = []
    monkeypatch.setattr(hopfield, "_first_sweeps", lambda *args: 1)   # 1, then 8, 64, 70
    monkeypatch.setattr(hopfield, "_energy_buffer",
                        lambda n, sweeps, m: runs.append(sweeps) or np.empty((n, sweeps + 1)))
    got = net.recall(probes)
    assert runs[0] == 1 and len(runs) > 1 and runs[-1] <= 70
    for name in ("states", "n_sweeps", "converged", "energy", "n_flips"):
        assert_array_equal(getattr(got, name), getattr(expected, name))


def test_energies_too_big_for_memory_name_max_sweeps():
    from fastnn.models.hopfield import _energy_buffer
    with pytest.raises(MemoryError, match=r"max_sweeps \(1000000000000\) is too large for memory.*"
                                          r"lower max_sweeps"):
        _energy_buffer(4, 10**12, 10**12)
    with pytest.raises(MemoryError, match=r"max_sweeps \(1000000000000000000000\)"):
        _energy_buffer(4, 10**21, 10**21)


@pytest.mark.parametrize("rule", ["hebbian", "storkey"])
def test_a_network_from_a_read_only_memmap_recalls_and_adds_without_new_kernels(rule, random_set,
                                                                                  tmp_path):
    # joblib.load(mmap_mode="r") gives read-only arrays; the kernels get writeable
    # copies, so nothing is compiled again for them and the Storkey sums can grow
    from fastnn.kernels import hopfield as kernels
    from tests.models.readonly import memmapped, read_only_signatures

    patterns, probes = random_set
    net = HopfieldNetwork(rule=rule, random_state=0).fit(patterns[:6])
    back = memmapped(net, tmp_path)
    assert_array_equal(back.predict(probes), net.predict(probes))
    assert_array_equal(back.energy(patterns), net.energy(patterns))
    back.partial_fit(patterns[6:])
    net.partial_fit(patterns[6:])
    assert_array_equal(back.weights_, net.weights_)
    assert_array_equal(back.predict(probes), net.predict(probes))
    assert read_only_signatures(kernels) == []
