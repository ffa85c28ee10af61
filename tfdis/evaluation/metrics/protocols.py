"""The posterior interface the posterior-based metrics use (SPEC section 8).

`tfdis.evaluation.saved_model_functions.SavedModelPosterior` implements it over an exported model;
tests implement it with closed-form Gaussians.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class PosteriorEncoder(Protocol):
    """q(z|x) of a trained model, evaluated on numpy batches.

    Required: `encode` and `sample`. Optional (checked with `hasattr`, may be absent or None):
    `discrete_logits(observations) -> (B, K)` for models with a categorical code (CascadeVAE,
    JointVAE), `encode_with_discrete_logits(observations) -> (mean, logvar, logits)` to get both
    in one pass, and `reconstruct(observations) -> (B, H, W, C)` in [0, 1] for the reconstruction
    metric.
    """

    def encode(self, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Returns `(mean, logvar)` of the per-dimension Gaussian marginals, each `(B, d)`."""
        ...

    def sample(self, observations: np.ndarray, seed: int) -> np.ndarray:
        """Returns one posterior sample per observation, `(B, d)`, deterministic given `seed`."""
        ...


def encode_in_batches(
    posterior_encoder: PosteriorEncoder, observations: np.ndarray, batch_size: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Encodes `(N, H, W, C)` observations; returns float64 `(mean, logvar)`, each `(N, d)`."""
    means, logvars = [], []
    for start in range(0, len(observations), batch_size):
        mean, logvar = posterior_encoder.encode(observations[start : start + batch_size])
        mean, logvar = np.asarray(mean), np.asarray(logvar)
        if mean.ndim != 2 or mean.shape != logvar.shape:
            raise ValueError(
                "posterior_encoder.encode must return (mean, logvar) of equal shape (B, d); "
                f"got {mean.shape} and {logvar.shape}"
            )
        means.append(mean.astype(np.float64))
        logvars.append(logvar.astype(np.float64))
    return np.concatenate(means), np.concatenate(logvars)


def sample_in_batches(
    posterior_encoder: PosteriorEncoder,
    observations: np.ndarray,
    seed: int,
    batch_size: int = 1024,
) -> np.ndarray:
    """Draws one posterior sample per observation, `(N, d)`, a distinct seed per batch."""
    samples = []
    for i, start in enumerate(range(0, len(observations), batch_size)):
        z = np.asarray(posterior_encoder.sample(observations[start : start + batch_size], seed + i))
        samples.append(z.astype(np.float64))
    return np.concatenate(samples)


def discrete_logits_fn(posterior_encoder: PosteriorEncoder):
    """The encoder's `discrete_logits` method, or None when the model has no discrete code."""
    return getattr(posterior_encoder, "discrete_logits", None)
