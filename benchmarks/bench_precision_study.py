"""Do a study's numbers depend on the precision? float32 vs mixed_bfloat16 (issue 14, item 9).

`model.mixed_precision='auto'` trains in bfloat16 on CPUs with bfloat16 instructions and in
float32 elsewhere, so the same study could give different numbers on different hosts. This
script trains the quickstart beta-VAE (`gin_configs/quickstart.gin`) and beta-TCVAE (the same
run with `models/betatcvae.gin`'s model, beta 6) in both precisions with several seeds, evaluates
each run's MIG (`metrics/mig.gin`) and its reconstruction error and KL (`metrics/reconstruction.gin`,
5,000 points, posterior means), and prints a table of means and seed standard deviations per
model and precision, plus for every quantity whether the two precisions differ beyond seed noise
(|mean difference| > 2 x the standard error of the difference, Welch).

Each run is `tfdis_train` + `tfdis_evaluate` in its own process under `--output_dir`; finished
runs are skipped when the script is restarted, so it can be stopped and resumed.

    nice -n 10 python benchmarks/bench_precision_study.py --output_dir=runs/precision_study
        [--models=betavae,betatcvae] [--seeds=0,1,2] [--steps=3000]
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRECISIONS = ("float32", "mixed_bfloat16")
MODEL_CONFIGS = {
    "betavae": [],  # quickstart.gin's own model: beta-VAE, beta 4
    # beta-TCVAE (MWS, beta 6) with the quickstart's data, schedule and learning rate.
    "betatcvae": [
        "model.model = @beta_tc_vae()",
        "beta_tc_vae.beta = 6.",
        "beta_tc_vae.estimator = 'mws'",
    ],
}
QUANTITIES = (
    ("discrete_mig", "mig"),
    ("reconstruction_bernoulli", "reconstruction"),
    ("kl_to_prior", "reconstruction"),
    ("active_units", "reconstruction"),
)


def _tool(name: str) -> list[str]:
    return [sys.executable, os.path.join(ROOT, "bin", name)]


def _run(command: list[str], log_path: str) -> None:
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    with open(log_path, "a") as log:
        subprocess.run(command, check=True, cwd=ROOT, env=env, stdout=log, stderr=log)


def _metric_results(model_dir: str, metric: str) -> dict:
    pattern = os.path.join(model_dir, "metrics", "mean", metric, "results", "json", "*results.json")
    paths = [p for p in glob.glob(pattern) if "evaluation" in os.path.basename(p)]
    if not paths:
        return {}
    with open(paths[0]) as f:
        return json.load(f)


def train_and_evaluate(model_dir: str, model: str, precision: str, seed: int, steps: int) -> dict:
    """One run (skipped when its results exist); returns the quantities of `QUANTITIES`."""
    if not all(_metric_results(model_dir, m) for m in ("mig", "reconstruction")):
        os.makedirs(model_dir, exist_ok=True)
        log = os.path.join(model_dir, "..", os.path.basename(model_dir) + ".log")
        bindings = [
            *MODEL_CONFIGS[model],
            f"model.random_seed = {seed}",
            f"model.training_steps = {steps}",
            f"model.mixed_precision = '{precision}'",
        ]
        _run(
            _tool("tfdis_train")
            + ["--gin_config=gin_configs/quickstart.gin", f"--model_dir={model_dir}"]
            + ["--overwrite"]
            + [f"--gin_bindings={b}" for b in bindings],
            log,
        )
        _run(
            _tool("tfdis_evaluate")
            + [f"--model_dir={model_dir}", "--metrics=mig,reconstruction", "--overwrite"],
            log,
        )
    return {key: _metric_results(model_dir, metric)[key] for key, metric in QUANTITIES}


def _summary(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def differs(a: list[float], b: list[float]) -> bool:
    """|mean(a) - mean(b)| > 2 standard errors of the difference (Welch)."""
    (mean_a, sd_a), (mean_b, sd_b) = _summary(a), _summary(b)
    se = math.sqrt(sd_a**2 / len(a) + sd_b**2 / len(b))
    return abs(mean_a - mean_b) > 2 * se


def report(results: dict) -> str:
    lines = [
        "| model | quantity | float32 (mean +- sd) | mixed_bfloat16 (mean +- sd) | beyond seed noise |",
        "|---|---|---|---|---|",
    ]
    for model, by_precision in results.items():
        if not all(by_precision.get(p) for p in PRECISIONS):
            continue
        for key, _ in QUANTITIES:
            columns = []
            values = {p: [run[key] for run in by_precision[p].values()] for p in PRECISIONS}
            for precision in PRECISIONS:
                mean, sd = _summary(values[precision])
                columns.append(f"{mean:.4g} +- {sd:.2g} (n={len(values[precision])})")
            verdict = "yes" if differs(values["float32"], values["mixed_bfloat16"]) else "no"
            lines.append(f"| {model} | {key} | {columns[0]} | {columns[1]} | {verdict} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output_dir", default="runs/precision_study")
    parser.add_argument("--models", default="betavae,betatcvae")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--steps", type=int, default=3000)
    args = parser.parse_args()
    models = args.models.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    results: dict = {m: {p: {} for p in PRECISIONS} for m in models}
    for seed in seeds:  # seed outermost: a partial run still compares both precisions
        for model in models:
            for precision in PRECISIONS:
                model_dir = os.path.join(args.output_dir, f"{model}_{precision}_seed{seed}")
                start = time.perf_counter()
                run = train_and_evaluate(model_dir, model, precision, seed, args.steps)
                results[model][precision][seed] = run
                print(
                    f"{model} {precision} seed {seed}: "
                    + ", ".join(f"{k}={v:.4g}" for k, v in run.items())
                    + f" ({time.perf_counter() - start:.0f} s)",
                    flush=True,
                )
                with open(os.path.join(args.output_dir, "results.json"), "w") as f:
                    json.dump(results, f, indent=2)
    print(f"\n{args.steps} steps, seeds {seeds}\n")
    print(report(results))


if __name__ == "__main__":
    main()
