"""Tests for SAP (tfdis.evaluation.metrics.sap_score)."""

import metrics_testlib as tl
import numpy as np
import pytest

from tfdis.evaluation.metrics import sap_score


def _score(representation, continuous, sizes=(10, 10, 10, 10), seed=0):
    return sap_score.compute_sap(
        tl.IdentityData(sizes), representation, np.random.RandomState(seed),
        num_train=400, num_test=200, continuous_factors=continuous,
    )["SAP_score"]  # fmt: skip


def test_continuous_score_matrix_by_hand():
    factors = np.array([[0.0, 1.0, 2.0, 3.0]])
    codes = np.array([[0.0, 2.0, 4.0, 6.0], [1.0, 0.0, 1.0, 0.0], [5.0, 5.0, 5.0, 5.0]])
    matrix = sap_score.compute_score_matrix(codes, factors, codes, factors, True)
    # corr^2 with the factor: 1 for the scaled copy; cov = -1/3, var = 1/3 and 5/3 for the second.
    np.testing.assert_allclose(matrix[:, 0], [1.0, (1 / 9) / (1 / 3 * 5 / 3), 0.0])
    assert sap_score._compute_sap(codes, factors, codes, factors, True)["SAP_score"] == (
        pytest.approx(1.0 - 0.2)
    )


def test_avg_diff_top_two():
    matrix = np.array([[0.9, 0.2], [0.1, 0.6], [0.3, 0.5]])
    assert sap_score.compute_avg_diff_top_two(matrix) == pytest.approx((0.6 + 0.1) / 2)


def test_identity_near_top():
    assert _score(tl.identity_representation, True) > 0.95
    # Binary factors: each code predicts its factor perfectly and the others at chance (0.5).
    assert _score(tl.identity_representation, False, sizes=(2, 2, 2, 2)) == pytest.approx(
        0.5, abs=0.1
    )


def test_rotated_and_random_low():
    assert _score(tl.rotated_representation, True) < 0.1
    assert _score(tl.rotated_representation, False, sizes=(2, 2, 2, 2)) < 0.1
    assert _score(tl.make_random_representation(), True) < 0.05
    assert _score(tl.make_random_representation(), False, sizes=(2, 2, 2, 2)) < 0.1


def test_same_seed_same_result():
    rep = tl.rotated_representation
    assert _score(rep, False, (2, 3, 2, 2), 1) == _score(rep, False, (2, 3, 2, 2), 1)


def test_needs_two_codes():
    with pytest.raises(ValueError, match="at least 2 codes"):
        sap_score._compute_sap(np.zeros((1, 4)), np.zeros((1, 4)), None, None, True)
