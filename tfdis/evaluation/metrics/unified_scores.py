"""Unified scores: a factor-code matrix, then every aggregation (dlib's `unified_scores`).

Each gin-bound matrix function relates codes and factors in a `(num_codes, num_factors)` matrix:
`importance_gbt_matrix` (DCI's gradient-boosted importances), `mutual_information_matrix` (MIG's
histogram mutual information) and `accuracy_svm_matrix` (SAP's single-code LinearSVC accuracies).
Every matrix is then aggregated DCI-style (disentanglement, completeness), MIG-style (gap of the
top two entries per factor over H(v)), SAP-style (gap of the top two) and modularity-style, plus
dlib's precision curve: for each threshold t (every entry of the matrix, descending), the number
of connected components with at least one edge of the bipartite code-factor graph that keeps
the entries >= t (nonzero); `area_precision` is the trapezoid area under that curve against t
and `max_precision` its maximum. Like dlib (which computes them while drawing its dendrogram
artifact), `merge_a_b` records the index, in that descending edge order, of the edge that first
joins factors a and b in one component (union-find over codes and factors).

Result keys are dlib's, namespaced by matrix: `importance_gbt_matrix.dci_disentanglement`,
`mutual_information_matrix.mig`, `accuracy_svm_matrix.sap.factor_0`, ...
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import gin
import numpy as np
from scipy.sparse import csgraph, csr_matrix

from tfdis.data.ground_truth_data import GroundTruthData
from tfdis.evaluation.metrics import dci, modularity_explicitness, sap_score, utils
from tfdis.utils import gin_validation

MatrixFn = Callable[..., np.ndarray]


# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "importance_gbt_matrix": {
            "backend": {"kind": "str", "choices": dci.BACKENDS},
            "n_jobs": {"kind": "int"},
        },
        "unified_scores": {
            "num_train": {"kind": "int", "positive": True},
            "num_test": {"kind": "int", "positive": True},
            "batch_size": {"kind": "int", "positive": True},
        },
    },
)


@gin.configurable(
    "unified_scores",
    denylist=["ground_truth_data", "representation_function", "random_state", "artifact_dir"],
)
def compute_unified_scores(
    ground_truth_data: GroundTruthData,
    representation_function: utils.RepresentationFunction,
    random_state: np.random.RandomState,
    artifact_dir: str | None = None,
    num_train: int = gin.REQUIRED,
    num_test: int = gin.REQUIRED,
    matrix_fns: Sequence[MatrixFn] = gin.REQUIRED,
    batch_size: int = utils.DEFAULT_ENCODE_BATCH,
) -> dict[str, float]:
    """Samples train and test codes and computes every matrix's unified scores.

    Args:
        ground_truth_data: the dataset.
        representation_function: `(B, H, W, C)` observations -> `(B, num_codes)` codes.
        random_state: source of all randomness (also seeds the GBT fits).
        artifact_dir: unused (dlib draws heat maps and dendrograms there).
        num_train: training points.
        num_test: test points.
        matrix_fns: the matrix functions, e.g. `[@importance_gbt_matrix, @mutual_information_matrix,
            @accuracy_svm_matrix]`.
        batch_size: observations per encoder call.

    Returns:
        `{"<matrix name>.<score>": float}` (see the module docstring).
    """
    gin_validation.check_parameters("unified_scores", locals(), _GIN_RULES["unified_scores"])
    del artifact_dir
    codes, factors = utils.generate_batch_factor_code(
        ground_truth_data, representation_function, num_train, random_state, batch_size
    )
    codes_test, factors_test = utils.generate_batch_factor_code(
        ground_truth_data, representation_function, num_test, random_state, batch_size
    )
    return _compute_unified_scores(
        codes, factors, codes_test, factors_test, matrix_fns, random_state
    )


def _compute_unified_scores(
    codes: np.ndarray,
    factors: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    matrix_fns: Sequence[MatrixFn],
    random_state: np.random.RandomState,
) -> dict[str, float]:
    """Unified scores of codes `(num_codes, N)` against int factors `(num_factors, N)`."""
    if not matrix_fns:
        raise ValueError("unified_scores.matrix_fns is empty; bind at least one matrix function")
    scores = {}
    for matrix_fn in matrix_fns:
        matrix = np.asarray(matrix_fn(codes, factors, codes_test, factors_test, random_state))
        if matrix.shape != (codes.shape[0], factors.shape[0]):
            raise ValueError(
                f"{_name(matrix_fn)} returned shape {matrix.shape}; expected "
                f"(num_codes, num_factors) = {(codes.shape[0], factors.shape[0])}"
            )
        scores.update(
            {f"{_name(matrix_fn)}.{k}": v for k, v in matrix_scores(matrix, factors).items()}
        )
    return scores


def _name(matrix_fn: MatrixFn) -> str:
    return getattr(matrix_fn, "__name__", type(matrix_fn).__name__)


def matrix_scores(matrix: np.ndarray, factors: np.ndarray) -> dict[str, float]:
    """Every aggregation of one `(num_codes, num_factors)` matrix (un-namespaced dlib keys)."""
    scores = dict(merge_thresholds(matrix))
    scores.update(pr_curves_values(matrix))
    for aggregation in (aggregation_dci, aggregation_mig, aggregation_sap, aggregation_modularity):
        scores.update(aggregation(matrix, factors))
    return scores


@gin.configurable("importance_gbt_matrix", allowlist=["backend", "n_jobs"])
def importance_gbt_matrix(
    codes: np.ndarray,
    factors: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    random_state: np.random.RandomState,
    backend: str = "exact",
    n_jobs: int = -1,
) -> np.ndarray:
    """DCI's gradient-boosted importance matrix `(num_codes, num_factors)`."""
    gin_validation.check_parameters(
        "importance_gbt_matrix", locals(), _GIN_RULES["importance_gbt_matrix"]
    )
    importance, _, _ = dci.compute_importance_gbt(
        codes, factors, codes_test, factors_test, random_state, backend, n_jobs
    )
    return importance


