"""fastnn.BernoulliRBM: scikit-learn's BernoulliRBM step for step, its contract, its errors."""
import os
import re

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import BernoulliRBM as SkRBM
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from fastnn._threads import threads
from fastnn.models.rbm import BernoulliRBM


class RecordingRandomState(np.random.RandomState):
    """A RandomState that keeps every ``uniform`` draw (scikit-learn's sampling numbers)."""

    def __init__(self, seed):
        super().__init__(seed)
        self.drawn = []

    def uniform(self, low=0.0, high=1.0, size=None):
        u = super().uniform(low, high, size)
        self.drawn.append(np.ravel(u).copy())
        return u

    def numbers(self):
        return np.concatenate(self.drawn) if self.drawn else np.empty(0)


def grey_data(n_samples=47, n_features=12, seed=1):
    rng = np.random.RandomState(seed)
    X = rng.rand(n_samples, n_features)
    X[X < 0.4] = 0.0
    X[X > 0.95] = 1.0
    return X


# ------------------------------------------------------- scikit-learn, step for step


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_fit_equals_scikit_learn_given_the_same_random_numbers(sparse):
    # 47 rows in minibatches of 10 (the last one has 7), 3 passes, float64; and
    # the same as a CSR matrix, which both take
    X = sp.csr_matrix(grey_data()) if sparse else grey_data()
    sk = SkRBM(n_components=7, learning_rate=0.1, batch_size=10, n_iter=3,
               random_state=RecordingRandomState(0)).fit(X)
    ours = BernoulliRBM(n_components=7, learning_rate=0.1, batch_size=10, n_iter=3,
                        random_state=0).fit(X, uniforms=sk.random_state.numbers())
    for name in ("components_", "intercept_hidden_", "intercept_visible_", "h_samples_"):
        assert_allclose(getattr(ours, name), getattr(sk, name), rtol=0, atol=1e-10, err_msg=name)
    assert ours.components_.flags.f_contiguous and ours.components_.dtype == np.float64
    assert_allclose(ours.transform(X), sk.transform(X), rtol=1e-12)
    sk.random_state = ours.random_state = 5
    assert_allclose(ours.score_samples(X), sk.score_samples(X), rtol=1e-10)


def test_partial_fit_equals_scikit_learn_given_the_same_random_numbers():
    X = grey_data()
    rec = RecordingRandomState(3)
    sk = SkRBM(n_components=5, learning_rate=0.05, batch_size=4, random_state=rec)
    ours = BernoulliRBM(n_components=5, learning_rate=0.05, batch_size=4, random_state=3)
    for chunk in (X[:6], X[6:20], X[20:23]):
        sk.partial_fit(chunk)
        u = rec.numbers()
        rec.drawn = []
        ours.partial_fit(chunk, uniforms=u)
        assert_allclose(ours.components_, sk.components_, rtol=0, atol=1e-10)
        assert_allclose(ours.h_samples_, sk.h_samples_, atol=0)


def test_initial_weights_transform_and_scores_equal_scikit_learn():
    X = grey_data()
    sk = SkRBM(n_components=6, n_iter=0, random_state=4).fit(X)
    ours = BernoulliRBM(n_components=6, n_iter=0, random_state=4).fit(X)
    assert_array_equal(ours.components_, sk.components_)
    sk.components_ = sk.components_ + np.random.RandomState(5).normal(0, 0.5, sk.components_.shape)
    sk.intercept_hidden_ = np.linspace(-1, 1, 6)
    sk.intercept_visible_ = np.linspace(-0.5, 0.5, 12)
    for name in ("components_", "intercept_hidden_", "intercept_visible_"):
        setattr(ours, name, getattr(sk, name).copy())
    assert_allclose(ours.transform(X), sk.transform(X), rtol=1e-13)
    # the same flipped units (random_state=4) and the same pseudo-likelihood
    assert_allclose(ours.score_samples(X), sk.score_samples(X), rtol=1e-10)
    assert_allclose(ours.free_energy(X), sk._free_energy(X), rtol=1e-12)


