"""InfoGAN: the information loss in closed form, Q learns the codes, export with `generate`."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

from tfdis.data.named_data import get_named_ground_truth_data
from tfdis.evaluation.metrics import discrete_accuracy
from tfdis.evaluation.saved_model_functions import SavedModelPosterior
from tfdis.models import infogan
from tfdis.testing import build_configured_model
from tfdis.training import train
from tfdis.utils import layout

TINY_RUN = [
    "dataset.name = 'digits'",
    "model.batch_size = 16",
    "model.training_steps = 4",
    "model.random_seed = 0",
    "model.eval_steps = 2",
    "model.checkpoint_every_steps = 2",
    "model.summary_every_steps = 2",
    "model.image_summary_every_steps = 2",
    "infogan.num_noise = 8",
]


def _build(correlation=0.0):
    bindings = [f"posterior.correlation = {correlation}", "infogan.num_noise = 8"]
    return build_configured_model(["models/infogan.gin"], bindings, (32, 32, 1), dataset_size=None)


@pytest.mark.parametrize("correlation", [0.0, 0.9])
def test_information_loss_closed_form(correlation):
    model = _build(correlation)
    rng = np.random.RandomState(0)
    categories = np.array([[0], [3], [9]], np.int32)
    logits = rng.normal(size=(3, 10)).astype(np.float32)
    latents = rng.normal(size=(3, 2)).astype(np.float32)
    mean = rng.normal(size=(3, 2)).astype(np.float32)
    logvar = rng.normal(scale=0.3, size=(3, 2)).astype(np.float32)
    cross_entropy, nll = model.information_loss(categories, latents, logits, mean, logvar)
    log_softmax = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    assert float(cross_entropy) == pytest.approx(
        -log_softmax[[0, 1, 2], [0, 3, 9]].mean(), rel=1e-5
    )
    # -log N(c; mu, D S D) with S = [[1, s], [s, 1]] (paper 002 Eq. 12), by hand for d = 2.
    expected = []
    for c, m, lv in zip(latents, mean, logvar, strict=True):
        sd = np.exp(0.5 * lv)
        cov = np.outer(sd, sd) * np.array([[1, correlation], [correlation, 1]])
        r = c - m
        quad = r @ np.linalg.solve(cov, r)
        expected.append(0.5 * (quad + np.log(np.linalg.det(cov)) + 2 * math.log(2 * math.pi)))
    assert float(nll) == pytest.approx(np.mean(expected), rel=1e-4)


def test_q_learns_the_codes():
    model = _build()
    step = tf.function(model.train_step)
    digits = get_named_ground_truth_data("digits")
    batch = tf.constant(digits.sample_observations(32, np.random.RandomState(0)))
    first = {k: float(v) for k, v in step(batch).items()}
    assert first["info_categorical"] == pytest.approx(math.log(10), abs=0.5)  # chance at start
    for _ in range(90):  # measured: about 0.3 nats by step 80
        step(batch)
    for tracker in model.metrics:
        tracker.reset_state()
    logs = step(batch)
    # Q recovers the generator's category: the cross-entropy falls well below log 10.
    assert float(logs["info_categorical"]) < 0.5 * first["info_categorical"]
    assert float(logs["info_loss"]) < first["info_loss"]
    assert np.isfinite(float(logs["discriminator_loss"]))


def test_trains_exports_and_generates(tmp_path):
    model_dir = str(tmp_path / "infogan")
    result = train.train_with_gin(
        model_dir, gin_config_files=["models/infogan.gin"], gin_bindings=TINY_RUN
    )
    assert np.isfinite(result["loss"])
    saved = tf.saved_model.load(layout.saved_model_dir(model_dir))
    assert "generate" in saved.signatures
    latents = tf.constant([[0.5, -1.0], [0.5, -1.0]])
    categories = tf.constant([[1], [1]], tf.int32)
    noise = tf.zeros((2, 8))
    images = saved.generate(latents, categories, noise)["images"].numpy()
    assert images.shape == (2, 32, 32, 1)
    np.testing.assert_allclose(images, saved.decode(latents, categories)["images"], atol=1e-6)
    encoded = saved.encode(tf.constant(images))
    assert encoded["mean"].shape == (2, 2) and encoded["category"].shape == (2, 1)
    # Q's category is the code the metrics see.
    posterior = SavedModelPosterior(layout.saved_model_dir(model_dir))
    digits = get_named_ground_truth_data("digits")
    scores = discrete_accuracy.compute_discrete_accuracy(
        digits, posterior, np.random.RandomState(0), num_samples=200
    )
    # By hand on the same draws: Q's argmax categories against the digit classes, each category
    # matched to its most frequent class when the categories' majority classes are distinct.
    labels, observations = digits.sample(200, np.random.RandomState(0))
    categories = saved.encode(tf.constant(observations))["category"].numpy()[:, 0]
    table = np.zeros((10, 10), np.int64)
    np.add.at(table, (categories, labels[:, 0]), 1)
    used = np.flatnonzero(table.sum(axis=1))
    assert scores["num_categories_used"] == len(used)
    majority = table[used].argmax(axis=1)
    if len(set(majority)) == len(used):  # then the best one-to-one matching is the majority one
        assert scores["accuracy"] == pytest.approx(table[used].max(axis=1).sum() / 200)
    assert scores["accuracy"] >= table.max() / 200  # at least the best single pair

    # `sample` draws the continuous codes from InfoGAN's Unif(-1, 1) prior.
    seed = 3
    expected_latents = tf.random.stateless_uniform([5, 2], [seed, 0], minval=-1.0, maxval=1.0)
    expected_categories = tf.random.stateless_uniform([5], [seed, 1], maxval=10, dtype=tf.int32)
    np.testing.assert_allclose(
        saved.sample(tf.constant(5), tf.constant(seed))["images"],
        saved.decode(expected_latents, expected_categories[:, None])["images"],
        atol=1e-6,
    )


def test_prior_codes_are_uniform_on_minus_one_one():
    # InfoGAN (section 7; openai/InfoGAN's Uniform): c ~ Unif(-1, 1), noise ~ Unif(-1, 1).
    model = infogan.InfoGAN(num_categories=10, num_continuous=2, num_noise=62)
    categories, latents, noise = model.sample_codes(
        tf.constant(20000), tf.constant([1, 2], tf.int64)
    )
    for codes in (latents.numpy(), noise.numpy()):
        assert codes.min() >= -1.0 and codes.max() < 1.0
        # Unif(-1, 1): mean 0, variance 1/3, P(|c| > 0.5) = 1/2 (a normal's variance is 1).
        assert abs(codes.mean()) < 0.01
        assert codes.var() == pytest.approx(1 / 3, abs=0.01)
        assert np.mean(np.abs(codes) > 0.5) == pytest.approx(0.5, abs=0.01)
    counts = np.bincount(categories.numpy()[:, 0], minlength=10)
    assert counts.min() > 1800 and counts.max() < 2200  # 2000 each


def test_rejects_unsupported_image_sizes():
    with pytest.raises(ValueError, match="32x32 or 64x64"):
        infogan.infogan_generator(20, (28, 28, 1))
