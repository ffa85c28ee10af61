"""Weakly-supervised VAEs: Ada-GVAE and Ada-ML-VAE (Locatello et al. 2020; issue 16).

A train step sees pairs of observations that share all but a few factors (`tfdis.data.weak`).
Both observations are encoded; on the dimensions the pair is taken to share, each observation's
posterior is replaced by an aggregate of the two posteriors, and on the others it keeps its own:

- GVAE (`group_vae_*`): mean = average of the means, variance = average of the variances.
- ML-VAE (`mlvae_*`): the product of experts, variance v1 v2 / (v1 + v2), mean
  (m1 v2 + m2 v1) / (v1 + v2). dlib's code uses twice that variance (the normalized product of
  the square roots of the two densities); `mlvae_*.dlib_variance = True` gives dlib's.

Which dimensions are shared:

- `*_labels`: the label mask names the factors the pair does not share; latent j is tied to
  factor j, so dimension j keeps its own posterior where factor j changed, every other dimension
  is aggregated (needs `num_latent >= num_factors`).
- `*_argmax` (adaptive k): per pair, delta_j = KL(q(z_j|x1) || q(z_j|x2)); the dimensions with
  delta_j < (max delta + min delta) / 2 (the lower of two equal-width bins between the minimum
  and the maximum) are shared, the others keep their own posterior. dlib bins with
  `histogram_fixed_width_bins`, which agrees except when all delta_j are equal, where dlib's
  bins are undefined (0 / 0) and tfdis shares none.

Loss: the average over the two observations of reconstruction + beta KL(aggregated posterior ||
prior), as in the paper and dlib. The exported model encodes single observations as every VAE.
All terms are per example, so sharded training over replicas is exact (each half of the pair
draws its noise for the global batch, like one device).
"""

from __future__ import annotations

import gin
import tensorflow as tf

from tfdis.data import weak as weak_data
from tfdis.models import losses
from tfdis.models.vae import BaseVAE
from tfdis.posteriors import FactorizedGaussian
from tfdis.utils import gin_validation

# Offset of the second observations' noise seed (a stream apart from the first ones').
SECOND_NOISE = 2**40


def gaussian_kl_per_dim(
    mean_1: tf.Tensor, logvar_1: tf.Tensor, mean_2: tf.Tensor, logvar_2: tf.Tensor
) -> tf.Tensor:
    """KL(N(mean_1, exp(logvar_1)) || N(mean_2, exp(logvar_2))) per dimension, `[B, d]`."""
    return 0.5 * (
        tf.exp(logvar_1 - logvar_2)
        + tf.square(mean_2 - mean_1) * tf.exp(-logvar_2)
        - 1.0
        + logvar_2
        - logvar_1
    )


