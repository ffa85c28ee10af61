"""Shapes and parameter counts of the SPEC section 4 architectures."""

from __future__ import annotations

import numpy as np
import pytest

from tfdis.models import architectures


def _count(model) -> int:
    return int(sum(np.prod(v.shape) for v in model.trainable_variables))


def test_dlib_conv_encoder_shapes_and_parameters():
    encoder = architectures.conv_encoder(input_shape=(64, 64, 1), num_latent=10)
    mean, logvar = encoder(np.zeros((2, 64, 64, 1), np.float32))
    assert mean.shape == (2, 10) and logvar.shape == (2, 10)
    # Conv(32,4) Conv(32,4) Conv(64,2) Conv(64,2), 4x4x64 -> Dense 256 -> 2 x Dense 10.
    expected = (
        (4 * 4 * 1 * 32 + 32)
        + (4 * 4 * 32 * 32 + 32)
        + (2 * 2 * 32 * 64 + 64)
        + (2 * 2 * 64 * 64 + 64)
        + (1024 * 256 + 256)
        + 2 * (256 * 10 + 10)
    )
    assert _count(encoder) == expected


def test_dlib_deconv_decoder_shapes_and_parameters():
    decoder = architectures.deconv_decoder(num_latent=10, output_shape=(64, 64, 3))
    assert decoder(np.zeros((2, 10), np.float32)).shape == (2, 64, 64, 3)
    expected = (
        (10 * 256 + 256)
        + (256 * 1024 + 1024)
        + (4 * 4 * 64 * 64 + 64)
        + (4 * 4 * 64 * 32 + 32)
        + (4 * 4 * 32 * 32 + 32)
        + (4 * 4 * 32 * 3 + 3)
    )
    assert _count(decoder) == expected


def test_rtc_paper_conv_shapes_and_parameters():
    # Paper 003, Table 2: conv 32, 64, 64, 64 (4x4 s2 p1), conv 512 (4x4 s1), 1x1 conv to d (x2
    # for mean and logvar); decoder 1x1 upconv 512, 4x4 upconv 64 (s1), 64, 32, 32, nc (s2 p1).
    encoder = architectures.rtc_conv_encoder(input_shape=(64, 64, 1), num_latent=10)
    mean, logvar = encoder(np.zeros((2, 64, 64, 1), np.float32))
    assert mean.shape == (2, 10) and logvar.shape == (2, 10)
    sides = [layer.output.shape[1] for layer in encoder.layers if "conv" in layer.name]
    assert sides == [32, 16, 8, 4, 1]
    assert _count(encoder) == (
        (4 * 4 * 1 * 32 + 32)
        + (4 * 4 * 32 * 64 + 64)
        + 2 * (4 * 4 * 64 * 64 + 64)
        + (4 * 4 * 64 * 512 + 512)
        + 2 * (512 * 10 + 10)
    )
    decoder = architectures.rtc_deconv_decoder(num_latent=10, output_shape=(64, 64, 3))
    assert decoder(np.zeros((2, 10), np.float32)).shape == (2, 64, 64, 3)
    sides = [layer.output.shape[1] for layer in decoder.layers if "conv" in layer.name]
    assert sides == [1, 4, 8, 16, 32, 64]
    assert _count(decoder) == (
        (10 * 512 + 512)
        + (4 * 4 * 512 * 64 + 64)
        + (4 * 4 * 64 * 64 + 64)
        + (4 * 4 * 64 * 32 + 32)
        + (4 * 4 * 32 * 32 + 32)
        + (4 * 4 * 32 * 3 + 3)
    )
    assert decoder.layers[-1].activation.__name__ == "linear"  # logits


def test_chen_mlp_shapes_and_parameters():
    encoder = architectures.fc_encoder(input_shape=(64, 64, 1), num_latent=10)
    decoder = architectures.fc_decoder(num_latent=10, output_shape=(64, 64, 1))
    assert _count(encoder) == (4096 * 1200 + 1200) + (1200 * 1200 + 1200) + 2 * (1200 * 10 + 10)
    assert _count(decoder) == ((10 * 1200 + 1200) + 2 * (1200 * 1200 + 1200) + (1200 * 4096 + 4096))
    assert decoder(np.zeros((3, 10), np.float32)).shape == (3, 64, 64, 1)


@pytest.mark.parametrize("side", [32, 64])
def test_cascade_conv_handles_32_and_64(side):
    encoder = architectures.cascade_conv_encoder(input_shape=(side, side, 1), num_latent=6)
    decoder = architectures.cascade_deconv_decoder(num_latent=6, output_shape=(side, side, 1))
    mean, logvar = encoder(np.random.RandomState(0).rand(4, side, side, 1).astype(np.float32))
    assert mean.shape == (4, 6)
    # sigma = softplus(raw) is returned as logvar = 2 log sigma, so sigma is positive and finite.
    assert np.isfinite(logvar.numpy()).all()
    assert decoder(np.zeros((4, 6), np.float32)).shape == (4, side, side, 1)
    num_convs = sum(
        "conv2d" in layer.name and "transpose" not in layer.name for layer in encoder.layers
    )
    assert num_convs == (4 if side == 64 else 3)


def test_factorvae_discriminator():
    disc = architectures.fc_discriminator(num_latent=10)
    assert disc(np.zeros((5, 10), np.float32)).shape == (5, 2)
    assert _count(disc) == (10 * 1000 + 1000) + 5 * (1000 * 1000 + 1000) + (1000 * 2 + 2)


def test_wrong_image_size_is_a_clear_error():
    with pytest.raises(ValueError, match="conv_encoder takes square images of side \\[64\\]"):
        architectures.conv_encoder(input_shape=(32, 32, 1), num_latent=10)
