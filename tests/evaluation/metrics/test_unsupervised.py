"""Tests for the unsupervised scores (tfdis.evaluation.metrics.unsupervised)."""

import metrics_testlib as tl
import numpy as np
import pytest

from tfdis.evaluation.metrics import unsupervised


@pytest.mark.parametrize("r", [0.0, 0.5, -0.9])
def test_gaussian_correlations_of_known_covariance(r):
    cov = np.array([[1.0, r], [r, 1.0]])
    assert unsupervised.gaussian_total_correlation(cov) == pytest.approx(-0.5 * np.log(1 - r**2))
    # W2^2 = 2 tr C - 2 (sqrt(1 + r) + sqrt(1 - r)) with D = I.
    expected = 4.0 - 2.0 * (np.sqrt(1 + r) + np.sqrt(1 - r))
    assert unsupervised.gaussian_wasserstein_correlation(cov) == pytest.approx(expected, abs=1e-12)


def test_wasserstein_with_unequal_scales_matches_sqrtm():
    import scipy.linalg

    cov = np.array([[4.0, 1.0, 0.5], [1.0, 2.0, 0.3], [0.5, 0.3, 1.0]])
    dlib_form = 2 * np.trace(cov) - 2 * np.trace(scipy.linalg.sqrtm(cov * np.diag(cov)[:, None]))
    assert unsupervised.gaussian_wasserstein_correlation(cov) == pytest.approx(np.real(dlib_form))


def _score(representation, seed=0):
    return unsupervised.unsupervised_metrics(
        tl.IdentityData(), representation, np.random.RandomState(seed), num_train=2000
    )


def test_independent_codes_score_near_zero():
    scores = _score(tl.identity_representation)
    assert scores["gaussian_total_correlation"] < 0.01
    assert scores["gaussian_wasserstein_correlation_norm"] < 0.01
    assert scores["mutual_info_score"] < 0.03


def test_duplicated_code_raises_mutual_info():
    def representation(x):
        codes = tl.identity_representation(x)
        return np.c_[codes[:, 0], codes[:, 0] + 0.5 * codes[:, 1]]

    scores = _score(representation)
    # corr^2 = 1 / 1.25 for equal factor variances: TC = -1/2 ln(1 - 0.8).
    assert scores["gaussian_total_correlation"] == pytest.approx(0.5 * np.log(5), abs=0.05)
    assert scores["mutual_info_score"] > 0.5


def test_same_seed_same_result():
    assert _score(tl.rotated_representation, 1) == _score(tl.rotated_representation, 1)


def test_bad_inputs():
    with pytest.raises(ValueError, match="num_codes >= 2"):
        unsupervised._unsupervised_metrics(np.zeros((1, 5)))
    with pytest.raises(ValueError, match="positive definite"):
        unsupervised.gaussian_total_correlation(np.zeros((2, 2)))