def average_aggregate(
    mean_1: tf.Tensor, logvar_1: tf.Tensor, mean_2: tf.Tensor, logvar_2: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    """GVAE's shared posterior `[B, d]` x2: average of means, log of the average variance."""
    mean = 0.5 * (mean_1 + mean_2)
    logvar = tf.math.reduce_logsumexp(tf.stack([logvar_1, logvar_2]), axis=0) - tf.math.log(2.0)
    return mean, logvar


def product_aggregate(
    mean_1: tf.Tensor,
    logvar_1: tf.Tensor,
    mean_2: tf.Tensor,
    logvar_2: tf.Tensor,
    dlib_variance: bool = False,
) -> tuple[tf.Tensor, tf.Tensor]:
    """ML-VAE's shared posterior `[B, d]` x2: the product of experts (dlib: twice its variance).

    With precisions p_i = 1 / v_i: variance 1 / (p1 + p2), mean (m1 p1 + m2 p2) / (p1 + p2).
    """
    # weight_1 = p1 / (p1 + p2) = sigmoid(logvar_2 - logvar_1), stable for any variances.
    weight_1 = tf.sigmoid(logvar_2 - logvar_1)
    mean = weight_1 * mean_1 + (1.0 - weight_1) * mean_2
    # log(v1 v2 / (v1 + v2)) = -logsumexp(-logvar_1, -logvar_2)
    logvar = -tf.math.reduce_logsumexp(tf.stack([-logvar_1, -logvar_2]), axis=0)
    if dlib_variance:
        logvar += tf.math.log(2.0)
    return mean, logvar


def adaptive_changed_mask(kl_per_dim: tf.Tensor) -> tf.Tensor:
    """Dimensions taken as changed by adaptive k: bool `[B, d]` for per-dimension KLs `[B, d]`.

    delta_j >= (max + min) / 2, the upper of two equal-width bins over [min, max] per row.
    """
    upper = tf.reduce_max(kl_per_dim, axis=1, keepdims=True)
    lower = tf.reduce_min(kl_per_dim, axis=1, keepdims=True)
    return kl_per_dim >= 0.5 * (upper + lower)


def label_changed_mask(labels: tf.Tensor, num_latent: int) -> tf.Tensor:
    """Dimensions tied to a changed factor: bool `[B, d]` for label masks `[B, F]` (F <= d)."""
    labels = tf.cast(labels, tf.bool)
    padding = num_latent - int(labels.shape[-1])
    return tf.pad(labels, [[0, 0], [0, padding]]) if padding else labels


class WeakVAE(BaseVAE):
    """A VAE trained on pairs: `aggregate` and `changed_mask` are the variants' choices.

    Args:
        beta: weight of the KL term.
        use_labels: take the changed dimensions from the labels (`*_labels`) instead of the
            adaptive split (`*_argmax`).
        name: Keras model name.
    """

    input_kind = "pairs"
    batches_per_step = 2
    stacking_unsupported = (
        "its step reads pairs of observations, which stacked training does not feed. The math "
        "would stack (every term is per model and per example), but the stacked engine "
        "(tfdis.training.stacked) has neither part it needs: an input path that gives each "
        "member 2B pair images and their change labels ([S, 2B, H, W, C] and [S, 2B, F], from "
        "tf.data and from the device table), and a hook in its step between the encoder and "
        "the decoder, where a pair model aggregates the two posteriors of each pair and draws "
        "two noise streams (the stacked step runs encode, make_posterior, one sample, decode, "
        "loss_terms, for single observations)."
    )
    extra_metrics = ("num_changed_dims",)

    def __init__(self, beta: float, use_labels: bool, name: str):
        super().__init__(name=name)
        self.beta = float(beta)
        self.use_labels = bool(use_labels)
        self.dynamics = weak_data.dynamics()

    def build_networks(self, observation_shape, noise_seed=0, dataset_size=None) -> None:
        super().build_networks(observation_shape, noise_seed, dataset_size)
        if self.posterior_correlation:
            raise ValueError(
                f"{type(self).__name__} aggregates factorized posteriors per dimension; "
                f"posterior.correlation = {self.posterior_correlation} is not supported"
            )

    def aggregate(self, mean_1, logvar_1, mean_2, logvar_2) -> tuple[tf.Tensor, tf.Tensor]:
        raise NotImplementedError

    def regularizer(self, kl_loss, posterior, z_sampled, step):
        return self.beta * kl_loss

    def shared_posteriors(
        self, posterior_1: FactorizedGaussian, posterior_2: FactorizedGaussian, labels: tf.Tensor
    ) -> tuple[FactorizedGaussian, FactorizedGaussian, tf.Tensor]:
        """The two aggregated posteriors and the changed-dimension mask bool `[B, d]`."""
        m1, lv1, m2, lv2 = (
            posterior_1.mean,
            posterior_1.logvar,
            posterior_2.mean,
            posterior_2.logvar,
        )
        if self.use_labels:
            changed = label_changed_mask(labels, self.num_latent)
        else:
            changed = adaptive_changed_mask(gaussian_kl_per_dim(m1, lv1, m2, lv2))
        shared_mean, shared_logvar = self.aggregate(m1, lv1, m2, lv2)
        first = FactorizedGaussian(
            tf.where(changed, m1, shared_mean), tf.where(changed, lv1, shared_logvar)
        )
        second = FactorizedGaussian(
            tf.where(changed, m2, shared_mean), tf.where(changed, lv2, shared_logvar)
        )
        return first, second, changed

    def compute_loss_terms(self, inputs, seed, step, training):
        """Loss terms of a batch of pairs `(observations [2B, H, W, C], labels [2B, F])`."""
        observations, labels = inputs
        labels = tf.split(labels, 2, axis=0)[0]
        if self.use_labels and int(labels.shape[-1]) > self.num_latent:
            raise ValueError(
                f"{type(self).__name__} ties latent j to factor j: it needs encoder.num_latent >= "
                f"{int(labels.shape[-1])} factors, got {self.num_latent}"
            )
        # One encoder and one decoder pass over both halves (per-example networks: the same
        # numbers as two passes, in fewer and larger kernels).
        both = self.posterior(observations, training=training)
        mean_1, mean_2 = tf.split(both.mean, 2, axis=0)
        logvar_1, logvar_2 = tf.split(both.logvar, 2, axis=0)
        posterior_1 = FactorizedGaussian(mean_1, logvar_1)
        posterior_2 = FactorizedGaussian(mean_2, logvar_2)
        first, second, changed = self.shared_posteriors(posterior_1, posterior_2, labels)
        z_1 = first.sample(seed)
        z_2 = second.sample(seed + tf.constant([0, SECOND_NOISE], tf.int64))
        logits = self.decoder(tf.concat([z_1, z_2], axis=0), training=training)
        # The mean over both halves is the average of the two halves' means (equal halves).
        reconstruction = tf.reduce_mean(losses.make_reconstruction_loss(observations, logits))
        kl_loss = 0.5 * (tf.reduce_mean(first.kl_to_prior()) + tf.reduce_mean(second.kl_to_prior()))
        regularizer = self.regularizer(kl_loss, first, z_1, step)
        self.log_scalar(
            "num_changed_dims", tf.reduce_mean(tf.reduce_sum(tf.cast(changed, tf.float32), 1))
        )
        return {
            "loss": reconstruction + regularizer,
            "reconstruction_loss": reconstruction,
            "kl_loss": kl_loss,
            "regularizer": regularizer,
            "elbo": reconstruction + kl_loss,
        }


class GroupVAE(WeakVAE):
    """Ada-GVAE (`group_vae_argmax`) and GVAE with labels (`group_vae_labels`)."""

    def aggregate(self, mean_1, logvar_1, mean_2, logvar_2):
        return average_aggregate(mean_1, logvar_1, mean_2, logvar_2)


class MLVAE(WeakVAE):
    """Ada-ML-VAE (`mlvae_argmax`) and ML-VAE with labels (`mlvae_labels`).

    Args:
        dlib_variance: dlib's shared variance (twice the product of experts').
    """

    def __init__(self, beta: float, use_labels: bool, name: str, dlib_variance: bool = False):
        super().__init__(beta, use_labels, name)
        self.dlib_variance = bool(dlib_variance)

    def aggregate(self, mean_1, logvar_1, mean_2, logvar_2):
        return product_aggregate(mean_1, logvar_1, mean_2, logvar_2, self.dlib_variance)


# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "group_vae": {"beta": {"kind": "number", "minimum": 0, "optional": True}},
        "mlvae": {"beta": {"kind": "number", "minimum": 0, "optional": True}},
        "group_vae_labels": {"beta": {"kind": "number", "minimum": 0, "optional": True}},
        "group_vae_argmax": {"beta": {"kind": "number", "minimum": 0, "optional": True}},
        "mlvae_labels": {
            "beta": {"kind": "number", "minimum": 0, "optional": True},
            "dlib_variance": {"kind": "bool"},
        },
        "mlvae_argmax": {
            "beta": {"kind": "number", "minimum": 0, "optional": True},
            "dlib_variance": {"kind": "bool"},
        },
    },
)


