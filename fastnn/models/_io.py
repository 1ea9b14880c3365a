"""Save a fitted model to HDF5 and load it back.

The file holds the class name, the hyper-parameters (``get_params`` as JSON),
every learned ``*_`` attribute and the private state a model lists in
``_saved_private`` (so ``partial_fit`` continues where it stopped). Arrays are
datasets; scalars, strings and small Python objects are JSON attributes; a
fitted scikit-learn helper (a LabelBinarizer) is stored through its own
learned arrays, a NumPy ``RandomState`` through its state.

``save`` writes a new file beside the old one and renames it over the old
one when it is complete: a save that fails (or a crash) leaves what was
there. ``load`` builds only fastnn's model classes (a file names its class;
nothing else named in a file is imported or called), and checks the arrays
the kernels index against the network the parameters describe: a damaged or
tampered file is a ValueError, never a read outside an array.
"""
import json
import math
import os
import uuid

import numpy as np

FORMAT = "fastnn-model"
FORMAT_VERSION = 1


def _h5py():
    try:
        import h5py
    except ImportError as err:  # pragma: no cover - h5py is a core dependency
        raise ImportError("saving and loading models needs h5py: pip install h5py") from err
    return h5py


def _name(cls):
    return f"{cls.__module__}:{cls.__qualname__}"


def _model_classes():
    """The classes ``load`` builds, by the name ``save`` writes."""
    from .cnn import ConvNetClassifier
    from .hopfield import HopfieldNetwork
    from .linear import LinearClassifier
    from .mlp import MLPClassifier, MLPRegressor
    from .rbm import BernoulliRBM
    return {_name(c): c for c in (MLPClassifier, MLPRegressor, ConvNetClassifier,
                                  HopfieldNetwork, BernoulliRBM, LinearClassifier)}


def _helper_classes():
    """The fitted scikit-learn helpers a model may hold (``_write``'s estimators)."""
    from sklearn.preprocessing import LabelBinarizer
    return {_name(LabelBinarizer): LabelBinarizer}


# the NumPy scalar types a model may keep (its dtype), by name
_TYPES = ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "bool_")


class _Unsaveable(TypeError):
    pass


