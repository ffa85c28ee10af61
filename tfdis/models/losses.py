"""Reconstruction losses, chosen by gin as `reconstruction_loss.loss_fn` (SPEC section 7)."""

from __future__ import annotations

from collections.abc import Callable

import gin
import tensorflow as tf

from tfdis.utils import gin_validation


@gin.configurable("bernoulli_loss", allowlist=[])
def bernoulli_loss(observations: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """Sigmoid cross-entropy summed over pixels: `[B, H, W, C]` x2 -> `[B]`."""
    per_pixel = tf.nn.sigmoid_cross_entropy_with_logits(labels=observations, logits=logits)
    return tf.reduce_sum(tf.reshape(per_pixel, [tf.shape(per_pixel)[0], -1]), axis=1)


@gin.configurable("l2_loss", allowlist=[])
def l2_loss(observations: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """Squared error of sigmoid(logits) summed over pixels: `[B, H, W, C]` x2 -> `[B]`."""
    diff = tf.sigmoid(logits) - observations
    return tf.reduce_sum(tf.reshape(tf.square(diff), [tf.shape(diff)[0], -1]), axis=1)


# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "reconstruction_loss": {
            "loss_fn": {"kind": "callable"},
        }
    },
)


@gin.configurable("reconstruction_loss", allowlist=["loss_fn"])
def make_reconstruction_loss(
    observations: tf.Tensor,
    logits: tf.Tensor,
    loss_fn: Callable[[tf.Tensor, tf.Tensor], tf.Tensor] = bernoulli_loss,
) -> tf.Tensor:
    """Per-example reconstruction loss `[B]` of the gin-chosen `loss_fn` (default Bernoulli)."""
    gin_validation.check_parameters(
        "reconstruction_loss", locals(), _GIN_RULES["reconstruction_loss"]
    )
    return loss_fn(observations, tf.cast(logits, observations.dtype))
