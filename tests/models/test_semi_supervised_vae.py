"""Semi-supervised VAEs (`tfdis.models.semi_supervised_vae`): training, resume, refusals."""

from __future__ import annotations

import os

import gin
import numpy as np
import pytest
import tensorflow as tf

from tfdis.data import labelled
from tfdis.models import semi_supervised_vae
from tfdis.testing import TINY_TRAINING_BINDINGS, training_killed_at
from tfdis.training import stacked, train
from tfdis.utils import layout

COMMON = [
    "model.num_labelled_samples = 20",
    "model.train_percentage = 0.8",
    "labeller.labeller_fn = @perfect_labeller",
    "annealer.anneal_fn = @fixed",
    "annealer.iteration_threshold = 1",
]


def _bindings(model: str, extra: list[str]) -> list[str]:
    base = [b for b in TINY_TRAINING_BINDINGS if not b.startswith(("model.model", "vae.beta"))]
    return [*base, f"model.model = @{model}()", *COMMON, *extra]


S2_VAE = ["s2_vae.beta = 1.", "s2_vae.gamma_sup = 10.", "supervised_loss.loss_fn = @xent"]


def test_s2_vae_adds_gamma_sup_times_the_supervised_loss_and_resumes_on_the_same_points(tmp_path):
    bindings = _bindings("s2_vae", S2_VAE)
    model_dir = str(tmp_path / "s2")
    with training_killed_at(3), pytest.raises(KeyboardInterrupt):
        train.train_with_gin(model_dir, gin_bindings=bindings)
    path = os.path.join(layout.checkpoint_dir(model_dir), labelled.LABELLED_SET_FILE)
    stored = labelled.load_labelled_set(path)
    assert stored.observations.shape[0] == 16 and stored.test_observations.shape[0] == 4
    result = train.train_with_gin(model_dir, gin_bindings=bindings)
    np.testing.assert_array_equal(labelled.load_labelled_set(path).labels, stored.labels)
    assert result["global_step"] == 4 and result["gamma_sup"] == 10.0
    np.testing.assert_allclose(
        result["regularizer"], result["kl_loss"] + 10.0 * result["supervised_loss"], rtol=1e-4
    )
    loaded = tf.saved_model.load(layout.saved_model_dir(model_dir))
    assert loaded.encode(tf.zeros([2, 64, 64, 1]))["mean"].shape == (2, 3)


def test_supervised_baseline_trains_its_encoder_on_the_labels_only(tmp_path):
    bindings = _bindings(
        "supervised",
        [
            "supervised_loss.loss_fn = @l2",
            "model.training_steps = 30",
            "model.checkpoint_every_steps = 1000",
            "model.summary_every_steps = 1000",
            "model.image_summary_every_steps = 1000",
        ],
    )
    result = train.train_with_gin(str(tmp_path / "sup"), gin_bindings=bindings)
    np.testing.assert_allclose(result["regularizer"], result["supervised_loss"], rtol=1e-5)
    # The code regresses the labels: 16 points x 3 factors with values up to 3, from ~100.
    assert result["supervised_loss"] < 30.0


def test_semi_supervised_models_refuse_what_they_cannot_do(tmp_path):
    bindings = _bindings("s2_vae", S2_VAE)
    bindings.remove("model.num_labelled_samples = 20")
    with pytest.raises(ValueError, match="model.num_labelled_samples"):
        train.train_with_gin(str(tmp_path / "a"), gin_bindings=bindings)
    with pytest.raises(ValueError, match="num_latent >= 3"):
        train.train_with_gin(
            str(tmp_path / "b"),
            gin_bindings=[*_bindings("s2_vae", S2_VAE), "encoder.num_latent = 2"],
        )
    model = semi_supervised_vae.S2BetaVAE(beta=1.0, gamma_sup=1.0)
    with pytest.raises(ValueError, match="labelled batch"):
        stacked.check_stackable(model)


@pytest.mark.parametrize(
    "name", ["s2_beta_tc_vae", "s2_dip_vae", "s2_factor_vae", "s2_annealed_vae"]
)
def test_every_s2_config_takes_finite_steps_with_its_supervised_term(name):
    from tfdis.data import pipeline
    from tfdis.testing import TinySquares
    from tfdis.utils import gin_utils

    gin_utils.parse_config(
        [f"models/{name}.gin"], ["encoder.num_latent = 4", "supervised_loss.loss_fn = @embed"]
    )
    model = gin.query_parameter("model.model").scoped_configurable_fn()
    data = TinySquares()
    model.attach_labelled_set(labelled.make_labelled_set(data, 12, 1.0, 0))
    model.build_networks(data.observation_shape, dataset_size=32)
    model.configure_optimizers()
    size = 8 * model.batches_per_step
    batch = tf.constant(pipeline.sample_batch(data, size, 0, 0, pipeline.TRAIN_STREAM))
    step = tf.function(model.train_step)
    for _ in range(2):
        logs = step(batch)
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert float(logs["supervised_loss"]) > 0 and float(logs["gamma_sup"]) == 4.0
    # The embedding parameters train with the VAE.
    assert set(map(id, model.supervised_loss.trainable_variables)) <= set(
        map(id, model.vae_variables)
    )
