"""DIP-VAE I and II (Kumar et al. 2018): moment matching of the aggregate posterior (SPEC section 7)."""

from __future__ import annotations

import gin
import tensorflow as tf

from tfdis.models.vae import BaseVAE
from tfdis.runtime import replicas
from tfdis.utils import gin_validation


def covariance(x: tf.Tensor) -> tf.Tensor:
    """Batch covariance `[d, d]` of `x` `[B, d]`, normalized by B (dlib's E[xx^T] - E[x]E[x]^T)."""
    mean = tf.reduce_mean(x, axis=0, keepdims=True)
    centered = x - mean
    return tf.matmul(centered, centered, transpose_a=True) / tf.cast(tf.shape(x)[0], x.dtype)


def dip_covariance(mean: tf.Tensor, logvar: tf.Tensor, dip_type: str) -> tf.Tensor:
    """The matrix DIP-VAE pushes to identity: Cov[mu] (I) or Cov[mu] + E[diag sigma^2] (II)."""
    cov = covariance(mean)
    if dip_type == "i":
        return cov
    if dip_type == "ii":
        return cov + tf.linalg.diag(tf.reduce_mean(tf.exp(logvar), axis=0))
    raise ValueError(f"dip_type must be 'i' or 'ii', got {dip_type!r}")


def dip_penalty(cov: tf.Tensor, lambda_od: float, lambda_d: float) -> tf.Tensor:
    """lambda_od sum_{i!=j} C_ij^2 + lambda_d sum_i (C_ii - 1)^2."""
    diag = tf.linalg.diag_part(cov)
    off_diagonal = cov - tf.linalg.diag(diag)
    return lambda_od * tf.reduce_sum(tf.square(off_diagonal)) + lambda_d * tf.reduce_sum(
        tf.square(diag - 1.0)
    )


class DIPVAE(BaseVAE):
    """DIP-VAE: regularizer KL + DIP penalty of the batch (co)variance of the codes.

    Sharded over replicas, the (co)variance is that of the global batch (means and
    log-variances gathered from all replicas), so the update equals one device's.

    Args:
        lambda_od: off-diagonal weight.
        lambda_d_factor: lambda_d = lambda_d_factor * lambda_od (10 for I, 1 for II in dlib).
        dip_type: "i" or "ii".
    """

    extra_metrics = ("dip_penalty",)

    def __init__(
        self, lambda_od: float, lambda_d_factor: float, dip_type: str, name: str = "dip_vae"
    ):
        super().__init__(name=name)
        if dip_type not in ("i", "ii"):
            raise ValueError(f"dip_type must be 'i' or 'ii', got {dip_type!r}")
        self.lambda_od = float(lambda_od)
        self.lambda_d = float(lambda_d_factor) * float(lambda_od)
        self.dip_type = dip_type

    def regularizer(self, kl_loss, posterior, z_sampled, step):
        cov = dip_covariance(
            replicas.all_gather_batch(posterior.mean),
            replicas.all_gather_batch(posterior.logvar),
            self.dip_type,
        )
        penalty = dip_penalty(cov, self.lambda_od, self.lambda_d)
        self.log_scalar("dip_penalty", penalty)
        return kl_loss + penalty


# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "dip_vae": {
            "lambda_od": {"kind": "number", "minimum": 0},
            "lambda_d_factor": {"kind": "number", "minimum": 0},
            "dip_type": {"kind": "str", "choices": ("i", "ii")},
        }
    },
)


@gin.configurable("dip_vae")
def dip_vae(
    lambda_od: float = gin.REQUIRED,
    lambda_d_factor: float = gin.REQUIRED,
    dip_type: str = gin.REQUIRED,
) -> DIPVAE:
    """gin's `@dip_vae()` (dlib's names: lambda_od, lambda_d_factor, dip_type "i" or "ii")."""
    gin_validation.check_parameters("dip_vae", locals(), _GIN_RULES["dip_vae"])
    return DIPVAE(lambda_od, lambda_d_factor, dip_type)
