"""dlib's downstream classifiers, chosen with `predictor.predictor_fn`, and fitting one per factor.

`predictor.predictor_fn = @logistic_regression_cv` is dlib's `LogisticRegressionCV(Cs=10,
cv=KFold(n_splits=5))` (accuracy picks C, the unshuffled folds make it deterministic);
`@gradient_boosting_classifier` is scikit-learn's `GradientBoostingClassifier()` with its
defaults, built by `parallel_boosting.StageParallelGradientBoostingClassifier` (bit-for-bit
sklearn's, each stage's trees in threads), as DCI's exact backend.

A predictor factory is called as `predictor_fn(random_state=seed)` when it takes a
`random_state` (tfdis seeds the boosted trees from the metric's random state; dlib left them
unseeded, so its boosted-tree scores varied run to run through tie-breaking), else with no
arguments (dlib's convention).

`fit_factors` fits one classifier per factor, the factors in parallel, largest first (a fit's
cost grows with its number of classes), as DCI does: boosted trees in threads of one process
sharing one tree-building pool (`parallel_boosting.map_in_threads`), other classifiers in
processes.
"""

from __future__ import annotations

import contextlib
import inspect
import warnings
from collections.abc import Callable, Sequence

import gin
import joblib
import numpy as np
from sklearn import exceptions, linear_model, model_selection, multiclass

from tfdis.evaluation.metrics import parallel_boosting
from tfdis.utils import gin_validation

MULTI_CLASS = ("multinomial", "ovr")


# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "gradient_boosting_classifier": {
            "num_threads": {"kind": "int"},
        },
        "logistic_regression_cv": {
            "multi_class": {"kind": "str", "choices": MULTI_CLASS},
        },
        "predictor": {
            "predictor_fn": {"kind": "callable"},
        },
    },
)


@gin.configurable("predictor")
def make_predictor_fn(predictor_fn: Callable[..., object] = gin.REQUIRED) -> Callable[..., object]:
    """The gin-bound classifier factory (`predictor.predictor_fn`, dlib's `make_predictor_fn`)."""
    gin_validation.check_parameters("predictor", locals(), _GIN_RULES["predictor"])
    return predictor_fn


def _supported(cls, **kwargs) -> dict:
    """The keyword arguments `cls` accepts (scikit-learn adds and removes them over versions)."""
    parameters = inspect.signature(cls).parameters
    return {name: value for name, value in kwargs.items() if name in parameters}


@gin.configurable("logistic_regression_cv", denylist=["random_state"])
def logistic_regression_cv(random_state: int | None = None, multi_class: str = "multinomial"):
    """dlib's logistic regression: `LogisticRegressionCV(Cs=10, cv=KFold(n_splits=5))`.

    Args:
        random_state: unused (the fit is deterministic); accepted like the other factories.
        multi_class: "multinomial" (scikit-learn >= 0.22's `LogisticRegressionCV`, what dlib's
            code gives today) or "ovr": one binary `LogisticRegressionCV` per class, each with
            its own C, which is what dlib's code did under the scikit-learn of 2018-2019
            (`multi_class='ovr'` was the default before 0.22) when unsupervised_study_v1 ran.

    Returns:
        An unfitted classifier.
    """
    gin_validation.check_parameters(
        "logistic_regression_cv", locals(), _GIN_RULES["logistic_regression_cv"]
    )
    del random_state
    if multi_class not in MULTI_CLASS:
        raise ValueError(f"logistic_regression_cv.multi_class must be one of {MULTI_CLASS}")
    # The explicit values are today's behaviour (L2, accuracy to pick C); they only silence
    # scikit-learn's notices of future default changes.
    model = linear_model.LogisticRegressionCV(
        Cs=10,
        cv=model_selection.KFold(n_splits=5),
        **_supported(
            linear_model.LogisticRegressionCV,
            l1_ratios=(0.0,),
            scoring="accuracy",
            use_legacy_attributes=False,
        ),
    )
    if multi_class == "ovr":
        return multiclass.OneVsRestClassifier(model)
    return model


@gin.configurable("gradient_boosting_classifier", denylist=["random_state"])
def gradient_boosting_classifier(random_state: int | None = None, num_threads: int = -1):
    """scikit-learn's default `GradientBoostingClassifier`, each stage's trees in threads.

    Args:
        random_state: the classifier's seed (feature permutation at each split).
        num_threads: threads per fit when it is fitted alone (-1: one per core); `fit_factors`
            and `score_fits` fit all factors in one shared pool of `n_jobs` threads instead.
            Results do not depend on either.
    """
    gin_validation.check_parameters(
        "gradient_boosting_classifier", locals(), _GIN_RULES["gradient_boosting_classifier"]
    )
    threads = joblib.cpu_count() if num_threads == -1 else num_threads
    return parallel_boosting.StageParallelGradientBoostingClassifier(
        random_state=random_state, num_threads=threads
    )


def build_predictor(predictor_fn: Callable[..., object], seed: int):
    """Calls the factory with `random_state=seed` if it takes one, else without arguments."""
    try:
        takes_seed = "random_state" in inspect.signature(predictor_fn).parameters
    except (TypeError, ValueError):
        takes_seed = False
    return predictor_fn(random_state=seed) if takes_seed else predictor_fn()


