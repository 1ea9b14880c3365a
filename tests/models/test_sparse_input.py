"""Sparse input: the MLPs and the RBM take SciPy sparse matrices and arrays as
scikit-learn's MLPClassifier, MLPRegressor and BernoulliRBM do, and give the
bits their dense copies give; the models with no scikit-learn twin refuse
them with a TypeError that says how to convert. (The RBM on a CSR matrix
against scikit-learn's, given the same random numbers: tests/models/test_rbm.py.)"""
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from fastnn import BernoulliRBM, MLPClassifier, MLPRegressor
from fastnn._validation import check_array
from tests.models.quiet import fit_quietly

FORMATS = ["csr", "csc", "coo", "lil", "dok", "bsr", "dia"]


def sparse_data(n=60, d=12, density=0.3, seed=0):
    """Values in [0, 1], most of them zero, and labels that depend on them."""
    X = sp.random(n, d, density=density, format="csr", random_state=seed)
    s = np.asarray(X[:, :4].sum(axis=1)).ravel()
    return X, (s > np.median(s)).astype(int)


@pytest.mark.parametrize("kind", [sp.csr_matrix, sp.csr_array], ids=["matrix", "array"])
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_check_array_densifies_every_format(fmt, kind, dtype):
    X, _ = sparse_data()
    S = kind(X).asformat(fmt)
    out = check_array(S, "X", dtype=dtype, accept_sparse=True)
    assert out.dtype == dtype and out.flags.c_contiguous and out.flags.writeable
    assert_array_equal(out, X.toarray().astype(dtype))


def test_check_array_names_what_is_wrong_in_sparse_input():
    X, _ = sparse_data()
    bad = X.copy()
    bad.data[3] = np.inf
    row, col = (int(v) for v in np.argwhere(np.isinf(bad.toarray()))[0])
    with pytest.raises(ValueError, match=fr"X must be finite \(no NaN or inf\); got inf at \[{row}, {col}\]"):
        check_array(bad, "X", accept_sparse=True)
    with pytest.raises(ValueError, match=r"X has 12 features, but MLPClassifier is expecting 5"):
        check_array(X, "X", n_features=5, fitted_with="MLPClassifier", accept_sparse=True)
    with pytest.raises(TypeError, match=r"X must be a dense array; got a sparse csr_matrix\. "
                                        r"Convert it with X\.toarray\(\)\."):
        check_array(X, "X")
    # a dense copy that cannot exist: a MemoryError that says how big it is
    with pytest.raises(MemoryError, match=r"X is a sparse csr_matrix of shape \(10000000, 10000000\); "
                                          r"the model works on its dense copy, 7\.45e\+05 GiB"):
        check_array(sp.csr_matrix((10 ** 7, 10 ** 7)), "X", accept_sparse=True)


def _same_model(a, b):
    for u, v in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert_array_equal(u, v)
    assert a.n_iter_ == b.n_iter_ and a.loss_ == b.loss_


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("model", [MLPClassifier, MLPRegressor])
def test_mlps_give_the_dense_inputs_bits_and_scikit_learns_weights(model, solver, fmt):
    from sklearn.neural_network import MLPClassifier as RC, MLPRegressor as RR
    X, y = sparse_data()
    if model is MLPRegressor:
        y = np.asarray(X[:, :3].sum(axis=1)).ravel()
    S = X.asformat(fmt)
    params = dict(hidden_layer_sizes=(6,), solver=solver, batch_size=8, max_iter=3, shuffle=True,
                  random_state=1, learning_rate_init=0.05)
    dense = fit_quietly(model(**params), X.toarray(), y)
    got = fit_quietly(model(**params), S, y)
    _same_model(got, dense)
    for method in ("predict", "predict_proba") if model is MLPClassifier else ("predict",):
        assert_array_equal(getattr(got, method)(S), getattr(dense, method)(X.toarray()))
    assert got.score(S, y) == dense.score(X.toarray(), y)
    want = fit_quietly((RC if model is MLPClassifier else RR)(**params), S, y)
    for u, v in zip(want.coefs_ + want.intercepts_, got.coefs_ + got.intercepts_):
        assert_allclose(v, u, rtol=0, atol=1e-12)
    if solver != "lbfgs":
        before = [c.copy() for c in got.coefs_]
        got.partial_fit(S, y)
        dense.partial_fit(X.toarray(), y)
        _same_model(got, dense)
        assert any((a != b).any() for a, b in zip(before, got.coefs_))


