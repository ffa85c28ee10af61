"""Tests for the ELBO decomposition metric (tfdis.evaluation.metrics.elbo_decomposition)."""

import metrics_testlib as tl
import numpy as np
import pytest

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
