"""CascadeVAE's discrete step: the exact category assignment of a batch (SPEC section 7).

Given unary costs `u[i, k]` (the reconstruction loss of observation i decoded with category k),
choose categories `d_i` minimizing

    sum_i u[i, d_i] + lambda' * #{unordered pairs i < j with d_i = d_j}.

A category holding n observations costs lambda' * n (n - 1) / 2 = lambda' * sum_{m=1..n} (m - 1),
so giving the m-th member of a category the price lambda' (m - 1) turns the problem into a linear
assignment of B observations to K * B slots `(k, m)` with cost u[i, k] + lambda' (m - 1). The
prices increase with m, so an optimal assignment fills each category's cheapest slots first and
the slot total equals the pair penalty exactly. scipy's `linear_sum_assignment` solves it exactly.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize


def assign_categories(unary_costs: np.ndarray, pair_penalty: float) -> np.ndarray:
    """The exact minimizer of the assignment objective (module docstring).

    Args:
        unary_costs: `[B, K]` finite costs.
        pair_penalty: lambda' >= 0, the cost of each unordered same-category pair.

    Returns:
        int32 categories `[B]` in `[0, K)`.
    """
    unary_costs = np.asarray(unary_costs, dtype=np.float64)
    if unary_costs.ndim != 2 or unary_costs.shape[1] < 1:
        raise ValueError(f"unary_costs must be [B, K] with K >= 1, got {unary_costs.shape}")
    if pair_penalty < 0:
        raise ValueError(f"pair_penalty (lambda') must be non-negative, got {pair_penalty}")
    num_rows, num_categories = unary_costs.shape
    if num_rows == 0:
        return np.zeros([0], np.int32)
    slot_prices = pair_penalty * np.arange(num_rows, dtype=np.float64)
    # cost[i, k * B + m] = u[i, k] + lambda' m: category k's m-th slot (m from 0).
    cost = (unary_costs[:, :, None] + slot_prices[None, None, :]).reshape(num_rows, -1)
    _, columns = optimize.linear_sum_assignment(cost)
    return (columns // num_rows).astype(np.int32)


def assignment_objective(
    unary_costs: np.ndarray, categories: np.ndarray, pair_penalty: float
) -> float:
    """sum_i u[i, d_i] + lambda' * (number of unordered same-category pairs)."""
    unary_costs = np.asarray(unary_costs, dtype=np.float64)
    categories = np.asarray(categories)
    counts = np.bincount(categories, minlength=unary_costs.shape[1])
    pairs = float(np.sum(counts * (counts - 1)) / 2)
    return float(unary_costs[np.arange(len(categories)), categories].sum() + pair_penalty * pairs)


def category_balance(categories: np.ndarray, num_categories: int) -> float:
    """Entropy of the category frequencies divided by log K: 1 when balanced, 0 when all in one."""
    if num_categories < 2:
        return 1.0
    counts = np.bincount(np.asarray(categories), minlength=num_categories).astype(np.float64)
    freqs = counts[counts > 0] / counts.sum()
    return float(-np.sum(freqs * np.log(freqs)) / np.log(num_categories))
