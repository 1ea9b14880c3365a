"""Numba kernels: pure functions over preallocated arrays.

Kernels import only numba and numpy. They do not validate, allocate in hot
loops or touch Python objects; the models do all of that before calling them.
"""
from ._cache import install as _install_cache_locators

_install_cache_locators()   # before any kernel module is decorated (see _cache)
