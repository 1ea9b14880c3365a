"""The XOR problem: the four points the article's first network learns."""
import numpy as np

from .._validation import check_dtype

__all__ = ["xor"]


def xor(dtype=np.float64):
    """The four XOR points and their labels.

    Parameters
    ----------
    dtype : {'float64', 'float32'} or NumPy float type
        dtype of ``X``.

    Returns
    -------
    X : ndarray of shape (4, 2)
        ``[0, 0], [0, 1], [1, 0], [1, 1]``, in that order.
    y : ndarray of shape (4,), int64
        ``[0, 1, 1, 0]``: x0 XOR x1.
    """
    dtype = check_dtype(dtype)
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=dtype)
    y = np.array([0, 1, 1, 0], dtype=np.int64)
    return X, y
