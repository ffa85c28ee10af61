"""Downstream accuracy after removing the codes most informative of a factor (dlib's
`reduced_downstream_task`).

Locatello et al., "A Sober Look at the Unsupervised Learning of Disentangled Representations
and their Evaluation" (JMLR 2020): how much a factor leaks into the other codes. For each
training size n and each factor of interest f, the code with the largest importance for f
(`reduced_representation.correlation_measure`, dlib's `@factorwise_dci`: the DCI importance
matrix of boosted trees) is deleted, `num_factors_to_remove` times (recomputing the importances
on the codes left), and one classifier per factor (`predictor.predictor_fn`) is trained on the
reduced codes. Keys (dlib's): `<n>:train_accuracy_<i>_factor_of_interest_<f>` and
`<n>:test_accuracy_<i>_factor_of_interest_<f>`, the accuracy on factor i.

The first removal's importance matrix is the same for every factor of interest (it is computed
from the full codes), so tfdis computes it once per training size; later removals fit only the
factor of interest's column, the only one used. dlib refits the whole matrix each time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import gin
import numpy as np

from tfdis.data.ground_truth_data import GroundTruthData
from tfdis.evaluation.metrics import dci, predictors, utils
from tfdis.utils import gin_validation

ImportanceFn = Callable[..., np.ndarray]


# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "reduced_representation": {
            "correlation_measure": {"kind": "callable"},
        },
        "factorwise_dci": {
            "backend": {"kind": "str", "choices": dci.BACKENDS},
            "n_jobs": {"kind": "int"},
        },
        "reduced_downstream_task": {
            "n_jobs": {"kind": "int"},
            "num_factors_to_remove": {"kind": "int", "minimum": 0},
            "num_train": {"kind": "int_or_ints", "positive": True},
            "num_test": {"kind": "int", "positive": True},
            "batch_size": {"kind": "int", "positive": True},
        },
    },
)


@gin.configurable(
    "factorwise_dci",
    denylist=["codes", "factors", "codes_test", "factors_test", "random_state"],
)
def compute_factorwise_dci(
    codes: np.ndarray,
    factors: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    random_state: np.random.RandomState,
    backend: str = "exact",
    n_jobs: int = -1,
) -> np.ndarray:
    """DCI's boosted-tree importance matrix `(num_codes, num_factors)` (dlib's `factorwise_dci`).

    Args:
        codes, factors, codes_test, factors_test: `(num_codes, N)`, `(num_factors, N)` arrays.
        random_state: seeds the classifiers.
        backend: DCI's backend ("exact": dlib's classifier, or "histogram").
        n_jobs: factors fitted in parallel.
    """
    gin_validation.check_parameters("factorwise_dci", locals(), _GIN_RULES["factorwise_dci"])
    return dci.compute_importance_gbt(
        codes, factors, codes_test, factors_test, random_state, backend, n_jobs
    )[0]


@gin.configurable("reduced_representation", denylist=[])
def make_correlation_measure(correlation_measure: ImportanceFn = compute_factorwise_dci):
    """The gin-bound importance function (`reduced_representation.correlation_measure`)."""
    gin_validation.check_parameters(
        "reduced_representation", locals(), _GIN_RULES["reduced_representation"]
    )
    return correlation_measure


@gin.configurable(
    "reduced_downstream_task",
    denylist=["ground_truth_data", "representation_function", "random_state", "artifact_dir"],
)
def compute_reduced_downstream_task(
    ground_truth_data: GroundTruthData,
    representation_function: utils.RepresentationFunction,
    random_state: np.random.RandomState,
    artifact_dir: str | None = None,
    num_factors_to_remove: int = 1,
    num_train: Sequence[int] | int = (10000,),
    num_test: int = 5000,
    batch_size: int = utils.DEFAULT_ENCODE_BATCH,
    n_jobs: int = -1,
) -> dict[str, float]:
    """Per-factor accuracy on codes without the `num_factors_to_remove` most important ones.

    Args:
        ground_truth_data: the dataset.
        representation_function: `(B, H, W, C)` observations -> `(B, num_codes)` codes.
        random_state: source of all randomness (also seeds the classifiers).
        artifact_dir: unused (dlib signature).
        num_factors_to_remove: codes removed per factor of interest (fewer than the codes).
        num_train: training sizes.
        num_test: test points per training size.
        batch_size: observations per encoder call (speed only).
        n_jobs: parallel workers (-1: all cores), as in `predictors.score_fits`.

    Returns:
        dlib's keys (module docstring).
    """
    gin_validation.check_parameters(
        "reduced_downstream_task", locals(), _GIN_RULES["reduced_downstream_task"]
    )
    del artifact_dir
    sizes = [num_train] if isinstance(num_train, int) else list(num_train)
    scores = {}
    for size in sizes:
        train = utils.generate_batch_factor_code(
            ground_truth_data, representation_function, size, random_state, batch_size
        )
        test = utils.generate_batch_factor_code(
            ground_truth_data, representation_function, num_test, random_state, batch_size
        )
        scores.update(
            _compute_reduced_downstream_task(
                *train, *test, num_factors_to_remove, size, random_state, n_jobs=n_jobs
            )
        )
    return scores


def _compute_reduced_downstream_task(
    codes: np.ndarray,
    factors: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    num_factors_to_remove: int,
    size: int | str,
    random_state: np.random.RandomState,
    correlation_measure: ImportanceFn | None = None,
    predictor_fn: Callable[..., object] | None = None,
    n_jobs: int = -1,
) -> dict[str, float]:
    """dlib's keys for one training size from codes `(num_codes, N)` and factors `(F, N)`."""
    num_codes = codes.shape[0]
    if not 0 <= num_factors_to_remove < num_codes:
        raise ValueError(
            f"num_factors_to_remove must be in 0..{num_codes - 1} for {num_codes} codes, got "
            f"{num_factors_to_remove}"
        )
    correlation_measure = correlation_measure or make_correlation_measure()
    predictor_fn = predictor_fn or predictors.make_predictor_fn()
    first = (
        correlation_measure(codes, factors, codes_test, factors_test, random_state)
        if num_factors_to_remove
        else None
    )
    scores = {}
    for interest in range(factors.shape[0]):
        kept = np.arange(num_codes)
        for removal in range(num_factors_to_remove):
            if removal == 0:
                importance = first[:, interest]
            else:
                rows = slice(interest, interest + 1)
                importance = correlation_measure(
                    codes[kept], factors[rows], codes_test[kept], factors_test[rows], random_state
                )[:, 0]
            kept = np.delete(kept, int(np.argmax(importance)))
        accuracies = predictors.fit_factors(
            codes[kept], factors, [(codes_test[kept], factors_test)], predictor_fn,
            random_state, n_jobs,
        )  # fmt: skip
        for i, (train_acc, test_acc) in enumerate(accuracies):
            scores[f"{size}:train_accuracy_{i}_factor_of_interest_{interest}"] = float(train_acc)
            scores[f"{size}:test_accuracy_{i}_factor_of_interest_{interest}"] = float(test_acc)
    return scores
