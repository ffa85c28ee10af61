"""Tests for the strong downstream task (tfdis.evaluation.metrics.strong_downstream_task)."""

import gin
import metrics_testlib as tl
import numpy as np
import pytest

from tfdis.evaluation.metrics import predictors, strong_downstream_task

KEYS = {
    "mean_train_accuracy",
    "mean_test_accuracy",
    "mean_strong_train_accuracy",
    "mean_strong_test_accuracy",
    "strong_generalization_gap",
}


def _run(representation, **kw):
    gin.bind_parameter("predictor.predictor_fn", predictors.gradient_boosting_classifier)
    return strong_downstream_task.compute_strong_downstream_task(
        tl.IdentityData((3, 4, 5)), representation, np.random.RandomState(0),
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
