"""Interventional Robustness Score (Suter et al., 2019; dlib's `irs`; SPEC section 8).

For each factor j and value v, the `diff_quantile` quantile of |z - E[z | v_j = v]| over the group,
averaged over values, is each code's deviation under changes of the other factors; divided by the
code's largest deviation from its mean, IRS_ij = 1 - that ratio. A code's score is its best
IRS_ij; the result averages them weighted by the codes' largest deviations.
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
        "irs": {
            "diff_quantile": {"kind": "number", "minimum": 0, "maximum": 1},
            "num_train": {"kind": "int", "positive": True},
            "batch_size": {"kind": "int", "positive": True},
        }
    },
)


@gin.configurable(
    "irs",
    denylist=["ground_truth_data", "representation_function", "random_state", "artifact_dir"],
)
def compute_irs(
    ground_truth_data: GroundTruthData,
    representation_function: utils.RepresentationFunction,
    random_state: np.random.RandomState,
    artifact_dir: str | None = None,
    diff_quantile: float = 0.99,
    num_train: int = 10000,
    batch_size: int = utils.DEFAULT_ENCODE_BATCH,
) -> dict[str, float]:
    """Samples codes and computes IRS.

    Returns:
        `{"IRS": float, "num_active_dims": number of non-constant codes}`.
    """
    gin_validation.check_parameters("irs", locals(), _GIN_RULES["irs"])
    del artifact_dir
    codes, factors = utils.generate_batch_factor_code(
        ground_truth_data, representation_function, num_train, random_state, batch_size
    )
    return _compute_irs(codes, factors, diff_quantile)


def _compute_irs(codes: np.ndarray, factors: np.ndarray, diff_quantile: float = 0.99):
    """IRS of codes `(num_codes, N)` against factors `(num_factors, N)` (discretized as dlib)."""
    if not 0.0 <= diff_quantile <= 1.0:
        raise ValueError(f"diff_quantile must be in [0, 1], got {diff_quantile}")
    codes = np.asarray(codes, dtype=np.float64)
    if codes.ndim != 2:
        raise ValueError(f"codes must be (num_codes, N), got shape {codes.shape}")
    factors_discrete = utils.make_discretizer(factors)
    active = codes[codes.var(axis=1) > 0.0]
    if not len(active):
        return {"IRS": 0.0, "num_active_dims": 0.0}
    score = scalable_disentanglement_score(factors_discrete.T, active.T, diff_quantile)
    return {"IRS": float(score["avg_score"]), "num_active_dims": float(len(active))}


def scalable_disentanglement_score(
    gen_factors: np.ndarray, latents: np.ndarray, diff_quantile: float = 0.99
) -> dict[str, np.ndarray]:
    """IRS details for factors `(N, num_factors)` and latents `(N, num_codes)` (dlib's layout).

    Returns:
        dict with `disentanglement_scores` `(num_codes,)`, `avg_score`, `parents` (best factor of
        each code), `IRS_matrix` `(num_codes, num_factors)` and `max_deviations` `(num_codes,)`.
    """
    num_factors, num_codes = gen_factors.shape[1], latents.shape[1]
    max_deviations = np.max(np.abs(latents - latents.mean(axis=0)), axis=0)
    cum_deviations = np.zeros((num_codes, num_factors))
    for j in range(num_factors):
        values = np.unique(gen_factors[:, j])
        for value in values:
            group = latents[gen_factors[:, j] == value]
            diffs = np.abs(group - group.mean(axis=0))
            cum_deviations[:, j] += np.percentile(diffs, q=diff_quantile * 100, axis=0)
        cum_deviations[:, j] /= len(values)
    irs_matrix = 1.0 - cum_deviations / max_deviations[:, None]
    scores = irs_matrix.max(axis=1)
    if np.sum(max_deviations) > 0.0:
        avg_score = np.average(scores, weights=max_deviations)
    else:
        avg_score = np.mean(scores)
    return {
        "disentanglement_scores": scores,
        "avg_score": avg_score,
        "parents": irs_matrix.argmax(axis=1),
        "IRS_matrix": irs_matrix,
        "max_deviations": max_deviations,
    }
