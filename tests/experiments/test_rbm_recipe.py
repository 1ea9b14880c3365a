"""The rbm-digits recipe (part A.7): RBM features beat raw pixels, and fastnn's
RBM is within noise of scikit-learn's in the same pipeline."""
import numpy as np
import pytest

from fastnn import experiments
from fastnn.experiments.recipes.rbm import _paired_interval


def test_rbm_features_beat_raw_pixels_and_match_scikit_learn():
    # the example's settings with two RBM seeds (the default is five): the
    # example's gap to raw pixels (0.93 against 0.78), and the two
    # implementations' pipelines agree within sampling noise
    r = experiments.run("rbm-digits", seed=0, n_seeds=2)
    m = r.metrics
    assert m["rbm_f1_macro"] > m["raw_f1_macro"] + 0.12, m
    assert 0.75 < m["raw_f1_macro"] < 0.82, m          # the example's 0.780
    assert abs(m["f1_difference"]) < 0.02, m
    assert m["f1_difference_low"] <= m["f1_difference"] <= m["f1_difference_high"]
    assert r.arrays["rbm_f1_macro_per_seed"].shape == (2,)
    assert np.isclose(m["rbm_f1_macro"], r.arrays["rbm_f1_macro_per_seed"].mean())
    assert r.arrays["components"].shape == (100, 64)
    assert "difference" in r.summary


def test_same_result_whatever_threads_blas_has():
    """The logistic regression on RBM features (C=6000) follows the rounding of
    BLAS's sums, which depends on BLAS's thread count: one thread gave another F1
    than two, and scikit-learn's RBM another pseudo-likelihood. The recipe runs
    with BLAS on one thread, so a run in a process worker (a share of the cores)
    and one in the parent agree. (A small run: C=1 converges in a tenth of
    C=6000's time, and its F1s still moved with BLAS's threads.)"""
    from threadpoolctl import threadpool_limits
    metrics = []
    for n in (1, 2):
        with threadpool_limits(n, "blas"):
            r = experiments.run("rbm-digits", seed=0, n_seeds=1, n_iter=1, n_components=16,
                                C_rbm=1.0, C_raw=1.0)
        metrics.append({k: v for k, v in r.metrics.items()
                        if k.endswith(("f1_macro", "pseudo_likelihood", "accuracy"))})
    assert len(metrics[0]) == 7 and metrics[0] == metrics[1]


def test_paired_interval_against_a_hand_computed_t_interval():
    mean, low, high = _paired_interval([1.0, 2.0, 3.0])
    half = 4.302652729749464 * 1.0 / np.sqrt(3)           # t(0.975, 2) * sd / sqrt(n)
    assert (mean, low, high) == pytest.approx((2.0, 2.0 - half, 2.0 + half), rel=1e-9)
    mean, low, high = _paired_interval([0.5])
    assert mean == 0.5 and np.isnan(low) and np.isnan(high)


def test_n_seeds_below_one_is_a_clear_error():
    with pytest.raises(ValueError, match=r"n_seeds must be an int >= 1; got 0"):
        experiments.run("rbm-digits", seed=0, n_seeds=0)
