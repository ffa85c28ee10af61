"""Demographic-parity unfairness of downstream classifiers (dlib's `fairness`).

Locatello et al., "On the Fairness of Disentangled Representations" (NeurIPS 2019), Section 4.
One classifier per target factor i (`predictor.predictor_fn`) is trained on `num_train` codes.
For each sensitive factor j != i, `num_test_points_per_class` factor vectors are drawn once, and
for every value c of j the sensitive factor is set to c (an intervention), the images rendered
and encoded, and the predictions of i counted: `counts[:, c]` (predicted class x sensitive value).
With P(y_hat | do(j = c)) the column distributions and P(y_hat) the pooled one, the unfairness
of the pair is the total-variation distance to the pool (paper, Eq. 1),

    TV_c = 1/2 sum_k |P(y_hat = k | do(j = c)) - P(y_hat = k)|,
    mean_fairness[i, j] = sum_c w_c TV_c (w_c = share of points with j = c, here uniform),
    max_fairness[i, j] = max_c TV_c.

Result keys are dlib's, for `prefix` in ("mean_fairness", "max_fairness"): `<prefix>:pred<i>:sens<j>`
for i != j; per target `<prefix>:pred<i>:{mean,max}_sens` and per sensitive factor
`<prefix>:sens<j>:{mean,max}_pred` (over the other index); and the eight aggregates
`<prefix>:{mean,max}_sens:{mean,max}_pred` (a mean or max over sensitive factors of the
per-sensitive-factor mean or max) and `<prefix>:{mean,max}_pred:{mean,max}_sens`. The paper's
score is `mean_fairness:mean_pred:mean_sens`. dlib computes the distributions in float32; tfdis
in float64 (differences below 1e-7).
"""

from __future__ import annotations

import gin
import numpy as np

from tfdis.data.ground_truth_data import GroundTruthData, require_interventions
from tfdis.evaluation.metrics import downstream_task, predictors, utils
from tfdis.utils import gin_validation

# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "fairness": {
            "n_jobs": {"kind": "int"},
            "num_test_points_per_class": {"kind": "int", "positive": True},
            "num_train": {"kind": "int", "positive": True},
            "batch_size": {"kind": "int", "positive": True},
        }
    },
)


@gin.configurable(
    "fairness",
    denylist=["ground_truth_data", "representation_function", "random_state", "artifact_dir"],
)
def compute_fairness(
    ground_truth_data: GroundTruthData,
    representation_function: utils.RepresentationFunction,
    random_state: np.random.RandomState,
    artifact_dir: str | None = None,
    num_train: int = 10000,
    num_test_points_per_class: int = 100,
    batch_size: int = utils.DEFAULT_ENCODE_BATCH,
    n_jobs: int = -1,
) -> dict[str, float]:
    """Unfairness of per-factor classifiers under interventions on every other factor.

    Args:
        ground_truth_data: the dataset.
        representation_function: `(B, H, W, C)` observations -> `(B, num_codes)` codes.
        random_state: source of all randomness (also seeds the classifiers).
        artifact_dir: unused (dlib signature).
        num_train: training points of the classifiers (10000).
        num_test_points_per_class: factor vectors drawn per (target, sensitive) pair; each is
            rendered once per value of the sensitive factor (100).
        batch_size: observations per encoder call (speed only).
        n_jobs: parallel workers (-1: all cores), as in `predictors.score_fits`.

    Returns:
        dlib's keys (module docstring).
    """
    gin_validation.check_parameters("fairness", locals(), _GIN_RULES["fairness"])
    del artifact_dir
    require_interventions(ground_truth_data, "fairness")
    num_test_points_per_class = utils.check_positive_int(
        num_test_points_per_class, "num_test_points_per_class"
    )
    sizes = list(ground_truth_data.factors_num_values)
    codes, factors = utils.generate_batch_factor_code(
        ground_truth_data, representation_function, num_train, random_state, batch_size
    )
    models = predictors.fit_factor_models(
        codes, factors, predictors.make_predictor_fn(), random_state, n_jobs
    )
    num_factors = len(sizes)
    mean_fairness = np.zeros((num_factors, num_factors))
    max_fairness = np.zeros((num_factors, num_factors))
    for i in range(num_factors):
        for j in range(num_factors):
            if i == j:
                continue
            original = ground_truth_data.sample_factors(num_test_points_per_class, random_state)
            # All interventions of the pair at once: value c of j in rows c*n .. (c+1)*n - 1.
            intervened = np.tile(original, (sizes[j], 1))
            intervened[:, j] = np.repeat(np.arange(sizes[j]), num_test_points_per_class)
            pair_codes = downstream_task.encode_factors(
                ground_truth_data, representation_function, intervened, random_state, batch_size
            )
            predictions = np.asarray(models[i].predict(pair_codes.T)).astype(np.int64)
            counts = np.zeros((sizes[i], sizes[j]), dtype=np.int64)
            np.add.at(counts, (predictions, intervened[:, j]), 1)
            mean_fairness[i, j], max_fairness[i, j] = inter_group_fairness(counts)
    scores = compute_scores_dict(mean_fairness, "mean_fairness")
    scores.update(compute_scores_dict(max_fairness, "max_fairness"))
    return scores