def test_float32_mlp_takes_sparse_float32_and_float64_input():
    X, y = sparse_data()
    params = dict(hidden_layer_sizes=(5,), max_iter=2, random_state=0, dtype=np.float32)
    want = fit_quietly(MLPClassifier(**params), X.toarray().astype(np.float32), y)
    for S in (X, X.astype(np.float32)):
        got = fit_quietly(MLPClassifier(**params), S, y)
        assert got.coefs_[0].dtype == np.float32
        _same_model(got, want)


@pytest.mark.parametrize("method,k", [("pcd", 1), ("cd", 2)])
@pytest.mark.parametrize("fmt", ["csr", "csc", "lil"])
def test_rbm_gives_the_dense_inputs_bits(fmt, method, k):
    X, _ = sparse_data(n=47)
    S = X.asformat(fmt)
    params = dict(n_components=5, batch_size=10, n_iter=2, learning_rate=0.1, random_state=3,
                  method=method, k=k)
    dense = BernoulliRBM(**params).fit(X.toarray())
    got = BernoulliRBM(**params).fit(S)
    for name in ("components_", "intercept_hidden_", "intercept_visible_", "h_samples_"):
        assert_array_equal(getattr(got, name), getattr(dense, name), err_msg=name)
    for name in ("transform", "score_samples", "free_energy", "gibbs"):
        assert_array_equal(getattr(got, name)(S), getattr(dense, name)(X.toarray()), err_msg=name)
    got.partial_fit(S[:10])
    dense.partial_fit(X[:10].toarray())
    assert_array_equal(got.components_, dense.components_)


def test_rbm_fits_float32_sparse_input_in_float32():
    X, _ = sparse_data()
    model = BernoulliRBM(n_components=4, n_iter=1, random_state=0).fit(X.astype(np.float32))
    assert model.components_.dtype == np.float32
    assert model.transform(X.astype(np.float32)).dtype == np.float32
    assert model.transform(X).dtype == np.float64   # scikit-learn's, for float64 input


def test_rbm_rejects_sparse_values_outside_the_unit_interval():
    X, _ = sparse_data()
    bad = X.copy()
    bad.data[0] = 1.5
    with pytest.raises(ValueError, match=r"X must hold values in \[0, 1\]"):
        BernoulliRBM(n_components=3).fit(bad)


@pytest.mark.parametrize("make,call", [
    ("ConvNetClassifier", lambda m, S, y: m.fit(S, y)),
    ("LinearClassifier", lambda m, S, y: m.fit(S[:, :2], y)),
    ("HopfieldNetwork", lambda m, S, y: m.fit(S)),
])
def test_models_without_a_scikit_learn_twin_refuse_sparse_input(make, call):
    import fastnn
    X, y = sparse_data(d=64)
    with pytest.raises(TypeError, match=r"must be a dense array; got a sparse csr_matrix\. "
                                        r"Convert it with \w+\.toarray\(\)\."):
        call(getattr(fastnn, make)(), X, y)


