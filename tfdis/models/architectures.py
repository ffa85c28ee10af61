"""Encoder, decoder and discriminator networks (SPEC section 4).

Each `*_encoder` builds a Keras model mapping images `[B, H, W, C]` to `(mean, logvar)`, each
`[B, d]`; each `*_decoder` maps latents `[B, d]` to logits `[B, H, W, C]`. The gin-configurable
factories `encoder` and `decoder` pick the architecture by name, as dlib does
(`encoder.encoder_fn = @conv_encoder`, `encoder.num_latent = 10`, `decoder.decoder_fn = @deconv_decoder`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import gin
import keras
import numpy as np
from keras import layers

from tfdis.utils import gin_validation

# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "encoder": {
            "num_latent": {"kind": "int", "positive": True},
            "encoder_fn": {"kind": "callable"},
        },
        "decoder": {"decoder_fn": {"kind": "callable"}},
        "discriminator": {"discriminator_fn": {"kind": "callable"}},
        "cascade_conv_encoder": {
            "scale_parameterization": {"kind": "str", "choices": ("softplus", "logvar")}
        },
        "fc_discriminator": {
            "num_units": {"kind": "int", "positive": True},
            "num_layers": {"kind": "int", "minimum": 0},
        },
    },
)


@gin.configurable("encoder", denylist=["input_shape"])
def make_gaussian_encoder(
    input_shape: Sequence[int],
    num_latent: int = gin.REQUIRED,
    encoder_fn: Callable[..., keras.Model] = gin.REQUIRED,
) -> keras.Model:
    """Builds the gin-chosen Gaussian encoder: images `[B, *input_shape]` -> (mean, logvar) `[B, d]`."""
    gin_validation.check_parameters("encoder", locals(), _GIN_RULES["encoder"])
    return encoder_fn(input_shape=tuple(input_shape), num_latent=num_latent)


@gin.configurable("decoder", denylist=["num_latent", "output_shape"])
def make_decoder(
    num_latent: int,
    output_shape: Sequence[int],
    decoder_fn: Callable[..., keras.Model] = gin.REQUIRED,
) -> keras.Model:
    """Builds the gin-chosen decoder: latents `[B, num_latent]` -> logits `[B, *output_shape]`."""
    gin_validation.check_parameters("decoder", locals(), _GIN_RULES["decoder"])
    return decoder_fn(num_latent=num_latent, output_shape=tuple(output_shape))


@gin.configurable("discriminator", denylist=["num_latent"])
def make_discriminator(
    num_latent: int, discriminator_fn: Callable[..., keras.Model] = gin.REQUIRED
) -> keras.Model:
    """Builds the gin-chosen TC discriminator: codes `[B, d]` -> 2 logits `[B, 2]`."""
    gin_validation.check_parameters("discriminator", locals(), _GIN_RULES["discriminator"])
    return discriminator_fn(num_latent=num_latent)


def _gaussian_heads(hidden: keras.KerasTensor, num_latent: int) -> list[keras.KerasTensor]:
    mean = layers.Dense(num_latent, name="means")(hidden)
    logvar = layers.Dense(num_latent, name="log_var")(hidden)
    return [mean, logvar]


def _check_spatial(input_shape: Sequence[int], allowed: Sequence[int], name: str) -> None:
    if len(input_shape) != 3 or input_shape[0] != input_shape[1] or input_shape[0] not in allowed:
        raise ValueError(
            f"{name} takes square images of side {list(allowed)} as [H, W, C], got {list(input_shape)}"
        )


@gin.configurable("conv_encoder", allowlist=[])
def conv_encoder(input_shape: Sequence[int], num_latent: int) -> keras.Model:
    """dlib's convolutional encoder for 64x64 images (the default).

    Conv(32,4,s2) Conv(32,4,s2) Conv(64,2,s2) Conv(64,2,s2) ReLU -> Dense 256 -> (mean, logvar).
    """
    _check_spatial(input_shape, (64,), "conv_encoder")
    images = keras.Input(shape=tuple(input_shape), name="images")
    h = images
    for filters, kernel in ((32, 4), (32, 4), (64, 2), (64, 2)):
        h = layers.Conv2D(filters, kernel, strides=2, padding="same", activation="relu")(h)
    h = layers.Flatten()(h)
    h = layers.Dense(256, activation="relu")(h)
    return keras.Model(images, _gaussian_heads(h, num_latent), name="conv_encoder")


@gin.configurable("deconv_decoder", allowlist=[])
def deconv_decoder(num_latent: int, output_shape: Sequence[int]) -> keras.Model:
    """dlib's deconvolutional decoder for 64x64 images (the default).

    Dense 256 -> Dense 1024 -> 4x4x64 -> ConvT 64, 32, 32 (4x4 s2 ReLU) -> ConvT C (logits).
    """
    _check_spatial(output_shape, (64,), "deconv_decoder")
    latents = keras.Input(shape=(num_latent,), name="latents")
    h = layers.Dense(256, activation="relu")(latents)
    h = layers.Dense(1024, activation="relu")(h)
    h = layers.Reshape((4, 4, 64))(h)
    for filters in (64, 32, 32):
        h = layers.Conv2DTranspose(filters, 4, strides=2, padding="same", activation="relu")(h)
    logits = layers.Conv2DTranspose(output_shape[2], 4, strides=2, padding="same")(h)
    return keras.Model(latents, logits, name="deconv_decoder")


@gin.configurable("rtc_conv_encoder", allowlist=[])
def rtc_conv_encoder(input_shape: Sequence[int], num_latent: int) -> keras.Model:
    """The RTC paper's encoder for 64x64 images (paper 003, Table 2).

    Conv 32, 64, 64, 64 (4x4, stride 2, padding 1: 'same') -> Conv 512 (4x4, stride 1, no
    padding: 4x4 -> 1x1), all ReLU -> 1x1 conv to (mean, logvar). The table's last layer has
    10 = d channels; a Gaussian encoder needs a mean and a log-variance per dimension, so it has
    2d (two 1x1 convolutions of the 1x1x512 map, i.e. two Dense heads), as in the FactorVAE
    reference code the table follows.
    """
    _check_spatial(input_shape, (64,), "rtc_conv_encoder")
    images = keras.Input(shape=tuple(input_shape), name="images")
    h = images
    for filters in (32, 64, 64, 64):
        h = layers.Conv2D(filters, 4, strides=2, padding="same", activation="relu")(h)
    h = layers.Conv2D(512, 4, strides=1, padding="valid", activation="relu")(h)
    h = layers.Flatten()(h)
    return keras.Model(images, _gaussian_heads(h, num_latent), name="rtc_conv_encoder")


@gin.configurable("rtc_deconv_decoder", allowlist=[])
def rtc_deconv_decoder(num_latent: int, output_shape: Sequence[int]) -> keras.Model:
    """The RTC paper's decoder for 64x64 images (paper 003, Table 2).

    1x1 upconv 512 (on z as a 1x1 map) -> 4x4 upconv 64 (stride 1: 1x1 -> 4x4) -> 4x4 upconv
    64, 32, 32 (stride 2, padding 1: 'same'), all ReLU -> 4x4 upconv C (stride 2) to 64x64
    logits. The table lists a ReLU after the last layer too; its output is the Bernoulli
    logits, where a ReLU would keep every pixel's probability at 1/2 or more, so there is none.
    """
    _check_spatial(output_shape, (64,), "rtc_deconv_decoder")
    latents = keras.Input(shape=(num_latent,), name="latents")
    h = layers.Reshape((1, 1, num_latent))(latents)
    h = layers.Conv2DTranspose(512, 1, strides=1, activation="relu")(h)
    h = layers.Conv2DTranspose(64, 4, strides=1, padding="valid", activation="relu")(h)
    for filters in (64, 32, 32):
        h = layers.Conv2DTranspose(filters, 4, strides=2, padding="same", activation="relu")(h)
    logits = layers.Conv2DTranspose(output_shape[2], 4, strides=2, padding="same")(h)
    return keras.Model(latents, logits, name="rtc_deconv_decoder")


@gin.configurable("fc_encoder", allowlist=[])
def fc_encoder(input_shape: Sequence[int], num_latent: int) -> keras.Model:
    """Chen et al.'s MLP encoder (dlib's fc_encoder): flatten -> 1200 -> 1200 (ReLU) -> (mean, logvar)."""
    images = keras.Input(shape=tuple(input_shape), name="images")
    h = layers.Flatten()(images)
    h = layers.Dense(1200, activation="relu")(h)
    h = layers.Dense(1200, activation="relu")(h)
    return keras.Model(images, _gaussian_heads(h, num_latent), name="fc_encoder")


@gin.configurable("fc_decoder", allowlist=[])
def fc_decoder(num_latent: int, output_shape: Sequence[int]) -> keras.Model:
    """Chen et al.'s MLP decoder (dlib's fc_decoder): 1200 x3 (tanh) -> prod(shape) logits."""
    latents = keras.Input(shape=(num_latent,), name="latents")
    h = latents
    for _ in range(3):
        h = layers.Dense(1200, activation="tanh")(h)
    h = layers.Dense(int(np.prod(output_shape)))(h)
    logits = layers.Reshape(tuple(output_shape))(h)
    return keras.Model(latents, logits, name="fc_decoder")


@gin.configurable("test_encoder", allowlist=[])
def test_encoder(input_shape: Sequence[int], num_latent: int) -> keras.Model:
    """dlib's encoder for its test configs: flatten -> (mean, logvar), one Dense layer each."""
    images = keras.Input(shape=tuple(input_shape), name="images")
    h = layers.Flatten()(images)
    return keras.Model(images, _gaussian_heads(h, num_latent), name="test_encoder")


