"""Supervised losses and gamma_sup annealers of the semi-supervised VAEs (issue 16).

Locatello et al., "Disentangling Factors of Variation Using Few Labels" (ICLR 2020), with dlib's
gin names: `supervised_loss.loss_fn = @l2 | @xent | @cov | @embed` and `annealer.anneal_fn =
@fixed | @anneal | @fine_tune` with `annealer.iteration_threshold`.

Each loss scores the posterior means r `[B, d]` of a labelled batch against its labels y
`[B, F]` (float32 factor indices; F <= d, latent j tied to factor j for l2, xent and embed).
Sums run over the batch and the factors, as dlib's:

- `l2(learn_scale=True)`: sum (b r_j - y_j)^2 with a learned scale b (initial 1). Without the
  scale: sum (sigmoid(r_j) - y_j / n_j)^2, n_j the values of factor j. dlib's code broadcasts
  `[B, 1, F]` against `[B, F]` there, pairing every point with every other point's labels;
  tfdis pairs each point with its own labels.
- `xent`: sum of the sigmoid cross-entropy of logits r_j against y_j / n_j.
- `cov`: the squared Frobenius norm of the batch covariance of (r, y) `[d, F]` with its diagonal
  (min(d, F) entries) set to zero.
- `embed(sigma, use_order=False)`: per factor, values embedded on the line (e_1..e_n learned, or
  with `use_order` e_v = slope v + bias); logits -((r_j - e_v) sigma)^2; the batch-mean softmax
  cross-entropy of the true value, summed over factors. `sigma = "learn"` learns it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import gin
import keras
import tensorflow as tf

from tfdis.utils import gin_validation


class SupervisedLoss(keras.layers.Layer):
    """A supervised loss with its learned parameters (trained with the VAE's optimizer).

    Args:
        factor_sizes: values per labelled factor.
    """

    def __init__(self, factor_sizes: Sequence[int], name: str | None = None):
        super().__init__(name=name, dtype="float32")
        self.factor_sizes = [int(s) for s in factor_sizes]

    @property
    def num_factors(self) -> int:
        return len(self.factor_sizes)

    def check_latents(self, num_latent: int) -> None:
        """Raises `ValueError` if the loss needs a latent per labelled factor and has fewer."""
        if num_latent < self.num_factors:
            raise ValueError(
                f"the supervised loss {type(self).__name__} ties latent j to factor j: it needs "
                f"encoder.num_latent >= {self.num_factors} labelled factors, got {num_latent}"
            )

    def normalized(self, labels: tf.Tensor) -> tf.Tensor:
        """Labels divided by their factors' numbers of values (dlib's `normalize_labels`)."""
        return labels / tf.constant(self.factor_sizes, tf.float32)[None, :]


class L2Loss(SupervisedLoss):
    def __init__(self, factor_sizes, learn_scale: bool = True):
        super().__init__(factor_sizes, name="l2")
        self.learn_scale = bool(learn_scale)
        self.scale = (
            self.add_weight(shape=(), initializer="ones", name="b") if learn_scale else None
        )

    def call(self, representation: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        r = representation[:, : self.num_factors]
        if self.learn_scale:
            return tf.reduce_sum(tf.square(r * self.scale - labels))
        return tf.reduce_sum(tf.square(tf.sigmoid(r) - self.normalized(labels)))


class XentLoss(SupervisedLoss):
    def __init__(self, factor_sizes):
        super().__init__(factor_sizes, name="xent")

    def call(self, representation: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        return tf.reduce_sum(
            tf.nn.sigmoid_cross_entropy_with_logits(
                labels=self.normalized(labels), logits=representation[:, : self.num_factors]
            )
        )


class CovLoss(SupervisedLoss):
    def __init__(self, factor_sizes):
        super().__init__(factor_sizes, name="cov")

    def check_latents(self, num_latent: int) -> None:
        del num_latent  # every pair (latent, factor) off the diagonal is penalized

    def call(self, representation: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        r = representation - tf.reduce_mean(representation, axis=0)
        y = labels - tf.reduce_mean(labels, axis=0)
        covariance = tf.reduce_mean(r[:, :, None] * y[:, None, :], axis=0)  # [d, F]
        num_diagonal = min(int(representation.shape[-1]), self.num_factors)
        covariance = tf.linalg.set_diag(covariance, tf.zeros([num_diagonal]))
        return tf.reduce_sum(tf.square(covariance))


class EmbedLoss(SupervisedLoss):
    def __init__(self, factor_sizes, sigma: float | str, use_order: bool = False, seed: int = 0):
        super().__init__(factor_sizes, name="embed")
        self.use_order = bool(use_order)
        if sigma != "learn" and not isinstance(sigma, int | float):
            raise ValueError(f"embed.sigma must be a number or 'learn', got {sigma!r}")
        init = keras.initializers.GlorotUniform(seed)
        self.sigma = sigma
        self.sigmas, self.embeddings, self.slopes, self.biases = [], [], [], []
        for i, size in enumerate(self.factor_sizes):
            if use_order:
                self.slopes.append(self.add_weight(shape=(), initializer=init, name=f"slope_{i}"))
                self.biases.append(self.add_weight(shape=(), initializer=init, name=f"bias_{i}"))
            else:
                self.embeddings.append(
                    self.add_weight(shape=(size,), initializer=init, name=f"embedding_{i}")
                )
            if sigma == "learn":
                self.sigmas.append(self.add_weight(shape=(1,), initializer=init, name=f"sigma_{i}"))

    def embedding(self, i: int) -> tf.Tensor:
        """The embedded values of factor i, `[n_i]`."""
        if self.use_order:
            values = tf.range(self.factor_sizes[i], dtype=tf.float32)
            return values * self.slopes[i] + self.biases[i]
        return self.embeddings[i]

    def call(self, representation: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        total = tf.constant(0.0)
        for i, size in enumerate(self.factor_sizes):
            sigma = self.sigmas[i] if self.sigma == "learn" else float(self.sigma)
            logits = -tf.square((representation[:, i, None] - self.embedding(i)[None, :]) * sigma)
            target = tf.one_hot(tf.cast(labels[:, i], tf.int32), size)
            total += tf.reduce_mean(
                tf.nn.softmax_cross_entropy_with_logits(labels=target, logits=logits)
            )
        return total


# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "l2": {"learn_scale": {"kind": "bool"}},
        "embed": {
            "sigma": {"kind": "number", "minimum": 0, "also": ("learn",)},
            "use_order": {"kind": "bool"},
        },
        "supervised_loss": {"loss_fn": {"kind": "callable"}},
        "annealer": {
            "iteration_threshold": {"kind": "int", "positive": True},
            "anneal_fn": {"kind": "callable"},
        },
    },
)


@gin.configurable("l2", denylist=["factor_sizes"])
def l2(factor_sizes: Sequence[int], learn_scale: bool = True) -> SupervisedLoss:
    """gin's `@l2` (dlib's `l2.learn_scale`)."""
    gin_validation.check_parameters("l2", locals(), _GIN_RULES["l2"])
    return L2Loss(factor_sizes, learn_scale)


@gin.configurable("xent", denylist=["factor_sizes"])
def xent(factor_sizes: Sequence[int]) -> SupervisedLoss:
    """gin's `@xent`."""
    return XentLoss(factor_sizes)