def test_a_sparse_value_that_overflows_a_float32_model_is_named():
    X, y = sparse_data()
    big = X.copy()
    big.data[5] = 1e300
    row, col = (int(v) for v in np.argwhere(big.toarray() == 1e300)[0])
    with pytest.raises(ValueError, match=fr"X overflows float32: 1e\+300 at \[{row}, {col}\]"):
        MLPClassifier(dtype=np.float32).fit(big, y)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_a_sparse_multilabel_y_trains_as_scikit_learns(early_stopping):
    """scikit-learn's MLPClassifier takes a multilabel indicator y as a sparse
    matrix and then predicts sparse rows; so does fastnn's, with the weights
    of the dense y and of scikit-learn's fit."""
    from sklearn.neural_network import MLPClassifier as Reference
    X, _ = sparse_data(n=100)
    X = X.toarray()
    Y = np.c_[X[:, 0] > 0, X[:, 1] > 0, X[:, 2] + X[:, 3] > 0.5].astype(int)
    params = dict(hidden_layer_sizes=(5,), max_iter=12, random_state=0, early_stopping=early_stopping,
                  n_iter_no_change=3)
    want = fit_quietly(Reference(**params), X, sp.csr_matrix(Y))
    got = fit_quietly(MLPClassifier(**params), X, sp.csr_matrix(Y))
    dense = fit_quietly(MLPClassifier(**params), X, Y)
    _same_model(got, dense)
    for a, b in zip(want.coefs_ + want.intercepts_, got.coefs_ + got.intercepts_):
        assert_allclose(b, a, rtol=0, atol=1e-12)
    assert got.n_iter_ == want.n_iter_
    pred = got.predict(X)
    assert sp.issparse(pred) and sp.issparse(want.predict(X))
    assert_array_equal(pred.toarray(), want.predict(X).toarray())
    assert_array_equal(pred.toarray(), dense.predict(X))
    assert got.score(X, sp.csr_matrix(Y)) == want.score(X, sp.csr_matrix(Y)) == dense.score(X, Y)
    if not early_stopping:
        got.partial_fit(X, sp.csr_matrix(Y))
        dense.partial_fit(X, Y)
        _same_model(got, dense)


@pytest.mark.parametrize("model,y,message", [
    (MLPClassifier, sp.csr_matrix(np.arange(60)[:, None] % 2),
     r"y must be dense unless it is a multilabel indicator matrix; got a sparse csr_matrix of shape "
     r"\(60, 1\) holding 'binary' targets\. Convert it with y\.toarray\(\)\."),
    (MLPRegressor, sp.csr_matrix(np.ones((60, 2))),
     r"y must be a dense array; got a sparse csr_matrix\. Convert it with y\.toarray\(\)\."),
])
def test_other_sparse_targets_are_refused_as_scikit_learn_refuses_them(model, y, message):
    X, _ = sparse_data()
    with pytest.raises(TypeError, match=message):
        model().fit(X, y)


def test_check_sparse_names_what_is_wrong_as_check_array_does():
    """check_sparse (the RBM's sparse input, densified a run of rows at a time)
    checks the stored values and names them by the dense copy's [row, column]."""
    from fastnn._validation import check_sparse
    X, _ = sparse_data()
    for value, message in [(np.inf, "X must be finite \\(no NaN or inf\\); got inf"),
                           (np.nan, "X must be finite \\(no NaN or inf\\); got nan"),
                           (1.5, "X must hold values in \\[0, 1\\]; got 1.5"),
                           (-0.25, "X must hold values in \\[0, 1\\]; got -0.25")]:
        bad = X.copy()
        bad.data[7] = value
        dense = bad.toarray()
        row, col = (int(v) for v in np.argwhere(~((dense >= 0) & (dense <= 1)))[0])
        for fmt in ("csr", "coo", "csc"):   # csc stores them column by column: still named by row
            with pytest.raises(ValueError, match=fr"{message} at \[{row}, {col}\]"):
                check_sparse(bad.asformat(fmt), "X", np.float64, unit_interval=True)
    big = X.copy()
    big.data[5] = 1e300
    row, col = (int(v) for v in np.argwhere(big.toarray() == 1e300)[0])
    with pytest.raises(ValueError, match=fr"X overflows float32: 1e\+300 at \[{row}, {col}\]"):
        check_sparse(big, "X", np.float32)
    with pytest.raises(ValueError, match=r"X has 12 features, but BernoulliRBM is expecting 5"):
        check_sparse(X, "X", np.float64, n_features=5, fitted_with="BernoulliRBM")
    with pytest.raises(ValueError, match=r"X must have at least 1 sample; got 0"):
        check_sparse(sp.csr_matrix((0, 4)), "X", np.float64)
    with pytest.raises(ValueError, match=r"X must hold real numbers; got complex dtype complex128"):
        check_sparse(sp.csr_matrix(np.array([[1j, 0]])), "X", np.float64)
    # duplicate entries sum in the dense copy, so 0.6 + 0.6 is out of range;
    # the caller's matrix keeps its duplicates
    dup = sp.csr_matrix((np.array([0.6, 0.6]), np.array([1, 1]), np.array([0, 2, 2])), shape=(2, 3))
    with pytest.raises(ValueError, match=r"got 1\.2 at \[0, 1\]"):
        check_sparse(dup, "X", np.float64, unit_interval=True)
    assert dup.nnz == 2 and not dup.has_canonical_format
    got = check_sparse(X.asformat("coo"), "X", np.float32)
    assert got.format == "csr" and got.dtype == np.float32
    assert_array_equal(got.toarray(), X.toarray().astype(np.float32))


