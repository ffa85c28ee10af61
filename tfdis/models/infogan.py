"""InfoGAN (Chen et al. 2016) with a factorized or correlated Q posterior (Yang et al., paper 002).

The generator G maps (one-hot category c_d `[B, K]`, continuous codes c `[B, m]`, noise n `[B, r]`)
to image logits. The discriminator D shares its convolutional trunk with the Q head, which outputs
category logits and a Gaussian posterior over c: factorized, or with correlated noise
N(mu, diag(sigma) S diag(sigma)), S = (1-s) I + s 11^T (paper 002 Eq. 11-12; gin
`posterior.correlation`, 0.9 in the paper's comparison).

Losses (non-saturating GAN, one step updates both players from the same forward pass):
- information loss L_I = categorical_weight * CE(c_d | Q(G(codes))) + info_weight * -log q(c | G(codes));
- D and Q minimize softplus(-D(x)) + softplus(D(G(codes))) + L_I;
- G minimizes softplus(-D(G(codes))) + L_I.
Codes are drawn from the prior: c_d uniform over K, c ~ Unif(-1, 1)^m and n ~ Unif(-1, 1)^r.
The continuous codes' Unif(-1, 1) is the InfoGAN paper's (section 7, "c2, c3 ~ Unif(-1, 1)");
the paper does not state the noise prior, and its reference code draws the noise from
Unif(-1, 1) too (openai/InfoGAN, `launchers/run_mnist_exp.py`: `Uniform(62)`, whose
`sample_prior` is `tf.random_uniform(minval=-1, maxval=1)`). Yang et al. (paper 002) do not state
a prior and traverse the codes on [-2, 2] (their Figure 3), beyond the prior's support as in
InfoGAN's own figures, so tfdis keeps no N(0, I) option. Q's posterior over c stays Gaussian.

The model shares the VAE export interface: `encoder` is D with its Q head (`encode` gives Q's
posterior and category), `decoder` is G, and `generate(latents, categories, noise)` is G itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import gin
import keras
import numpy as np
import tensorflow as tf
from keras import layers

from tfdis.models import optimizers
from tfdis.models.vae import BaseVAE
from tfdis.posteriors import make_gaussian_posterior
from tfdis.utils import gin_validation

INFOGAN_METRICS = (
    "loss",
    "generator_loss",
    "discriminator_loss",
    "info_loss",
    "info_categorical",
    "info_continuous",
    "discriminator_accuracy",
)


def _num_upsamplings(side: int) -> int:
    if side not in (32, 64):
        raise ValueError(f"InfoGAN takes square 32x32 or 64x64 images, got side {side}")
    return int(np.log2(side // 8))


def infogan_generator(num_inputs: int, output_shape: Sequence[int]) -> keras.Model:
    """G: codes `[B, num_inputs]` -> logits; Dense 1024, Dense 8x8x128, 4x4 ConvT s2 up to size.

    The InfoGAN MNIST generator (batch-normalized ReLU layers), started at 8x8 so that 32x32
    (digits, MNIST at 32x32) takes two transposed convolutions and 64x64 three.
    """
    ups = _num_upsamplings(output_shape[0])
    codes = keras.Input(shape=(num_inputs,), name="codes")
    h = layers.Dense(1024, use_bias=False)(codes)
    h = layers.ReLU()(layers.BatchNormalization()(h))
    h = layers.Dense(8 * 8 * 128, use_bias=False)(h)
    h = layers.ReLU()(layers.BatchNormalization()(h))
    h = layers.Reshape((8, 8, 128))(h)
    for filters in (64, 64)[: ups - 1]:
        h = layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False)(h)
        h = layers.ReLU()(layers.BatchNormalization()(h))
    logits = layers.Conv2DTranspose(output_shape[2], 4, strides=2, padding="same")(h)
    return keras.Model(codes, logits, name="infogan_generator")


def infogan_discriminator(
    input_shape: Sequence[int], num_categories: int, num_continuous: int
) -> keras.Model:
    """D with the Q head: images -> [real/fake logit `[B, 1]`, category logits, mean, logvar].

    Trunk: 4x4 convs s2 (64, 128[, 128]) with LeakyReLU 0.1 -> Dense 1024; Q: Dense 128 -> heads.
    """
    ups = _num_upsamplings(input_shape[0])
    images = keras.Input(shape=tuple(input_shape), name="images")
    h = images
    for filters in (64, 128, 128)[:ups]:
        h = layers.LeakyReLU(0.1)(layers.Conv2D(filters, 4, strides=2, padding="same")(h))
    h = layers.Flatten()(h)
    h = layers.LeakyReLU(0.1)(layers.Dense(1024)(h))
    real_logit = layers.Dense(1, name="real_logit")(h)
    q = layers.LeakyReLU(0.1)(layers.Dense(128)(h))
    category_logits = layers.Dense(num_categories, name="category_logits")(q)
    mean = layers.Dense(num_continuous, name="means")(q)
    logvar = layers.Dense(num_continuous, name="log_var")(q)
    return keras.Model(
        images, [real_logit, category_logits, mean, logvar], name="infogan_discriminator"
    )


class InfoGAN(BaseVAE):
    """InfoGAN with one categorical code, continuous codes and noise.

    Args:
        num_categories: K of the categorical code (10 on MNIST).
        num_continuous: m continuous codes (2 in paper 002).
        num_noise: r noise inputs (62, InfoGAN's MNIST setting).
        info_weight: weight of the continuous information term (0.1, paper 002).
        categorical_info_weight: weight of the categorical information term (1, InfoGAN).
    """

    distribution_unsupported = (
        "its generator's BatchNormalization layers would normalize each replica's shard with "
        "the shard's own statistics, and their moving averages have no cross-replica "
        "aggregation."
    )

    def __init__(
        self,
        num_categories: int = 10,
        num_continuous: int = 2,
        num_noise: int = 62,
        info_weight: float = 0.1,
        categorical_info_weight: float = 1.0,
        name: str = "infogan",
    ):
        super().__init__(name=name)
        if num_categories < 2 or num_continuous < 1 or num_noise < 0:
            raise ValueError(
                "infogan needs num_categories >= 2, num_continuous >= 1 and num_noise >= 0; got "
                f"{num_categories}, {num_continuous}, {num_noise}"
            )
        self.num_categories = int(num_categories)
        self.num_continuous = int(num_continuous)
        self.num_noise = int(num_noise)
        self.info_weight = float(info_weight)
        self.categorical_info_weight = float(categorical_info_weight)
        self.discrete_sizes = [self.num_categories]
        self.continuous_prior = "uniform"  # the export's `sample` draws c ~ Unif(-1, 1)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in INFOGAN_METRICS}

    def build_networks(self, observation_shape, noise_seed=0, dataset_size=None) -> None:
        self.observation_shape = tuple(int(s) for s in observation_shape)
        self.num_latent = self.num_continuous
        self.noise_seed = int(noise_seed)
        self.dataset_size = dataset_size
        self.decoder = infogan_generator(
            self.num_categories + self.num_continuous + self.num_noise, self.observation_shape
        )
        self.encoder = infogan_discriminator(
            self.observation_shape, self.num_categories, self.num_continuous
        )
        probe = make_gaussian_posterior(
            tf.zeros((1, self.num_latent)), tf.zeros((1, self.num_latent))
        )
        self.posterior_correlation = float(getattr(probe, "correlation", 0.0))

    @property
    def vae_variables(self) -> list[tf.Variable]:
        """The generator's trainable variables (the `generator_optimizer` updates them)."""
        return self.decoder.trainable_variables

    def configure_optimizers(self) -> None:
        optimizer = optimizers.make_generator_optimizer()
        self.compile(optimizer=optimizer)
        optimizer.build(self.decoder.trainable_variables)
        self.discriminator_optimizer = optimizers.make_discriminator_optimizer()
        self.discriminator_optimizer.build(self.encoder.trainable_variables)

    def checkpoint_objects(self) -> dict[str, object]:
        return {
            "optimizer": self.optimizer,
            "discriminator_optimizer": self.discriminator_optimizer,
        }

    # --- generator and Q ------------------------------------------------------------------------

    def generate(
        self,
        latents: tf.Tensor,
        categories: tf.Tensor,
        noise: tf.Tensor,
        training: bool = False,
    ) -> tf.Tensor:
        """G: continuous codes `[B, m]`, int categories `[B, 1]`, noise `[B, r]` -> logits."""
        one_hot = tf.one_hot(categories[:, 0], self.num_categories, dtype=latents.dtype)
        return self.decoder(tf.concat([one_hot, latents, noise], axis=1), training=training)

    def decode_with_categories(self, latents, categories, training=False) -> tf.Tensor:
        """G with zero noise (the centre of the noise prior)."""
        noise = tf.zeros([tf.shape(latents)[0], self.num_noise], latents.dtype)
        return self.generate(latents, categories, noise, training)

    def posterior(self, observations, training=False):
        """Q's posterior over the continuous codes."""
        _, _, mean, logvar = self._discriminate(observations, training)
        return make_gaussian_posterior(mean, logvar, correlation=self.posterior_correlation)

    def _discriminate(self, images: tf.Tensor, training: bool) -> list[tf.Tensor]:
        """D and Q outputs, float32 (also under a mixed-precision policy)."""
        return [tf.cast(t, tf.float32) for t in self.encoder(images, training=training)]

    def encode_discrete(self, observations: tf.Tensor) -> dict[str, tf.Tensor]:
        """Q: mean, logvar `[B, m]`, category `[B, 1]`, category_logits `[B, K]`."""
        _, logits, mean, logvar = self._discriminate(observations, training=False)
        category = tf.argmax(logits, axis=1, output_type=tf.int32)[:, None]
        return {"mean": mean, "logvar": logvar, "category": category, "category_logits": logits}

    def information_loss(
        self,
        categories: tf.Tensor,
        latents: tf.Tensor,
        category_logits: tf.Tensor,
        mean: tf.Tensor,
        logvar: tf.Tensor,
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """Batch means of CE(category | logits) and -log q(latents | mean, logvar) (joint density)."""
        cross_entropy = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=categories[:, 0], logits=category_logits
            )
        )
        q = make_gaussian_posterior(mean, logvar, correlation=self.posterior_correlation)
        return cross_entropy, -tf.reduce_mean(q.log_prob(latents))

    def sample_codes(self, batch: tf.Tensor, seed: tf.Tensor) -> tuple[tf.Tensor, ...]:
        """Prior draws: categories `[B, 1]`, continuous `[B, m]` and noise `[B, r]`, both
        Unif(-1, 1)."""
        seeds = [seed + tf.constant([0, i * 2**40], tf.int64) for i in range(3)]
        categories = tf.random.stateless_uniform(
            tf.stack([batch, 1]), seeds[0], maxval=self.num_categories, dtype=tf.int32
        )
        latents = tf.random.stateless_uniform(
            tf.stack([batch, self.num_continuous]), seeds[1], minval=-1.0, maxval=1.0
        )
        noise = tf.random.stateless_uniform(
            tf.stack([batch, self.num_noise]), seeds[2], minval=-1.0, maxval=1.0
        )
        return categories, latents, noise

    # --- training -------------------------------------------------------------------------------

    def compute_loss_terms(self, observations, seed, step, training):
        del step
        batch = tf.shape(observations)[0]
        categories, latents, noise = self.sample_codes(batch, seed)
        fake = tf.sigmoid(self.generate(latents, categories, noise, training=training))
        real_logit, _, _, _ = self._discriminate(observations, training)
        fake_logit, category_logits, mean, logvar = self._discriminate(fake, training)
        cross_entropy, nll = self.information_loss(
            categories, latents, category_logits, mean, logvar
        )
        info = self.categorical_info_weight * cross_entropy + self.info_weight * nll
        discriminator_loss = tf.reduce_mean(tf.nn.softplus(-real_logit)) + tf.reduce_mean(
            tf.nn.softplus(fake_logit)
        )
        generator_loss = tf.reduce_mean(tf.nn.softplus(-fake_logit))
        accuracy = 0.5 * (
            tf.reduce_mean(tf.cast(real_logit > 0, tf.float32))
            + tf.reduce_mean(tf.cast(fake_logit < 0, tf.float32))
        )
        return {
            "loss": generator_loss + info,
            "generator_loss": generator_loss,
            "discriminator_loss": discriminator_loss,
            "info_loss": info,
            "info_categorical": cross_entropy,
            "info_continuous": nll,
            "discriminator_accuracy": accuracy,
        }

    def train_step(self, observations: tf.Tensor) -> dict[str, tf.Tensor]:
        """Updates G on `loss` (adversarial + L_I) and D/Q on `discriminator_loss` + L_I."""
        step = self.optimizer.iterations
        with tf.GradientTape(persistent=True) as tape:
            terms = self.compute_loss_terms(
                observations, self.noise_seed_for_step(step), step, training=True
            )
            discriminator_objective = terms["discriminator_loss"] + terms["info_loss"]
        generator_variables = self.decoder.trainable_variables
        discriminator_variables = self.encoder.trainable_variables
        generator_gradients = tape.gradient(terms["loss"], generator_variables)
        discriminator_gradients = tape.gradient(discriminator_objective, discriminator_variables)
        del tape
        self.apply_updates_if_finite(
            terms["loss"] + discriminator_objective,
            [
                (self.optimizer, generator_gradients, generator_variables),
                (self.discriminator_optimizer, discriminator_gradients, discriminator_variables),
            ],
        )
        for name, value in terms.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def call(self, observations: tf.Tensor, training: bool = False) -> tf.Tensor:
        """G(Q(x)): images regenerated from Q's category and mean with zero noise."""
        encoded = self.encode_discrete(observations)
        return self.decode_with_categories(encoded["mean"], encoded["category"], training)


# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "infogan": {
            "num_categories": {"kind": "int", "minimum": 2},
            "num_continuous": {"kind": "int", "positive": True},
            "num_noise": {"kind": "int", "minimum": 0},
            "info_weight": {"kind": "number", "minimum": 0},
            "categorical_info_weight": {"kind": "number", "minimum": 0},
        }
    },
)


@gin.configurable("infogan")
def infogan(
    num_categories: int = 10,
    num_continuous: int = 2,
    num_noise: int = 62,
    info_weight: float = 0.1,
    categorical_info_weight: float = 1.0,
) -> InfoGAN:
    """gin's `@infogan()`; the Q posterior's correlation is `posterior.correlation`."""
    gin_validation.check_parameters("infogan", locals(), _GIN_RULES["infogan"])
    return InfoGAN(num_categories, num_continuous, num_noise, info_weight, categorical_info_weight)
