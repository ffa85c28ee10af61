"""JEMMIG: joint entropy minus mutual information gap (Do & Tran, ICLR 2020).

Do & Tran, "Theory and Evaluation Metrics for Learning Disentangled Representations", the JEMMIG
definition of their metrics section: for factor y_k with i* = argmax_i I(z_i; y_k) and j° the
code of second largest I(z_j; y_k),

    JEMMIG(y_k) = H(z_i*, y_k) - I(z_i*; y_k) + I(z_j°; y_k),

with 0 <= JEMMIG(y_k) <= H(y_k) + log(#bins), which they use to normalize it to [0, 1] (lower is
better). H(z, y) - I(z; y) = H(z | y) + H(y | z) vanishes only when the best code and the factor
determine each other, so unlike MIG the score also checks that the code is not spread over
values the factor does not explain. Codes are discretized into `num_bins` equal-width bins over
their range (the 20-bin histogram MIG uses); H(z, y) = H(z) + H(y) - I(z; y).

Keys: `jemmig` = mean over factors of JEMMIG(y_k) / (H(y_k) + log(#bins)) (the paper's normalized
value, lower is better) and `jemmig_score` = 1 - `jemmig`, so perfect codes score 1 and codes
independent of the factors that fill their bins uniformly score about 0 (codes that fill their
bins unevenly, e.g. Gaussian, have H(z) < log(#bins) and score a little above 0).
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
        "jemmig": {
            "num_train": {"kind": "int", "positive": True},
            "num_bins": {"kind": "int", "positive": True},
            "batch_size": {"kind": "int", "positive": True},
        }
    },
)


@gin.configurable(
    "jemmig",
    denylist=["ground_truth_data", "representation_function", "random_state", "artifact_dir"],
)
def compute_jemmig(
    ground_truth_data: GroundTruthData,
    representation_function: utils.RepresentationFunction,
    random_state: np.random.RandomState,
    artifact_dir: str | None = None,
    num_train: int = 10000,
    num_bins: int = 20,
    batch_size: int = utils.DEFAULT_ENCODE_BATCH,
) -> dict[str, float]:
    """Samples `num_train` points, encodes them and scores JEMMIG.

    Args:
        ground_truth_data: the dataset.
        representation_function: `(B, H, W, C)` observations -> `(B, num_codes)` codes.
        random_state: source of all randomness.
        artifact_dir: unused (dlib signature).
        num_train: number of points.
        num_bins: histogram bins per code (also the log(#bins) of the normalization).
        batch_size: observations per encoder call.

    Returns:
        `{"jemmig", "jemmig_score"}` and `jemmig.factor_k` (normalized, lower is better).
    """
    gin_validation.check_parameters("jemmig", locals(), _GIN_RULES["jemmig"])
    del artifact_dir
    codes, factors = utils.generate_batch_factor_code(
        ground_truth_data, representation_function, num_train, random_state, batch_size
    )
    return _compute_jemmig(codes, factors, num_bins)


def _compute_jemmig(codes: np.ndarray, factors: np.ndarray, num_bins: int = 20) -> dict[str, float]:
    """JEMMIG of continuous codes `(num_codes, N)` against int factors `(num_factors, N)`."""
    codes, factors = _check(codes, factors)
    return jemmig_from_discrete(utils.histogram_discretize(codes, num_bins), factors, num_bins)


def jemmig_from_discrete(
    discrete_codes: np.ndarray, factors: np.ndarray, num_bins: int
) -> dict[str, float]:
    """JEMMIG of codes `(num_codes, N)` with values in `num_bins` bins against factors."""
    if discrete_codes.shape[0] < 2:
        raise ValueError(f"JEMMIG needs at least 2 codes, got {discrete_codes.shape[0]}")
    entropy = _entropy(factors)
    mutual_info = utils.discrete_mutual_info(discrete_codes, factors)  # (codes, factors)
    code_entropy = utils.discrete_entropy(discrete_codes)
    order = np.argsort(-mutual_info, axis=0, kind="stable")
    best, second = order[0], order[1]
    columns = np.arange(factors.shape[0])
    best_mi = mutual_info[best, columns]
    joint = code_entropy[best] + entropy - best_mi
    raw = joint - best_mi + mutual_info[second, columns]
    per_factor = raw / (entropy + np.log(num_bins))
    normalized = float(np.mean(per_factor))
    scores = {"jemmig": normalized, "jemmig_score": 1.0 - normalized}
    scores.update({f"jemmig.factor_{k}": float(v) for k, v in enumerate(per_factor)})
    return scores
