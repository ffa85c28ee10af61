"""Tests for dlib's unified scores (tfdis.evaluation.metrics.unified_scores)."""

import metrics_testlib as tl
import numpy as np
import pytest
import scipy.stats

from tfdis.evaluation.metrics import dci, mig, sap_score, unified_scores

LN2 = np.log(2.0)
# Codes x factors: code 0 mostly factor 0, code 1 mostly factor 1.
HAND = np.array([[0.9, 0.1], [0.2, 0.8]])
BINARY = np.array([[0, 1, 0, 1], [0, 0, 1, 1]])  # two balanced binary factors, H = ln 2


def test_precision_curve_of_hand_matrix():
    # Thresholds 0.9, 0.8, 0.2, 0.1 keep {c0f0} -> 1 component, {c0f0, c1f1} -> 2,
    # then c1f0 joins them -> 1, and c0f1 -> 1. Trapezoids: 1.5*0.1 + 1.5*0.6 + 1*0.1.
    assert [unified_scores.num_components(HAND, t) for t in (0.9, 0.8, 0.2, 0.1)] == [1, 2, 1, 1]
    values = unified_scores.pr_curves_values(HAND)
    assert values["area_precision"] == pytest.approx(1.15)
    assert values["max_precision"] == 2.0


def test_precision_curve_perfect_and_rotated():
    # Identity: 2 components at every threshold; area = 2 * (1 - 0).
    assert unified_scores.pr_curves_values(np.eye(2)) == {
        "area_precision": 2.0,
        "max_precision": 2.0,
    }
    # A 45-degree rotation spreads both factors evenly: one component, no threshold range.
    rotated = unified_scores.pr_curves_values(np.full((2, 2), 0.5))
    assert rotated == {"area_precision": 0.0, "max_precision": 1.0}
    # Zero entries are never edges, even at threshold 0.
    assert unified_scores.num_components(np.zeros((3, 2)), 0.0) == 0


def test_merges_record_the_joining_edge():
    # Edges by weight: c0f0 (id 0), c1f1 (id 1), c1f0 (id 2) joins factors 0 and 1.
    assert unified_scores.merge_thresholds(HAND) == {"merge_0_1": 2.0}
    # Three factors: f0-f1 join through code 0 at edge 3, f2 joins at edge 4.
    matrix = np.array([[0.9, 0.7, 0.0], [0.0, 0.8, 0.6], [0.0, 0.0, 0.95]])
    # Descending: c2f2 .95 (0), c0f0 .9 (1), c1f1 .8 (2), c0f1 .7 (3), c1f2 .6 (4). As in
    # dlib, a key names the factors on the edge's factor side first: edge 3 is (f1, c0 ~ f0).
    assert unified_scores.merge_thresholds(matrix) == {
        "merge_1_0": 3.0,
        "merge_2_1": 4.0,
        "merge_2_0": 4.0,
    }


def test_aggregations_of_hand_matrix_follow_the_formulas():
    scores = unified_scores.matrix_scores(HAND, BINARY)
    assert scores["mig.factor_0"] == pytest.approx((0.9 - 0.2) / LN2)
    assert scores["mig.factor_1"] == pytest.approx((0.8 - 0.1) / LN2)
    assert scores["mig"] == pytest.approx((0.7 + 0.7) / 2 / LN2)
    assert scores["sap.factor_0"] == pytest.approx(0.7)
    assert scores["sap"] == pytest.approx(0.7)
    # Modularity per code: 1 - (sum of non-max squares) / (max square * (F - 1)).
    assert scores["modularity.code_0"] == pytest.approx(1 - 0.01 / 0.81)
    assert scores["modularity.code_1"] == pytest.approx(1 - 0.04 / 0.64)
    assert scores["modularity"] == pytest.approx((2 - 0.01 / 0.81 - 0.04 / 0.64) / 2)
    # DCI: 1 - H_2 of each normalized row, weighted by the row's share of the total.
    rows = 1 - scipy.stats.entropy(HAND.T, base=2)
    assert scores["dci_disentanglement.code_0"] == pytest.approx(rows[0], abs=1e-9)
    expected = np.sum(rows * HAND.sum(axis=1) / HAND.sum())
    assert scores["dci_disentanglement"] == pytest.approx(expected, abs=1e-9)
    assert scores["dci"] == scores["dci_disentanglement"]
    cols = 1 - scipy.stats.entropy(HAND, base=2)
    assert scores["dci_completeness.code_1"] == pytest.approx(cols[1], abs=1e-9)


