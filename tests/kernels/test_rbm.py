"""Bernoulli RBM kernels against the NumPy references of tests/reference.py."""
import numba
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastnn._threads import threads
from fastnn.kernels import _parallel, rbm
from tests import reference
from tests.kernels.twins import ways

TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-14)}
NO_UNIFORMS = np.empty(0)


def problem(dtype=np.float64, n_samples=13, n_visible=11, n_hidden=7, seed=0):
    """Grey-level data with exact zeros and ones, an all-zeros and an all-ones row."""
    rng = np.random.RandomState(seed)
    X = rng.rand(n_samples, n_visible)
    X[X < 0.3] = 0.0
    X[X > 0.9] = 1.0
    X[0] = 0.0
    X[1] = 1.0
    W = rng.normal(0, 0.5, (n_visible, n_hidden))
    b = rng.normal(0, 0.5, n_visible)
    c = rng.normal(0, 0.5, n_hidden)
    return tuple(np.ascontiguousarray(a, dtype=dtype) for a in (X, W, b, c))


# ------------------------------------------------------------ probabilities


@pytest.mark.parametrize("threads", [2, 1])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_hidden_probabilities_match_reference(dtype, threads):
    X, W, b, c = problem(dtype)
    out = np.empty((len(X), W.shape[1]), dtype=dtype)
    rbm.hidden_probabilities(X, W, c, out, threads)
    expected = reference.rbm_hidden_probabilities(*(a.astype(np.float64) for a in (X, W, c)))
    assert_allclose(out, expected, **TOL[dtype])


@ways(rbm, "visible_probabilities")
def test_visible_probabilities_match_reference(kernel, threads):
    X, W, b, c = problem()
    h = (np.random.RandomState(1).rand(len(X), W.shape[1]) < 0.5).astype(float)
    out = np.empty_like(X)
    kernel(h, W, b, out, threads)
    assert_allclose(out, reference.rbm_visible_probabilities(h, W, b), **TOL[np.float64])


def test_sigmoid_is_finite_and_saturates_for_huge_inputs():
    # pre-activations of +-1e4 and +-800: no overflow, no NaN, exact 0 or 1 (or
    # below 1e-300) at the ends, 0.5 at 0
    W = np.array([[1e4, -1e4, 800.0, -800.0, 0.0]])
    out = np.empty((1, 5))
    rbm.hidden_probabilities(np.ones((1, 1)), W, np.zeros(5), out, 2)
    assert np.isfinite(out).all()
    assert out[0, 0] == 1.0 and out[0, 2] == 1.0 and out[0, 4] == 0.5
    assert 0.0 <= out[0, 1] < 1e-300 and 0.0 <= out[0, 3] < 1e-300


def test_sigmoid_within_an_ulp_or_two_of_scipy():
    from scipy.special import expit
    x = np.concatenate([np.linspace(-40, 40, 2001), [-700.0, -1e-9, 1e-9, 36.7]])
    out = np.empty((1, len(x)))
    rbm.hidden_probabilities(np.ones((1, 1)), x[None, :].copy(), np.zeros(len(x)), out, 2)
    assert_allclose(out[0], expit(x), rtol=5e-16, atol=0)


def test_float32_sigmoid_within_a_few_ulp_of_scipy_and_finite():
    # float32 models compute the sigmoid in float32: within 3 ulp of expit for
    # results above 1e-30, finite, exact 1 and tiny-but-positive at the ends
    from scipy.special import expit
    x = np.concatenate([np.linspace(-60, 40, 4001), [-1e4, -800.0, -88.5, 1e-9, 17.0, 800.0, 1e4]])
    x = x.astype(np.float32)
    out = np.empty((1, len(x)), dtype=np.float32)
    rbm.hidden_probabilities(np.ones((1, 1), np.float32), x[None, :].copy(),
                             np.zeros(len(x), np.float32), out, 2)
    expected = expit(x.astype(np.float64))
    assert np.isfinite(out).all()
    big = expected > 1e-30
    assert_allclose(out[0, big], expected[big], rtol=3 * 2.0 ** -24, atol=0)
    assert np.all((out[0, ~big] >= 0) & (out[0, ~big] < 2e-38))
    assert out[0, -1] == 1.0 and out[0, -2] == 1.0

