"""Stacked training (`tfdis.training.stacked`): a model trained in a group ends as if alone."""

from __future__ import annotations

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfdis.data.named_data import register_dataset
from tfdis.testing import TINY_TRAINING_BINDINGS, TinySquaresGrid, checkpoint_arrays
from tfdis.training import stacked, train
from tfdis.utils import layout, results

register_dataset("test_squares_grid", TinySquaresGrid)

# Three models that differ in seed, regularizer and posterior family, one architecture.
MEMBER_BINDINGS = (
    ["model.random_seed = 0"],
    ["model.random_seed = 1", "vae.beta = 4."],
    [
        "model.random_seed = 2",
        "model.model = @beta_tc_vae()",
        "beta_tc_vae.beta = 6.",
        "posterior.correlation = 0.5",
    ],
)


def _bindings(extra) -> list[str]:
    # float32: the comparisons below are at float32 tolerance (bfloat16: its own test).
    return [*TINY_TRAINING_BINDINGS, "model.mixed_precision = 'float32'", *extra]


def _train_results(model_dir: str) -> dict:
    return results.read_json(
        os.path.join(layout.results_dir(model_dir), "json", "train_results.json")
    )


@pytest.fixture(scope="module")
def alone_and_stacked(tmp_path_factory):
    root = tmp_path_factory.mktemp("stacked")
    alone = [str(root / f"alone{s}") for s in range(len(MEMBER_BINDINGS))]
    for model_dir, extra in zip(alone, MEMBER_BINDINGS, strict=True):
        train.train_with_gin(model_dir, gin_bindings=_bindings(extra))
    group = [str(root / f"stacked{s}") for s in range(len(MEMBER_BINDINGS))]
    # All three in one chunk: the grouped convolutions and batched matmuls of an accelerator.
    configs = [([], _bindings(extra)) for extra in MEMBER_BINDINGS]
    stacked.train_stacked_with_gin(group, configs, models_per_chunk=3)
    return alone, group


def test_each_stacked_model_matches_the_model_trained_alone(alone_and_stacked):
    for alone_dir, stacked_dir in zip(*alone_and_stacked, strict=True):
        alone, group = checkpoint_arrays(alone_dir), checkpoint_arrays(stacked_dir)
        # Same checkpoint format: weights and Adam moments under the same names.
        assert sorted(alone) == sorted(group)
        for name, value in alone.items():
            # Adam moves a weight by ~lr per step whatever its gradient's size, so where a
            # gradient is ~0 summation order can flip part of a step: 1e-5 is 1% of one step.
            np.testing.assert_allclose(group[name], value, rtol=1e-4, atol=1e-5, err_msg=name)
        alone_results, group_results = _train_results(alone_dir), _train_results(stacked_dir)
        for key in ("loss", "reconstruction_loss", "kl_loss", "elbo"):
            np.testing.assert_allclose(group_results[key], alone_results[key], rtol=1e-4)
        assert group_results["global_step"] == alone_results["global_step"] == 4
        assert group_results["stacked_group_size"] == 3


def test_stacked_models_write_what_a_run_alone_writes(alone_and_stacked):
    for alone_dir, stacked_dir in zip(*alone_and_stacked, strict=True):
        with open(os.path.join(layout.results_dir(alone_dir), "gin", "train.gin")) as f:
            alone_config = f.read()
        with open(os.path.join(layout.results_dir(stacked_dir), "gin", "train.gin")) as f:
            stacked_config = f.read()
        assert stacked_config == alone_config
        for path in ("saved_model", "tensorboard/train", "results/aggregate/train.json"):
            assert os.path.exists(os.path.join(stacked_dir, path)), path


def test_a_killed_group_resumes_to_the_same_weights(alone_and_stacked, tmp_path):
    group = [str(tmp_path / f"m{s}") for s in range(2)]
    configs = [
        ([], _bindings([*extra, "model.training_steps = 2"])) for extra in MEMBER_BINDINGS[:2]
    ]
    stacked.train_stacked_with_gin(group, configs)
    # Unfinish the runs (as if killed after the step-2 checkpoint), then continue to step 4.
    for model_dir in group:
        os.remove(os.path.join(layout.results_dir(model_dir), "aggregate", "train.json"))
    stacked.train_stacked_with_gin(group, [([], _bindings(extra)) for extra in MEMBER_BINDINGS[:2]])
    for model_dir, reference in zip(group, alone_and_stacked[0][:2], strict=True):
        resumed, uninterrupted = checkpoint_arrays(model_dir), checkpoint_arrays(reference)
        for name, value in uninterrupted.items():
            np.testing.assert_allclose(resumed[name], value, rtol=1e-4, atol=1e-5, err_msg=name)


