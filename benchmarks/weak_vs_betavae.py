"""Ada-GVAE (k = Rnd) against beta-VAE with the same beta, steps and seeds on dsprites_procedural.

Locatello et al. (2020) report that weak supervision (pairs that share all but k factors) raises
disentanglement scores a lot. This trains each (model, seed) with `tfdis_train` from
`quickstart.gin` (batch 64, Adam 5e-4): beta-VAE (`vae.beta`) and Ada-GVAE
(`group_vae_argmax.beta`, `dynamics.k = -1`) with the same beta; a step of Ada-GVAE reads
`batch_size` pairs. It then scores both with `tfdis_evaluate` (dlib's MIG and DCI; DCI with the
histogram backend to stay short) and prints one row per run and the means and standard
deviations per model.

    nice -n 10 python benchmarks/weak_vs_betavae.py --output_dir=runs/weak_vs_betavae \
        [--seeds=0,1,2] [--training_steps=3000] [--beta=4] [--parallel=2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

METRIC_KEYS = {"mig": ("discrete_mig",), "dci": ("disentanglement", "completeness")}
EVAL_BINDINGS = ("dci.backend = 'histogram'",)


def model_bindings(name: str, beta: float) -> list[str]:
    if name == "betavae":
        return [f"vae.beta = {beta}"]
    return [
        "model.model = @group_vae_argmax()",
        f"group_vae_argmax.beta = {beta}",
        "dynamics.k = -1",
    ]


def run(cmd: list[str], log_path: str) -> None:
    with open(log_path, "a") as log:
        subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=True)


def train_and_evaluate(name: str, seed: int, args) -> dict:
    model_dir = os.path.join(args.output_dir, f"{name}_seed{seed}")
    log_path = model_dir + ".log"
    train_seconds = float("nan")
    if not args.summarize_only:
        start = time.time()
        cmd = [
            sys.executable,
            "-m",
            "tfdis.cli.train",
            f"--model_dir={model_dir}",
            "--overwrite",
            "--gin_config=quickstart.gin",
            f"--gin_bindings=model.training_steps = {args.training_steps}",
            f"--gin_bindings=model.random_seed = {seed}",
            "--gin_bindings=model.checkpoint_every_steps = 1000",
        ]
        cmd += [f"--gin_bindings={b}" for b in model_bindings(name, args.beta)]
        run(cmd, log_path)
        train_seconds = round(time.time() - start)
        run(
            [
                sys.executable,
                "-m",
                "tfdis.cli.evaluate",
                f"--model_dir={model_dir}",
                "--overwrite",
                "--metrics=mig,dci",
                *[f"--gin_bindings={b}" for b in EVAL_BINDINGS],
            ],
            log_path,
        )
    return read_row(name, seed, model_dir, train_seconds)


def read_row(name: str, seed: int, model_dir: str, train_seconds: float) -> dict:
    """One table row from a finished and evaluated run directory."""
    row = {"model": name, "seed": seed, "train_seconds": train_seconds}
    for metric, keys in METRIC_KEYS.items():
        path = os.path.join(
            model_dir, "metrics", "mean", metric, "results", "json", "evaluation_results.json"
        )
        with open(path) as f:
            values = json.load(f)
        row.update({key: values[key] for key in keys})
    with open(os.path.join(model_dir, "results", "json", "train_results.json")) as f:
        train = json.load(f)
    row.update(reconstruction_loss=train["reconstruction_loss"], kl_loss=train["kl_loss"])
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--training_steps", type=int, default=3000)
    parser.add_argument("--beta", type=float, default=4.0)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument(
        "--summarize_only", action="store_true", help="Print the table of existing runs."
    )
    args = parser.parse_args()
    os.makedirs(args.output_dir, exist_ok=True)
    names = ("betavae", "ada_gvae")
    jobs = [(name, int(seed)) for seed in args.seeds.split(",") for name in names]
    with ThreadPoolExecutor(args.parallel) as pool:
        rows = list(pool.map(lambda job: train_and_evaluate(*job, args), jobs))
    keys = ["model", "seed", "train_seconds", "discrete_mig", "disentanglement", "completeness"]
    keys += ["reconstruction_loss", "kl_loss"]
    print(" ".join(f"{k:>19}" for k in keys))
    for row in rows:
        print(
            " ".join(
                f"{row[k]:>19.4f}" if isinstance(row[k], float) else f"{row[k]:>19}" for k in keys
            )
        )
    for name in names:
        mine = [r for r in rows if r["model"] == name]
        summary = []
        for key in ("discrete_mig", "disentanglement", "completeness"):
            values = [r[key] for r in mine]
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            summary.append(f"{key} {statistics.mean(values):.3f} +- {spread:.3f}")
        print(f"{name} (beta {args.beta}, {len(mine)} seeds): " + ", ".join(summary))
    with open(os.path.join(args.output_dir, "summary.json"), "w") as f:
        json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
