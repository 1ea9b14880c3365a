"""Scratch and parameter arrays laid out for the kernels' vector loops.

The inner loops load and store whole rows (128 hidden units, 1440 pooled
values) 64 bytes at a time. A row that starts in the middle of a 64-byte cache
line makes every such load touch two lines: the CNN's batch-64 step ran 16%
slower with its activation rows 138 floats apart and its head's weight rows
16 bytes off a line. These helpers place such rows on line boundaries; the
kernels read strides from the arrays' shapes, so the values and their bits do
not change, only where they sit.
"""
import numpy as np

LINE = 64   # bytes


def aligned_zeros(n, dtype, first=0):
    """A zeroed 1-D array of ``n`` whose element ``first`` starts a cache line."""
    dtype = np.dtype(dtype)
    per_line = LINE // dtype.itemsize
    buf = np.zeros(n + per_line, dtype=dtype)
    skip = (-(buf.ctypes.data // dtype.itemsize) - first) % per_line
    return buf[skip:skip + n]


def is_aligned(a, first=0):
    """Whether element ``first`` of the 1-D array ``a`` starts a cache line."""
    return (a.ctypes.data + first * a.itemsize) % LINE == 0


def realigned(a, first=0):
    """``a`` itself when element ``first`` starts a cache line, else an aligned copy."""
    if is_aligned(a, first):
        return a
    out = aligned_zeros(a.shape[0], a.dtype, first)
    out[:] = a
    return out


def padded_rows(n_rows, n_cols, dtype):
    """A zeroed C-contiguous (n_rows, m) array, ``m >= n_cols`` a whole
    number of cache lines, each row starting a line. Kernels that take their row
    stride from ``shape[1]`` use the first ``n_cols`` columns."""
    dtype = np.dtype(dtype)
    per_line = LINE // dtype.itemsize
    width = -(-n_cols // per_line) * per_line
    flat = aligned_zeros(n_rows * width, dtype)
    return flat.reshape(n_rows, width)