def test_models_that_cannot_share_a_step_are_refused(tmp_path):
    dirs = [str(tmp_path / "a"), str(tmp_path / "b")]
    other_batch = [([], _bindings([])), ([], _bindings(["model.batch_size = 4"]))]
    with pytest.raises(ValueError, match="model.batch_size"):
        stacked.train_stacked_with_gin(dirs, other_batch, overwrite=True)
    other_width = [([], _bindings([])), ([], _bindings(["encoder.num_latent = 4"]))]
    with pytest.raises(ValueError, match="another architecture"):
        stacked.train_stacked_with_gin(dirs, other_width, overwrite=True)
    factor_vae = [
        "model.model = @factor_vae()",
        "factor_vae.gamma = 10.",
        "discriminator.discriminator_fn = @fc_discriminator",
    ]
    with pytest.raises(ValueError, match="FactorVAE"):
        stacked.train_stacked_with_gin(dirs, [([], _bindings(factor_vae))] * 2, overwrite=True)


def test_stacked_rtc_beta_tcvae_group_matches_its_runs_alone(tmp_path):
    # RTC-VAE on beta-TCVAE stacks: each member keeps its own eta. The tiny posteriors start
    # with sum_j sigma_j^2 ~ d = 3 > upper = 0.04, so eta grows x1.2 every step from
    # eta_0 = max(10, beta): after 4 steps 10 x 1.2^4 = 20.736 (beta 6), 41.472 (beta 20).
    members = [
        ["model.random_seed = 0", "model.model = @rtc_beta_tc_vae()", "rtc_beta_tc_vae.beta = 6."],
        ["model.random_seed = 1", "model.model = @rtc_beta_tc_vae()", "rtc_beta_tc_vae.beta = 20."],
    ]
    alone = [str(tmp_path / f"alone{s}") for s in range(2)]
    for model_dir, extra in zip(alone, members, strict=True):
        train.train_with_gin(model_dir, gin_bindings=_bindings(extra))
    group = [str(tmp_path / f"stacked{s}") for s in range(2)]
    stacked.train_stacked_with_gin(group, [([], _bindings(extra)) for extra in members])
    for alone_dir, stacked_dir, eta in zip(alone, group, (20.736, 41.472), strict=True):
        alone_arrays, group_arrays = checkpoint_arrays(alone_dir), checkpoint_arrays(stacked_dir)
        assert sorted(alone_arrays) == sorted(group_arrays)
        eta_name = "model/eta/.ATTRIBUTES/VARIABLE_VALUE"
        assert float(alone_arrays[eta_name]) == pytest.approx(eta, rel=1e-6)
        for name, value in alone_arrays.items():
            np.testing.assert_allclose(
                group_arrays[name], value, rtol=1e-4, atol=1e-5, err_msg=name
            )
        logs = _train_results(stacked_dir)
        np.testing.assert_allclose(logs["loss"], _train_results(alone_dir)["loss"], rtol=1e-4)


def test_rtc_factorvae_is_refused_naming_what_stacks(tmp_path):
    rtc_factor_vae = [
        "model.model = @rtc_factor_vae()",
        "rtc_factor_vae.gamma = 10.",
        "discriminator.discriminator_fn = @fc_discriminator",
    ]
    dirs = [str(tmp_path / "a"), str(tmp_path / "b")]
    with pytest.raises(ValueError, match="RTCFactorVAE.*rtc_beta_tc_vae"):
        stacked.train_stacked_with_gin(dirs, [([], _bindings(rtc_factor_vae))] * 2)


