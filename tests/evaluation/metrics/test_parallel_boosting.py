"""The stage-parallel boosting classifier is bit-for-bit sklearn's GradientBoostingClassifier."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import ensemble

from tfdis.evaluation.metrics import parallel_boosting


def test_the_fast_path_is_available_on_this_sklearn():
    assert parallel_boosting.FAST_PATH_AVAILABLE


@pytest.mark.parametrize("num_classes", [2, 3, 7])
def test_equals_sklearn(num_classes):
    rng = np.random.RandomState(num_classes)
    y = rng.randint(num_classes, size=600)
    x = y[:, None] / num_classes + rng.normal(scale=0.4, size=(600, 5))
    reference = ensemble.GradientBoostingClassifier(n_estimators=15, random_state=3).fit(x, y)
    parallel = parallel_boosting.StageParallelGradientBoostingClassifier(
        n_estimators=15, random_state=3, num_threads=2
    ).fit(x, y)
    np.testing.assert_array_equal(parallel.feature_importances_, reference.feature_importances_)
    np.testing.assert_array_equal(parallel.decision_function(x), reference.decision_function(x))
    assert parallel.get_params()["num_threads"] == 2
