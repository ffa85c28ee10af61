"""Each model's regularizer against a numpy reference on fixed inputs (SPEC section 7)."""

from __future__ import annotations

import gin
import numpy as np
import pytest
import tensorflow as tf
from scipy.special import logsumexp

from tfdis.estimators import total_correlation
from tfdis.models import annealed_vae, beta_tc_vae, dip_vae, factor_vae, rtc_vae
from tfdis.posteriors import FactorizedGaussian


def test_annealed_capacity_schedule_and_regularizer():
    c = [float(annealed_vae.capacity(s, 25.0, 100)) for s in (0, 40, 100, 1000)]
    np.testing.assert_allclose(c, [0.0, 10.0, 25.0, 25.0])
    model = annealed_vae.AnnealedVAE(gamma=1000.0, c_max=25.0, iteration_threshold=100)
    reg = model.regularizer(tf.constant(12.0), None, None, tf.constant(40))
    np.testing.assert_allclose(float(reg), 1000.0 * abs(12.0 - 10.0))


def test_dip_penalties_on_a_known_covariance():
    rs = np.random.RandomState(0)
    mean = (rs.randn(50, 3) * [1.0, 2.0, 0.5]).astype(np.float32)
    logvar = rs.randn(50, 3).astype(np.float32) * 0.3
    cov = np.cov(mean, rowvar=False, bias=True)
    np.testing.assert_allclose(dip_vae.covariance(tf.constant(mean)), cov, rtol=1e-4, atol=1e-6)

    def penalty(c, lod, ld):
        off = c - np.diag(np.diag(c))
        return lod * np.sum(off**2) + ld * np.sum((np.diag(c) - 1) ** 2)

    cov_i = dip_vae.dip_covariance(tf.constant(mean), tf.constant(logvar), "i")
    cov_ii = dip_vae.dip_covariance(tf.constant(mean), tf.constant(logvar), "ii")
    np.testing.assert_allclose(
        cov_ii - cov_i, np.diag(np.exp(logvar).mean(0)), rtol=1e-5, atol=1e-6
    )
    model_i = dip_vae.DIPVAE(lambda_od=10.0, lambda_d_factor=10.0, dip_type="i")
    posterior = FactorizedGaussian(tf.constant(mean), tf.constant(logvar))
    reg = model_i.regularizer(tf.constant(3.0), posterior, None, tf.constant(0))
    np.testing.assert_allclose(float(reg), 3.0 + penalty(cov, 10.0, 100.0), rtol=1e-4)
    identity_penalty = dip_vae.dip_penalty(tf.eye(4), 1.0, 10.0)
    assert float(identity_penalty) == 0.0
    with pytest.raises(ValueError, match="dip_type"):
        dip_vae.DIPVAE(1.0, 1.0, "iii")


def _numpy_mws_tc(z, mean, logvar, n):
    var = np.exp(logvar)
    log_q = -0.5 * (np.log(2 * np.pi) + logvar[None] + (z[:, None] - mean[None]) ** 2 / var[None])
    m = len(z)
    log_qz = logsumexp(log_q.sum(2), axis=1) - np.log(n * m)
    log_prod = (logsumexp(log_q, axis=1) - np.log(n * m)).sum(1)
    return log_qz, log_prod


def test_beta_tcvae_regularizer_is_kl_plus_beta_minus_one_mws_tc():
    rs = np.random.RandomState(1)
    mean = rs.randn(16, 4).astype(np.float32)
    logvar = (rs.randn(16, 4) * 0.2 - 1.0).astype(np.float32)
    z = (mean + np.exp(0.5 * logvar) * rs.randn(16, 4)).astype(np.float32)
    posterior = FactorizedGaussian(tf.constant(mean), tf.constant(logvar))
    model = beta_tc_vae.BetaTCVAE(beta=6.0, dataset_size=1000)
    kl = float(tf.reduce_mean(posterior.kl_to_prior()))
    reg = float(model.regularizer(tf.constant(kl), posterior, tf.constant(z), tf.constant(0)))
    log_qz, log_prod = _numpy_mws_tc(z.astype(np.float64), mean, logvar, 1000)
    tc = np.mean(log_qz - log_prod)
    np.testing.assert_allclose(reg, kl + 5.0 * tc, rtol=1e-4)

    # The three terms add up to the sampled KL, log q(z|x) - log p(z), whatever the estimator.
    terms = model.decomposition(posterior, tf.constant(z))
    log_qzx = posterior.log_prob(tf.constant(z)).numpy()
    log_pz = -0.5 * np.sum(z**2 + np.log(2 * np.pi), axis=1)
    np.testing.assert_allclose(
        sum(float(v) for v in terms.values()), np.mean(log_qzx - log_pz), rtol=1e-4
    )
    # The TC weight warms up linearly from 0 when annealing is on.
    assert float(beta_tc_vae.tc_weight(tf.constant(350), 6.0, 700)) == pytest.approx(3.0)


