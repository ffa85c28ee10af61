"""Training: `train(model_dir)` bound by gin as `model.*` (dlib's names; SPEC section 1).

A run writes checkpoints, TensorBoard scalars and images, progress logs, the exported SavedModel
and dlib's results files into `model_dir` (layout in `tfdis.utils.layout`). An unfinished run in
`model_dir` resumes from its last checkpoint with the same configuration; a finished one is
refused unless `overwrite`. A NaN or inf loss stops the run, keeps the last good checkpoint and
names the step.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
import uuid
from collections.abc import Callable, Sequence

import gin
import keras
import numpy as np
import tensorflow as tf
from absl import logging

from tfdis.data import device_resident, pipeline
from tfdis.data import labelled as labelled_data
from tfdis.data import weak as weak_data
from tfdis.data.named_data import get_named_ground_truth_data
from tfdis.models import semi_supervised_vae
from tfdis.models.vae import BaseVAE
from tfdis.runtime import deferred_updates
from tfdis.training import devices, eval_during_training, export, interrupt, run_dir, step_functions
from tfdis.training.progress import ProgressLogger, format_duration, logged
from tfdis.utils import (
    errors,
    gin_utils,
    gin_validation,
    image_grids,
    layout,
    results,
    run_lock,
    safe_replace,
)

RUN_CONFIG_FILE = run_dir.RUN_CONFIG_FILE
# The input path ("device" or "tf_data") a run started with, reused when it resumes.
INPUT_PIPELINE_FILE = "input_pipeline.txt"
# The precision a run started with ('auto' resolved), reused when it resumes.
PRECISION_FILE = "mixed_precision.txt"


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or inf; the message names the step and the checkpoint kept."""

    def __init__(self, step: int, checkpoint_step: int, checkpoint_dir: str, saved: bool = True):
        self.step = step
        self.checkpoint_step = checkpoint_step
        change = "(e.g. a lower AdamOptimizer.learning_rate or regularizer weight)"
        if saved:
            advice = (
                f"The last good checkpoint (step {checkpoint_step}) is kept in {checkpoint_dir}. "
                f"Change the cause {change} and rerun the same command with "
                "--allow_config_change=optimizer,regularizer to resume from it, or pass "
                "--overwrite to start over."
            )
        else:
            advice = (
                "Nothing was saved (no step completed). Change the configuration "
                f"{change} and rerun; the run starts over."
            )
        super().__init__(
            f"Training stopped: the loss or its gradient became NaN or inf at step {step}. {advice}"
        )


class NonFiniteResultError(ValueError):
    """The final evaluation of a trained model is NaN or inf; nothing is exported or recorded."""


def prepare_model_dir(
    model_dir: str, overwrite: bool, allow_config_change: Sequence[str] = ()
) -> str:
    """`run_dir.prepare_run_dir`: the directory to train in (call under the run's lock)."""
    return run_dir.prepare_run_dir(model_dir, overwrite, allow_config_change)


def optimizer_constants(model: BaseVAE) -> list[tuple[tf.Variable, float]]:
    """(variable, configured value) of every optimizer's learning rate held in a variable.

    Checkpoints save learning rates; a run resumed with `--allow_config_change=optimizer`
    assigns the configured ones back after restoring.
    """
    optimizers = [model.optimizer] + [
        o
        for o in model.checkpoint_objects().values()
        if isinstance(o, keras.optimizers.Optimizer) and o is not model.optimizer
    ]
    constants = []
    for optimizer in optimizers:
        variable = getattr(optimizer, "_learning_rate", None)
        if hasattr(variable, "assign") and hasattr(variable, "numpy"):
            constants.append((variable, float(variable.numpy())))
    return constants


def _image_grid(observations: np.ndarray, reconstructions: np.ndarray) -> np.ndarray:
    """Pairs inputs and reconstructions side by side: `[B, H, 2W, C]`."""
    return np.concatenate([observations, reconstructions], axis=2)


TRAVERSAL_VALUES = np.linspace(-2.0, 2.0, 8)  # dlib's fixed interval, 8 steps


