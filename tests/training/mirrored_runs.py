"""Mirrored-vs-single-device runs on two logical CPU devices, for tests/training/test_distribute.py.

Run as a script in a fresh process, because the logical devices must be configured before
TensorFlow initializes its devices (any earlier TF op in the process fixes them):

    python tests/training/mirrored_runs.py OUT_DIR [--models=betavae,factorvae,...]
        [--tiny_models=betatcvae,...]

`--tiny_models` runs those models' regularizers on tiny dense networks for `TINY_STEPS` steps
(fast enough for every default test run; `--models` keeps the real conv networks).

It writes `OUT_DIR/results.json` (per-step logs of every run, train results, error messages)
and one `.npz` of final weights per run; the test compares them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf

_CPU = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(_CPU, [tf.config.LogicalDeviceConfiguration()] * 2)

import gin  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

from tfdis.data import labelled, pipeline, weak  # noqa: E402
from tfdis.data.named_data import register_dataset  # noqa: E402
from tfdis.models import semi_supervised_vae  # noqa: E402
from tfdis.testing import TINY_TRAINING_BINDINGS, TinySquares  # noqa: E402
from tfdis.training import devices, progress, step_functions, train  # noqa: E402
from tfdis.utils import gin_utils, layout  # noqa: E402

register_dataset("test_squares", TinySquares)


@gin.configurable("test_sgd")
def test_sgd(learning_rate: float = 1e-4) -> keras.optimizers.Optimizer:
    return keras.optimizers.SGD(learning_rate)


@gin.configurable("tiny_test_encoder", allowlist=[])
def tiny_test_encoder(input_shape, num_latent: int) -> keras.Model:
    """Flatten -> Dense 8 -> Dense 8 (ReLU) -> (mean, logvar): the regularizers' test trunk."""
    images = keras.Input(shape=tuple(input_shape), name="images")
    h = keras.layers.Flatten()(images)
    h = keras.layers.Dense(8, activation="relu")(h)
    h = keras.layers.Dense(8, activation="relu")(h)
    mean = keras.layers.Dense(num_latent, name="means")(h)
    logvar = keras.layers.Dense(num_latent, name="log_var")(h)
    return keras.Model(images, [mean, logvar], name="tiny_test_encoder")


@gin.configurable("tiny_test_decoder", allowlist=[])
def tiny_test_decoder(num_latent: int, output_shape) -> keras.Model:
    """Dense 8 -> Dense 8 (ReLU) -> Dense to the image's logits."""
    latents = keras.Input(shape=(num_latent,), name="latents")
    h = keras.layers.Dense(8, activation="relu")(latents)
    h = keras.layers.Dense(8, activation="relu")(h)
    h = keras.layers.Dense(int(np.prod(output_shape)))(h)
    return keras.Model(latents, keras.layers.Reshape(tuple(output_shape))(h), name="tiny_decoder")


STEPS = 3
TINY_STEPS = 2
TINY_NETS = [
    "encoder.encoder_fn = @tiny_test_encoder",
    "decoder.decoder_fn = @tiny_test_decoder",
]
BATCH = 8
COMMON = ["encoder.num_latent = 3", "AdamOptimizer.learning_rate = 0.001"]
# gin config and extra bindings of each model checked step by step.
MODELS = {
    "betavae": ("models/betavae.gin", []),
    # Adam is nearly invariant to the gradients' scale; plain SGD is not, so this run checks the
    # 1/num_replicas scaling of the summed gradients.
    "betavae_sgd": ("models/betavae.gin", ["vae_optimizer.optimizer_fn = @test_sgd"]),
    "annealedvae": ("models/annealedvae.gin", ["annealed_vae.iteration_threshold = 2"]),
    "betatcvae": ("models/betatcvae.gin", []),
    "betatcvae_mss": ("models/betatcvae.gin", ["beta_tc_vae.estimator = 'mss'"]),
    "dipvae_i": ("models/dipvae_i.gin", []),
    "dipvae_ii": ("models/dipvae_ii.gin", []),
    "factorvae": ("models/factorvae.gin", []),
    "factorvae_two_batch": ("models/factorvae.gin", ["factor_vae.two_batch = True"]),
    # The variance term exceeds `upper` every step, so eta grows every step.
    "rtcvae": ("models/rtcvae.gin", ["rtc_factor_vae.lower = 0.", "rtc_factor_vae.upper = 1e-6"]),
    "cascadevae": (
        "models/cascadevae.gin",
        [
            "cascade_vae.num_categories = 3",
            "cascade_vae.discrete_start = 0",
            "cascade_vae.relief_interval = 2",
            "cascade_vae.pair_penalty = 100.",  # makes the batch-wide penalty decide
        ],
    ),
    "jointvae": (
        "models/jointvae.gin",
        [
            "joint_vae.discrete_sizes = [3]",
            "joint_vae.continuous_capacity = 40.",
            "joint_vae.discrete_capacity = 1.1",
            "joint_vae.capacity_steps = 2",
            "joint_vae.gamma = 150.",
        ],
    ),
    # Pairs: observations and labels are sharded alike, each half draws its global noise.
    "ada_gvae": ("models/ada_gvae.gin", []),
    "mlvae_labels": ("models/mlvae_labels.gin", []),
    # Every replica draws the same labelled batch.
    "s2_vae": ("models/s2_vae.gin", ["model.num_labelled_samples = 20"]),
}


