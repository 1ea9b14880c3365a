"""save and fastnn.load across the models: what a file may name and hold, a
damaged or tampered file, and a save that fails. (Each model's round trip,
and training that continues after a load, are in its own test file.)"""
import io
import json
import os
import warnings

import h5py
import numpy as np
import pytest
from numpy.testing import assert_array_equal

import fastnn
from fastnn import (BernoulliRBM, ConvNetClassifier, HopfieldNetwork, LinearClassifier, MLPClassifier,
                    MLPRegressor)

RNG = np.random.RandomState(0)
X = RNG.rand(40, 6)
Y = (X[:, 0] > 0.5).astype(int)
PATTERNS = np.sign(np.random.default_rng(0).standard_normal((3, 16)))
IMAGES = RNG.rand(24, 1, 6, 6)
POINTS = X[:, :2] + 0.1   # (x, y) points, x > 0


def _fitted(kind):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # (ConvergenceWarning: a few epochs)
        if kind == "mlp":
            return MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(X, Y)
        if kind == "regressor":
            return MLPRegressor(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(X, X[:, :2])
        if kind == "cnn":
            return ConvNetClassifier(n_filters=2, filter_size=3, pool_size=2, hidden_layer_sizes=(4,),
                                     max_iter=1, random_state=0).fit(IMAGES, Y[:24])
        if kind == "hopfield":
            return HopfieldNetwork(random_state=0).fit(PATTERNS)
        if kind == "linear":
            return LinearClassifier(n_epochs=3).fit(POINTS, np.array(["below", "above"])[Y])
        return BernoulliRBM(n_components=3, n_iter=1, random_state=0).fit(X)


def _output(kind, model):
    if kind == "hopfield":
        return model.predict(PATTERNS)
    if kind == "cnn":
        return model.predict_proba(IMAGES)
    if kind == "rbm":
        return model.transform(X)
    if kind == "linear":
        return model.decision_function(POINTS)
    return model.predict(X)


KINDS = ["mlp", "regressor", "cnn", "hopfield", "rbm", "linear"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A saved file of each model, and its outputs."""
    folder = tmp_path_factory.mktemp("saved")
    out = {}
    for kind in KINDS:
        model = _fitted(kind)
        model.save(folder / f"{kind}.h5")
        out[kind] = (folder / f"{kind}.h5", _output(kind, model))
    return out


def _copy(src, dst):
    dst.write_bytes(src.read_bytes())
    return dst


# ------------------------------------------------------------ what a file names


@pytest.mark.parametrize("name,params", [
    ("os:system", {"command": "touch {marker}"}),
    ("subprocess:run", {"args": "touch {marker}", "shell": True}),
    ("fastnn.models._io:save_model", {"model": None, "path": "{marker}"}),
    ("sklearn.linear_model:LogisticRegression", {}),
])
def test_load_builds_only_fastnns_models_and_runs_nothing_a_file_names(saved, tmp_path, name, params):
    path = _copy(saved["mlp"][0], tmp_path / "m.h5")
    marker = tmp_path / "ran"
    with h5py.File(path, "a") as f:
        f.attrs["class"] = name
        f.attrs["params"] = json.dumps({k: v.format(marker=marker) if isinstance(v, str) else v
                                        for k, v in params.items()})
    with pytest.raises(ValueError, match=fr"damaged or incomplete fastnn model file: ValueError: it "
                                         fr"names the class '{name}'; fastnn loads only its own models: "
                                         r"BernoulliRBM, ConvNetClassifier, HopfieldNetwork, "
                                         r"LinearClassifier, MLPClassifier, MLPRegressor\."):
        fastnn.load(path)
    assert not marker.exists()


def test_load_builds_no_helper_or_type_a_file_names_but_its_own(saved, tmp_path):
    """The learned entries: a nested estimator only of the helper classes, a type
    only NumPy's number types, and names only the model's own."""
    src, _ = saved["mlp"]
    cases = [
        (lambda f: f["learned"].create_group("_label_binarizer").attrs.__setitem__(
            "__estimator__", "subprocess:Popen"), r"names the class 'subprocess:Popen'"),
        (lambda f: f["learned"].attrs.__setitem__(
            "_dtype", json.dumps({"kind": "type", "value": "builtins:eval"})),
         r"_dtype names the type 'builtins:eval'"),
        (lambda f: f["learned"].attrs.__setitem__(
            "predict", json.dumps({"kind": "json", "value": 1})),
         r"entries a MLPClassifier does not save: \['predict'\]"),
        (lambda f: f["learned"].attrs.__setitem__(
            "n_iter_", json.dumps({"kind": "pickle", "value": "..."})), r"unknown kind 'pickle'"),
    ]
    for i, (tamper, message) in enumerate(cases):
        path = _copy(src, tmp_path / f"m{i}.h5")
        with h5py.File(path, "a") as f:
            tamper(f)
        with pytest.raises(ValueError, match=message):
            fastnn.load(path)


# --------------------------------------------------- arrays that do not fit


def _set(name, value):
    def tamper(f):
        del f["learned"][name]
        f["learned"].create_dataset(name, data=value)
    return tamper


def _attr(name, value):
    """A learned entry saved as a JSON attribute, replaced by ``value``."""
    def tamper(f):
        entry = json.loads(f["learned"].attrs[name])
        entry["value"] = value
        f["learned"].attrs[name] = json.dumps(entry)
    return tamper


TAMPERED = [
    ("mlp", _set("_layout", np.array([[6, 5, 10 ** 9, 30, 1, 0], [5, 1, 35, 40, 3, 1]])),
     r"_layout has shape \(2, 6\)|_layout does not describe"),
    ("mlp", _set("_params", np.zeros(3)), r"_params has shape \(3,\); the model's parameters and "
                                          r"sizes give \(41,\)"),
    ("mlp", _set("_params", np.full(41, np.nan)), r"_params holds NaN or inf"),
    ("mlp", _set("_vel", np.zeros(41, np.float32)), r"_vel has dtype float32; expected float64"),
    ("mlp", _set("classes_", np.arange(3)), r"n_outputs_ is 1, which does not fit 3 classes"),
    ("regressor", _set("_sq", np.zeros(5)), r"_sq has shape \(5,\)"),
    ("cnn", _set("_params", np.zeros(1)), r"_params has shape \(1,\)"),
    ("cnn", _set("_spec", np.zeros(15, np.int64)), r"_spec does not describe"),
    ("rbm", _set("components_", np.zeros((4, 2))), r"components_ has shape \(4, 2\); the model's "
                                                   r"parameters and sizes give \(3, 6\)"),
    ("rbm", _set("intercept_visible_", np.zeros(2)), r"intercept_visible_ has shape \(2,\)"),
    ("hopfield", _set("weights_", np.zeros((16, 4), np.int8)), r"weights_ has shape \(16, 4\)"),
    ("hopfield", _set("alphabet_", np.zeros(5, np.int8)), r"alphabet_ has shape \(5,\)"),
    ("linear", _attr("classes_", ["a", "b", "c"]), r"classes_ has shape \(3,\)"),
    ("linear", _attr("slope_", float("nan")), r"slope_ is nan; expected a finite float"),
    ("linear", _attr("slope_", "1.5"), r"slope_ is '1\.5'; expected a finite float"),
    # scalar state, held as JSON
    ("mlp", _attr("_loss_code", 99), r"_loss_code is 99; expected one of \[0, 1, 2\]"),
    ("mlp", _attr("n_features_in_", "6"), r"n_features_in_ is '6'; expected an int in \[1, "),
    ("mlp", _attr("_seed", "abc"), r"_seed is 'abc'; expected an int in \[0, 9223372036854775807\]"),
    ("mlp", _attr("_seed", 2 ** 80), r"_seed is 1208925819614629174706176; expected an int"),
    ("mlp", _attr("_lr", float("nan")), r"_lr is nan; expected a finite float > 0\.0"),
    ("cnn", _attr("_epochs", -1), r"_epochs is -1; expected an int in \[0, "),
    ("hopfield", _attr("weight_scale_", float("nan")), r"weight_scale_ is nan; expected a finite float > 0\.0"),
    ("hopfield", _attr("_hebbian_self_coupling", 1000), r"_hebbian_self_coupling is 1000; the "
                                                       r"model's integer Hebbian weights give 0 or "
                                                       r"-n_patterns_ \(-3\), and other weights none"),
    ("rbm", _attr("n_features_in_", True), r"n_features_in_ is True; expected an int"),
    ("linear", _attr("above_", "left"), r"above_ is 'left', which is not one of classes_ "
                                        r"\['above', 'below'\]"),
]


@pytest.mark.parametrize("kind,tamper,message", TAMPERED,
                         ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(TAMPERED)])
def test_arrays_that_do_not_fit_the_models_network_are_refused(saved, tmp_path, kind, tamper,
                                                                message):
    """The kernels index these arrays by the sizes the parameters give: a file
    whose arrays do not fit (a tampered _layout made predict read outside
    _params and segfault; a short _params gave labels from other memory) is a
    ValueError at load."""
    path = _copy(saved[kind][0], tmp_path / "m.h5")
    with h5py.File(path, "a") as f:
        tamper(f)
    with pytest.raises(ValueError, match=r"damaged or incomplete fastnn model file: ValueError: "
                                         + message):
        fastnn.load(path)


@pytest.mark.parametrize("tamper,message", [
    (lambda f: f.attrs.__delitem__("class"), r"KeyError: .*class"),
    (lambda f: f.__delitem__("learned"), r"KeyError: .*learned"),
    (lambda f: f.attrs.__setitem__("params", "{not json"), r"JSONDecodeError"),
    (lambda f: f.attrs.__setitem__("params", json.dumps([1, 2])), r"ValueError: its parameters are a list"),
    (lambda f: f.attrs.__setitem__("params", json.dumps({"no_such_parameter": 1})),
     r"TypeError: .*no_such_parameter"),
    (lambda f: f["learned"].attrs.__delitem__("n_outputs_"), r"AttributeError|KeyError"),
])
def test_an_incomplete_or_foreign_file_is_a_value_error(saved, tmp_path, tamper, message):
    path = _copy(saved["mlp"][0], tmp_path / "m.h5")
    with h5py.File(path, "a") as f:
        tamper(f)
    with pytest.raises(ValueError, match=r"damaged or incomplete fastnn model file: " + message):
        fastnn.load(path)


@pytest.mark.parametrize("path", [None, 3, ["m.h5"]])
def test_load_names_a_path_of_the_wrong_type(path):
    with pytest.raises(TypeError, match=r"path must be a str, an os.PathLike or a binary file "
                                        r"object; got " + type(path).__name__):
        fastnn.load(path)


def test_a_file_from_a_newer_fastnn_says_so(saved, tmp_path):
    path = _copy(saved["rbm"][0], tmp_path / "m.h5")
    with h5py.File(path, "a") as f:
        f.attrs["format_version"] = 99
    with pytest.raises(ValueError, match=r"m\.h5' is in format version 99, written by a newer "
                                         r"fastnn; this one reads version 1 and older: upgrade"):
        fastnn.load(path)


@pytest.mark.parametrize("kind", KINDS)
def test_damaged_bytes_anywhere_are_an_error_or_change_nothing(saved, tmp_path, kind):
    """64 random bytes written over each of 60 places of a saved file: load
    either gives a model whose outputs are the saved one's (the bytes fell in
    unused space) or a ValueError; the arrays carry HDF5's Fletcher-32
    checksum, so damaged weights are not read as weights."""
    src, want = saved[kind]
    data = src.read_bytes()
    rng = np.random.default_rng(1)
    errors = 0
    for offset in np.linspace(0, len(data) - 64, 60).astype(int):
        damaged = bytearray(data)
        damaged[offset:offset + 64] = rng.integers(0, 256, 64, dtype=np.uint8).tobytes()
        path = tmp_path / "d.h5"
        path.write_bytes(bytes(damaged))
        try:
            model = fastnn.load(path)
        except ValueError:
            errors += 1
            continue
        assert_array_equal(_output(kind, model), want, err_msg=f"bytes {offset}-{offset + 64}")
    assert errors > 0


def test_a_file_without_checksums_still_loads(saved, tmp_path):
    """Files written before the checksums (plain datasets) load as they did."""
    src, want = saved["mlp"]
    path = _copy(src, tmp_path / "m.h5")
    with h5py.File(path, "a") as f:
        for name in list(f["learned"].keys()):
            if isinstance(f["learned"][name], h5py.Dataset):
                value = f["learned"][name][()]
                del f["learned"][name]
                f["learned"].create_dataset(name, data=value)
                assert f["learned"][name].fletcher32 is False
    assert_array_equal(fastnn.load(path).predict(X), want)


# ------------------------------------------------------------------- save


def test_numpy_typed_parameters_save_and_load_back(tmp_path):
    """Parameters from a NumPy grid (np.arange, GridSearchCV's best_estimator_)
    are NumPy scalars and arrays; they save as numbers and lists."""
    model = MLPClassifier(hidden_layer_sizes=np.array([4, 3]), max_iter=np.int64(2),
                          learning_rate_init=np.float32(0.01), random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, Y)
    model.save(tmp_path / "m.h5")
    back = fastnn.load(tmp_path / "m.h5")
    assert back.hidden_layer_sizes == (4, 3) and back.max_iter == 2
    assert back.learning_rate_init == pytest.approx(0.01)
    assert_array_equal(back.predict(X), model.predict(X))


def test_a_save_that_fails_leaves_the_file_that_was_there(tmp_path):
    path = tmp_path / "m.h5"
    good = _fitted("mlp")
    good.save(path)
    before = path.read_bytes()
    bad = _fitted("mlp")
    bad.set_params(momentum=object())   # (set after fit: a parameter no file can hold)
    with pytest.raises(TypeError, match=r"cannot save the MLPClassifier: parameter momentum is "
                                        r"object <object object at"):
        bad.save(path)
    bad = _fitted("mlp")
    bad.n_iter_ = {1, 2}   # a learned value no file can hold, found while writing
    with pytest.raises(TypeError, match=r"cannot save the MLPClassifier: learned attribute n_iter_ "
                                        r"is set \{1, 2\}.*; '.*m\.h5' is unchanged\."):
        bad.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.h5"]   # no partial file left
    assert_array_equal(fastnn.load(path).predict(X), good.predict(X))


def test_save_names_a_missing_folder_or_a_folder_given_as_the_file(tmp_path):
    model = _fitted("rbm")
    with pytest.raises(FileNotFoundError, match=r"cannot save the model to '.*nowhere/m\.h5': "
                                                r"there is no folder"):
        model.save(tmp_path / "nowhere" / "m.h5")
    with pytest.raises(IsADirectoryError, match=r"cannot save the model to '.*': it is a directory"):
        model.save(tmp_path)
    with pytest.raises(IsADirectoryError, match=r"is a directory, not a model file"):
        fastnn.load(tmp_path)


def test_a_model_saves_to_and_loads_from_a_file_object():
    model = _fitted("regressor")
    buffer = io.BytesIO()
    model.save(buffer)
    buffer.seek(0)
    assert_array_equal(fastnn.load(buffer).predict(X), model.predict(X))


def test_an_rbm_after_partial_fit_saves_its_random_state_and_goes_on_with_the_same_bits(tmp_path):
    """partial_fit and gibbs keep a RandomState (random_state_), which the file
    now holds: the loaded model's next steps are the saved one's."""
    model = BernoulliRBM(n_components=3, random_state=0).partial_fit(X[:10])
    model.gibbs(X[:2])
    model.save(tmp_path / "r.h5")
    back = fastnn.load(tmp_path / "r.h5")
    for m in (model, back):
        m.partial_fit(X[10:20])
    assert_array_equal(back.components_, model.components_)
    assert_array_equal(back.gibbs(X[:5]), model.gibbs(X[:5]))


def test_bytes_labels_and_a_generator_random_state_save(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0).fit(
            X, np.array([b"no", b"yes"])[Y])
    clf.save(tmp_path / "c.h5")
    back = fastnn.load(tmp_path / "c.h5")
    assert back.classes_.dtype == clf.classes_.dtype
    assert_array_equal(back.predict(X), clf.predict(X))
    net = HopfieldNetwork(random_state=np.random.default_rng(0)).fit(PATTERNS)
    net.save(tmp_path / "h.h5")
    assert fastnn.load(tmp_path / "h.h5").random_state is None
    assert_array_equal(fastnn.load(tmp_path / "h.h5").weights_, net.weights_)


def test_tuples_come_back_as_tuples(saved):
    """A learned tuple (the CNN's image_shape_) came back a list."""
    assert fastnn.load(saved["cnn"][0]).image_shape_ == (1, 6, 6)


def test_saved_files_are_readable_by_others_as_any_new_file_is(tmp_path):
    """The file is written under another name and renamed: it keeps the
    permissions a new file gets (not a temporary file's owner-only ones)."""
    umask = os.umask(0o022)
    os.umask(umask)
    _fitted("rbm").save(tmp_path / "r.h5")
    assert (tmp_path / "r.h5").stat().st_mode & 0o777 == 0o666 & ~umask