# ------------------------------------------------------------ scikit-learn contract


class _SquashedRBM(BernoulliRBM):
    """The RBM with its inputs squashed into (0, 1) by a logistic, for the checks
    whose random data lies outside [0, 1] (which BernoulliRBM rejects by design)."""

    def _check_values(self, X):
        return (1.0 / (1.0 + np.exp(-X.astype(np.float64)))).astype(X.dtype)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = False   # it takes any real X
        return tags


_RANDOM_SCORE = "score_samples flips one random unit a row, as scikit-learn's BernoulliRBM " \
                "(scikit-learn lists the same expected failure for its own)"


def _expected_failures(estimator):
    out = {"check_methods_subset_invariance": _RANDOM_SCORE,
           "check_methods_sample_order_invariance": _RANDOM_SCORE}
    if type(estimator) is BernoulliRBM:
        out.update({name: "its random data lies outside [0, 1], which BernoulliRBM rejects "
                          "(issue 6); passes on _SquashedRBM" for name in _OUT_OF_RANGE})
    return out


_OUT_OF_RANGE = [
    "check_dict_unchanged", "check_dont_overwrite_parameters", "check_estimators_dtypes",
    "check_estimators_fit_returns_self", "check_estimators_overwrite_params",
    "check_estimators_pickle", "check_f_contiguous_array_estimator", "check_fit2d_1feature",
    "check_fit2d_1sample", "check_fit2d_predict1d", "check_fit_check_is_fitted",
    "check_fit_idempotent", "check_n_features_in", "check_n_features_in_after_fitting",
    "check_pipeline_consistency", "check_positive_only_tag_during_fit",
    "check_readonly_memmap_input", "check_transformer_data_not_an_array",
    "check_transformer_general", "check_transformer_preserve_dtypes",
]


@parametrize_with_checks([BernoulliRBM(n_components=4, n_iter=2, random_state=0),
                          _SquashedRBM(n_components=4, n_iter=2, random_state=0)],
                         expected_failed_checks=_expected_failures)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_works_in_a_pipeline_with_logistic_regression():
    from fastnn.data.digits import load_digits
    X, y = load_digits()
    pipe = Pipeline([("rbm", BernoulliRBM(n_components=64, learning_rate=0.06, n_iter=10,
                                          random_state=0)),
                     ("logistic", LogisticRegression(C=100.0, max_iter=2000))])
    pipe.fit(X[:1200], y[:1200])
    assert pipe.score(X[1200:], y[1200:]) > 0.85
    assert pipe.named_steps["rbm"].get_feature_names_out()[0] == "bernoullirbm0"


# ------------------------------------------------------------ fastnn's additions


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_same_bits_for_any_thread_count(n_threads, dtype):
    X = grey_data(200, 30).astype(dtype)   # float32: computed in float32 throughout
    fits = []
    for n in n_threads:
        with threads(n):
            m = BernoulliRBM(n_components=300, n_iter=2, random_state=0).fit(X)  # parallel kernel
            fits.append((m.components_, m.h_samples_, m.transform(X), m.gibbs(X)))
    for a, b in zip(*fits):
        assert_array_equal(a, b)


@pytest.mark.parametrize("method,k", [("pcd", 1), ("pcd", 3), ("cd", 1), ("cd", 2)])
def test_training_raises_the_pseudo_likelihood(method, k):
    X = np.tile(np.eye(2).repeat(4, axis=1), (60, 1))  # two complementary patterns
    m = BernoulliRBM(n_components=4, n_iter=0, random_state=0, method=method, k=k).fit(X)
    before = m.score_samples(X).mean()
    m.set_params(n_iter=20).fit(X)
    assert m.score_samples(X).mean() > before + 1.0
    if method == "cd":
        assert not m.h_samples_.any()


