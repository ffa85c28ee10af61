"""AnnealedVAE (Burgess et al. 2018): gamma |KL - C| with a linearly growing capacity C (SPEC section 7)."""

from __future__ import annotations

import gin
import tensorflow as tf

from tfdis.models.vae import BaseVAE
from tfdis.runtime import replicas
from tfdis.utils import gin_validation


def capacity(step: tf.Tensor, c_max: float, iteration_threshold: int) -> tf.Tensor:
    """C(step) = min(c_max, c_max * step / iteration_threshold), a float32 scalar."""
    step = tf.cast(step, tf.float32)
    return tf.minimum(c_max, c_max * step / float(iteration_threshold))


class AnnealedVAE(BaseVAE):
    """AnnealedVAE: regularizer gamma |KL - C(step)|.

    KL is the batch mean; sharded over replicas it is the global batch's (averaged across
    replicas before the absolute value), so the update equals one device's.

    Args:
        gamma: weight of the capacity constraint (1000 in dlib).
        c_max: final capacity in nats (dlib sweeps 5..100).
        iteration_threshold: steps over which C grows from 0 to c_max (100,000 in dlib).
    """

    extra_metrics = ("capacity",)

    def __init__(
        self, gamma: float, c_max: float, iteration_threshold: int, name: str = "annealed_vae"
    ):
        super().__init__(name=name)
        if iteration_threshold < 1:
            raise ValueError(f"iteration_threshold must be positive, got {iteration_threshold}")
        self.gamma = float(gamma)
        self.c_max = float(c_max)
        self.iteration_threshold = int(iteration_threshold)

    def regularizer(self, kl_loss, posterior, z_sampled, step):
        c = capacity(step, self.c_max, self.iteration_threshold)
        self.log_scalar("capacity", c)
        return self.gamma * tf.abs(replicas.cross_replica_mean(kl_loss) - c)


# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "annealed_vae": {
            "gamma": {"kind": "number", "minimum": 0},
            "c_max": {"kind": "number", "minimum": 0},
            "iteration_threshold": {"kind": "int", "positive": True},
        }
    },
)


@gin.configurable("annealed_vae")
def annealed_vae(
    gamma: float = gin.REQUIRED,
    c_max: float = gin.REQUIRED,
    iteration_threshold: int = gin.REQUIRED,
) -> AnnealedVAE:
    """gin's `@annealed_vae()` (dlib's names: gamma, c_max, iteration_threshold)."""
    gin_validation.check_parameters("annealed_vae", locals(), _GIN_RULES["annealed_vae"])
    return AnnealedVAE(gamma, c_max, iteration_threshold)