def inter_group_fairness(counts: np.ndarray) -> tuple[float, float]:
    """Weighted-mean and max total variation of each sensitive group to the pooled predictions.

    Args:
        counts: `(num_classes, num_sensitive_values)` prediction counts.

    Returns:
        `(sum_c w_c TV_c, max_c TV_c)` with `w_c` the share of points in group c.
    """
    counts = np.asarray(counts, dtype=np.float64)
    per_group = counts.sum(axis=0)
    if np.any(per_group <= 0):
        raise ValueError("every sensitive group needs at least one prediction")
    pooled = counts.sum(axis=1) / counts.sum()
    distances = 0.5 * np.abs(counts / per_group - pooled[:, None]).sum(axis=0)
    weights = per_group / per_group.sum()
    return float(np.sum(weights * distances)), float(np.max(distances))


def compute_scores_dict(metric: np.ndarray, prefix: str) -> dict[str, float]:
    """dlib's aggregates of a `(num_factors, num_factors)` matrix [target i, sensitive j]."""
    num = metric.shape[0]
    off_diagonal = ~np.eye(num, dtype=bool)
    scores = {
        f"{prefix}:pred{i}:sens{j}": float(metric[i, j])
        for i in range(num)
        for j in range(num)
        if i != j
    }
    rows = [metric[i, off_diagonal[i]] for i in range(num)]  # fixed target, over sensitive
    columns = [metric[off_diagonal[:, j], j] for j in range(num)]  # fixed sensitive, over target
    for i, row in enumerate(rows):
        scores[f"{prefix}:pred{i}:mean_sens"] = float(np.mean(row))
        scores[f"{prefix}:pred{i}:max_sens"] = float(np.max(row))
    for j, column in enumerate(columns):
        scores[f"{prefix}:sens{j}:mean_pred"] = float(np.mean(column))
        scores[f"{prefix}:sens{j}:max_pred"] = float(np.max(column))
    column_means = [np.mean(c) for c in columns]
    column_maxs = [np.max(c) for c in columns]
    row_means = [np.mean(r) for r in rows]
    row_maxs = [np.max(r) for r in rows]
    scores[f"{prefix}:mean_sens:mean_pred"] = float(np.mean(column_means))
    scores[f"{prefix}:mean_sens:max_pred"] = float(np.mean(column_maxs))
    scores[f"{prefix}:max_sens:mean_pred"] = float(np.max(column_means))
    scores[f"{prefix}:max_sens:max_pred"] = float(np.max(column_maxs))
    scores[f"{prefix}:mean_pred:mean_sens"] = float(np.mean(row_means))
    scores[f"{prefix}:mean_pred:max_sens"] = float(np.mean(row_maxs))
    scores[f"{prefix}:max_pred:mean_sens"] = float(np.max(row_means))
    scores[f"{prefix}:max_pred:max_sens"] = float(np.max(row_maxs))
    return scores
