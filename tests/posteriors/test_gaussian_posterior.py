"""Gaussian posteriors: sampling covariance, densities and KL against closed forms and TFP."""

from __future__ import annotations

import math

import gin
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
from scipy import stats

from tfdis.posteriors import (
    CorrelatedGaussian,
    FactorizedGaussian,
    log_det_equicorrelation,
    make_gaussian_posterior,
)

tfd = tfp.distributions


def _params(batch: int, dim: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(batch, dim)), rng.normal(scale=0.5, size=(batch, dim))


def _equicorrelation(dim: int, s: float) -> np.ndarray:
    return (1 - s) * np.eye(dim) + s * np.ones((dim, dim))


def test_log_det_equicorrelation_matches_numpy_and_spec_value():
    for dim, s in [(2, 0.3), (5, 0.9), (10, 0.5), (1, 0.7)]:
        assert log_det_equicorrelation(dim, s) == pytest.approx(
            np.linalg.slogdet(_equicorrelation(dim, s))[1], abs=1e-12
        )
    # SPEC section 5: d = 10, s = 0.5 raises the KL by 2.267 nats.
    assert -0.5 * log_det_equicorrelation(10, 0.5) == pytest.approx(2.267, abs=5e-4)


def test_correlated_sample_covariance_matches_diag_sigma_s_diag_sigma():
    dim, s, count = 4, 0.6, 40000
    stddev = np.array([0.5, 1.0, 2.0, 0.8])
    mean = np.array([1.0, -2.0, 0.0, 3.0])
    posterior = CorrelatedGaussian(
        np.tile(mean, (count, 1)), np.tile(2 * np.log(stddev), (count, 1)), s
    )
    z = posterior.sample(tf.constant([1, 2], tf.int32)).numpy()
    expected = np.diag(stddev) @ _equicorrelation(dim, s) @ np.diag(stddev)
    cov = np.cov(z, rowvar=False)
    # Standard error of a sample covariance entry: sqrt((C_ii C_jj + C_ij^2) / n).
    se = np.sqrt((np.outer(np.diag(expected), np.diag(expected)) + expected**2) / count)
    assert np.all(np.abs(cov - expected) < 5 * se)
    assert np.all(np.abs(z.mean(axis=0) - mean) < 5 * stddev / math.sqrt(count))


def test_sampling_is_deterministic_in_the_seed():
    mean, logvar = _params(3, 5)
    posterior = CorrelatedGaussian(mean, logvar, 0.4)
    first = posterior.sample(tf.constant([7, 8], tf.int32))
    again = posterior.sample(tf.constant([7, 8], tf.int32))
    other = posterior.sample(tf.constant([7, 9], tf.int32))
    np.testing.assert_array_equal(first.numpy(), again.numpy())
    assert not np.allclose(first.numpy(), other.numpy())


def test_correlated_kl_equals_closed_form_and_tfp_full_covariance_kl():
    mean, logvar = _params(6, 5)
    s = 0.7
    posterior = CorrelatedGaussian(mean, logvar, s)
    kl = posterior.kl_to_prior().numpy()
    factorized = FactorizedGaussian(mean, logvar).kl_to_prior().numpy()
    np.testing.assert_allclose(kl, factorized - 0.5 * log_det_equicorrelation(5, s), rtol=1e-10)
    prior = tfd.MultivariateNormalDiag(loc=np.zeros(5), scale_diag=np.ones(5))
    tfp_kl = tfd.kl_divergence(posterior.distribution, prior).numpy()
    np.testing.assert_allclose(kl, tfp_kl, rtol=1e-8)
    # Closed form 1/2 (tr C + |mu|^2 - d - log det C) with C = diag(sigma) S diag(sigma).
    for b in range(6):
        sigma = np.exp(0.5 * logvar[b])
        cov = np.diag(sigma) @ _equicorrelation(5, s) @ np.diag(sigma)
        direct = 0.5 * (np.trace(cov) + mean[b] @ mean[b] - 5 - np.linalg.slogdet(cov)[1])
        assert kl[b] == pytest.approx(direct, rel=1e-10)


def test_factorized_kl_and_densities_match_scipy():
    mean, logvar = _params(4, 3)
    posterior = FactorizedGaussian(mean, logvar)
    z = _params(4, 3, seed=1)[0]
    sigma = np.exp(0.5 * logvar)
    np.testing.assert_allclose(
        posterior.marginal_log_prob(z).numpy(), stats.norm.logpdf(z, mean, sigma), rtol=1e-10
    )
    np.testing.assert_allclose(
        posterior.log_prob(z).numpy(), stats.norm.logpdf(z, mean, sigma).sum(1), rtol=1e-10
    )
    prior = tfd.Independent(tfd.Normal(np.zeros(3), np.ones(3)), reinterpreted_batch_ndims=1)
    np.testing.assert_allclose(
        posterior.kl_to_prior().numpy(),
        tfd.kl_divergence(posterior.distribution, prior).numpy(),
        rtol=1e-10,
    )
    np.testing.assert_allclose(posterior.stddev.numpy(), sigma, rtol=1e-12)


def test_correlated_joint_density_is_full_covariance_and_marginals_unchanged():
    mean, logvar = _params(3, 4)
    s = 0.5
    posterior = CorrelatedGaussian(mean, logvar, s)
    z = _params(3, 4, seed=2)[0]
    sigma = np.exp(0.5 * logvar)
    for b in range(3):
        cov = np.diag(sigma[b]) @ _equicorrelation(4, s) @ np.diag(sigma[b])
        expected = stats.multivariate_normal(mean[b], cov).logpdf(z[b])
        assert posterior.log_prob(z).numpy()[b] == pytest.approx(expected, rel=1e-10)
    np.testing.assert_allclose(
        posterior.marginal_log_prob(z).numpy(), stats.norm.logpdf(z, mean, sigma), rtol=1e-10
    )


def test_gin_factory_chooses_the_posterior():
    mean, logvar = _params(2, 3)
    assert type(make_gaussian_posterior(mean, logvar)) is FactorizedGaussian
    gin.parse_config("posterior.correlation = 0.9")
    posterior = make_gaussian_posterior(mean, logvar)
    assert isinstance(posterior, CorrelatedGaussian)
    assert posterior.correlation == 0.9


def test_bad_input_raises():
    mean, logvar = _params(2, 3)
    with pytest.raises(ValueError, match="correlation"):
        CorrelatedGaussian(mean, logvar, 1.0)
    with pytest.raises(ValueError, match="correlation"):
        make_gaussian_posterior(mean, logvar, correlation=-0.1)
    with pytest.raises(ValueError, match="shapes differ"):
        FactorizedGaussian(mean, logvar[:, :2])
    with pytest.raises(ValueError, match=r"\[B, d\]"):
        FactorizedGaussian(mean[0], logvar[0])
