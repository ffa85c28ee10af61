"""The RTC paper's TC-estimator study (paper 003, Figure 2 and Appendix 1; SPEC section 6).

mu ~ N(0, Sigma) with unit diagonal and a chosen det(Sigma) (an equicorrelation matrix), and
z | mu ~ N(mu, 0.1^2 I). The true TC(z) is the Gaussian closed form on Sigma + 0.01 I (Prop. 1).
For each dimension d and batch size M, a batch of M (mu, z) pairs is drawn and scored by

- MWS and MSS (tfdis.estimators, the intended MSS weight matrix),
- MSS-ref: MSS with the reference code's strided-fill weight matrix (the paper's MSS0),
- MC: Yang et al.'s Monte Carlo estimator, B = 64 posteriors of the batch, B' = 30 samples each
  (it measures the TC of that 64-component mixture).

MWS and MSS need a dataset size N, which the paper does not give: `--dataset_sizes` lists the
values to run ("M" means the batch itself is the dataset). Repeats give the spread.

Prints a table of mean +- std over repeats, checks the paper's findings, and writes
`tc_estimators.png` (estimate vs truth per dimension) and `tc_estimators.json` to `--output_dir`.

    python benchmarks/tc_estimators.py --output_dir benchmarks/out
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from scipy.optimize import brentq

from tfdis.estimators import (
    gaussian_total_correlation,
    monte_carlo,
    mss,
    mws,
)
from tfdis.posteriors import log_det_equicorrelation

SIGMA = 0.1


def equicorrelation_with_det(dim: int, det: float) -> np.ndarray:
    """Unit-diagonal S = (1-s) I + s 11^T with det S = det (det S falls from 1 as s grows)."""
    if not 0.0 < det <= 1.0:
        raise ValueError(f"det must be in (0, 1], got {det}")
    if det == 1.0:
        s = 0.0
    else:
        s = brentq(lambda c: log_det_equicorrelation(dim, c) - math.log(det), 0.0, 1.0 - 1e-12)
    return (1.0 - s) * np.eye(dim) + s * np.ones((dim, dim))


# XLA halves the time of these elementwise-heavy [M, M, d] kernels on CPU (SPEC section 2).
@tf.function(reduce_retracing=True, jit_compile=True)
def _score(z, mean, logvar, dataset_size):
    return {
        "MWS": mws(z, mean, logvar, dataset_size).total_correlation,
        "MSS": mss(z, mean, logvar, dataset_size).total_correlation,
        "MSS-ref": mss(z, mean, logvar, dataset_size, reference_fill=True).total_correlation,
    }


@tf.function(reduce_retracing=True)
def _monte_carlo(mean, logvar, seed):
    return monte_carlo(mean[:64], logvar[:64], seed, num_samples=30).total_correlation


def run(args: argparse.Namespace) -> dict:
    rng = np.random.default_rng(args.seed)
    results = []
    start = time.time()
    for dim in args.dims:
        print(f"d = {dim} ({time.time() - start:.0f} s)", file=sys.stderr, flush=True)
        for det in args.dets:
            sigma = equicorrelation_with_det(dim, det)
            true_tc = float(gaussian_total_correlation(sigma + SIGMA**2 * np.eye(dim)).numpy())
            chol = np.linalg.cholesky(sigma)
            for batch in args.batch_sizes:
                runs: dict[str, list[float]] = {}
                for _ in range(args.repeats):
                    mu = rng.normal(size=(batch, dim)) @ chol.T
                    z = mu + SIGMA * rng.normal(size=(batch, dim))
                    tensors = [tf.constant(a, tf.float32) for a in (z, mu)]
                    logvar = tf.fill([batch, dim], np.float32(2 * math.log(SIGMA)))
                    seed = tf.constant(rng.integers(0, 2**31 - 1, size=2), tf.int32)
                    for size_name in args.dataset_sizes:
                        n = batch if size_name == "M" else float(size_name)
                        scores = _score(*tensors, logvar, tf.constant(n, tf.float32))
                        for name, value in scores.items():
                            runs.setdefault(f"{name}(N={size_name})", []).append(float(value))
                    runs.setdefault("MC", []).append(float(_monte_carlo(tensors[1], logvar, seed)))
                results.append(
                    {
                        "dim": dim,
                        "det": det,
                        "batch_size": batch,
                        "true_tc": true_tc,
                        "mean": {k: float(np.mean(v)) for k, v in runs.items()},
                        "std": {k: float(np.std(v)) for k, v in runs.items()},
                    }
                )
    return {"results": results}


def _columns(results: list[dict]) -> list[str]:
    return list(results[0]["mean"])


def format_table(results: list[dict], batch_size: int) -> str:
    rows = [r for r in results if r["batch_size"] == batch_size]
    columns = _columns(results)
    header = f"{'d':>3} {'det':>5} {'true':>7} " + " ".join(f"{c:>15}" for c in columns)
    lines = [f"Batch size M = {batch_size} (mean +- std over repeats, nats)", header]
    for r in rows:
        cells = " ".join(f"{r['mean'][c]:8.2f}+-{r['std'][c]:<5.2f}" for c in columns)
        lines.append(f"{r['dim']:>3} {r['det']:>5.2f} {r['true_tc']:>7.3f} {cells}")
    return "\n".join(lines)


def format_batch_table(results: list[dict]) -> str:
    """Mean signed error (estimate - true) over the det values, per dimension and batch size."""
    columns = _columns(results)
    lines = [
        "Mean signed error over det values (nats), per d and M",
        f"{'d':>3} {'M':>5} " + " ".join(f"{c:>15}" for c in columns),
    ]
    keys = sorted({(r["dim"], r["batch_size"]) for r in results})
    for dim, batch in keys:
        rows = [r for r in results if r["dim"] == dim and r["batch_size"] == batch]
        errors = [np.mean([r["mean"][c] - r["true_tc"] for r in rows]) for c in columns]
        lines.append(f"{dim:>3} {batch:>5} " + " ".join(f"{e:>15.2f}" for e in errors))
    return "\n".join(lines)


def check_findings(results: list[dict], dataset_sizes: list[str]) -> list[str]:
    """The paper's findings, each tested on the largest batch size."""
    largest = max(r["batch_size"] for r in results)
    rows = [r for r in results if r["batch_size"] == largest]
    lines = []
    for size in dataset_sizes:
        mws_key, mss_key, ref_key = (f"{k}(N={size})" for k in ("MWS", "MSS", "MSS-ref"))
        under = np.mean([r["mean"][mws_key] < r["true_tc"] for r in rows])
        lines.append(
            f"[N={size}] 1. MWS underestimates: "
            f"{'HOLDS' if under > 0.5 else 'DOES NOT HOLD'} "
            f"(MWS below the truth in {under:.0%} of (d, det) cases at M = {largest})"
        )
        low_dims = sorted({r["dim"] for r in rows if r["dim"] < 4})
        if low_dims:
            errs = {
                d: float(
                    np.mean([abs(r["mean"][mss_key] - r["true_tc"]) for r in rows if r["dim"] == d])
                )
                for d in low_dims
            }
            per_dim = ", ".join(f"d={d}: {e:.2f}" for d, e in errs.items())
            lines.append(
                f"[N={size}] 2. MSS accurate for d < 4: "
                f"{'HOLDS' if max(errs.values()) < 0.25 else 'DOES NOT HOLD'} "
                f"(mean |error| {per_dim} nats; criterion < 0.25 for every d)"
            )
        high = [r for r in rows if r["dim"] >= 5 and r["true_tc"] < 0.5]
        if high:
            over = [r["mean"][mss_key] - r["true_tc"] for r in high]
            lines.append(
                f"[N={size}] 3. MSS overestimates small TC (< 0.5) in d >= 5: "
                f"{'HOLDS' if min(over) > 0.5 else 'DOES NOT HOLD'} "
                f"(overestimate {min(over):.2f} to {max(over):.2f} nats over {len(high)} cases)"
            )
        mss_err = np.mean([abs(r["mean"][mss_key] - r["true_tc"]) for r in rows])
        ref_err = np.mean([abs(r["mean"][ref_key] - r["true_tc"]) for r in rows])
        lines.append(
            f"[N={size}] 4. intended MSS closer to the truth than the reference fill: "
            f"{'HOLDS' if mss_err < ref_err else 'DOES NOT HOLD'} "
            f"(mean |error| {mss_err:.2f} vs {ref_err:.2f} nats)"
        )
    return lines


