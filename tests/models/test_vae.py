"""The base VAE's loss terms and the beta-VAE regularizer."""

from __future__ import annotations

import gin
import numpy as np
import tensorflow as tf

from tfdis.models import optimizers
from tfdis.models import vae as vae_lib


def _built_model(beta: float, correlation: float = 0.0) -> vae_lib.BetaVAE:
    gin.parse_config(
        [
            "encoder.num_latent = 4",
            "encoder.encoder_fn = @conv_encoder",
            "decoder.decoder_fn = @deconv_decoder",
            f"posterior.correlation = {correlation}",
        ]
    )
    model = vae_lib.beta_vae(beta=beta)
    model.build_networks((64, 64, 1), noise_seed=3)
    return model


def test_loss_terms_of_beta_vae():
    model = _built_model(beta=4.0)
    x = tf.constant((np.random.RandomState(0).rand(6, 64, 64, 1) > 0.7).astype(np.float32))
    terms = model.compute_loss_terms(x, tf.constant([1, 2]), tf.constant(0), training=False)
    np.testing.assert_allclose(terms["regularizer"], 4.0 * terms["kl_loss"], rtol=1e-6)
    np.testing.assert_allclose(
        terms["loss"], terms["reconstruction_loss"] + terms["regularizer"], rtol=1e-6
    )
    np.testing.assert_allclose(
        terms["elbo"], terms["reconstruction_loss"] + terms["kl_loss"], rtol=1e-6
    )
    mean, logvar = model.encoder(x)
    kl = 0.5 * np.sum(mean**2 + np.exp(logvar) - logvar - 1, axis=1)
    np.testing.assert_allclose(terms["kl_loss"], kl.mean(), rtol=1e-4, atol=1e-7)


def test_correlated_posterior_is_chosen_by_gin_and_lowers_kl_by_half_log_det():
    factorized = _built_model(beta=1.0)
    x = tf.zeros((2, 64, 64, 1))
    gin.clear_config()
    correlated = _built_model(beta=1.0, correlation=0.5)
    correlated.encoder.set_weights(factorized.encoder.get_weights())
    assert correlated.posterior_correlation == 0.5
    kl_f = factorized.posterior(x).kl_to_prior().numpy()
    kl_c = correlated.posterior(x).kl_to_prior().numpy()
    # SPEC section 5: d = 4, s = 0.5: log det S = 3 log 0.5 + log 2.5.
    np.testing.assert_allclose(kl_f - kl_c, 0.5 * (3 * np.log(0.5) + np.log(2.5)), rtol=1e-5)


def test_train_step_lowers_the_loss_on_a_fixed_batch():
    model = _built_model(beta=1.0)
    optimizer = optimizers.adam_optimizer(learning_rate=1e-3)
    model.compile(optimizer=optimizer)
    x = np.zeros((8, 64, 64, 1), np.float32)
    x[:, 20:40, 20:40] = 1.0
    step = tf.function(model.train_step)
    first = model.compute_loss_terms(tf.constant(x), tf.constant([0, 0]), tf.constant(0), False)
    for _ in range(30):
        step(tf.constant(x))
    last = model.compute_loss_terms(tf.constant(x), tf.constant([0, 0]), tf.constant(0), False)
    assert int(optimizer.iterations) == 30
    assert float(last["loss"]) < 0.7 * float(first["loss"])
