"""Tests for the reduced downstream task (tfdis.evaluation.metrics.reduced_downstream_task)."""

import gin
import metrics_testlib as tl
import numpy as np
import pytest

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
