"""Inside a replica: sharded noise and global statistics (identity outside a multi-replica step).

A multi-replica step (`tfdis.training.steps.make_train_function`) gives replica r rows
[r b, (r + 1) b) of the global batch. Losses that need the whole batch gather it
(`all_gather_batch`) or average across replicas (`cross_replica_mean`), both differentiable;
per-example noise is drawn for the global batch and sliced (`stateless_normal`,
`stateless_uniform`), so a replica sees the noise its rows get on one device. See
`tfdis.training.steps` for which models this keeps exact.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf


def _replica_context() -> tf.distribute.ReplicaContext | None:
    """The replica context of a multi-replica step, None elsewhere."""
    if not tf.distribute.has_strategy() or tf.distribute.in_cross_replica_context():
        return None
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return None
    return context


def num_replicas_in_step() -> int:
    """Replicas sharing the current step: 1 outside a multi-replica `strategy.run`."""
    context = _replica_context()
    return 1 if context is None else int(context.num_replicas_in_sync)


def local_rows(global_tensor: tf.Tensor, num_local: tf.Tensor | int) -> tf.Tensor:
    """This replica's rows of a tensor over the global batch (`global_tensor` itself outside).

    Replica r owns rows [r num_local, (r + 1) num_local), the rows of its input shard.
    """
    context = _replica_context()
    if context is None:
        return global_tensor
    start = tf.cast(context.replica_id_in_sync_group, tf.int32) * tf.cast(num_local, tf.int32)
    return global_tensor[start : start + num_local]


def _sharded_draw(draw: Callable[[tf.Tensor], tf.Tensor], shape: Any) -> tf.Tensor:
    context = _replica_context()
    if context is None:
        return draw(shape)
    shape = tf.convert_to_tensor(shape, tf.int32)
    num_local = shape[0]
    global_shape = tf.concat([[num_local * context.num_replicas_in_sync], shape[1:]], axis=0)
    return local_rows(draw(global_shape), num_local)


def stateless_normal(shape: Any, seed: tf.Tensor, dtype: tf.DType = tf.float32) -> tf.Tensor:
    """`tf.random.stateless_normal` with Philox, sharded: in a multi-replica step, the replica's
    rows of the draw for the global batch (whose first dimension is n times `shape[0]`).

    Philox is what TF's CPU kernels pick by default; naming it keeps the numbers under XLA too,
    whose default generator differs. Use it for per-example noise of the replica's own rows only
    (not on gathered tensors).
    """
    return _sharded_draw(
        lambda s: tf.random.stateless_normal(s, seed=seed, dtype=dtype, alg="philox"), shape
    )


def stateless_uniform(
    shape: Any, seed: tf.Tensor, minval: float = 0.0, maxval: float = 1.0, dtype=tf.float32
) -> tf.Tensor:
    """`tf.random.stateless_uniform`, sharded like `stateless_normal`."""
    return _sharded_draw(
        lambda s: tf.random.stateless_uniform(
            s, seed=seed, minval=minval, maxval=maxval, dtype=dtype, alg="philox"
        ),
        shape,
    )


def all_gather_batch(value: tf.Tensor) -> tf.Tensor:
    """The global batch of a per-replica `[b, ...]` tensor, in replica order (itself outside).

    Differentiable: each replica's rows get the sum over replicas of the gradients flowing into
    them, which with the 1/n gradient scaling of `make_train_function` is the gradient of the
    global loss.
    """
    context = _replica_context()
    if context is None:
        return value
    return context.all_gather(value, axis=0)


def cross_replica_mean(value: tf.Tensor) -> tf.Tensor:
    """The mean over replicas of a per-replica value (the global batch mean of a shard mean with
    equal shards); `value` itself outside a multi-replica step. Differentiable."""
    context = _replica_context()
    if context is None:
        return value
    return context.all_reduce(tf.distribute.ReduceOp.MEAN, value)
