"""Tests for the CascadeVAE score (tfdis.evaluation.metrics.cascade_score)."""

import itertools

import metrics_testlib as tl
import numpy as np
import pytest

from tfdis.evaluation.metrics import cascade_score


def test_gini_variance_matches_pair_sum():
    labels = np.array([[0, 0, 1, 1, 2], [3, 3, 3, 3, 3]])
    for row, value in zip(labels, cascade_score.gini_variance(labels), strict=True):
        n = len(row)
        pairs = sum(a != b for a, b in itertools.product(row, row))
        assert value == pytest.approx(pairs / (2 * n * (n - 1)))
    assert cascade_score.gini_variance(np.array([[0, 0, 1, 1]]))[0] == pytest.approx(1 / 3)


def test_vote_counting_by_hand():
    votes = np.array([[3, 1], [0, 4], [2, 2]])
    assert cascade_score._compute_cascade_score(votes) == pytest.approx((3 + 4 + 2) / 12)
    local = np.array([[0.1, 0.5, 0.0], [0.9, 0.1, 0.0]])
    global_var = np.array([1.0, 1.0, 0.0])  # dim 2 is constant: never voted for
    np.testing.assert_array_equal(
        cascade_score._votes(local, global_var, np.array([0, 1]), 2), [[1, 0], [0, 1], [0, 0]]
    )


class _WithDiscrete(tl.GaussianPosterior):
    """Continuous means for factors 1.., one-hot logits of factor 0, plus a collapsed dim."""

    def encode(self, observations):
        x = np.asarray(observations, np.float64).reshape(len(observations), -1)
        mean = np.c_[x[:, 1:], np.zeros(len(x))]
        logvar = np.c_[np.full((len(x), x.shape[1] - 1), 2 * np.log(0.01)), np.zeros(len(x))]
        return mean, logvar

    def discrete_logits(self, observations):
        x = np.asarray(observations).reshape(len(observations), -1)
        return np.eye(4)[x[:, 0].astype(int)] * 10.0


def _score(encoder, seed=0):
    return cascade_score.compute_cascade_score(
        tl.IdentityData((4, 10, 10)), encoder, np.random.RandomState(seed),
        num_samples_per_vote=20, num_votes=60, num_variance_estimate=1000,
    )  # fmt: skip


def test_identity_continuous_is_one():
    scores = _score(tl.GaussianPosterior(np.eye(3)))
    assert scores == {"cascade_score": 1.0, "num_active_dims": 3.0, "has_discrete_code": 0.0}


def test_discrete_dimension_and_kl_pruning():
    scores = _score(_WithDiscrete(np.eye(3)))
    assert scores == {"cascade_score": 1.0, "num_active_dims": 2.0, "has_discrete_code": 1.0}


def test_random_codes_near_chance():
    random_encoder = tl.GaussianPosterior(np.zeros((0, 3)), sigma=0.1, extra_random_dims=3)
    assert _score(random_encoder)["cascade_score"] < 0.7


def test_same_seed_same_result():
    encoder = tl.GaussianPosterior(np.ones((3, 3)), sigma=0.5)
    assert _score(encoder, 2) == _score(encoder, 2)


def test_bad_inputs():
    with pytest.raises(ValueError, match="num_samples_per_vote"):
        cascade_score.compute_cascade_score(
            tl.IdentityData(), tl.GaussianPosterior(np.eye(4)), np.random.RandomState(0),
            num_samples_per_vote=1,
        )  # fmt: skip