@gin.configurable("cov", denylist=["factor_sizes"])
def cov(factor_sizes: Sequence[int]) -> SupervisedLoss:
    """gin's `@cov`."""
    return CovLoss(factor_sizes)


@gin.configurable("embed", denylist=["factor_sizes"])
def embed(
    factor_sizes: Sequence[int], sigma: float | str = gin.REQUIRED, use_order: bool = False
) -> SupervisedLoss:
    """gin's `@embed` (dlib's `embed.sigma`, a number or "learn", and `embed.use_order`)."""
    gin_validation.check_parameters("embed", locals(), _GIN_RULES["embed"])
    return EmbedLoss(factor_sizes, sigma, use_order)


@gin.configurable("supervised_loss", denylist=["factor_sizes"])
def make_supervised_loss(
    factor_sizes: Sequence[int], loss_fn: Callable[..., SupervisedLoss] = gin.REQUIRED
) -> SupervisedLoss:
    """The gin-chosen supervised loss (`supervised_loss.loss_fn = @xent`, dlib's names)."""
    gin_validation.check_parameters("supervised_loss", locals(), _GIN_RULES["supervised_loss"])
    return loss_fn(factor_sizes)


@gin.configurable("fixed", denylist=["gamma", "step", "iteration_threshold"])
def fixed(gamma: float, step: tf.Tensor, iteration_threshold: int) -> tf.Tensor:
    """gamma at every step."""
    del step, iteration_threshold
    return tf.constant(float(gamma))


@gin.configurable("anneal", denylist=["gamma", "step", "iteration_threshold"])
def anneal(gamma: float, step: tf.Tensor, iteration_threshold: int) -> tf.Tensor:
    """gamma min(1, step / iteration_threshold): a linear ramp."""
    fraction = tf.cast(step, tf.float32) / float(iteration_threshold)
    return float(gamma) * tf.minimum(1.0, fraction)


@gin.configurable("fine_tune", denylist=["gamma", "step", "iteration_threshold"])
def fine_tune(gamma: float, step: tf.Tensor, iteration_threshold: int) -> tf.Tensor:
    """0 up to `iteration_threshold`, gamma after it (dlib: gamma min(1, max(0, step - t)))."""
    after = tf.cast(step, tf.float32) - float(iteration_threshold)
    return float(gamma) * tf.minimum(1.0, tf.maximum(0.0, after))


@gin.configurable("annealer", denylist=["gamma", "step"])
def make_annealer(
    gamma: float,
    step: tf.Tensor,
    iteration_threshold: int = gin.REQUIRED,
    anneal_fn: Callable[[float, tf.Tensor, int], tf.Tensor] = gin.REQUIRED,
) -> tf.Tensor:
    """The gin-chosen annealed gamma_sup at `step` (`annealer.anneal_fn`,
    `annealer.iteration_threshold`)."""
    gin_validation.check_parameters("annealer", locals(), _GIN_RULES["annealer"])
    return anneal_fn(gamma, step, iteration_threshold)
