"""Disentanglement, Completeness, Informativeness (Eastwood & Williams, 2018; dlib's `dci`).

One gradient-boosted classifier per factor predicts it from all codes; its feature importances
form column j of the importance matrix R `(num_codes, num_factors)`. Disentanglement weighs
1 - H_K(R[i, :] / sum) by each code's share of importance; completeness is the same on columns
with entropy base `num_codes`; informativeness is the mean train / test accuracy (SPEC section 8).

Backends: "exact" is dlib's `GradientBoostingClassifier()` with its impurity importances; "histogram"
is `HistGradientBoostingClassifier` with the same tree shape (depth 3, 100 rounds, rate 0.1,
min 1 sample per leaf, no early stopping) on 255-bin features, whose importances are the total
split gain per code. Factors are fitted in parallel threads of one process (`n_jobs`): sklearn's
tree builders release the GIL, and the histogram backend's OpenMP code does too.

For "exact", all factors' fits run at once and share one pool of `n_jobs` tree-building threads
(`parallel_boosting.map_in_threads`, results identical to sklearn's). Each stage's K trees are
independent, so the pool has trees to build until the last stage, and no worker process
starts. README "Exact gradient boosting" gives where the time goes and the measurements
(`benchmarks/bench_boosting.py`).
"""

from __future__ import annotations

import concurrent.futures
import hashlib

import gin
import joblib
import numpy as np
import scipy.stats
import threadpoolctl
from sklearn import ensemble

from tfdis.data.ground_truth_data import GroundTruthData
from tfdis.evaluation.metrics import parallel_boosting, utils
from tfdis.utils import gin_validation

BACKENDS = ("exact", "histogram")
# The last fit's key and result: `unified_scores` after `dci` in one `tfdis_evaluate` samples the
# same codes with the same seed, so its importance matrix reuses DCI's fit instead of repeating it.
_LAST_FIT: dict = {}


# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "dci": {
            "n_jobs": {"kind": "int"},
            "backend": {"kind": "str", "choices": BACKENDS},
            "num_train": {"kind": "int", "positive": True},
            "num_test": {"kind": "int", "positive": True},
            "batch_size": {"kind": "int", "positive": True},
        }
    },
)


@gin.configurable(
    "dci",
    denylist=["ground_truth_data", "representation_function", "random_state", "artifact_dir"],
)
def compute_dci(
    ground_truth_data: GroundTruthData,
    representation_function: utils.RepresentationFunction,
    random_state: np.random.RandomState,
    artifact_dir: str | None = None,
    num_train: int = 10000,
    num_test: int = 5000,
    batch_size: int = utils.DEFAULT_ENCODE_BATCH,
    backend: str = "exact",
    n_jobs: int = -1,
) -> dict[str, float]:
    """Samples train and test codes and computes DCI.

    Args:
        ground_truth_data: the dataset.
        representation_function: `(B, H, W, C)` observations -> `(B, num_codes)` codes.
        random_state: source of all randomness (also seeds the classifiers).
        artifact_dir: unused (dlib signature).
        num_train: training points (10000).
        num_test: test points (5000).
        batch_size: observations per encoder call.
        backend: "exact" (dlib's GradientBoostingClassifier) or "histogram".
        n_jobs: worker threads (-1 = all cores).

    Returns:
        `{"disentanglement", "completeness", "informativeness_train", "informativeness_test"}`.
    """
    gin_validation.check_parameters("dci", locals(), _GIN_RULES["dci"])
    del artifact_dir
    codes, factors = utils.generate_batch_factor_code(
        ground_truth_data, representation_function, num_train, random_state, batch_size
    )
    codes_test, factors_test = utils.generate_batch_factor_code(
        ground_truth_data, representation_function, num_test, random_state, batch_size
    )
    return _compute_dci(
        codes, factors, codes_test, factors_test, random_state, backend=backend, n_jobs=n_jobs
    )


def _compute_dci(
    codes: np.ndarray,
    factors: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    random_state: np.random.RandomState,
    backend: str = "exact",
    n_jobs: int = -1,
) -> dict[str, float]:
    """DCI from codes `(num_codes, N)` and int factors `(num_factors, N)` (train and test)."""
    importance, train_acc, test_acc = compute_importance_gbt(
        codes, factors, codes_test, factors_test, random_state, backend, n_jobs
    )
    return {
        "informativeness_train": train_acc,
        "informativeness_test": test_acc,
        "disentanglement": disentanglement(importance),
        "completeness": completeness(importance),
    }


