"""Tests for the ELBO decomposition metric (tfdis.evaluation.metrics.elbo_decomposition)."""

import metrics_testlib as tl
import numpy as np
import pytest

from tfdis.data.ground_truth_data import FactorGrid
from tfdis.evaluation.metrics import elbo_decomposition


def test_prior_posteriors_decompose_to_zero():
    # Every posterior equals the prior: q(z) = p(z), so all three terms vanish.
    scores = elbo_decomposition._compute_elbo_decomposition(np.zeros((50, 2)), np.zeros((50, 2)), 0)
    for key in ("index_code_mutual_info", "total_correlation", "dimwise_kl", "analytic_kl"):
        assert scores[key] == pytest.approx(0.0, abs=1e-9)


def test_metric_on_separated_posteriors():
    # 4 x 4 grid of well-separated unit-spaced means, sigma 0.01: I(z; n) ~ ln 16 on the full grid.
    encoder = tl.GaussianPosterior(np.eye(2), sigma=0.01)
    scores = elbo_decomposition.compute_elbo_decomposition(
        tl.IdentityData((4, 4)), encoder, np.random.RandomState(0), num_points=200
    )
    assert scores["estimated_kl"] == pytest.approx(
        scores["index_code_mutual_info"] + scores["total_correlation"] + scores["dimwise_kl"]
    )
    assert scores["index_code_mutual_info"] == pytest.approx(np.log(16), abs=0.15)
    assert scores["dimwise_kl"] == pytest.approx(scores["dimwise_kl.0"] + scores["dimwise_kl.1"])
    same = elbo_decomposition.compute_elbo_decomposition(
        tl.IdentityData((4, 4)), encoder, np.random.RandomState(0), num_points=200
    )
    assert scores == same


def test_correlation_defaults_to_the_encoders():
    # Every posterior is N(0, S) with unit marginals: q(z) = N(0, S), so TC = -1/2 log det S.
    encoder = tl.GaussianPosterior(np.zeros((3, 2)), sigma=1.0)
    data = tl.IdentityData((2, 2))
    plain = elbo_decomposition.compute_elbo_decomposition(
        data, encoder, np.random.RandomState(0), num_points=300, num_samples=3000
    )
    encoder.correlation = 0.5
    correlated = elbo_decomposition.compute_elbo_decomposition(
        data, encoder, np.random.RandomState(0), num_points=300, num_samples=3000
    )
    log_det = 2 * np.log(0.5) + np.log(2.0)  # d = 3, s = 0.5
    assert plain["total_correlation"] == pytest.approx(0.0, abs=0.05)
    assert correlated["total_correlation"] == pytest.approx(-0.5 * log_det, abs=0.05)


class _EnumerableIdentity(tl.IdentityData):
    """IdentityData whose observations are indexed in factor-grid order."""

    @property
    def num_indexed_observations(self) -> int:
        return int(np.prod(self.factor_sizes))

    def observations_by_index(self, indices):
        factors = FactorGrid(self.factor_sizes).index_to_features(self._checked_indices(indices))
        return self.sample_observations_from_factors(factors, None)


class _CountingEncoder(tl.GaussianPosterior):
    def encode(self, observations):
        self.batches.append(len(observations))
        return super().encode(observations)


def test_whole_enumerable_dataset_by_default():
    # 256 posteriors, unit-spaced means, sigma 0.01: q(z) at a draw of q(z|n) is q(z|n) / N, so
    # the index-code MI is exactly log N = log 256 = 5.545 over the whole dataset.
    data = _EnumerableIdentity((16, 16))
    encoder = _CountingEncoder(np.eye(2), sigma=0.01)
    encoder.batches = []
    whole = elbo_decomposition.compute_elbo_decomposition(
        data, encoder, np.random.RandomState(0), batch_size=100
    )
    assert whole["num_points"] == 256.0 and whole["whole_dataset"] == 1.0
    assert whole["index_code_mutual_info"] == pytest.approx(np.log(256), abs=1e-6)
    assert encoder.batches == [100, 100, 56]  # streamed: every index once, in batches
    # 100 points drawn with replacement: MI = E log(100 / multiplicity) <= log 100 = 4.605.
    sub = elbo_decomposition.compute_elbo_decomposition(
        data, encoder, np.random.RandomState(0), num_points=100
    )
    assert sub["num_points"] == 100.0 and sub["whole_dataset"] == 0.0
    assert sub["index_code_mutual_info"] < np.log(100) < whole["index_code_mutual_info"] - 0.9


def test_data_that_cannot_be_enumerated_falls_back_to_a_subsample():
    # IdentityData has no index: None draws DEFAULT_SUBSAMPLE_POINTS observations with replacement.
    from tfdis.estimators.elbo_decomposition import DEFAULT_SUBSAMPLE_POINTS

    scores = elbo_decomposition.compute_elbo_decomposition(
        tl.IdentityData((2, 2)), tl.GaussianPosterior(np.eye(2)), np.random.RandomState(0),
        num_samples=50,
    )  # fmt: skip
    assert scores["num_points"] == DEFAULT_SUBSAMPLE_POINTS and scores["whole_dataset"] == 0.0
    # Four separated values at frequencies near 1/4: MI = E log(N / multiplicity) ~ log 4.
    assert scores["index_code_mutual_info"] == pytest.approx(np.log(4), abs=0.01)
