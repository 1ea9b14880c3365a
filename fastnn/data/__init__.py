"""Datasets: XOR, scikit-learn's 8x8 digits, and IDX files (MNIST).

Every loader returns plain NumPy arrays. MNIST is read from local files
(`find_mnist` says where it looks); nothing is downloaded.
"""
from .digits import load_digits, nudge_digits
from .idx import IDXError, read_idx, write_idx
from .mnist import find_mnist, load_mnist
from .prices import (features, labels, log_returns, read_ohlc, regime_prices, synthetic_ohlc,
                     synthetic_prices)
from .xor import xor

__all__ = ["IDXError", "features", "find_mnist", "labels", "load_digits", "load_mnist",
           "log_returns", "nudge_digits", "read_idx", "read_ohlc", "regime_prices", "synthetic_ohlc",
           "synthetic_prices", "write_idx", "xor"]