def _fit_and_score(model, x_train, y_train, x_tests, y_tests) -> list[float]:
    """Fits `model`; returns its accuracy on the training set and on each test set.

    A training set with a single class (a tiny `num_train`) cannot be fitted by scikit-learn's
    classifiers; the only prediction it supports is that class, which is what is scored.
    """
    classes = np.unique(y_train)
    if len(classes) == 1:
        return [float(np.mean(y == classes[0])) for y in (y_train, *y_tests)]
    with _quiet_convergence(model):
        model.fit(x_train, y_train)
    accuracies = [float(np.mean(model.predict(x_train) == y_train))]
    accuracies += [
        float(np.mean(model.predict(x) == y)) for x, y in zip(x_tests, y_tests, strict=True)
    ]
    return accuracies


class ConstantClassifier:
    """Predicts its one training class (what a single-class training set supports)."""

    def __init__(self, label):
        self.label = label

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.full(len(x), self.label)


def _fit_and_return(model, x_train, y_train):
    classes = np.unique(y_train)
    if len(classes) == 1:
        return ConstantClassifier(classes[0])
    with _quiet_convergence(model):
        return model.fit(x_train, y_train)


@contextlib.contextmanager
def _quiet_convergence(model):
    """Silences ConvergenceWarning (lbfgs stops at max_iter on the largest C of the grid, as in
    dlib's fit). Boosted trees never warn so and fit in threads, where the process-wide
    `warnings.catch_warnings` is not safe, so they get no filter."""
    if isinstance(model, parallel_boosting.StageParallelGradientBoostingClassifier):
        yield
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", exceptions.ConvergenceWarning)
        yield


def _lpt_parallel(function, jobs: Sequence[tuple], sizes: Sequence[int], n_jobs: int) -> list:
    """`[function(*job) for job in jobs]` (`job[0]` the model), largest `sizes` first.

    Boosted trees (`StageParallelGradientBoostingClassifier`) fit in threads sharing one pool
    of `n_jobs` tree builders (their Cython releases the GIL); other models in processes.
    """
    if jobs and all(
        isinstance(job[0], parallel_boosting.StageParallelGradientBoostingClassifier)
        for job in jobs
    ):
        workers = joblib.effective_n_jobs(n_jobs)
        return parallel_boosting.map_in_threads(function, jobs, sizes, workers)
    order = sorted(range(len(jobs)), key=lambda j: -sizes[j])
    outputs = joblib.Parallel(n_jobs=n_jobs, prefer="processes")(
        joblib.delayed(function)(*jobs[j]) for j in order
    )
    results: list = [None] * len(jobs)
    for j, output in zip(order, outputs, strict=True):
        results[j] = output
    return results


def score_fits(
    tasks: Sequence[tuple[np.ndarray, np.ndarray, Sequence[tuple[np.ndarray, np.ndarray]]]],
    predictor_fn: Callable[..., object],
    random_state: np.random.RandomState,
    n_jobs: int = -1,
) -> np.ndarray:
    """Fits one classifier per task and scores it on its training and test sets.

    Args:
        tasks: `(x_train (N, D), y_train (N,), [(x_test (M, D), y_test (M,)), ...])` each, with
            the same number of test sets.
        predictor_fn: classifier factory (`build_predictor`).
        random_state: draws one classifier seed per task, in task order.
        n_jobs: tasks fitted in parallel (-1: all cores), most classes first: processes, or
            for boosted trees the shared pool's tree-building threads.

    Returns:
        `(num_tasks, 1 + num_test_sets)` accuracies: column 0 on the training set, column
        `t + 1` on test set `t`.
    """
    seeds = random_state.randint(2**31 - 1, size=len(tasks))
    jobs = [
        (
            build_predictor(predictor_fn, int(seed)),
            x_train,
            y_train,
            [x for x, _ in tests],
            [y for _, y in tests],
        )
        for seed, (x_train, y_train, tests) in zip(seeds, tasks, strict=True)
    ]
    sizes = [len(np.unique(task[1])) for task in tasks]
    return np.array(_lpt_parallel(_fit_and_score, jobs, sizes, n_jobs), dtype=np.float64)


def fit_factors(
    codes: np.ndarray,
    factors: np.ndarray,
    test_sets: Sequence[tuple[np.ndarray, np.ndarray]],
    predictor_fn: Callable[..., object],
    random_state: np.random.RandomState,
    n_jobs: int = -1,
) -> np.ndarray:
    """`score_fits` of one classifier per factor, from all codes.

    Args:
        codes: `(num_codes, N)` training codes.
        factors: int `(num_factors, N)` training labels.
        test_sets: `[(codes (num_codes, M), factors (num_factors, M)), ...]`.
        predictor_fn: classifier factory (`build_predictor`).
        random_state: draws one classifier seed per factor, in factor order.
        n_jobs: parallel workers (-1: all cores), as in `score_fits`.

    Returns:
        `(num_factors, 1 + len(test_sets))` accuracies (train, then each test set).
    """
    tasks = [
        (codes.T, factors[j], [(c.T, f[j]) for c, f in test_sets]) for j in range(factors.shape[0])
    ]
    return score_fits(tasks, predictor_fn, random_state, n_jobs)


def fit_factor_models(
    codes: np.ndarray,
    factors: np.ndarray,
    predictor_fn: Callable[..., object],
    random_state: np.random.RandomState,
    n_jobs: int = -1,
) -> list:
    """One fitted classifier per factor (as `fit_factors`), returned for later predictions."""
    seeds = random_state.randint(2**31 - 1, size=factors.shape[0])
    jobs = [
        (build_predictor(predictor_fn, int(seed)), codes.T, factors[j])
        for j, seed in enumerate(seeds)
    ]
    sizes = [len(np.unique(row)) for row in factors]
    return _lpt_parallel(_fit_and_return, jobs, sizes, n_jobs)
