"""End-to-end tests of `tfdis.training.train`: a whole tiny run in a temporary directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from tfdis.data import pipeline
from tfdis.data.named_data import register_dataset
from tfdis.testing import (
    TINY_TRAINING_BINDINGS,
    TinySquares,
    checkpoint_arrays,
    training_killed_at,
)
from tfdis.training import train
from tfdis.utils import layout


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> str:
    model_dir = str(tmp_path_factory.mktemp("run") / "model")
    train.train_with_gin(model_dir, gin_bindings=TINY_TRAINING_BINDINGS)
    return model_dir


def test_run_writes_dlib_layout(finished_run):
    results_dir = layout.results_dir(finished_run)
    for path in (
        "gin/train.gin",
        "json/train_config.json",
        "json/train_results.json",
        "aggregate/train.json",
    ):
        assert os.path.exists(os.path.join(results_dir, path)), path
    with open(os.path.join(results_dir, "aggregate", "train.json")) as f:
        aggregate = json.load(f)
    assert aggregate["train_config.vae.beta"] == "1.0"
    assert aggregate["train_config.dataset.name"] == "test_squares"
    assert aggregate["train_results.global_step"] == 4
    # dlib's elbo is the negative ELBO: reconstruction + KL.
    np.testing.assert_allclose(
        aggregate["train_results.elbo"],
        aggregate["train_results.reconstruction_loss"] + aggregate["train_results.kl_loss"],
        rtol=1e-5,
    )
    assert os.listdir(os.path.join(finished_run, "tensorboard", "train"))
    assert sorted(os.listdir(layout.checkpoint_dir(finished_run)))[-1] == "run_config.gin"


def test_tensorboard_gets_reconstructions_and_a_latent_traversal(finished_run):
    import glob

    import tensorflow as tf

    shapes = {}
    for path in glob.glob(os.path.join(finished_run, "tensorboard", "train", "events.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.tag in ("inputs_vs_reconstructions", "latent_traversal"):
                    png = value.tensor.string_val[2]  # [width, height, encoded images...]
                    shapes[value.tag] = tuple(tf.io.decode_png(png).shape)
    assert shapes["inputs_vs_reconstructions"] == (64, 128, 1)
    # 3 latents (rows) x 8 values in [-2, 2] (columns) of 64x64 images.
    assert shapes["latent_traversal"] == (3 * 64, 8 * 64, 1)


def test_saved_model_reloads_in_a_process_without_tfdis(finished_run):
    script = textwrap.dedent(
        f"""
        import sys
        import numpy as np
        import tensorflow as tf
        module = tf.saved_model.load({layout.saved_model_dir(finished_run)!r})
        images = tf.constant(np.zeros((5, 64, 64, 1), np.float32))
        encoded = module.signatures["encode"](images=images)
        assert encoded["mean"].shape == (5, 3) and encoded["logvar"].shape == (5, 3)
        decoded = module.decode(encoded["mean"])["images"].numpy()
        assert decoded.shape == (5, 64, 64, 1) and decoded.min() >= 0 and decoded.max() <= 1
        recon = module.reconstruct(images)["images"].numpy()
        np.testing.assert_allclose(recon, decoded, atol=1e-6)
        samples = module.sample(tf.constant(4), tf.constant(7))["images"]
        assert samples.shape == (4, 64, 64, 1)
        assert not any(name.startswith("tfdis") for name in sys.modules)
        print("ok")
        """
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd="/",
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok")


def test_saved_model_cli_runs_encode(finished_run, tmp_path):
    inputs = str(tmp_path / "images.npy")
    np.save(inputs, np.ones((2, 64, 64, 1), np.float32))
    out = subprocess.run(
        [
            "saved_model_cli",
            "run",
            "--dir",
            layout.saved_model_dir(finished_run),
            "--tag_set",
            "serve",
            "--signature_def",
            "encode",
            "--inputs",
            f"images={inputs}",
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "mean" in out.stdout and "logvar" in out.stdout


def test_finished_run_is_refused_without_overwrite(finished_run):
    with pytest.raises(FileExistsError, match="--overwrite"):
        train.train_with_gin(finished_run, gin_bindings=TINY_TRAINING_BINDINGS)


def test_overwrite_replaces_the_run(tmp_path):
    model_dir = str(tmp_path / "model")
    os.makedirs(model_dir)
    with open(os.path.join(model_dir, "stale.txt"), "w") as f:
        f.write("x")
    with pytest.raises(FileExistsError, match="not a tfdis run"):
        train.train_with_gin(model_dir, gin_bindings=TINY_TRAINING_BINDINGS)
    train.train_with_gin(model_dir, overwrite=True, gin_bindings=TINY_TRAINING_BINDINGS)
    assert not os.path.exists(os.path.join(model_dir, "stale.txt"))
    assert os.path.isdir(layout.saved_model_dir(model_dir))


def test_interrupted_run_resumes_and_matches_an_uninterrupted_one(tmp_path):
    straight = str(tmp_path / "straight")
    train.train_with_gin(straight, gin_bindings=TINY_TRAINING_BINDINGS)

    resumed = str(tmp_path / "resumed")
    # Killed after the step-2 checkpoint, before step 4's.
    with training_killed_at(3), pytest.raises(KeyboardInterrupt):
        train.train_with_gin(resumed, gin_bindings=TINY_TRAINING_BINDINGS)
    assert tf.train.latest_checkpoint(layout.checkpoint_dir(resumed)).endswith("ckpt-2")
    assert not os.path.exists(layout.saved_model_dir(resumed))

    # A different configuration must not silently continue the unfinished run.
    with pytest.raises(FileExistsError, match="different gin configuration"):
        train.train_with_gin(resumed, gin_bindings=[*TINY_TRAINING_BINDINGS, "vae.beta = 2."])

    result = train.train_with_gin(resumed, gin_bindings=TINY_TRAINING_BINDINGS)
    assert result["global_step"] == 4
    a, b = checkpoint_arrays(straight), checkpoint_arrays(resumed)
    assert a.keys() == b.keys() and len(a) > 10
    for name in a:
        np.testing.assert_allclose(a[name], b[name], rtol=1e-5, atol=1e-6, err_msg=name)


class NaNSquares(TinySquares):
    """TinySquares whose bottom-right large square is NaN: a deterministic poisoned batch."""

    def sample_observations_from_factors(self, factors, random_state):
        images = super().sample_observations_from_factors(factors, random_state)
        poisoned = (factors[:, 0] == 3) & (factors[:, 1] == 3) & (factors[:, 2] == 1)
        images[poisoned] = np.nan
        return images


def test_nan_loss_stops_with_step_and_keeps_last_good_checkpoint(tmp_path):
    register_dataset("test_nan_squares", NaNSquares)
    data = NaNSquares()

    def first_poisoned_batch(seed: int) -> int:
        return next(
            k
            for k in range(200)
            if np.isnan(pipeline.sample_batch(data, 8, seed, k, pipeline.TRAIN_STREAM)).any()
        )

    # A seed whose first poisoned batch comes after at least two good steps.
    seed = next(s for s in range(100) if first_poisoned_batch(s) >= 2)
    first_bad = first_poisoned_batch(seed)
    bindings = [
        *TINY_TRAINING_BINDINGS,
        f"model.random_seed = {seed}",
        "dataset.name = 'test_nan_squares'",
        "model.training_steps = 200",
        "model.checkpoint_every_steps = 1000",
    ]
    model_dir = str(tmp_path / "model")
    with pytest.raises(train.NonFiniteLossError, match=f"at step {first_bad + 1}\\b") as info:
        train.train_with_gin(model_dir, gin_bindings=bindings)
    assert info.value.checkpoint_step == first_bad
    latest = tf.train.latest_checkpoint(layout.checkpoint_dir(model_dir))
    assert latest.endswith(f"ckpt-{first_bad}")
    # The checkpoint holds the state after step `first_bad`, the last good one, step counter too.
    iterations = tf.train.load_checkpoint(latest).get_tensor(
        "optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"
    )
    assert int(iterations) == first_bad
    arrays = checkpoint_arrays(model_dir)
    assert all(np.isfinite(v).all() for v in arrays.values() if v.dtype.kind == "f")


def test_loss_falls(tmp_path):
    bindings = [
        *TINY_TRAINING_BINDINGS,
        "model.training_steps = 40",
        "model.summary_every_steps = 1000",
        "model.image_summary_every_steps = 1000",
        "model.checkpoint_every_steps = 1000",
        "model.batch_size = 16",
        "model.eval_steps = 4",
    ]
    model_dir = str(tmp_path / "model")
    result = train.train_with_gin(model_dir, gin_bindings=bindings)
    # A 64x64 Bernoulli decoder starts near 4096 * log 2 = 2839 nats; a square on black is
    # learned quickly to well under half of that.
    assert result["reconstruction_loss"] < 0.5 * 4096 * np.log(2.0)


def test_unknown_binding_and_dataset_give_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="--gin_bindings.*no_such_param"):
        train.train_with_gin(
            str(tmp_path / "a"), gin_bindings=[*TINY_TRAINING_BINDINGS, "vae.no_such_param = 1"]
        )
    with pytest.raises(
        ValueError, match="Unknown dataset name 'no_such_data'.*dsprites_procedural"
    ):
        train.train_with_gin(
            str(tmp_path / "b"),
            gin_bindings=[*TINY_TRAINING_BINDINGS, "dataset.name = 'no_such_data'"],
        )


def test_missing_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="gin config 'nope.gin' not found"):
        train.train_with_gin(str(tmp_path / "m"), gin_config_files=["nope.gin"])


def test_a_resumed_run_keeps_the_precision_it_started_with(tmp_path, monkeypatch):
    from tfdis.training import dtype_policy

    model_dir = str(tmp_path / "run")
    bindings = [*TINY_TRAINING_BINDINGS, "model.mixed_precision = 'auto'"]
    # 'auto' resolved to float32 when the run started (another machine or version) ...
    monkeypatch.setattr(dtype_policy, "CPU_DEFAULT_PRECISION", "float32")
    train.train_with_gin(model_dir, gin_bindings=[*bindings, "model.training_steps = 2"])
    os.remove(os.path.join(layout.results_dir(model_dir), "aggregate", "train.json"))
    # ... and to bfloat16 now: the resumed run stays in float32.
    monkeypatch.setattr(dtype_policy, "CPU_DEFAULT_PRECISION", "mixed_bfloat16")
    monkeypatch.setattr(dtype_policy, "cpu_supports_bfloat16", lambda: True)
    assert dtype_policy.resolve_precision("auto") == "mixed_bfloat16"
    resumed = train.train_with_gin(model_dir, gin_bindings=bindings)
    assert resumed["mixed_precision"] == "float32" and resumed["global_step"] == 4
    with open(os.path.join(layout.checkpoint_dir(model_dir), train.PRECISION_FILE)) as f:
        assert f.read() == "float32"
