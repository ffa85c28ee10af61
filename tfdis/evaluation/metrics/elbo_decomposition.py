"""ELBO TC-decomposition as a metric (Chen et al., 2018; SPEC section 8).

Wraps `tfdis.estimators.elbo_decomposition.elbo_decomposition_from_posteriors` (streaming exact
log-mixtures over all posteriors) for the `posterior_encoder` interface. Registered as
`elbo_decomposition_metric`, since the estimator module already owns the gin name
`elbo_decomposition` (for an `encoder_function` argument).
"""

from __future__ import annotations

import gin
import numpy as np

from tfdis.data.ground_truth_data import GroundTruthData
from tfdis.evaluation.metrics import protocols


@gin.configurable(
    "elbo_decomposition_metric",
    denylist=["ground_truth_data", "posterior_encoder", "random_state", "artifact_dir"],
)
def compute_elbo_decomposition(
    ground_truth_data: GroundTruthData,
    posterior_encoder: protocols.PosteriorEncoder,
    random_state: np.random.RandomState,
    artifact_dir: str | None = None,
    num_points: int = 10000,
    num_samples: int | None = None,
    batch_size: int = 1024,
    correlation: float | None = None,
) -> dict[str, float]:
    """Decomposes the average KL over `num_points` observations (the dataset p(n)).

    Args:
        ground_truth_data: the dataset.
        posterior_encoder: `encode` -> `(mean, logvar)`.
        random_state: source of all randomness.
        artifact_dir: unused.
        num_points: N, observations forming p(n).
        num_samples: (n, z) draws; None draws one from every posterior (cost N^2 d).
        batch_size: observations per encoder call.
        correlation: the model's posterior noise correlation s (SPEC section 5); None takes
            `posterior_encoder.correlation` (an exported model records it), else 0.

    Returns:
        `{"index_code_mutual_info", "total_correlation", "dimwise_kl", "estimated_kl",
        "analytic_kl", "dimwise_kl.<j>"}` in nats.
    """
    del artifact_dir
    if correlation is None:
        correlation = float(getattr(posterior_encoder, "correlation", 0.0))
    if num_points < 1:
        raise ValueError(f"num_points must be positive, got {num_points}")
    observations = ground_truth_data.sample_observations(num_points, random_state)
    means, logvars = protocols.encode_in_batches(posterior_encoder, observations, batch_size)
    return _compute_elbo_decomposition(
        means, logvars, int(random_state.randint(2**31 - 1)), num_samples, correlation
    )


def _compute_elbo_decomposition(
    means: np.ndarray,
    logvars: np.ndarray,
    seed: int,
    num_samples: int | None = None,
    correlation: float = 0.0,
) -> dict[str, float]:
    """The decomposition of posteriors `(N, d)` as a flat dict."""
    # Imported here: the estimator loads TensorFlow, which the other metrics do not need.
    from tfdis.estimators.elbo_decomposition import elbo_decomposition_from_posteriors

    result = elbo_decomposition_from_posteriors(
        means, logvars, seed=seed, num_samples=num_samples, correlation=correlation
    )
    scores = {
        "index_code_mutual_info": result.index_code_mutual_info,
        "total_correlation": result.total_correlation,
        "dimwise_kl": result.dimwise_kl,
        "estimated_kl": result.estimated_kl,
        "analytic_kl": result.analytic_kl,
    }
    scores.update({f"dimwise_kl.{j}": float(v) for j, v in enumerate(result.dimwise_kl_per_dim)})
    return scores
