"""Stacked training: S models of one architecture trained in one `tf.function` step (issue 8).

A study trains many small models that differ only in seed or hyperparameters. Each is too small
to fill an accelerator, so `train_stacked_with_gin` trains S of them at once: their weights are
stacked along a leading axis (`tfdis.models.stacked_networks`), one step runs all S encoders and
decoders as grouped convolutions and batched matmuls, and each model scores its own slice with
its own hooks (posterior family, regularizer, schedules) under its own gin configuration. The
loss is the sum of the S models' losses, so each slice's gradient is its model's gradient; the
optimizer is elementwise (Adam), so each slice of its state is that model's state.

Each model keeps its own `model_dir` and every file a run alone writes there: its gin config,
checkpoints in the single-model format (weights and optimizer state sliced out), TensorBoard
scalars and images, the eval results, the SavedModel and the train results. A model trained in a
group therefore matches the same model trained alone (same seed: same initial weights, batches
and noise) up to float summation order, and a killed group resumes from its members'
checkpoints (each member could also be resumed alone).

Stackable: `BaseVAE` models that use its train step unchanged (beta-VAE, annealed VAE,
beta-TCVAE, DIP-VAE, RTC-VAE, any posterior correlation), with one architecture, one optimizer
configuration, one dataset, batch size and schedule across the group. FactorVAE (a second
network and optimizer), CascadeVAE, JointVAE and InfoGAN are refused with the reason.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Iterator, Sequence

import gin
import keras
import numpy as np
import tensorflow as tf
from absl import logging

from tfdis.data import device_resident, pipeline
from tfdis.data.named_data import get_named_ground_truth_data
from tfdis.models.stacked_networks import StackedNetwork
from tfdis.models.vae import BaseVAE
from tfdis.training import devices, interrupt, run_dir, strategies
from tfdis.training import train as single
from tfdis.training.progress import ProgressLogger
from tfdis.utils import gin_utils, layout, results, run_lock

# Settings every member of a group must share (they shape the one loop that trains them all).
SHARED_SETTINGS = (
    "training_steps",
    "batch_size",
    "checkpoint_every_steps",
    "summary_every_steps",
    "image_summary_every_steps",
    "input_pipeline",
    "mixed_precision",
)


@dataclasses.dataclass
class _Member:
    """One model of the group and everything its own run directory needs."""

    model_dir: str
    config_files: list[str]
    bindings: list[str]
    settings: dict
    model: BaseVAE
    manager: tf.train.CheckpointManager
    preview: np.ndarray
    dataset_config: str
    setup: devices.DeviceSetup


def check_stackable(model: BaseVAE) -> None:
    """Raises `ValueError` naming why `model` cannot be trained in a stacked group."""
    name = type(model).__name__
    if not isinstance(model, BaseVAE):
        raise ValueError(f"{name} is not a tfdis VAE; only BaseVAE models can be stacked")
    reason = getattr(model, "stacking_unsupported", None)
    if reason:
        raise ValueError(f"{name} cannot be trained in a stacked group: {reason} Train it alone.")
    overridden = [
        method
        for method in (
            "train_step",
            "compute_loss_terms",
            "posterior",
            "decoder_input",
            "configure_optimizers",
            "checkpoint_objects",
        )
        if getattr(type(model), method) is not getattr(BaseVAE, method)
    ]
    if overridden:
        raise ValueError(
            f"{name} overrides BaseVAE.{', '.join(overridden)}; stacked training supports the "
            "models that only change the regularizer hook (beta-VAE, annealed VAE, beta-TCVAE, "
            "DIP-VAE, and RTC-VAE on beta-TCVAE, @rtc_beta_tc_vae). Train it alone."
        )
    if model.batches_per_step != 1:
        raise ValueError(
            f"{name} has its own extra networks or optimizers (FactorVAE and RTC-VAE on FactorVAE "
            "train a discriminator); stacked training supports one encoder, decoder and "
            "optimizer per model (RTC-VAE stacks on beta-TCVAE, @rtc_beta_tc_vae). Train it alone."
        )


def resolve_models_per_chunk(models_per_chunk: int | None, num_models: int) -> int:
    """How many models one chunk of the stacked step runs at once (None: the device's choice).

    An accelerator runs the whole group at once (one small model leaves it mostly idle). A
    CPU runs one model at a time: its step is bound by cache, and S models' activations at
    once (e.g. 84 MB per conv layer at S = 10, batch 64) miss the cache that one model's
    (8 MB) fit in; `benchmarks/bench_stacked.py --models_per_chunk=...` measures it.
    """
    if models_per_chunk is None:
        on_accelerator = bool(strategies.accelerators())
        return num_models if on_accelerator else 1
    if models_per_chunk < 1:
        raise ValueError(f"models_per_chunk must be positive, got {models_per_chunk}")
    return min(models_per_chunk, num_models)


class StackedVAEGroup:
    """S built `BaseVAE` models trained as one: stacked networks, one elementwise optimizer.

    Args:
        members: S models with built networks and optimizers (`configure_optimizers`), of one
            architecture and optimizer configuration.
        member_gin: optional callable `member_gin(s)` returning a context manager that makes
            model s's gin configuration current while its loss is traced (gin-configurable loss
            code such as `reconstruction_loss.loss_fn` then sees that model's bindings).

    Raises:
        ValueError: a model cannot be stacked, or the models disagree in architecture or
            optimizer.
    """

    def __init__(
        self,
        members: Sequence[BaseVAE],
        member_gin=None,
        models_per_chunk: int | None = None,
    ):
        for model in members:
            check_stackable(model)
        self.members = list(members)
        self.num_models = len(self.members)
        reference = _optimizer_description(self.members[0].optimizer)
        for s, model in enumerate(self.members[1:], start=1):
            if _optimizer_description(model.optimizer) != reference:
                raise ValueError(
                    f"model {s} has another optimizer configuration than model 0 "
                    f"({_optimizer_description(model.optimizer)} vs {reference}); a stacked "
                    "group shares one optimizer"
                )
        self.encoder = StackedNetwork([m.encoder for m in self.members], name="encoder")
        self.decoder = StackedNetwork([m.decoder for m in self.members], name="decoder")
        self.variables = self.encoder.variables + self.decoder.variables
        template = self.members[0].optimizer
        self.optimizer = type(template).from_config(template.get_config())
        self.optimizer.build(self.variables)
        self._member_gin = member_gin or (lambda s: contextlib.nullcontext())
        self.models_per_chunk = resolve_models_per_chunk(models_per_chunk, self.num_models)
        self.load_from_members()

    # --- one step -------------------------------------------------------------------------------

    def train_step(self, observations: tf.Tensor) -> list[dict[str, tf.Tensor]]:
        """One optimizer step of every model on its batch: observations `[S, B, H, W, C]`.

        Returns:
            For each model, the running means of its metrics (as `BaseVAE.train_step`).

        Raises:
            tf.errors.InvalidArgumentError: a model's loss or gradient is NaN or inf; nothing is
                updated and the message lists which models (0 = non-finite).
        """
        step = self.optimizer.iterations
        terms: list[dict[str, tf.Tensor]] = []
        parts: list[list[tf.Tensor]] = [[] for _ in self.variables]
        previous: list[tf.Tensor] = []
        for start in range(0, self.num_models, self.models_per_chunk):
            stop = min(start + self.models_per_chunk, self.num_models)
            # Chunks run one after another, so one chunk's activations stay in cache.
            with tf.control_dependencies(previous):
                chunk_terms, chunk_gradients = self._chunk(observations, step, start, stop)
            terms.extend(chunk_terms)
            for part, gradient in zip(parts, chunk_gradients, strict=True):
                part.append(gradient)
            previous = chunk_gradients
        gradients = [p[0] if len(p) == 1 else tf.concat(p, axis=0) for p in parts]
        losses = tf.stack([t["loss"] for t in terms])
        squared_norms = tf.add_n(
            [tf.reduce_sum(tf.reshape(tf.square(g), [self.num_models, -1]), 1) for g in gradients]
        )
        finite = tf.math.logical_and(tf.math.is_finite(losses), tf.math.is_finite(squared_norms))
        all_finite = tf.reduce_all(finite)

        def apply() -> tf.Tensor:
            self.optimizer.apply_gradients(zip(gradients, self.variables, strict=True))
            return tf.constant(True)

        tf.cond(all_finite, apply, lambda: tf.constant(False))
        tf.debugging.Assert(
            all_finite,
            [
                "non-finite training loss or gradient; finite per stacked model:",
                tf.cast(finite, tf.int32),
            ],
            summarize=self.num_models,
        )
        for s, model in enumerate(self.members):  # per-model state after the step (RTC's eta)
            with self._member_gin(s):
                model.after_update()
        logs = []
        for model, model_terms in zip(self.members, terms, strict=True):
            for name, value in model_terms.items():
                model.trackers[name].update_state(value)
            logs.append({name: tracker.result() for name, tracker in model.trackers.items()})
        return logs

    def _chunk(
        self, observations: tf.Tensor, step: tf.Tensor, start: int, stop: int
    ) -> tuple[list[dict[str, tf.Tensor]], list[tf.Tensor]]:
        """Loss terms of models `start..stop-1` and their gradients, `[stop - start, ...]` each."""
        size = stop - start
        with tf.GradientTape() as tape:
            weights = (
                self.encoder.slice_weights(start, stop),
                self.decoder.slice_weights(start, stop),
            )
            tape.watch(weights)
            images = observations[start:stop]
            # unstack, not indexing: the gradient of S index ops is S zero-padded full-size
            # tensors summed, the gradient of one unstack is one stack.
            means, logvars = (tf.unstack(t, size) for t in self.encoder(images, weights[0]))
            posteriors, samples = [], []
            for k, s in enumerate(range(start, stop)):
                model = self.members[s]
                with self._member_gin(s):
                    posterior = model.make_posterior(means[k], logvars[k])
                    posteriors.append(posterior)
                    samples.append(posterior.sample(model.noise_seed_for_step(step)))
            logits = tf.unstack(self.decoder(tf.stack(samples), weights[1]), size)
            images = tf.unstack(images, size)
            terms = []
            for k, s in enumerate(range(start, stop)):
                with self._member_gin(s):
                    terms.append(
                        self.members[s].loss_terms(
                            images[k], posteriors[k], samples[k], logits[k], step
                        )
                    )
            total = tf.add_n([t["loss"] for t in terms])
        return terms, tape.gradient(total, weights[0] + weights[1])

    # --- moving state between the group and its members ------------------------------------------

    def _optimizer_pairs(self, model: BaseVAE) -> Iterator[tuple[tf.Variable, tf.Variable, bool]]:
        """(group variable, member variable, sliced) over the two optimizers' state."""
        group_state, member_state = self.optimizer.variables, model.optimizer.variables
        if len(group_state) != len(member_state):
            raise ValueError("stacked and single optimizers hold different state variables")
        for group_var, member_var in zip(group_state, member_state, strict=True):
            sliced = tuple(group_var.shape) == (self.num_models, *member_var.shape)
            if not sliced and tuple(group_var.shape) != tuple(member_var.shape):
                raise ValueError(
                    f"optimizer state {group_var.name} {group_var.shape} does not stack "
                    f"{member_var.name} {member_var.shape}"
                )
            yield group_var, member_var, sliced

    def assign_to_members(self, weights_only: bool = False) -> None:
        """Writes slice s of the weights (and optimizer state) into model s."""
        self.encoder.assign_to([m.encoder for m in self.members])
        self.decoder.assign_to([m.decoder for m in self.members])
        if weights_only:
            return
        for s, model in enumerate(self.members):
            for group_var, member_var, sliced in self._optimizer_pairs(model):
                value = group_var.numpy()
                member_var.assign(value[s] if sliced else value)

    def load_from_members(self) -> None:
        """Sets every slice from its model: weights and optimizer state (the inverse)."""
        self.encoder.assign_from([m.encoder for m in self.members])
        self.decoder.assign_from([m.decoder for m in self.members])
        pairs = [list(self._optimizer_pairs(m)) for m in self.members]
        for index, (group_var, _, sliced) in enumerate(pairs[0]):
            values = [p[index][1].numpy() for p in pairs]
            if not sliced and any(not np.array_equal(v, values[0]) for v in values):
                raise ValueError(
                    f"members disagree on shared optimizer state {group_var.name} (e.g. the "
                    "step counter); resume them from checkpoints of the same step"
                )
            group_var.assign(np.stack(values) if sliced else values[0])


def _optimizer_description(optimizer: keras.optimizers.Optimizer) -> str:
    config = {k: v for k, v in optimizer.get_config().items() if k != "name"}
    return f"{type(optimizer).__name__}{sorted(config.items())}"


# --- the training loop ------------------------------------------------------------------------


def _dataset_config(config: str) -> str:
    return "\n".join(line for line in config.splitlines() if line.strip().startswith("dataset."))


def _prepare_member(
    model_dir: str, config_files: Sequence[str], bindings: Sequence[str], overwrite: bool, data
) -> tuple[_Member, object]:
    """Parses one member's gin, applies the run-directory policy and builds its model."""
    gin_utils.parse_config(config_files, bindings)
    settings = single.train(model_dir, settings_only=True)
    model_dir = run_dir.prepare_run_dir(model_dir, overwrite)
    dataset_config = _dataset_config(gin.config_str())
    if data is None:
        data = get_named_ground_truth_data()
    model = settings["model"]
    seed, data_seed = settings["model_seed"], settings["data_seed"]
    check_stackable(model)
    if settings["distribution"] != "default" or settings["jit_compile"] is True:
        raise ValueError(
            f"{model_dir}: stacked training runs on one device without XLA (it is one model "
            "already); leave model.distribution and model.jit_compile at their defaults"
        )
    # The members' precision is their runs' alone ('auto' resolves the same way).
    checkpoint_dir = layout.checkpoint_dir(model_dir)
    precision = single.recorded_precision(checkpoint_dir, settings["mixed_precision"])
    setup = devices.configure("default", False, precision)
    keras.utils.set_random_seed(seed)
    devices.build_model(model, setup, data.observation_shape, seed, data.dataset_size)
    checkpoint = tf.train.Checkpoint(model=model, **model.checkpoint_objects())
    # The state file is rebuilt from the checkpoint files on disk (see `_restore_members`).
    run_dir.repair_state_file(checkpoint_dir)
    manager = tf.train.CheckpointManager(
        checkpoint,
        checkpoint_dir,
        max_to_keep=settings["max_checkpoints_to_keep"],
        step_counter=model.optimizer.iterations,
    )
    results.atomic_write_text(os.path.join(checkpoint_dir, single.PRECISION_FILE), setup.precision)
    preview = pipeline.sample_batch(data, 8, data_seed, 0, pipeline.EVAL_STREAM)
    member = _Member(
        model_dir,
        list(config_files),
        list(bindings),
        settings,
        model,
        manager,
        preview,
        dataset_config,
        setup,
    )
    return member, data


def _checkpoint_step(path: str) -> int:
    return int(path.rsplit("-", 1)[1])


def _restore_members(members: Sequence[_Member]) -> int:
    """Restores every member at the newest step all of them restore; returns it.

    A member's unreadable checkpoint (truncated files) is skipped as for a run alone
    (`run_dir.restore_newest`), with one warning line.
    """
    available = [set(run_dir.checkpoint_steps(layout.checkpoint_dir(m.model_dir))) for m in members]
    if not any(available):
        for member in members:
            gin_utils.parse_config(member.config_files, member.bindings)
            run_dir.record_config(layout.checkpoint_dir(member.model_dir), 0)
        return 0
    common = set.intersection(*available)
    for step in sorted(common, reverse=True):
        failed = []
        for member in members:
            prefix = os.path.join(layout.checkpoint_dir(member.model_dir), f"ckpt-{step}")
            try:
                member.manager.checkpoint.restore(prefix).assert_existing_objects_matched()
            except Exception as error:
                failed.append(f"{prefix} ({type(error).__name__})")
        if failed:
            logging.warning("Checkpoint %s does not restore; trying an older step.", failed)
            continue
        for member in members:
            checkpoint_dir = layout.checkpoint_dir(member.model_dir)
            run_dir.repair_state_file(checkpoint_dir, up_to=step)
            gin_utils.parse_config(member.config_files, member.bindings)
            run_dir.record_config(checkpoint_dir, step)
        logging.info("Resuming the stacked group from step %d.", step)
        return step
    raise FileExistsError(
        "the group's model directories hold no checkpoint step that every member restores "
        f"({[sorted(a) for a in available]}); resume each model alone or pass --overwrite"
    )


def train_stacked_with_gin(
    model_dirs: Sequence[str],
    member_configs: Sequence[tuple[Sequence[str], Sequence[str]]],
    overwrite: bool = False,
    models_per_chunk: int | None = None,
) -> list[dict]:
    """Trains S models in one stacked step; each ends as if trained alone in its `model_dir`.

    Args:
        model_dirs: one run directory per model.
        member_configs: per model, `(gin config files, gin bindings)` as `tfdis_train` takes them.
        overwrite: replace existing run directories (else finished runs are refused and
            unfinished ones resumed, as for a single run).
        models_per_chunk: models the step runs at once (`resolve_models_per_chunk`; None: all
            on an accelerator, one at a time on a CPU). It changes speed, not results.

    Returns:
        Each model's train results (as `train_with_gin` returns them).

    Raises:
        ValueError: the models cannot share one stacked step (architecture, optimizer, dataset,
            batch size or schedule differ, or a model type is not stackable).
        FileExistsError: a directory holds a finished run or another configuration.
        tfdis.training.train.NonFiniteLossError: a model's loss became NaN or inf (the message
            names the models; every member keeps its last good checkpoint).
    """
    if len(model_dirs) != len(member_configs) or not model_dirs:
        raise ValueError("give one (config files, bindings) pair per model directory")
    if len(set(os.path.abspath(d) for d in model_dirs)) != len(model_dirs):
        raise ValueError(f"model directories must be distinct, got {list(model_dirs)}")
    start_time = time.time()
    members: list[_Member] = []
    data = None
    try:
        with run_lock.run_locks(model_dirs):
            for model_dir, (files, bindings) in zip(model_dirs, member_configs, strict=True):
                member, data = _prepare_member(model_dir, files, bindings, overwrite, data)
                members.append(member)
            _check_shared_settings(members)

            @contextlib.contextmanager
            def member_gin(s: int):
                gin_utils.parse_config(members[s].config_files, members[s].bindings)
                yield

            group = StackedVAEGroup(
                [m.model for m in members],
                member_gin=member_gin,
                models_per_chunk=models_per_chunk,
            )
            start_step = _restore_members(members)
            group.load_from_members()
            _train_group(group, members, data, start_step)
            outcomes = [_finish_member(m, data, start_time, len(members)) for m in members]
            for model_dir, member in zip(model_dirs, members, strict=True):
                run_dir.finish_run_dir(model_dir, member.model_dir)
            return outcomes
    finally:
        gin.clear_config()


def _check_shared_settings(members: Sequence[_Member]) -> None:
    first = members[0]
    for s, member in enumerate(members[1:], start=1):
        for key in SHARED_SETTINGS:
            if member.settings[key] != first.settings[key]:
                raise ValueError(
                    f"model {s} ({member.model_dir}) has model.{key} = {member.settings[key]}, "
                    f"model 0 has {first.settings[key]}; a stacked group shares it"
                )
        if member.setup.precision != first.setup.precision:
            raise ValueError(
                f"model {s} ({member.model_dir}) runs in {member.setup.precision}, model 0 in "
                f"{first.setup.precision}; a stacked group shares one precision"
            )
        if member.dataset_config != first.dataset_config:
            raise ValueError(
                f"model {s} ({member.model_dir}) is configured for another dataset than model 0; "
                "a stacked group trains on one dataset"
            )


def make_stacked_dataset(
    data, batch_size: int, seeds: Sequence[int], start_index: int, num_batches: int
) -> tf.data.Dataset:
    """Batches `[S, B, H, W, C]`: slice s is batch k of model s's own stream (seed `seeds[s]`)."""
    streams = tuple(
        pipeline.make_dataset(data, batch_size, seed, start_index, num_batches) for seed in seeds
    )
    return tf.data.Dataset.zip(streams).map(lambda *batches: tf.stack(batches))


def _train_group(group: StackedVAEGroup, members: Sequence[_Member], data, start_step: int) -> None:
    settings = members[0].settings
    training_steps, batch_size = settings["training_steps"], settings["batch_size"]
    if start_step > training_steps:
        raise ValueError(f"the checkpoints are at step {start_step}, past {training_steps}")
    seeds = [m.settings["data_seed"] for m in members]
    num_models = len(members)
    table = single.select_recorded_input_pipeline(
        data,
        settings["input_pipeline"],
        training_steps * batch_size * num_models,
        [layout.checkpoint_dir(m.model_dir) for m in members],
    )
    if table is None:
        train_fn = tf.function(group.train_step)
        step_inputs = make_stacked_dataset(
            data, batch_size, seeds, start_step, training_steps - start_step
        )
    else:  # each model's batch k is the one its run alone would sample from the table

        @tf.function
        def train_fn(index: tf.Tensor) -> list[dict[str, tf.Tensor]]:
            batch_seeds = tf.stack([device_resident.batch_seed(seed, index) for seed in seeds])
            return group.train_step(table.sample_stacked(batch_size, batch_seeds))

        step_inputs = (tf.constant(k, tf.int64) for k in range(start_step, training_steps))
    writers = [
        tf.summary.create_file_writer(os.path.join(layout.tensorboard_dir(m.model_dir), "train"))
        for m in members
    ]
    progress = ProgressLogger(
        start_step, training_steps, batch_size * num_models, settings["log_every_seconds"]
    )
    logging.info(
        "Training %d stacked models for %d steps (batch %d each) from step %d: %s.",
        num_models,
        training_steps,
        batch_size,
        start_step,
        ", ".join(m.model_dir for m in members),
    )
    with interrupt.stop_requests() as stop:
        _run_steps(
            group, members, settings, step_inputs, train_fn, writers, progress, start_step, stop
        )


def _run_steps(
    group, members, settings, step_inputs, train_fn, writers, progress, start_step, stop
) -> None:
    """The stacked loop: steps, summaries, checkpoints; stops on NaN or a signal."""
    training_steps = settings["training_steps"]
    last_saved = start_step
    summary_time, summary_step = time.perf_counter(), start_step

    def save(step: int) -> None:
        group.assign_to_members()
        for member in members:
            member.manager.save(checkpoint_number=step)

    for step, step_input in enumerate(step_inputs, start=start_step + 1):
        try:
            logs = train_fn(step_input)
        except tf.errors.InvalidArgumentError as error:
            if "non-finite training loss or gradient" not in str(error):
                raise
            if step - 1 > last_saved:
                save(step - 1)
                last_saved = step - 1
            saved = bool(run_dir.checkpoint_steps(layout.checkpoint_dir(members[0].model_dir)))
            raise single.NonFiniteLossError(
                step, last_saved, "each model's checkpoints directory", saved
            ) from RuntimeError(str(error).splitlines()[0])
        if step % settings["summary_every_steps"] == 0 or step == training_steps:
            now = time.perf_counter()
            rate = (step - summary_step) / (now - summary_time)
            for member, writer, member_logs in zip(members, writers, logs, strict=True):
                with writer.as_default():
                    for key, value in member_logs.items():
                        tf.summary.scalar(key, value, step=step)
                    tf.summary.scalar("steps_per_sec", rate, step=step)
                for tracker in member.model.metrics:
                    tracker.reset_state()
            summary_time, summary_step = now, step
        if step % settings["image_summary_every_steps"] == 0 or step == training_steps:
            group.assign_to_members(weights_only=True)
            for member, writer in zip(members, writers, strict=True):
                with writer.as_default():
                    single.write_image_summaries(member.model, member.preview, step)
        if step % settings["checkpoint_every_steps"] == 0 or step == training_steps or stop:
            save(step)
            last_saved = step
        if stop and step < training_steps:
            raise interrupt.TrainingInterrupted(step, stop.signum)
        losses = [float(member_logs["loss"]) for member_logs in logs]
        progress.maybe_log(step, {"loss_min": min(losses), "loss_max": max(losses)})
    for writer in writers:
        writer.flush()
    group.assign_to_members()


def _finish_member(member: _Member, data, start_time: float, group_size: int) -> dict:
    """Evaluates, exports and writes the results of one member, under its own gin config."""
    gin_utils.parse_config(member.config_files, member.bindings)
    settings = single.train(member.model_dir, settings_only=True)  # records model.* as used
    get_named_ground_truth_data()  # records the dataset bindings as used
    # A twin built under this config records the architecture bindings in the operative config.
    twin = settings["model"]
    twin.build_networks(data.observation_shape, dataset_size=data.dataset_size)
    twin.configure_optimizers()
    return single.finish_run(
        member.model,
        data,
        member.model_dir,
        settings["batch_size"],
        settings["data_seed"],
        settings["eval_steps"],
        member.setup,
        start_time,
        model_seed=settings["model_seed"],
        stacked_group_size=group_size,
    )