@gin.configurable("mutual_information_matrix", allowlist=[])
def mutual_information_matrix(
    codes: np.ndarray,
    factors: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    random_state: np.random.RandomState,
) -> np.ndarray:
    """Mutual information (nats) of the discretized train codes and the factors."""
    del codes_test, factors_test, random_state
    return utils.discrete_mutual_info(utils.make_discretizer(codes), factors)


@gin.configurable("accuracy_svm_matrix", allowlist=[])
def accuracy_svm_matrix(
    codes: np.ndarray,
    factors: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    random_state: np.random.RandomState,
) -> np.ndarray:
    """SAP's test accuracy of a LinearSVC predicting each factor from each single code."""
    del random_state
    return sap_score.compute_score_matrix(
        codes, factors, codes_test, factors_test, continuous_factors=False
    )


def num_components(matrix: np.ndarray, threshold: float) -> int:
    """Connected components with an edge, of the code-factor graph of entries >= threshold."""
    num_codes, num_factors = matrix.shape
    kept = (matrix >= threshold) & (matrix != 0)
    rows, cols = np.nonzero(kept)
    size = num_codes + num_factors
    graph = csr_matrix((np.ones(len(rows)), (rows, num_codes + cols)), shape=(size, size))
    _, labels = csgraph.connected_components(graph, directed=False)
    return len(np.unique(labels[rows]))


def pr_curves_values(matrix: np.ndarray) -> dict[str, float]:
    """dlib's `area_precision` (trapezoids over the descending entries) and `max_precision`."""
    thresholds = np.sort(matrix.ravel())[::-1]
    precisions = np.array([num_components(matrix, t) for t in thresholds], dtype=np.float64)
    area = np.sum((precisions[:-1] + precisions[1:]) * (thresholds[:-1] - thresholds[1:]) * 0.5)
    return {"area_precision": float(area), "max_precision": float(precisions.max())}


