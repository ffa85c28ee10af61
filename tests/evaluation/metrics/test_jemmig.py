"""Tests for JEMMIG (tfdis.evaluation.metrics.jemmig)."""

import metrics_testlib as tl
import numpy as np
import pytest

from tfdis.data.ground_truth_data import FactorGrid
from tfdis.evaluation.metrics import jemmig

LN2, LN20 = np.log(2.0), np.log(20.0)


def _grid(sizes):
    grid = FactorGrid(sizes)
    return grid.index_to_features(np.arange(grid.num_states)).T


def test_perfect_codes_score_the_maximum():
    factors = _grid((5, 4, 3))
    # At most 20 values per code: each value has its own bin, H(z|y) = H(y|z) = 0.
    scores = jemmig._compute_jemmig(factors.astype(float), factors, num_bins=20)
    assert scores["jemmig"] == pytest.approx(0.0, abs=1e-12)
    assert scores["jemmig_score"] == pytest.approx(1.0)


def test_duplicated_code_closed_form():
    # Factor 0's runner-up is its copy: JEMMIG(v0) = 0 - 0 + I(copy; v0) = H(v0) = ln5.
    factors = _grid((5, 4, 3))
    codes = np.vstack([factors, factors[:1]]).astype(float)
    scores = jemmig._compute_jemmig(codes, factors, num_bins=20)
    assert scores["jemmig.factor_0"] == pytest.approx(np.log(5) / (np.log(5) + LN20))
    assert scores["jemmig.factor_1"] == pytest.approx(0.0, abs=1e-12)
    assert scores["jemmig"] == pytest.approx(np.log(5) / (np.log(5) + LN20) / 3)


def test_rotation_closed_form():
    # z = a + b over binary a, b: H(z) = 1.5 ln2, I(z; a) = 0.5 ln2, H(z, a) = 2 ln2.
    # Runner-up a - b also has I = 0.5 ln2: JEMMIG(a) = 2 ln2 - 0.5 ln2 + 0.5 ln2 = 2 ln2.
    a, b = _grid((2, 2))
    scores = jemmig.jemmig_from_discrete(np.vstack([a + b, a - b + 1]), np.vstack([a, b]), 20)
    assert scores["jemmig.factor_0"] == pytest.approx(2 * LN2 / (LN2 + LN20))
    assert scores["jemmig"] == pytest.approx(2 * LN2 / (LN2 + LN20))


def test_uniform_random_codes_score_about_zero():
    rs = np.random.RandomState(0)
    factors = rs.randint(0, 10, size=(3, 20000))
    scores = jemmig._compute_jemmig(rs.uniform(size=(4, 20000)), factors, num_bins=20)
    assert abs(scores["jemmig_score"]) < 0.01


def test_end_to_end_and_errors():
    score = jemmig.compute_jemmig(
        tl.IdentityData(), tl.identity_representation, np.random.RandomState(0), num_train=2000
    )
    assert score["jemmig_score"] > 0.95
    with pytest.raises(ValueError, match="at least 2 codes"):
        jemmig.jemmig_from_discrete(np.zeros((1, 4), int), np.array([[0, 1, 0, 1]]), 20)


def test_noisy_code_closed_form():
    # Factor a: H(code 0) = ln2, H(code 0, a) = ln2 + h_b, I = ln2 - h_b, runner-up I = 0:
    # JEMMIG(a) = 2 h_b. Factor b is captured exactly: 0.
    codes, factors, h_b = tl.noisy_binary_codes()
    scores = jemmig._compute_jemmig(codes, factors, num_bins=20)
    assert scores["jemmig.factor_0"] == pytest.approx(2 * h_b / (LN2 + LN20))
    assert scores["jemmig.factor_1"] == pytest.approx(0.0, abs=1e-12)