@gin.configurable("group_vae")
def group_vae_beta(beta: float | None = None) -> float | None:
    """dlib's `group_vae.beta` (the base class's scope, which dlib's configs bind)."""
    gin_validation.check_parameters("group_vae", locals(), _GIN_RULES["group_vae"])
    return beta


@gin.configurable("mlvae")
def mlvae_beta(beta: float | None = None) -> float | None:
    """dlib's `mlvae.beta` (the base class's scope, which dlib's configs bind)."""
    gin_validation.check_parameters("mlvae", locals(), _GIN_RULES["mlvae"])
    return beta


def _beta(name: str, beta: float | None, base: str, base_beta: float | None) -> float:
    """A variant's beta: its own binding (`<name>.beta`), else dlib's base scope's."""
    if beta is None:
        beta = base_beta
    if beta is None:
        raise ValueError(f"{name} needs a beta: bind {name}.beta (or dlib's {base}.beta)")
    return float(beta)


@gin.configurable("group_vae_labels")
def group_vae_labels(beta: float | None = None) -> GroupVAE:
    """gin's `@group_vae_labels()`: GVAE told the changed factors (`group_vae_labels.beta`)."""
    gin_validation.check_parameters("group_vae_labels", locals(), _GIN_RULES["group_vae_labels"])
    beta = _beta("group_vae_labels", beta, "group_vae", group_vae_beta())
    return GroupVAE(beta, use_labels=True, name="group_vae_labels")


@gin.configurable("group_vae_argmax")
def group_vae_argmax(beta: float | None = None) -> GroupVAE:
    """gin's `@group_vae_argmax()`: Ada-GVAE (`group_vae_argmax.beta`)."""
    gin_validation.check_parameters("group_vae_argmax", locals(), _GIN_RULES["group_vae_argmax"])
    beta = _beta("group_vae_argmax", beta, "group_vae", group_vae_beta())
    return GroupVAE(beta, use_labels=False, name="group_vae_argmax")


@gin.configurable("mlvae_labels")
def mlvae_labels(beta: float | None = None, dlib_variance: bool = False) -> MLVAE:
    """gin's `@mlvae_labels()`: ML-VAE told the changed factors (`mlvae_labels.beta`)."""
    gin_validation.check_parameters("mlvae_labels", locals(), _GIN_RULES["mlvae_labels"])
    beta = _beta("mlvae_labels", beta, "mlvae", mlvae_beta())
    return MLVAE(beta, use_labels=True, name="mlvae_labels", dlib_variance=dlib_variance)


@gin.configurable("mlvae_argmax")
def mlvae_argmax(beta: float | None = None, dlib_variance: bool = False) -> MLVAE:
    """gin's `@mlvae_argmax()`: Ada-ML-VAE (`mlvae_argmax.beta`)."""
    gin_validation.check_parameters("mlvae_argmax", locals(), _GIN_RULES["mlvae_argmax"])
    beta = _beta("mlvae_argmax", beta, "mlvae", mlvae_beta())
    return MLVAE(beta, use_labels=False, name="mlvae_argmax", dlib_variance=dlib_variance)
