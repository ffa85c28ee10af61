"""dlib's semi-supervised seeds: `model.model_seed`, `model.unsupervised_data_seed` (issue 16)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from tfdis.testing import TINY_TRAINING_BINDINGS
from tfdis.training import train
from tfdis.utils import errors

S2_BINDINGS = [
    *(b for b in TINY_TRAINING_BINDINGS if not b.startswith(("model.model", "vae.beta"))),
    "model.model = @s2_vae()",
    "s2_vae.beta = 1.",
    "s2_vae.gamma_sup = 2.",
    "supervised_loss.loss_fn = @xent",
    "model.num_labelled_samples = 10",
    "model.train_percentage = 0.8",
    "labeller.labeller_fn = @perfect_labeller",
    "annealer.anneal_fn = @fixed",
    "annealer.iteration_threshold = 1",
    "model.training_steps = 1",
    "model.eval_steps = 1",
    "model.input_pipeline = 'tf_data'",
]


class _Stop(Exception):
    pass


def _first_weights_and_batch(tmp_path, monkeypatch, name: str, seeds: list[str]):
    """The encoder's initial weights and the first training batch of a run (stopped there)."""
    seen = {}
    build_model = train.devices.build_model

    def recording_build(model, *args, **kwargs):
        build_model(model, *args, **kwargs)
        seen["weights"] = [w.numpy().copy() for w in model.encoder.weights]

    def recording_train_function(model, setup):
        del model, setup

        def record(batch):
            seen["batch"] = np.asarray(batch)
            raise _Stop

        return record

    monkeypatch.setattr(train.devices, "build_model", recording_build)
    monkeypatch.setattr(train.step_functions, "make_train_function", recording_train_function)
    bindings = [b for b in S2_BINDINGS if not b.startswith("model.random_seed")] + seeds
    with pytest.raises(_Stop):
        train.train_with_gin(str(tmp_path / name), gin_bindings=bindings)
    return seen["weights"], seen["batch"]


def _same_weights(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_model_seed_seeds_the_weights_and_unsupervised_data_seed_the_batches(tmp_path, monkeypatch):
    def run(name, *seeds):
        return _first_weights_and_batch(tmp_path, monkeypatch, name, list(seeds))

    weights, batch = run("random", "model.random_seed = 0")
    # dlib's three seeds, all 0: the run model.random_seed = 0 makes.
    dlib_weights, dlib_batch = run(
        "dlib",
        "model.model_seed = 0",
        "model.unsupervised_data_seed = 0",
        "model.supervised_data_seed = 0",
    )
    assert _same_weights(weights, dlib_weights) and np.array_equal(batch, dlib_batch)
    # Another model seed: other initial weights, the same batch.
    model_weights, model_batch = run("model", "model.random_seed = 0", "model.model_seed = 1")
    assert not _same_weights(weights, model_weights) and np.array_equal(batch, model_batch)
    # Another data seed: the same initial weights, another batch.
    data_weights, data_batch = run(
        "data", "model.random_seed = 0", "model.unsupervised_data_seed = 1"
    )
    assert _same_weights(weights, data_weights) and not np.array_equal(batch, data_batch)


def test_seed_bindings_are_checked_and_random_seed_is_needed_without_them(tmp_path):
    with pytest.raises(errors.ConfigError, match="model.model_seed must be an integer >= 0"):
        train.train_with_gin(
            str(tmp_path / "a"), gin_bindings=[*S2_BINDINGS, "model.model_seed = -1"]
        )
    with pytest.raises(errors.ConfigError, match="model.unsupervised_data_seed must be an integer"):
        train.train_with_gin(
            str(tmp_path / "b"), gin_bindings=[*S2_BINDINGS, "model.unsupervised_data_seed = 1.5"]
        )
    without = [b for b in S2_BINDINGS if not b.startswith("model.random_seed")]
    with pytest.raises(errors.ConfigError, match="missing: model.unsupervised_data_seed"):
        train.train_with_gin(str(tmp_path / "c"), gin_bindings=[*without, "model.model_seed = 0"])
    dlib_seeds = ["model.model_seed = 0", "model.unsupervised_data_seed = 0"]
    with pytest.raises(errors.ConfigError, match="needs model.supervised_data_seed"):
        train.train_with_gin(str(tmp_path / "d"), gin_bindings=[*without, *dlib_seeds])
    assert not os.path.exists(tmp_path / "d")


# dlib's disentanglement_lib/config/tests/methods/semi_supervised/train_test.gin, unchanged:
# the model bound as a class (`@s2_vae`), its three seeds, no model.random_seed.
DLIB_SEMI_SUPERVISED_TEST_GIN = """
dataset.name = "dummy_data"
model.batch_size = 2
model.model = @s2_vae
model.num_labelled_samples = 100
model.train_percentage = 0.9
s2_vae.beta = 4
s2_vae.gamma_sup = 4
annealer.iteration_threshold = 1
labeller.labeller_fn = @perfect_labeller
model.model_seed = 0
model.unsupervised_data_seed = 0
model.supervised_data_seed = 0
model.num_labelled_samples = 100
model.train_percentage = 0.9
model.num_labelled_samples = 100
annealer.anneal_fn = @fixed
supervised_loss.loss_fn = @xent
vae_optimizer.optimizer_fn = @AdamOptimizer
model.training_steps = 2
AdamOptimizer.beta1 = 0.9
AdamOptimizer.beta2 = 0.999
AdamOptimizer.epsilon = 0.001
AdamOptimizer.name = 'Adam'
AdamOptimizer.use_locking = False
encoder.num_latent = 10
encoder.encoder_fn = @test_encoder
decoder.decoder_fn = @test_decoder
reconstruction_loss.loss_fn = @bernoulli_loss
"""


def test_dlib_semi_supervised_test_config_runs_unchanged(tmp_path):
    config = tmp_path / "train_test.gin"
    config.write_text(DLIB_SEMI_SUPERVISED_TEST_GIN)
    result = train.train_with_gin(
        str(tmp_path / "run"), gin_config_files=[str(config)], gin_bindings=["model.eval_steps = 5"]
    )
    assert result["global_step"] == 2 and result["gamma_sup"] == 4.0
    assert np.isfinite(result["supervised_loss"])
