"""Reconstruction losses against their numpy formulas."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfdis.models import losses


def test_bernoulli_loss_is_summed_sigmoid_cross_entropy():
    rs = np.random.RandomState(0)
    x = (rs.rand(3, 4, 4, 1) > 0.5).astype(np.float32)
    logits = rs.randn(3, 4, 4, 1).astype(np.float32)
    p = 1 / (1 + np.exp(-logits))
    expected = -(x * np.log(p) + (1 - x) * np.log(1 - p)).reshape(3, -1).sum(1)
    np.testing.assert_allclose(
        losses.bernoulli_loss(tf.constant(x), tf.constant(logits)), expected, rtol=1e-5
    )


def test_l2_loss_is_summed_squared_error_of_probabilities():
    rs = np.random.RandomState(1)
    x = rs.rand(2, 3, 3, 3).astype(np.float32)
    logits = rs.randn(2, 3, 3, 3).astype(np.float32)
    expected = ((1 / (1 + np.exp(-logits)) - x) ** 2).reshape(2, -1).sum(1)
    np.testing.assert_allclose(
        losses.l2_loss(tf.constant(x), tf.constant(logits)), expected, rtol=1e-5
    )


def test_bernoulli_loss_of_perfect_logits_is_near_zero():
    x = np.array([[[[0.0], [1.0]]]], np.float32)
    logits = np.array([[[[-30.0], [30.0]]]], np.float32)
    assert float(losses.bernoulli_loss(tf.constant(x), tf.constant(logits))[0]) < 1e-10