def _weights(model) -> list[np.ndarray]:
    return [np.asarray(v.numpy()) for v in model.weights]


def model_steps(
    name: str, distribution: str, tiny: bool = False
) -> tuple[list[dict], list[np.ndarray]]:
    """STEPS train steps of `name` on fixed TinySquares batches: per-step logs, final weights.

    `tiny`: TINY_STEPS steps on the tiny dense networks (`TINY_NETS`).
    """
    config, bindings = MODELS[name]
    gin_utils.parse_config([config], [*COMMON, *bindings, *(TINY_NETS if tiny else [])])
    try:
        model = gin.query_parameter("model.model").scoped_configurable_fn()
        setup = devices.configure(distribution, False, "float32")
        devices.check_run(setup, model, BATCH, False)
        keras.utils.set_random_seed(0)
        data = TinySquares()
        if semi_supervised_vae.is_semi_supervised(model):
            model.attach_labelled_set(labelled.make_labelled_set(data, 20, 1.0, 0))
        devices.build_model(model, setup, data.observation_shape, 0, 1000)
        step_fn = step_functions.make_train_function(model, setup)
        curve = []
        for k in range(TINY_STEPS if tiny else STEPS):
            size = BATCH * model.batches_per_step
            if weak.is_pair_model(model):
                pairs = weak.make_pair_dataset(data, size, 0, k, 1, settings=model.dynamics)
                batch = next(iter(pairs))
            else:
                batch = tf.constant(pipeline.sample_batch(data, size, 0, k, pipeline.TRAIN_STREAM))
            logs = step_fn(step_functions.shard_batch(setup, batch, model.batches_per_step))
            curve.append({key: float(value) for key, value in logs.items()})
            for tracker in model.metrics:
                tracker.reset_state()
        return curve, _weights(model)
    finally:
        gin.clear_config()


def training_run(distribution: str, work_dir: str, extra: list[str]) -> dict:
    """A whole `train_with_gin` run of the tiny beta-VAE: per-step logs, results, weights."""
    curve = []
    original = progress.ProgressLogger.maybe_log

    def capture(self, step, logs):
        curve.append(logs)
        return original(self, step, logs)

    progress.ProgressLogger.maybe_log = capture
    model_dir = os.path.join(work_dir, distribution)
    bindings = [
        *TINY_TRAINING_BINDINGS,
        "model.training_steps = 6",
        "model.summary_every_steps = 1",  # trackers reset every step: the logs are per step
        f"model.distribution = '{distribution}'",
        # float32: bfloat16 kernels round differently at another batch size per replica.
        "model.mixed_precision = 'float32'",
        *extra,
    ]
    try:
        result = train.train_with_gin(model_dir, gin_bindings=bindings)
    finally:
        progress.ProgressLogger.maybe_log = original
    reader = tf.train.load_checkpoint(layout.checkpoint_dir(model_dir))
    names = sorted(
        n
        for n in reader.get_variable_to_shape_map()
        if n != "_CHECKPOINTABLE_OBJECT_GRAPH" and "save_counter" not in n
    )
    module = tf.saved_model.load(layout.saved_model_dir(model_dir))
    images = pipeline.sample_batch(TinySquares(), 4, 1, 0, pipeline.EVAL_STREAM)
    encoded = module.signatures["encode"](images=tf.constant(images))
    return {
        "curve": curve,
        "result": result,
        "checkpoint": {n: reader.get_tensor(n) for n in names},
        "encoded_mean": encoded["mean"].numpy(),
    }


