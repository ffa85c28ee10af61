"""Relaxed categorical posterior: simplex samples, Gumbel-max frequencies, KL to uniform."""

from __future__ import annotations

import math

import gin
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from tfdis.posteriors import RelaxedCategorical, make_relaxed_categorical

tfd = tfp.distributions

ALPHA = np.array([[0.5, 0.3, 0.15, 0.05], [0.1, 0.1, 0.1, 0.7]])


def test_samples_lie_on_the_simplex_and_argmax_frequencies_match_alpha():
    count = 20000
    posterior = RelaxedCategorical(np.repeat(ALPHA, count, axis=0), temperature=0.67)
    y = posterior.sample(tf.constant([3, 4], tf.int32)).numpy()
    assert np.all(y >= 0.0)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, atol=1e-12)
    # Gumbel-max: argmax of the relaxed sample is exactly Categorical(alpha) for any tau.
    for row, alpha in enumerate(ALPHA):
        block = y[row * count : (row + 1) * count]
        freq = np.bincount(block.argmax(axis=1), minlength=4) / count
        se = np.sqrt(alpha * (1 - alpha) / count)
        assert np.all(np.abs(freq - alpha) < 5 * se)


def test_low_temperature_samples_are_nearly_one_hot():
    posterior = RelaxedCategorical(np.repeat(ALPHA, 500, axis=0), temperature=0.05)
    y = posterior.sample(tf.constant([5, 6], tf.int32)).numpy()
    assert np.median(y.max(axis=1)) > 0.99


def test_evaluation_sample_is_one_hot_of_argmax_alpha():
    posterior = RelaxedCategorical(ALPHA)
    hard = posterior.sample(tf.constant([1, 1], tf.int32), training=False).numpy()
    np.testing.assert_array_equal(hard, [[1, 0, 0, 0], [0, 0, 0, 1]])
    np.testing.assert_array_equal(posterior.mode().numpy(), hard)


def test_kl_to_uniform_matches_closed_form_and_tfp():
    posterior = RelaxedCategorical(ALPHA)
    kl = posterior.kl_to_prior().numpy()
    direct = math.log(4) + np.sum(ALPHA * np.log(ALPHA), axis=1)
    np.testing.assert_allclose(kl, direct, rtol=1e-9)
    uniform = tfd.OneHotCategorical(probs=np.full((2, 4), 0.25))
    tfp_kl = tfd.kl_divergence(tfd.OneHotCategorical(probs=ALPHA), uniform).numpy()
    np.testing.assert_allclose(kl, tfp_kl, rtol=1e-6)  # TFP computes this KL in float32
    # Uniform alpha has zero KL; a one-hot alpha has the maximum log K.
    edge = RelaxedCategorical(np.array([[0.25] * 4, [0.0, 1.0, 0.0, 0.0]])).kl_to_prior()
    np.testing.assert_allclose(edge.numpy(), [0.0, math.log(4)], atol=1e-9)


def test_moments_densities_and_gin_temperature():
    posterior = RelaxedCategorical(ALPHA)
    np.testing.assert_allclose(posterior.mean.numpy(), ALPHA)
    np.testing.assert_allclose(posterior.stddev.numpy(), np.sqrt(ALPHA * (1 - ALPHA)))
    one_hot = np.array([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    np.testing.assert_allclose(
        posterior.marginal_log_prob(one_hot).numpy(),
        np.where(one_hot == 1, np.log(ALPHA), np.log1p(-ALPHA)),
        rtol=1e-9,
    )
    soft = np.array([[0.4, 0.3, 0.2, 0.1], [0.1, 0.2, 0.3, 0.4]])
    expected = tfd.RelaxedOneHotCategorical(0.67, probs=ALPHA).log_prob(soft).numpy()
    np.testing.assert_allclose(posterior.log_prob(soft).numpy(), expected, rtol=1e-6)
    gin.parse_config("relaxed_categorical.temperature = 0.3")
    assert make_relaxed_categorical(ALPHA).temperature == 0.3
    from_logits = RelaxedCategorical.from_logits(np.log(ALPHA))
    np.testing.assert_allclose(from_logits.alpha.numpy(), ALPHA, rtol=1e-12)


def test_bad_input_raises():
    with pytest.raises(ValueError, match="temperature"):
        RelaxedCategorical(ALPHA, temperature=0.0)
    with pytest.raises(ValueError, match="at least 2 categories"):
        RelaxedCategorical(np.ones((3, 1)))
    with pytest.raises(ValueError, match=r"\[B, K\]"):
        RelaxedCategorical(ALPHA[0])
