"""Save a fitted model to HDF5 and load it back.

The file holds the class name, the hyper-parameters (``get_params`` as JSON),
every learned ``*_`` attribute and the private state a model lists in
``_saved_private`` (so ``partial_fit`` continues where it stopped). Arrays are
datasets; scalars, strings and small Python objects are JSON attributes; a
fitted scikit-learn helper (e.g. a LabelBinarizer) is stored through its own
learned arrays.
"""
import importlib
import json

import numpy as np

FORMAT = "fastnn-model"
FORMAT_VERSION = 1


def _h5py():
    try:
        import h5py
    except ImportError as err:  # pragma: no cover - h5py is a core dependency
        raise ImportError("saving and loading models needs h5py: pip install h5py") from err
    return h5py


def _write(group, name, value):
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "US":
            group.attrs[name] = json.dumps({"kind": "strings", "value": value.tolist(),
                                            "dtype": value.dtype.str})
        elif value.dtype.kind == "O":
            group.attrs[name] = json.dumps({"kind": "objects", "value": value.tolist()})
        else:
            group.create_dataset(name, data=value)
    elif isinstance(value, list) and value and all(isinstance(v, np.ndarray) for v in value):
        sub = group.create_group(name)
        sub.attrs["__list__"] = len(value)
        for i, v in enumerate(value):
            sub.create_dataset(str(i), data=v)
    elif hasattr(value, "get_params") and hasattr(value, "__dict__"):
        sub = group.create_group(name)
        sub.attrs["__estimator__"] = f"{type(value).__module__}:{type(value).__qualname__}"
        for key, v in vars(value).items():
            _write(sub, key, v)
    elif isinstance(value, type):
        group.attrs[name] = json.dumps({"kind": "type", "value": f"{value.__module__}:{value.__qualname__}"})
    else:
        if isinstance(value, np.generic):
            value = value.item()
        group.attrs[name] = json.dumps({"kind": "json", "value": value})


def _read(group, name):
    h5py = _h5py()
    if name in group:
        obj = group[name]
        if isinstance(obj, h5py.Dataset):
            return obj[()]
        if "__list__" in obj.attrs:
            return [obj[str(i)][()] for i in range(int(obj.attrs["__list__"]))]
        module, qual = obj.attrs["__estimator__"].split(":")
        est = getattr(importlib.import_module(module), qual).__new__(
            getattr(importlib.import_module(module), qual))
        for key in list(obj.keys()) + [k for k in obj.attrs if k != "__estimator__"]:
            setattr(est, key, _read(obj, key))
        return est
    meta = json.loads(group.attrs[name])
    if meta["kind"] == "strings":
        return np.array(meta["value"], dtype=meta["dtype"])
    if meta["kind"] == "objects":
        return np.array(meta["value"], dtype=object)
    if meta["kind"] == "type":
        module, qual = meta["value"].split(":")
        return getattr(importlib.import_module(module), qual)
    return meta["value"]


def save_model(model, path):
    """Write ``model`` (fitted) to ``path``, replacing the file."""
    from sklearn.utils.validation import check_is_fitted
    check_is_fitted(model)
    h5py = _h5py()
    import fastnn
    with h5py.File(path, "w") as f:
        f.attrs["format"] = FORMAT
        f.attrs["format_version"] = FORMAT_VERSION
        f.attrs["fastnn_version"] = fastnn.__version__
        f.attrs["class"] = f"{type(model).__module__}:{type(model).__qualname__}"
        f.attrs["params"] = json.dumps(_jsonable(model.get_params(deep=False)))
        learned = f.create_group("learned")
        names = [k for k in vars(model) if k.endswith("_") and not k.startswith("__")]
        names += [k for k in getattr(model, "_saved_private", ()) if k in vars(model)]
        for key in names:
            _write(learned, key, getattr(model, key))


def _jsonable(params):
    out = {}
    for key, value in params.items():
        if isinstance(value, np.random.RandomState):
            value = None  # the generator's state is not a parameter worth keeping
        elif isinstance(value, type):
            value = np.dtype(value).name
        elif isinstance(value, np.dtype):
            value = value.name
        out[key] = value
    return out


def load_model(path):
    """Read a model written by ``save``; a clear error for any other file."""
    h5py = _h5py()
    try:
        f = h5py.File(path, "r")
    except FileNotFoundError:
        raise FileNotFoundError(f"no model file at {path!r}.") from None
    except OSError as err:
        raise ValueError(f"{path!r} is not a fastnn model file: it is not a readable HDF5 file "
                         f"({err}).") from None
    with f:
        if f.attrs.get("format") != FORMAT:
            raise ValueError(f"{path!r} is not a fastnn model file (no format={FORMAT!r} attribute); "
                             "it may be a results file: use fastnn.experiments.load for those.")
        module, qual = str(f.attrs["class"]).split(":")
        cls = getattr(importlib.import_module(module), qual)
        params = json.loads(f.attrs["params"])
        params = {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}
        if "init" in params and isinstance(params["init"], tuple):
            params["init"] = tuple(tuple(v) if isinstance(v, list) else v for v in params["init"])
        model = cls(**params)
        learned = f["learned"]
        for key in list(learned.keys()) + list(learned.attrs.keys()):
            value = _read(learned, key)
            try:
                setattr(model, key, value)
            except AttributeError:  # a read-only property (computed from other state)
                pass
    return model
