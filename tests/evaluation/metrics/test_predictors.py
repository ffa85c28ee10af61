"""Tests for dlib's downstream classifiers (tfdis.evaluation.metrics.predictors)."""

import gin
import numpy as np
from sklearn import linear_model, model_selection, multiclass

from tfdis.evaluation.metrics import parallel_boosting, predictors


def test_logistic_regression_cv_is_dlibs_cross_validated_model():
    model = predictors.logistic_regression_cv()
    assert isinstance(model, linear_model.LogisticRegressionCV)
    assert model.Cs == 10
    assert isinstance(model.cv, model_selection.KFold) and model.cv.n_splits == 5
    assert not model.cv.shuffle
    ovr = predictors.logistic_regression_cv(multi_class="ovr")
    assert isinstance(ovr, multiclass.OneVsRestClassifier)


def test_gradient_boosting_has_sklearns_defaults_and_the_seed():
    model = predictors.gradient_boosting_classifier(random_state=5)
    assert isinstance(model, parallel_boosting.StageParallelGradientBoostingClassifier)
    assert model.random_state == 5
    assert (model.n_estimators, model.max_depth, model.learning_rate) == (100, 3, 0.1)


def test_predictor_fn_is_bound_by_gin_and_factories_without_a_seed_are_called_bare():
    gin.parse_config("predictor.predictor_fn = @logistic_regression_cv")
    assert predictors.make_predictor_fn() is predictors.logistic_regression_cv
    built = predictors.build_predictor(lambda: "bare", 3)
    assert built == "bare"


def test_score_fits_returns_train_and_test_accuracy_per_task():
    x = np.arange(20, dtype=float)[:, None]
    y = (x[:, 0] >= 10).astype(int)
    tasks = [(x, y, [(x, y), (x, 1 - y)]), (x, np.zeros(20, int), [(x, y), (x, 1 - y)])]
    accuracies = predictors.score_fits(
        tasks, predictors.gradient_boosting_classifier, np.random.RandomState(0), n_jobs=1
    )
    np.testing.assert_array_equal(accuracies[0], [1.0, 1.0, 0.0])
    # A single-class training set predicts that class: right on half of y.
    np.testing.assert_array_equal(accuracies[1], [1.0, 0.5, 0.5])


def test_tasks_fitted_in_processes_come_back_in_task_order():
    # Tasks are started most classes first; the results must still be in task order.
    rs = np.random.RandomState(0)
    x = rs.normal(size=(60, 2))
    tasks = [(x, rs.randint(k, size=60), [(x[:30], rs.randint(k, size=30))]) for k in (2, 5, 3)]
    fit = predictors.gradient_boosting_classifier
    serial = predictors.score_fits(tasks, fit, np.random.RandomState(1), n_jobs=1)
    parallel = predictors.score_fits(tasks, fit, np.random.RandomState(1), n_jobs=2)
    np.testing.assert_array_equal(parallel, serial)
