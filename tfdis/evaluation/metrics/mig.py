"""Mutual Information Gap with a histogram discretizer (dlib's `mig`; SPEC section 8).

MIG = mean over factors k of (I(c_a; v_k) - I(c_b; v_k)) / H(v_k), where c_a, c_b are the two
discretized codes with the largest mutual information with factor v_k (Chen et al., 2018).
"""

from __future__ import annotations

import gin
import numpy as np

from tfdis.data.ground_truth_data import GroundTruthData
from tfdis.evaluation.metrics import utils
from tfdis.utils import gin_validation

# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "mig": {
            "num_train": {"kind": "int", "positive": True},
            "batch_size": {"kind": "int", "positive": True},
        }
    },
)


@gin.configurable(
    "mig",
    denylist=["ground_truth_data", "representation_function", "random_state", "artifact_dir"],
)
def compute_mig(
    ground_truth_data: GroundTruthData,
    representation_function: utils.RepresentationFunction,
    random_state: np.random.RandomState,
    artifact_dir: str | None = None,
    num_train: int = 10000,
    batch_size: int = utils.DEFAULT_ENCODE_BATCH,
) -> dict[str, float]:
    """Samples `num_train` points, encodes them and scores MIG.

    Args:
        ground_truth_data: the dataset.
        representation_function: `(B, H, W, C)` observations -> `(B, num_codes)` codes.
        random_state: source of all randomness.
        artifact_dir: unused (dlib signature).
        num_train: number of points (study value 10000).
        batch_size: observations per encoder call (speed only).

    Returns:
        `{"discrete_mig": float}`.
    """
    gin_validation.check_parameters("mig", locals(), _GIN_RULES["mig"])
    del artifact_dir
    codes, factors = utils.generate_batch_factor_code(
        ground_truth_data, representation_function, num_train, random_state, batch_size
    )
    return _compute_mig(codes, factors)


def _compute_mig(codes: np.ndarray, factors: np.ndarray) -> dict[str, float]:
    """MIG of continuous codes `(num_codes, N)` against int factors `(num_factors, N)`.

    The codes are discretized with the gin-bound `discretizer` (20-bin histogram by default).
    """
    codes, factors = np.asarray(codes), np.asarray(factors)
    if codes.ndim != 2 or factors.ndim != 2 or codes.shape[1] != factors.shape[1]:
        raise ValueError(
            "codes (num_codes, N) and factors (num_factors, N) must be 2-D with equal N; "
            f"got {codes.shape} and {factors.shape}"
        )
    discretized = utils.make_discretizer(codes)
    return {"discrete_mig": _mig_from_discrete(discretized, factors)}


def _mig_from_discrete(discrete_codes: np.ndarray, factors: np.ndarray) -> float:
    """MIG of already-discrete codes `(num_codes, N)` against factors `(num_factors, N)`."""
    if discrete_codes.shape[0] < 2:
        raise ValueError(f"MIG needs at least 2 codes, got {discrete_codes.shape[0]}")
    mutual_info = utils.discrete_mutual_info(discrete_codes, factors)
    entropy = utils.discrete_entropy(factors)
    if np.any(entropy <= 0):
        constant = np.flatnonzero(entropy <= 0).tolist()
        raise ValueError(f"factors {constant} are constant in the sample; MIG divides by H(v)")
    top_two = -np.sort(-mutual_info, axis=0)[:2]
    return float(np.mean((top_two[0] - top_two[1]) / entropy))
