"""Times every metric at the study sizes of SPEC section 8 on a synthetic model.

The dataset is a dSprites-shaped factor grid (3, 6, 40, 32, 32) whose observations are the
normalized factor values, so the timings are the metrics' own cost (no image encoder). The
"model" has 10 latent dimensions: 5 informative (each a noisy copy of one factor, posterior
standard deviation 0.05) and 5 collapsed (mean ~0, variance ~1), like a trained beta-VAE.

`--full_grid_mig_exact` runs mig_exact on the full 737,280-image procedural dSprites grid (rendered
images; falls back to the synthetic grid when `dsprites_procedural` is missing) with a
10-dimensional Gaussian encoder computed from image moments. Run it on its own to read its peak
memory.

Usage:
    TF_CPP_MIN_LOG_LEVEL=2 python benchmarks/bench_metrics.py [--metrics=mig,dci] [--dci_backend=both]
        [--dci_n_jobs=default,2] [--overlap] [--num_train=1000]
    TF_CPP_MIN_LOG_LEVEL=2 python benchmarks/bench_metrics.py --metrics= --full_grid_mig_exact

`--model_dir=DIR` times the metric configs on a trained model instead, with and without the
code table (`benchmarks/bench_evaluate_model.py`).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gin
import numpy as np

from tfdis.data.ground_truth_data import FactorGrid, GroundTruthData
from tfdis.evaluation import udr
from tfdis.evaluation.metrics import (
    beta_vae,
    cascade_score,
    dci,
    dci_es,
    dcimig,
    downstream_task,
    elbo_decomposition,
    factor_vae,
    fairness,
    irs,
    jemmig,
    mig,
    mig_exact,
    mig_sup,
    modularity_explicitness,
    predictors,
    reconstruction,
    reduced_downstream_task,
    sap_score,
    strong_downstream_task,
    tc_mean_sample,
    unified_scores,
    unsupervised,
)

DSPRITES_SIZES = (3, 6, 40, 32, 32)
INFORMATIVE_SIGMA = 0.05


class SyntheticGrid(GroundTruthData):
    """dSprites-shaped grid; observations `(num, 5, 1, 1)` are factor / (size - 1) in [0, 1]."""

    def __init__(self, factor_sizes=DSPRITES_SIZES):
        self.grid = FactorGrid(factor_sizes)
        self.sizes = np.asarray(factor_sizes)

    @property
    def num_factors(self):
        return len(self.sizes)

    @property
    def factors_num_values(self):
        return [int(s) for s in self.sizes]

    @property
    def observation_shape(self):
        return [len(self.sizes), 1, 1]

    def sample_factors(self, num, random_state):
        return self.grid.sample_factors(num, random_state)

    def sample_observations_from_factors(self, factors, random_state):
        del random_state
        values = np.asarray(factors, np.float32) / (self.sizes - 1).astype(np.float32)
        return values.reshape(len(factors), -1, 1, 1)


class SyntheticPosterior:
    """10-dim Gaussian posterior of a `SyntheticGrid` observation (see module docstring)."""

    def encode(self, observations):
        x = np.asarray(observations, np.float64).reshape(len(observations), -1)
        informative = 3.0 * x - 1.5  # spread like trained means, about [-1.5, 1.5]
        collapsed = 0.02 * np.sin(7.0 * x)  # nonlinear: means are not collinear
        mean = np.concatenate([informative, collapsed], axis=1)
        logvar = np.concatenate(
            [np.full(x.shape, 2 * np.log(INFORMATIVE_SIGMA)), np.full(x.shape, -0.02)], axis=1
        )
        return mean.astype(np.float32), logvar.astype(np.float32)

    def sample(self, observations, seed):
        mean, logvar = self.encode(observations)
        eps = np.random.RandomState(seed).normal(size=mean.shape)
        return (mean + np.exp(0.5 * logvar) * eps).astype(np.float32)

    def reconstruct(self, observations):
        return np.clip(np.asarray(observations) * 0.9 + 0.05, 0.0, 1.0)


class MomentPosterior:
    """10-dim Gaussian encoder of 64x64x1 images from image moments.

    Means: centroid x, y, log mass, and the two second-moment orientation features, scaled to
    about unit range (posterior sd 0.05); 5 collapsed dimensions (mean ~0, variance ~1).
    """

    def __init__(self, size=64):
        coords = (np.arange(size, dtype=np.float32) - size / 2) / (size / 2)
        self.u = np.tile(coords, size)  # x of each flattened pixel
        self.v = np.repeat(coords, size)  # y

    def encode(self, observations):
        x = np.asarray(observations, np.float32).reshape(len(observations), -1)
        mass = x.sum(axis=1) + 1e-3
        cx = x @ self.u / mass
        cy = x @ self.v / mass
        uu = x @ (self.u**2) / mass - cx**2
        vv = x @ (self.v**2) / mass - cy**2
        uv = x @ (self.u * self.v) / mass - cx * cy
        spread = uu + vv + 1e-6
        features = np.stack(
            [1.5 * cx, 1.5 * cy, np.log(mass) - 5.0, (uu - vv) / spread, 2 * uv / spread], axis=1
        )
        mean = np.concatenate([features, 0.02 * np.sin(3.0 * features)], axis=1)
        logvar = np.concatenate(
            [
                np.full(features.shape, 2 * np.log(INFORMATIVE_SIGMA)),
                np.full(features.shape, -0.02),
            ],
            axis=1,
        )
        return mean.astype(np.float32), logvar.astype(np.float32)

    def sample(self, observations, seed):
        mean, logvar = self.encode(observations)
        eps = np.random.RandomState(seed).normal(size=mean.shape)
        return (mean + np.exp(0.5 * logvar) * eps).astype(np.float32)


def representation_function(observations):
    """Posterior means of `SyntheticPosterior`, plus per-call noise on the informative dims."""
    mean, _ = SyntheticPosterior().encode(observations)
    noise = np.random.RandomState(len(observations)).normal(size=mean.shape)
    return mean + np.float32(INFORMATIVE_SIGMA) * noise.astype(np.float32)


def _with_predictor(metric, predictor_fn):
    """`metric` with `predictor.predictor_fn` bound (as the metric's gin config does)."""

    def run(*args, **kwargs):
        with gin.unlock_config():
            gin.bind_parameter("predictor.predictor_fn", predictor_fn)
        return metric(*args, **kwargs)

    return run


STUDY_DOWNSTREAM_SIZES = (10, 100, 1000, 10000)


def _sized(name, kwargs, num_train):
    """`kwargs` with the training size capped at `num_train` (None: the study sizes)."""
    if num_train is None:
        return kwargs
    if name == "downstream_task_ood":
        return {**kwargs, "num_train": [min(10000, num_train)]}
    if name.startswith("downstream_task"):
        return {**kwargs, "num_train": [n for n in STUDY_DOWNSTREAM_SIZES if n <= num_train]}
    if name.startswith(("dci", "fairness")):
        return {**kwargs, "num_train": num_train}
    if name in ("reduced_downstream_task", "strong_downstream_task"):
        # Their configs' 1000 training and 1000 test points, both capped.
        return {**kwargs, "num_train": [min(1000, num_train)], "num_test": min(1000, num_train)}
    return kwargs


def _suite(dci_backends, dci_n_jobs=("default",)):
    posterior = SyntheticPosterior()
    trees, logistic = predictors.gradient_boosting_classifier, predictors.logistic_regression_cv
    rep = {"representation_function": representation_function}
    post = {"posterior_encoder": posterior}
    suite = [
        ("mig", mig.compute_mig, rep, {}),
        ("beta_vae_sklearn", beta_vae.compute_beta_vae_sklearn, rep, {}),
        ("factor_vae_score", factor_vae.compute_factor_vae, rep, {}),
        ("sap_score", sap_score.compute_sap, rep, {}),
        (
            "modularity_explicitness",
            modularity_explicitness.compute_modularity_explicitness,
            rep,
            {},
        ),
        ("irs", irs.compute_irs, rep, {}),
        ("unsupervised_metrics", unsupervised.unsupervised_metrics, rep, {}),
        ("tc_mean_sample", tc_mean_sample.compute_tc_mean_sample, post, {}),
        ("cascade_score", cascade_score.compute_cascade_score, post, {}),
        ("elbo_decomposition", elbo_decomposition.compute_elbo_decomposition, post, {}),
        ("reconstruction", reconstruction.compute_reconstruction, post, {}),
        # dlib's unsupervised_study_v1 and fairness_study_v1 configs (gin_configs/metrics/).
        (
            "downstream_task_boosted_trees",
            _with_predictor(downstream_task.compute_downstream_task, trees),
            rep,
            {},
        ),
        (
            "downstream_task_logistic_regression",
            _with_predictor(downstream_task.compute_downstream_task, logistic),
            rep,
            {},
        ),
        # downstream_task_ood.gin: trained with the top 30% of the last factor's values held out.
        (
            "downstream_task_ood",
            _with_predictor(downstream_task.compute_downstream_task, trees),
            rep,
            {
                "num_train": [10000],
                "num_test": 5000,
                "split": "extrapolation",
                "split_factors": [-1],
                "split_fraction": 0.3,
            },  # fmt: skip
        ),
        ("fairness", _with_predictor(fairness.compute_fairness, trees), rep, {}),
        (
            "reduced_downstream_task",
            _with_predictor(reduced_downstream_task.compute_reduced_downstream_task, trees),
            rep,
            {"num_train": [1000], "num_test": 1000},
        ),
        (
            "strong_downstream_task",
            _with_predictor(strong_downstream_task.compute_strong_downstream_task, trees),
            rep,
            {},
        ),
        ("mig_sup", mig_sup.compute_mig_sup, rep, {}),
        ("dcimig", dcimig.compute_dcimig, rep, {}),
        ("jemmig", jemmig.compute_jemmig, rep, {}),
        ("dci_es", dci_es.compute_dci_es, rep, {}),
        # dlib's udr.gin size: 1000 points, here a set of 5 models (20 ordered pairs).
        ("udr_sklearn", udr.compute_udr_sklearn, {"posterior_encoders": [posterior] * 5}, {}),
    ]
    for backend in dci_backends:
        for n_jobs in dci_n_jobs if backend == "exact" else ("default",):
            label = backend if n_jobs == "default" else f"{backend},n_jobs={n_jobs}"
            kwargs = {"backend": backend}
            if n_jobs != "default":
                kwargs["n_jobs"] = int(n_jobs)
            suite.append((f"dci[{label}]", dci.compute_dci, rep, kwargs))
    # Unified scores: the GBT matrix costs one DCI fit (first backend), plus MI and SVM matrices.
    if dci_backends:

        def gbt_matrix(*args, backend=dci_backends[0]):
            return unified_scores.importance_gbt_matrix(*args, backend=backend)

        gbt_matrix.__name__ = "importance_gbt_matrix"
        matrices = [gbt_matrix, unified_scores.mutual_information_matrix,
                    unified_scores.accuracy_svm_matrix]  # fmt: skip
        sizes = {"num_train": 10000, "num_test": 5000, "matrix_fns": matrices}
        suite.append((f"unified_scores[{dci_backends[0]}]", unified_scores.compute_unified_scores,
                      rep, sizes))  # fmt: skip
    return suite


def _run_metrics(names, seed, backends, dci_n_jobs, num_train=None):
    """Runs the named suite entries one after the other: `[(name, seconds, scores)]`."""
    data = SyntheticGrid()
    out = []
    for name, fn, inputs, kwargs in _suite(backends, dci_n_jobs):
        if name not in names:
            continue
        kwargs = _sized(name, kwargs, num_train)
        start = time.time()
        scores = fn(data, random_state=np.random.RandomState(seed), **inputs, **kwargs)
        out.append((name, time.time() - start, scores))
    return out


def _shown(key):
    """Leaves out the per-factor and per-pair keys of the downstream and fairness metrics."""
    return re.search(r"(factor_|pred|sens)\d", key) is None


def _low_priority():
    os.nice(10)


def _run_overlapped(first_dci, others, seed, backends, dci_n_jobs):
    """DCI here while `others` run in a spawned nice-10 process, as `tfdis_evaluate` does."""
    import concurrent.futures
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, context, initializer=_low_priority) as pool:
        future = pool.submit(_run_metrics, others, seed, backends, dci_n_jobs)
        results = _run_metrics([first_dci], seed, backends, dci_n_jobs)
        results += future.result()
    return results


