"""Gin-configurable optimizers with dlib's names (`vae_optimizer.optimizer_fn = @AdamOptimizer`)."""

from __future__ import annotations

from collections.abc import Callable

import gin
import keras

from tfdis.utils import gin_validation

_NUMBER = {"kind": "number"}
# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "AdamOptimizer": {
            "learning_rate": {**_NUMBER, "positive": True},
            "beta1": {**_NUMBER, "minimum": 0, "below": 1},
            "beta2": {**_NUMBER, "minimum": 0, "below": 1},
            "epsilon": {**_NUMBER, "minimum": 0},
            "weight_decay": {**_NUMBER, "minimum": 0, "optional": True},
            "name": {"kind": "str"},
            "use_locking": {"kind": "bool"},
        },
        **{
            name: {
                "optimizer_fn": {"kind": "callable"},
                "learning_rate": {**_NUMBER, "positive": True, "optional": True},
            }
            for name in ("vae_optimizer", "discriminator_optimizer", "generator_optimizer")
        },
    },
)


@gin.configurable("AdamOptimizer")
def adam_optimizer(
    learning_rate: float = 1e-4,
    beta1: float = 0.9,
    beta2: float = 0.999,
    epsilon: float = 1e-8,
    weight_decay: float | None = None,
    name: str = "Adam",
    use_locking: bool = False,
) -> keras.optimizers.Optimizer:
    """Adam with TF1's argument names, so dlib configs carry over; `weight_decay` gives AdamW.

    `name` and `use_locking` are accepted because dlib's configs bind them; TF2 ignores them.
    """
    gin_validation.check_parameters("AdamOptimizer", locals(), _GIN_RULES["AdamOptimizer"])
    del name, use_locking
    if weight_decay:
        return keras.optimizers.AdamW(
            learning_rate=learning_rate,
            beta_1=beta1,
            beta_2=beta2,
            epsilon=epsilon,
            weight_decay=weight_decay,
        )
    return keras.optimizers.Adam(
        learning_rate=learning_rate, beta_1=beta1, beta_2=beta2, epsilon=epsilon
    )


def _make_optimizer(
    optimizer_fn: Callable[..., keras.optimizers.Optimizer], learning_rate: float | None
) -> keras.optimizers.Optimizer:
    # dlib's factories take an optional learning_rate that overrides the optimizer's own.
    if learning_rate is None:
        return optimizer_fn()
    return optimizer_fn(learning_rate=learning_rate)


@gin.configurable("vae_optimizer")
def make_vae_optimizer(
    optimizer_fn: Callable[..., keras.optimizers.Optimizer] = adam_optimizer,
    learning_rate: float | None = None,
) -> keras.optimizers.Optimizer:
    """The optimizer of the VAE's encoder and decoder."""
    gin_validation.check_parameters("vae_optimizer", locals(), _GIN_RULES["vae_optimizer"])
    return _make_optimizer(optimizer_fn, learning_rate)


@gin.configurable("discriminator_optimizer")
def make_discriminator_optimizer(
    optimizer_fn: Callable[..., keras.optimizers.Optimizer] = adam_optimizer,
    learning_rate: float | None = None,
) -> keras.optimizers.Optimizer:
    """The optimizer of a model's discriminator (FactorVAE)."""
    gin_validation.check_parameters(
        "discriminator_optimizer", locals(), _GIN_RULES["discriminator_optimizer"]
    )
    return _make_optimizer(optimizer_fn, learning_rate)


@gin.configurable("generator_optimizer")
def make_generator_optimizer(
    optimizer_fn: Callable[..., keras.optimizers.Optimizer] = adam_optimizer,
    learning_rate: float | None = None,
) -> keras.optimizers.Optimizer:
    """The optimizer of a GAN's generator (InfoGAN)."""
    gin_validation.check_parameters(
        "generator_optimizer", locals(), _GIN_RULES["generator_optimizer"]
    )
    return _make_optimizer(optimizer_fn, learning_rate)
