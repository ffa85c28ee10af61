"""The step functions of a run: one train or test step on the run's devices (issue 8, item 4).

How a multi-replica step works (`make_train_function`): the global batch of `model.batch_size`
observations is cut into one contiguous shard per replica (`shard_batch`; replica r gets rows [r
B/n, (r+1) B/n) of each of the step's batches). Each replica runs the model's own `train_step` on
its shard with the optimizer updates deferred (`apply_updates_if_finite` records them instead of
applying them, `tfdis.runtime.deferred_updates`); its gradients are divided by the number of
replicas n, because Keras 3's TF optimizer SUMs gradients across replicas
(keras/src/backend/tensorflow/optimizer.py, `_all_reduce_sum_gradients`), so the update is the
gradient of the mean over replicas of the shard losses. The NaN guard is global: the updates run,
for every replica and optimizer, only if every replica's loss and gradients are finite (a `tf.cond`
in cross-replica context around a second `strategy.run`, since a cross-replica merge cannot sit
inside a conditional within a replica), and the step then raises like the single-device one. Metric
trackers are rebuilt under the strategy (on-read variables) and read in cross-replica context, so
the logs are the global values.

Which models give the single-device update of the global batch (up to float rounding):

- Exactly, per-example losses: beta-VAE/VAE, CascadeVAE before its discrete code starts.
- Exactly, with what needs the whole batch gathered or averaged across replicas
  (`tfdis.runtime.replicas.all_gather_batch` and `cross_replica_mean`, both differentiable):
  AnnealedVAE and JointVAE (|KL - C| of the global batch-mean KL), DIP-VAE I/II (covariance of the
  gathered means), beta-TCVAE and RTC-beta-TCVAE (MWS/MSS over the gathered batch: every replica
  scores all B codes against all B posteriors, as one device does), FactorVAE and RTC-FactorVAE
  (`permute_dims` of the gathered codes; each replica keeps its rows), CascadeVAE's discrete step
  (the assignment is solved on the gathered B x K costs, so the same-category penalty counts pairs
  of the whole batch), RTC's eta schedule (the variance term averaged across replicas).
- The reparameterization, Gumbel and permutation noise is drawn for the global batch and sliced
  (`tfdis.runtime.replicas.stateless_normal`, `stateless_uniform`), so a replica sees the noise
  its rows get on one device.
- Refused: InfoGAN (its generator's BatchNormalization would normalize each shard with its own
  statistics and its moving averages have no cross-replica aggregation).

tests/training/test_distribute.py checks this on two logical CPU devices against one device,
step by step (losses, every logged term, weights and optimizer slots) for beta-VAE (Adam and
SGD), FactorVAE (two-batch), RTC-FactorVAE and CascadeVAE (discrete step on), and with
`-m slow` for AnnealedVAE, beta-TCVAE (MWS and MSS), DIP-VAE I/II, FactorVAE and JointVAE.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import tensorflow as tf

from tfdis.runtime import deferred_updates
from tfdis.training.devices import DeviceSetup


def _run_deferred(model: Any, batch: tf.Tensor) -> tuple[tf.Tensor, list]:
    """Runs `model.train_step(batch)` with its updates deferred: (loss, updates)."""
    with deferred_updates.deferring_updates() as pending:
        model.train_step(batch)
    if not pending:
        raise RuntimeError(
            f"{type(model).__name__}.train_step applied no updates through "
            "apply_updates_if_finite; it cannot run under a distribution strategy or XLA."
        )
    loss = tf.add_n([tf.cast(loss, tf.float32) for loss, _ in pending])
    updates = [update for _, group in pending for update in group]
    return loss, updates


def _finite(loss: tf.Tensor, gradients: list) -> tf.Tensor:
    gradients = [g for g in gradients if g is not None]
    return tf.logical_and(
        tf.reduce_all(tf.math.is_finite(loss)),
        tf.math.is_finite(tf.linalg.global_norm(gradients)),
    )


def _apply(updates: Sequence[tuple]) -> tf.Tensor:
    for optimizer, gradients, variables in updates:
        optimizer.apply_gradients(zip(gradients, variables, strict=True))
    return tf.constant(True)


def tracker_results(model: Any) -> dict[str, tf.Tensor]:
    """The running means of the model's trackers (global values in cross-replica context)."""
    return {name: tracker.result() for name, tracker in model.trackers.items()}


