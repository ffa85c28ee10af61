"""Gaussian posteriors q(z|x): factorized and correlated-noise (SPEC section 5).

Both share one interface used by every model and metric:

- `mean`, `logvar`, `stddev`: per-dimension parameters, shape `[B, d]`.
- `sample(seed)`: reparameterized sample `[B, d]`; `seed` is a stateless seed, int32 `[2]`.
- `log_prob(z)`: joint log-density `[B]` of `z` `[B, d]` under each row's posterior.
- `marginal_log_prob(z)`: per-dimension log-densities `[B, d]`.
- `kl_per_dim()`: KL of each marginal q(z_j|x) to N(0, 1), `[B, d]`.
- `kl_to_prior()`: KL(q(z|x) || N(0, I)) per example, `[B]`.
- `distribution`: the `tfp.distributions` object of the joint.
"""

from __future__ import annotations

import math

import gin
import tensorflow as tf
import tensorflow_probability as tfp

from tfdis.runtime import replicas
from tfdis.utils import gin_validation

tfd = tfp.distributions


class FactorizedGaussian:
    """N(mean, diag(exp(logvar))) per row.

    Args:
        mean: `[B, d]` posterior means.
        logvar: `[B, d]` posterior log-variances.
    """

    def __init__(self, mean: tf.Tensor, logvar: tf.Tensor):
        self.mean = tf.convert_to_tensor(mean)
        self.logvar = tf.convert_to_tensor(logvar, dtype=self.mean.dtype)
        if self.mean.shape.rank != 2 or self.logvar.shape.rank != 2:
            raise ValueError(
                f"mean and logvar must be [B, d]; got shapes {self.mean.shape} and "
                f"{self.logvar.shape}"
            )
        if not self.mean.shape.is_compatible_with(self.logvar.shape):
            raise ValueError(
                f"mean and logvar shapes differ: {self.mean.shape} vs {self.logvar.shape}"
            )

    @property
    def stddev(self) -> tf.Tensor:
        return tf.exp(0.5 * self.logvar)

    @property
    def num_latent(self) -> int:
        return int(self.mean.shape[-1])

    @property
    def distribution(self) -> tfd.Distribution:
        return tfd.Independent(tfd.Normal(self.mean, self.stddev), reinterpreted_batch_ndims=1)

    def sample_noise(self, seed: tf.Tensor) -> tf.Tensor:
        """Standard noise eps `[B, d]` such that z = mean + stddev * eps.

        In a multi-replica step the rows are this replica's rows of the global batch's draw, so
        sharding leaves every example's noise as on one device.
        """
        return replicas.stateless_normal(tf.shape(self.mean), seed=seed, dtype=self.mean.dtype)

    def sample(self, seed: tf.Tensor) -> tf.Tensor:
        return self.mean + self.stddev * self.sample_noise(seed)

    def marginal_log_prob(self, z: tf.Tensor) -> tf.Tensor:
        """log q(z_j|x) per dimension, `[B, d]`; also right for the correlated posterior (unit-
        diagonal S leaves the marginals N(mean_j, stddev_j^2))."""
        return tfd.Normal(self.mean, self.stddev).log_prob(z)

    def log_prob(self, z: tf.Tensor) -> tf.Tensor:
        return tf.reduce_sum(self.marginal_log_prob(z), axis=-1)

    def kl_per_dim(self) -> tf.Tensor:
        """KL(q(z_j|x) || N(0, 1)) per dimension, `[B, d]`.

        For the correlated posterior these are the marginals' KLs: they sum to the joint KL plus
        1/2 log det S, not to `kl_to_prior()`.
        """
        return 0.5 * (tf.square(self.mean) + tf.exp(self.logvar) - self.logvar - 1.0)

    def kl_to_prior(self) -> tf.Tensor:
        return tf.reduce_sum(self.kl_per_dim(), axis=-1)


def log_det_equicorrelation(num_latent: int, correlation: float) -> float:
    """log det S for S = (1-s) I + s 11^T of size d: (d-1) log(1-s) + log(1+(d-1)s)."""
    d, s = num_latent, correlation
    return (d - 1) * math.log1p(-s) + math.log1p((d - 1) * s)


class CorrelatedGaussian(FactorizedGaussian):
    """N(mean, diag(sigma) S diag(sigma)), S = (1-s) I + s 11^T (Yang et al.; SPEC section 5).

    Per-dimension marginals equal the factorized ones; the joint has full covariance.

    Args:
        mean: `[B, d]` posterior means.
        logvar: `[B, d]` per-dimension log-variances.
        correlation: the noise correlation s in [0, 1).
    """

    def __init__(self, mean: tf.Tensor, logvar: tf.Tensor, correlation: float):
        if not 0.0 <= correlation < 1.0:
            raise ValueError(f"correlation must be in [0, 1), got {correlation}")
        super().__init__(mean, logvar)
        self.correlation = float(correlation)

    def noise_cholesky(self) -> tf.Tensor:
        """Cholesky factor of S, `[d, d]`."""
        d, s = self.num_latent, self.correlation
        cov = (1.0 - s) * tf.eye(d, dtype=self.mean.dtype) + s * tf.ones((d, d), self.mean.dtype)
        return tf.linalg.cholesky(cov)

    @property
    def distribution(self) -> tfd.Distribution:
        scale_tril = self.stddev[:, :, None] * self.noise_cholesky()[None]
        return tfd.MultivariateNormalTriL(loc=self.mean, scale_tril=scale_tril)

    def sample_noise(self, seed: tf.Tensor) -> tf.Tensor:
        # Exact and O(d): eps = sqrt(1-s) xi + sqrt(s) eta 1.
        shape = tf.shape(self.mean)
        noise = replicas.stateless_normal(
            shape + tf.constant([0, 1]), seed=seed, dtype=self.mean.dtype
        )
        xi, eta = noise[:, :-1], noise[:, -1:]
        s = self.correlation
        return math.sqrt(1.0 - s) * xi + math.sqrt(s) * eta

    def log_prob(self, z: tf.Tensor) -> tf.Tensor:
        """Full-covariance joint log-density `[B]` of `z` `[B, d]`."""
        return self.distribution.log_prob(z)

    def kl_to_prior(self) -> tf.Tensor:
        """Factorized KL - 1/2 log det S, `[B]` (tr and mean terms are unchanged by S)."""
        logdet = log_det_equicorrelation(self.num_latent, self.correlation)
        return super().kl_to_prior() - 0.5 * logdet


# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {"posterior": {"correlation": {"kind": "number", "minimum": 0, "below": 1}}},
)


@gin.configurable("posterior")
def make_gaussian_posterior(
    mean: tf.Tensor, logvar: tf.Tensor, correlation: float = 0.0
) -> FactorizedGaussian:
    """Builds the Gaussian posterior chosen by gin (`posterior.correlation`, default 0).

    Args:
        mean: `[B, d]` means.
        logvar: `[B, d]` log-variances.
        correlation: noise correlation s; 0 gives the factorized posterior.
    """
    gin_validation.check_parameters("posterior", locals(), _GIN_RULES["posterior"])
    if correlation == 0.0:
        return FactorizedGaussian(mean, logvar)
    return CorrelatedGaussian(mean, logvar, correlation)
