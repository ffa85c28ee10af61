"""float32 vs mixed_bfloat16 for a beta-VAE train step on this machine (issue 8, item 4).

Two measurements decide `tfdis.training.dtype_policy.CPU_DEFAULT_PRECISION` (the CPU default of
`model.mixed_precision='auto'`): mixed_bfloat16 becomes the default if it is faster by more than
1.1x at batch 64 and 256 and its loss curve agrees with float32's.

1. Speed: the beta-VAE of `gin_configs/models/betavae.gin` (dlib conv encoder/deconv decoder,
   10 latents) is built once per precision; both steps read the same in-memory batch in
   alternating timed blocks, so machine noise hits both alike. Prints images/s of each and the
   median ratio bf16 / f32 over the rounds.
2. Agreement: both precisions train from the same initial weights (same seed) on the same
   batches with the same noise for `--curve_steps` steps; prints the max relative difference of
   the per-step losses, and of their means over windows of 20 steps (the per-step noise of the
   trajectory averaged out), and the final window's.

    python benchmarks/bench_precision.py [--batch_sizes=64,256] [--rounds=7] [--steps=20]
        [--curve_steps=200] [--curve_batch=64] [--dataset=dsprites_procedural]

(`--curve_steps=0` measures the speed only.)
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gin
import keras
import numpy as np
import tensorflow as tf

from tfdis.data import pipeline
from tfdis.data.named_data import get_named_ground_truth_data
from tfdis.training import devices, step_functions
from tfdis.utils import gin_utils

PRECISIONS = ("float32", "mixed_bfloat16")
WINDOW = 20


def make_model(precision: str, observation_shape, dataset_size: int, seed: int = 0):
    """The beta-VAE of models/betavae.gin (10 latents) under `precision`, and its step."""
    gin_utils.parse_config(["models/betavae.gin"], ["encoder.num_latent = 10"])
    try:
        model = gin.query_parameter("model.model").scoped_configurable_fn()
        setup = devices.configure("default", False, precision)
        keras.utils.set_random_seed(seed)
        devices.build_model(model, setup, observation_shape, seed, dataset_size)
    finally:
        gin.clear_config()
    return model, step_functions.make_train_function(model, setup)


def images_per_second(step, batch, steps: int) -> float:
    result = None
    start = time.perf_counter()
    for _ in range(steps):
        result = step(batch)
    tf.nest.map_structure(lambda t: t.numpy(), result)  # wait for the last step
    return steps * int(batch.shape[0]) / (time.perf_counter() - start)


def speed(data, batch_size: int, rounds: int, steps: int) -> dict[str, float]:
    shape = tuple(data.observation_shape)
    batch = tf.constant(pipeline.sample_batch(data, batch_size, 0, 0, pipeline.TRAIN_STREAM))
    step_fns = {p: make_model(p, shape, data.dataset_size)[1] for p in PRECISIONS}
    for fn in step_fns.values():
        images_per_second(fn, batch, 3)  # trace and warm up
    rates: dict[str, list[float]] = {p: [] for p in PRECISIONS}
    for _ in range(rounds):
        for precision in PRECISIONS:
            rates[precision].append(images_per_second(step_fns[precision], batch, steps))
    ratios = [b / a for a, b in zip(rates["float32"], rates["mixed_bfloat16"], strict=True)]
    return {
        "float32": statistics.median(rates["float32"]),
        "mixed_bfloat16": statistics.median(rates["mixed_bfloat16"]),
        "ratio": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
    }


def loss_curve(precision: str, data, batch_size: int, steps: int) -> np.ndarray:
    """Per-step training losses of `steps` steps from seed 0 on the train stream's batches."""
    model, step_fn = make_model(precision, tuple(data.observation_shape), data.dataset_size)
    dataset = pipeline.make_dataset(data, batch_size, random_seed=0, num_batches=steps)
    losses = []
    for batch in dataset:
        losses.append(float(step_fn(batch)["loss"]))
        for tracker in model.metrics:
            tracker.reset_state()
    return np.asarray(losses)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch_sizes", default="64,256")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--curve_steps", type=int, default=200)
    parser.add_argument("--curve_batch", type=int, default=64)
    parser.add_argument("--dataset", default="dsprites_procedural")
    args = parser.parse_args()
    data = get_named_ground_truth_data(name=args.dataset)
    print(
        f"tf {tf.__version__}, keras {keras.__version__}, {os.cpu_count()} CPUs, "
        f"dataset {args.dataset}, beta-VAE (models/betavae.gin, 10 latents)"
    )
    print(f"{'batch':>6} {'f32 img/s':>10} {'bf16 img/s':>11} {'bf16/f32':>9} {'(min-max)':>13}")
    for batch_size in (int(b) for b in args.batch_sizes.split(",")):
        r = speed(data, batch_size, args.rounds, args.steps)
        spread = f"({r['ratio_min']:.2f}-{r['ratio_max']:.2f})"
        print(
            f"{batch_size:>6} {r['float32']:>10.0f} {r['mixed_bfloat16']:>11.0f} "
            f"{r['ratio']:>9.3f} {spread:>13}",
            flush=True,
        )
    if args.curve_steps < WINDOW:
        return
    curves = {p: loss_curve(p, data, args.curve_batch, args.curve_steps) for p in PRECISIONS}
    f32, bf16 = curves["float32"], curves["mixed_bfloat16"]
    n = len(f32) // WINDOW * WINDOW
    windows = {p: c[:n].reshape(-1, WINDOW).mean(axis=1) for p, c in curves.items()}
    per_step = np.abs(bf16 - f32) / np.abs(f32)
    per_window = np.abs(windows["mixed_bfloat16"] - windows["float32"]) / np.abs(windows["float32"])
    print(
        f"loss curve, {len(f32)} steps at batch {args.curve_batch} (same seed, data and noise): "
        f"float32 {f32[0]:.1f} -> {windows['float32'][-1]:.1f}, "
        f"mixed_bfloat16 {bf16[0]:.1f} -> {windows['mixed_bfloat16'][-1]:.1f}"
    )
    print(
        f"max relative difference: per step {per_step.max():.4f} (median "
        f"{np.median(per_step):.4f}); {WINDOW}-step means {per_window.max():.4f}; last "
        f"{WINDOW} steps {per_window[-1]:.4f}"
    )
    print("ratio = median over rounds of bf16 images/s / f32 images/s, in alternating blocks.")


if __name__ == "__main__":
    main()
