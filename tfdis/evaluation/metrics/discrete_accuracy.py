"""Unsupervised classification accuracy of a model's categorical code (CascadeVAE, JointVAE).

The category (argmax of the code's logits) is matched one-to-one to the values of a ground-truth
factor by the matching that maximizes agreement (Hungarian algorithm on the K x V contingency
table); the accuracy is the fraction of observations whose matched category equals the factor
value. With K > V, the unmatched categories count as errors; chance is about 1 / max(K, V) for
balanced classes. This is the score JointVAE and CascadeVAE report on MNIST.
"""

from __future__ import annotations

import gin
import numpy as np
from scipy import optimize

from tfdis.data.ground_truth_data import GroundTruthData
from tfdis.evaluation.metrics import protocols
from tfdis.utils import gin_validation

# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "discrete_accuracy": {
            "num_samples": {"kind": "int", "positive": True},
            "factor_index": {"kind": "int", "minimum": 0},
            "batch_size": {"kind": "int", "positive": True},
        }
    },
)


@gin.configurable(
    "discrete_accuracy",
    denylist=["ground_truth_data", "posterior_encoder", "random_state", "artifact_dir"],
)
def compute_discrete_accuracy(
    ground_truth_data: GroundTruthData,
    posterior_encoder: protocols.PosteriorEncoder,
    random_state: np.random.RandomState,
    artifact_dir: str | None = None,
    num_samples: int = 10000,
    factor_index: int = 0,
    batch_size: int = 1024,
) -> dict[str, float]:
    """Samples observations and scores their categories against factor `factor_index`.

    Args:
        ground_truth_data: the dataset (for digits and MNIST, factor 0 is the class).
        posterior_encoder: must have `discrete_logits(observations) -> (B, K)`.
        random_state: source of the samples.
        artifact_dir: unused.
        num_samples: observations scored.
        factor_index: the factor the categories are matched to.
        batch_size: observations per encoder call.

    Returns:
        `{"accuracy", "num_categories_used"}`.
    """
    gin_validation.check_parameters("discrete_accuracy", locals(), _GIN_RULES["discrete_accuracy"])
    del artifact_dir
    logits_fn = protocols.discrete_logits_fn(posterior_encoder)
    if logits_fn is None:
        raise ValueError(
            "discrete_accuracy needs a model with one categorical code (CascadeVAE, JointVAE, "
            "InfoGAN); this model has none"
        )
    if not 0 <= factor_index < ground_truth_data.num_factors:
        raise ValueError(
            f"discrete_accuracy.factor_index={factor_index} is not a factor of a dataset with "
            f"{ground_truth_data.num_factors} factors"
        )
    factors, observations = ground_truth_data.sample(num_samples, random_state)
    categories = np.concatenate(
        [
            np.argmax(np.asarray(logits_fn(observations[s : s + batch_size])), axis=1)
            for s in range(0, num_samples, batch_size)
        ]
    )
    return {
        "accuracy": _matched_accuracy(categories, factors[:, factor_index]),
        "num_categories_used": float(len(np.unique(categories))),
    }


def _matched_accuracy(categories: np.ndarray, labels: np.ndarray) -> float:
    """Accuracy `[0, 1]` of int `categories` `(N,)` against `labels` `(N,)` under the best
    one-to-one matching of category values to label values."""
    categories = np.asarray(categories, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    if categories.shape != labels.shape or categories.ndim != 1:
        raise ValueError(
            f"categories and labels must be equal (N,); got {categories.shape}, {labels.shape}"
        )
    if len(categories) == 0:
        return 0.0
    _, cat_index = np.unique(categories, return_inverse=True)
    _, label_index = np.unique(labels, return_inverse=True)
    table = np.zeros((cat_index.max() + 1, label_index.max() + 1), dtype=np.int64)
    np.add.at(table, (cat_index, label_index), 1)
    rows, cols = optimize.linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / len(categories))
