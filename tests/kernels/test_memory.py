"""kernels.memory: arrays whose rows start cache lines."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from fastnn.kernels import memory


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 300), first=st.integers(0, 299),
       dtype=st.sampled_from([np.float32, np.float64, np.int64]))
def test_aligned_zeros_puts_element_first_on_a_line(n, first, dtype):
    first = min(first, n - 1)
    a = memory.aligned_zeros(n, dtype, first)
    assert a.shape == (n,) and a.dtype == dtype and a.flags.c_contiguous
    assert (a.ctypes.data + first * a.itemsize) % memory.LINE == 0
    assert memory.is_aligned(a, first)
    assert not a.any()


def test_realigned_copies_only_when_needed():
    src = np.arange(50, dtype=np.float32)
    for first in (0, 7, 16):
        out = memory.realigned(src, first)
        assert memory.is_aligned(out, first)
        np.testing.assert_array_equal(out, src)
        assert memory.realigned(out, first) is out       # already aligned: the same array
    off = memory.aligned_zeros(51, np.float32)[1:]     # 4 bytes past a line
    off[:] = src
    assert not memory.is_aligned(off)
    out = memory.realigned(off)
    assert out is not off and memory.is_aligned(out)
    np.testing.assert_array_equal(out, src)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_cols", [1, 10, 16, 138, 1440])
def test_padded_rows_are_whole_lines(dtype, n_cols):
    a = memory.padded_rows(5, n_cols, dtype)
    per_line = memory.LINE // np.dtype(dtype).itemsize
    assert a.shape[0] == 5 and n_cols <= a.shape[1] < n_cols + per_line
    assert a.shape[1] % per_line == 0 and a.flags.c_contiguous
    assert all(a[r].ctypes.data % memory.LINE == 0 for r in range(5))