class NaNSquares(TinySquares):
    """TinySquares whose bottom-right large square is NaN (as in test_train.py)."""

    def sample_observations_from_factors(self, factors, random_state):
        images = super().sample_observations_from_factors(factors, random_state)
        images[(factors[:, 0] == 3) & (factors[:, 1] == 3) & (factors[:, 2] == 1)] = np.nan
        return images


def nan_run(work_dir: str) -> dict:
    """A mirrored run that meets a NaN batch: the error, the kept checkpoint, the bad step."""
    register_dataset("test_nan_squares", NaNSquares)
    data = NaNSquares()

    def first_poisoned_batch(seed: int) -> int:
        return next(
            k
            for k in range(200)
            if np.isnan(pipeline.sample_batch(data, 8, seed, k, pipeline.TRAIN_STREAM)).any()
        )

    seed = next(s for s in range(100) if first_poisoned_batch(s) >= 2)
    model_dir = os.path.join(work_dir, "nan")
    bindings = [
        *TINY_TRAINING_BINDINGS,
        f"model.random_seed = {seed}",
        "dataset.name = 'test_nan_squares'",
        "model.training_steps = 200",
        "model.checkpoint_every_steps = 1000",
        "model.distribution = 'mirrored'",
    ]
    error = error_of(lambda: train.train_with_gin(model_dir, gin_bindings=bindings))
    latest = tf.train.latest_checkpoint(layout.checkpoint_dir(model_dir))
    iterations = tf.train.load_checkpoint(latest).get_tensor(
        "optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"
    )
    return {
        "error": error,
        "first_bad_step": first_poisoned_batch(seed) + 1,
        "checkpoint": os.path.basename(latest),
        "checkpoint_iterations": int(iterations),
    }


def error_of(fn) -> str:
    try:
        fn()
    except Exception as error:  # the message is the result
        return f"{type(error).__name__}: {error}"
    return ""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--tiny_models", default="")
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    out: dict = {"logical_cpus": len(tf.config.list_logical_devices("CPU"))}
    work = tempfile.mkdtemp()

    runs = {d: training_run(d, work, []) for d in ("default", "mirrored")}
    out["training"] = {d: {"curve": r["curve"], "result": r["result"]} for d, r in runs.items()}
    for d, r in runs.items():
        np.savez(os.path.join(args.out_dir, f"training_{d}.npz"), **r["checkpoint"])
        np.save(os.path.join(args.out_dir, f"training_{d}_encoded.npy"), r["encoded_mean"])

    out["errors"] = {
        "batch_not_divisible": error_of(
            lambda: train.train_with_gin(
                os.path.join(work, "odd"),
                gin_bindings=[
                    *TINY_TRAINING_BINDINGS,
                    "model.batch_size = 7",
                    "model.distribution = 'mirrored'",
                ],
            )
        ),
        "infogan": error_of(
            lambda: train.train_with_gin(
                os.path.join(work, "infogan"),
                gin_config_files=["models/infogan.gin"],
                gin_bindings=[
                    *(b for b in TINY_TRAINING_BINDINGS if "model.model" not in b),
                    "model.distribution = 'mirrored'",
                ],
            )
        ),
        "xla_on_cpu_replicas": error_of(
            lambda: train.train_with_gin(
                os.path.join(work, "xla"),
                gin_bindings=[
                    *TINY_TRAINING_BINDINGS,
                    "model.distribution = 'mirrored'",
                    "model.jit_compile = True",
                ],
            )
        ),
    }

    out["nan"] = nan_run(work)

    out["models"] = {}
    for name in [m for m in args.models.split(",") if m]:
        out["models"][name] = {}
        for distribution in ("default", "mirrored"):
            curve, weights = model_steps(name, distribution)
            out["models"][name][distribution] = curve
            np.savez(
                os.path.join(args.out_dir, f"{name}_{distribution}.npz"),
                *weights,
            )
        print(name, "done", flush=True)
    out["tiny_models"] = {}
    for name in [m for m in args.tiny_models.split(",") if m]:
        out["tiny_models"][name] = {}
        for distribution in ("default", "mirrored"):
            curve, weights = model_steps(name, distribution, tiny=True)
            out["tiny_models"][name][distribution] = curve
            np.savez(os.path.join(args.out_dir, f"{name}_tiny_{distribution}.npz"), *weights)
        print(name, "(tiny) done", flush=True)
    with open(os.path.join(args.out_dir, "results.json"), "w") as f:
        json.dump(out, f, indent=1, default=str)


if __name__ == "__main__":
    sys.exit(main())
