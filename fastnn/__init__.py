"""fastnn: the classic neural networks as fast Numba kernels.

Models follow scikit-learn's conventions; ``fastnn.experiments`` runs the
article's recipes and sweeps and stores every run in HDF5. Names are imported
on first use, so ``import fastnn`` stays light (worker processes start fast).
"""
import importlib

__version__ = "0.1.0"

_LAZY = {
    "MLPClassifier": "fastnn.models.mlp",
    "MLPRegressor": "fastnn.models.mlp",
    "LinearClassifier": "fastnn.models.linear",
    "ConvNetClassifier": "fastnn.models.cnn",
    "HopfieldNetwork": "fastnn.models.hopfield",
    "BernoulliRBM": "fastnn.models.rbm",
    "check_gradients": "fastnn.models.gradcheck",
    "threads": "fastnn._threads",
}

__all__ = [*_LAZY, "load", "__version__"]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'fastnn' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))


def load(path):
    """Load a model saved with ``model.save(path)``."""
    from .models._io import load_model
    return load_model(path)
