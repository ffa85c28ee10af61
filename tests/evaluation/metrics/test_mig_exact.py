"""Tests for Chen et al.'s exact MIG (tfdis.evaluation.metrics.mig_exact)."""

import metrics_testlib as tl
import numpy as np
import pytest
from scipy.special import logsumexp

from tfdis.evaluation.metrics import mig_exact

SIZES = (4, 3, 5)


def _score(encoder, seed=0, **kwargs):
    return mig_exact.compute_mig_exact(
        tl.IdentityData(SIZES), encoder, np.random.RandomState(seed), batch_size=16, **kwargs
    )


def test_log_mixture_sum_matches_brute_force_with_pruning():
    rs = np.random.RandomState(0)
    m, s = 3000, 300
    mean = np.c_[rs.uniform(-3, 3, m), rs.normal(0, 0.01, m), rs.uniform(-3, 3, m)]
    logvar = np.c_[
        np.log(rs.uniform(1e-3, 0.05, m)), np.full(m, -0.01), np.log(rs.uniform(1e-4, 1, m))
    ]
    chosen = rs.choice(m, s, replace=False)
    z = mean[chosen] + np.exp(0.5 * logvar[chosen]) * rs.normal(size=(s, 3))
    own = mig_exact._log_normal(z, mean[chosen], logvar[chosen])
    got = mig_exact.log_mixture_sum(
        z, own, mean, logvar, sample_tile=16, component_block=64, pairs_per_call=8
    )
    dense = mig_exact._log_normal(z[:, None, :], mean[None], logvar[None])
    np.testing.assert_allclose(got, logsumexp(dense, axis=1), atol=1e-5)


def test_identity_encoder_gives_one_and_zero_cross_information():
    # Means = factor values, sigma 0.01: I(z_k; v_k) = ln|V_k| up to exp(-1/(8 sigma^2)), and on
    # the full grid each slice mixture equals the full mixture, so I(z_j; v_k) = 0 for j != k.
    scores = _score(tl.GaussianPosterior(np.eye(3)), num_samples=1000)
    assert scores["mig_exact"] == pytest.approx(1.0, abs=1e-4)
    for k in range(3):
        assert scores[f"mig_exact_factor_{k}"] == pytest.approx(1.0, abs=1e-4)


def test_duplicated_latent_removes_its_factor_gap():
    weights = np.vstack([np.eye(3), [[1.0, 0.0, 0.0]]])
    scores = _score(tl.GaussianPosterior(weights), num_samples=1000)
    assert scores["mig_exact_factor_0"] == pytest.approx(0.0, abs=1e-4)
    assert scores["mig_exact"] == pytest.approx(2 / 3, abs=1e-4)


def test_factor_subset():
    weights = np.vstack([np.eye(3), [[1.0, 0.0, 0.0]]])
    scores = _score(tl.GaussianPosterior(weights), num_samples=1000, factor_indices=[1, 2])
    assert scores["mig_exact"] == pytest.approx(1.0, abs=1e-4)
    assert "mig_exact_factor_0" not in scores


def test_rotated_and_random_encoders_score_low():
    rotation = np.array([[1.0, 1.0, 0.0], [1.0, -1.0, 0.0], [0.0, 0.0, 1.0]]) / np.sqrt(2)
    rotated = _score(tl.GaussianPosterior(rotation, sigma=0.3), num_samples=1000)
    # Factors 0 and 1 (4 and 3 values) each spread over two codes.
    assert rotated["mig_exact_factor_0"] < 0.3
    assert rotated["mig_exact_factor_1"] < 0.3
    random_encoder = tl.GaussianPosterior(np.zeros((0, 3)), sigma=1.0, extra_random_dims=3)
    random = _score(random_encoder, num_samples=1000)
    assert random["mig_exact"] < 0.05


def test_same_seed_same_result():
    encoder = tl.GaussianPosterior(np.eye(3), sigma=0.5)
    assert _score(encoder, 4, num_samples=30) == _score(encoder, 4, num_samples=30)


def test_bad_inputs_raise():
    z = np.zeros((6, 2))
    factors = np.array([[0], [1], [0], [1], [0], [1]])
    rs = np.random.RandomState(0)
    with pytest.raises(ValueError, match="same"):
        mig_exact._compute_mig_exact(z, z[:, :1], z, factors, rs)
    with pytest.raises(ValueError, match="factor_indices"):
        mig_exact._compute_mig_exact(z, z, z, factors, rs, factor_indices=[3])
    with pytest.raises(ValueError, match="single value"):
        mig_exact._compute_mig_exact(z, z, z, np.zeros((6, 1)), rs)


def test_samples_are_drawn_from_each_dimensions_marginal():
    # z_n ~ N(mean, exp(logvar)) per dimension: 200,000 draws put the sample mean within 5
    # standard errors of the mean and the sample standard deviation within 1% of exp(logvar / 2).
    n = 200_000
    mean = np.tile(np.array([[2.0, -1.0]], np.float32), (n, 1))
    logvar = np.tile(np.log(np.array([[0.25, 4.0]], np.float32)), (n, 1))
    z = mig_exact.sample_marginals(mean, logvar, np.random.RandomState(0))
    assert z.shape == (n, 2) and z.dtype == np.float32
    std = np.array([0.5, 2.0])
    assert np.all(np.abs(z.mean(axis=0) - [2.0, -1.0]) < 5 * std / np.sqrt(n))
    np.testing.assert_allclose(z.std(axis=0), std, rtol=0.01)
    again = mig_exact.sample_marginals(mean[:10], logvar[:10], np.random.RandomState(0))
    np.testing.assert_array_equal(again, z[:10])