def test_factorvae_tc_is_mean_logit_difference_and_permutation_keeps_columns():
    gin.parse_config(
        [
            "encoder.num_latent = 3",
            "encoder.encoder_fn = @conv_encoder",
            "decoder.decoder_fn = @deconv_decoder",
            "discriminator.discriminator_fn = @fc_discriminator",
            "fc_discriminator.num_units = 16",
        ]
    )
    model = factor_vae.FactorVAE(gamma=35.0)
    model.build_networks((64, 64, 1))
    z = tf.constant(np.random.RandomState(2).randn(32, 3).astype(np.float32))
    logits = model.discriminator(z).numpy()
    reg = model.regularizer(tf.constant(1.5), None, z, tf.constant(0))
    np.testing.assert_allclose(
        float(reg), 1.5 + 35.0 * np.mean(logits[:, 0] - logits[:, 1]), rtol=1e-5
    )
    permuted = total_correlation.permute_dims(z, model.permutation_seed(tf.constant(0))).numpy()
    for j in range(3):
        np.testing.assert_array_equal(np.sort(permuted[:, j]), np.sort(z.numpy()[:, j]))
    assert not np.array_equal(permuted, z.numpy())


def test_factorvae_step_updates_vae_and_discriminator_each_with_its_own_optimizer():
    gin.parse_config(
        [
            "encoder.num_latent = 3",
            "encoder.encoder_fn = @conv_encoder",
            "decoder.decoder_fn = @deconv_decoder",
            "discriminator.discriminator_fn = @fc_discriminator",
            "fc_discriminator.num_units = 16",
            "discriminator_optimizer.optimizer_fn = @discriminator/AdamOptimizer",
            "discriminator/AdamOptimizer.beta1 = 0.5",
            "discriminator/AdamOptimizer.beta2 = 0.9",
        ]
    )
    model = factor_vae.FactorVAE(gamma=35.0, two_batch=True)
    model.build_networks((64, 64, 1))
    model.configure_optimizers()
    assert model.discriminator_optimizer.beta_1 == 0.5 and model.optimizer.beta_1 == 0.9
    before_d = [v.numpy().copy() for v in model.discriminator.trainable_variables]
    before_e = [v.numpy().copy() for v in model.encoder.trainable_variables]
    model.train_step(tf.random.stateless_uniform((16, 64, 64, 1), seed=[0, 1]))
    assert (
        int(model.optimizer.iterations) == 1 and int(model.discriminator_optimizer.iterations) == 1
    )
    assert any(
        not np.allclose(a, b.numpy())
        for a, b in zip(before_d, model.discriminator.trainable_variables, strict=True)
    )
    assert any(
        not np.allclose(a, b.numpy())
        for a, b in zip(before_e, model.encoder.trainable_variables, strict=True)
    )


def test_rtc_eta_rule_on_a_scripted_sequence():
    def reference(terms, eta_0, lower=0.01, upper=0.04, growth=1.2):
        eta, out = eta_0, []
        for t in terms:
            if t > upper:
                eta = eta * growth if eta > 0 else eta_0
            elif t < lower:
                eta = 0.0
            out.append(eta)
        return out

    terms = [0.5, 0.2, 0.05, 0.03, 0.02, 0.005, 0.006, 0.02, 0.06, 0.07, 0.035, 0.001, 0.041]
    eta, got = tf.constant(10.0), []
    for t in terms:
        eta = rtc_vae.update_eta(eta, tf.constant(t), eta_0=10.0)
        got.append(float(eta))
    np.testing.assert_allclose(got, reference(terms, 10.0), rtol=1e-6)
    assert got[:3] == pytest.approx([12.0, 14.4, 17.28]) and got[5] == 0.0 and got[8] == 10.0


def test_rtc_model_adds_eta_times_variance_and_defaults_eta_0_to_max_10_strength():
    model = rtc_vae.RTCBetaTCVAE(beta=6.0, dataset_size=100)
    assert float(model.eta) == 10.0
    assert float(rtc_vae.RTCFactorVAE(gamma=35.0).eta) == 35.0
    mean = tf.zeros((8, 2))
    logvar = tf.constant(np.log(np.full((8, 2), 0.03, np.float32)))
    posterior = FactorizedGaussian(mean, logvar)
    z = posterior.sample(tf.constant([0, 0]))
    base = beta_tc_vae.BetaTCVAE.regularizer(model, tf.constant(1.0), posterior, z, tf.constant(0))
    total = model.regularizer(tf.constant(1.0), posterior, z, tf.constant(0))
    np.testing.assert_allclose(float(total) - float(base), 10.0 * 0.06, rtol=1e-5)
