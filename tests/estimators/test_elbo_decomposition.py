"""ELBO decomposition over a dataset: streaming mixture, exact cases and the KL identity."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import logsumexp

from tfdis.data.ground_truth_data import FactorGrid, GroundTruthData
from tfdis.estimators import (
    compute_elbo_decomposition,
    elbo_decomposition_from_posteriors,
    encode_observations,
    streaming_log_mixture,
)
from tfdis.posteriors import log_det_equicorrelation


def _posteriors(num: int, dim: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(num, dim)), rng.uniform(-2.0, 0.0, size=(num, dim))


def test_streaming_log_mixture_equals_direct_log_sum_exp():
    means, logvars = _posteriors(23, 3)
    z = np.random.default_rng(1).normal(size=(9, 3))
    # log N(z_ij; mean_nj, var_nj) `[Q, N, d]` computed directly; chunk sizes that do and do not divide N.
    pairwise = -0.5 * (
        math.log(2 * math.pi)
        + logvars[None]
        + (z[:, None] - means[None]) ** 2 / np.exp(logvars[None])
    )
    direct_qz = logsumexp(pairwise.sum(-1), axis=1) - math.log(23)
    direct_qzj = logsumexp(pairwise, axis=1) - math.log(23)
    for chunk in (1, 5, 23, 100):
        log_qz, log_qzj = streaming_log_mixture(z, means, logvars, chunk_size=chunk)
        np.testing.assert_allclose(log_qz, direct_qz, rtol=1e-12)
        np.testing.assert_allclose(log_qzj, direct_qzj, rtol=1e-12)


def test_terms_sum_to_the_average_kl():
    means, logvars = _posteriors(40, 3, seed=2)
    result = elbo_decomposition_from_posteriors(
        means, logvars, seed=0, num_samples=20000, chunk_size=16
    )
    total = result.index_code_mutual_info + result.total_correlation + result.dimwise_kl
    assert total == pytest.approx(result.estimated_kl, rel=1e-12)
    assert result.dimwise_kl == pytest.approx(result.dimwise_kl_per_dim.sum(), rel=1e-12)
    # The Monte Carlo KL matches the closed-form average KL within sampling error (the per-draw
    # log q(z|n) - log p(z) has standard deviation below 3 here).
    analytic = np.mean(0.5 * np.sum(means**2 + np.exp(logvars) - logvars - 1, axis=1))
    assert result.analytic_kl == pytest.approx(analytic, rel=1e-12)
    assert result.estimated_kl == pytest.approx(analytic, abs=4 * 3 / math.sqrt(20000))
    # MI is at most log N, and every term is a KL (non-negative up to sampling error).
    assert -0.05 < result.index_code_mutual_info < math.log(40)
    assert result.total_correlation > -0.05
    assert np.all(result.dimwise_kl_per_dim > -0.05)


def test_identical_posteriors_have_zero_mi_and_tc():
    means = np.tile([[0.5, -1.0, 2.0]], (10, 1))
    logvars = np.tile([[-1.0, 0.0, 0.3]], (10, 1))
    result = elbo_decomposition_from_posteriors(means, logvars, seed=3, chunk_size=4)
    assert result.index_code_mutual_info == pytest.approx(0.0, abs=1e-10)
    assert result.total_correlation == pytest.approx(0.0, abs=1e-10)


def test_separated_posteriors_have_mi_log_n():
    means = 50.0 * np.arange(8, dtype=float)[:, None] * np.ones((1, 2))
    logvars = np.full((8, 2), -2.0)
    result = elbo_decomposition_from_posteriors(means, logvars, seed=4)
    assert result.index_code_mutual_info == pytest.approx(math.log(8), abs=1e-9)


def test_correlated_noise_tc_is_minus_half_log_det_s():
    s, dim = 0.8, 3
    means = np.zeros((5, dim))
    logvars = np.zeros((5, dim))
    result = elbo_decomposition_from_posteriors(
        means, logvars, seed=5, num_samples=20000, correlation=s
    )
    # All posteriors equal N(0, S): the mixture is N(0, S) with TC = -1/2 log det S; the
    # per-draw log-ratio has standard deviation below 1.5 here.
    expected = -0.5 * log_det_equicorrelation(dim, s)
    assert result.total_correlation == pytest.approx(expected, abs=4 * 1.5 / math.sqrt(20000))
    assert result.analytic_kl == pytest.approx(expected, rel=1e-12)
    assert result.index_code_mutual_info == pytest.approx(0.0, abs=1e-10)


class _Shifts(GroundTruthData):
    """1x1 images whose single pixel is the factor value / 4."""

    @property
    def num_factors(self) -> int:
        return 1

    @property
    def factors_num_values(self) -> list[int]:
        return [5]

    @property
    def observation_shape(self) -> list[int]:
        return [1, 1, 1]

    def sample_factors(self, num, random_state):
        return FactorGrid([5]).sample_factors(num, random_state)

    def sample_observations_from_factors(self, factors, random_state):
        return (factors / 4.0).reshape(-1, 1, 1, 1).astype(np.float32)


def _encoder(observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Both latents encode the factor, clusters 2 apart with stddev 0.05.
    pixel = 8.0 * observations.reshape(len(observations), 1)
    return np.concatenate([pixel, -pixel], axis=1), np.full(
        (len(observations), 2), 2 * np.log(0.05)
    )


def test_compute_elbo_decomposition_on_a_dataset():
    scores = compute_elbo_decomposition(
        _Shifts(), _encoder, np.random.RandomState(0), num_points=50, num_samples=None,
        batch_size=16,
    )  # fmt: skip
    assert set(scores) == {
        "index_code_mutual_info",
        "total_correlation",
        "dimwise_kl",
        "estimated_kl",
        "analytic_kl",
        "dimwise_kl.0",
        "dimwise_kl.1",
        "num_points",
        "whole_dataset",
    }
    assert scores["num_points"] == 50.0 and scores["whole_dataset"] == 0.0
    observations = _Shifts().sample_observations(50, np.random.RandomState(0))
    means, logvars = encode_observations(_encoder, observations, batch_size=7)
    assert means.shape == (50, 2)
    analytic = np.mean(0.5 * np.sum(means**2 + np.exp(logvars) - logvars - 1, axis=1))
    assert scores["analytic_kl"] == pytest.approx(analytic, rel=1e-12)
    # Separated clusters with weights p_k in both latents: TC = H(p) and MI = H(p) too.
    counts = np.unique(observations, return_counts=True)[1]
    entropy = -np.sum(counts / 50 * np.log(counts / 50))
    assert scores["total_correlation"] == pytest.approx(entropy, abs=1e-6)
    assert scores["index_code_mutual_info"] == pytest.approx(entropy, abs=1e-6)


def test_bad_input_raises():
    means, logvars = _posteriors(4, 2)
    with pytest.raises(ValueError, match=r"\[N, d\]"):
        elbo_decomposition_from_posteriors(means, logvars[:, :1], seed=0)
    with pytest.raises(ValueError, match="finite"):
        elbo_decomposition_from_posteriors(np.full((4, 2), np.nan), logvars, seed=0)
    with pytest.raises(ValueError, match="num_samples"):
        elbo_decomposition_from_posteriors(means, logvars, seed=0, num_samples=0)
    with pytest.raises(ValueError, match="chunk_size"):
        streaming_log_mixture(means, means, logvars, chunk_size=0)
