"""Tests for the strong downstream task (tfdis.evaluation.metrics.strong_downstream_task)."""

import gin
import metrics_testlib as tl
import numpy as np
import pytest
import scipy.stats
from sklearn import ensemble

from tfdis.evaluation.metrics import predictors, strong_downstream_task

KEYS = {
    "mean_train_accuracy",
    "mean_test_accuracy",
    "mean_strong_train_accuracy",
    "mean_strong_test_accuracy",
    "strong_generalization_gap",
}


def _run(representation, predictor=predictors.gradient_boosting_classifier, sizes=(3, 4, 5), **kw):
    gin.bind_parameter("predictor.predictor_fn", predictor)
    return strong_downstream_task.compute_strong_downstream_task(
        tl.IdentityData(sizes), representation, np.random.RandomState(0),
        **{"num_train": [150], "num_test": 300, "n_experiment": 2, "n_jobs": 1, **kw},
    )  # fmt: skip


def test_perfect_codes_generalize_strongly():
    # Each factor's own code decides it, whatever the other factors do: no gap.
    scores = _run(tl.identity_representation)
    assert set(scores) == {f"150:{key}" for key in KEYS}
    assert scores["150:mean_test_accuracy"] == 1.0
    assert scores["150:mean_strong_test_accuracy"] == 1.0
    assert scores["150:strong_generalization_gap"] == 0.0


def test_the_gap_is_one_minus_the_ratio_of_accuracies():
    scores = _run(tl.make_random_representation(3), num_test=1000)
    expected = 1 - scores["150:mean_strong_test_accuracy"] / scores["150:mean_test_accuracy"]
    assert scores["150:strong_generalization_gap"] == pytest.approx(expected)
    chance = np.mean([1 / 3, 1 / 4, 1 / 5])
    assert abs(scores["150:mean_test_accuracy"] - chance) < 0.05


def test_intervention_fixes_one_other_factor_in_training_and_avoids_it_in_test():
    rs = np.random.RandomState(3)
    train, test = rs.randint(5, size=(200, 3)), rs.randint(5, size=(100, 3))
    new_train, new_test = strong_downstream_task.intervene(train, test, [1, 2], [5, 5, 5], rs)
    changed = [j for j in range(3) if not np.array_equal(new_train[:, j], train[:, j])]
    assert len(changed) == 1 and changed[0] in (1, 2)
    j = changed[0]
    assert len(set(new_train[:, j])) == 1
    assert new_train[0, j] not in set(new_test[:, j])
    assert set(new_test[:, j]) == set(range(5)) - {new_train[0, j]}
    others = [k for k in range(3) if k != j]
    np.testing.assert_array_equal(new_train[:, others], train[:, others])
    np.testing.assert_array_equal(new_test[:, others], test[:, others])


def _few_stage_trees(random_state=None):
    return ensemble.GradientBoostingClassifier(n_estimators=20, random_state=random_state)


def test_duplicated_codes_generalize_strongly():
    # The copy of code 0 carries factor 0 only: each factor is still decided by its own code(s),
    # and the intervened factor's codes are constant in training, so no tree splits on them and
    # their new test values change nothing: every accuracy 1, no gap (as for perfect codes).
    scores = _run(tl.duplicated_representation, _few_stage_trees)
    assert all(scores[f"150:{key}"] == 1.0 for key in KEYS - {"strong_generalization_gap"})
    assert scores["150:strong_generalization_gap"] == 0.0


def test_rotated_codes_generalize_strongly_for_a_linear_readout_only():
    # Two factors of 4 values, codes a = (f0 + f1)/sqrt 2 and b = (f0 - f1)/sqrt 2; each
    # intervention fixes the partner factor to v in training (the only other factor). There
    # a - b is constant, so the L2 penalty puts equal weights on a and b (the difference is
    # absorbed by the unpenalized intercept): the logistic readout depends on a + b =
    # sqrt 2 f_i only, which the test shift of the partner leaves unchanged. The classes are
    # linearly separable along f_i, so train, test and strong accuracies are all 1, gap 0.
    sizes = (4, 4)
    scores = _run(tl.rotated_representation, predictors.logistic_regression_cv, sizes)
    assert all(scores[f"150:{key}"] == 1.0 for key in KEYS - {"strong_generalization_gap"})
    assert scores["150:strong_generalization_gap"] == 0.0
    # Trees cut along a or b, one at a time; off the training line a test point's a and b
    # point to two different training values of f_i, so the strong accuracy falls below the
    # plain one (exactly 1: all 16 combinations are distinct training points).
    scores = _run(tl.rotated_representation, _few_stage_trees, sizes)
    assert scores["150:mean_test_accuracy"] == 1.0
    assert scores["150:mean_strong_test_accuracy"] < 0.9
    assert scores["150:strong_generalization_gap"] > 0.1


def test_noisy_codes_keep_the_bayes_accuracy_under_interventions():
    # Code i = factor i + N(0, 0.3^2). Logistic regression reaches the Bayes accuracy of a
    # factor from its own code, (K - 2)(2 Phi(0.5 / s) - 1) + 2 Phi(0.5 / s) over K (midpoint
    # thresholds). Fixing another factor in training leaves that code's distribution unchanged
    # and makes the intervened code pure noise (weight ~0), so the strong accuracy is the
    # same Bayes accuracy and the gap is 0 up to sampling noise.
    s, sizes = 0.3, (3, 4)
    rs = np.random.RandomState(5)

    def noisy(observations):
        codes = tl.identity_representation(observations)
        return codes + rs.normal(scale=s, size=codes.shape)

    scores = _run(noisy, predictors.logistic_regression_cv, sizes, num_train=[1000], num_test=3000)
    phi = scipy.stats.norm.cdf(0.5 / s)
    bayes = np.mean([((k - 2) * (2 * phi - 1) + 2 * phi) / k for k in sizes])
    assert bayes - 0.03 < scores["1000:mean_test_accuracy"] < bayes + 0.02
    assert bayes - 0.03 < scores["1000:mean_strong_test_accuracy"] < bayes + 0.02
    assert abs(scores["1000:strong_generalization_gap"]) < 0.04
