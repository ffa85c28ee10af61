"""Tests for the BetaVAE score (tfdis.evaluation.metrics.beta_vae)."""

import metrics_testlib as tl
import numpy as np
import pytest

from tfdis.evaluation.metrics import beta_vae


def _score(representation, seed=0):
    return beta_vae.compute_beta_vae_sklearn(
        tl.IdentityData(), representation, np.random.RandomState(seed),
        batch_size=16, num_train=300, num_eval=200,
    )  # fmt: skip


def test_identity_representation_is_perfect():
    scores = _score(tl.identity_representation)
    assert scores == {"train_accuracy": 1.0, "eval_accuracy": 1.0}


def test_feature_is_zero_on_the_fixed_factor():
    points, labels = beta_vae._generate_training_batch(
        tl.IdentityData(), tl.identity_representation, 8, 40, np.random.RandomState(0)
    )
    assert points.shape == (40, 4)
    np.testing.assert_array_equal(points[np.arange(40), labels], 0.0)
    assert np.all(points.sum(axis=1) > 0)


def test_rotated_pairs_are_indistinguishable():
    # Fixing f_a or f_b gives the same feature distribution: at best half of each pair is right.
    assert _score(tl.rotated_representation)["eval_accuracy"] < 0.65


def test_random_codes_score_chance():
    assert _score(tl.make_random_representation())["eval_accuracy"] < 0.4


def test_array_scorer_on_separable_points():
    points = np.array([[0.0, 1.0], [0.1, 0.9], [1.0, 0.0], [0.9, 0.1]])
    labels = np.array([0, 0, 1, 1])
    scores = beta_vae._compute_beta_vae_sklearn(
        points, labels, points[::-1], labels[::-1], np.random.RandomState(0)
    )
    assert scores == {"train_accuracy": 1.0, "eval_accuracy": 1.0}
    with pytest.raises(ValueError, match="two factors"):
        beta_vae._compute_beta_vae_sklearn(points, np.zeros(4), points, labels, None)


def test_same_seed_same_result():
    assert _score(tl.rotated_representation, 5) == _score(tl.rotated_representation, 5)
