"""The on-disk kernel cache follows edits to any kernel module (``fastnn.kernels._cache``)."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import fastnn
from fastnn.kernels import _cache

# dense.epoch_order draws with rng.randint, inlined from another module
_RUN = """
import json
import numpy as np
from fastnn.kernels import dense
order = np.empty(12, np.int64)
dense.epoch_order(dense.REPLACEMENT, 3, 0, order)
stats = dense.epoch_order.stats
hits, misses = sum(stats.cache_hits.values()), sum(stats.cache_misses.values())
print(json.dumps([order.tolist(), hits, misses]))
"""


def _run(root, cache):
    env = dict(os.environ, PYTHONPATH=str(root), NUMBA_CACHE_DIR=str(cache))
    env.pop("NUMBA_DISABLE_JIT", None)
    out = subprocess.run([sys.executable, "-c", _RUN], env=env, cwd=root, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_an_edit_to_a_callee_module_recompiles_its_cached_callers(tmp_path):
    """Numba's own stamp hashes only the defining file: a cached ``dense`` kernel
    kept the old ``rng`` code it had inlined. The package-wide stamp recompiles it."""
    root = tmp_path / "src"
    shutil.copytree(Path(fastnn.__file__).parent, root / "fastnn",
                    ignore=shutil.ignore_patterns("__pycache__"))
    cache = tmp_path / "cache"
    first, hits, misses = _run(root, cache)
    assert (hits, misses) == (0, 1)
    again, hits, misses = _run(root, cache)
    assert again == first and (hits, misses) == (1, 0)      # the cache is used

    rng = root / "fastnn" / "kernels" / "rng.py"
    text = rng.read_text()
    assert "0x9E3779B97F4A7C15" in text
    rng.write_text(text.replace("0x9E3779B97F4A7C15", "0x9E3779B97F4A7C17"))
    edited, hits, misses = _run(root, cache)
    assert (hits, misses) == (0, 1)
    fresh, _, _ = _run(root, tmp_path / "empty")
    assert edited == fresh and edited != first


def test_the_stamp_covers_every_kernel_module_and_only_them(tmp_path):
    kernels = Path(_cache.__file__).parent
    names = sorted(p.name for p in kernels.glob("*.py"))
    assert {"dense.py", "simd.py", "rng.py", "activations.py"} <= set(names)
    classes = _cache._numba("CacheImpl")._locator_classes
    locators = [c for c in classes if issubclass(c, _cache._KernelsStamp)]
    assert len(locators) == 3 and classes[:3] == locators   # first, and installed once
    _cache.install()
    assert [c for c in classes if issubclass(c, _cache._KernelsStamp)] == locators
    outside = tmp_path / "elsewhere.py"
    outside.write_text("def f():\n    return 1\n")
    assert all(c.from_function(len, str(outside)) is None for c in locators)


@pytest.mark.needs_jit
def test_an_unreadable_package_folder_falls_back_to_numbas_own_stamp(monkeypatch, tmp_path):
    from fastnn.kernels import dense

    py_func, py_file = dense.epoch_order.py_func, dense.__file__
    classes = _cache._numba("CacheImpl")._locator_classes
    locator = next(loc for loc in (c.from_function(py_func, py_file) for c in classes[:3]) if loc)
    assert locator.get_source_stamp() == _cache.kernels_stamp()
    own = type(locator).__bases__[1].get_source_stamp(locator)   # Numba's locator's stamp
    assert own != _cache.kernels_stamp()
    monkeypatch.setattr(_cache, "_KERNELS", str(tmp_path / "gone"))
    _cache.kernels_stamp.cache_clear()
    try:
        assert locator.get_source_stamp() == own
    finally:
        monkeypatch.undo()
        _cache.kernels_stamp.cache_clear()
