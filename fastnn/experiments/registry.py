"""The recipe registry: named experiments with the article's defaults.

A recipe is a function ``f(seed, **params) -> Result``. Its keyword defaults
are the article's settings; the registry reads them from the signature, so a
recipe's parameters are documented where they are defined::

    @recipe("xor-bp", family="dense",
            article="outputs near [0, 1, 1, 0] after 10000 epochs",
            headline="max_abs_error")
    def xor_bp(seed, n_hidden=5, learning_rate=0.05, momentum=0.1, epochs=10000):
        ...
        return Result(metrics={"max_abs_error": err, "loss": loss},
                      curves={"loss": model.loss_curve_},
                      arrays={"coefs_0": model.coefs_[0]})
"""
import inspect
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Result:
    """What a recipe returns.

    metrics : scalar results by name (floats or ints), stored as attributes and
        loaded as table columns. Shared names: ``test_accuracy``,
        ``train_accuracy``, ``loss`` (final training loss), ``fit_seconds``,
        ``compile_seconds``.
    curves : 1-D per-epoch arrays by name (e.g. ``loss``, ``test_accuracy``).
    arrays : other arrays to keep (final parameters, confusion matrices...).
    text : strings to keep (e.g. a classification report).
    summary : one line saying what fastnn got, shown beside ``Recipe.article``.
    """
    metrics: dict = field(default_factory=dict)
    curves: dict = field(default_factory=dict)
    arrays: dict = field(default_factory=dict)
    text: dict = field(default_factory=dict)
    summary: str = ""


@dataclass
class Recipe:
    name: str
    func: object
    params: dict          # parameter name -> default
    family: str
    description: str
    article: str          # what the article shows, for the reproduce table
    headline: str         # the metric the reproduce table shows
    reproduce: bool       # part of `fastnn reproduce`
    quick: dict = field(default_factory=dict)  # overrides for `fastnn reproduce --quick`
    warmup: object = None  # optional callable compiling the kernels, run once before workers start
    check: object = None   # optional check(**params): TypeError/ValueError naming a bad value

    def check_params(self, params):
        """Run the recipe's ``check`` on a full set of parameters (defaults
        filled in): a bad value fails here, before any run starts, with the
        parameter's name, rather than inside NumPy in the run."""
        if self.check is not None:
            self.check(**params)

    def resolve(self, params):
        """Defaults updated with ``params``; a clear error for unknown names."""
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            raise ValueError(
                f"recipe {self.name!r} has no parameter {unknown[0]!r}; "
                f"its parameters are {sorted(self.params)}.")
        out = dict(self.params)
        out.update(params)
        return out


_REGISTRY = {}


def recipe(name, family, article="", headline="", reproduce=True, quick=None, warmup=None,
           check=None):
    """Register ``func`` as recipe ``name`` (decorator).

    ``quick`` (dict) are parameter overrides for ``fastnn reproduce --quick``;
    ``warmup`` is an optional no-argument callable that compiles the recipe's
    kernels cheaply; the runners call it in the parent before workers start.
    ``check`` is an optional callable taking the recipe's parameters as
    keywords (all of them, defaults filled in) that raises TypeError or
    ValueError naming a bad one; sweeps call it for every point before any
    run starts, and ``run`` before its run.
    """
    def register(func):
        sig = inspect.signature(func)
        names = list(sig.parameters)
        if not names or names[0] != "seed":
            raise TypeError(f"recipe {name!r}: the first parameter must be 'seed'.")
        params = {}
        for p in list(sig.parameters.values())[1:]:
            if p.default is inspect.Parameter.empty:
                raise TypeError(f"recipe {name!r}: parameter {p.name!r} needs a default.")
            params[p.name] = p.default
        doc = inspect.getdoc(func) or ""
        _REGISTRY[name] = Recipe(name, func, params, family, doc.split("\n\n")[0].replace("\n", " "),
                                 article, headline, reproduce, dict(quick or {}), warmup, check)
        return func
    return register


def _load_builtin():
    from . import recipes  # noqa: F401  (importing registers the built-in recipes)


def get(name):
    """The recipe called ``name``; ValueError listing the known names otherwise."""
    _load_builtin()
    if not isinstance(name, str):
        raise TypeError(f"recipe must be a str; got {type(name).__name__} {name!r}.")
    if name not in _REGISTRY:
        raise ValueError(f"unknown recipe {name!r}; known recipes: {', '.join(sorted(_REGISTRY)) or '(none)'}.")
    return _REGISTRY[name]


def names():
    """All registered recipe names, sorted."""
    _load_builtin()
    return sorted(_REGISTRY)


def jsonable(value):
    """A parameter value as plain JSON types (tuples to lists, NumPy scalars to Python)."""
    if isinstance(value, (tuple, list)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
