"""JointVAE (Dupont, 2018): Gaussian and Gumbel-softmax codes under capacity control (SPEC 7).

Loss = reconstruction + gamma_z |KL_z - C_z(t)| + gamma_c |KL_c - C_c(t)|, where C(t) grows
linearly from 0 to C_max over `capacity_steps`, and C_c(t) is then clipped at sum_c log K_c (the
most a set of categorical codes can carry). As in Dupont's reference code (`joint-vae`,
`Trainer._loss_function`), the clip applies to the current value, not to C_max: with C_max = 5
nats over 25k steps and K = 10, C_c reaches log 10 = 2.30 at step 25k x 2.30 / 5 = 11.5k and
stays there. The encoder is the gin-chosen Gaussian encoder with one
extra Dense head of K_c logits per categorical code on the layer that feeds its means; codes are
sampled with the Gumbel-softmax relaxation (`relaxed_categorical.temperature`, 0.67) in training
and are one_hot(argmax alpha) at evaluation.
"""

from __future__ import annotations

from collections.abc import Sequence

import gin
import keras
import numpy as np
import tensorflow as tf

from tfdis.models import architectures, losses
from tfdis.models.vae import BaseVAE
from tfdis.posteriors import make_gaussian_posterior, make_relaxed_categorical
from tfdis.runtime import replicas
from tfdis.utils import gin_validation


def linear_capacity(
    step: tf.Tensor, capacity_max: float, capacity_steps: int, limit: float | None = None
) -> tf.Tensor:
    """C(t) = min(C_max, C_max * t / T, limit), float32 scalar.

    `limit` clips the ramped value (JointVAE's sum_c log K_c): the ramp keeps the slope
    C_max / T and stops rising when it reaches `limit`, as in Dupont's reference code.
    """
    fraction = tf.cast(step, tf.float32) / float(max(capacity_steps, 1))
    capacity = capacity_max * tf.minimum(fraction, 1.0)
    return capacity if limit is None else tf.minimum(capacity, float(limit))


def add_categorical_heads(encoder: keras.Model, discrete_sizes: Sequence[int]) -> keras.Model:
    """Encoder `images -> [mean, logvar, logits_1, ..., logits_C]` sharing the Gaussian trunk.

    Each head is a Dense layer of K_c logits on the input of the encoder's `means` layer.
    """
    try:
        hidden = encoder.get_layer("means").input
    except ValueError as error:
        raise ValueError(
            f"{encoder.name} has no 'means' layer to attach the categorical heads to"
        ) from error
    heads = [
        keras.layers.Dense(int(k), name=f"category_logits_{c}")(hidden)
        for c, k in enumerate(discrete_sizes)
    ]
    return keras.Model(encoder.inputs, [*encoder.outputs, *heads], name=f"{encoder.name}_joint")


