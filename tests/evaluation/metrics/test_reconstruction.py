"""Tests for reconstruction / KL / active units (tfdis.evaluation.metrics.reconstruction)."""

import metrics_testlib as tl
import numpy as np
import pytest

from tfdis.evaluation.metrics import reconstruction


class _Perfect(tl.GaussianPosterior):
    def reconstruct(self, observations):
        return np.asarray(observations, np.float32)


def test_errors_by_hand():
    x = np.array([[[[1.0]], [[0.0]]]])  # one 2x1x1 image
    p = np.array([[[[0.5]], [[0.25]]]])
    bernoulli, l2 = reconstruction._reconstruction_errors(x, p)
    assert bernoulli[0] == pytest.approx(-np.log(0.5) - np.log(0.75))
    assert l2[0] == pytest.approx(0.25 + 0.0625)


def test_kl_and_active_units_by_hand():
    means = np.array([[1.0, 0.0], [-1.0, 0.0]])
    logvars = np.array([[0.0, np.log(2.0)], [0.0, np.log(2.0)]])
    scores = reconstruction._kl_and_active_units(means, logvars)
    assert scores["kl_to_prior.0"] == pytest.approx(0.5)
    assert scores["kl_to_prior.1"] == pytest.approx(0.5 * (2.0 - np.log(2.0) - 1.0))
    assert scores["active_units"] == 1.0


def test_perfect_reconstruction_and_determinism():
    encoder = _Perfect(np.eye(3), sigma=1.0)
    encoder_with_dead = _Perfect(np.vstack([np.eye(3), np.zeros((1, 3))]), sigma=1.0)
    data = tl.IdentityData((2, 2, 2))
    scores = reconstruction.compute_reconstruction(
        data, encoder, np.random.RandomState(0), num_points=64
    )
    assert scores["reconstruction_l2"] == pytest.approx(0.0, abs=1e-12)
    assert scores["reconstruction_bernoulli"] == pytest.approx(-3 * np.log1p(-1e-7), rel=1e-3)
    assert scores["active_units"] == 3.0
    dead = reconstruction.compute_reconstruction(
        data, encoder_with_dead, np.random.RandomState(0), num_points=64
    )
    assert dead["active_units"] == 3.0
    assert dead["kl_to_prior.3"] == pytest.approx(0.0)
    assert scores == reconstruction.compute_reconstruction(
        data, encoder, np.random.RandomState(0), num_points=64
    )


def test_needs_reconstruct():
    with pytest.raises(ValueError, match="reconstruct"):
        reconstruction.compute_reconstruction(
            tl.IdentityData(), tl.GaussianPosterior(np.eye(4)), np.random.RandomState(0)
        )