def _traversal_image(model: BaseVAE, observation: np.ndarray) -> np.ndarray:
    """Latent traversal of one observation's posterior mean: `[1, d * H, 8 * W, C]` in [0, 1].

    Row j moves latent j over [-2, 2]; models with categorical codes keep its categories.
    """
    if hasattr(model, "decode_with_categories"):
        encoded = model.encode_discrete(observation[None])
        base, categories = encoded["mean"].numpy()[0], encoded["category"]

        def decode_fn(latents):
            tiled = tf.repeat(categories, len(latents), axis=0)
            logits = model.decode_with_categories(tf.constant(latents), tiled)
            return tf.sigmoid(tf.cast(logits, tf.float32)).numpy()
    else:
        base = model.posterior(observation[None]).mean.numpy()[0]

        def decode_fn(latents):
            logits = model.decoder(tf.constant(latents, tf.float32))
            return tf.sigmoid(tf.cast(logits, tf.float32)).numpy()

    return image_grids.latent_traversal_image(decode_fn, base, TRAVERSAL_VALUES.astype(base.dtype))[
        None
    ]


def recorded_precision(checkpoint_dir: str, mixed_precision: str) -> str:
    """The precision a run in `checkpoint_dir` started with, else `mixed_precision`.

    'auto' resolves by the machine (bfloat16 where the CPU has bfloat16 instructions), and the
    resolution may change between versions: a resumed run keeps the precision it started with.
    """
    return _recorded_choice([checkpoint_dir], PRECISION_FILE, mixed_precision)


def _recorded_choice(checkpoint_dirs: Sequence[str], file_name: str, default: str) -> str:
    """The choice recorded in `file_name` of the first checkpoint directory holding it."""
    for checkpoint_dir in checkpoint_dirs:
        path = os.path.join(checkpoint_dir, file_name)
        if os.path.exists(path):
            with open(path) as f:
                return f.read().strip()
    return default


def select_recorded_input_pipeline(
    data, input_pipeline: str, images_drawn: int, checkpoint_dirs: Sequence[str]
):
    """`device_resident.select_input_pipeline`, kept fixed over a run's resumptions.

    The two paths draw different batches, and "auto" depends on `model.training_steps`, which
    a resumed run may change: the path a run started with is recorded in its checkpoint
    directories (`INPUT_PIPELINE_FILE`) and reused when it resumes.

    Returns:
        The device-resident table, or None for the `tf.data` pipeline.
    """
    input_pipeline = _recorded_choice(checkpoint_dirs, INPUT_PIPELINE_FILE, input_pipeline)
    table = device_resident.select_input_pipeline(data, input_pipeline, images_drawn)
    for checkpoint_dir in checkpoint_dirs:
        results.atomic_write_text(
            os.path.join(checkpoint_dir, INPUT_PIPELINE_FILE),
            "tf_data" if table is None else "device",
        )
    return table


def write_image_summaries(model: BaseVAE, preview: np.ndarray, step: int) -> None:
    """TensorBoard images (default writer): inputs beside reconstructions, a latent traversal.

    Args:
        model: the model being trained.
        preview: 8 fixed observations `[8, H, W, C]`.
        step: the summary step.

    Observations that are not images (`dummy_data`'s vectors) get no picture.
    """
    if preview.ndim != 4:
        return
    reconstructions = tf.sigmoid(tf.cast(model(preview), tf.float32)).numpy()
    tf.summary.image(
        "inputs_vs_reconstructions", _image_grid(preview, reconstructions), step=step, max_outputs=8
    )
    tf.summary.image("latent_traversal", _traversal_image(model, preview[0]), step=step)


# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "model": {
            "training_steps": {"kind": "int", "positive": True},
            "random_seed": {"kind": "int", "minimum": 0, "optional": True},
            "model_seed": {"kind": "int", "minimum": 0, "optional": True},
            "unsupervised_data_seed": {"kind": "int", "minimum": 0, "optional": True},
            "batch_size": {"kind": "int", "positive": True},
            "eval_steps": {"kind": "int", "positive": True},
            "name": {"kind": "str"},
            "model_num": {"kind": "int", "minimum": 0, "optional": True},
            "checkpoint_every_steps": {"kind": "int", "positive": True},
            "summary_every_steps": {"kind": "int", "positive": True},
            "image_summary_every_steps": {"kind": "int", "positive": True},
            "log_every_seconds": {"kind": "number", "minimum": 0},
            "max_checkpoints_to_keep": {"kind": "int", "positive": True},
            # Their values are checked where they are used (with the reason for each refusal).
            "distribution": {"kind": "str"},
            "jit_compile": {"kind": "bool", "also": ("auto",)},
            "mixed_precision": {"kind": "str"},
            "input_pipeline": {"kind": "str"},
            "num_labelled_samples": {"kind": "int", "positive": True, "optional": True},
            "train_percentage": {"kind": "number", "positive": True, "maximum": 1},
            "supervised_data_seed": {"kind": "int", "minimum": 0, "optional": True},
            "eval_every_steps": {"kind": "int", "minimum": 0},
        }
    },
)


