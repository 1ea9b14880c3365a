"""A fitted model as a user gets it back from a read-only memory map, and the
compiled kernels that took read-only arrays (a Numba type of their own: every
kernel compiled again, 5-30 s a kernel)."""
import joblib
import numpy as np
from numba import types
from numba.core.registry import CPUDispatcher


def memmapped(model, tmp_path):
    """``model`` through ``joblib.dump`` and ``joblib.load(mmap_mode="r")``:
    its arrays come back read-only."""
    path = tmp_path / f"{type(model).__name__}.joblib"
    joblib.dump(model, path)
    back = joblib.load(path, mmap_mode="r")
    arrays = [v for v in vars(back).values() if isinstance(v, np.ndarray) and v.size > 0]
    assert arrays and not any(a.flags.writeable for a in arrays)   # the case is real
    return back


def read_only_signatures(module):
    """``(kernel, signature)`` of every compiled kernel in ``module`` that took a
    read-only array."""
    return [(name, sig) for name, f in vars(module).items() if isinstance(f, CPUDispatcher)
            for sig in f.signatures if any(isinstance(t, types.Array) and not t.mutable for t in sig)]
