"""beta-TCVAE (beta 6) against beta-VAE (beta 1) on dsprites_procedural, several seeds.

Trains each (model, seed) with `tfdis_train`, evaluates `mig` (dlib's discrete_mig) and
`tc_mean_sample` with `tfdis_evaluate`, and prints one row per run plus the means per model.
Runs `--parallel` trainings at once (2 on a 2-core CPU splits the cores between them).

    python benchmarks/tcvae_vs_betavae.py --output_dir=runs/tcvae_vs_betavae \
        [--seeds=0,1] [--training_steps=12000] [--parallel=2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

MODELS = {
    "betavae_beta1": ["models/betavae.gin", "vae.beta = 1."],
    "betatcvae_beta6": ["models/betatcvae.gin", "beta_tc_vae.beta = 6."],
}


def run(cmd: list[str], log_path: str) -> None:
    with open(log_path, "a") as log:
        subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=True)


def train_and_evaluate(name: str, seed: int, args) -> dict:
    config, binding = MODELS[name]
    model_dir = os.path.join(args.output_dir, f"{name}_seed{seed}")
    if args.summarize_only:
        return read_row(name, seed, model_dir, train_seconds=float("nan"))
    log_path = model_dir + ".log"
    start = time.time()
    run(
        [
            sys.executable,
            "-m",
            "tfdis.cli.train",
            f"--model_dir={model_dir}",
            "--overwrite",
            "--gin_config=quickstart.gin",
            f"--gin_config={config}",
            f"--gin_bindings={binding}",
            f"--gin_bindings=model.training_steps = {args.training_steps}",
            f"--gin_bindings=model.random_seed = {seed}",
            f"--gin_bindings=AdamOptimizer.learning_rate = {args.learning_rate}",
            "--gin_bindings=model.checkpoint_every_steps = 2000",
        ],
        log_path,
    )
    train_seconds = time.time() - start
    run(
        [
            sys.executable,
            "-m",
            "tfdis.cli.evaluate",
            f"--model_dir={model_dir}",
            "--overwrite",
            "--metrics=mig,tc_mean_sample",
        ],
        log_path,
    )
    return read_row(name, seed, model_dir, round(train_seconds))


def read_row(name: str, seed: int, model_dir: str, train_seconds: float) -> dict:
    """One table row from a finished and evaluated run directory."""
    row = {"model": name, "seed": seed, "train_seconds": train_seconds}
    for metric in ("mig", "tc_mean_sample"):
        path = os.path.join(
            model_dir, "metrics", "mean", metric, "results", "json", "evaluation_results.json"
        )
        with open(path) as f:
            row.update({k: v for k, v in json.load(f).items() if k not in ("uuid", "elapsed_time")})
    with open(os.path.join(model_dir, "results", "json", "train_results.json")) as f:
        train = json.load(f)
    row.update(reconstruction_loss=train["reconstruction_loss"], kl_loss=train["kl_loss"])
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--training_steps", type=int, default=12000)
    parser.add_argument("--learning_rate", type=float, default=5e-4)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument(
        "--summarize_only", action="store_true", help="Print the table of existing runs."
    )
    args = parser.parse_args()
    os.makedirs(args.output_dir, exist_ok=True)
    jobs = [(name, int(seed)) for seed in args.seeds.split(",") for name in MODELS]
    with ThreadPoolExecutor(args.parallel) as pool:
        rows = list(pool.map(lambda job: train_and_evaluate(*job, args), jobs))
    keys = [
        "model",
        "seed",
        "train_seconds",
        "discrete_mig",
        "tc_mean",
        "tc_sample",
        "reconstruction_loss",
        "kl_loss",
    ]
    print(" ".join(f"{k:>19}" for k in keys))
    for row in rows:
        print(
            " ".join(
                f"{row[k]:>19.4f}" if isinstance(row[k], float) else f"{row[k]:>19}" for k in keys
            )
        )
    for name in MODELS:
        mine = [r for r in rows if r["model"] == name]
        means = {
            k: sum(r[k] for r in mine) / len(mine) for k in ("discrete_mig", "tc_mean", "tc_sample")
        }
        print(f"mean {name}: " + ", ".join(f"{k} {v:.4f}" for k, v in means.items()))
    with open(os.path.join(args.output_dir, "summary.json"), "w") as f:
        json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
