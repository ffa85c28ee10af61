"""Relaxed categorical posterior q(c|x) for discrete codes (JointVAE; SPEC section 5).

Gumbel-softmax (concrete) relaxation of a one-hot categorical with class probabilities alpha:
y = softmax((log(alpha + 1e-12) + g) / tau), g ~ Gumbel(0, 1), tau = 0.67 by default. At
evaluation the code is the hard one-hot of argmax alpha. The prior is uniform over K classes, so
KL(q(c|x) || p(c)) = log K + sum_k alpha_k log alpha_k.

The interface mirrors the Gaussian posteriors: `mean`, `stddev` (of the one-hot categorical),
`sample(seed)`, `log_prob(y)`, `marginal_log_prob(y)`, `kl_to_prior()`, `distribution`.
"""

from __future__ import annotations

import math

import gin
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from tfdis.runtime import replicas
from tfdis.utils import gin_validation

tfd = tfp.distributions

# Added inside the log so alpha = 0 stays finite (JointVAE's constant).
_EPS = 1e-12


class RelaxedCategorical:
    """Gumbel-softmax relaxation of OneHotCategorical(alpha), per row.

    Args:
        alpha: `[B, K]` class probabilities (rows sum to one), K >= 2.
        temperature: relaxation temperature tau > 0.
    """

    def __init__(self, alpha: tf.Tensor, temperature: float = 0.67):
        self.alpha = tf.convert_to_tensor(alpha)
        if not self.alpha.dtype.is_floating:
            raise ValueError(f"alpha must be floating point, got {self.alpha.dtype}")
        if self.alpha.shape.rank != 2:
            raise ValueError(f"alpha must be [B, K], got shape {self.alpha.shape}")
        num_categories = self.alpha.shape[-1]
        if num_categories is not None and num_categories < 2:
            raise ValueError(f"alpha needs at least 2 categories, got {num_categories}")
        if not temperature > 0.0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.temperature = float(temperature)

    @classmethod
    def from_logits(cls, logits: tf.Tensor, temperature: float = 0.67) -> RelaxedCategorical:
        """Builds the posterior from unnormalized logits `[B, K]` (alpha = softmax(logits))."""
        return cls(tf.nn.softmax(logits, axis=-1), temperature)

    @property
    def num_categories(self) -> int:
        return int(self.alpha.shape[-1])

    @property
    def logits(self) -> tf.Tensor:
        """log(alpha + 1e-12), `[B, K]`: the Gumbel-softmax location."""
        return tf.math.log(self.alpha + _EPS)

    @property
    def mean(self) -> tf.Tensor:
        """E[one_hot(c)] = alpha, `[B, K]`."""
        return self.alpha

    @property
    def stddev(self) -> tf.Tensor:
        """Per-coordinate stddev of the one-hot code, sqrt(alpha (1 - alpha)), `[B, K]`."""
        return tf.sqrt(self.alpha * (1.0 - self.alpha))

    @property
    def distribution(self) -> tfd.Distribution:
        """The relaxed (training-time) distribution over the simplex."""
        return tfd.RelaxedOneHotCategorical(self.temperature, logits=self.logits)

    @property
    def hard_distribution(self) -> tfd.Distribution:
        """The discrete one-hot categorical the relaxation approximates."""
        return tfd.OneHotCategorical(logits=self.logits, dtype=self.alpha.dtype)

    def sample_gumbel(self, seed: tf.Tensor) -> tf.Tensor:
        """Standard Gumbel noise `[B, K]` from a stateless int32 `[2]` seed.

        In a multi-replica step the rows are this replica's rows of the global batch's draw.
        """
        # Open interval keeps both logs finite.
        tiny = float(np.finfo(self.alpha.dtype.as_numpy_dtype).tiny)
        uniform = replicas.stateless_uniform(
            tf.shape(self.alpha), seed=seed, minval=tiny, maxval=1.0, dtype=self.alpha.dtype
        )
        return -tf.math.log(-tf.math.log(uniform))

    def sample(self, seed: tf.Tensor, training: bool = True) -> tf.Tensor:
        """A code `[B, K]` on the simplex.

        Args:
            seed: stateless int32 `[2]` seed (ignored when `training` is False).
            training: True gives the reparameterized Gumbel-softmax sample; False gives the
                evaluation code one_hot(argmax alpha).
        """
        if not training:
            return self.mode()
        return tf.nn.softmax((self.logits + self.sample_gumbel(seed)) / self.temperature, axis=-1)

    def mode(self) -> tf.Tensor:
        """one_hot(argmax alpha), `[B, K]`."""
        return tf.one_hot(
            tf.argmax(self.alpha, axis=-1), self.num_categories, dtype=self.alpha.dtype
        )

    def log_prob(self, y: tf.Tensor) -> tf.Tensor:
        """Relaxed (concrete) log-density `[B]` of simplex points `y` `[B, K]`."""
        return self.distribution.log_prob(y)

    def marginal_log_prob(self, y: tf.Tensor) -> tf.Tensor:
        """log q(y_k|x) `[B, K]` of one-hot codes `y`: each coordinate is Bernoulli(alpha_k)."""
        y = tf.convert_to_tensor(y, dtype=self.alpha.dtype)
        return y * tf.math.log(self.alpha + _EPS) + (1.0 - y) * tf.math.log1p(-self.alpha + _EPS)

    def kl_to_prior(self) -> tf.Tensor:
        """KL(Cat(alpha) || Uniform(K)) = log K + sum alpha log alpha, `[B]`."""
        k = self.num_categories
        return math.log(k) + tf.reduce_sum(self.alpha * tf.math.log(self.alpha + _EPS), axis=-1)


# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {"relaxed_categorical": {"temperature": {"kind": "number", "positive": True}}},
)


@gin.configurable("relaxed_categorical")
def make_relaxed_categorical(alpha: tf.Tensor, temperature: float = 0.67) -> RelaxedCategorical:
    """Builds the gin-chosen relaxed categorical (`relaxed_categorical.temperature`, 0.67).

    Args:
        alpha: `[B, K]` class probabilities.
        temperature: Gumbel-softmax temperature.
    """
    gin_validation.check_parameters(
        "relaxed_categorical", locals(), _GIN_RULES["relaxed_categorical"]
    )
    return RelaxedCategorical(alpha, temperature)