@pytest.mark.parametrize("run_batches,run_bytes", [(1, 1), (2, 12 * 8 * 25), (64, 2 ** 24)])
def test_rbm_densifies_sparse_input_a_run_of_rows_at_a_time_with_the_same_bits(
        monkeypatch, run_batches, run_bytes):
    """Runs of one minibatch, of 25 rows (several minibatches, not a multiple of
    the batch size in inference) and of all the rows give the bits of the dense
    input, in training and in inference."""
    import fastnn.models.rbm as rbm
    monkeypatch.setattr(rbm, "_RUN_BATCHES", run_batches)
    monkeypatch.setattr(rbm, "_RUN_BYTES", run_bytes)
    X, _ = sparse_data(n=93)
    D = X.toarray()
    for method in ("pcd", "cd"):
        params = dict(n_components=6, batch_size=4, n_iter=2, random_state=1, method=method)
        dense = BernoulliRBM(**params).fit(D)
        got = BernoulliRBM(**params).fit(X)
        for name in ("components_", "intercept_hidden_", "intercept_visible_", "h_samples_"):
            assert_array_equal(getattr(got, name), getattr(dense, name), err_msg=name)
        for name in ("transform", "score_samples", "free_energy", "gibbs", "gibbs"):
            assert_array_equal(getattr(got, name)(X), getattr(dense, name)(D), err_msg=name)
    # replayed random numbers are consumed across the runs in order
    u = np.random.default_rng(2).random(2 * 24 * 4 * (12 + 6))
    params = dict(n_components=6, batch_size=4, n_iter=2, random_state=1)
    assert_array_equal(BernoulliRBM(**params).fit(X, uniforms=u).components_,
                       BernoulliRBM(**params).fit(D, uniforms=u).components_)


_SPARSE_PEAK_SCRIPT = """
import numpy as np, scipy.sparse as sp
from fastnn import BernoulliRBM

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])

X = sp.random(30000, 2000, density=0.01, format="csr", random_state=0)   # dense: 458 MiB
X.data[:] = 1.0
BernoulliRBM(n_components=16, n_iter=1, random_state=0).fit(X[:100]).score_samples(X[:10])
with open("/proc/self/clear_refs", "w") as f:   # the peak restarts from here (Linux)
    f.write("5")
before = status("VmRSS")
model = BernoulliRBM(n_components=16, n_iter=1, random_state=0).fit(X)
out = [model.transform(X), model.score_samples(X), model.free_energy(X)]
print((status("VmHWM") - before) / 1024)
"""


def test_rbm_on_sparse_input_never_holds_its_dense_copy():
    """Training and inference on a 30000 x 2000 CSR matrix (1% stored; a dense
    copy of 458 MiB) raise the peak resident memory of a fresh process by about
    19 MiB (one buffer of a run of rows, 16 MiB, and the outputs), not the 458
    MiB of the whole dense copy they took before (51 MiB with a new run of rows
    from ``toarray`` each time)."""
    import os
    import subprocess
    import sys
    if not os.access("/proc/self/clear_refs", os.W_OK):
        pytest.skip("needs Linux's /proc/self/clear_refs to restart the peak memory")
    done = subprocess.run([sys.executable, "-c", _SPARSE_PEAK_SCRIPT], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    rise = float(done.stdout.split()[-1])
    assert rise < 40, f"peak memory rose by {rise:.0f} MiB"
