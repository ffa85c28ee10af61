"""DCIMIG (Sepliarskaia, Kiseleva & de Rijke, "Evaluating Disentangled Representations", 2019).

Their definition (the DCIMIG section), with I the mutual information of a discretized code and a
factor:

    for each code z_i:  l_i = argmax_k I(z_i; v_k),
                        R_i = I(z_i; v_{l_i}) - max_{k != l_i} I(z_i; v_k)       (the code's gap)
    for each factor k:  S_k = max_{i : l_i = k} R_i   (0 if no code's best factor is k)
    DCIMIG = sum_k S_k / sum_k H(v_k).

It combines MIG's gap with DCI's one-code-one-factor view: a code that mixes factors has a small
gap, a factor no code singles out contributes 0, and each factor is credited with its best code
only (so duplicates neither help nor hurt). Perfect codes score 1. Mutual information as MIG:
the gin-bound `discretizer` (20-bin histogram) on the codes.
"""

from __future__ import annotations

import gin
import numpy as np

from tfdis.data.ground_truth_data import GroundTruthData
from tfdis.evaluation.metrics import utils
from tfdis.evaluation.metrics.mig_sup import _check, _entropy
from tfdis.utils import gin_validation

# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "dcimig": {
            "num_train": {"kind": "int", "positive": True},
            "batch_size": {"kind": "int", "positive": True},
        }
    },
)


@gin.configurable(
    "dcimig",
    denylist=["ground_truth_data", "representation_function", "random_state", "artifact_dir"],
)
def compute_dcimig(
    ground_truth_data: GroundTruthData,
    representation_function: utils.RepresentationFunction,
    random_state: np.random.RandomState,
    artifact_dir: str | None = None,
    num_train: int = 10000,
    batch_size: int = utils.DEFAULT_ENCODE_BATCH,
) -> dict[str, float]:
    """Samples `num_train` points, encodes them and scores DCIMIG.

    Args:
        ground_truth_data: the dataset.
        representation_function: `(B, H, W, C)` observations -> `(B, num_codes)` codes.
        random_state: source of all randomness.
        artifact_dir: unused (dlib signature).
        num_train: number of points.
        batch_size: observations per encoder call.

    Returns:
        `{"dcimig": float}` and `dcimig.factor_k` (S_k / H(v_k)) per factor.
    """
    gin_validation.check_parameters("dcimig", locals(), _GIN_RULES["dcimig"])
    del artifact_dir
    codes, factors = utils.generate_batch_factor_code(
        ground_truth_data, representation_function, num_train, random_state, batch_size
    )
    return _compute_dcimig(codes, factors)


def _compute_dcimig(codes: np.ndarray, factors: np.ndarray) -> dict[str, float]:
    """DCIMIG of continuous codes `(num_codes, N)` against int factors `(num_factors, N)`."""
    codes, factors = _check(codes, factors)
    return dcimig_from_discrete(utils.make_discretizer(codes), factors)


def dcimig_from_discrete(discrete_codes: np.ndarray, factors: np.ndarray) -> dict[str, float]:
    """DCIMIG of discrete codes `(num_codes, N)` against factors `(num_factors, N)`."""
    if factors.shape[0] < 2:
        raise ValueError(f"DCIMIG needs at least 2 factors, got {factors.shape[0]}")
    entropy = _entropy(factors)
    mutual_info = utils.discrete_mutual_info(discrete_codes, factors)
    best = np.argmax(mutual_info, axis=1)
    top_two = -np.sort(-mutual_info, axis=1)[:, :2]
    gaps = top_two[:, 0] - top_two[:, 1]
    per_factor = np.zeros(factors.shape[0])
    np.maximum.at(per_factor, best, gaps)
    scores = {"dcimig": float(per_factor.sum() / entropy.sum())}
    scores.update({f"dcimig.factor_{k}": float(v) for k, v in enumerate(per_factor / entropy)})
    return scores