# ------------------------------------------------------------------ energies


@pytest.mark.parametrize("threads", [2, 1])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_free_energy_matches_reference(dtype, threads):
    X, W, b, c = problem(dtype)
    out = np.empty(len(X))
    rbm.free_energy(X, W, b, c, out, threads)
    expected = reference.rbm_free_energy(*(a.astype(np.float64) for a in (X, W, b, c)))
    assert_allclose(out, expected, **TOL[dtype])


def test_free_energy_of_zero_weights_is_closed_form():
    # W = 0, b = 0.5, c = 0: F(v) = -0.5 * sum(v) - n_hidden * log 2
    v = np.array([[0.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    out = np.empty(2)
    rbm.free_energy_serial(v, np.zeros((3, 4)), np.full(3, 0.5), np.zeros(4), out, 2)
    assert_allclose(out, [-1.0 - 4 * np.log(2), -4 * np.log(2)], rtol=1e-15)


@ways(rbm, "pseudo_likelihood")
def test_pseudo_likelihood_matches_reference(kernel, threads):
    X, W, b, c = problem()
    flip = np.random.RandomState(2).randint(0, X.shape[1], len(X)).astype(np.int64)
    out = np.empty(len(X))
    kernel(X, W, b, c, flip, out, threads)
    assert_allclose(out, reference.rbm_pseudo_likelihood(X, W, b, c, flip), rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------ sampling


def test_sample_hiddens_monte_carlo_mean_matches_mean_field():
    # 4000 independent draws (steps) of each hidden unit: the sample mean is the
    # mean-field probability within 4 standard errors (sqrt(p(1-p)/4000) <= 0.008)
    X, W, b, c = problem(n_samples=5)
    p = reference.rbm_hidden_probabilities(X, W, c)
    total = np.zeros_like(p)
    out = np.empty_like(p)
    n_draws = 4000
    for step in range(n_draws):
        rbm.sample_hiddens(X, W, c, 7, step, NO_UNIFORMS, out, 2)
        total += out
    assert set(np.unique(out)) <= {0.0, 1.0}
    assert_allclose(total / n_draws, p, atol=4 * 0.5 / np.sqrt(n_draws))


def test_sample_visibles_replay_uses_the_given_numbers():
    X, W, b, c = problem()
    h = (np.random.RandomState(3).rand(len(X), W.shape[1]) < 0.5).astype(float)
    u = np.random.RandomState(4).rand(len(X) * X.shape[1])
    out = np.empty_like(X)
    rbm.sample_visibles(h, W, b, 0, 0, u, out, 2)
    expected = u.reshape(X.shape) < reference.rbm_visible_probabilities(h, W, b)
    assert_array_equal(out, expected.astype(float))


@ways(rbm, "gibbs")
def test_gibbs_replay_follows_scikit_learns_order(kernel, threads):
    # hiddens from the first n_samples * n_hidden numbers, visibles from the rest
    X, W, b, c = problem()
    n, nv = X.shape
    nh = W.shape[1]
    u = np.random.RandomState(5).rand(n * (nh + nv))
    h_out, v_out = np.empty((n, nh)), np.empty_like(X)
    kernel(X, W, b, c, 0, 0, 0, u, h_out, v_out, threads)
    h = (u[:n * nh].reshape(n, nh) < reference.rbm_hidden_probabilities(X, W, c)).astype(float)
    v = (u[n * nh:].reshape(n, nv) < reference.rbm_visible_probabilities(h, W, b)).astype(float)
    assert_array_equal(h_out, h)
    assert_array_equal(v_out, v)


def test_counter_based_sampling_depends_on_seed_and_step_only():
    X, W, b, c = problem(n_samples=40)
    runs = {}
    for seed, step in [(1, 0), (1, 0), (2, 0), (1, 1)]:
        out = np.empty((len(X), W.shape[1]))
        rbm.sample_hiddens(X, W, c, seed, step, NO_UNIFORMS, out, 1)
        runs.setdefault((seed, step), []).append(out)
    assert_array_equal(*runs[(1, 0)])
    assert not np.array_equal(runs[(1, 0)][0], runs[(2, 0)][0])
    assert not np.array_equal(runs[(1, 0)][0], runs[(1, 1)][0])


def test_gibbs_over_runs_of_rows_draws_what_one_call_draws():
    # a run of rows starting at row0 samples with the streams of those rows
    X, W, b, c = problem(n_samples=40)
    nh = W.shape[1]
    h_all, v_all = np.empty((40, nh)), np.empty_like(X)
    rbm.gibbs(X, W, b, c, 9, 3, 0, NO_UNIFORMS, h_all, v_all, 1)
    for start, stop in [(0, 7), (7, 8), (8, 40)]:
        h, v = np.empty((stop - start, nh)), np.empty_like(X[start:stop])
        rbm.gibbs(X[start:stop], W, b, c, 9, 3, start, NO_UNIFORMS, h, v, 1)
        assert_array_equal(h, h_all[start:stop])
        assert_array_equal(v, v_all[start:stop])
    h, v = np.empty((33, nh)), np.empty_like(X[7:])
    rbm.gibbs(X[7:], W, b, c, 9, 3, 0, NO_UNIFORMS, h, v, 1)   # a wrong row0 draws other numbers
    assert not np.array_equal(h, h_all[7:])


# ------------------------------------------------------------------ training


def _train(kernel, X, W, b, c, chain, k, persistent, uniforms, batch_size=5, n_epochs=2,
           seed=0, learning_rate=0.3, threads=2):
    W, b, c, chain = W.copy(), b.copy(), c.copy(), chain.copy()
    used = kernel(X, W, b, c, chain, learning_rate, batch_size, n_epochs, k, persistent, seed,
                  0, uniforms, 0, threads)
    return W, b, c, chain, used


@pytest.mark.parametrize("persistent,k", [(True, 1), (True, 3), (False, 1), (False, 2)])
def test_train_replay_matches_numpy_reference(persistent, k):
    # 13 rows in minibatches of 5: the last one has 3 rows (and, for PCD, 5 chains)
    X, W, b, c = problem()
    W *= 0.1
    chain = (np.random.RandomState(6).rand(5, W.shape[1]) < 0.5).astype(float)
    n_chains = [5, 5, 5] if persistent else [5, 5, 3]
    n_uniforms = 2 * sum(n_chains) * k * (X.shape[1] + W.shape[1])
    u = np.random.RandomState(7).rand(n_uniforms)
    *got, used = _train(rbm.train, X, W, b, c, chain, k, persistent, u)
    expected = reference.rbm_train(X, W, b, c, chain, 0.3, 5, 2, k, persistent, u)
    assert used == n_uniforms
    for g, e in zip(got, expected):
        assert_allclose(g, e, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("n_visible,n_hidden", [(16, 16), (17, 33)])
def test_train_replay_matches_numpy_reference_at_padding_edges(n_visible, n_hidden):
    # the kernel pads rows of its copies of W and W.T to 16 units: sizes on and
    # just past that boundary give the reference's weights, and the caller's W
    # (no padding) gets them
    X, W, b, c = problem(n_samples=12, n_visible=n_visible, n_hidden=n_hidden)
    W *= 0.1
    chain = (np.random.RandomState(9).rand(5, n_hidden) < 0.5).astype(float)
    u = np.random.RandomState(10).rand(2 * 3 * 5 * (n_visible + n_hidden))
    *got, used = _train(rbm.train_serial, X, W, b, c, chain, 1, True, u)
    expected = reference.rbm_train(X, W, b, c, chain, 0.3, 5, 2, 1, True, u)
    assert used == len(u)
    assert got[0].shape == (n_visible, n_hidden)
    for g, e in zip(got, expected):
        assert_allclose(g, e, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("persistent,k", [(True, 1), (False, 2)])
@pytest.mark.parametrize("n_runs", [1, 3])
def test_train_replay_matches_numpy_reference_with_hidden_parts(persistent, k, n_runs):
    # 300 float64 hidden units: the visible sums are added a part of 128 hidden
    # units at a time (the last part 44), the parts' sums then in order; the
    # steps run on 3 runs of units (and of parts), or all on the calling thread
    X, W, b, c = problem(n_samples=12, n_visible=40, n_hidden=300)
    W *= 0.1
    chain = (np.random.RandomState(11).rand(5, 300) < 0.5).astype(float)
    n_chains = [5, 5, 5] if persistent else [5, 5, 2]
    u = np.random.RandomState(12).rand(2 * sum(n_chains) * k * (40 + 300))
    *got, used = _train(rbm.train, X, W, b, c, chain, k, persistent, u, threads=n_runs)
    expected = reference.rbm_train(X, W, b, c, chain, 0.3, 5, 2, k, persistent, u)
    assert used == len(u)
    for g, e in zip(got, expected):
        assert_allclose(g, e, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_train_with_hidden_parts_gives_the_same_bits_on_any_split(dtype):
    # 300 hidden units: 2 parts in float32 (256 units a part), 3 in float64
    # (128): runs of parts (where there are at least as many parts as runs)
    # or of visible units, against the serial twin in float64; in float32
    # against the parallel twin's serial loops (threads=1), which the twins
    # agree on (next test): a float32 serial twin, compiled for this test
    # alone, cost 25 s of the suite on a slow host
    X, W, b, c = problem(dtype, n_samples=40, n_visible=40, n_hidden=300)
    chain = np.zeros((10, 300), dtype=dtype)
    args = (X, W, b, c, chain, 1, True, NO_UNIFORMS)
    one = _train(rbm.train_serial if dtype == np.float64 else rbm.train, *args, batch_size=10,
                 threads=1)
    for n in (2, 3, 5) if dtype == np.float32 else (1, 2, 3, 5):
        for x, y in zip(one, _train(rbm.train, *args, batch_size=10, threads=n)):
            assert_array_equal(x, y)


def test_train_serial_and_parallel_twins_give_the_same_bits():
    # and the parallel twin's serial loops (threads=1), which the models run
    X, W, b, c = problem()
    chain = np.zeros((5, W.shape[1]))
    a = _train(rbm.train, X, W, b, c, chain, 2, True, NO_UNIFORMS)
    for kernel, n in [(rbm.train, 1), (rbm.train_serial, 2)]:
        s = _train(kernel, X, W, b, c, chain, 2, True, NO_UNIFORMS, threads=n)
        for x, y in zip(a, s):
            assert_array_equal(x, y)


@pytest.mark.parametrize("persistent", [True, False])
def test_train_same_bits_for_any_thread_count(persistent, n_threads):
    X, W, b, c = problem(n_samples=40, n_visible=40, n_hidden=20)
    chain = np.zeros((10, W.shape[1]))
    runs = []
    for n in n_threads:
        with threads(n):
            runs.append(_train(rbm.train, X, W, b, c, chain, 1, persistent, NO_UNIFORMS,
                               batch_size=10, threads=n))
    for x, y in zip(*runs):
        assert_array_equal(x, y)



@pytest.mark.parametrize("persistent", [True, False])
def test_minibatches_that_switch_thread_counts_give_the_same_bits(persistent):
    """The parallel twin times its minibatches and runs one's loops on the
    calling thread where that has been faster (a shared core): it tries the
    other way at minibatch ADAPT_FIRST_GAP - 1, then at gaps of ADAPT_FIRST_GAP
    to ADAPT_MAX_GAP. 2 passes of 300 minibatches run both ways, several
    times, and end with the one-thread bits."""
    assert _parallel.ADAPT_FIRST_GAP * 4 < 300
    X, W, b, c = problem(n_samples=600, n_visible=40, n_hidden=20)
    chain = np.zeros((2, W.shape[1]))
    one = _train(rbm.train, X, W, b, c, chain, 1, persistent, NO_UNIFORMS, batch_size=2, threads=1)
    with threads(numba.config.NUMBA_NUM_THREADS):
        many = _train(rbm.train, X, W, b, c, chain, 1, persistent, NO_UNIFORMS, batch_size=2,
                      threads=2)
    for x, y in zip(one, many):
        assert_array_equal(x, y)


@pytest.mark.parametrize("persistent", [True, False])
def test_train_same_bits_for_any_split_of_its_rows(persistent):
    # the parallel loops split the rows (and the weight update's blocks of 16
    # visible units: 40 make three) into `threads` contiguous runs, uneven ones
    # and more runs than rows included; every split gives the one-run bits
    X, W, b, c = problem(n_samples=40, n_visible=40, n_hidden=20)
    chain = np.zeros((10, W.shape[1]))
    runs = [_train(rbm.train, X, W, b, c, chain, 1, persistent, NO_UNIFORMS, batch_size=10,
                   threads=t) for t in (1, 2, 3, 7, 64)]
    for run in runs[1:]:
        for x, y in zip(runs[0], run):
            assert_array_equal(x, y)


@pytest.mark.parametrize("threads", [2, 3, 5, 13, 20])
def test_row_kernels_cover_every_row_for_any_split(threads):
    # outputs start as NaN: a row that no run wrote would show
    X, W, b, c = problem()
    n, nv = X.shape
    nh = W.shape[1]
    flip = np.random.RandomState(2).randint(0, nv, n).astype(np.int64)

    def run(t):
        h_out, v_out = np.full((n, nh), np.nan), np.full((n, nv), np.nan)
        rbm.gibbs(X, W, b, c, 4, 0, 0, NO_UNIFORMS, h_out, v_out, t)
        p, f, pl = np.full((n, nh), np.nan), np.full(n, np.nan), np.full(n, np.nan)
        rbm.hidden_probabilities(X, W, c, p, t)
        rbm.free_energy(X, W, b, c, f, t)
        rbm.pseudo_likelihood(X, W, b, c, flip, pl, t)
        return h_out, v_out, p, f, pl

    one = run(1)
    assert all(np.isfinite(a).all() for a in one)
    for x, y in zip(one, run(threads)):
        assert_array_equal(x, y)

def test_train_does_not_modify_the_data_and_keeps_chains_binary():
    X, W, b, c = problem()
    X0 = X.copy()
    W2, b2, c2, chain, _ = _train(rbm.train, X, W, b, c, np.zeros((5, W.shape[1])), 1, True,
                                  NO_UNIFORMS)
    assert_array_equal(X, X0)
    assert set(np.unique(chain)) <= {0.0, 1.0}
    assert not np.array_equal(W2, W)


def test_train_float32_follows_float64():
    X, W, b, c = problem()
    chain = np.zeros((5, W.shape[1]))
    u = np.random.RandomState(8).rand(2 * 15 * (X.shape[1] + W.shape[1]))
    W64, *_ = _train(rbm.train, X, W, b, c, chain, 1, True, u)
    W32, *_ = _train(rbm.train, *(a.astype(np.float32) for a in (X, W, b, c)),
                     chain.astype(np.float32), 1, True, u)
    assert W32.dtype == np.float32
    assert_allclose(W32, W64, rtol=1e-4, atol=1e-5)


def test_pcd_raises_the_pseudo_likelihood_of_a_two_pattern_set():
    # two complementary patterns, repeated: after training the model prefers them
    X = np.tile(np.array([[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1]], dtype=float), (50, 1))
    rng = np.random.RandomState(0)
    W = np.ascontiguousarray(rng.normal(0, 0.01, (6, 4)))
    b, c = np.zeros(6), np.zeros(4)
    flip = rng.randint(0, 6, len(X)).astype(np.int64)
    before, after = np.empty(len(X)), np.empty(len(X))
    rbm.pseudo_likelihood(X, W, b, c, flip, before, 2)
    rbm.train(X, W, b, c, np.zeros((10, 4)), 0.1, 10, 20, 1, True, 3, 0, NO_UNIFORMS, 0, 2)
    rbm.pseudo_likelihood(X, W, b, c, flip, after, 2)
    assert after.mean() > before.mean() + 1.0
    assert numba.config.NUMBA_NUM_THREADS >= 1
