"""Numba kernels: pure functions over preallocated arrays.

Kernels import only numba and numpy. They do not validate, allocate in hot
loops or touch Python objects; the models do all of that before calling them.
"""
