"""FactorVAE (Kim & Mnih 2018): a discriminator estimates the TC by density ratio (SPEC section 7).

Loss: reconstruction + KL + gamma TC, TC = mean(logit_0(z) - logit_1(z)). The discriminator
(gin `discriminator.discriminator_fn = @fc_discriminator`) is trained in the same step, with its
own optimizer (`discriminator_optimizer`), on stop-gradient codes against `permute_dims` of the
codes. dlib permutes the same batch (`two_batch=False`, the default); the paper permutes the
codes of a second batch (`two_batch=True`, which makes a step consume two batches).

Sharded over replicas, `permute_dims` permutes the codes of the global batch (gathered from all
replicas; each replica keeps its rows), and each replica's second batch is its shard of the
global second batch, so the updates equal one device's.
"""

from __future__ import annotations

import threading

import gin
import tensorflow as tf

from tfdis.estimators import total_correlation
from tfdis.models import architectures, optimizers
from tfdis.models.vae import BaseVAE
from tfdis.utils import gin_validation


class FactorVAE(BaseVAE):
    """FactorVAE.

    Args:
        gamma: TC weight (sweep 10..100; 35 in the seed studies).
        two_batch: permute a second batch's codes (the paper) instead of the same batch's (dlib).
    """

    extra_metrics = ("total_correlation", "discriminator_loss", "discriminator_accuracy")

    def __init__(self, gamma: float, two_batch: bool = False, name: str = "factor_vae"):
        super().__init__(name=name)
        self.gamma = float(gamma)
        self.two_batch = bool(two_batch)
        self.batches_per_step = 2 if self.two_batch else 1
        self.discriminator = None
        # Per-thread step state: replicas of a MirroredStrategy step trace in their own threads.
        self._step_state = threading.local()

    def build_networks(self, observation_shape, noise_seed=0, dataset_size=None) -> None:
        super().build_networks(observation_shape, noise_seed, dataset_size)
        self.discriminator = architectures.make_discriminator(self.num_latent)

    def configure_optimizers(self) -> None:
        super().configure_optimizers()
        self.discriminator_optimizer = optimizers.make_discriminator_optimizer()
        self.discriminator_optimizer.build(self.discriminator.trainable_variables)

    def checkpoint_objects(self) -> dict[str, object]:
        return {
            **super().checkpoint_objects(),
            "discriminator_optimizer": self.discriminator_optimizer,
        }

    def permutation_seed(self, step: tf.Tensor) -> tf.Tensor:
        """Stateless seed of `permute_dims` at `step` (a stream apart from the posterior noise)."""
        return tf.stack([tf.constant(self.noise_seed, tf.int64), -1 - tf.cast(step, tf.int64)])

    def regularizer(self, kl_loss, posterior, z_sampled, step):
        estimate = total_correlation.density_ratio(
            self.discriminator,
            z_sampled,
            self.permutation_seed(step),
            z_for_permutation=getattr(self._step_state, "permutation_codes", None),
            share_joint_logits=True,  # the train step differentiates it for D's weights only
        )
        self._step_state.discriminator_loss = estimate.discriminator_loss
        self.log_scalar("total_correlation", estimate.total_correlation)
        self.log_scalar("discriminator_loss", estimate.discriminator_loss)
        self.log_scalar("discriminator_accuracy", estimate.discriminator_accuracy)
        return kl_loss + self.gamma * estimate.total_correlation

    def train_step(self, observations: tf.Tensor) -> dict[str, tf.Tensor]:
        """Updates the VAE and the discriminator from losses computed before either update."""
        step = self.optimizer.iterations
        seed = self.noise_seed_for_step(step)
        if self.two_batch:
            observations, second = tf.split(observations, 2, axis=0)
            second_posterior = self.posterior(second, training=True)
            self._step_state.permutation_codes = tf.stop_gradient(
                second_posterior.sample(seed + tf.constant([0, 2**40], tf.int64))
            )
        with tf.GradientTape(persistent=True) as tape:
            terms = self.compute_loss_terms(observations, seed, step, training=True)
            discriminator_loss = self._step_state.discriminator_loss
        self._step_state.permutation_codes = None
        vae_variables = self.vae_variables
        discriminator_variables = self.discriminator.trainable_variables
        vae_gradients = tape.gradient(terms["loss"], vae_variables)
        discriminator_gradients = tape.gradient(discriminator_loss, discriminator_variables)
        del tape
        self.apply_updates_if_finite(
            terms["loss"] + discriminator_loss,
            [
                (self.optimizer, vae_gradients, vae_variables),
                (self.discriminator_optimizer, discriminator_gradients, discriminator_variables),
            ],
        )
        self.after_update()
        for name, value in terms.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}


# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {"factor_vae": {"gamma": {"kind": "number", "minimum": 0}, "two_batch": {"kind": "bool"}}},
)


@gin.configurable("factor_vae")
def factor_vae(gamma: float = gin.REQUIRED, two_batch: bool = False) -> FactorVAE:
    """gin's `@factor_vae()` (dlib's `factor_vae.gamma`; `two_batch` for the paper's variant)."""
    gin_validation.check_parameters("factor_vae", locals(), _GIN_RULES["factor_vae"])
    return FactorVAE(gamma, two_batch)