def _peak_rss_gb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main():
    if any(arg.startswith("--model_dir") for arg in sys.argv[1:]):
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from bench_evaluate_model import main as bench_model

        return bench_model(sys.argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metrics", default="all", help="comma-separated names, 'all' or ''")
    parser.add_argument("--dci_backend", default="both", choices=["exact", "histogram", "both"])
    parser.add_argument(
        "--dci_n_jobs",
        default="default",
        help="comma-separated n_jobs of exact DCI, timed one after the other, e.g. default,2",
    )
    parser.add_argument(
        "--overlap",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="run DCI while the other metrics run in a low-priority process (tfdis_evaluate's way)",
    )
    parser.add_argument(
        "--num_train",
        type=int,
        default=None,
        help="cap the training size of DCI, fairness and the downstream tasks (default: the "
        "study sizes) for a short run",
    )
    parser.add_argument("--full_grid_mig_exact", action="store_true")
    parser.add_argument("--mig_exact_factors", default="all", help="'all' or e.g. 1,2,3,4")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    backends = ["exact", "histogram"] if args.dci_backend == "both" else [args.dci_backend]
    wanted = None if args.metrics == "all" else {m for m in args.metrics.split(",") if m}
    data = SyntheticGrid()
    dci_n_jobs = args.dci_n_jobs.split(",")
    names = [
        name
        for name, *_ in _suite(backends, dci_n_jobs)
        if wanted is None or name.split("[")[0] in wanted
    ]
    dci_names = [n for n in names if n.startswith("dci[")]
    others = [n for n in names if not n.startswith("dci[")]
    total = 0.0
    if args.overlap and dci_names and others:
        # The suite as `tfdis_evaluate` runs it: the first DCI variant overlapped with the rest.
        start = time.time()
        results = _run_overlapped(dci_names[0], others, args.seed, backends, dci_n_jobs)
        total = time.time() - start
        results += _run_metrics(dci_names[1:], args.seed, backends, dci_n_jobs)
    else:
        results = _run_metrics(names, args.seed, backends, dci_n_jobs, args.num_train)
        # The suite total counts the first DCI variant only (the default backend and n_jobs).
        total = sum(t for n, t, _ in results if n not in dci_names[1:])
    for name, elapsed, scores in results:
        shown = {
            k: round(v, 4) if isinstance(v, float) else np.round(v, 3).tolist()
            for k, v in scores.items()
            if k.count(".") <= ("unified" in name) and k not in ("raw_correlations",
            "pairwise_disentanglement_scores") and "merge_" not in k and "code_" not in k
            and "factor_" not in k and _shown(k)
        }  # fmt: skip
        print(f"{name:26s} {elapsed:8.2f} s  {shown}", flush=True)
    if results:
        label = "suite wall time" + (" (overlapped)" if args.overlap and dci_names else "")
        print(f"{label:26s} {total:8.2f} s  (the first DCI variant: {dci_names[:1]})")

    if args.full_grid_mig_exact:
        try:
            from tfdis.data.named_data import get_named_ground_truth_data

            grid_data = get_named_ground_truth_data("dsprites_procedural")
            encoder, label = MomentPosterior(), "dsprites_procedural (rendered), moment encoder"
        except (ImportError, ValueError, FileNotFoundError) as error:
            print(f"dsprites_procedural unavailable ({error}); using the synthetic grid")
            grid_data, encoder, label = data, SyntheticPosterior(), "synthetic grid"
        factors = (
            None
            if args.mig_exact_factors == "all"
            else [int(k) for k in args.mig_exact_factors.split(",")]
        )
        start = time.time()
        scores = mig_exact.compute_mig_exact(
            grid_data, encoder, np.random.RandomState(args.seed), factor_indices=factors,
            batch_size=4096,
        )  # fmt: skip
        elapsed = time.time() - start
        print(f"mig_exact on {grid_data.num_observations} images [{label}]: {elapsed:.1f} s")
        print(f"  {scores}")
    print(f"peak RSS {_peak_rss_gb():.2f} GB")


if __name__ == "__main__":
    main()
