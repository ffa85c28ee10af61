"""BetaVAE score (Higgins et al., 2017) with a scikit-learn classifier (dlib's `beta_vae_sklearn`).

Each point fixes one random factor k across `batch_size` pairs of observations; its feature is
the mean absolute code difference over the pairs, its label k. A logistic regression predicts k;
the score is its accuracy (SPEC section 8).
"""

from __future__ import annotations

import gin
import numpy as np
from sklearn import linear_model

from tfdis.data.ground_truth_data import GroundTruthData, require_interventions
from tfdis.evaluation.metrics import utils
from tfdis.utils import gin_validation

# Points whose observation pairs are rendered and encoded together (2 * 64 * 16 = 2048 images).
_POINTS_PER_CALL = 16


# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "beta_vae_sklearn": {
            "batch_size": {"kind": "int", "positive": True},
            "num_train": {"kind": "int", "positive": True},
            "num_eval": {"kind": "int", "positive": True},
        }
    },
)


@gin.configurable(
    "beta_vae_sklearn",
    denylist=["ground_truth_data", "representation_function", "random_state", "artifact_dir"],
)
def compute_beta_vae_sklearn(
    ground_truth_data: GroundTruthData,
    representation_function: utils.RepresentationFunction,
    random_state: np.random.RandomState,
    artifact_dir: str | None = None,
    batch_size: int = 64,
    num_train: int = 10000,
    num_eval: int = 5000,
) -> dict[str, float]:
    """Samples training and evaluation points and scores the BetaVAE metric.

    Args:
        ground_truth_data: the dataset.
        representation_function: `(B, H, W, C)` observations -> `(B, num_codes)` codes.
        random_state: source of all randomness.
        artifact_dir: unused (dlib signature).
        batch_size: observation pairs averaged into one point (study value 64).
        num_train: training points (10000).
        num_eval: evaluation points (5000).

    Returns:
        `{"train_accuracy", "eval_accuracy"}`.
    """
    gin_validation.check_parameters("beta_vae_sklearn", locals(), _GIN_RULES["beta_vae_sklearn"])
    del artifact_dir
    require_interventions(ground_truth_data, "beta_vae_sklearn")
    train_points, train_labels = _generate_training_batch(
        ground_truth_data, representation_function, batch_size, num_train, random_state
    )
    eval_points, eval_labels = _generate_training_batch(
        ground_truth_data, representation_function, batch_size, num_eval, random_state
    )
    return _compute_beta_vae_sklearn(
        train_points, train_labels, eval_points, eval_labels, random_state
    )


def _compute_beta_vae_sklearn(
    train_points: np.ndarray,
    train_labels: np.ndarray,
    eval_points: np.ndarray,
    eval_labels: np.ndarray,
    random_state: np.random.RandomState,
) -> dict[str, float]:
    """Fits the classifier on `(num_train, num_codes)` features with int labels and scores it."""
    if len(np.unique(train_labels)) < 2:
        raise ValueError("beta_vae_sklearn needs training points of at least two factors")
    model = linear_model.LogisticRegression(random_state=random_state)
    model.fit(train_points, train_labels)
    return {
        "train_accuracy": float(np.mean(model.predict(train_points) == train_labels)),
        "eval_accuracy": float(np.mean(model.predict(eval_points) == eval_labels)),
    }


def _generate_training_batch(
    ground_truth_data: GroundTruthData,
    representation_function: utils.RepresentationFunction,
    batch_size: int,
    num_points: int,
    random_state: np.random.RandomState,
) -> tuple[np.ndarray, np.ndarray]:
    """Returns features `(num_points, num_codes)` and fixed-factor labels `(num_points,)`."""
    batch_size = utils.check_positive_int(batch_size, "batch_size")
    num_points = utils.check_positive_int(num_points, "num_points")
    features, labels = [], []
    for start in range(0, num_points, _POINTS_PER_CALL):
        num = min(_POINTS_PER_CALL, num_points - start)
        first, second = [], []
        for _ in range(num):
            index = random_state.randint(ground_truth_data.num_factors)
            factors1 = ground_truth_data.sample_factors(batch_size, random_state)
            factors2 = ground_truth_data.sample_factors(batch_size, random_state)
            factors2[:, index] = factors1[:, index]
            first.append(factors1)
            second.append(factors2)
            labels.append(index)
        factors = np.concatenate(first + second)
        observations = ground_truth_data.sample_observations_from_factors(factors, random_state)
        codes = utils.obtain_representation(observations, representation_function, len(factors)).T
        codes = codes.reshape(2, num, batch_size, -1)
        features.append(np.mean(np.abs(codes[0] - codes[1]), axis=1))
    return np.concatenate(features), np.asarray(labels)