@gin.configurable("model", denylist=["model_dir", "settings_only"])
def train(
    model_dir: str,
    model: BaseVAE = gin.REQUIRED,
    training_steps: int = gin.REQUIRED,
    random_seed: int | None = None,
    batch_size: int = gin.REQUIRED,
    eval_steps: int = 1000,
    name: str = "",
    model_num: int | None = None,
    checkpoint_every_steps: int = 1000,
    summary_every_steps: int = 100,
    image_summary_every_steps: int = 1000,
    log_every_seconds: float = 10.0,
    max_checkpoints_to_keep: int = 3,
    distribution: str = "default",
    jit_compile: bool | str = "auto",
    mixed_precision: str = "auto",
    input_pipeline: str = "auto",
    num_labelled_samples: int | None = None,
    train_percentage: float = 1.0,
    supervised_data_seed: int | None = None,
    model_seed: int | None = None,
    unsupervised_data_seed: int | None = None,
    eval_every_steps: int = 0,
    eval_metrics: Sequence[Callable[..., dict]] | None = None,
    settings_only: bool = False,
) -> dict:
    """Trains `model` on the gin-chosen dataset and exports it (call through `train_with_gin`).

    Args:
        model_dir: the run directory.
        model: the model instance (gin: `model.model = @vae()`).
        training_steps: total optimizer steps.
        random_seed: seeds weights, data and noise (each stands for the dlib seeds below
            that are not bound; required unless `model_seed` and `unsupervised_data_seed` are).
        batch_size: observations per step.
        eval_steps: batches averaged for the final `train_results` (dlib's eval_steps).
        name, model_num: free-form labels copied to the results (dlib).
        checkpoint_every_steps: checkpoint interval; the last step is always saved.
        summary_every_steps: TensorBoard scalar interval.
        image_summary_every_steps: TensorBoard image interval (inputs beside reconstructions,
            and a latent traversal of the first preview image).
        log_every_seconds: progress line interval.
        max_checkpoints_to_keep: checkpoints kept by the CheckpointManager.
        distribution: "default" (one device), "mirrored" (all local GPUs, else the logical CPU
            devices) or "multi_worker_mirrored" (hosts from TF_CONFIG); `batch_size` stays the
            global batch. See `tfdis.training.step_functions` for which models are exact sharded.
        jit_compile: XLA for the train step: "auto" (on when a GPU or TPU is visible), True,
            False.
        mixed_precision: "auto", "float32" or "mixed_bfloat16" (the networks' Keras dtype
            policy; losses stay float32).
        input_pipeline: "tf_data" (batches from `tfdis.data.pipeline`), "device" (a
            device-resident table sampled inside the step, `tfdis.data.device_resident`) or
            "auto" (the table when the dataset is enumerable, fits `device_resident.max_bytes`
            and the run reads at least as many images as it holds; else tf.data).
        num_labelled_samples, train_percentage, supervised_data_seed: the labelled set of a
            semi-supervised model (`tfdis.data.labelled`; dlib's names): its size, the share of
            it the supervised loss trains on, and its seed (default: `random_seed`'s).
        model_seed: dlib's seed of the model (semi-supervised trainer): initial weights,
            reparameterization noise and the labelled batches drawn per step (default:
            `random_seed`).
        unsupervised_data_seed: dlib's seed of the unlabelled data: the training batches (single
            observations or pairs), the final evaluation's batches and the preview images
            (default: `random_seed`).
        eval_every_steps: score the in-memory model with `eval_metrics` every this many steps
            and at the last step (0: never); see `tfdis.training.eval_during_training`. The
            training's random stream is unchanged.
        eval_metrics: metric functions (gin: `[@mig, @unsupervised_metrics]`, the default),
            called with their gin-bound sizes.
        settings_only: return the arguments above (gin-resolved, `model` instantiated but not
            built) without training; stacked training (`tfdis.training.stacked`) reads each
            member's settings this way, and gin records them in the operative config.

    Returns:
        The train results dict (eval loss terms, elapsed_time, uuid, ...).
    """
    gin_validation.check_parameters("model", locals(), _GIN_RULES["model"])
    del name  # recorded through the operative gin config
    if not isinstance(model, BaseVAE) and callable(model):
        # dlib's semi-supervised configs bind the class, `model.model = @s2_vae`; dlib calls it.
        model = model()
    seeds = resolve_seeds(random_seed, model_seed, unsupervised_data_seed, supervised_data_seed)
    if not isinstance(model, BaseVAE):
        raise errors.ConfigError(f"model.model must be a tfdis model such as @vae(), got {model!r}")
    if semi_supervised_vae.is_semi_supervised(model) and seeds.labelled is None:
        raise errors.ConfigError(
            f"{type(model).__name__} needs model.supervised_data_seed (or model.random_seed)"
        )
    if settings_only:
        return {
            "model": model,
            "training_steps": training_steps,
            "random_seed": random_seed,
            "model_seed": seeds.model,
            "data_seed": seeds.data,
            "batch_size": batch_size,
            "eval_steps": eval_steps,
            "checkpoint_every_steps": checkpoint_every_steps,
            "summary_every_steps": summary_every_steps,
            "image_summary_every_steps": image_summary_every_steps,
            "log_every_seconds": log_every_seconds,
            "max_checkpoints_to_keep": max_checkpoints_to_keep,
            "input_pipeline": input_pipeline,
            "distribution": distribution,
            "jit_compile": jit_compile,
            "mixed_precision": mixed_precision,
        }
    start_time = time.time()
    precision = recorded_precision(layout.checkpoint_dir(model_dir), mixed_precision)
    setup = devices.configure(distribution, jit_compile, precision)  # strategy first
    devices.check_run(setup, model, batch_size, jit_compile)
    # Non-chief workers of a multi-worker run resume from the chief's checkpoints and write to
    # a temporary directory.
    shared_dir, model_dir = model_dir, devices.worker_model_dir(setup, model_dir)
    data = get_named_ground_truth_data()
    keras.utils.set_random_seed(seeds.model)
    if semi_supervised_vae.is_semi_supervised(model):
        if num_labelled_samples is None:
            raise ValueError(f"{type(model).__name__} needs model.num_labelled_samples")
        model.attach_labelled_set(
            labelled_data.labelled_set_for_run(
                data,
                num_labelled_samples,
                train_percentage,
                seeds.labelled,
                list(dict.fromkeys([layout.checkpoint_dir(d) for d in (shared_dir, model_dir)])),
            )
        )
    devices.build_model(model, setup, data.observation_shape, seeds.model, data.dataset_size)
    optimizer = model.optimizer

    checkpoint_dir = layout.checkpoint_dir(model_dir)
    checkpoint = tf.train.Checkpoint(model=model, **model.checkpoint_objects())
    configured = optimizer_constants(model)
    restored = run_dir.restore_newest(checkpoint, layout.checkpoint_dir(shared_dir))
    if restored is not None:
        # Checkpoints hold the learning rates; the configured ones win (--allow_config_change).
        for variable, value in configured:
            variable.assign(value)
        logging.info("Resuming from step %d of %s.", restored, checkpoint_dir)
    manager = tf.train.CheckpointManager(
        checkpoint,
        checkpoint_dir,
        max_to_keep=max_checkpoints_to_keep,
        step_counter=optimizer.iterations,
    )
    run_dir.record_config(checkpoint_dir, int(optimizer.iterations.numpy()))
    results.atomic_write_text(os.path.join(checkpoint_dir, PRECISION_FILE), setup.precision)
    start_step = int(optimizer.iterations.numpy())
    if start_step > training_steps:
        raise ValueError(
            f"the checkpoint in {checkpoint_dir} is at step {start_step}, past "
            f"model.training_steps={training_steps}"
        )

    train_fn = step_functions.make_train_function(model, setup)
    writer = tf.summary.create_file_writer(os.path.join(layout.tensorboard_dir(model_dir), "train"))
    preview = pipeline.sample_batch(data, 8, seeds.data, 0, pipeline.EVAL_STREAM)
    step_batch = batch_size * model.batches_per_step
    pairs = weak_data.is_pair_model(model)
    if pairs:  # pairs are gathered from a table only when it is indexed by the factor grid
        input_pipeline = weak_data.pair_input_pipeline(data, input_pipeline, model.dynamics)
    table = select_recorded_input_pipeline(
        data, input_pipeline, training_steps * step_batch, [checkpoint_dir]
    )
    if pairs and table is not None:
        table = weak_data.DevicePairs(table, data.factors_num_values, model.dynamics)
    indices = (tf.constant(k, tf.int64) for k in range(start_step, training_steps))
    if table is None:
        step_inputs = weak_data.dataset_function(model)(
            data,
            step_batch,
            seeds.data,
            start_index=start_step,
            num_batches=training_steps - start_step,
        )
    elif setup.distributed or setup.jit_compile:
        # Sharded or compiled steps take a batch: it is drawn from the table in its own function.
        draw = tf.function(lambda k: table.sample_for_step(step_batch, seeds.data, k))
        step_inputs = (draw(k) for k in indices)
    else:  # the step samples its own batch: it takes the batch index (the step before it)
        train_fn = device_resident.device_train_function(model, table, step_batch, seeds.data)
        step_inputs = indices
    progress = ProgressLogger(start_step, training_steps, batch_size, log_every_seconds)
    last_saved = start_step
    logging.info(
        "Training %s for %d steps (batch %d) from step %d in %s on %s.",
        type(model).__name__,
        training_steps,
        batch_size,
        start_step,
        model_dir,
        setup.describe(),
    )
    summary_time, summary_step = time.perf_counter(), start_step
    with writer.as_default(), interrupt.stop_requests() as stop:
        for step, step_input in enumerate(step_inputs, start=start_step + 1):
            try:
                logs = train_fn(
                    step_functions.shard_batch(setup, step_input, model.batches_per_step)
                )
            except tf.errors.InvalidArgumentError as error:
                if deferred_updates.NON_FINITE_MESSAGE not in str(error):
                    raise
                # The failing update was not applied: weights and step counter are step - 1's.
                if step - 1 > last_saved:
                    manager.save(checkpoint_number=step - 1)
                    last_saved = step - 1
                saved = bool(run_dir.checkpoint_steps(checkpoint_dir))
                raise NonFiniteLossError(step, last_saved, checkpoint_dir, saved) from None
            if step % summary_every_steps == 0 or step == training_steps:
                now = time.perf_counter()
                for key, value in logs.items():
                    tf.summary.scalar(key, value, step=step)
                tf.summary.scalar(
                    "steps_per_sec", (step - summary_step) / (now - summary_time), step=step
                )
                summary_time, summary_step = now, step
                for tracker in model.metrics:
                    tracker.reset_state()
            if step % image_summary_every_steps == 0 or step == training_steps:
                write_image_summaries(model, preview, step)
            if eval_every_steps and (step % eval_every_steps == 0 or step == training_steps):
                eval_during_training.evaluate_during_training(
                    model, data, step, _eval_metrics(eval_metrics), model_dir, seeds.data
                )
            if step % checkpoint_every_steps == 0 or step == training_steps or stop:
                manager.save(checkpoint_number=step)
                last_saved = step
            if stop and step < training_steps:
                writer.flush()
                raise interrupt.TrainingInterrupted(step, stop.signum)
            progress.maybe_log(step, {k: float(v) for k, v in logs.items()})
    writer.flush()

    train_results = finish_run(
        model,
        data,
        model_dir,
        batch_size,
        seeds.data,
        eval_steps,
        setup,
        start_time,
        model_seed=seeds.model,
    )
    if model_dir != shared_dir:
        shutil.rmtree(model_dir, ignore_errors=True)
    return train_results


