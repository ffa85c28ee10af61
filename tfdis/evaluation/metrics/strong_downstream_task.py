"""Strong generalization under covariate shift (dlib's `strong_downstream_task`).

Locatello et al., "A Sober Look at the Unsupervised Learning of Disentangled Representations
and their Evaluation" (JMLR 2020). For each training size n, one classifier per factor
(`predictor.predictor_fn`) is trained on n codes and tested on `num_test` (the plain downstream
task). Then, `n_experiment` times for each target factor i, an intervention: another factor j
(uniform over j != i) is fixed to one value v (uniform) in the whole training set, the test set
takes for j any value but v (uniform), and a classifier for i is trained and tested on the
shifted sets. Keys (dlib's):

    "<n>:mean_train_accuracy", "<n>:mean_test_accuracy"       (no intervention, mean over i)
    "<n>:mean_strong_train_accuracy", "<n>:mean_strong_test_accuracy"   (over i and repeats)
    "<n>:strong_generalization_gap" = 1 - mean_strong_test_accuracy / mean_test_accuracy.

dlib draws the interventions from numpy's global random generator, so its scores cannot be
reproduced from `evaluation.random_seed`; tfdis draws them from the metric's random state.
"""

from __future__ import annotations

from collections.abc import Sequence

import gin
import numpy as np

from tfdis.data.ground_truth_data import GroundTruthData, require_interventions
from tfdis.evaluation.metrics import downstream_task, predictors, utils
from tfdis.utils import gin_validation

# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "strong_downstream_task": {
            "n_jobs": {"kind": "int"},
            "num_train": {"kind": "int_or_ints", "positive": True},
            "n_experiment": {"kind": "int", "positive": True},
            "num_test": {"kind": "int", "positive": True},
            "batch_size": {"kind": "int", "positive": True},
        }
    },
)


@gin.configurable(
    "strong_downstream_task",
    denylist=["ground_truth_data", "representation_function", "random_state", "artifact_dir"],
)
def compute_strong_downstream_task(
    ground_truth_data: GroundTruthData,
    representation_function: utils.RepresentationFunction,
    random_state: np.random.RandomState,
    artifact_dir: str | None = None,
    num_train: Sequence[int] | int = (1000,),
    num_test: int = 1000,
    n_experiment: int = 10,
    batch_size: int = utils.DEFAULT_ENCODE_BATCH,
    n_jobs: int = -1,
) -> dict[str, float]:
    """Downstream accuracy with and without an intervention that shifts one other factor.

    Args:
        ground_truth_data: the dataset (at least two factors).
        representation_function: `(B, H, W, C)` observations -> `(B, num_codes)` codes.
        random_state: source of all randomness (also seeds the classifiers).
        artifact_dir: unused (dlib signature).
        num_train: training sizes.
        num_test: test points per training size.
        n_experiment: interventions per target factor.
        batch_size: observations per encoder call (speed only).
        n_jobs: parallel workers (-1: all cores), as in `predictors.score_fits`.

    Returns:
        dlib's keys (module docstring).
    """
    gin_validation.check_parameters(
        "strong_downstream_task", locals(), _GIN_RULES["strong_downstream_task"]
    )
    del artifact_dir
    require_interventions(ground_truth_data, "strong_downstream_task")
    n_experiment = utils.check_positive_int(n_experiment, "n_experiment")
    sizes = list(ground_truth_data.factors_num_values)
    if len(sizes) < 2 or all(size < 2 for size in sizes):
        raise ValueError("strong_downstream_task needs a second factor with two values")
    predictor_fn = predictors.make_predictor_fn()

    def encode(factors: np.ndarray) -> np.ndarray:
        return downstream_task.encode_factors(
            ground_truth_data, representation_function, factors, random_state, batch_size
        ).T

    scores = {}
    for size in [num_train] if isinstance(num_train, int) else list(num_train):
        factors_train = ground_truth_data.sample_factors(size, random_state)
        factors_test = ground_truth_data.sample_factors(num_test, random_state)
        x_train, x_test = encode(factors_train), encode(factors_test)
        plain = predictors.score_fits(
            [
                (x_train, factors_train[:, i], [(x_test, factors_test[:, i])])
                for i in range(len(sizes))
            ],
            predictor_fn, random_state, n_jobs,
        )  # fmt: skip
        tasks = []
        for i in range(len(sizes)):
            others = [j for j in range(len(sizes)) if j != i and sizes[j] > 1]
            for _ in range(n_experiment):
                shifted_train, shifted_test = intervene(
                    factors_train, factors_test, others, sizes, random_state
                )
                tasks.append(
                    (
                        encode(shifted_train),
                        shifted_train[:, i],
                        [(encode(shifted_test), shifted_test[:, i])],
                    )
                )
        strong = predictors.score_fits(tasks, predictor_fn, random_state, n_jobs)
        mean_test = float(np.mean(plain[:, 1]))
        mean_strong_test = float(np.mean(strong[:, 1]))
        scores[f"{size}:mean_train_accuracy"] = float(np.mean(plain[:, 0]))
        scores[f"{size}:mean_test_accuracy"] = mean_test
        scores[f"{size}:mean_strong_train_accuracy"] = float(np.mean(strong[:, 0]))
        scores[f"{size}:mean_strong_test_accuracy"] = mean_strong_test
        scores[f"{size}:strong_generalization_gap"] = (
            1.0 - mean_strong_test / mean_test if mean_test > 0 else float("nan")
        )
    return scores


def intervene(
    factors_train: np.ndarray,
    factors_test: np.ndarray,
    candidates: Sequence[int],
    sizes: Sequence[int],
    random_state: np.random.RandomState,
) -> tuple[np.ndarray, np.ndarray]:
    """Copies of `(N, F)` and `(M, F)` factors with one factor j (drawn from `candidates`) set
    to one value v in training and to values other than v (uniform) in test."""
    if not candidates:
        raise ValueError("no other factor with two values to intervene on")
    j = candidates[random_state.randint(len(candidates))]
    value = random_state.randint(sizes[j])
    train, test = factors_train.copy(), factors_test.copy()
    train[:, j] = value
    others = np.delete(np.arange(sizes[j]), value)
    test[:, j] = others[random_state.randint(len(others), size=len(test))]
    return train, test