def _plain(value, what):
    """``value`` as JSON's types: NumPy scalars and arrays as numbers and lists,
    tuples as lists; a TypeError naming ``what`` for anything else."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return _plain(value.item(), what)
    if isinstance(value, np.ndarray):
        return [_plain(v, what) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_plain(v, what) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _plain(v, what) for k, v in value.items()}
    raise _Unsaveable(f"{what} is {type(value).__name__} {value!r}, which a model file cannot "
                      "hold (numbers, strings, lists, dicts, NumPy scalars and arrays can be saved).")


def _dataset(group, name, value):
    """An array as a dataset with HDF5's Fletcher-32 checksum where it can have
    one (chunked storage: not for scalars and empty arrays), so that a damaged
    file is an error at load, not wrong weights."""
    checked = value.ndim > 0 and value.size > 0
    group.create_dataset(name, data=value, fletcher32=checked, chunks=True if checked else None)


def _write(group, name, value):
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "U":
            group.attrs[name] = json.dumps({"kind": "strings", "value": value.tolist(),
                                            "dtype": value.dtype.str})
        elif value.dtype.kind == "O":
            group.attrs[name] = json.dumps({"kind": "objects",
                                            "value": _plain(value, f"learned attribute {name}")})
        else:   # numbers, and bytes (fixed-length strings, as HDF5 stores them)
            _dataset(group, name, value)
    elif isinstance(value, list) and value and all(isinstance(v, np.ndarray) for v in value):
        sub = group.create_group(name)
        sub.attrs["__list__"] = len(value)
        for i, v in enumerate(value):
            _dataset(sub, str(i), v)
    elif isinstance(value, np.random.RandomState):
        kind, keys, pos, has_gauss, cached = value.get_state()
        sub = group.create_group(name)
        sub.attrs["__random_state__"] = json.dumps([kind, int(pos), int(has_gauss), float(cached)])
        sub.create_dataset("keys", data=keys)
    elif hasattr(value, "get_params") and hasattr(value, "__dict__"):
        if _name(type(value)) not in _helper_classes():
            raise _Unsaveable(f"learned attribute {name} is a {type(value).__name__}, which a "
                              "model file cannot hold.")
        sub = group.create_group(name)
        sub.attrs["__estimator__"] = _name(type(value))
        for key, v in vars(value).items():
            _write(sub, key, v)
    elif isinstance(value, type):
        if value.__module__ != "numpy" or value.__name__ not in _TYPES:
            raise _Unsaveable(f"learned attribute {name} is the type {value!r}, which a model "
                              "file cannot hold.")
        group.attrs[name] = json.dumps({"kind": "type", "value": f"numpy:{value.__name__}"})
    elif isinstance(value, tuple):
        group.attrs[name] = json.dumps({"kind": "tuple",
                                        "value": _plain(value, f"learned attribute {name}")})
    else:
        group.attrs[name] = json.dumps({"kind": "json",
                                        "value": _plain(value, f"learned attribute {name}")})


def _tuples(value):
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def _read(group, name):
    h5py = _h5py()
    if name in group:
        obj = group[name]
        if isinstance(obj, h5py.Dataset):
            return obj[()]
        if "__list__" in obj.attrs:
            return [obj[str(i)][()] for i in range(int(obj.attrs["__list__"]))]
        if "__random_state__" in obj.attrs:
            kind, pos, has_gauss, cached = json.loads(obj.attrs["__random_state__"])
            rng = np.random.RandomState()
            rng.set_state((kind, np.asarray(obj["keys"][()], dtype=np.uint32), pos, has_gauss,
                           cached))
            return rng
        cls = _helper_classes().get(str(obj.attrs["__estimator__"]))
        if cls is None:
            raise ValueError(f"learned attribute {name} names the class "
                             f"{obj.attrs['__estimator__']!r}, which fastnn does not load.")
        est = cls.__new__(cls)
        for key in list(obj.keys()) + [k for k in obj.attrs if k != "__estimator__"]:
            if not key.isidentifier() or key.startswith("__"):
                raise ValueError(f"learned attribute {name} holds an entry named {key!r}.")
            setattr(est, key, _read(obj, key))
        return est
    meta = json.loads(group.attrs[name])
    kind = meta["kind"]
    if kind == "strings":
        return np.array(meta["value"], dtype=meta["dtype"])
    if kind == "objects":
        return np.array(meta["value"], dtype=object)
    if kind == "type":
        module, qual = meta["value"].split(":")
        if module != "numpy" or qual not in _TYPES:
            raise ValueError(f"learned attribute {name} names the type {meta['value']!r}, "
                             "which fastnn does not load.")
        return getattr(np, qual)
    if kind == "tuple":
        return _tuples(meta["value"])
    if kind == "json":
        return meta["value"]
    raise ValueError(f"learned attribute {name} is of an unknown kind {kind!r}.")


def _jsonable(params):
    out = {}
    for key, value in params.items():
        if isinstance(value, (np.random.RandomState, np.random.Generator)):
            value = None  # the generator's state is not a parameter worth keeping
        elif isinstance(value, type):
            value = np.dtype(value).name
        elif isinstance(value, np.dtype):
            value = value.name
        out[key] = _plain(value, f"parameter {key}")
    return out


def save_model(model, path):
    """Write ``model`` (fitted) to ``path``, replacing the file only once the new
    one is complete."""
    from sklearn.utils.validation import check_is_fitted
    check_is_fitted(model)
    h5py = _h5py()
    import fastnn
    try:
        params = json.dumps(_jsonable(model.get_params(deep=False)))
    except _Unsaveable as err:
        raise TypeError(f"cannot save the {type(model).__name__}: {err}") from None
    if not isinstance(path, (str, os.PathLike)):   # a file object: written in place
        try:
            return _save_to(h5py, model, path, params, fastnn.__version__)
        except _Unsaveable as err:
            raise TypeError(f"cannot save the {type(model).__name__}: {err}") from None
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"cannot save the model to {path!r}: it is a directory.")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot save the model to {path!r}: there is no folder {folder!r}.")
    partial = f"{path}.{uuid.uuid4().hex[:12]}.partial"
    try:
        _save_to(h5py, model, partial, params, fastnn.__version__)
        fd = os.open(partial, os.O_RDONLY)   # on the disk before it takes the name
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(partial, path)
    except _Unsaveable as err:
        raise TypeError(f"cannot save the {type(model).__name__}: {err}; {path!r} is "
                        "unchanged.") from None
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def _save_to(h5py, model, target, params, version):
    with h5py.File(target, "w") as f:
        f.attrs["format"] = FORMAT
        f.attrs["format_version"] = FORMAT_VERSION
        f.attrs["fastnn_version"] = version
        f.attrs["class"] = _name(type(model))
        f.attrs["params"] = params
        learned = f.create_group("learned")
        for key in _saved_names(type(model), vars(model)):
            _write(learned, key, getattr(model, key))


def _saved_names(cls, names):
    """Of ``names``, those a model of class ``cls`` saves (and ``load`` sets):
    learned ``*_`` attributes and the class's ``_saved_private`` state."""
    private = getattr(cls, "_saved_private", ())
    return [k for k in names
            if (k.endswith("_") and k.isidentifier() and not k.startswith("__")) or k in private]