@dataclasses.dataclass(frozen=True)
class RunSeeds:
    """A run's seeds: dlib's three (semi-supervised trainer), each `model.random_seed` unless
    bound."""

    model: int  # initial weights, reparameterization noise, labelled batches drawn per step
    data: int  # training batches (observations or pairs), evaluation batches, preview images
    labelled: int | None  # the labelled set's draw (semi-supervised models)


def resolve_seeds(
    random_seed: int | None,
    model_seed: int | None,
    unsupervised_data_seed: int | None,
    supervised_data_seed: int | None,
) -> RunSeeds:
    """`RunSeeds` from `model.random_seed` and dlib's `model_seed`, `unsupervised_data_seed`,
    `supervised_data_seed` (a bound one wins; an unbound one is `random_seed`)."""
    if random_seed is None:
        missing = [
            f"model.{name}"
            for name, value in (
                ("model_seed", model_seed),
                ("unsupervised_data_seed", unsupervised_data_seed),
            )
            if value is None
        ]
        if missing:
            raise errors.ConfigError(
                "bind model.random_seed, or dlib's model.model_seed and "
                f"model.unsupervised_data_seed (missing: {', '.join(missing)})"
            )

    def pick(value: int | None) -> int | None:
        return random_seed if value is None else value

    return RunSeeds(pick(model_seed), pick(unsupervised_data_seed), pick(supervised_data_seed))