def test_stacked_models_sample_the_device_resident_batches_of_their_runs_alone(tmp_path):
    device = ["dataset.name = 'test_squares_grid'", "model.input_pipeline = 'device'"]
    configs = [_bindings([*extra, *device]) for extra in MEMBER_BINDINGS[:2]]
    alone = [str(tmp_path / f"alone{s}") for s in range(2)]
    for model_dir, bindings in zip(alone, configs, strict=True):
        train.train_with_gin(model_dir, gin_bindings=bindings)
    group = [str(tmp_path / f"stacked{s}") for s in range(2)]
    stacked.train_stacked_with_gin(group, [([], bindings) for bindings in configs])
    for alone_dir, stacked_dir in zip(alone, group, strict=True):
        with open(os.path.join(layout.checkpoint_dir(stacked_dir), "input_pipeline.txt")) as f:
            assert f.read() == "device"
        alone_arrays, group_arrays = checkpoint_arrays(alone_dir), checkpoint_arrays(stacked_dir)
        for name, value in alone_arrays.items():
            np.testing.assert_allclose(
                group_arrays[name], value, rtol=1e-4, atol=1e-5, err_msg=name
            )


def test_stacked_bfloat16_models_match_their_runs_alone_to_bfloat16_precision(tmp_path):
    configs = [
        [*TINY_TRAINING_BINDINGS, "model.mixed_precision = 'mixed_bfloat16'", *extra]
        for extra in MEMBER_BINDINGS[:2]
    ]
    alone = [str(tmp_path / f"alone{s}") for s in range(2)]
    for model_dir, bindings in zip(alone, configs, strict=True):
        train.train_with_gin(model_dir, gin_bindings=bindings)
    group = [str(tmp_path / f"stacked{s}") for s in range(2)]
    stacked.train_stacked_with_gin(group, [([], bindings) for bindings in configs])
    for alone_dir, stacked_dir in zip(alone, group, strict=True):
        alone_results, group_results = _train_results(alone_dir), _train_results(stacked_dir)
        assert group_results["mixed_precision"] == "mixed_bfloat16"
        # bfloat16 keeps 8 bits of mantissa: 2^-8 ~ 0.4% per rounding.
        for key in ("loss", "reconstruction_loss", "elbo"):
            np.testing.assert_allclose(group_results[key], alone_results[key], rtol=1e-2)
        alone_arrays, group_arrays = checkpoint_arrays(alone_dir), checkpoint_arrays(stacked_dir)
        for name, value in alone_arrays.items():
            if "optimizer" not in name:  # Adam's moments of near-zero gradients are all rounding
                np.testing.assert_allclose(group_arrays[name], value, atol=1e-3, err_msg=name)


@pytest.mark.parametrize("models_per_chunk", [2, 3])
def test_chunks_of_several_models_take_the_same_step_as_one_model_at_a_time(models_per_chunk):
    import gin

    from tfdis.testing import build_configured_model

    def group(chunk):
        members = []
        for s in range(3):
            keras.utils.set_random_seed(s)
            members.append(
                build_configured_model(
                    ["models/betavae.gin"],
                    ["encoder.num_latent = 4", f"vae.beta = {s + 1.0}"],
                    (64, 64, 1),
                    noise_seed=s,
                )
            )
            gin.clear_config()
        return stacked.StackedVAEGroup(members, models_per_chunk=chunk)

    batch = tf.cast(tf.random.stateless_uniform([3, 8, 64, 64, 1], seed=[1, 2]) > 0.8, tf.float32)
    one, several = group(1), group(models_per_chunk)
    assert (one.models_per_chunk, several.models_per_chunk) == (1, models_per_chunk)
    for _ in range(2):
        logs_one, logs_several = one.train_step(batch), several.train_step(batch)
    for a, b in zip(logs_one, logs_several, strict=True):
        np.testing.assert_allclose(a["loss"], b["loss"], rtol=1e-5)
    for a, b in zip(one.variables, several.variables, strict=True):
        # Adam's first steps move a weight by ~lr (1e-4) whatever its gradient's size, so a
        # near-zero gradient whose rounding differs can move it by up to 2 lr in 2 steps.
        close = np.isclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-6)
        assert close.mean() > 0.999
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=2.5e-4)
    with pytest.raises(ValueError, match="models_per_chunk must be positive"):
        stacked.resolve_models_per_chunk(0, 3)
