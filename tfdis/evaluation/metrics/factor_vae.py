"""FactorVAE score (Kim & Mnih, 2018; dlib's `factor_vae_score`; SPEC section 8).

Codes are scaled by their global standard deviation; dimensions with standard deviation below
`prune_dims.threshold` are dropped. Each vote fixes one factor over `batch_size` observations and
votes for the active dimension of least scaled variance. A majority-vote classifier maps each
dimension to a factor; the score is the fraction of votes it gets right.
"""

from __future__ import annotations

import gin
import numpy as np

from tfdis.data.ground_truth_data import GroundTruthData, require_interventions
from tfdis.evaluation.metrics import utils
from tfdis.utils import gin_validation

_POINTS_PER_CALL = 32


# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "factor_vae_score": {
            "batch_size": {"kind": "int", "positive": True},
            "num_train": {"kind": "int", "positive": True},
            "num_eval": {"kind": "int", "positive": True},
            "num_variance_estimate": {"kind": "int", "positive": True},
        },
        "prune_dims": {"threshold": {"kind": "number", "minimum": 0}},
    },
)


@gin.configurable(
    "factor_vae_score",
    denylist=["ground_truth_data", "representation_function", "random_state", "artifact_dir"],
)
def compute_factor_vae(
    ground_truth_data: GroundTruthData,
    representation_function: utils.RepresentationFunction,
    random_state: np.random.RandomState,
    artifact_dir: str | None = None,
    batch_size: int = 64,
    num_train: int = 10000,
    num_eval: int = 5000,
    num_variance_estimate: int = 10000,
) -> dict[str, float]:
    """Samples votes and scores the FactorVAE metric.

    Args:
        ground_truth_data: the dataset.
        representation_function: `(B, H, W, C)` observations -> `(B, num_codes)` codes.
        random_state: source of all randomness.
        artifact_dir: unused (dlib signature).
        batch_size: observations per vote (64).
        num_train: training votes (10000).
        num_eval: evaluation votes (5000).
        num_variance_estimate: observations for the global variances (10000).

    Returns:
        `{"train_accuracy", "eval_accuracy", "num_active_dims"}`.
    """
    gin_validation.check_parameters("factor_vae_score", locals(), _GIN_RULES["factor_vae_score"])
    del artifact_dir
    require_interventions(ground_truth_data, "factor_vae_score")
    batch_size = utils.check_positive_int(batch_size, "batch_size")
    if batch_size < 2:
        raise ValueError(f"batch_size must be at least 2 to estimate a variance, got {batch_size}")
    observations = ground_truth_data.sample_observations(
        utils.check_positive_int(num_variance_estimate, "num_variance_estimate"), random_state
    )
    codes = utils.obtain_representation(observations, representation_function)
    global_variances = np.var(codes, axis=1, ddof=1)
    active_dims = prune_dims(global_variances)
    if not active_dims.any():
        return {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0.0}
    train_votes = _generate_votes(
        ground_truth_data, representation_function, batch_size, num_train, random_state,
        global_variances, active_dims,
    )  # fmt: skip
    eval_votes = _generate_votes(
        ground_truth_data, representation_function, batch_size, num_eval, random_state,
        global_variances, active_dims,
    )  # fmt: skip
    scores = _compute_factor_vae(train_votes, eval_votes)
    scores["num_active_dims"] = float(np.sum(active_dims))
    return scores


@gin.configurable("prune_dims", denylist=["variances"])
def prune_dims(variances: np.ndarray, threshold: float = 0.05) -> np.ndarray:
    """Boolean mask `(num_codes,)` of dimensions whose standard deviation is >= `threshold`."""
    gin_validation.check_parameters("prune_dims", locals(), _GIN_RULES["prune_dims"])
    return np.sqrt(np.asarray(variances)) >= threshold


def _compute_factor_vae(train_votes: np.ndarray, eval_votes: np.ndarray) -> dict[str, float]:
    """Majority-vote accuracies from vote counts.

    Args:
        train_votes: int `(num_factors, num_codes)`, `votes[k, j]` = votes where factor k was
            fixed and dimension j had the least scaled variance.
        eval_votes: same shape, held-out votes.

    Returns:
        `{"train_accuracy", "eval_accuracy"}`: each dimension is classified as the factor with
        most training votes (ties to the lower index).
    """
    train_votes, eval_votes = np.asarray(train_votes), np.asarray(eval_votes)
    if train_votes.ndim != 2 or train_votes.shape != eval_votes.shape:
        raise ValueError(
            "train_votes and eval_votes must be (num_factors, num_codes) arrays of equal shape; "
            f"got {train_votes.shape} and {eval_votes.shape}"
        )
    classifier = np.argmax(train_votes, axis=0)
    columns = np.arange(train_votes.shape[1])
    return {
        "train_accuracy": float(np.sum(train_votes[classifier, columns]) / np.sum(train_votes)),
        "eval_accuracy": float(np.sum(eval_votes[classifier, columns]) / np.sum(eval_votes)),
    }


def _votes_from_codes(
    codes: np.ndarray,
    factor_indices: np.ndarray,
    global_variances: np.ndarray,
    active_dims: np.ndarray,
    num_factors: int,
) -> np.ndarray:
    """Counts votes from per-vote code batches.

    Args:
        codes: `(num_votes, batch_size, num_codes)` codes of each vote's observations.
        factor_indices: `(num_votes,)` factor fixed in each vote.
        global_variances: `(num_codes,)` variances over the dataset.
        active_dims: `(num_codes,)` boolean mask of kept dimensions.
        num_factors: number of factors.

    Returns:
        int `(num_factors, num_codes)` vote counts (the argmin is a full code index).
    """
    active = np.flatnonzero(active_dims)
    local = np.var(codes[:, :, active], axis=1, ddof=1)
    argmin = active[np.argmin(local / global_variances[active], axis=1)]
    votes = np.zeros((num_factors, codes.shape[2]), dtype=np.int64)
    np.add.at(votes, (factor_indices, argmin), 1)
    return votes


def _generate_votes(
    ground_truth_data: GroundTruthData,
    representation_function: utils.RepresentationFunction,
    batch_size: int,
    num_points: int,
    random_state: np.random.RandomState,
    global_variances: np.ndarray,
    active_dims: np.ndarray,
) -> np.ndarray:
    """Samples `num_points` votes; returns counts `(num_factors, num_codes)`."""
    num_points = utils.check_positive_int(num_points, "num_points")
    votes = np.zeros((ground_truth_data.num_factors, len(global_variances)), dtype=np.int64)
    for start in range(0, num_points, _POINTS_PER_CALL):
        num = min(_POINTS_PER_CALL, num_points - start)
        indices, factors = [], []
        for _ in range(num):
            index = random_state.randint(ground_truth_data.num_factors)
            batch = ground_truth_data.sample_factors(batch_size, random_state)
            batch[:, index] = batch[0, index]
            indices.append(index)
            factors.append(batch)
        factors = np.concatenate(factors)
        observations = ground_truth_data.sample_observations_from_factors(factors, random_state)
        codes = utils.obtain_representation(observations, representation_function, len(factors))
        votes += _votes_from_codes(
            codes.T.reshape(num, batch_size, -1),
            np.asarray(indices),
            global_variances,
            active_dims,
            ground_truth_data.num_factors,
        )
    return votes
