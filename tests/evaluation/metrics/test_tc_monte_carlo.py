"""Tests for Yang et al.'s Monte Carlo TC metric (tfdis.evaluation.metrics.tc_monte_carlo)."""

import metrics_testlib as tl
import numpy as np
import pytest

from tfdis.estimators import total_correlation
from tfdis.evaluation.metrics import tc_monte_carlo


def test_equals_the_estimator_on_the_same_batch_and_seed():
    data, encoder = tl.IdentityData((4, 4)), tl.GaussianPosterior(np.eye(2), sigma=0.7)
    scores = tc_monte_carlo.compute_tc_monte_carlo(data, encoder, np.random.RandomState(5))
    rng = np.random.RandomState(5)
    mean, logvar = encoder.encode(data.sample_observations(64, rng))
    seed = rng.randint(2**31 - 1, size=2).astype(np.int32)
    expected = total_correlation.monte_carlo(mean, logvar, seed, num_samples=30)
    assert scores["tc_monte_carlo"] == pytest.approx(float(expected.total_correlation), rel=1e-12)
    assert scores["tc_monte_carlo_std"] == 0.0


@pytest.mark.parametrize("correlation", [0.0, 0.5])
def test_identical_posteriors_give_the_gaussian_tc(correlation):
    # Every posterior is N(0, D S D): q(z) is that Gaussian, whose TC is -1/2 log det S; with
    # s = 0 each sample's log q(z) equals sum_j log q(z_j) exactly.
    encoder = tl.GaussianPosterior(np.zeros((3, 2)), sigma=1.0)
    encoder.correlation = correlation
    scores = tc_monte_carlo.compute_tc_monte_carlo(
        tl.IdentityData((2, 2)), encoder, np.random.RandomState(0), num_batches=8
    )
    log_det = np.log(np.linalg.det((1 - correlation) * np.eye(3) + correlation))
    assert scores["tc_monte_carlo"] == pytest.approx(-0.5 * log_det, abs=0.02)
    if correlation == 0.0:
        assert scores["tc_monte_carlo"] == pytest.approx(0.0, abs=1e-9)


def test_separated_posteriors_on_a_diagonal_have_tc_log_k():
    # Both latents equal the same 4-valued factor (sigma 0.01, unit spacing): q(z) puts mass
    # 1/4 on 4 diagonal clusters, q(z_1) q(z_2) spreads it over 16, so TC = log 4, up to the
    # batch's empirical cluster frequencies: TC = H(batch frequencies).
    encoder = tl.GaussianPosterior(np.array([[1.0], [1.0]]), sigma=0.01)
    data = tl.IdentityData((4,))
    scores = tc_monte_carlo.compute_tc_monte_carlo(data, encoder, np.random.RandomState(1))
    values = data.sample_observations(64, np.random.RandomState(1)).ravel()
    p = np.unique(values, return_counts=True)[1] / 64
    assert scores["tc_monte_carlo"] == pytest.approx(-np.sum(p * np.log(p)), abs=1e-6)


def test_bad_sizes():
    data, encoder = tl.IdentityData((2,)), tl.GaussianPosterior(np.eye(1))
    with pytest.raises(ValueError, match="batch_size"):
        tc_monte_carlo.compute_tc_monte_carlo(data, encoder, np.random.RandomState(0), batch_size=0)
    with pytest.raises(ValueError, match="num_batches"):
        tc_monte_carlo.compute_tc_monte_carlo(
            data, encoder, np.random.RandomState(0), num_batches=0
        )