def load_model(path):
    """Read a model written by ``save``; a clear error for any other file."""
    h5py = _h5py()
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if not isinstance(path, (str, bytes)) and not hasattr(path, "read"):
        raise TypeError(f"path must be a str, an os.PathLike or a binary file object; got "
                        f"{type(path).__name__} {path!r}.")
    try:
        f = h5py.File(path, "r")
    except FileNotFoundError:
        raise FileNotFoundError(f"no model file at {path!r}.") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"{path!r} is a directory, not a model file.") from None
    except OSError as err:
        raise ValueError(f"{path!r} is not a fastnn model file: it is not a readable HDF5 file "
                         f"({err}).") from None
    with f:
        try:
            fmt = f.attrs.get("format")
        except (OSError, RuntimeError, KeyError) as err:
            raise ValueError(f"{path!r} is a damaged HDF5 file: {type(err).__name__}: {err}") from None
        if fmt != FORMAT:
            raise ValueError(f"{path!r} is not a fastnn model file (no format={FORMAT!r} attribute); "
                             "it may be a results file: use fastnn.experiments.load for those.")
        version = f.attrs.get("format_version")
        if isinstance(version, (int, np.integer)) and version > FORMAT_VERSION:
            raise ValueError(f"{path!r} is in format version {version}, written by a newer fastnn; "
                             f"this one reads version {FORMAT_VERSION} and older: upgrade fastnn.")
        try:
            return _load_from(f)
        except (KeyError, ValueError, TypeError, AttributeError, IndexError, OSError,
                RuntimeError) as err:   # (h5py's errors for damaged metadata and checksums)
            raise ValueError(f"{path!r} is a damaged or incomplete fastnn model file: "
                             f"{type(err).__name__}: {err}") from None


def _load_from(f):
    name = str(f.attrs["class"])
    classes = _model_classes()
    if name not in classes:
        raise ValueError(f"it names the class {name!r}; fastnn loads only its own models: "
                         f"{', '.join(sorted(n.split(':')[1] for n in classes))}.")
    cls = classes[name]
    params = json.loads(f.attrs["params"])
    if not isinstance(params, dict):
        raise ValueError(f"its parameters are a {type(params).__name__}, not a mapping.")
    # JSON has lists where the parameters were tuples
    model = cls(**{k: _tuples(v) for k, v in params.items()})
    learned = f["learned"]
    names = list(learned.keys()) + list(learned.attrs.keys())
    unknown = sorted(set(names) - set(_saved_names(cls, names)))
    if unknown:
        raise ValueError(f"it holds entries a {cls.__name__} does not save: {unknown}.")
    for key in names:
        value = _read(learned, key)
        try:
            setattr(model, key, value)
        except AttributeError:  # a read-only property (computed from other state)
            pass
    _check_loaded(model)
    return model


