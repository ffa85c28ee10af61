"""Tests for the FactorVAE score (tfdis.evaluation.metrics.factor_vae)."""

import metrics_testlib as tl
import numpy as np
import pytest

from tfdis.evaluation.metrics import factor_vae


def _score(representation, seed=0):
    return factor_vae.compute_factor_vae(
        tl.IdentityData(), representation, np.random.RandomState(seed),
        batch_size=16, num_train=200, num_eval=100, num_variance_estimate=1000,
    )  # fmt: skip


def test_vote_counting_by_hand():
    train = np.array([[3, 0, 1], [1, 4, 0]])
    evaluation = np.array([[1, 1, 1], [1, 1, 1]])
    # Columns go to factors 0, 1, 0: right votes 3 + 4 + 1 of 9; eval 1 + 1 + 1 of 6.
    scores = factor_vae._compute_factor_vae(train, evaluation)
    assert scores["train_accuracy"] == pytest.approx(8 / 9)
    assert scores["eval_accuracy"] == pytest.approx(0.5)


def test_votes_from_codes_uses_scaled_variance_and_full_indices():
    # Dim 0 is pruned; dim 2 has the least variance relative to its global variance.
    codes = np.array([[[0.0, 0.0, 0.0], [0.0, 2.0, 1.0]], [[0.0, 1.0, 0.0], [0.0, 1.0, 4.0]]])
    votes = factor_vae._votes_from_codes(
        codes, np.array([1, 0]), np.array([1.0, 1.0, 100.0]), np.array([False, True, True]), 2
    )
    np.testing.assert_array_equal(votes, [[0, 1, 0], [0, 0, 1]])


def test_identity_representation_is_perfect():
    scores = _score(tl.identity_representation)
    assert scores == {"train_accuracy": 1.0, "eval_accuracy": 1.0, "num_active_dims": 4.0}


def test_pruning_of_constant_dims():
    def representation(x):
        return np.concatenate([tl.identity_representation(x), np.zeros((len(x), 2))], axis=1)

    scores = _score(representation)
    assert scores["num_active_dims"] == 4.0
    assert scores["eval_accuracy"] == 1.0
    all_constant = _score(lambda x: np.zeros((len(x), 3)))
    assert all_constant == {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0.0}


def test_random_codes_score_near_chance():
    assert _score(tl.make_random_representation())["eval_accuracy"] < 0.45


def test_same_seed_same_result():
    assert _score(tl.rotated_representation, 2) == _score(tl.rotated_representation, 2)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="equal shape"):
        factor_vae._compute_factor_vae(np.ones((2, 3)), np.ones((3, 2)))
