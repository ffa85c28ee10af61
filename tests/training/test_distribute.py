"""Multi-device training, XLA and mixed precision (`model.distribution`, `model.jit_compile`,
`model.mixed_precision`; `tfdis.training.devices`).

The mirrored runs need two logical CPU devices, which must be configured before TensorFlow
initializes its devices, so they run in a fresh process (`mirrored_runs.py`) and the tests here
compare what it wrote. Tolerances:

- mirrored vs one device: per-step loss rtol 1e-5; every logged term rtol 1e-4 with atol 1e-5
  (terms near zero, e.g. a TC of 1e-5, differ in their summation order); weights and optimizer
  slots rtol 1e-4, atol 1e-4. Measured: losses within 1e-7 relative, nearly all weights within
  1e-6; the odd Adam-updated weight whose gradient is a near-zero sum (comparable to Adam's
  epsilon) moves differently by up to about 2e-5 after 3 steps at learning rate 1e-3, as the two
  halves of the sum round differently.
- The whole 6-step Adam training run (`training_run`): loss curve rtol 1e-5 as above, but its
  weights and Adam moments are compared in aggregate (`_assert_adam_run_matches`): each
  variable's difference within 1e-2 of its norm and at most 1% of all elements beyond rtol/atol
  1e-4. Adam divides each gradient by its own running scale, so a weight whose gradient is a
  near-cancelling sum takes an O(learning rate) step whose sign follows the rounding; the
  changed weights then shift later gradients slightly. How much depends on the CPU's kernels:
  on an AVX-512 machine 1,209 of about 2.1 million elements (0.06%) differ by more than 1e-4
  (largest 2e-3 on a weight, 4.2e-3 relative on a moment) while the losses agree to 2e-6. A
  replica that skipped the all-reduce would move weights by its own half-batch gradients and
  fail the norm bound; gradient scale errors, which Adam hides, are caught by `betavae_sgd`.
- XLA vs not: loss rtol 1e-3. XLA's CPU log1p/exp differ from TF's kernels by about 3e-5
  relative per pixel (0.09 nats on a 4096-pixel Bernoulli loss), so the curves agree to about
  1e-4, not to float32 rounding.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfdis.data import pipeline
from tfdis.data.named_data import register_dataset
from tfdis.models.cascade_vae import CascadeVAE
from tfdis.models.infogan import InfoGAN
from tfdis.models.vae import BetaVAE
from tfdis.testing import TINY_TRAINING_BINDINGS, TinySquares
from tfdis.training import devices, dtype_policy, progress, strategies, train
from tfdis.utils import layout

SCRIPT = os.path.join(os.path.dirname(__file__), "mirrored_runs.py")
# Models compared step by step in the default run (the rest: `-m slow`).
QUICK_MODELS = (
    "betavae_sgd",
    "factorvae_two_batch",
    "rtcvae",
    "cascadevae",
    "ada_gvae",
    "s2_vae",
)
# Every model whose regularizer needs the whole batch, on tiny dense networks for 2 steps, in the
# default run too: the README's claim that sharded runs match one device is checked every time.
TINY_MODELS = ("betatcvae", "betatcvae_mss", "dipvae_i", "dipvae_ii", "annealedvae", "jointvae")
SLOW_MODELS = (
    "betavae",
    "annealedvae",
    "betatcvae",
    "betatcvae_mss",
    "dipvae_i",
    "dipvae_ii",
    "factorvae",
    "jointvae",
    "mlvae_labels",
)


def _run_script(out_dir: str, models: tuple[str, ...], tiny_models: tuple[str, ...] = ()) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    out = subprocess.run(
        [
            sys.executable,
            SCRIPT,
            out_dir,
            f"--models={','.join(models)}",
            f"--tiny_models={','.join(tiny_models)}",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-5000:]
    with open(os.path.join(out_dir, "results.json")) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def mirrored(tmp_path_factory) -> tuple[str, dict]:
    out_dir = str(tmp_path_factory.mktemp("mirrored"))
    return out_dir, _run_script(out_dir, QUICK_MODELS, TINY_MODELS)


def _assert_logs_match(default: list[dict], mirrored: list[dict]) -> None:
    assert len(default) == len(mirrored) > 0
    for step, (a, b) in enumerate(zip(default, mirrored, strict=True), start=1):
        assert a.keys() == b.keys()
        np.testing.assert_allclose(b["loss"], a["loss"], rtol=1e-5, err_msg=f"loss, step {step}")
        for key in a:
            np.testing.assert_allclose(
                b[key], a[key], rtol=1e-4, atol=1e-5, err_msg=f"{key}, step {step}"
            )


def _assert_arrays_match(default_path: str, mirrored_path: str) -> None:
    a, b = np.load(default_path), np.load(mirrored_path)
    assert sorted(a.files) == sorted(b.files) and len(a.files) > 10
    for name in a.files:
        np.testing.assert_allclose(b[name], a[name], rtol=1e-4, atol=1e-4, err_msg=name)


def _assert_adam_run_matches(default_path: str, mirrored_path: str) -> None:
    """Weights and Adam moments of a multi-step Adam run, compared in aggregate (see top)."""
    a, b = np.load(default_path), np.load(mirrored_path)
    assert sorted(a.files) == sorted(b.files) and len(a.files) > 10
    total = beyond = 0
    for name in a.files:
        x, y = a[name].astype(np.float64), b[name].astype(np.float64)
        assert x.shape == y.shape, name
        if a[name].dtype.kind != "f":
            np.testing.assert_array_equal(y, x, err_msg=name)
            continue
        assert np.linalg.norm(y - x) <= 1e-2 * np.linalg.norm(x) + 1e-6, name
        total += x.size
        beyond += int(np.count_nonzero(~np.isclose(y, x, rtol=1e-4, atol=1e-4)))
    assert beyond <= 0.01 * total, f"{beyond} of {total} elements differ by more than 1e-4"


# --- two logical CPU devices ------------------------------------------------------------------


def test_mirrored_run_matches_the_single_device_loss_curve_and_weights(mirrored):
    out_dir, results = mirrored
    assert results["logical_cpus"] == 2
    runs = results["training"]
    default, mirrored_run = runs["default"], runs["mirrored"]
    assert len(mirrored_run["curve"]) == 6
    _assert_logs_match(default["curve"], mirrored_run["curve"])
    losses = [logs["loss"] for logs in mirrored_run["curve"]]
    assert losses[-1] < losses[0]  # it trained
    _assert_adam_run_matches(
        os.path.join(out_dir, "training_default.npz"),
        os.path.join(out_dir, "training_mirrored.npz"),
    )
    # The exported encoders agree too (the SavedModel of a mirrored run is an ordinary one), to
    # what the weights' aggregate agreement allows: means of about 0.05 within 1e-4 (measured
    # 1.1e-5 where 0.06% of the weights moved apart, see the module docstring).
    np.testing.assert_allclose(
        np.load(os.path.join(out_dir, "training_mirrored_encoded.npy")),
        np.load(os.path.join(out_dir, "training_default_encoded.npy")),
        rtol=1e-3,
        atol=1e-4,
    )
    # Eval terms are computed sharded as well and agree: the totals to 1e-5, and the KL of a
    # barely trained model (about 5e-3 nats, a sum of near-cancelling terms) to 1e-5 nats.
    for key in ("loss", "reconstruction_loss", "kl_loss", "elbo"):
        np.testing.assert_allclose(
            mirrored_run["result"][key], default["result"][key], rtol=1e-5, atol=1e-5, err_msg=key
        )


def test_auto_precision_on_this_cpu():
    expected = (
        dtype_policy.CPU_DEFAULT_PRECISION if dtype_policy.cpu_supports_bfloat16() else "float32"
    )
    if strategies.accelerators():
        pytest.skip("a GPU or TPU decides 'auto'")
    assert dtype_policy.resolve_precision("auto") == expected
    assert strategies.resolve_jit_compile("auto") is False


def test_train_results_record_the_devices(mirrored):
    results = mirrored[1]["training"]
    assert results["mirrored"]["result"]["distribution"] == "mirrored"
    assert results["mirrored"]["result"]["num_replicas"] == 2
    assert results["mirrored"]["result"]["devices"].count("device:CPU") == 2
    assert results["default"]["result"]["num_replicas"] == 1
    for run in results.values():
        assert run["result"]["jit_compile"] is False  # "auto" on a CPU machine
        assert run["result"]["mixed_precision"] == "float32"  # pinned by mirrored_runs.py


@pytest.mark.parametrize("name", QUICK_MODELS)
def test_model_steps_match_under_mirrored(mirrored, name):
    out_dir, results = mirrored
    runs = results["models"][name]
    _assert_logs_match(runs["default"], runs["mirrored"])
    _assert_arrays_match(
        os.path.join(out_dir, f"{name}_default.npz"), os.path.join(out_dir, f"{name}_mirrored.npz")
    )


@pytest.mark.parametrize("name", TINY_MODELS)
def test_batch_wide_regularizers_match_under_mirrored_on_tiny_networks(mirrored, name):
    # Two replicas of 4 against one device of 8: the gathered batch-wide terms (MWS/MSS over
    # the batch, the covariance of the means, the batch-mean KL in |KL - C|) give the same step.
    out_dir, results = mirrored
    runs = results["tiny_models"][name]
    assert len(runs["default"]) == 2
    _assert_logs_match(runs["default"], runs["mirrored"])
    _assert_arrays_match(
        os.path.join(out_dir, f"{name}_tiny_default.npz"),
        os.path.join(out_dir, f"{name}_tiny_mirrored.npz"),
    )


@pytest.mark.slow
def test_all_sharded_models_match_one_device(tmp_path, request):
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("about 90 s: run with -m slow")
    results = _run_script(str(tmp_path), SLOW_MODELS)
    for name in SLOW_MODELS:
        runs = results["models"][name]
        _assert_logs_match(runs["default"], runs["mirrored"])
        _assert_arrays_match(
            str(tmp_path / f"{name}_default.npz"), str(tmp_path / f"{name}_mirrored.npz")
        )


def test_mirrored_refusals_are_clear(mirrored):
    errors = mirrored[1]["errors"]
    assert "model.batch_size=7 is not divisible by the 2 replicas" in errors["batch_not_divisible"]
    assert "InfoGAN cannot train with model.distribution='mirrored'" in errors["infogan"]
    assert "BatchNormalization" in errors["infogan"]
    assert "XLA under a multi-replica strategy needs GPUs" in errors["xla_on_cpu_replicas"]


def test_mirrored_nan_guard_keeps_the_last_good_checkpoint(mirrored):
    nan = mirrored[1]["nan"]
    assert nan["error"].startswith("NonFiniteLossError")
    assert f"at step {nan['first_bad_step']}" in nan["error"]
    good = nan["first_bad_step"] - 1
    assert nan["checkpoint"] == f"ckpt-{good}"
    assert nan["checkpoint_iterations"] == good


# --- in this process --------------------------------------------------------------------------


def _curve(tmp_path, name: str, extra: list[str], monkeypatch) -> tuple[list[float], dict]:
    losses = []
    original = progress.ProgressLogger.maybe_log

    def capture(self, step, logs):
        losses.append(logs["loss"])
        return original(self, step, logs)

    monkeypatch.setattr(progress.ProgressLogger, "maybe_log", capture)
    result = train.train_with_gin(
        str(tmp_path / name),
        gin_bindings=[*TINY_TRAINING_BINDINGS, "model.summary_every_steps = 1", *extra],
    )
    monkeypatch.setattr(progress.ProgressLogger, "maybe_log", original)
    return losses, result


def test_unknown_switch_values_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="Unknown model.distribution 'nope'.*mirrored"):
        train.train_with_gin(
            str(tmp_path / "a"),
            gin_bindings=[*TINY_TRAINING_BINDINGS, "model.distribution = 'nope'"],
        )
    with pytest.raises(ValueError, match="Unknown model.mixed_precision 'half'"):
        train.train_with_gin(
            str(tmp_path / "b"),
            gin_bindings=[*TINY_TRAINING_BINDINGS, "model.mixed_precision = 'half'"],
        )
    with pytest.raises(ValueError, match="mixed_float16.*not supported.*mixed_bfloat16"):
        train.train_with_gin(
            str(tmp_path / "c"),
            gin_bindings=[*TINY_TRAINING_BINDINGS, "model.mixed_precision = 'mixed_float16'"],
        )
    with pytest.raises(ValueError, match="model.jit_compile must be"):
        train.train_with_gin(
            str(tmp_path / "d"), gin_bindings=[*TINY_TRAINING_BINDINGS, "model.jit_compile = 'yes'"]
        )


class _TwoReplicas:
    num_replicas_in_sync = 2


def test_check_run_refuses_what_cannot_run():
    setup = devices.DeviceSetup("mirrored", _TwoReplicas(), jit_compile=False, precision="float32")
    with pytest.raises(ValueError, match="batch_size=9 is not divisible by the 2 replicas"):
        devices.check_run(setup, BetaVAE(beta=1.0), 9, False)
    devices.check_run(setup, BetaVAE(beta=1.0), 8, False)
    with pytest.raises(ValueError, match="InfoGAN cannot train"):
        devices.check_run(setup, InfoGAN(), 8, False)

    cascade = CascadeVAE(num_categories=3)
    one = devices.DeviceSetup("default", tf.distribute.get_strategy(), True, "float32")
    with pytest.raises(ValueError, match="jit_compile=True is not possible for CascadeVAE"):
        devices.check_run(one, cascade, 8, True)
    devices.check_run(one, cascade, 8, "auto")  # "auto" falls back to no XLA
    assert one.jit_compile is False


def test_jit_compile_gives_the_same_losses(tmp_path, monkeypatch):
    float32 = "model.mixed_precision = 'float32'"
    plain, plain_result = _curve(
        tmp_path, "plain", ["model.jit_compile = False", float32], monkeypatch
    )
    compiled, result = _curve(tmp_path, "xla", ["model.jit_compile = True", float32], monkeypatch)
    assert result["jit_compile"] is True and plain_result["jit_compile"] is False
    assert len(compiled) == len(plain) == 4
    np.testing.assert_allclose(compiled, plain, rtol=1e-3)
    assert compiled[-1] < compiled[0]


class _NaNSquares(TinySquares):
    def sample_observations_from_factors(self, factors, random_state):
        images = super().sample_observations_from_factors(factors, random_state)
        images[(factors[:, 0] == 3) & (factors[:, 1] == 3) & (factors[:, 2] == 1)] = np.nan
        return images


def test_jit_compile_keeps_the_nan_guard(tmp_path):
    # XLA drops tf.debugging.Assert; the compiled step returns the flag and asserts outside.
    register_dataset("test_nan_squares_xla", _NaNSquares)
    data = _NaNSquares()

    def first_poisoned_batch(seed: int) -> int:
        return next(
            k
            for k in range(200)
            if np.isnan(pipeline.sample_batch(data, 8, seed, k, pipeline.TRAIN_STREAM)).any()
        )

    seed = next(s for s in range(100) if first_poisoned_batch(s) >= 2)
    bindings = [
        *TINY_TRAINING_BINDINGS,
        f"model.random_seed = {seed}",
        "dataset.name = 'test_nan_squares_xla'",
        "model.training_steps = 200",
        "model.checkpoint_every_steps = 1000",
        "model.jit_compile = True",
    ]
    with pytest.raises(train.NonFiniteLossError) as info:
        train.train_with_gin(str(tmp_path / "m"), gin_bindings=bindings)
    assert info.value.step == first_poisoned_batch(seed) + 1
    assert info.value.checkpoint_step == info.value.step - 1
    latest = tf.train.latest_checkpoint(layout.checkpoint_dir(str(tmp_path / "m")))
    iterations = tf.train.load_checkpoint(latest).get_tensor(
        "optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"
    )
    assert int(iterations) == info.value.checkpoint_step  # the bad update was not applied


def test_mixed_bfloat16_trains_exports_float32_and_restores_the_policy(tmp_path):
    before = keras.config.dtype_policy().name
    model_dir = str(tmp_path / "bf16")
    result = train.train_with_gin(
        model_dir,
        gin_bindings=[
            *TINY_TRAINING_BINDINGS,
            "model.mixed_precision = 'mixed_bfloat16'",
            "model.training_steps = 40",
            "model.batch_size = 16",
            "model.eval_steps = 4",
            "model.summary_every_steps = 1000",
            "model.image_summary_every_steps = 1000",
            "model.checkpoint_every_steps = 1000",
        ],
    )
    assert keras.config.dtype_policy().name == before == "float32"
    assert result["mixed_precision"] == "mixed_bfloat16"
    assert result["reconstruction_loss"] < 0.5 * 4096 * np.log(2.0)  # as test_loss_falls
    module = tf.saved_model.load(layout.saved_model_dir(model_dir))
    for name, signature in module.signatures.items():
        for spec in (*signature.structured_input_signature[1].values(),):
            assert spec.dtype in (tf.float32, tf.int32), (name, spec)
        for key, spec in signature.structured_outputs.items():
            assert spec.dtype == tf.float32, (name, key, spec)
    encoded = module.signatures["encode"](images=tf.zeros((2, 64, 64, 1)))
    assert encoded["mean"].dtype == tf.float32
    # Layers made after the run compute in float32 again.
    assert keras.layers.Dense(2).dtype_policy.compute_dtype == "float32"
