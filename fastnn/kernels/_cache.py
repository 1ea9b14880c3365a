"""Numba's on-disk cache, kept valid across the kernel modules.

Numba checks a cached function against a hash of the one file that defines it.
A kernel's compiled code also holds everything it calls from the other kernel
modules: helpers inlined from ``activations``, ``losses`` and ``rng``, the
intrinsics of ``simd``, and the code of every compiled function it calls. An
edit to one of those (a developer's, or a new release over a cache in the
user's cache folder) left the callers' cached code stale: the old helper ran,
with nothing to say so.

Here a kernel function's stamp is a hash of every module of this package, so
any change to any of them recompiles every kernel once. Functions outside
``fastnn.kernels`` keep Numba's own locators and stamps.
"""
import functools
import hashlib
import os

from numba.core import caching

_KERNELS = os.path.dirname(os.path.abspath(__file__))


@functools.cache
def kernels_stamp():
    """SHA-256 of the names and contents of this package's modules, in name order
    (read once a process: a process does not see its own sources change)."""
    digest = hashlib.sha256()
    for name in sorted(os.listdir(_KERNELS)):
        if name.endswith(".py"):
            with open(os.path.join(_KERNELS, name), "rb") as f:
                digest.update(name.encode() + b"\0" + f.read() + b"\0")
    return digest.digest()


class _KernelsStamp:
    """A locator mixin: the package-wide stamp, for functions defined in this package."""

    def get_source_stamp(self):
        try:
            return kernels_stamp()
        except OSError:   # the package's folder unreadable: Numba's own stamp
            return super().get_source_stamp()

    @classmethod
    def from_function(cls, py_func, py_file):
        if os.path.dirname(os.path.abspath(py_file)) != _KERNELS:
            return None
        return super().from_function(py_func, py_file)


def _numba(name):
    """``numba.core.caching``'s ``name`` (public in recent Numba, with a leading
    underscore in older ones)."""
    return getattr(caching, name, None) or getattr(caching, "_" + name, None)


def _locators():
    """Numba's source-file locators, each with the package-wide stamp, in Numba's order."""
    out = []
    for name in ("UserProvidedCacheLocator", "InTreeCacheLocator", "UserWideCacheLocator"):
        base = _numba(name)
        if base is not None:
            out.append(type("Kernels" + name, (_KernelsStamp, base), {}))
    return out


def install():
    """Put the kernel locators ahead of Numba's (once; before any kernel is decorated).

    Numba keeps its locators in ``CacheImpl._locator_classes``; where a Numba
    version lacks it, its own per-file stamps stay in force.
    """
    classes = getattr(_numba("CacheImpl"), "_locator_classes", None)
    if not isinstance(classes, list) or any(issubclass(c, _KernelsStamp) for c in classes):
        return
    classes[:0] = _locators()