# ----------------------------------------------------------------------------
# what the kernels index, against what the parameters describe


def _expect(model, name, shape, dtype=None, finite=False, optional=False):
    value = model.__dict__.get(name)
    if value is None and optional:
        return
    if not isinstance(value, np.ndarray):
        raise ValueError(f"{name} is {type(value).__name__}, not an array.")
    if value.shape != tuple(shape):
        raise ValueError(f"{name} has shape {value.shape}; the model's parameters and sizes "
                         f"give {tuple(shape)}.")
    if dtype is not None and value.dtype != np.dtype(dtype):
        raise ValueError(f"{name} has dtype {value.dtype}; expected {np.dtype(dtype)}.")
    if finite and not np.isfinite(value).all():
        raise ValueError(f"{name} holds NaN or inf.")


def _expect_value(model, name, want):
    got = model.__dict__.get(name)
    if got != want:
        raise ValueError(f"{name} is {got!r}; the model's parameters and sizes give {want!r}.")


def _float_dtype(model, name):
    dt = np.dtype(getattr(model, name).dtype) if isinstance(getattr(model, name, None),
                                                            np.ndarray) else None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"{name} is not an array of float32 or float64.")
    return dt


def _int_at_least(low, high=2 ** 63 - 1):
    def check(value):
        return (isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
                and low <= value <= high), f"an int in [{low}, {high}]"
    return check


def _float_above(low, inclusive=False):
    def check(value):
        ok = (isinstance(value, (int, float, np.integer, np.floating))
              and not isinstance(value, (bool, np.bool_)) and math.isfinite(value)
              and (value >= low if inclusive else value > low))
        return ok, f"a finite float {'>=' if inclusive else '>'} {low}"
    return check


def _one_of(*values):
    def check(value):
        return (not isinstance(value, (bool, np.bool_)) and value in values
                and type(value) in (type(v) for v in values)), f"one of {list(values)}"
    return check


def _check_scalars(model):
    """The scalar state a file holds as JSON (sizes, counters, seeds, codes,
    scales: the kernels and the arithmetic use them as they are), each of its
    type and range: a tampered weight_scale_ of NaN gave NaN energies, a
    _loss_code of 99 trained, an n_features_in_ of "16" said "X has 16
    features, but MLPClassifier is expecting 16"."""
    from ..kernels.losses import CODES
    checks = {
        "n_features_in_": _int_at_least(1), "n_outputs_": _int_at_least(1),
        "n_layers_": _int_at_least(2), "n_iter_": _int_at_least(0), "t_": _int_at_least(0),
        "n_units_": _int_at_least(1), "n_patterns_": _int_at_least(0),
        "_n_units": _int_at_least(1), "_n_features_out": _int_at_least(1),
        "_n_label_outputs": _int_at_least(1), "_epochs": _int_at_least(0),
        "_decay_from": _int_at_least(0), "_seed": _int_at_least(0),
        "_loss_code": _one_of(*sorted(CODES.values())), "_lr": _float_above(0.0),
        "weight_scale_": _float_above(0.0),
    }
    for name, check in checks.items():
        if name in model.__dict__:
            ok, want = check(model.__dict__[name])
            if not ok:
                raise ValueError(f"{name} is {model.__dict__[name]!r}; expected {want}.")