def merge_thresholds(matrix: np.ndarray) -> dict[str, float]:
    """`merge_a_b`: index of the edge (entries descending) that first joins factors a and b."""
    num_codes, num_factors = matrix.shape
    # Nodes: factors 0..F-1, then codes. Edges in descending order of weight, as dlib's melt of
    # the (factors, codes) matrix sorted by value (code-major flat order; ties reversed).
    order = np.argsort(matrix.ravel(), kind="stable")[::-1]
    parent = list(range(num_factors + num_codes))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    members = {j: [j] for j in range(num_factors)}  # factor-rooted tree -> its factors
    merges = {}
    for edge_id, flat in enumerate(order):
        code, factor = divmod(int(flat), num_factors)
        a, b = find(factor), find(num_factors + code)
        if a == b:
            continue
        low, high = min(a, b), max(a, b)
        parent[high] = low  # the smaller id stays root, so factor roots win over codes
        if high < num_factors:  # two trees rooted at factors merge
            for f1 in members[a]:
                for f2 in members[b]:
                    merges[f"merge_{f1}_{f2}"] = float(edge_id)
            joined = members.pop(a) + members.pop(b)
            members[low] = joined
    return merges


def aggregation_dci(matrix: np.ndarray, factors: np.ndarray) -> dict[str, float]:
    """DCI-style: `dci_disentanglement`, `dci_completeness`, `dci` and the per-code/factor terms."""
    del factors
    scores = {
        "dci_disentanglement": dci.disentanglement(matrix),
        "dci_completeness": dci.completeness(matrix),
        "dci": dci.disentanglement(matrix),
    }
    for i, value in enumerate(dci.disentanglement_per_code(matrix)):
        scores[f"dci_disentanglement.code_{i}"] = float(value)
    # dlib names the per-factor completeness terms `code_j` too; kept for key compatibility.
    for j, value in enumerate(dci.completeness_per_factor(matrix)):
        scores[f"dci_completeness.code_{j}"] = float(value)
    return scores


def aggregation_mig(matrix: np.ndarray, factors: np.ndarray) -> dict[str, float]:
    """MIG-style: per factor (largest - second largest entry) / H(v); `mig` is their mean."""
    entropy = utils.discrete_entropy(factors)
    ordered = -np.sort(-matrix, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_factor = (ordered[0] - ordered[1]) / entropy
    scores = {"mig": float(np.mean(per_factor))}
    scores.update({f"mig.factor_{j}": float(v) for j, v in enumerate(per_factor)})
    return scores


def aggregation_sap(matrix: np.ndarray, factors: np.ndarray) -> dict[str, float]:
    """SAP-style: per factor largest - second largest entry; `sap` is their mean."""
    del factors
    ordered = np.sort(matrix, axis=0)
    per_factor = ordered[-1] - ordered[-2]
    scores = {"sap": float(np.mean(per_factor))}
    scores.update({f"sap.factor_{j}": float(v) for j, v in enumerate(per_factor)})
    return scores


def aggregation_modularity(matrix: np.ndarray, factors: np.ndarray) -> dict[str, float]:
    """Modularity-style: per code 1 - sum_{non-max} m^2 / (max m^2 (F - 1)); 0 for a zero row."""
    del factors
    squared = np.square(matrix)
    max_squared = squared.max(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_code = 1.0 - (squared.sum(axis=1) - max_squared) / (
            max_squared * (matrix.shape[1] - 1.0)
        )
    per_code = np.where(max_squared == 0.0, 0.0, per_code)
    scores = {"modularity": modularity_explicitness.modularity(matrix)}
    scores.update({f"modularity.code_{i}": float(v) for i, v in enumerate(per_code)})
    return scores
