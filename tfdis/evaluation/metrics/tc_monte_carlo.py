"""Monte Carlo total correlation of the sampled representation (Yang et al., paper 002, App. D).

The TC column of Yang et al.'s correlated-noise study: draw a batch of B observations, encode
their posteriors q(z|x_i) (with the model's posterior noise correlation), approximate
q(z) = 1/B sum_i q(z|x_i), draw B' samples from each posterior and average
log q(z) - sum_j log q(z_j) over the B B' samples, both densities exact for that mixture
(`tfdis.estimators.total_correlation.monte_carlo`). The paper uses B = 64 and B' = 30. Unlike the
Gaussian fit of `unsupervised_metrics` and `tc_mean_sample`, it does not assume q(z) is Gaussian,
which Yang et al. reject for these models.
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
        "tc_monte_carlo": {
            "num_samples": {"kind": "int", "positive": True},
            "num_batches": {"kind": "int", "positive": True},
            "correlation": {"kind": "number", "minimum": 0, "below": 1, "optional": True},
            "batch_size": {"kind": "int", "positive": True},
        }
    },
)


@gin.configurable(
    "tc_monte_carlo",
    denylist=["ground_truth_data", "posterior_encoder", "random_state", "artifact_dir"],
)
def compute_tc_monte_carlo(
    ground_truth_data: GroundTruthData,
    posterior_encoder: protocols.PosteriorEncoder,
    random_state: np.random.RandomState,
    artifact_dir: str | None = None,
    batch_size: int = 64,
    num_samples: int = 30,
    num_batches: int = 1,
    correlation: float | None = None,
) -> dict[str, float]:
    """Yang et al.'s Monte Carlo TC, averaged over `num_batches` independent batches.

    Args:
        ground_truth_data: the dataset.
        posterior_encoder: `encode` -> `(mean, logvar)`.
        random_state: source of the observations and the sampling seeds.
        artifact_dir: unused.
        batch_size: B, posteriors in the mixture (64 in the paper).
        num_samples: B', samples per posterior (30 in the paper).
        num_batches: independent estimates averaged (1 in the paper).
        correlation: posterior noise correlation s; None takes `posterior_encoder.correlation`
            (an exported model records it), else 0.

    Returns:
        `{"tc_monte_carlo": mean estimate in nats, "tc_monte_carlo_std": std over batches}`.
    """
    gin_validation.check_parameters("tc_monte_carlo", locals(), _GIN_RULES["tc_monte_carlo"])
    # Imported here: the estimator loads TensorFlow, which most metrics do not need.
    from tfdis.estimators import total_correlation

    del artifact_dir
    for value, name in ((batch_size, "batch_size"), (num_samples, "num_samples")):
        if value < 1:
            raise ValueError(f"tc_monte_carlo.{name} must be positive, got {value}")
    if num_batches < 1:
        raise ValueError(f"tc_monte_carlo.num_batches must be positive, got {num_batches}")
    if correlation is None:
        correlation = float(getattr(posterior_encoder, "correlation", 0.0))
    estimates = []
    for _ in range(num_batches):
        observations = ground_truth_data.sample_observations(batch_size, random_state)
        mean, logvar = protocols.encode_in_batches(posterior_encoder, observations, batch_size)
        seed = random_state.randint(2**31 - 1, size=2).astype(np.int32)
        estimate = total_correlation.monte_carlo(
            mean, logvar, seed, num_samples=num_samples, correlation=correlation
        )
        estimates.append(float(estimate.total_correlation))
    return {
        "tc_monte_carlo": float(np.mean(estimates)),
        "tc_monte_carlo_std": float(np.std(estimates)),
    }
