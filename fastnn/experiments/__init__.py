"""Batch experiments: recipes, sweeps, runners, the HDF5 results store, loading.

>>> from fastnn import experiments
>>> result = experiments.run("xor-bp", seed=0, epochs=2000)
>>> experiments.sweep("sweep.toml", out="results.h5", workers=2)
>>> table = experiments.load("results.h5")           # one row per run
>>> curves = experiments.load_curves("results.h5", "loss")

Nothing here imports numba, dask, pandas or matplotlib until a run needs them.
"""
from .load import load, load_curves, load_run
from .registry import Recipe, Result, get, names, recipe
from .runners import run
from .store import MemoryStore, StoreError, open_store, recover
from .sweep import SpecError, SweepInterrupted, parse_spec, sweep

__all__ = ["run", "sweep", "load", "load_curves", "load_run", "recipe", "Recipe", "Result",
           "get", "names", "open_store", "recover", "MemoryStore", "StoreError", "SpecError",
           "SweepInterrupted", "parse_spec"]
