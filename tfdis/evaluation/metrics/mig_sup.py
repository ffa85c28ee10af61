"""MIG-sup: the mutual information gap per latent dimension over factors (Li et al., 2020).

Li, Murkute, Gyawali & Wang, "Progressive Learning and Disentanglement of Hierarchical
Representations" (ICLR 2020), the MIG-sup equation of their metric section:

    MIG-sup = 1/J sum_j ( I_n(z_j; v_{k1(j)}) - I_n(z_j; v_{k2(j)}) ),  I_n(z; v) = I(z; v) / H(v),

where k1(j), k2(j) are the factors with the largest and second largest normalized mutual
information with code z_j. MIG (Chen et al.) asks that each factor be captured by one code;
MIG-sup asks the converse, that each code capture one factor, so a code that mixes two factors
scores 0 while a duplicated code is not penalized. Mutual information is estimated as for MIG:
codes discretized by the gin-bound `discretizer` (20-bin histogram), factors as labels.
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
        "mig_sup": {
            "num_train": {"kind": "int", "positive": True},
            "batch_size": {"kind": "int", "positive": True},
        }
    },
)


@gin.configurable(
    "mig_sup",
    denylist=["ground_truth_data", "representation_function", "random_state", "artifact_dir"],
)
def compute_mig_sup(
    ground_truth_data: GroundTruthData,
    representation_function: utils.RepresentationFunction,
    random_state: np.random.RandomState,
    artifact_dir: str | None = None,
    num_train: int = 10000,
    batch_size: int = utils.DEFAULT_ENCODE_BATCH,
) -> dict[str, float]:
    """Samples `num_train` points, encodes them and scores MIG-sup.

    Args:
        ground_truth_data: the dataset.
        representation_function: `(B, H, W, C)` observations -> `(B, num_codes)` codes.
        random_state: source of all randomness.
        artifact_dir: unused (dlib signature).
        num_train: number of points.
        batch_size: observations per encoder call.

    Returns:
        `{"mig_sup": float}` and `mig_sup.code_i` per code.
    """
    gin_validation.check_parameters("mig_sup", locals(), _GIN_RULES["mig_sup"])
    del artifact_dir
    codes, factors = utils.generate_batch_factor_code(
        ground_truth_data, representation_function, num_train, random_state, batch_size
    )
    return _compute_mig_sup(codes, factors)


def _compute_mig_sup(codes: np.ndarray, factors: np.ndarray) -> dict[str, float]:
    """MIG-sup of continuous codes `(num_codes, N)` against int factors `(num_factors, N)`."""
    codes, factors = _check(codes, factors)
    return mig_sup_from_discrete(utils.make_discretizer(codes), factors)


def mig_sup_from_discrete(discrete_codes: np.ndarray, factors: np.ndarray) -> dict[str, float]:
    """MIG-sup of discrete codes `(num_codes, N)` against factors `(num_factors, N)`."""
    if factors.shape[0] < 2:
        raise ValueError(f"MIG-sup needs at least 2 factors, got {factors.shape[0]}")
    normalized = utils.discrete_mutual_info(discrete_codes, factors) / _entropy(factors)
    top_two = -np.sort(-normalized, axis=1)[:, :2]
    per_code = top_two[:, 0] - top_two[:, 1]
    scores = {"mig_sup": float(np.mean(per_code))}
    scores.update({f"mig_sup.code_{i}": float(v) for i, v in enumerate(per_code)})
    return scores


def _entropy(factors: np.ndarray) -> np.ndarray:
    entropy = utils.discrete_entropy(factors)
    if np.any(entropy <= 0):
        constant = np.flatnonzero(entropy <= 0).tolist()
        raise ValueError(
            f"factors {constant} are constant in the sample; the score divides by H(v)"
        )
    return entropy


def _check(codes: np.ndarray, factors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    codes, factors = np.asarray(codes), np.asarray(factors)
    if codes.ndim != 2 or factors.ndim != 2 or codes.shape[1] != factors.shape[1]:
        raise ValueError(
            "codes (num_codes, N) and factors (num_factors, N) must be 2-D with equal N; "
            f"got {codes.shape} and {factors.shape}"
        )
    return codes, factors