def plot(results: list[dict], path: str) -> None:
    dims = sorted({r["dim"] for r in results})
    largest = max(r["batch_size"] for r in results)
    columns = _columns(results)
    ncols = 3
    nrows = math.ceil(len(dims) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5 * ncols, 3.6 * nrows), squeeze=False)
    for ax, dim in zip(axes.ravel(), dims, strict=False):
        rows = sorted(
            (r for r in results if r["dim"] == dim and r["batch_size"] == largest),
            key=lambda r: r["det"],
        )
        dets = [r["det"] for r in rows]
        ax.plot(dets, [r["true_tc"] for r in rows], "k-", lw=2, label="true TC(z)")
        for c in columns:
            ax.errorbar(
                dets,
                [r["mean"][c] for r in rows],
                yerr=[r["std"][c] for r in rows],
                marker="o",
                ms=3,
                capsize=2,
                label=c,
            )
        ax.set_yscale("symlog", linthresh=1.0)
        ax.set_title(f"d = {dim}, M = {largest}")
        ax.set_xlabel("det(Sigma)")
        ax.set_ylabel("TC (nats)")
    for ax in axes.ravel()[len(dims) :]:
        ax.axis("off")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dims", type=int, nargs="+", default=list(range(2, 11)))
    parser.add_argument("--dets", type=float, nargs="+", default=[0.05, 0.25, 0.5, 0.75, 1.0])
    parser.add_argument("--batch_sizes", type=int, nargs="+", default=[64, 128, 256, 512, 1024])
    parser.add_argument(
        "--dataset_sizes",
        nargs="+",
        default=["M", "100000"],
        help='N for MWS/MSS; "M" uses the batch size.',
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--output_dir",
        default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "out"),
        help="where tc_estimators.png/.json go (default benchmarks/out, git-ignored)",
    )
    args = parser.parse_args()
    for size in args.dataset_sizes:
        if size != "M" and float(size) < max(args.batch_sizes):
            raise ValueError(f"dataset size {size} is smaller than the largest batch size")
    if min(args.batch_sizes) < 64:
        raise ValueError("batch sizes must be at least 64 (MC uses 64 posteriors of the batch)")
    os.makedirs(args.output_dir, exist_ok=True)

    start = time.time()
    output = run(args)
    results = output["results"]
    print(format_table(results, max(args.batch_sizes)))
    print()
    print(format_batch_table(results))
    print()
    findings = check_findings(results, args.dataset_sizes)
    print("Findings of the RTC paper (section 4):")
    print("\n".join(findings))
    png = os.path.join(args.output_dir, "tc_estimators.png")
    plot(results, png)
    output.update(findings=findings, args=vars(args), seconds=time.time() - start)
    with open(os.path.join(args.output_dir, "tc_estimators.json"), "w") as f:
        json.dump(output, f, indent=1)
    print(f"\nwrote {png} ({time.time() - start:.0f} s)")


if __name__ == "__main__":
    main()
