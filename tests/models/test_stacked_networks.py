"""`StackedNetwork`: S networks as one grouped computation equal S separate networks."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from tfdis.models import architectures
from tfdis.models.stacked_networks import StackedNetwork

ARCHITECTURES = [
    (architectures.conv_encoder, architectures.deconv_decoder, (64, 64, 1)),
    (architectures.fc_encoder, architectures.fc_decoder, (64, 64, 1)),
    (architectures.cascade_conv_encoder, architectures.cascade_deconv_decoder, (32, 32, 3)),
]


def _models(encoder_fn, decoder_fn, shape, num_models=3, num_latent=5):
    encoders, decoders = [], []
    for seed in range(num_models):
        keras.utils.set_random_seed(seed)
        encoders.append(encoder_fn(input_shape=shape, num_latent=num_latent))
        decoders.append(decoder_fn(num_latent=num_latent, output_shape=shape))
    return encoders, decoders


@pytest.mark.parametrize("encoder_fn, decoder_fn, shape", ARCHITECTURES)
def test_stacked_networks_compute_each_model_and_its_gradient(encoder_fn, decoder_fn, shape):
    encoders, decoders = _models(encoder_fn, decoder_fn, shape)
    stacked_encoder, stacked_decoder = StackedNetwork(encoders), StackedNetwork(decoders)
    images = tf.random.stateless_uniform([3, 4, *shape], seed=[0, 1])
    with tf.GradientTape() as tape:
        means, logvars = stacked_encoder(images)
        logits = stacked_decoder(means)
        total = tf.reduce_sum(tf.square(logits)) + tf.reduce_sum(logvars)
    gradients = tape.gradient(total, stacked_encoder.variables)
    assert means.shape == (3, 4, 5) and logits.shape == (3, 4, *shape)
    for s in range(3):
        with tf.GradientTape() as tape:
            mean, logvar = encoders[s](images[s])
            logit = decoders[s](mean)
            single_total = tf.reduce_sum(tf.square(logit)) + tf.reduce_sum(logvar)
        single_gradients = tape.gradient(single_total, encoders[s].trainable_variables)
        np.testing.assert_allclose(means[s], mean, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(logvars[s], logvar, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(logits[s], logit, rtol=1e-4, atol=1e-5)
        for stacked_gradient, gradient in zip(gradients, single_gradients, strict=True):
            scale = float(tf.reduce_max(tf.abs(gradient))) + 1e-12
            np.testing.assert_allclose(stacked_gradient[s] / scale, gradient / scale, atol=1e-4)


def test_weights_move_between_the_stack_and_the_models():
    encoders, _ = _models(architectures.conv_encoder, architectures.deconv_decoder, (64, 64, 1))
    stacked = StackedNetwork(encoders)
    kernel = stacked.variables[0]
    assert tuple(kernel.shape) == (3, *encoders[0].layers[1].kernel.shape)
    np.testing.assert_array_equal(kernel.numpy()[2], encoders[2].layers[1].kernel.numpy())
    kernel.assign(kernel.numpy() + 1.0)
    stacked.assign_to(encoders)
    np.testing.assert_array_equal(encoders[1].layers[1].kernel.numpy(), kernel.numpy()[1])
    encoders[0].layers[1].kernel.assign(np.zeros(kernel.shape[1:], np.float32))
    stacked.assign_from(encoders)
    assert not np.any(kernel.numpy()[0])
    np.testing.assert_array_equal(kernel.numpy()[1], encoders[1].layers[1].kernel.numpy())


def test_unstackable_networks_are_refused_by_name():
    encoders, _ = _models(architectures.conv_encoder, architectures.deconv_decoder, (64, 64, 1))
    wider = architectures.conv_encoder(input_shape=(64, 64, 1), num_latent=6)
    with pytest.raises(ValueError, match="another architecture"):
        StackedNetwork([encoders[0], wider])
    inputs = keras.Input((8,))
    normalized = keras.Model(inputs, layers.BatchNormalization(name="bn")(inputs))
    with pytest.raises(ValueError, match="bn of type BatchNormalization"):
        StackedNetwork([normalized])