def _eval_metrics(metrics: Sequence[Callable[..., dict]] | None) -> list[Callable[..., dict]]:
    """`model.eval_metrics`, by default MIG and the unsupervised scores (cheap, no fits)."""
    if metrics is not None:
        return list(metrics)
    from tfdis.evaluation.metrics.mig import compute_mig
    from tfdis.evaluation.metrics.unsupervised import unsupervised_metrics

    return [compute_mig, unsupervised_metrics]


def finish_run(
    model: BaseVAE,
    data,
    model_dir: str,
    batch_size: int,
    random_seed: int,
    eval_steps: int,
    setup: devices.DeviceSetup,
    start_time: float,
    model_seed: int | None = None,
    **extra_results,
) -> dict:
    """Evaluates, exports and records a trained model: the end of a run, alone or stacked.

    Writes the SavedModel, the operative gin config and dlib's train results (eval loss terms,
    global_step, elapsed_time, uuid, `extra_results` and the device setup) into `model_dir`.
    `random_seed` seeds the evaluation batches (the run's data seed); the SavedModel's metadata
    records `model_seed` (default: `random_seed`).

    Returns:
        The train results dict.
    """
    eval_results = evaluate_loss_terms(model, data, batch_size, random_seed, eval_steps, setup)
    bad = {k: v for k, v in eval_results.items() if not np.isfinite(v)}
    if bad:
        raise NonFiniteResultError(
            f"the final evaluation of {model_dir} is not finite "
            f"({', '.join(f'{k}={v}' for k, v in sorted(bad.items()))}): the trained weights "
            "blow up. Nothing was exported or recorded; rerun with --overwrite and a lower "
            "AdamOptimizer.learning_rate (or regularizer weight)."
        )
    export_start = time.time()
    logging.info("Exporting the SavedModel to %s.", layout.saved_model_dir(model_dir))
    export.export_vae(
        model,
        layout.saved_model_dir(model_dir),
        metadata={
            "dataset": data.name,
            "random_seed": random_seed if model_seed is None else model_seed,
        },
    )
    logging.info("Exported in %s.", format_duration(time.time() - export_start))
    train_results = dict(eval_results)
    train_results.update(
        global_step=int(model.optimizer.iterations.numpy()),
        elapsed_time=time.time() - start_time,
        uuid=str(uuid.uuid4()),
        **extra_results,
        **setup.describe(),
    )
    result_dir = layout.results_dir(model_dir)
    results.save_gin_config(result_dir, "train", gin_utils.operative_config())
    results.update_result_directory(result_dir, "train", train_results)
    logging.info(
        "Finished training %s in %s: %s",
        model_dir,
        format_duration(train_results["elapsed_time"]),
        {k: round(v, 4) for k, v in eval_results.items()},
    )
    return train_results