def test_dtype_float32_is_kept_and_follows_float64():
    X = grey_data()
    m32 = BernoulliRBM(n_components=5, random_state=0).fit(X.astype(np.float32))
    m64 = BernoulliRBM(n_components=5, random_state=0, dtype="float64").fit(X.astype(np.float32))
    assert m32.components_.dtype == np.float32 and m64.components_.dtype == np.float64
    assert m32.transform(X.astype(np.float32)).dtype == np.float32
    assert BernoulliRBM(n_components=5, dtype="float32").fit(X).components_.dtype == np.float32


def test_a_float32_dataframe_fits_float32_as_scikit_learn():
    pd = pytest.importorskip("pandas")
    X = grey_data()
    frame = pd.DataFrame(X.astype(np.float32), columns=[f"f{i}" for i in range(12)])
    assert SkRBM(n_components=5, n_iter=1, random_state=0).fit(frame).components_.dtype == np.float32
    m = BernoulliRBM(n_components=5, n_iter=1, random_state=0).fit(frame)
    assert m.components_.dtype == np.float32   # was float64: a DataFrame has no dtype
    assert_array_equal(m.components_, BernoulliRBM(n_components=5, n_iter=1, random_state=0)
                       .fit(X.astype(np.float32)).components_)
    # mixed columns follow NumPy's promotion, as scikit-learn's
    mixed = frame.assign(f0=frame["f0"].astype(np.float64))
    assert BernoulliRBM(n_components=5, n_iter=1, random_state=0).fit(mixed).components_.dtype \
        == SkRBM(n_components=5, n_iter=1, random_state=0).fit(mixed).components_.dtype == np.float64


