"""Numba kernels: pure functions over preallocated arrays.

Kernels import only numba and numpy. They do not validate, allocate in hot
loops or touch Python objects; the models do all of that before calling them.
"""
from .._notice import install as _install_compile_notice
from ._cache import install as _install_cache_locators

_install_cache_locators()   # before any kernel module is decorated (see _cache)
_install_compile_notice()   # a line when a kernel compiles for long (fastnn._notice)