class JointVAE(BaseVAE):
    """JointVAE with one or more categorical codes.

    Args:
        discrete_sizes: K_c of each categorical code, e.g. `[10]`.
        continuous_capacity: C_z max (nats).
        discrete_capacity: C_c max (nats) of the ramp; the ramped value is clipped at
            sum_c log K_c (`discrete_capacity_limit`).
        capacity_steps: steps over which both capacities grow from 0.
        gamma_continuous: gamma_z.
        gamma_discrete: gamma_c (defaults to gamma_z, as in the reference runs).
    """

    extra_metrics = ("kl_continuous", "kl_discrete", "capacity_continuous", "capacity_discrete")

    def __init__(
        self,
        discrete_sizes: Sequence[int],
        continuous_capacity: float,
        discrete_capacity: float,
        capacity_steps: int,
        gamma_continuous: float,
        gamma_discrete: float | None = None,
        name: str = "joint_vae",
    ):
        super().__init__(name=name)
        sizes = [int(k) for k in discrete_sizes]
        if not sizes or min(sizes) < 2:
            raise ValueError(f"joint_vae.discrete_sizes needs codes of 2+ categories, got {sizes}")
        self.discrete_sizes = sizes
        self.continuous_capacity = float(continuous_capacity)
        self.discrete_capacity = float(discrete_capacity)
        self.discrete_capacity_limit = float(np.sum(np.log(sizes)))
        self.capacity_steps = int(capacity_steps)
        self.gamma_continuous = float(gamma_continuous)
        self.gamma_discrete = float(gamma_continuous if gamma_discrete is None else gamma_discrete)

    def build_networks(self, observation_shape, noise_seed=0, dataset_size=None) -> None:
        super().build_networks(observation_shape, noise_seed, dataset_size)
        self.encoder = add_categorical_heads(self.encoder, self.discrete_sizes)
        self.decoder = architectures.make_decoder(
            self.num_latent + sum(self.discrete_sizes), self.observation_shape
        )

    def _encode(self, observations, training):
        outputs = self.encoder(observations, training=training)
        mean, logvar, *logits = [tf.cast(output, tf.float32) for output in outputs]
        gaussian = make_gaussian_posterior(mean, logvar, correlation=self.posterior_correlation)
        return gaussian, [make_relaxed_categorical(tf.nn.softmax(lg, axis=-1)) for lg in logits]

    def posterior(self, observations, training=False):
        return self._encode(observations, training)[0]

    def decode_with_categories(
        self, latents: tf.Tensor, categories: tf.Tensor, training: bool = False
    ) -> tf.Tensor:
        """Logits of latents `[B, d]` with int categories `[B, C]` (one column per code)."""
        codes = [
            tf.one_hot(categories[:, c], k, dtype=latents.dtype)
            for c, k in enumerate(self.discrete_sizes)
        ]
        return self.decoder(tf.concat([latents, *codes], axis=1), training=training)

    def encode_discrete(self, observations: tf.Tensor) -> dict[str, tf.Tensor]:
        """mean, logvar `[B, d]`, category `[B, C]` (argmax alpha), category_logits `[B, sum K]`."""
        gaussian, categoricals = self._encode(observations, training=False)
        categories = tf.stack(
            [tf.argmax(q.alpha, axis=1, output_type=tf.int32) for q in categoricals], axis=1
        )
        return {
            "mean": gaussian.mean,
            "logvar": gaussian.logvar,
            "category": categories,
            "category_logits": tf.concat([q.logits for q in categoricals], axis=1),
        }

    def capacities(self, step: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """(C_z(step), C_c(step)), float32 scalars; C_c is clipped at sum_c log K_c."""
        capacity_z = linear_capacity(step, self.continuous_capacity, self.capacity_steps)
        capacity_c = linear_capacity(
            step, self.discrete_capacity, self.capacity_steps, self.discrete_capacity_limit
        )
        return capacity_z, capacity_c

    def compute_loss_terms(self, observations, seed, step, training):
        gaussian, categoricals = self._encode(observations, training)
        z = gaussian.sample(seed)
        codes = [
            q.sample(seed + tf.constant([0, (c + 1) * 2**40], tf.int64), training=training)
            for c, q in enumerate(categoricals)
        ]
        logits = self.decoder(tf.concat([z, *codes], axis=1), training=training)
        reconstruction = tf.reduce_mean(losses.make_reconstruction_loss(observations, logits))
        # Global batch means when sharded over replicas (|KL - C| is not linear in the batch).
        kl_continuous = replicas.cross_replica_mean(tf.reduce_mean(gaussian.kl_to_prior()))
        kl_discrete = replicas.cross_replica_mean(
            tf.add_n([tf.reduce_mean(q.kl_to_prior()) for q in categoricals])
        )
        capacity_z, capacity_c = self.capacities(step)
        regularizer = self.gamma_continuous * tf.abs(
            kl_continuous - capacity_z
        ) + self.gamma_discrete * tf.abs(kl_discrete - capacity_c)
        for name, value in (
            ("kl_continuous", kl_continuous),
            ("kl_discrete", kl_discrete),
            ("capacity_continuous", capacity_z),
            ("capacity_discrete", capacity_c),
        ):
            self.log_scalar(name, value)
        kl_loss = kl_continuous + kl_discrete
        return {
            "loss": reconstruction + regularizer,
            "reconstruction_loss": reconstruction,
            "kl_loss": kl_loss,
            "regularizer": regularizer,
            "elbo": reconstruction + kl_loss,
        }

    def call(self, observations: tf.Tensor, training: bool = False) -> tf.Tensor:
        """Reconstruction logits from the Gaussian mean and the argmax categories."""
        encoded = self.encode_discrete(observations)
        return self.decode_with_categories(encoded["mean"], encoded["category"], training)


# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "joint_vae": {
            "discrete_sizes": {"kind": "ints", "minimum": 2},
            "continuous_capacity": {"kind": "number", "minimum": 0},
            "discrete_capacity": {"kind": "number", "minimum": 0},
            "capacity_steps": {"kind": "int", "positive": True},
            "gamma": {"kind": "number", "minimum": 0},
            "gamma_discrete": {"kind": "number", "minimum": 0, "optional": True},
        }
    },
)


@gin.configurable("joint_vae")
def joint_vae(
    discrete_sizes: Sequence[int] = gin.REQUIRED,
    continuous_capacity: float = gin.REQUIRED,
    discrete_capacity: float = gin.REQUIRED,
    capacity_steps: int = gin.REQUIRED,
    gamma: float = gin.REQUIRED,
    gamma_discrete: float | None = None,
) -> JointVAE:
    """gin's `@joint_vae()` (`joint_vae.gamma` weighs both capacity terms unless
    `joint_vae.gamma_discrete` is set)."""
    gin_validation.check_parameters("joint_vae", locals(), _GIN_RULES["joint_vae"])
    return JointVAE(
        discrete_sizes,
        continuous_capacity,
        discrete_capacity,
        capacity_steps,
        gamma_continuous=gamma,
        gamma_discrete=gamma_discrete,
    )
