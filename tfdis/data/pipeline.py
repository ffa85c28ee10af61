"""`tf.data` input pipelines over any `GroundTruthData` (issue 2, item 4).

Batch `k` of a stream is a pure function of `(purpose, random_seed, k)`: a resumed run reads the
same batches as an uninterrupted one. Training and evaluation streams use different seeds of
the same data (as in dlib, evaluation is on the training distribution, not held-out images).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfdis.data.ground_truth_data import GroundTruthData

TRAIN_STREAM = 0
EVAL_STREAM = 1


def batch_random_state(purpose: int, random_seed: int, index: int) -> np.random.RandomState:
    """The RandomState that draws batch `index` of stream `purpose` for `random_seed`."""
    return np.random.RandomState([purpose, random_seed % 2**32, index % 2**32])


def sample_batch(
    ground_truth_data: GroundTruthData, batch_size: int, random_seed: int, index: int, purpose: int
) -> np.ndarray:
    """Observations `[batch_size, H, W, C]` float32 of batch `index` of a stream."""
    random_state = batch_random_state(purpose, random_seed, index)
    observations = ground_truth_data.sample_observations(batch_size, random_state)
    return np.asarray(observations, dtype=np.float32)


def make_dataset(
    ground_truth_data: GroundTruthData,
    batch_size: int,
    random_seed: int,
    start_index: int = 0,
    num_batches: int | None = None,
    purpose: int = TRAIN_STREAM,
    num_parallel_calls: int = 2,
) -> tf.data.Dataset:
    """Seeded batches of observations, `[batch_size, H, W, C]` float32, in index order.

    Args:
        ground_truth_data: the dataset to sample from.
        batch_size: observations per batch.
        random_seed: the run's seed.
        start_index: the first batch index (the step a resumed run restarts from).
        num_batches: how many batches; None for an endless stream.
        purpose: `TRAIN_STREAM` or `EVAL_STREAM`.
        num_parallel_calls: batches rendered concurrently (numpy releases the GIL in bulk ops).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    stop = None if num_batches is None else start_index + num_batches
    indices = (
        tf.data.Dataset.counter(start_index)
        if stop is None
        else tf.data.Dataset.range(start_index, stop)
    )
    shape = [batch_size, *ground_truth_data.observation_shape]

    def load(index: tf.Tensor) -> tf.Tensor:
        batch = tf.numpy_function(
            lambda i: sample_batch(ground_truth_data, batch_size, random_seed, int(i), purpose),
            [index],
            tf.float32,
            stateful=False,
        )
        batch.set_shape(shape)
        return batch

    options = tf.data.Options()
    options.deterministic = True
    return (
        indices.map(load, num_parallel_calls=num_parallel_calls, deterministic=True)
        .prefetch(tf.data.AUTOTUNE)
        .with_options(options)
    )
