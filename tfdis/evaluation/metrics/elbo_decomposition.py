"""ELBO TC-decomposition as a metric (Chen et al., 2018; SPEC section 8).

Wraps `tfdis.estimators.elbo_decomposition.elbo_decomposition_from_posteriors` (streaming exact
log-mixtures over all posteriors) for the `posterior_encoder` interface. By default p(n) is the
whole dataset when it is enumerable (Chen et al.'s estimator; see that module). Registered as
`elbo_decomposition_metric`, since the estimator module already owns the gin name
`elbo_decomposition` (for an `encoder_function` argument).
"""

from __future__ import annotations

import gin
import numpy as np

from tfdis.data.ground_truth_data import GroundTruthData
from tfdis.evaluation.metrics import protocols
from tfdis.utils import gin_validation

# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "elbo_decomposition_metric": {
            "num_points": {"kind": "int", "positive": True, "optional": True},
            "num_samples": {"kind": "int", "positive": True, "optional": True},
            "correlation": {"kind": "number", "minimum": 0, "below": 1, "optional": True},
            "batch_size": {"kind": "int", "positive": True},
        }
    },
)


@gin.configurable(
    "elbo_decomposition_metric",
    denylist=["ground_truth_data", "posterior_encoder", "random_state", "artifact_dir"],
)
def compute_elbo_decomposition(
    ground_truth_data: GroundTruthData,
    posterior_encoder: protocols.PosteriorEncoder,
    random_state: np.random.RandomState,
    artifact_dir: str | None = None,
    num_points: int | None = None,
    num_samples: int | None = 10000,
    batch_size: int = 1024,
    correlation: float | None = None,
) -> dict[str, float]:
    """Decomposes the average KL over the dataset p(n).

    Args:
        ground_truth_data: the dataset.
        posterior_encoder: `encode` -> `(mean, logvar)`.
        random_state: source of all randomness.
        artifact_dir: unused.
        num_points: None (default): the whole dataset when it is enumerable (Chen et al.'s
            estimator: q(z) mixes all N posteriors, encoded in batches), else 10,000
            observations drawn with replacement; an int: that many drawn with replacement
            (caps the index-code MI at log num_points).
        num_samples: (n, z) draws of the expectations (Chen et al.'s 10,000); None draws one
            per posterior (cost N^2 d).
        batch_size: observations per encoder call.
        correlation: the model's posterior noise correlation s (SPEC section 5); None takes
            `posterior_encoder.correlation` (an exported model records it), else 0.

    Returns:
        `{"index_code_mutual_info", "total_correlation", "dimwise_kl", "estimated_kl",
        "analytic_kl", "dimwise_kl.<j>", "num_points", "whole_dataset"}`, the terms in nats.
    """
    gin_validation.check_parameters(
        "elbo_decomposition_metric", locals(), _GIN_RULES["elbo_decomposition_metric"]
    )
    # Imported here: the estimator loads TensorFlow, which the other metrics do not need.
    from tfdis.estimators.elbo_decomposition import encode_dataset

    del artifact_dir
    if correlation is None:
        correlation = float(getattr(posterior_encoder, "correlation", 0.0))
    means, logvars, whole = encode_dataset(
        ground_truth_data,
        lambda x: protocols.encode_in_batches(posterior_encoder, x, batch_size),
        random_state,
        num_points,
        batch_size,
    )
    return _compute_elbo_decomposition(
        means, logvars, int(random_state.randint(2**31 - 1)), num_samples, correlation, whole
    )


def _compute_elbo_decomposition(
    means: np.ndarray,
    logvars: np.ndarray,
    seed: int,
    num_samples: int | None = None,
    correlation: float = 0.0,
    whole_dataset: bool = False,
) -> dict[str, float]:
    """The decomposition of posteriors `(N, d)` as a flat dict."""
    from tfdis.estimators.elbo_decomposition import (
        decomposition_scores,
        elbo_decomposition_from_posteriors,
    )

    result = elbo_decomposition_from_posteriors(
        means, logvars, seed=seed, num_samples=num_samples, correlation=correlation
    )
    return decomposition_scores(result, whole_dataset)
