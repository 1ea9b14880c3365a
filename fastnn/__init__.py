"""fastnn: the classic neural networks as fast Numba kernels.

Models follow scikit-learn's conventions; ``fastnn.experiments`` runs the
article's recipes and sweeps and stores every run in HDF5.
"""
__version__ = "0.1.0"

from ._threads import threads
from .models.gradcheck import check_gradients
from .models.linear import LinearClassifier
from .models.mlp import MLPClassifier, MLPRegressor


def load(path):
    """Load a model saved with ``model.save(path)``."""
    from .models._io import load_model
    return load_model(path)


__all__ = ["MLPClassifier", "MLPRegressor", "LinearClassifier", "check_gradients", "load",
           "threads", "__version__"]