def _fit_one(x_train, y_train, x_test, y_test, backend, seed):
    """Fits one factor's classifier; returns `(importances (num_codes,), train acc, test acc)`."""
    if backend == "exact":
        # dlib's GradientBoostingClassifier(), bit for bit, its trees built in the shared pool.
        model = parallel_boosting.StageParallelGradientBoostingClassifier(random_state=seed)
        model.fit(x_train, y_train)
        importances = np.abs(model.feature_importances_)
    else:
        model = ensemble.HistGradientBoostingClassifier(
            max_iter=100, learning_rate=0.1, max_depth=3, max_leaf_nodes=None,
            min_samples_leaf=1, l2_regularization=0.0, early_stopping=False, random_state=seed,
        )  # fmt: skip
        # One OpenMP thread per fit (the parallelism is over factors): spinning OpenMP threads
        # slow down by orders of magnitude on a shared, oversubscribed CPU.
        with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
            model.fit(x_train, y_train)
        importances = _split_gain_importances(model, x_train.shape[1])
    train_acc = float(np.mean(model.predict(x_train) == y_train))
    test_acc = float(np.mean(model.predict(x_test) == y_test))
    return importances, train_acc, test_acc


def _split_gain_importances(model, num_features: int) -> np.ndarray:
    """Total split gain per feature over all trees, normalized to sum 1 (0s if no split)."""
    gains = np.zeros(num_features)
    # `_predictors` (one list of trees per boosting round) is the only access sklearn gives to
    # the fitted trees; their node records carry `feature_idx` and `gain`.
    for round_trees in model._predictors:
        for tree in round_trees:
            splits = tree.nodes[~tree.nodes["is_leaf"].astype(bool)]
            np.add.at(gains, splits["feature_idx"], splits["gain"])
    total = gains.sum()
    return gains / total if total > 0 else gains


def compute_importance_gbt(
    codes: np.ndarray,
    factors: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    random_state: np.random.RandomState,
    backend: str = "exact",
    n_jobs: int = -1,
) -> tuple[np.ndarray, float, float]:
    """Importance matrix `(num_codes, num_factors)` and mean train / test accuracy."""
    if backend not in BACKENDS:
        raise ValueError(f"dci backend must be one of {BACKENDS}, got {backend!r}")
    if codes.shape[1] != factors.shape[1] or codes_test.shape[1] != factors_test.shape[1]:
        raise ValueError(
            "codes (num_codes, N) and factors (num_factors, N) need the same N; got "
            f"{codes.shape}, {factors.shape}, {codes_test.shape}, {factors_test.shape}"
        )
    seeds = random_state.randint(2**31 - 1, size=factors.shape[0])
    key = _fit_key((codes, factors, codes_test, factors_test, seeds), backend)
    if _LAST_FIT.get("key") == key:
        importance, train_acc, test_acc = _LAST_FIT["result"]
        return importance.copy(), train_acc, test_acc
    jobs = [
        (codes.T, factors[j], codes_test.T, factors_test[j], backend, seed)
        for j, seed in enumerate(seeds)
    ]
    if backend == "exact":
        sizes = [len(np.unique(row)) for row in factors]
        results = parallel_boosting.map_in_threads(
            _fit_one, jobs, sizes, joblib.effective_n_jobs(n_jobs)
        )
    else:
        # Always in worker threads, even for n_jobs=1: a single-threaded OpenMP fit on the main
        # thread ran 100x slower once TensorFlow was loaded in the process.
        workers = joblib.effective_n_jobs(n_jobs)
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(lambda job: _fit_one(*job), jobs))
    importance = np.stack([r[0] for r in results], axis=1)
    result = (
        importance,
        float(np.mean([r[1] for r in results])),
        float(np.mean([r[2] for r in results])),
    )
    _LAST_FIT.clear()
    _LAST_FIT.update(key=key, result=(importance.copy(), result[1], result[2]))
    return result


def _fit_key(arrays: tuple[np.ndarray, ...], backend: str) -> str:
    """A digest of a fit's inputs: the arrays' shapes, dtypes and bytes, and the backend."""
    digest = hashlib.sha256(backend.encode())
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.shape}{array.dtype}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def disentanglement_per_code(importance_matrix: np.ndarray) -> np.ndarray:
    """1 - entropy (base num_factors) of each code's normalized importances, `(num_codes,)`."""
    return 1.0 - scipy.stats.entropy(importance_matrix.T + 1e-11, base=importance_matrix.shape[1])


def disentanglement(importance_matrix: np.ndarray) -> float:
    """Importance-weighted mean of `disentanglement_per_code`."""
    per_code = disentanglement_per_code(importance_matrix)
    if importance_matrix.sum() == 0.0:
        importance_matrix = np.ones_like(importance_matrix)
    code_importance = importance_matrix.sum(axis=1) / importance_matrix.sum()
    return float(np.sum(per_code * code_importance))


def completeness_per_factor(importance_matrix: np.ndarray) -> np.ndarray:
    """1 - entropy (base num_codes) of each factor's normalized importances, `(num_factors,)`."""
    return 1.0 - scipy.stats.entropy(importance_matrix + 1e-11, base=importance_matrix.shape[0])


def completeness(importance_matrix: np.ndarray) -> float:
    """Importance-weighted mean of `completeness_per_factor`."""
    per_factor = completeness_per_factor(importance_matrix)
    if importance_matrix.sum() == 0.0:
        importance_matrix = np.ones_like(importance_matrix)
    factor_importance = importance_matrix.sum(axis=0) / importance_matrix.sum()
    return float(np.sum(per_factor * factor_importance))
