"""Tests for modularity and explicitness (tfdis.evaluation.metrics.modularity_explicitness)."""

import metrics_testlib as tl
import numpy as np
import pytest

from tfdis.evaluation.metrics import modularity_explicitness as me


def test_modularity_by_hand():
    assert me.modularity(np.eye(3)) == pytest.approx(1.0)
    # Row (1, 1): delta = 1 / (1 * 1) -> 0; row (2, 1): delta = 1 / (4 * 1) -> 3/4; zero row -> 0.
    assert me.modularity(np.array([[1.0, 1.0], [2.0, 1.0], [0.0, 0.0]])) == pytest.approx(
        (0.0 + 0.75 + 0.0) / 3
    )


def _score(representation, seed=0):
    return me.compute_modularity_explicitness(
        tl.IdentityData((5, 5, 5, 5)), representation, np.random.RandomState(seed),
        num_train=600, num_test=300,
    )  # fmt: skip


def test_identity_near_top():
    scores = _score(tl.identity_representation)
    assert scores["modularity_score"] > 0.9
    assert scores["explicitness_score_test"] > 0.95


def test_rotated_and_random():
    # Each rotated code carries equal information a about two of 4 factors: 1 - a^2 / (3 a^2).
    assert _score(tl.rotated_representation)["modularity_score"] == pytest.approx(2 / 3, abs=0.1)
    random = _score(tl.make_random_representation())
    assert random["explicitness_score_test"] == pytest.approx(0.5, abs=0.1)


def test_same_seed_same_result():
    assert _score(tl.rotated_representation, 2) == _score(tl.rotated_representation, 2)


def test_macro_auc_needs_two_values():
    with pytest.raises(ValueError, match="two factor values"):
        me._macro_auc(np.zeros(4), np.ones((4, 1)), np.array([0]))
