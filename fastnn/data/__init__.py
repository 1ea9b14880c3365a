"""Datasets: XOR, scikit-learn's 8x8 digits, and IDX files (MNIST).

Every loader returns plain NumPy arrays. MNIST is read from local files
(`find_mnist` says where it looks); nothing is downloaded.
"""
from .digits import load_digits, nudge_digits
from .idx import IDXError, read_idx, write_idx
from .mnist import find_mnist, load_mnist
from .xor import xor

__all__ = ["IDXError", "find_mnist", "load_digits", "load_mnist", "nudge_digits", "read_idx",
           "write_idx", "xor"]
