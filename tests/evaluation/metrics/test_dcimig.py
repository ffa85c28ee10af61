"""Tests for DCIMIG (tfdis.evaluation.metrics.dcimig)."""

import metrics_testlib as tl
import numpy as np
import pytest

from tfdis.data.ground_truth_data import FactorGrid
from tfdis.evaluation.metrics import dcimig


def _grid(sizes):
    grid = FactorGrid(sizes)
    return grid.index_to_features(np.arange(grid.num_states)).T


def test_perfect_and_duplicated_codes_score_one():
    factors = _grid((5, 4, 3))
    assert dcimig.dcimig_from_discrete(factors, factors)["dcimig"] == pytest.approx(1.0)
    # Each factor is credited with its best code only: a copy neither helps nor hurts.
    codes = np.vstack([factors, factors[:1]])
    assert dcimig.dcimig_from_discrete(codes, factors)["dcimig"] == pytest.approx(1.0)
    assert dcimig._compute_dcimig(factors.astype(float), factors)["dcimig"] == pytest.approx(1.0)


def test_rotation_closed_form():
    # a + b and a - b carry ln2 / 2 about each of a and b: gap R = 0. c: R = ln2.
    # S = (0, 0, ln2), sum H = 3 ln2 -> 1/3.
    a, b, c = _grid((2, 2, 2))
    scores = dcimig.dcimig_from_discrete(np.vstack([a + b, a - b + 1, c]), np.vstack([a, b, c]))
    assert scores["dcimig"] == pytest.approx(1 / 3)
    assert scores["dcimig.factor_2"] == pytest.approx(1.0)
    # Codes a and a + b: S_a = ln2 (code a), S_b = 0 (no code's best factor is b) -> 1/2.
    half = dcimig.dcimig_from_discrete(np.vstack([a, a + b]), np.vstack([a, b]))
    assert half["dcimig"] == pytest.approx(0.5)
    assert half["dcimig.factor_1"] == 0.0


def test_unequal_entropies_weight_the_sum():
    # Factor 0 has 4 values (H = ln4), factor 1 two (ln2); only factor 0 is captured:
    # DCIMIG = ln4 / (ln4 + ln2) = 2/3.
    f0, f1 = _grid((4, 2))
    scores = dcimig.dcimig_from_discrete(np.vstack([f0, np.zeros_like(f0)]), np.vstack([f0, f1]))
    assert scores["dcimig"] == pytest.approx(2 / 3)


def test_random_codes_score_about_zero():
    rs = np.random.RandomState(0)
    factors = rs.randint(0, 10, size=(3, 5000))
    assert dcimig._compute_dcimig(rs.uniform(size=(4, 5000)), factors)["dcimig"] < 0.02


def test_end_to_end():
    score = dcimig.compute_dcimig(
        tl.IdentityData(), tl.identity_representation, np.random.RandomState(0), num_train=2000
    )
    assert score["dcimig"] > 0.95
    with pytest.raises(ValueError, match="at least 2 factors"):
        dcimig.dcimig_from_discrete(np.zeros((2, 4), int), np.array([[0, 1, 0, 1]]))


def test_noisy_code_closed_form():
    # S_a = ln2 - h_b (code 0's gap), S_b = ln2: DCIMIG = (2 ln2 - h_b) / (2 ln2).
    codes, factors, h_b = tl.noisy_binary_codes()
    ln2 = np.log(2.0)
    assert dcimig._compute_dcimig(codes, factors)["dcimig"] == pytest.approx(
        (2 * ln2 - h_b) / (2 * ln2)
    )