def make_train_function(model: Any, setup: DeviceSetup) -> Callable[[Any], dict]:
    """The step function `batch -> logs` for `setup` (see the module docstring).

    With the default strategy and no XLA this is `tf.function(model.train_step)`. The batch of
    a multi-replica step is the output of `shard_batch`.
    """
    if not setup.distributed and not setup.jit_compile:
        return tf.function(model.train_step)
    if not setup.distributed:
        return _make_compiled_step(model)
    return _make_distributed_step(model, setup)


def _make_compiled_step(model: Any) -> Callable:
    # tf.debugging.Assert is dropped by XLA: the compiled part returns the finite flag and the
    # outer (uncompiled) function asserts on it.
    @tf.function(jit_compile=True)
    def compiled(batch):
        loss, updates = _run_deferred(model, batch)
        finite = _finite(loss, [g for _, gradients, _ in updates for g in gradients])
        tf.cond(finite, lambda: _apply(updates), lambda: tf.constant(False))
        return finite

    @tf.function
    def step(batch):
        finite = compiled(batch)
        tf.debugging.Assert(finite, [deferred_updates.NON_FINITE_MESSAGE])
        return tracker_results(model)

    return step


def _make_distributed_step(model: Any, setup: DeviceSetup) -> Callable:
    strategy, n = setup.strategy, setup.num_replicas
    plan: dict[str, list] = {}  # (optimizer, variables, has_gradient) per update, from tracing

    def compute(shard):
        loss, updates = _run_deferred(model, shard)
        plan["updates"] = [
            (optimizer, variables, [g is not None for g in gradients])
            for optimizer, gradients, variables in updates
        ]
        all_gradients = [g for _, gradients, _ in updates for g in gradients]
        bad = tf.cast(tf.logical_not(_finite(loss, all_gradients)), tf.int32)
        # Keras SUMs gradients across replicas: 1/n makes the update the global mean's.
        scaled = [[g / n for g in gradients if g is not None] for _, gradients, _ in updates]
        return scaled, bad

    if setup.jit_compile:
        compute = tf.function(compute, jit_compile=True)

    def apply(gradients):
        for (optimizer, variables, has_gradient), group in zip(
            plan["updates"], gradients, strict=True
        ):
            kept = [v for v, has in zip(variables, has_gradient, strict=True) if has]
            optimizer.apply_gradients(zip(group, kept, strict=True))

    @tf.function
    def step(distributed_batch):
        gradients, bad = strategy.run(compute, (distributed_batch,))
        finite = tf.equal(strategy.reduce(tf.distribute.ReduceOp.SUM, bad, axis=None), 0)

        def apply_all():
            strategy.run(apply, (gradients,))
            return tf.constant(True)

        tf.cond(finite, apply_all, lambda: tf.constant(False))
        tf.debugging.Assert(finite, [deferred_updates.NON_FINITE_MESSAGE])
        return tracker_results(model)

    return step


def make_test_function(model: Any, setup: DeviceSetup) -> Callable[[Any], dict]:
    """The evaluation step `batch -> logs` (`model.test_step`, sharded like training)."""
    if not setup.distributed:
        return tf.function(model.test_step)

    @tf.function
    def step(distributed_batch):
        setup.strategy.run(model.test_step, (distributed_batch,))
        return tracker_results(model)

    return step


def shard_batch(setup: DeviceSetup, batch: tf.Tensor, batches_per_step: int = 1) -> Any:
    """The per-replica input of a step: replica r gets rows [r b, (r + 1) b) of each of the
    `batches_per_step` consecutive batches of the global input, b = batch / n (`batch` itself
    without a strategy).

    Every worker of a multi-worker run reads the same global batches (the pipeline is a pure
    function of the step) and keeps its replicas' rows.
    """
    if not setup.distributed:
        return batch
    n = setup.num_replicas

    def shard(tensor: tf.Tensor, r: int) -> tf.Tensor:
        parts = tf.split(tensor, batches_per_step, axis=0)
        local = int(parts[0].shape[0]) // n
        return tf.concat([part[r * local : (r + 1) * local] for part in parts], axis=0)

    def value_fn(context: tf.distribute.experimental.ValueContext) -> Any:
        # A nest of tensors (pairs: observations and labels) is cut tensor by tensor.
        r = context.replica_id_in_sync_group
        return tf.nest.map_structure(lambda tensor: shard(tensor, r), batch)

    return setup.strategy.experimental_distribute_values_from_function(value_fn)
