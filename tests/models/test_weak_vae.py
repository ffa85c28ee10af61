"""Tests of the weakly-supervised VAEs (`tfdis.models.weak_vae`): closed forms and training."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow as tf

from tfdis.data import weak
from tfdis.data.named_data import register_dataset
from tfdis.models import weak_vae
from tfdis.testing import TINY_TRAINING_BINDINGS, TinySquaresGrid, build_configured_model
from tfdis.training import train
from tfdis.utils import layout

# Two posteriors of 2 dimensions: variances [1, 4] and [3, 4].
MEAN_1, VAR_1 = np.array([[0.0, 2.0]]), np.array([[1.0, 4.0]])
MEAN_2, VAR_2 = np.array([[2.0, 0.0]]), np.array([[3.0, 4.0]])


def _logs(*arrays):
    return [tf.constant(a, tf.float32) for a in arrays]


def test_gvae_averages_means_and_variances():
    mean, logvar = weak_vae.average_aggregate(*_logs(MEAN_1, np.log(VAR_1), MEAN_2, np.log(VAR_2)))
    np.testing.assert_allclose(mean, [[1.0, 1.0]], rtol=1e-6)
    np.testing.assert_allclose(np.exp(logvar), [[2.0, 4.0]], rtol=1e-6)


def test_mlvae_is_the_product_of_experts_and_dlib_doubles_its_variance():
    args = _logs(MEAN_1, np.log(VAR_1), MEAN_2, np.log(VAR_2))
    mean, logvar = weak_vae.product_aggregate(*args)
    # Precisions 1 and 1/3: variance 3/4, mean (0 * 1 + 2 / 3) / (4 / 3) = 1/2; equal
    # variances 4 and 4: variance 2, mean 1.
    np.testing.assert_allclose(mean, [[0.5, 1.0]], rtol=1e-6)
    np.testing.assert_allclose(np.exp(logvar), [[0.75, 2.0]], rtol=1e-6)
    # The product of the two Gaussian densities, normalized, has exactly these parameters.
    z = np.linspace(-4, 6, 2001)
    density = np.exp(-((z - MEAN_1[0, 0]) ** 2) / (2 * VAR_1[0, 0]))
    density *= np.exp(-((z - MEAN_2[0, 0]) ** 2) / (2 * VAR_2[0, 0]))
    density /= density.sum()
    np.testing.assert_allclose((z * density).sum(), 0.5, atol=1e-6)
    np.testing.assert_allclose(((z - 0.5) ** 2 * density).sum(), 0.75, atol=1e-4)
    dlib_mean, dlib_logvar = weak_vae.product_aggregate(*args, dlib_variance=True)
    np.testing.assert_allclose(dlib_mean, mean, rtol=1e-6)
    np.testing.assert_allclose(np.exp(dlib_logvar), [[1.5, 4.0]], rtol=1e-6)


def test_kl_per_dimension_matches_the_closed_form():
    kl = weak_vae.gaussian_kl_per_dim(*_logs(MEAN_1, np.log(VAR_1), MEAN_2, np.log(VAR_2)))
    expected = 0.5 * (VAR_1 / VAR_2 + (MEAN_2 - MEAN_1) ** 2 / VAR_2 - 1 + np.log(VAR_2 / VAR_1))
    np.testing.assert_allclose(kl, expected, rtol=1e-5)


def test_adaptive_k_splits_the_kl_into_two_equal_width_bins():
    kl = tf.constant(
        [
            [0.0, 0.1, 5.0, 4.9, 2.4, 2.5],  # threshold 2.5: the upper bin holds 5, 4.9, 2.5
            [1.0, 1.0, 1.0, 1.0, 1.0, 1.0],  # all equal: none is below the threshold
            [0.3, 9.0, 0.2, 0.25, 0.2, 0.2],  # one changed dimension
        ]
    )
    np.testing.assert_array_equal(
        weak_vae.adaptive_changed_mask(kl),
        [
            [False, False, True, True, False, True],
            [True] * 6,
            [False, True, False, False, False, False],
        ],
    )


def _model(name: str, num_latent: int = 4):
    bindings = [
        f"model.model = @{name}()",
        f"{name}.beta = 1.",
        "dynamics.k = 1",
        f"encoder.num_latent = {num_latent}",
        "encoder.encoder_fn = @conv_encoder",
        "decoder.decoder_fn = @deconv_decoder",
        "AdamOptimizer.learning_rate = 0.001",
    ]
    return build_configured_model([], bindings, [64, 64, 1])


def test_shared_posteriors_keep_their_own_on_changed_dimensions_and_aggregate_the_rest():
    model = _model("group_vae_labels")
    rng = np.random.RandomState(0)
    m1, m2, lv1, lv2 = (tf.constant(rng.normal(size=(2, 4)), tf.float32) for _ in range(4))
    from tfdis.posteriors import FactorizedGaussian

    labels = tf.constant([[1, 0, 0], [0, 0, 1]])  # factor 0 changed, then factor 2
    first, second, changed = model.shared_posteriors(
        FactorizedGaussian(m1, lv1), FactorizedGaussian(m2, lv2), labels
    )
    np.testing.assert_array_equal(changed, [[1, 0, 0, 0], [0, 0, 1, 0]])
    shared_mean = 0.5 * (m1.numpy() + m2.numpy())
    expected_1 = np.where(changed, m1, shared_mean)
    expected_2 = np.where(changed, m2, shared_mean)
    np.testing.assert_allclose(first.mean, expected_1, rtol=1e-6)
    np.testing.assert_allclose(second.mean, expected_2, rtol=1e-6)
    shared_var = 0.5 * (np.exp(lv1) + np.exp(lv2))
    np.testing.assert_allclose(
        np.exp(second.logvar), np.where(changed, np.exp(lv2), shared_var), rtol=1e-5
    )


def test_loss_is_the_average_of_both_observations_terms_and_falls_on_a_fixed_batch():
    model = _model("mlvae_argmax")
    data = TinySquaresGrid()
    observations, labels = next(
        iter(weak.make_pair_dataset(data, 16, 0, num_batches=1, settings=model.dynamics))
    )
    seed = tf.constant([0, 0], tf.int64)
    terms = model.compute_loss_terms((observations, labels), seed, tf.constant(0), False)
    np.testing.assert_allclose(terms["loss"], terms["reconstruction_loss"] + terms["kl_loss"])
    train_step = tf.function(model.train_step)
    losses = [float(train_step((observations, labels))["loss"]) for _ in range(30)]
    for tracker in model.metrics:
        tracker.reset_state()
    final = model.compute_loss_terms((observations, labels), seed, tf.constant(0), False)
    assert float(final["loss"]) < 0.7 * float(terms["loss"]), losses


def test_labels_need_a_latent_per_factor_and_stacking_is_refused():
    model = _model("group_vae_labels", num_latent=2)
    pairs = (tf.zeros([4, 64, 64, 1]), tf.zeros([4, 3], tf.int32))
    with pytest.raises(ValueError, match="num_latent >= 3"):
        model.compute_loss_terms(pairs, tf.constant([0, 0], tf.int64), tf.constant(0), False)
    from tfdis.training import stacked

    with pytest.raises(ValueError, match="reads pairs of observations"):
        stacked.check_stackable(model)


@pytest.mark.parametrize(
    "name, input_pipeline", [("group_vae_argmax", "device"), ("mlvae_labels", "tf_data")]
)
def test_train_export_reload_and_evaluate(tmp_path, name, input_pipeline):
    register_dataset("test_squares_grid", TinySquaresGrid)
    bindings = [
        b for b in TINY_TRAINING_BINDINGS if not b.startswith(("model.model", "vae.", "dataset."))
    ]
    bindings += [
        "dataset.name = 'test_squares_grid'",
        f"model.model = @{name}()",
        f"{name}.beta = 2.",
        "dynamics.k = -1",
        f"model.input_pipeline = '{input_pipeline}'",
    ]
    model_dir = str(tmp_path / name)
    result = train.train_with_gin(model_dir, gin_bindings=bindings)
    assert result["global_step"] == 4 and 0 < result["num_changed_dims"] <= 3
    with open(os.path.join(layout.checkpoint_dir(model_dir), train.INPUT_PIPELINE_FILE)) as f:
        assert f.read() == ("device" if input_pipeline == "device" else "tf_data")
    loaded = tf.saved_model.load(layout.saved_model_dir(model_dir))
    encoded = loaded.encode(tf.zeros([2, 64, 64, 1]))
    assert encoded["mean"].shape == (2, 3)
    from tfdis.evaluation.runs import evaluate_run

    scores = evaluate_run(model_dir, metrics=["mig"], gin_bindings=["mig.num_train = 64"])
    assert 0.0 <= scores["mig"]["discrete_mig"] <= 1.0
