"""Stacked training against the same models trained one after another, side by side.

For each S, S beta-VAEs (dlib's conv architecture, 10 latents, batch 64 each, seeds 0..S-1,
betas 1..S) are trained two ways on the same in-memory batches:

- stacked: one `StackedVAEGroup` step updates all S models (grouped convolutions, batched
  matmuls);
- sequential: S separate single-model steps, one after another (what S runs one after another
  do, minus their start-up).

The two are timed in alternating blocks so machine noise hits both alike; the ratio is what
counts. Images/s counts every model's images (S x 64 per stacked step). FLOPs per step come from
TF's graph profiler, so the achieved GFLOP/s of each way can be compared with the hardware.

    python benchmarks/bench_stacked.py [--sizes=1,4,10] [--rounds=5] [--steps=10]
        [--precision=float32|mixed_bfloat16] [--models_per_chunk=K]

`--end_to_end` also runs S short `tfdis_train` processes one after another against one
`tfdis_reproduce`-style stacked run of the same S models (wall time including start-up):

    python benchmarks/bench_stacked.py --sizes=4 --end_to_end --e2e_steps=200
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gin
import numpy as np
import tensorflow as tf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_train import step_flops

from tfdis.data.dsprites_procedural import DSpritesProcedural
from tfdis.testing import build_configured_model
from tfdis.training import dtype_policy
from tfdis.training.stacked import StackedVAEGroup

BATCH = 64


def make_members(num_models: int, observation_shape, precision: str = "float32") -> list:
    """S beta-VAEs (betas 1..S, seeds 0..S-1) built under the Keras dtype policy `precision`."""
    members = []
    with dtype_policy.precision_policy(precision):
        for s in range(num_models):
            tf.keras.utils.set_random_seed(s)
            members.append(
                build_configured_model(
                    ["models/betavae.gin"],
                    ["encoder.num_latent = 10", f"vae.beta = {float(s + 1)}"],
                    observation_shape,
                    noise_seed=s,
                )
            )
            gin.clear_config()
    return members


def seconds_per_call(fn, args, calls: int) -> float:
    result = None
    start = time.perf_counter()
    for _ in range(calls):
        result = fn(*args)
    tf.nest.map_structure(lambda t: t.numpy(), result)
    return (time.perf_counter() - start) / calls


def compare(
    num_models: int, rounds: int, steps: int, precision: str, models_per_chunk: int | None
) -> dict:
    data = DSpritesProcedural()
    rng = np.random.RandomState(0)
    batches = tf.constant(
        np.stack([data.sample_observations(BATCH, rng) for _ in range(num_models)]), tf.float32
    )
    members = make_members(num_models, data.observation_shape, precision)
    group = StackedVAEGroup(
        make_members(num_models, data.observation_shape, precision),
        models_per_chunk=models_per_chunk,
    )
    stacked_step = tf.function(group.train_step)
    single_steps = [tf.function(m.train_step) for m in members]

    def sequential(x):
        return [step(x[s]) for s, step in enumerate(single_steps)]

    stacked_step(batches)
    sequential(batches)
    stacked_times, sequential_times = [], []
    for _ in range(rounds):
        stacked_times.append(seconds_per_call(stacked_step, (batches,), steps))
        sequential_times.append(seconds_per_call(sequential, (batches,), steps))
    stacked_s, sequential_s = statistics.median(stacked_times), statistics.median(sequential_times)
    flops = step_flops(stacked_step, batches)
    single_flops = step_flops(single_steps[0], batches[0])
    images = num_models * BATCH
    return {
        "S": num_models,
        "stacked_images_per_s": images / stacked_s,
        "sequential_images_per_s": images / sequential_s,
        "ratio": sequential_s / stacked_s,
        "stacked_gflop": flops / 1e9,
        "single_gflop": single_flops / 1e9,
        "stacked_gflops": flops / stacked_s / 1e9,
        "sequential_gflops": num_models * single_flops / sequential_s / 1e9,
    }


def end_to_end(num_models: int, training_steps: int) -> dict:
    """Wall seconds: S `tfdis_train` processes one after another vs one stacked process."""
    root = tempfile.mkdtemp(prefix="bench_stacked_")
    bindings = [
        "dataset.name = 'dsprites_procedural'",
        f"model.training_steps = {training_steps}",
        "model.batch_size = 64",
        "model.eval_steps = 10",
        "encoder.num_latent = 10",
    ]

    def member_bindings(s: int) -> list[str]:
        return [*bindings, f"model.random_seed = {s}", f"vae.beta = {float(s + 1)}"]

    try:
        start = time.perf_counter()
        for s in range(num_models):
            command = [sys.executable, "-m", "tfdis.cli.train", "--gin_config=models/betavae.gin"]
            command += [f"--model_dir={root}/alone{s}"]
            command += [f"--gin_bindings={b}" for b in member_bindings(s)]
            subprocess.run(command, check=True, capture_output=True)
        sequential_s = time.perf_counter() - start
        script = (
            "import sys\n"
            "from tfdis.training.stacked import train_stacked_with_gin\n"
            f"train_stacked_with_gin({[f'{root}/stacked{s}' for s in range(num_models)]!r}, "
            f"{[(['models/betavae.gin'], member_bindings(s)) for s in range(num_models)]!r})\n"
        )
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", script], check=True, capture_output=True)
        stacked_s = time.perf_counter() - start
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {"S": num_models, "sequential_s": sequential_s, "stacked_s": stacked_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1,4,10")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--precision", default="float32", help="float32 or mixed_bfloat16")
    parser.add_argument(
        "--models_per_chunk",
        type=int,
        default=None,
        help="models one chunk of the stacked step runs at once (default: the device's choice)",
    )
    parser.add_argument("--end_to_end", action="store_true")
    parser.add_argument("--e2e_steps", type=int, default=200)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        f"{'S':>3} {'stacked img/s':>14} {'sequential img/s':>17} {'ratio':>6} "
        f"{'GFLOP/step':>11} {'stacked GFLOP/s':>16} {'sequential GFLOP/s':>19}"
    )
    for size in sizes:
        row = compare(size, args.rounds, args.steps, args.precision, args.models_per_chunk)
        print(
            f"{row['S']:>3} {row['stacked_images_per_s']:>14.0f} "
            f"{row['sequential_images_per_s']:>17.0f} {row['ratio']:>6.2f} "
            f"{row['stacked_gflop']:>11.2f} {row['stacked_gflops']:>16.1f} "
            f"{row['sequential_gflops']:>19.1f}",
            flush=True,
        )
    if args.end_to_end:
        print(f"\nend to end, {args.e2e_steps} steps per model (wall seconds, start-up included)")
        for size in sizes:
            row = end_to_end(size, args.e2e_steps)
            print(
                f"S={row['S']}: {row['S']} processes one after another {row['sequential_s']:.1f} s, "
                f"one stacked process {row['stacked_s']:.1f} s, "
                f"ratio {row['sequential_s'] / row['stacked_s']:.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