@gin.configurable("test_decoder", allowlist=[])
def test_decoder(num_latent: int, output_shape: Sequence[int]) -> keras.Model:
    """dlib's decoder for its test configs: one Dense layer to prod(shape) logits."""
    latents = keras.Input(shape=(num_latent,), name="latents")
    h = layers.Dense(int(np.prod(output_shape)))(latents)
    logits = layers.Reshape(tuple(output_shape))(h)
    return keras.Model(latents, logits, name="test_decoder")


@gin.configurable("cascade_conv_encoder", allowlist=["scale_parameterization"])
def cascade_conv_encoder(
    input_shape: Sequence[int], num_latent: int, scale_parameterization: str = "softplus"
) -> keras.Model:
    """CascadeVAE / JointVAE encoder (seed supplement Tables 1-2): 4x4 convs, s2, ReLU.

    Four convs (32, 32, 64, 64) for 64x64 inputs, three (32, 32, 64) for 32x32, then Dense 256.
    CascadeVAE predicts sigma = softplus(raw); it is returned as logvar = 2 log sigma so every
    model and metric sees one parameterization.

    Args:
        scale_parameterization: "softplus" (CascadeVAE) or "logvar" (JointVAE, dlib).
    """
    gin_validation.check_parameters(
        "cascade_conv_encoder", locals(), _GIN_RULES["cascade_conv_encoder"]
    )
    _check_spatial(input_shape, (32, 64), "cascade_conv_encoder")
    filters = (32, 32, 64, 64) if input_shape[0] == 64 else (32, 32, 64)
    images = keras.Input(shape=tuple(input_shape), name="images")
    h = images
    for f in filters:
        h = layers.Conv2D(f, 4, strides=2, padding="same", activation="relu")(h)
    h = layers.Flatten()(h)
    h = layers.Dense(256, activation="relu")(h)
    mean = layers.Dense(num_latent, name="means")(h)
    raw = layers.Dense(
        num_latent, name="log_var" if scale_parameterization == "logvar" else "raw_sigma"
    )(h)
    if scale_parameterization == "softplus":
        raw = layers.Lambda(
            lambda r: 2.0 * keras.ops.log(keras.ops.softplus(r) + 1e-8), name="log_var"
        )(raw)
    return keras.Model(images, [mean, raw], name="cascade_conv_encoder")


