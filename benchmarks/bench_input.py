"""Images/s of a beta-VAE train step fed by `tf.data` against the same step sampling its batch
from the device-resident table inside its `tf.function` (issue 8, item 2), side by side.

One model (gin_configs/models/betavae.gin, 10 latents) on dsprites_procedural; two step
functions on it: (a) `tf.function(model.train_step)` reading the next batch of
`tfdis.data.pipeline.make_dataset` (numpy rendering in tf.data, 2 parallel calls, prefetch), as
`tfdis_train` runs it with `model.input_pipeline = 'tf_data'`; (b)
`device_resident.device_train_function`, the step with the batch drawn in-graph from the packed
table, as with `'device'`. They run in alternating timed blocks, so machine noise hits both alike;
the ratio (b)/(a) is what counts. Then the input alone: tf.data's images/s against
`table.sample`'s, one `tf.function` call per batch and in a loop inside one call (what sampling
adds to a step). The table's build time and size are printed first.

    python benchmarks/bench_input.py [--batch_sizes=64,256] [--rounds=5] [--steps=30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gin
import keras
import tensorflow as tf

from tfdis.data import device_resident, pipeline
from tfdis.data.named_data import get_named_ground_truth_data
from tfdis.testing import build_configured_model


def _block(fn, inputs, steps: int) -> float:
    """Seconds for `steps` calls `fn(next(inputs))`, waiting for the last result."""
    start = time.perf_counter()
    result = None
    for _ in range(steps):
        result = fn(next(inputs))
    tf.nest.map_structure(lambda t: t.numpy(), result)
    return time.perf_counter() - start


def _indices(start: int = 0):
    k = start
    while True:
        yield tf.constant(k, tf.int64)
        k += 1


def step_rates(data, table, batch_size: int, rounds: int, steps: int) -> dict[str, float]:
    """Median images/s of the beta-VAE step over tf.data and over the table, and their ratio."""
    model = build_configured_model(
        ["models/betavae.gin"],
        ["encoder.num_latent = 10"],
        tuple(data.observation_shape),
        dataset_size=data.dataset_size,
    )
    tf_data_step = tf.function(model.train_step)
    device_step = device_resident.device_train_function(model, table, batch_size, random_seed=0)
    batches = iter(pipeline.make_dataset(data, batch_size, random_seed=0))
    indices = _indices()
    _block(tf_data_step, batches, 3)  # trace and warm up
    _block(device_step, indices, 3)
    rates = {"tf_data": [], "device": [], "ratio": []}
    for _ in range(rounds):
        a = steps * batch_size / _block(tf_data_step, batches, steps)
        b = steps * batch_size / _block(device_step, indices, steps)
        rates["tf_data"].append(a)
        rates["device"].append(b)
        rates["ratio"].append(b / a)
    gin.clear_config()
    return {key: statistics.median(values) for key, values in rates.items()}


def input_rates(data, table, batch_size: int, rounds: int, batches: int) -> dict[str, float]:
    """Median images/s of the inputs alone.

    - `tf_data`: batches taken from the pipeline (rendered ahead on 2 threads);
    - `device`: one `tf.function` call per batch that samples it from the table (call overhead
      included, as a step would pay it if it did nothing else);
    - `in_graph`: batches sampled in a loop inside one call, what the sampling adds to a step.
    """
    iterator = iter(pipeline.make_dataset(data, batch_size, random_seed=0))
    sample = tf.function(lambda index: table.sample_for_step(batch_size, 0, index), autograph=False)

    @tf.function
    def sample_many(start):
        total = tf.constant(0.0)
        for k in tf.range(start, start + batches):
            total += tf.reduce_sum(table.sample_for_step(batch_size, 0, k)[:, 0, 0, 0])
        return total

    indices = _indices()
    starts = (tf.constant(batches * k, tf.int64) for k in range(1 << 30))
    _block(lambda batch: batch, iterator, 3)
    _block(sample, indices, 3)
    _block(sample_many, starts, 1)
    rates = {"tf_data": [], "device": [], "in_graph": []}
    for _ in range(rounds):
        rates["tf_data"].append(batches * batch_size / _block(lambda b: b, iterator, batches))
        rates["device"].append(batches * batch_size / _block(sample, indices, batches))
        rates["in_graph"].append(batches * batch_size / _block(sample_many, starts, 1))
    return {key: statistics.median(values) for key, values in rates.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch_sizes", default="64,256")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--input_batches", type=int, default=100)
    parser.add_argument("--dataset", default="dsprites_procedural")
    args = parser.parse_args()
    data = get_named_ground_truth_data(name=args.dataset)
    print(
        f"tf {tf.__version__}, keras {keras.__version__}, {os.cpu_count()} CPUs, "
        f"dataset {args.dataset}"
    )
    table = device_resident.DeviceResidentObservations.from_data(data)
    print(
        f"table: {table.num_observations} observations, {table.encoding} rows, "
        f"{table.nbytes / 2**20:.1f} MiB, built in {table.build_seconds:.1f} s"
    )
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    print("beta-VAE train step (images/s, medians of alternating blocks):")
    print(f"{'batch':>6} {'tf.data':>9} {'device':>9} {'device/tf.data':>15}")
    for batch_size in batch_sizes:
        r = step_rates(data, table, batch_size, args.rounds, args.steps)
        print(
            f"{batch_size:>6} {r['tf_data']:>9.0f} {r['device']:>9.0f} {r['ratio']:>15.3f}",
            flush=True,
        )
    print("input alone (images/s; table.sample: a call per batch, in-graph: a loop in one call):")
    print(f"{'batch':>6} {'tf.data':>9} {'table.sample':>13} {'in-graph':>9}")
    for batch_size in batch_sizes:
        r = input_rates(data, table, batch_size, args.rounds, args.input_batches)
        print(
            f"{batch_size:>6} {r['tf_data']:>9.0f} {r['device']:>13.0f} {r['in_graph']:>9.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
