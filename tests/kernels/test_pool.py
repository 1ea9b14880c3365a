"""Max pooling: forward with argmax, backward to the argmax only, ties, threads."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_array_equal

from fastnn._threads import threads
from fastnn.kernels import pool
from tests import reference

KERNELS = [(pool.max_pool, pool.max_pool_backward),
           (pool.max_pool_serial, pool.max_pool_backward_serial)]


def _pool(kernel, a, p):
    n, f, rows, cols = a.shape
    out = np.empty((n, f, rows // p, cols // p), a.dtype)
    arg = np.empty(out.shape, np.int64)
    kernel(a, p, out, arg)
    return out, arg


@pytest.mark.parametrize("forward,backward", KERNELS)
@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 3), f=st.integers(1, 3), p=st.integers(1, 3), ph=st.integers(1, 4),
       pw=st.integers(1, 4), seed=st.integers(0, 2**31), ties=st.booleans())
def test_max_pool_matches_reference(forward, backward, n, f, p, ph, pw, seed, ties):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, f, p * ph, p * pw))
    if ties:  # few distinct values: many tied maxima
        a = np.round(a)
    out, arg = _pool(forward, a, p)
    ref_out, ref_arg = reference.max_pool(a, p)
    assert_array_equal(out, ref_out)
    assert_array_equal(arg, ref_arg)


def test_max_pool_ignores_the_rows_and_columns_beyond_the_last_block():
    a = np.arange(2 * 5 * 7, dtype=np.float64).reshape(1, 2, 5, 7)
    out, arg = _pool(pool.max_pool, a, 2)
    assert out.shape == (1, 2, 2, 3)
    assert_array_equal(out, reference.max_pool(a[:, :, :4, :6], 2)[0])


@pytest.mark.parametrize("block,expected", [
    ([[1.0, 1.0], [1.0, 1.0]], 0),  # all equal: the top-left
    ([[0.0, 2.0], [2.0, 2.0]], 1),  # first maximum in row-major order
    ([[0.0, 0.0], [3.0, 3.0]], 2),
    ([[0.0, 0.0], [0.0, 5.0]], 3),
    ([[-1.0, -1.0], [-2.0, -3.0]], 0),
])
def test_max_pool_ties_go_to_the_first_maximum_in_row_major_order(block, expected):
    a = np.zeros((1, 1, 2, 4))
    a[0, 0, :, 2:] = block
    a[0, 0, :, :2] = -10.0
    out, arg = _pool(pool.max_pool, a, 2)
    r, c = divmod(expected, 2)
    assert arg[0, 0, 0, 1] == r * 4 + 2 + c
    assert out[0, 0, 0, 1] == np.max(block)


@pytest.mark.parametrize("forward,backward", KERNELS)
def test_max_pool_backward_routes_only_to_the_argmax(forward, backward):
    rng = np.random.default_rng(3)
    a = rng.normal(size=(2, 3, 6, 4))
    out, arg = _pool(forward, a, 2)
    g = rng.normal(size=out.shape)
    d = np.full(a.shape, np.nan)  # every position must be written
    backward(g, arg, d)
    mask = np.zeros(a.shape, bool)
    n, f, rows, cols = a.shape
    for i, k, r, c in np.ndindex(*out.shape):
        mask[i, k, arg[i, k, r, c] // cols, arg[i, k, r, c] % cols] = True
    assert_array_equal(d[~mask], 0.0)
    # each block's gradient arrives once, at its maximum
    assert mask.sum() == g.size
    assert_array_equal(np.sort(d[mask]), np.sort(g.ravel()))
    assert_array_equal(np.sort(a[mask]), np.sort(out.ravel()))  # the marked positions hold the maxima
    assert_array_equal(d, reference.max_pool_backward(g, arg, a.shape))


def test_max_pool_backward_is_the_gradient_of_max_pool():
    """Central differences of sum(G * pool(a)) in float64 (distinct values: no ties)."""
    rng = np.random.default_rng(4)
    a = rng.permutation(2 * 4 * 6).astype(np.float64).reshape(1, 2, 4, 6) / 7.0
    out, arg = _pool(pool.max_pool, a, 2)
    g = rng.normal(size=out.shape)
    d = np.empty_like(a)
    pool.max_pool_backward(g, arg, d)
    fd = np.empty_like(a)
    eps = 1e-6
    for idx in np.ndindex(*a.shape):
        up = a.copy()
        up[idx] += eps
        down = a.copy()
        down[idx] -= eps
        fd[idx] = (np.sum(g * _pool(pool.max_pool, up, 2)[0])
                   - np.sum(g * _pool(pool.max_pool, down, 2)[0])) / (2 * eps)
    np.testing.assert_allclose(d, fd, rtol=1e-5, atol=1e-8)


def test_max_pool_float32_and_input_unchanged():
    rng = np.random.default_rng(5)
    a = rng.normal(size=(3, 2, 4, 4)).astype(np.float32)
    before = a.copy()
    out, arg = _pool(pool.max_pool, a, 2)
    assert out.dtype == np.float32
    assert_array_equal(a, before)
    assert_array_equal(out, reference.max_pool(a, 2)[0])


def test_max_pool_same_for_any_thread_count(n_threads):
    rng = np.random.default_rng(6)
    a = rng.normal(size=(16, 3, 8, 8))
    g = rng.normal(size=(16, 3, 4, 4))
    runs = []
    for n in n_threads:
        with threads(n):
            out, arg = _pool(pool.max_pool, a, 2)
            d = np.empty_like(a)
            pool.max_pool_backward(g, arg, d)
        runs.append((out, arg, d))
    for x, y in zip(runs[0], runs[-1]):
        assert_array_equal(x, y)
