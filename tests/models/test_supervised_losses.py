"""Supervised losses and annealers of the semi-supervised VAEs against numpy references."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tfdis.models import supervised_losses as sl

SIZES = [3, 6, 4]
RNG = np.random.RandomState(0)
REPRESENTATION = RNG.normal(size=(7, 5)).astype(np.float32)  # d = 5 >= F = 3
LABELS = np.stack([RNG.randint(s, size=7) for s in SIZES], axis=1).astype(np.float32)


def _value(loss):
    return float(loss(tf.constant(REPRESENTATION), tf.constant(LABELS)))


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_l2_with_a_learned_scale_and_with_sigmoid_outputs():
    loss = sl.L2Loss(SIZES, learn_scale=True)
    r = REPRESENTATION[:, :3]
    np.testing.assert_allclose(_value(loss), np.sum((r - LABELS) ** 2), rtol=1e-5)
    loss.scale.assign(0.5)
    np.testing.assert_allclose(_value(loss), np.sum((0.5 * r - LABELS) ** 2), rtol=1e-5)
    assert loss.trainable_variables == [loss.scale]
    plain = sl.L2Loss(SIZES, learn_scale=False)
    expected = np.sum((_sigmoid(r) - LABELS / np.array(SIZES)) ** 2)
    np.testing.assert_allclose(_value(plain), expected, rtol=1e-5)


def test_xent_of_sigmoid_logits_against_normalized_labels():
    r, y = REPRESENTATION[:, :3], LABELS / np.array(SIZES)
    expected = np.sum(-y * np.log(_sigmoid(r)) - (1 - y) * np.log(1 - _sigmoid(r)))
    np.testing.assert_allclose(_value(sl.XentLoss(SIZES)), expected, rtol=1e-5)


def test_cov_penalizes_the_off_diagonal_covariance():
    r = REPRESENTATION - REPRESENTATION.mean(0)
    y = LABELS - LABELS.mean(0)
    covariance = r.T @ y / len(r)  # [5, 3]
    covariance[np.arange(3), np.arange(3)] = 0.0
    np.testing.assert_allclose(_value(sl.CovLoss(SIZES)), np.sum(covariance**2), rtol=1e-5)
    # Factors independent of the code, with the code equal to the labels: no penalty.
    diagonal = sl.CovLoss([4, 4])(tf.constant(np.eye(4, 2) * 0), tf.constant(np.eye(4, 2)))
    assert float(diagonal) == 0.0


@pytest.mark.parametrize("use_order", [False, True])
@pytest.mark.parametrize("sigma", [2.0, "learn"])
def test_embed_is_a_softmax_over_embedded_values(use_order, sigma):
    loss = sl.EmbedLoss(SIZES, sigma=sigma, use_order=use_order)
    value = _value(loss)
    expected = 0.0
    for i, size in enumerate(SIZES):
        embedding = loss.embedding(i).numpy()
        if use_order:
            np.testing.assert_allclose(
                embedding, np.arange(size) * loss.slopes[i].numpy() + loss.biases[i].numpy()
            )
        s = loss.sigmas[i].numpy()[0] if sigma == "learn" else sigma
        logits = -(((REPRESENTATION[:, i, None] - embedding[None, :]) * s) ** 2)
        log_softmax = logits - np.log(np.exp(logits).sum(1, keepdims=True))
        expected += -np.mean(log_softmax[np.arange(7), LABELS[:, i].astype(int)])
    np.testing.assert_allclose(value, expected, rtol=1e-5)
    count = (2 * len(SIZES) if use_order else len(SIZES)) + (len(SIZES) if sigma == "learn" else 0)
    assert len(loss.trainable_variables) == count


def test_losses_that_tie_latents_to_factors_need_enough_latents():
    with pytest.raises(ValueError, match="num_latent >= 3"):
        sl.XentLoss(SIZES).check_latents(2)
    sl.CovLoss(SIZES).check_latents(2)  # cov compares every latent with every factor


def test_annealers():
    steps = tf.constant([0, 5, 10, 11, 20])
    np.testing.assert_allclose(sl.fixed(3.0, steps, 10), 3.0)
    np.testing.assert_allclose(sl.anneal(3.0, steps, 10), [0.0, 1.5, 3.0, 3.0, 3.0])
    np.testing.assert_allclose(sl.fine_tune(3.0, steps, 10), [0.0, 0.0, 0.0, 3.0, 3.0])
