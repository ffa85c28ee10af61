"""Total correlation of mean and of sampled representations (RTC paper; SPEC sections 6 and 8).

Both use the Gaussian closed form (Prop. 1): TC = 1/2 (sum log diag C - log det C) for the
covariance C of `num_points` encoded means (TC_mean) or posterior samples (TC_sample).
"""

from __future__ import annotations

import gin
import numpy as np

from tfdis.data.ground_truth_data import GroundTruthData
from tfdis.evaluation.metrics import protocols
from tfdis.evaluation.metrics.unsupervised import gaussian_total_correlation
from tfdis.utils import gin_validation

# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "tc_mean_sample": {
            "num_points": {"kind": "int", "positive": True},
            "batch_size": {"kind": "int", "positive": True},
        }
    },
)


@gin.configurable(
    "tc_mean_sample",
    denylist=["ground_truth_data", "posterior_encoder", "random_state", "artifact_dir"],
)
def compute_tc_mean_sample(
    ground_truth_data: GroundTruthData,
    posterior_encoder: protocols.PosteriorEncoder,
    random_state: np.random.RandomState,
    artifact_dir: str | None = None,
    num_points: int = 5000,
    batch_size: int = 1024,
) -> dict[str, float]:
    """Encodes `num_points` observations and returns `{"tc_mean", "tc_sample"}` in nats."""
    gin_validation.check_parameters("tc_mean_sample", locals(), _GIN_RULES["tc_mean_sample"])
    del artifact_dir
    if num_points < 2:
        raise ValueError(
            f"num_points must be at least 2 to estimate a covariance, got {num_points}"
        )
    observations = ground_truth_data.sample_observations(num_points, random_state)
    means, _ = protocols.encode_in_batches(posterior_encoder, observations, batch_size)
    seed = int(random_state.randint(2**31 - 1 - num_points))
    samples = protocols.sample_in_batches(posterior_encoder, observations, seed, batch_size)
    return _compute_tc_mean_sample(means, samples)


def _compute_tc_mean_sample(means: np.ndarray, samples: np.ndarray) -> dict[str, float]:
    """Gaussian TC of means `(N, d)` and of samples `(N, d)`.

    A dimension whose means are exactly constant (a collapsed unit) is independent of the others
    and adds nothing; it is dropped from TC_mean instead of making the covariance singular.
    """
    means, samples = np.asarray(means, np.float64), np.asarray(samples, np.float64)
    if means.ndim != 2 or means.shape != samples.shape or means.shape[1] < 1:
        raise ValueError(
            f"means and samples must share a (N, d) shape; got {means.shape}, {samples.shape}"
        )
    varying = means.std(axis=0) > 0
    tc_mean = (
        gaussian_total_correlation(np.atleast_2d(np.cov(means[:, varying], rowvar=False)))
        if varying.sum() > 1
        else 0.0
    )
    tc_sample = gaussian_total_correlation(np.atleast_2d(np.cov(samples, rowvar=False)))
    return {"tc_mean": float(tc_mean), "tc_sample": float(tc_sample)}
