"""Tests for TC_mean / TC_sample (tfdis.evaluation.metrics.tc_mean_sample)."""

import metrics_testlib as tl
import numpy as np
import pytest

from tfdis.evaluation.metrics import tc_mean_sample


def test_hand_covariance():
    # x = (1, -1, 1, -1), y = (1, -1, 0, 0): var 4/3 and 2/3, cov 2/3, corr^2 = 1/2.
    means = np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, 0.0], [-1.0, 0.0]])
    independent = np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]])
    scores = tc_mean_sample._compute_tc_mean_sample(means, independent)
    assert scores["tc_mean"] == pytest.approx(0.5 * np.log(2))
    assert scores["tc_sample"] == pytest.approx(0.0, abs=1e-12)


def test_constant_mean_dimension_is_dropped():
    means = np.c_[[1.0, -1.0, 1.0, -1.0], [1.0, -1.0, 0.0, 0.0], np.zeros(4)]
    samples = np.random.RandomState(0).normal(size=(4, 3))
    assert tc_mean_sample._compute_tc_mean_sample(means, samples)["tc_mean"] == pytest.approx(
        0.5 * np.log(2)
    )


def _score(encoder, seed=0):
    return tc_mean_sample.compute_tc_mean_sample(
        tl.IdentityData((10, 10)), encoder, np.random.RandomState(seed), num_points=5000
    )


def test_closed_form_on_a_linear_gaussian_encoder():
    # Means A f with f uniform on 0..9 (variance 8.25): cov_mean = 8.25 A A^T; samples add 2^2 I.
    weights = np.array([[1.0, 1.0], [0.0, 1.0]])
    scores = _score(tl.GaussianPosterior(weights, sigma=2.0))
    cov = 8.25 * weights @ weights.T
    expected_mean = 0.5 * np.log(cov[0, 0] * cov[1, 1] / np.linalg.det(cov))
    cov_s = cov + 4.0 * np.eye(2)
    expected_sample = 0.5 * np.log(cov_s[0, 0] * cov_s[1, 1] / np.linalg.det(cov_s))
    assert scores["tc_mean"] == pytest.approx(expected_mean, abs=0.03)
    assert scores["tc_sample"] == pytest.approx(expected_sample, abs=0.03)
    assert scores["tc_sample"] < scores["tc_mean"]


def test_identity_near_zero_and_deterministic():
    encoder = tl.GaussianPosterior(np.eye(2), sigma=0.5)
    scores = _score(encoder, 3)
    assert scores["tc_mean"] < 0.01 and scores["tc_sample"] < 0.01
    assert scores == _score(encoder, 3)


def test_bad_inputs():
    with pytest.raises(ValueError, match="share"):
        tc_mean_sample._compute_tc_mean_sample(np.zeros((4, 2)), np.zeros((4, 3)))
