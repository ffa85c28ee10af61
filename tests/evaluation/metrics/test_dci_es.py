"""Tests for DCI-ES (tfdis.evaluation.metrics.dci_es)."""

import metrics_testlib as tl
import numpy as np
import pytest

from tfdis.data.ground_truth_data import FactorGrid
from tfdis.evaluation.metrics import dci_es


def _binary(num_factors, repeats):
    grid = FactorGrid((2,) * num_factors)
    return np.tile(grid.index_to_features(np.arange(grid.num_states)).T, repeats)


def _score(codes, factors, capacities=(1, 2), num_trees=3):
    return dci_es._compute_dci_es(
        codes, factors, codes, factors, np.random.RandomState(0), capacities, num_trees
    )


def test_explicitness_area_closed_form():
    curves = np.array(
        [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [2 / 3, 0.0, 0.0], [1.0, 2 / 3, 0.0], [0.5, 0.8, 0.2]]
    )
    # Capacities 1, 2, 4 scale to 0, 1/3, 1; Z = 1/2 (the triangle). Areas: 0; 1; (2/3)/2 * 1/3;
    # a straight fall from 1 to 0 is the triangle itself (E = 0); the last curve takes its
    # running minimum (0.5, 0.5, 0.2): 0.5/3 + 0.35 * 2/3.
    np.testing.assert_allclose(
        dci_es.explicitness_from_curves(curves, (1, 2, 4)),
        [1.0, -1.0, 1 - 2 / 9, 0.0, 1 - 2 * (0.5 / 3 + 0.35 * 2 / 3)],
    )


def test_perfect_binary_codes_score_the_maximum():
    factors = _binary(3, 50)
    scores = _score(factors.astype(float), factors)
    # A depth-1 tree on the factor's own code predicts it exactly.
    for key in ("explicitness", "informativeness", "disentanglement", "completeness", "size"):
        assert scores[key] == pytest.approx(1.0), key


def test_rotation_closed_form():
    # Codes (a + b, a - b) / sqrt 2 of binary a, b: every depth-1 split leaves test MSE 1/6 of
    # var(a) = 1/4, a normalized loss of 2/3; depth 2 is exact. E = 1 - 2 * (2/3) / 2 * width.
    # One tree (a forest averages stumps on different splits, which is no longer a stump); its
    # bootstrap sample moves the leaf means by O(1/sqrt N).
    a, b = _binary(2, 2000)
    codes = np.vstack([a + b, a - b]) / np.sqrt(2.0)
    scores = _score(codes, np.vstack([a, b]), num_trees=1)
    assert scores["explicitness"] == pytest.approx(1 / 3, abs=0.02)
    assert scores["informativeness"] == pytest.approx(1.0)
    scores = _score(codes, np.vstack([a, b]), capacities=(1, 2, 3), num_trees=1)
    assert scores["explicitness"] == pytest.approx(2 / 3, abs=0.02)


def test_duplicated_codes_closed_form_size():
    factors = _binary(3, 50)
    codes = np.vstack([factors, factors[:1]]).astype(float)
    scores = _score(codes, factors)
    assert scores["size"] == pytest.approx(3 / 4)
    assert scores["explicitness"] == pytest.approx(1.0)


def test_random_codes_score_the_minimum():
    rs = np.random.RandomState(0)
    factors = rs.randint(0, 4, size=(2, 2000))
    codes = rs.normal(size=(3, 2000))
    codes_test, factors_test = rs.normal(size=(3, 1000)), rs.randint(0, 4, size=(2, 1000))
    scores = dci_es._compute_dci_es(
        codes, factors, codes_test, factors_test, np.random.RandomState(0), (1, 2, 4), 3
    )
    # No probe beats the constant: the curve stays at l_b, E = -1 (the paper's lower end).
    assert scores["explicitness"] < -0.96
    assert scores["informativeness"] < 0.02


def test_end_to_end_and_errors():
    scores = dci_es.compute_dci_es(
        tl.IdentityData((2, 2, 4)), tl.identity_representation, np.random.RandomState(0),
        num_train=400, num_test=200, capacities=(1, 2, 3), num_trees=3, n_jobs=1,
    )  # fmt: skip
    # Binary factors are exact at depth 1; the 4-valued one at depth 2 (depth 1: normalized
    # loss 1/5 of a uniform 4-valued factor, so E = 1 - 2 * (1/5)/2 * 1/2 = 0.9 for it).
    assert scores["explicitness.factor_0"] == pytest.approx(1.0)
    assert scores["explicitness.factor_2"] == pytest.approx(0.9, abs=0.03)
    with pytest.raises(ValueError, match="increasing"):
        _score(np.zeros((2, 4)), np.zeros((2, 4), int), capacities=(2, 1))
    with pytest.raises(ValueError, match="same N"):
        dci_es._compute_dci_es(
            np.zeros((2, 4)), np.zeros((2, 5), int), np.zeros((2, 4)), np.zeros((2, 4), int),
            np.random.RandomState(0),
        )  # fmt: skip


def test_noisy_code_closed_form():
    # Code 0 is factor a through a 10% flip: the best predictor (already at depth 1) gives
    # 0.9 / 0.1, MSE 0.09 against var(a) = 0.25, a normalized loss of 0.36 at every capacity:
    # E = 1 - 2 * 0.36, I = 1 - 0.36. Factor b is exact at depth 1. Forest averaging shifts
    # this by O(1/N).
    codes, factors, _ = tl.noisy_binary_codes()
    scores = _score(np.tile(codes, 20), np.tile(factors, 20))
    assert scores["explicitness.factor_0"] == pytest.approx(0.28, abs=0.02)
    assert scores["explicitness.factor_1"] == pytest.approx(1.0)
    assert scores["informativeness"] == pytest.approx((0.64 + 1) / 2, abs=0.01)