def _check_loaded(model):
    """ValueError unless the arrays the kernels index have the shapes and dtypes
    of the network the parameters and the saved sizes describe."""
    from .cnn import ConvNetClassifier
    from .hopfield import HopfieldNetwork
    from .linear import LinearClassifier
    from .mlp import _BaseMLP
    from .rbm import BernoulliRBM
    _check_scalars(model)
    if isinstance(model, LinearClassifier):
        slope = model.__dict__.get("slope_")
        if isinstance(slope, bool) or not isinstance(slope, (int, float)) or not np.isfinite(slope):
            raise ValueError(f"slope_ is {slope!r}; expected a finite float.")
        _expect(model, "classes_", (2,), model.classes_.dtype)
        if model.__dict__.get("above_") not in model.classes_.tolist():
            raise ValueError(f"above_ is {model.__dict__.get('above_')!r}, which is not one of "
                             f"classes_ {model.classes_.tolist()}.")
        _expect_value(model, "n_features_in_", 2)
    elif isinstance(model, _BaseMLP):
        n_outputs = int(model.n_outputs_)
        _check_dense(model, model._network(int(model.n_features_in_), n_outputs,
                                           model._check_params())[:3])
        if hasattr(model, "classes_"):   # a column a class, one for two (not multilabel)
            n_classes = len(model.classes_)
            two = n_classes == 2 and not model.__dict__.get("_multilabel", False)
            if n_outputs != (1 if two else n_classes):
                raise ValueError(f"n_outputs_ is {n_outputs}, which does not fit {n_classes} "
                                 "classes.")
    elif isinstance(model, ConvNetClassifier):
        shape = tuple(int(v) for v in model.image_shape_)
        _, _, spec, layout, n_params, n_units = model._architecture(shape, len(model.classes_))
        _expect(model, "_spec", spec.shape, spec.dtype)
        if not np.array_equal(model._spec, spec):
            raise ValueError("_spec does not describe the network of the model's parameters.")
        _check_dense(model, (layout, n_params, n_units))
    elif isinstance(model, BernoulliRBM):
        n, k = int(model.n_features_in_), int(model.n_components)
        dt = _float_dtype(model, "components_")
        _expect(model, "components_", (k, n), dt, finite=True)
        _expect(model, "intercept_hidden_", (k,), dt, finite=True)
        _expect(model, "intercept_visible_", (n,), dt, finite=True)
        _expect(model, "h_samples_", (model.h_samples_.shape[0], k), dt)
    elif isinstance(model, HopfieldNetwork):
        n = int(model.n_units_)
        _expect(model, "weights_", (n, n), model.weights_.dtype, finite=True)
        _expect(model, "patterns_", (int(model.n_patterns_), n), np.int8)
        _expect(model, "alphabet_", (2,), np.int8)
        _expect(model, "_storkey_weights", (n, n), np.float64, optional=True)
        coupling = model.__dict__.get("_hebbian_self_coupling")
        if coupling is not None and (model.weights_.dtype.kind != "i"
                                     or coupling not in (0, -int(model.n_patterns_))):
            raise ValueError(f"_hebbian_self_coupling is {coupling!r}; the model's integer Hebbian "
                             f"weights give 0 or -n_patterns_ ({-int(model.n_patterns_)}), and other "
                             "weights none.")


def _check_dense(model, network):
    """The flat parameters, their layout and the optimiser's state of an MLP
    (or of a CNN's head)."""
    layout, n_params, n_units = network
    _expect(model, "_layout", layout.shape, layout.dtype)
    if not np.array_equal(model._layout, layout):
        raise ValueError("_layout does not describe the network of the model's parameters.")
    dt = _float_dtype(model, "_params")
    _expect(model, "_params", (n_params,), dt, finite=True)
    for name in ("_vel", "_sq"):
        _expect(model, name, (n_params,), dt)
    _expect(model, "_best_params", (n_params,), dt, optional=True)
    _expect(model, "_state", (4,), np.float64)
    _expect_value(model, "_n_units", n_units)
    if np.dtype(model._dtype) != dt:
        raise ValueError(f"_dtype is {np.dtype(model._dtype).name}, but _params is {dt.name}.")
