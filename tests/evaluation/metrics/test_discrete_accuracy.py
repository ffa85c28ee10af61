"""Matched (unsupervised) classification accuracy of a categorical code."""

from __future__ import annotations

import numpy as np
import pytest

from tfdis.evaluation.metrics import discrete_accuracy
from tfdis.testing import TinySquares


def test_permuted_labels_score_one():
    labels = np.repeat(np.arange(5), 20)
    categories = (labels * 3 + 1) % 5  # a relabelling
    assert discrete_accuracy._matched_accuracy(categories, labels) == 1.0


def test_hand_computed_table():
    # Table (categories x labels): c0 -> [3, 1], c1 -> [0, 2], c2 -> [2, 0]. The best matching
    # pairs c0-l0 and c1-l1 (or c2-l0 and c1-l1): 5 of 8.
    categories = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    labels = np.array([0, 0, 0, 1, 1, 1, 0, 0])
    assert discrete_accuracy._matched_accuracy(categories, labels) == pytest.approx(5 / 8)


def test_random_categories_score_near_chance():
    rng = np.random.RandomState(0)
    labels = rng.randint(10, size=20000)
    categories = rng.randint(10, size=20000)
    assert discrete_accuracy._matched_accuracy(categories, labels) < 0.13


class _PositionCode:
    """A categorical code equal to a permutation of TinySquares' x position (factor 0)."""

    def encode(self, observations):
        return np.zeros((len(observations), 1)), np.zeros((len(observations), 1))

    def sample(self, observations, seed):
        return np.zeros((len(observations), 1))

    def discrete_logits(self, observations):
        columns = observations[..., 0].max(axis=1).argmax(axis=1)  # left edge of the square
        x = (columns - 4) // 12
        return np.eye(4)[(x + 2) % 4]


def test_compute_on_a_code_that_is_a_factor():
    data = TinySquares()
    scores = discrete_accuracy.compute_discrete_accuracy(
        data, _PositionCode(), np.random.RandomState(0), num_samples=400, factor_index=0
    )
    assert scores == {"accuracy": 1.0, "num_categories_used": 4.0}
    scores = discrete_accuracy.compute_discrete_accuracy(
        data, _PositionCode(), np.random.RandomState(0), num_samples=400, factor_index=2
    )
    assert scores["accuracy"] < 0.7  # the size factor is independent of x


def test_requires_a_discrete_code():
    class NoCode:
        def encode(self, observations):
            return np.zeros((len(observations), 1)), np.zeros((len(observations), 1))

        def sample(self, observations, seed):
            return np.zeros((len(observations), 1))

    with pytest.raises(ValueError, match="categorical code"):
        discrete_accuracy.compute_discrete_accuracy(
            TinySquares(), NoCode(), np.random.RandomState(0), num_samples=10
        )