def _codes(representation, num, seed):
    data = tl.IdentityData((4, 4, 4, 4))
    from tfdis.evaluation.metrics import utils

    return utils.generate_batch_factor_code(data, representation, num, np.random.RandomState(seed))


@pytest.mark.parametrize("representation", [tl.identity_representation, tl.rotated_representation])
def test_each_matrix_agrees_with_its_metric(representation):
    codes, factors = _codes(representation, 400, 0)
    codes_test, factors_test = _codes(representation, 200, 1)

    def gbt(*args):
        return unified_scores.importance_gbt_matrix(*args, backend="exact", n_jobs=1)

    gbt.__name__ = "importance_gbt_matrix"
    fns = [gbt, unified_scores.mutual_information_matrix, unified_scores.accuracy_svm_matrix]
    scores = unified_scores._compute_unified_scores(
        codes, factors, codes_test, factors_test, fns, np.random.RandomState(7)
    )
    reference = dci._compute_dci(
        codes, factors, codes_test, factors_test, np.random.RandomState(7), "exact", 1
    )
    assert scores["importance_gbt_matrix.dci_disentanglement"] == reference["disentanglement"]
    assert scores["importance_gbt_matrix.dci_completeness"] == reference["completeness"]
    assert scores["mutual_information_matrix.mig"] == pytest.approx(
        mig._compute_mig(codes, factors)["discrete_mig"], abs=1e-12
    )
    sap = sap_score._compute_sap(codes, factors, codes_test, factors_test, False)["SAP_score"]
    assert scores["accuracy_svm_matrix.sap"] == pytest.approx(sap, abs=1e-12)
    for name in ("importance_gbt_matrix", "mutual_information_matrix", "accuracy_svm_matrix"):
        for key in ("area_precision", "max_precision", "modularity", "dci", "mig.factor_3",
                    "sap.factor_0", "dci_completeness.code_3", "modularity.code_3"):  # fmt: skip
            assert f"{name}.{key}" in scores


def test_compute_unified_scores_end_to_end_and_errors():
    scores = unified_scores.compute_unified_scores(
        tl.IdentityData((4, 4, 4, 4)), tl.identity_representation, np.random.RandomState(0),
        num_train=400, num_test=100, matrix_fns=[unified_scores.mutual_information_matrix],
    )  # fmt: skip
    # Identity codes: MI diagonal, so every aggregation is near its top.
    assert scores["mutual_information_matrix.mig"] > 0.9
    assert scores["mutual_information_matrix.max_precision"] == 4.0
    with pytest.raises(ValueError, match="matrix_fns is empty"):
        unified_scores._compute_unified_scores(
            np.zeros((2, 4)), np.zeros((2, 4), int), np.zeros((2, 4)), np.zeros((2, 4), int),
            [], np.random.RandomState(0),
        )  # fmt: skip
    with pytest.raises(ValueError, match="expected"):
        unified_scores._compute_unified_scores(
            np.ones((2, 4)), np.ones((2, 4), int), np.ones((2, 4)), np.ones((2, 4), int),
            [lambda *a: np.ones((3, 3))], np.random.RandomState(0),
        )  # fmt: skip


def _mi_scores(codes, factors):
    matrix = unified_scores.mutual_information_matrix(codes, factors, None, None, None)
    return unified_scores.matrix_scores(matrix, factors)


