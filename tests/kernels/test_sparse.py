"""The CSR row kernels that fill and clear a dense buffer of a run of rows."""
import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_array_equal

from fastnn.kernels import sparse


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(1, 30), d=st.integers(1, 20),
       density=st.floats(0.0, 1.0), bounds=st.tuples(st.integers(0, 30), st.integers(0, 30)),
       dtype=st.sampled_from([np.float32, np.float64]), index=st.sampled_from([np.int32, np.int64]))
def test_scatter_writes_the_runs_rows_and_clear_leaves_zeros(seed, n, d, density, bounds, dtype,
                                                            index):
    X = sp.random(n, d, density=density, format="csr", random_state=seed, dtype=dtype)
    X.indptr, X.indices = X.indptr.astype(index), X.indices.astype(index)
    start, stop = sorted(min(b, n) for b in bounds)
    out = np.zeros((max(stop - start, 1) + 2, d), dtype)   # a buffer longer than the run
    sparse.scatter_rows(X.indptr, X.indices, X.data, start, stop, out)
    assert_array_equal(out[:stop - start], X[start:stop].toarray())
    assert not out[stop - start:].any()
    sparse.clear_rows(X.indptr, X.indices, start, stop, out)
    assert not out.any()
