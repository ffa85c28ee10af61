"""Reconstruction error, KL to the prior and active units of a model (SPEC sections 7 and 8).

On `num_points` observations: Bernoulli negative log-likelihood and squared error of the
reconstructions (summed over pixels, averaged over points), the closed-form KL(q(z|x) || N(0, I))
of the factorized posterior (total and per dimension), and the number of active units, dimensions
with Var_x E[z_j | x] > `active_threshold` (Burda et al., 2016, threshold 0.01).
"""

from __future__ import annotations

import gin
import numpy as np

from tfdis.data.ground_truth_data import GroundTruthData
from tfdis.evaluation.metrics import protocols
from tfdis.utils import gin_validation

# Probabilities are clipped away from 0 and 1 so the NLL of an exact 0/1 pixel stays finite.
_EPSILON = 1e-7


# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "reconstruction": {
            "num_points": {"kind": "int", "positive": True},
            "active_threshold": {"kind": "number", "minimum": 0},
            "batch_size": {"kind": "int", "positive": True},
        }
    },
)


@gin.configurable(
    "reconstruction",
    denylist=["ground_truth_data", "posterior_encoder", "random_state", "artifact_dir"],
)
def compute_reconstruction(
    ground_truth_data: GroundTruthData,
    posterior_encoder: protocols.PosteriorEncoder,
    random_state: np.random.RandomState,
    artifact_dir: str | None = None,
    num_points: int = 5000,
    batch_size: int = 512,
    active_threshold: float = 0.01,
) -> dict[str, float]:
    """Scores reconstructions and posteriors on `num_points` observations.

    `posterior_encoder` must provide `reconstruct(observations) -> (B, H, W, C)` in [0, 1].

    Returns:
        `{"reconstruction_bernoulli", "reconstruction_l2", "kl_to_prior", "kl_to_prior.<j>",
        "active_units"}`.
    """
    gin_validation.check_parameters("reconstruction", locals(), _GIN_RULES["reconstruction"])
    del artifact_dir
    reconstruct = getattr(posterior_encoder, "reconstruct", None)
    if reconstruct is None:
        raise ValueError("the reconstruction metric needs posterior_encoder.reconstruct")
    if num_points < 2:
        raise ValueError(f"num_points must be at least 2, got {num_points}")
    observations = ground_truth_data.sample_observations(num_points, random_state)
    means, logvars = protocols.encode_in_batches(posterior_encoder, observations, batch_size)
    bernoulli, l2 = [], []
    for start in range(0, num_points, batch_size):
        batch = observations[start : start + batch_size]
        b, s = _reconstruction_errors(batch, np.asarray(reconstruct(batch)))
        bernoulli.append(b)
        l2.append(s)
    scores = {
        "reconstruction_bernoulli": float(np.mean(np.concatenate(bernoulli))),
        "reconstruction_l2": float(np.mean(np.concatenate(l2))),
    }
    scores.update(_kl_and_active_units(means, logvars, active_threshold))
    return scores


def _reconstruction_errors(
    observations: np.ndarray, reconstructions: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-point Bernoulli NLL and squared error `(B,)`, summed over pixels."""
    if observations.shape != reconstructions.shape:
        raise ValueError(
            "reconstructions must have the observations' shape; got "
            f"{reconstructions.shape} for {observations.shape}"
        )
    x = observations.reshape(len(observations), -1).astype(np.float64)
    p = np.clip(reconstructions.reshape(len(x), -1).astype(np.float64), _EPSILON, 1 - _EPSILON)
    bernoulli = -np.sum(x * np.log(p) + (1 - x) * np.log1p(-p), axis=1)
    return bernoulli, np.sum((x - p) ** 2, axis=1)


def _kl_and_active_units(
    means: np.ndarray, logvars: np.ndarray, active_threshold: float = 0.01
) -> dict[str, float]:
    """Mean KL to N(0, I) (total and per dimension) and active units from `(N, d)` posteriors."""
    kl = 0.5 * (np.square(means) + np.exp(logvars) - logvars - 1.0)
    per_dim = kl.mean(axis=0)
    scores = {"kl_to_prior": float(per_dim.sum())}
    scores.update({f"kl_to_prior.{j}": float(v) for j, v in enumerate(per_dim)})
    scores["active_units"] = float(np.sum(np.var(means, axis=0) > active_threshold))
    return scores
