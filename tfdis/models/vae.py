"""The base Gaussian VAE and beta-VAE (SPEC section 7).

`BaseVAE` owns the encoder, decoder, posterior and the custom `train_step`; a model differs from
it by one small hook, `regularizer(kl_loss, posterior, z_sampled, step)`, as in dlib. The loss is
`mean reconstruction + regularizer`; the logged `elbo` is dlib's: reconstruction + KL, the
negative ELBO in nats.
"""

from __future__ import annotations

from collections.abc import Sequence

import gin
import keras
import tensorflow as tf

from tfdis.models import architectures, losses, optimizers
from tfdis.posteriors import FactorizedGaussian, make_gaussian_posterior
from tfdis.runtime import deferred_updates
from tfdis.utils import gin_validation

COMMON_METRICS = ("loss", "reconstruction_loss", "kl_loss", "regularizer", "elbo")


class BaseVAE(keras.Model):
    """Gaussian VAE with a regularizer hook and a `GradientTape` train step.

    Subclasses override `regularizer` and may list further logged scalars in `extra_metrics`,
    recorded from the hook with `self.log_scalar(name, value)`.

    Args:
        name: Keras model name.
    """

    extra_metrics: Sequence[str] = ()
    # Batches of `batch_size` observations a train step consumes (FactorVAE's two-batch variant).
    batches_per_step: int = 1
    # Why the model cannot train sharded over replicas, or XLA-compiled (None: it can); see
    # `tfdis.training.step_functions` for what sharding keeps exact.
    distribution_unsupported: str | None = None
    xla_unsupported: str | None = None

    def __init__(self, name: str | None = None):
        super().__init__(name=name)
        self.encoder: keras.Model | None = None
        self.decoder: keras.Model | None = None
        self.noise_seed = 0
        self.posterior_correlation = 0.0
        self.trackers = {
            metric: keras.metrics.Mean(name=metric)
            for metric in (*COMMON_METRICS, *self.extra_metrics)
        }

    # --- construction -------------------------------------------------------------------------

    def build_networks(
        self,
        observation_shape: Sequence[int],
        noise_seed: int = 0,
        dataset_size: int | None = None,
    ) -> None:
        """Creates encoder and decoder (gin scopes `encoder`, `decoder`) for `observation_shape`.

        Also fixes the gin-chosen posterior (`posterior.correlation`) so exported functions do
        not depend on gin.

        Args:
            observation_shape: `[H, W, C]` of the data.
            noise_seed: seed of the reparameterization noise (combined with the step).
            dataset_size: N of the training data, for estimators that need it (beta-TCVAE).
        """
        self.observation_shape = tuple(int(s) for s in observation_shape)
        self.encoder = architectures.make_gaussian_encoder(self.observation_shape)
        self.num_latent = int(self.encoder.outputs[0].shape[-1])
        self.decoder = architectures.make_decoder(self.num_latent, self.observation_shape)
        self.noise_seed = int(noise_seed)
        self.dataset_size = dataset_size
        probe = make_gaussian_posterior(
            tf.zeros((1, self.num_latent)), tf.zeros((1, self.num_latent))
        )
        self.posterior_correlation = float(getattr(probe, "correlation", 0.0))

    @property
    def vae_variables(self) -> list[tf.Variable]:
        """Trainable variables of the encoder and decoder."""
        return self.encoder.trainable_variables + self.decoder.trainable_variables

    def configure_optimizers(self) -> None:
        """Creates and builds the gin-chosen optimizer(s) (`vae_optimizer`)."""
        optimizer = optimizers.make_vae_optimizer()
        self.compile(optimizer=optimizer)
        optimizer.build(self.vae_variables)

    def checkpoint_objects(self) -> dict[str, object]:
        """Objects saved in checkpoints besides the model itself."""
        return {"optimizer": self.optimizer}

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return list(self.trackers.values())

    # --- the model ------------------------------------------------------------------------------

    def posterior(self, observations: tf.Tensor, training: bool = False) -> FactorizedGaussian:
        """q(z|x) for observations `[B, H, W, C]` (float32 under a mixed-precision policy too)."""
        mean, logvar = self.encoder(observations, training=training)
        return self.make_posterior(mean, logvar)

    def make_posterior(self, mean: tf.Tensor, logvar: tf.Tensor) -> FactorizedGaussian:
        """The model's posterior family for encoder outputs `[B, d]` each (computed in float32)."""
        return make_gaussian_posterior(
            tf.cast(mean, tf.float32),
            tf.cast(logvar, tf.float32),
            correlation=self.posterior_correlation,
        )

    def call(self, observations: tf.Tensor, training: bool = False) -> tf.Tensor:
        """Reconstruction logits `[B, H, W, C]` from the posterior mean."""
        return self.decoder(self.posterior(observations, training).mean, training=training)

    def regularizer(
        self,
        kl_loss: tf.Tensor,
        posterior: FactorizedGaussian,
        z_sampled: tf.Tensor,
        step: tf.Tensor,
    ) -> tf.Tensor:
        """The model's regularizer (scalar), added to the mean reconstruction loss.

        Args:
            kl_loss: batch-mean KL(q(z|x) || p(z)), scalar.
            posterior: q(z|x) for the batch (means and log-variances `[B, d]`).
            z_sampled: the reparameterized sample `[B, d]`.
            step: the optimizer step (int64 scalar), for schedules.
        """
        return kl_loss

    def decoder_input(
        self, observations: tf.Tensor, z_sampled: tf.Tensor, step: tf.Tensor, training: bool
    ) -> tf.Tensor:
        """What the decoder reads in training: the sample `[B, d]` (CascadeVAE appends its code)."""
        del observations, step, training
        return z_sampled

    def after_update(self) -> None:
        """Updates state that follows each train step (RTC-VAE's eta); a no-op by default.

        Called at the end of every train step, after the weights' update is applied (or
        handed to a sharded step), by `train_step` and by stacked groups for each member.
        """
        return None

    def log_scalar(self, name: str, value: tf.Tensor) -> None:
        """Records a model-specific scalar listed in `extra_metrics` for TensorBoard and logs."""
        self.trackers[name].update_state(value)

    def noise_seed_for_step(self, step: tf.Tensor) -> tf.Tensor:
        """Stateless seed `[2]` of step `step`: resumed runs draw the same noise."""
        return tf.stack([tf.constant(self.noise_seed, tf.int64), tf.cast(step, tf.int64)])

    def compute_loss_terms(
        self, observations: tf.Tensor, seed: tf.Tensor, step: tf.Tensor, training: bool
    ) -> dict[str, tf.Tensor]:
        """Scalar loss terms of a batch: loss, reconstruction_loss, kl_loss, regularizer, elbo."""
        posterior = self.posterior(observations, training=training)
        z_sampled = posterior.sample(seed)
        logits = self.decoder(
            self.decoder_input(observations, z_sampled, step, training), training=training
        )
        return self.loss_terms(observations, posterior, z_sampled, logits, step)

    def loss_terms(
        self,
        observations: tf.Tensor,
        posterior: FactorizedGaussian,
        z_sampled: tf.Tensor,
        logits: tf.Tensor,
        step: tf.Tensor,
    ) -> dict[str, tf.Tensor]:
        """The scalar loss terms given the forward pass (observations and logits `[B, H, W, C]`).

        Split from `compute_loss_terms` so stacked training (`tfdis.training.stacked`) runs the
        networks of many models at once and still scores each with its own hooks.
        """
        reconstruction = tf.reduce_mean(losses.make_reconstruction_loss(observations, logits))
        kl_loss = tf.reduce_mean(posterior.kl_to_prior())
        regularizer = self.regularizer(kl_loss, posterior, z_sampled, step)
        return {
            "loss": reconstruction + regularizer,
            "reconstruction_loss": reconstruction,
            "kl_loss": kl_loss,
            "regularizer": regularizer,
            "elbo": reconstruction + kl_loss,
        }

    def apply_updates_if_finite(
        self,
        loss: tf.Tensor,
        updates: Sequence[tuple[keras.optimizers.Optimizer, list, list]],
    ) -> None:
        """Applies `(optimizer, gradients, variables)` updates only if loss and gradients are finite.

        Otherwise no weight and no step counter changes, and the step raises
        `tf.errors.InvalidArgumentError` ("non-finite training loss"), so the weights and
        `optimizer.iterations` stay those of the last good step. In a step built by
        `tfdis.training.step_functions` (several replicas, or XLA) the updates are handed to that
        step (`tfdis.runtime.deferred_updates`), which applies them under the same rule across
        all replicas.
        """
        if deferred_updates.defer_updates(loss, updates):
            return
        all_gradients = [g for _, gradients, _ in updates for g in gradients if g is not None]
        finite = tf.math.logical_and(
            tf.reduce_all(tf.math.is_finite(loss)),
            tf.math.is_finite(tf.linalg.global_norm(all_gradients)),
        )

        def apply() -> tf.Tensor:
            for optimizer, gradients, variables in updates:
                optimizer.apply_gradients(zip(gradients, variables, strict=True))
            return tf.constant(True)

        tf.cond(finite, apply, lambda: tf.constant(False))
        # A stateful assert runs after the cond (tf.function keeps stateful ops in order).
        tf.debugging.Assert(finite, [deferred_updates.NON_FINITE_MESSAGE])

    def train_step(self, observations: tf.Tensor) -> dict[str, tf.Tensor]:
        """One optimizer step on a batch `[B, H, W, C]`; returns the running means of the metrics.

        A NaN or inf loss or gradient raises `tf.errors.InvalidArgumentError` and changes nothing.
        """
        step = self.optimizer.iterations
        with tf.GradientTape() as tape:
            terms = self.compute_loss_terms(
                observations, self.noise_seed_for_step(step), step, training=True
            )
        variables = self.vae_variables
        gradients = tape.gradient(terms["loss"], variables)
        self.apply_updates_if_finite(terms["loss"], [(self.optimizer, gradients, variables)])
        self.after_update()
        for name, value in terms.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def test_step(self, observations: tf.Tensor) -> dict[str, tf.Tensor]:
        """Loss terms of a batch without updating weights (noise seeded by the step counter)."""
        step = self.optimizer.iterations
        terms = self.compute_loss_terms(
            observations, self.noise_seed_for_step(step), step, training=False
        )
        for name, value in terms.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}


class BetaVAE(BaseVAE):
    """beta-VAE (Higgins et al.): regularizer beta * KL; beta = 1 is the VAE (SPEC section 7).

    Args:
        beta: weight of the KL term (dlib sweep 1, 2, 4, 6, 8, 16).
    """

    def __init__(self, beta: float = gin.REQUIRED, name: str | None = "beta_vae"):
        super().__init__(name=name)
        self.beta = float(beta)

    def regularizer(self, kl_loss, posterior, z_sampled, step):
        return self.beta * kl_loss


# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {"vae": {"beta": {"kind": "number", "minimum": 0}}},
)


@gin.configurable("vae")
def beta_vae(beta: float = gin.REQUIRED) -> BetaVAE:
    """gin's `@vae()`: a beta-VAE with weight `beta` (`vae.beta`, dlib's name).

    Gin binds this factory rather than the Keras class, whose constructor gin cannot wrap.
    """
    gin_validation.check_parameters("vae", locals(), _GIN_RULES["vae"])
    return BetaVAE(beta=beta)
