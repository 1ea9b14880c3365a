"""NUMBA_DISABLE_JIT=1 runs every kernel as Python, to debug it (the SIMD
intrinsics through their Python forms, see ``fastnn.kernels.simd``): each
model family learns there what it learns compiled."""
import os
import subprocess
import sys
import warnings

import numpy as np
from numpy.testing import assert_allclose
from sklearn.datasets import load_digits

import fastnn

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_Y = np.array([0, 1, 1, 0], dtype=float)


def _cases():
    """Small fits of every family, their predictions concatenated: the per-sample
    logistic network of part D and a minibatch tanh network (Adam) on XOR; a
    per-sample digits classifier (listed inputs, lazy momentum, a 10-unit
    output layer); the CNN at batch 1 and 4; the RBM; a Hopfield network's
    recall; the linear classifier. All float64: in Python, NumPy rounds a
    float32 array's arithmetic with a Python float in float32 (NEP 50), where
    compiled code rounds it in float64, so float32 models differ there in
    the last bits."""
    digits = load_digits()
    X, y = digits.data[:40] / 16, digits.target[:40]
    images = X[:24].reshape(-1, 8, 8)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # ConvergenceWarning; plain Python's uint64 wrap-around
        for m in (fastnn.MLPRegressor((5,), activation="logistic", output_activation="logistic",
                                      loss="squared", solver="sgd", learning_rate_init=0.5,
                                      momentum=0.1, batch_size=1, max_iter=20,
                                      sample_order="sequential", tol=None, random_state=0),
                  fastnn.MLPRegressor((4,), activation="tanh", solver="adam", batch_size=2,
                                      max_iter=20, tol=None, random_state=1)):
            out.append(m.fit(XOR_X, XOR_Y).predict(XOR_X))
        m = fastnn.MLPClassifier((8,), activation="logistic", solver="sgd", learning_rate_init=0.1,
                                 momentum=0.9, alpha=0.0, batch_size=1, max_iter=2, tol=None,
                                 random_state=0)
        out.append(m.fit(X, y).predict_proba(X[:5]))
        for batch in (1, 4):
            m = fastnn.ConvNetClassifier(n_filters=2, filter_size=3, pool_size=2,
                                         hidden_layer_sizes=(4,), batch_size=batch, max_iter=2,
                                         tol=None, random_state=0)
            out.append(m.fit(images, y[:24]).predict_proba(images[:3]))
        rbm = fastnn.BernoulliRBM(n_components=5, n_iter=2, batch_size=10, random_state=0)
        out.append(rbm.fit(X).transform(X[:3]))
        patterns = np.where(np.random.default_rng(0).random((3, 40)) < 0.5, -1, 1)
        probes = patterns.copy()
        probes[:, :6] *= -1
        hop = fastnn.HopfieldNetwork(rule="storkey", random_state=0).fit(patterns)
        out.append(hop.predict(probes))
        points = X[:, 20:22] + 0.25   # part G's update divides by x
        line = fastnn.LinearClassifier(n_epochs=3).fit(points, (y > 4).astype(int))
        out.append(line.predict(points))
    return np.concatenate([np.asarray(o, dtype=np.float64).ravel() for o in out])


def test_every_family_learns_the_same_as_plain_python(tmp_path):
    code = ("import numpy as np, sys; from tests.test_pure_python import _cases; "
            "np.save(sys.argv[1], _cases())")
    out = tmp_path / "p.npy"
    subprocess.run([sys.executable, "-c", code, str(out)], check=True, cwd=os.getcwd(),
                   env=dict(os.environ, NUMBA_DISABLE_JIT="1"), timeout=600)
    assert_allclose(np.load(out), _cases(), rtol=1e-12, atol=0)