def test_mutual_information_matrix_on_synthetic_codes():
    from tfdis.data.ground_truth_data import FactorGrid

    grid = FactorGrid((5, 4, 3))
    factors = grid.index_to_features(np.arange(grid.num_states)).T
    h5, h4, h3 = np.log([5.0, 4.0, 3.0])
    # Perfect: MI = diag(ln5, ln4, ln3). Precision 1, 2, 3 components at thresholds ln5, ln4,
    # ln3, and 3 down to 0 (zero entries are no edges).
    area = 1.5 * (h5 - h4) + 2.5 * (h4 - h3) + 3 * h3
    perfect = _mi_scores(factors.astype(float), factors)
    assert perfect["mig"] == pytest.approx(1.0)
    assert perfect["dci_disentanglement"] == pytest.approx(1.0)
    assert perfect["modularity"] == pytest.approx(1.0)
    assert perfect["sap"] == pytest.approx((h5 + h4 + h3) / 3)
    assert perfect["area_precision"] == pytest.approx(area)
    assert perfect["max_precision"] == 3.0
    # Duplicated factor 0: its MIG and SAP gaps vanish, its completeness halves to 0 (base 4:
    # 1 - log_4 2 = 1/2), the precision curve is unchanged.
    duplicated = _mi_scores(np.vstack([factors, factors[:1]]).astype(float), factors)
    assert duplicated["mig"] == pytest.approx(2 / 3)
    assert duplicated["mig.factor_0"] == pytest.approx(0.0, abs=1e-12)
    assert duplicated["sap"] == pytest.approx((h4 + h3) / 3)
    assert duplicated["dci_completeness.code_0"] == pytest.approx(0.5, abs=1e-9)
    assert duplicated["area_precision"] == pytest.approx(area)
    # Rotated binary pair (a + b, a - b): MI ln2 / 2 everywhere, one component, gaps 0.
    a, b = FactorGrid((2, 2)).index_to_features(np.arange(4)).T
    rotated = _mi_scores(np.vstack([a + b, a - b]).astype(float), np.vstack([a, b]))
    assert rotated["mig"] == pytest.approx(0.0, abs=1e-12)
    assert rotated["dci_disentanglement"] == pytest.approx(0.0, abs=1e-9)
    assert rotated["max_precision"] == 1.0
    # Random codes: MI near 0 everywhere, so MIG and SAP near 0.
    rs = np.random.RandomState(0)
    random = _mi_scores(rs.uniform(size=(4, 5000)), rs.randint(0, 10, size=(3, 5000)))
    assert random["mig"] < 0.02
    assert random["sap"] < 0.02


def test_noisy_code_closed_form():
    # Binary factor a over 100 points; the code equals a except on 5 points of each class
    # (a binary symmetric channel with flip rate 0.1, exactly): I = ln2 - H_b(0.1). Factor b
    # (independent of both, balanced within every (a, code) cell) has I = 0 with both codes.
    codes, factors, h_b = tl.noisy_binary_codes()
    scores = _mi_scores(codes, factors)
    assert scores["mig.factor_0"] == pytest.approx((LN2 - h_b) / LN2)
    assert scores["mig.factor_1"] == pytest.approx(1.0)
    assert scores["sap.factor_0"] == pytest.approx(LN2 - h_b)
    assert scores["modularity"] == pytest.approx(1.0)


def test_gbt_matrix_after_dci_on_the_same_samples_reuses_the_fit(monkeypatch):
    # tfdis_evaluate runs dci, then unified_scores on the same samples and seed: one fit.
    codes, factors = _codes(tl.identity_representation, 300, 0)
    codes_test, factors_test = _codes(tl.identity_representation, 100, 1)
    fits = []
    fit_one = dci._fit_one
    monkeypatch.setattr(dci, "_fit_one", lambda *job: fits.append(job) or fit_one(*job))
    args = (codes, factors, codes_test, factors_test)
    first = dci._compute_dci(*args, np.random.RandomState(3), "exact", 1)
    matrix = unified_scores.importance_gbt_matrix(*args, np.random.RandomState(3), n_jobs=1)
    assert len(fits) == 4  # one per factor, once
    assert dci.disentanglement(matrix) == first["disentanglement"]
    # Another seed or other codes fit again.
    unified_scores.importance_gbt_matrix(*args, np.random.RandomState(4), n_jobs=1)
    assert len(fits) == 8