def evaluate_loss_terms(
    model: BaseVAE,
    data,
    batch_size: int,
    random_seed: int,
    eval_steps: int,
    setup: devices.DeviceSetup | None = None,
) -> dict[str, float]:
    """Means of the model's logged terms over `eval_steps` batches of the eval stream (dlib's eval).

    The eval stream draws other samples of the same data, not held-out images, as in dlib.
    `setup` (the training run's devices) shards the batches as in training.
    """
    setup = setup or devices.configure("default", False, "float32")
    test_fn = step_functions.make_test_function(model, setup)
    # A pair model's batch holds both observations of batch_size pairs.
    batches = model.batches_per_step if weak_data.is_pair_model(model) else 1
    dataset = weak_data.dataset_function(model)(
        data,
        batch_size * batches,
        random_seed,
        num_batches=max(1, eval_steps),
        purpose=pipeline.EVAL_STREAM,
    )
    # Each batch's terms on their own (trackers reset), summed in float64 in batch order: the
    # mean does not depend on how a running float32 mean rounds.
    sums: dict[str, float] = {}
    count = 0
    for batch in logged(dataset, max(1, eval_steps), "Final evaluation"):
        for tracker in model.metrics:
            tracker.reset_state()
        logs = test_fn(step_functions.shard_batch(setup, batch, batches))
        for key, value in logs.items():
            sums[key] = sums.get(key, 0.0) + float(np.float64(value.numpy()))
        count += 1
    for tracker in model.metrics:
        tracker.reset_state()
    return {key: float(total / count) for key, total in sums.items()}


def _non_chief_worker() -> bool:
    """Whether `TF_CONFIG` makes this process a non-chief worker of a multi-worker run."""
    import json

    try:
        config = json.loads(os.environ.get("TF_CONFIG", "") or "{}")
    except ValueError:
        return False
    task = config.get("task", {})
    kind, index = task.get("type"), task.get("index", 0)
    if kind in (None, "chief"):
        return False
    return not (kind == "worker" and index == 0 and "chief" not in config.get("cluster", {}))


def train_with_gin(
    model_dir: str,
    overwrite: bool = False,
    gin_config_files: list[str] | tuple[str, ...] = (),
    gin_bindings: list[str] | tuple[str, ...] = (),
    allow_config_change: Sequence[str] = (),
) -> dict:
    """Parses gin, applies the run-directory policy and trains (the `tfdis_train` entry point).

    The run holds `model_dir`'s exclusive lock (`tfdis.utils.run_lock`) throughout. With
    `overwrite`, an existing run is replaced only by a complete new one (`tfdis.training.run_dir`).

    Args:
        model_dir: the run directory.
        overwrite: replace an existing run (once the new one is complete).
        gin_config_files, gin_bindings: the configuration (bindings win).
        allow_config_change: categories ("optimizer", "regularizer") whose constants may differ
            from the unfinished run being resumed; the change is recorded in
            `checkpoints/config_history.json`.
    """
    allowed = run_dir.parse_allowed_changes(allow_config_change)
    gin_utils.parse_config(gin_config_files, gin_bindings)
    try:
        run_dir.check_run_dir_path(model_dir)
        train(model_dir, settings_only=True)  # bad bindings fail here, before any file is touched
        if _non_chief_worker():  # the chief owns the directory; workers write elsewhere
            shared = model_dir
            if overwrite and run_dir.run_state(model_dir) != "empty":
                shared = safe_replace.staging_path(model_dir)
            return train(shared)
        with run_lock.run_lock(model_dir, exclusive=True, action="train"):
            existed = os.path.isdir(model_dir)
            target = run_dir.prepare_run_dir(model_dir, overwrite, allowed)
            try:
                train_results = train(target)
            except BaseException:
                if not run_dir.checkpoint_steps(layout.checkpoint_dir(target)):
                    # Nothing of this run to resume: leave the directory as it was.
                    if target != model_dir or not existed:
                        shutil.rmtree(target, ignore_errors=True)
                    else:
                        run_dir.empty_directory(target)
                raise
            run_dir.finish_run_dir(model_dir, target)
            return train_results
    finally:
        gin.clear_config()