@pytest.mark.parametrize("model_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("input_dtype", [np.float32, np.float64, np.int64], ids=str)
def test_transform_returns_scikit_learns_dtype(model_dtype, input_dtype):
    """float32 only when the model and X are both float32 (scikit-learn's
    float32 weights times a float64 X give float64); computed in the model's dtype."""
    X = (grey_data() > 0.5).astype(input_dtype)
    ours = BernoulliRBM(n_components=5, n_iter=1, random_state=0).fit(grey_data().astype(model_dtype))
    sk = SkRBM(n_components=5, n_iter=1, random_state=0).fit(grey_data().astype(model_dtype))
    for name in ("components_", "intercept_hidden_", "intercept_visible_"):
        setattr(sk, name, getattr(ours, name).copy())
    got, want = ours.transform(X), sk.transform(X)
    assert got.dtype == want.dtype
    tol = dict(rtol=1e-6, atol=1e-7) if model_dtype == np.float32 else dict(rtol=1e-12)
    assert_allclose(got, want, **tol)
    assert_allclose(ours.transform(sp.csr_matrix(X)), got, rtol=0)
    assert ours.transform(sp.csr_matrix(X)).dtype == sk.transform(sp.csr_matrix(X)).dtype


def test_tags_say_X_must_be_non_negative():
    from sklearn.utils import get_tags
    assert get_tags(BernoulliRBM()).input_tags.positive_only
    with pytest.raises(ValueError, match=r"X must hold values in \[0, 1\]; got -1\.0"):
        BernoulliRBM(n_components=2).fit(np.array([[-1.0, 1.0], [-1.0, 1.0]]))


def test_gibbs_takes_one_sample_as_a_1d_array_as_scikit_learn():
    X = grey_data()
    m = BernoulliRBM(n_components=5, n_iter=1, random_state=0).fit(X)
    one = m.gibbs(X[3])
    sk = SkRBM(n_components=5, n_iter=1, random_state=0).fit(X)
    assert one.shape == sk.gibbs(X[3]).shape == (12,) and one.dtype == bool
    twin = BernoulliRBM(n_components=5, n_iter=1, random_state=0).fit(X)
    assert_array_equal(one, twin.gibbs(X[3:4])[0])   # the same draws as the 2-D row
    with pytest.raises(ValueError, match=r"X has 3 features, but BernoulliRBM is expecting 12"):
        m.gibbs(np.zeros(3))


def test_gibbs_returns_booleans_and_does_not_modify_input():
    X = grey_data()
    X0 = X.copy()
    m = BernoulliRBM(n_components=5, n_iter=1, random_state=0).fit(X)
    v = m.gibbs(X)
    assert v.dtype == bool and v.shape == X.shape
    assert_array_equal(X, X0)


def test_save_and_load_round_trip(tmp_path):
    import fastnn.models._io as io
    X = grey_data()
    m = BernoulliRBM(n_components=5, n_iter=2, random_state=0).fit(X)
    m.save(tmp_path / "rbm.h5")
    back = io.load_model(tmp_path / "rbm.h5")
    assert_array_equal(back.transform(X), m.transform(X))


# ----------------------------------------------------------------- bad input

BAD_X = [
    (np.array([[0.5, 1.5]]), ValueError, r"X must hold values in \[0, 1\]; got 1\.5 at \[0, 1\]"),
    (np.array([[-0.1, 0.5]]), ValueError, r"X must hold values in \[0, 1\]; got -0\.1 at \[0, 0\]"),
    (np.array([[0.5, np.nan]]), ValueError, r"X must be finite \(no NaN or inf\); got nan at \[0, 1\]"),
    (np.array([0.5, 0.5]), ValueError, r"X must be 2-dimensional"),
    (np.zeros((0, 2)), ValueError, r"X must have at least 1 sample"),
    (np.array([["a", "b"]]), TypeError, r"X must hold numbers"),
]


@pytest.mark.parametrize("X,error,match", BAD_X)
def test_bad_X_in_fit_raises_a_clear_error(X, error, match):
    with pytest.raises(error, match=match):
        BernoulliRBM(n_components=2).fit(X)


@pytest.mark.parametrize("method", ["transform", "score_samples", "gibbs", "partial_fit"])
def test_bad_X_after_fit_raises_a_clear_error(method):
    m = BernoulliRBM(n_components=2, n_iter=1, random_state=0).fit(grey_data())
    with pytest.raises(ValueError, match=r"X has 3 features, but BernoulliRBM is expecting 12"):
        getattr(m, method)(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"X must hold values in \[0, 1\]; got 2\.0"):
        getattr(m, method)(np.full((2, 12), 2.0))


RANDOM_STATE = r"random_state must be None, an int in \[0, 4294967295\] or a numpy\.random\.RandomState; got "
BAD_PARAMS = [
    (dict(n_components=0), ValueError, r"n_components must be an int >= 1; got 0"),
    (dict(n_components=2.5), TypeError, r"n_components must be an int; got float 2\.5"),
    (dict(learning_rate=-0.1), ValueError, r"learning_rate must be a finite float > 0.0; got -0\.1"),
    (dict(batch_size=0), ValueError, r"batch_size must be an int >= 1; got 0"),
    (dict(n_iter=-1), ValueError, r"n_iter must be an int >= 0; got -1"),
    (dict(method="pc"), ValueError, r"method must be one of \['cd', 'pcd'\]; got 'pc'"),
    (dict(k=0), ValueError, r"k must be an int >= 1; got 0"),
    (dict(dtype="int32"), ValueError, r"dtype must be 'float32' or 'float64'; got 'int32'"),
    (dict(random_state=-1), ValueError, RANDOM_STATE + r"-1\."),
    (dict(verbose="yes"), TypeError, r"verbose must be an int; got str 'yes'"),
    (dict(verbose=-1), ValueError, r"verbose must be an int >= 0; got -1"),
    (dict(random_state=np.random.default_rng(0)), TypeError, RANDOM_STATE + r"Generator Generator\(PCG64\)"),
]


@pytest.mark.parametrize("params,error,match", BAD_PARAMS)
def test_bad_parameters_raise_a_clear_error(params, error, match):
    with pytest.raises(error, match=match):
        BernoulliRBM(**params).fit(grey_data())


@pytest.mark.parametrize("verbose", [True, 1])
def test_verbose_prints_each_pass_as_scikit_learn_does(verbose, capsys):
    """verbose=True, as scikit-learn's (it was refused: 'verbose must be an
    int'): a line a pass, in scikit-learn's words."""
    X = grey_data()
    params = dict(n_components=5, n_iter=2, random_state=0, verbose=verbose)
    SkRBM(**params).fit(X)
    want = capsys.readouterr().out.splitlines()
    BernoulliRBM(**params).fit(X)
    got = capsys.readouterr().out.splitlines()
    pattern = r"\[BernoulliRBM\] Iteration (\d), pseudo-likelihood = (-?\d+\.\d\d), time = \d+\.\d\ds"
    assert [re.fullmatch(pattern, line).group(1) for line in got] == ["1", "2"]
    assert [re.fullmatch(pattern, line).group(1) for line in want] == ["1", "2"]


@pytest.mark.parametrize("method", ["transform", "gibbs", "free_energy", "score_samples"])
@pytest.mark.parametrize("n_components", [1, 9])
def test_n_components_changed_after_fit_does_not_change_the_fitted_model(method, n_components):
    """set_params(n_components=...) after fit: the inference methods use the
    fitted model's units. They sized their buffers by the parameter, and the
    kernels wrote 5 units a row into 1 (the process aborted: free(): invalid
    size) or left 4 of 9 columns uninitialised."""
    X = grey_data()
    m = BernoulliRBM(n_components=5, n_iter=2, random_state=0).fit(X)
    m.random_state_ = np.random.RandomState(3)   # (gibbs draws from it)
    want = getattr(m, method)(X)
    m.set_params(n_components=n_components)
    m.random_state_ = np.random.RandomState(3)
    got = getattr(m, method)(X)
    assert got.shape == want.shape
    assert_array_equal(got, want)


@pytest.mark.parametrize("change,match", [
    (dict(n_components=4), r"fitted: n_components=5, dtype float64; now: n_components=4, dtype float64"),
    (dict(dtype="float32"), r"fitted: n_components=5, dtype float64; now: n_components=5, dtype float32"),
])
def test_partial_fit_refuses_parameters_that_describe_another_model(change, match):
    """partial_fit continues the fitted model, so a changed n_components or
    dtype is refused, as the MLPs refuse it (it was ignored: the model went on
    with 5 float64 units), and nothing is trained."""
    X = grey_data()
    m = BernoulliRBM(n_components=5, n_iter=1, random_state=0).fit(X)
    before = m.components_.copy()
    m.set_params(**change)
    with pytest.raises(ValueError, match=r"partial_fit continues the fitted model, but n_components "
                                         r"or dtype now describe another one \(" + match):
        m.partial_fit(X)
    assert_array_equal(m.components_, before)
    m.set_params(n_components=5, dtype=None).partial_fit(X)   # set back: it goes on
    assert not np.array_equal(m.components_, before)


@pytest.mark.parametrize("name", ["n_components", "batch_size", "n_iter", "k"])
@pytest.mark.parametrize("kind", [np.uint8, np.int8, np.int16, np.int64])
def test_numpy_integer_parameters_fit_as_python_ints(name, kind):
    """NumPy integers pass the int checks, and the model computes with them as
    Python ints: np.uint8 batch_size, n_iter or n_components overflowed in the
    arithmetic (OverflowError: Python integer -20 out of bounds for uint8)."""
    X = grey_data()
    params = dict(n_components=5, batch_size=7, n_iter=2, k=2, random_state=0)
    want = BernoulliRBM(**params).fit(X)
    params[name] = kind(params[name])
    got = BernoulliRBM(**params).fit(X)
    assert_array_equal(got.components_, want.components_)
    assert_array_equal(got.transform(X), want.transform(X))
    got.partial_fit(X)
    want.partial_fit(X)
    assert_array_equal(got.components_, want.components_)


def test_wrong_number_of_replayed_uniforms_is_an_error():
    # 47 rows: 5 minibatches of 10 chains, 12 visible + 7 hidden numbers each
    with pytest.raises(ValueError, match=r"uniforms must hold 950 numbers for this call; got 3"):
        BernoulliRBM(n_components=7, batch_size=10, n_iter=1).fit(grey_data(), uniforms=[0.1, 0.2, 0.3])


def test_unfitted_model_raises_not_fitted():
    from sklearn.exceptions import NotFittedError
    with pytest.raises(NotFittedError):
        BernoulliRBM().transform(grey_data())


def test_small_work_runs_the_cached_kernels(monkeypatch):
    # the article's pipeline (batch 10, small images) and small calls of the
    # inference methods run the cached parallel twins' serial loops, not the
    # serial twins, which a new process would compile; read-only input (a
    # memmap) included
    from fastnn.kernels import rbm as kernels

    def compiled_anew(*args):
        raise AssertionError("the model ran a serial twin")
    names = ["train", "hidden_probabilities", "gibbs", "free_energy", "pseudo_likelihood"]
    for name in names:
        monkeypatch.setattr(kernels, name + "_serial", compiled_anew)
    X = (np.random.RandomState(0).rand(40, 16) < 0.5).astype(float)
    X_ro = X.copy()
    X_ro.flags.writeable = False
    model = BernoulliRBM(n_components=8, n_iter=1, batch_size=10, random_state=0).fit(X)
    again = BernoulliRBM(n_components=8, n_iter=1, batch_size=10, random_state=0).fit(X_ro)
    assert_array_equal(again.components_, model.components_)
    for method in (model.transform, model.gibbs, model.free_energy, model.score_samples):
        method(X[:3])
    used = [getattr(kernels, name) for name in names]
    assert all(k.signatures for k in used)
    assert all(k._cache.load_overload(sig, k.targetctx) is not None
               for k in used for sig in k.signatures)


_PEAK_SCRIPT = """
import numpy as np
from fastnn import BernoulliRBM


def status(key):   # kB
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key + ":"))


X = (np.random.default_rng(0).random((20000, 784)) < 0.2).astype(np.float64)
m = BernoulliRBM(n_components=64, n_iter=1, random_state=0).fit(X[:100])
for name in ("transform", "score_samples", "free_energy"):   # compiled or loaded first
    getattr(m, name)(X[:10])
with open("/proc/self/clear_refs", "w") as f:   # the peak restarts from here (Linux)
    f.write("5")
before = status("VmRSS")
out = [m.transform(X), m.score_samples(X), m.free_energy(X)]
print((status("VmHWM") - before) / 1024)
"""


def test_inference_memory_is_its_output_not_a_scratch_row_per_sample():
    """transform, score_samples and free_energy keep a scratch row a thread, not
    one a sample, and their input checks make no temporaries as big as X: on
    20000 x 784 rows the peak resident memory of a fresh process rose by 123
    MiB (the lists of each row's nonzero inputs, int64, as big as X; boolean
    masks of X in the checks), now by their outputs' 10.3 MiB."""
    import subprocess
    import sys
    if not os.access("/proc/self/clear_refs", os.W_OK):
        pytest.skip("needs Linux's /proc/self/clear_refs to restart the peak memory")
    done = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    rise = float(done.stdout.split()[-1])
    assert rise < 20, f"peak memory rose by {rise:.0f} MiB"


def test_a_model_from_a_read_only_memmap_gives_the_same_results_without_new_kernels(tmp_path):
    # joblib.load(mmap_mode="r") gives read-only arrays; the kernels get writeable
    # copies, so nothing is compiled again for them and training can write
    from fastnn.kernels import rbm as kernels
    from tests.models.readonly import memmapped, read_only_signatures

    X = grey_data()
    m = BernoulliRBM(n_components=5, n_iter=1, random_state=0).fit(X)
    back = memmapped(m, tmp_path)
    assert_array_equal(back.transform(X), m.transform(X))
    assert_array_equal(back.score_samples(X), m.score_samples(X))
    assert_array_equal(back.gibbs(X), m.gibbs(X))
    assert_array_equal(back.partial_fit(X).components_, m.partial_fit(X).components_)
    assert_array_equal(back.h_samples_, m.h_samples_)
    assert read_only_signatures(kernels) == []
