"""Tests for MIG-sup (tfdis.evaluation.metrics.mig_sup)."""

import metrics_testlib as tl
import numpy as np
import pytest

from tfdis.data.ground_truth_data import FactorGrid
from tfdis.evaluation.metrics import mig, mig_sup


def _grid(sizes, repeats=1):
    grid = FactorGrid(sizes)
    return np.tile(grid.index_to_features(np.arange(grid.num_states)).T, repeats)


def test_perfect_codes_score_one():
    factors = _grid((5, 4, 3))
    assert mig_sup.mig_sup_from_discrete(factors, factors)["mig_sup"] == pytest.approx(1.0)
    # 5, 4 and 3 values fall in distinct histogram bins: the continuous path agrees.
    assert mig_sup._compute_mig_sup(factors.astype(float), factors)["mig_sup"] == pytest.approx(1)


def test_duplicated_code_is_not_penalized_unlike_mig():
    factors = _grid((5, 4, 3))
    codes = np.vstack([factors, factors[:1]])
    assert mig_sup.mig_sup_from_discrete(codes, factors)["mig_sup"] == pytest.approx(1.0)
    # MIG loses factor 0's whole gap: (0 + 1 + 1) / 3.
    assert mig._mig_from_discrete(codes, factors) == pytest.approx(2 / 3)


def test_rotation_closed_form():
    # Binary a, b, c on the full grid. I(a + b; a) = H(a + b) - H(a + b | a) = 1.5 ln2 - ln2,
    # so code a + b has normalized MI 1/2 with both a and b: gap 0; likewise a - b + 1.
    a, b, c = _grid((2, 2, 2))
    codes = np.vstack([a + b, a - b + 1, c])
    scores = mig_sup.mig_sup_from_discrete(codes, np.vstack([a, b, c]))
    assert scores["mig_sup.code_0"] == pytest.approx(0.0, abs=1e-12)
    assert scores["mig_sup.code_1"] == pytest.approx(0.0, abs=1e-12)
    assert scores["mig_sup.code_2"] == pytest.approx(1.0)
    assert scores["mig_sup"] == pytest.approx(1 / 3)
    # One pure code and one mixed: (1 + 0) / 2.
    half = mig_sup.mig_sup_from_discrete(np.vstack([a, a + b]), np.vstack([a, b]))
    assert half["mig_sup"] == pytest.approx(0.5)


def test_random_codes_score_about_zero():
    rs = np.random.RandomState(0)
    factors = rs.randint(0, 10, size=(3, 5000))
    assert mig_sup._compute_mig_sup(rs.uniform(size=(4, 5000)), factors)["mig_sup"] < 0.02


def test_end_to_end_and_errors():
    data = tl.IdentityData()
    score = mig_sup.compute_mig_sup(
        data, tl.identity_representation, np.random.RandomState(0), num_train=2000
    )
    assert score["mig_sup"] > 0.95
    rotated = mig_sup.compute_mig_sup(
        data, tl.rotated_representation, np.random.RandomState(0), num_train=2000
    )
    assert rotated["mig_sup"] < 0.2
    with pytest.raises(ValueError, match="at least 2 factors"):
        mig_sup.mig_sup_from_discrete(np.zeros((2, 4), int), np.array([[0, 1, 0, 1]]))
    with pytest.raises(ValueError, match="constant"):
        mig_sup.mig_sup_from_discrete(np.zeros((2, 2), int), np.array([[0, 0], [0, 1]]))
    with pytest.raises(ValueError, match="equal N"):
        mig_sup._compute_mig_sup(np.zeros((2, 4)), np.zeros((2, 5), int))


def test_noisy_code_closed_form():
    codes, factors, h_b = tl.noisy_binary_codes()
    scores = mig_sup._compute_mig_sup(codes, factors)
    ln2 = np.log(2.0)
    assert scores["mig_sup.code_0"] == pytest.approx((ln2 - h_b) / ln2)
    assert scores["mig_sup"] == pytest.approx(((ln2 - h_b) / ln2 + 1) / 2)
