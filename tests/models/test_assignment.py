"""The exact CascadeVAE assignment against brute force (SPEC section 7)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tfdis.models import assignment

PENALTIES = [0.0, 0.05, 0.3, 1.0, 4.0]


def _brute_force_minimum(unary, penalty):
    """min over all K^B assignments of the objective, vectorized over assignments."""
    num_rows, num_categories = unary.shape
    choices = np.array(list(itertools.product(range(num_categories), repeat=num_rows)))
    unary_sum = unary[np.arange(num_rows), choices].sum(axis=1)
    counts = np.stack([(choices == k).sum(axis=1) for k in range(num_categories)], axis=1)
    pairs = (counts * (counts - 1) / 2).sum(axis=1)
    return float(np.min(unary_sum + penalty * pairs))


@pytest.mark.parametrize("num_categories", [1, 2, 3])
@pytest.mark.parametrize("num_rows", [1, 2, 3, 5, 8])
def test_matches_brute_force(num_rows, num_categories):
    rng = np.random.RandomState(100 * num_rows + num_categories)
    for trial in range(4):
        unary = rng.exponential(size=(num_rows, num_categories))
        if trial == 3:  # ties: integer costs
            unary = rng.randint(0, 3, size=(num_rows, num_categories)).astype(float)
        for penalty in PENALTIES:
            categories = assignment.assign_categories(unary, penalty)
            assert categories.shape == (num_rows,)
            assert categories.min() >= 0 and categories.max() < num_categories
            assert assignment.assignment_objective(unary, categories, penalty) == pytest.approx(
                _brute_force_minimum(unary, penalty), abs=1e-9
            )


def test_zero_penalty_is_the_row_argmin():
    unary = np.random.RandomState(0).normal(size=(64, 3))
    np.testing.assert_array_equal(assignment.assign_categories(unary, 0.0), unary.argmin(axis=1))


def test_same_category_pairs_never_increase_with_the_penalty():
    # For min f(d) + lambda g(d), the optimal g is non-increasing in lambda.
    rng = np.random.RandomState(1)
    for _ in range(20):
        unary = rng.exponential(size=(16, 3))
        pairs = []
        for penalty in [0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 100.0]:
            counts = np.bincount(assignment.assign_categories(unary, penalty), minlength=3)
            pairs.append(np.sum(counts * (counts - 1)) / 2)
        assert all(b <= a for a, b in zip(pairs, pairs[1:], strict=False))
        # A penalty beyond any cost difference balances the batch exactly: 16 = 6 + 5 + 5.
        assert sorted(counts) == [5, 5, 6]


def test_balance_grows_with_the_penalty_on_average():
    rng = np.random.RandomState(2)
    unary = rng.exponential(size=(50, 64, 3)) + np.array([0.0, 0.5, 1.0])  # category 0 cheapest
    balance = [
        np.mean(
            [assignment.category_balance(assignment.assign_categories(u, lam), 3) for u in unary]
        )
        for lam in [0.0, 0.01, 0.1, 1.0]
    ]
    assert balance == sorted(balance)
    assert balance[0] < 0.8 and balance[-1] > 0.99


def test_category_balance_values():
    assert assignment.category_balance(np.zeros(10, int), 3) == 0.0
    assert assignment.category_balance(np.array([0, 1, 2] * 4), 3) == pytest.approx(1.0)
    # Two equal halves of K = 4: log 2 / log 4.
    assert assignment.category_balance(np.array([0, 3] * 5), 4) == pytest.approx(0.5)


def test_bad_input():
    with pytest.raises(ValueError, match="non-negative"):
        assignment.assign_categories(np.zeros((3, 2)), -1.0)
    with pytest.raises(ValueError, match=r"\[B, K\]"):
        assignment.assign_categories(np.zeros(3), 0.1)