@gin.configurable("cascade_deconv_decoder", allowlist=[])
def cascade_deconv_decoder(num_latent: int, output_shape: Sequence[int]) -> keras.Model:
    """CascadeVAE / JointVAE decoder: Dense 256 -> Dense 1024 -> 4x4x64 -> 4x4 ConvT s2 -> logits.

    64x64: ConvT 64, 32, 32, C; 32x32: ConvT 32, 32, C (seed supplement Tables 1-2).
    """
    _check_spatial(output_shape, (32, 64), "cascade_deconv_decoder")
    filters = (64, 32, 32) if output_shape[0] == 64 else (32, 32)
    latents = keras.Input(shape=(num_latent,), name="latents")
    h = layers.Dense(256, activation="relu")(latents)
    h = layers.Dense(64 * 4 * 4, activation="relu")(h)
    h = layers.Reshape((4, 4, 64))(h)
    for f in filters:
        h = layers.Conv2DTranspose(f, 4, strides=2, padding="same", activation="relu")(h)
    logits = layers.Conv2DTranspose(output_shape[2], 4, strides=2, padding="same")(h)
    return keras.Model(latents, logits, name="cascade_deconv_decoder")


@gin.configurable("fc_discriminator", allowlist=["num_units", "num_layers"])
def fc_discriminator(num_latent: int, num_units: int = 1000, num_layers: int = 6) -> keras.Model:
    """FactorVAE's discriminator: `num_layers` x Dense(num_units, LeakyReLU 0.2) -> 2 logits."""
    gin_validation.check_parameters("fc_discriminator", locals(), _GIN_RULES["fc_discriminator"])
    codes = keras.Input(shape=(num_latent,), name="codes")
    h = codes
    for _ in range(num_layers):
        h = layers.Dense(num_units)(h)
        h = layers.LeakyReLU(negative_slope=0.2)(h)
    logits = layers.Dense(2, name="logits")(h)
    return keras.Model(codes, logits, name="fc_discriminator")
