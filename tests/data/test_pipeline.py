"""The seeded tf.data pipeline: determinism, resumability and stream separation."""

from __future__ import annotations

import numpy as np

from tfdis.data import pipeline
from tfdis.testing import TinySquares


def test_batches_are_a_pure_function_of_seed_and_index():
    data = TinySquares()
    full = [b.numpy() for b in pipeline.make_dataset(data, 8, random_seed=5, num_batches=6)]
    resumed = [
        b.numpy()
        for b in pipeline.make_dataset(data, 8, random_seed=5, start_index=3, num_batches=3)
    ]
    assert len(full) == 6 and full[0].shape == (8, 64, 64, 1)
    for a, b in zip(full[3:], resumed, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        full[2], pipeline.sample_batch(data, 8, 5, 2, pipeline.TRAIN_STREAM)
    )


def test_seeds_and_streams_differ():
    data = TinySquares()
    a = pipeline.sample_batch(data, 32, 0, 0, pipeline.TRAIN_STREAM)
    b = pipeline.sample_batch(data, 32, 1, 0, pipeline.TRAIN_STREAM)
    c = pipeline.sample_batch(data, 32, 0, 0, pipeline.EVAL_STREAM)
    assert not np.array_equal(a, b) and not np.array_equal(a, c)


def test_endless_stream_keeps_going():
    data = TinySquares()
    it = iter(pipeline.make_dataset(data, 4, random_seed=0))
    batches = [next(it).numpy() for _ in range(5)]
    assert all(b.shape == (4, 64, 64, 1) for b in batches)
