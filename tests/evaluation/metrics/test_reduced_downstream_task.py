"""Tests for the reduced downstream task (tfdis.evaluation.metrics.reduced_downstream_task)."""

import gin
import metrics_testlib as tl
import numpy as np
import pytest
import scipy.stats
from sklearn import ensemble

from tfdis.evaluation.metrics import predictors, reduced_downstream_task

SIZES = (3, 4, 5)


def _run(representation, remove=1):
    gin.bind_parameter("predictor.predictor_fn", predictors.gradient_boosting_classifier)
    return reduced_downstream_task.compute_reduced_downstream_task(
        tl.IdentityData(SIZES), representation, np.random.RandomState(0),
        num_factors_to_remove=remove, num_train=[150], num_test=1000, n_jobs=1,
    )  # fmt: skip


def test_perfect_codes_lose_exactly_the_factor_of_interest():
    # Factor f's only informative code is removed: f falls to chance (1/K, independent
    # predictions), every other factor keeps its own code and stays exact.
    scores = _run(tl.identity_representation)
    assert len(scores) == 2 * 3 * 3
    for f, k in enumerate(SIZES):
        for i in range(3):
            test = scores[f"150:test_accuracy_{i}_factor_of_interest_{f}"]
            if i == f:
                assert abs(test - 1 / k) < 4 * np.sqrt((1 / k) * (1 - 1 / k) / 1000)
            else:
                assert test == 1.0
                assert scores[f"150:train_accuracy_{i}_factor_of_interest_{f}"] == 1.0


def test_a_duplicated_code_keeps_its_factor_after_one_removal_but_not_two():
    # Factor 0 has two identical codes: removing one leaves the copy.
    scores = _run(tl.duplicated_representation)
    assert scores["150:test_accuracy_0_factor_of_interest_0"] == 1.0
    assert scores["150:test_accuracy_1_factor_of_interest_1"] < 0.4
    scores = _run(tl.duplicated_representation, remove=2)
    assert scores["150:test_accuracy_0_factor_of_interest_0"] < 0.45
    assert scores["150:test_accuracy_1_factor_of_interest_0"] == 1.0


def test_cannot_remove_every_code():
    with pytest.raises(ValueError, match="num_factors_to_remove"):
        _run(tl.identity_representation, remove=3)


def _few_stage_trees(random_state=None):
    """Boosted trees with 20 stages (the importance ranking stays dlib's exact DCI)."""
    return ensemble.GradientBoostingClassifier(n_estimators=20, random_state=random_state)


def _run_with(representation, predictor, sizes, remove=1, num_train=150, num_test=2000):
    gin.bind_parameter("predictor.predictor_fn", predictor)
    return reduced_downstream_task.compute_reduced_downstream_task(
        tl.IdentityData(sizes), representation, np.random.RandomState(0),
        num_factors_to_remove=remove, num_train=[num_train], num_test=num_test, n_jobs=1,
    )  # fmt: skip


def test_rotated_codes_drop_to_seven_sixteenths_after_one_removal():
    # Two factors of 4 values, codes (f0 + f1)/sqrt 2 and (f0 - f1)/sqrt 2. With both codes the
    # 16 combinations are 16 distinct points and the trees are exact. Whichever code is removed,
    # the other is s = f0 + f1 or d = f0 - f1 alone: 7 values, value v shared by n_v equally
    # likely (f0, f1), each of which a tree's in-support prediction gets right with
    # probability 1 / n_v, so the expected accuracy of both factors is
    # sum_v (n_v / 16)(1 / n_v) = 7/16 (chance is 1/4). 2000 test points: 4 sigma = 0.044.
    sizes = (4, 4)
    full = _run_with(tl.rotated_representation, _few_stage_trees, sizes, remove=0, num_train=200)
    assert all(v == 1.0 for k, v in full.items() if "test" in k)
    scores = _run_with(tl.rotated_representation, _few_stage_trees, sizes, num_train=200)
    sigma = np.sqrt((7 / 16) * (9 / 16) / 2000)
    for f in range(2):
        for i in range(2):
            test = scores[f"200:test_accuracy_{i}_factor_of_interest_{f}"]
            assert abs(test - 7 / 16) < 4 * sigma


def test_random_codes_score_chance_whatever_is_removed():
    # Codes independent of the observations: every prediction is independent of the test
    # labels, so each factor's expected accuracy is 1/K for every factor of interest.
    scores = _run_with(tl.make_random_representation(3), _few_stage_trees, SIZES)
    assert len(scores) == 2 * 3 * 3
    for f in range(3):
        for i, k in enumerate(SIZES):
            sigma = np.sqrt((1 / k) * (1 - 1 / k) / 2000)
            test = scores[f"150:test_accuracy_{i}_factor_of_interest_{f}"]
            assert abs(test - 1 / k) < 4 * sigma


def test_noisy_codes_lose_their_factor_and_keep_the_bayes_accuracy_of_the_other():
    # Code i = factor i + N(0, 0.3^2): DCI's most important code for factor f is its own, so
    # after removing it f is read from the other factor's code only (chance, 1/K_f) and the
    # other factor from its own noisy code: the Bayes rule thresholds at midpoints, right with
    # probability 2 Phi(0.5 / s) - 1 for an interior value and Phi(0.5 / s) for the two end
    # values, which logistic regression (well specified: equal-variance Gaussian classes) reaches.
    s, sizes, num_test = 0.3, (3, 4), 3000
    rs = np.random.RandomState(5)

    def noisy(observations):
        codes = tl.identity_representation(observations)
        return codes + rs.normal(scale=s, size=codes.shape)

    scores = _run_with(
        noisy, predictors.logistic_regression_cv, sizes, num_train=1000, num_test=num_test
    )
    phi = scipy.stats.norm.cdf(0.5 / s)
    for f, k_f in enumerate(sizes):
        sigma = np.sqrt((1 / k_f) * (1 - 1 / k_f) / num_test)
        assert abs(scores[f"1000:test_accuracy_{f}_factor_of_interest_{f}"] - 1 / k_f) < 4 * sigma
        i, k = 1 - f, sizes[1 - f]
        bayes = ((k - 2) * (2 * phi - 1) + 2 * phi) / k
        test = scores[f"1000:test_accuracy_{i}_factor_of_interest_{f}"]
        assert bayes - 0.03 < test < bayes + 0.02
