"""Throughput of the procedural dSprites renderer (images/s), alone and through `make_dataset`.

Run: TF_CPP_MIN_LOG_LEVEL=2 python benchmarks/dsprites_procedural_speed.py
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from tfdis.data.dsprites_procedural import DSpritesProcedural


def renderer_rate(data: DSpritesProcedural, batch_size: int, seconds: float) -> float:
    """Images/s of `sample_observations` (factor sampling + rendering) at `batch_size`."""
    random_state = np.random.RandomState(0)
    data.sample_observations(batch_size, random_state)  # warm-up
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        data.sample_observations(batch_size, random_state)
        count += batch_size
    return count / (time.perf_counter() - start)


def pipeline_rate(data: DSpritesProcedural, batch_size: int, num_batches: int) -> float:
    """Images/s read from `tfdis.data.pipeline.make_dataset` (tf.data, 2 parallel calls)."""
    from tfdis.data.pipeline import make_dataset

    dataset = make_dataset(data, batch_size, random_seed=0, num_batches=num_batches + 5)
    iterator = iter(dataset)
    for _ in range(5):
        next(iterator)
    start = time.perf_counter()
    for _ in range(num_batches):
        next(iterator)
    return num_batches * batch_size / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--pipeline_batches", type=int, default=300)
    args = parser.parse_args()
    start = time.perf_counter()
    data = DSpritesProcedural()
    print(f"construction (720 stamps): {time.perf_counter() - start:.3f} s")
    for batch_size in (64, 1024):
        print(
            f"renderer  batch {batch_size:5d}: {renderer_rate(data, batch_size, args.seconds):,.0f} images/s"
        )
    rate = pipeline_rate(data, 64, args.pipeline_batches)
    print(f"make_dataset batch    64: {rate:,.0f} images/s")


if __name__ == "__main__":
    main()
