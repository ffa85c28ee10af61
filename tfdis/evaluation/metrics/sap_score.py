"""Separated Attribute Predictability (Kumar et al., 2018; dlib's `sap_score`; SPEC section 8).

Score matrix `S[i, j]`: for discrete factors, the test accuracy of a LinearSVC (C = 0.01,
balanced classes) predicting factor j from code i alone; for continuous factors,
cov(c_i, v_j)^2 / (var c_i var v_j). SAP is the mean over factors of the gap between the two
largest entries of its column.
"""

from __future__ import annotations

import warnings

import gin
import joblib
import numpy as np
from sklearn import svm
from sklearn.exceptions import ConvergenceWarning

from tfdis.data.ground_truth_data import GroundTruthData
from tfdis.evaluation.metrics import utils
from tfdis.utils import gin_validation

# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "sap_score": {
            "continuous_factors": {"kind": "bool"},
            "num_train": {"kind": "int", "positive": True},
            "num_test": {"kind": "int", "positive": True},
            "batch_size": {"kind": "int", "positive": True},
        }
    },
)


@gin.configurable(
    "sap_score",
    denylist=["ground_truth_data", "representation_function", "random_state", "artifact_dir"],
)
def compute_sap(
    ground_truth_data: GroundTruthData,
    representation_function: utils.RepresentationFunction,
    random_state: np.random.RandomState,
    artifact_dir: str | None = None,
    num_train: int = 10000,
    num_test: int = 5000,
    batch_size: int = utils.DEFAULT_ENCODE_BATCH,
    continuous_factors: bool = False,
) -> dict[str, float]:
    """Samples train and test codes and computes SAP.

    Args:
        ground_truth_data: the dataset.
        representation_function: `(B, H, W, C)` observations -> `(B, num_codes)` codes.
        random_state: source of all randomness.
        artifact_dir: unused (dlib signature).
        num_train: training points (10000).
        num_test: test points (5000; unused when `continuous_factors`).
        batch_size: observations per encoder call.
        continuous_factors: use the covariance form instead of classifiers.

    Returns:
        `{"SAP_score": float}`.
    """
    gin_validation.check_parameters("sap_score", locals(), _GIN_RULES["sap_score"])
    del artifact_dir
    codes, factors = utils.generate_batch_factor_code(
        ground_truth_data, representation_function, num_train, random_state, batch_size
    )
    codes_test, factors_test = utils.generate_batch_factor_code(
        ground_truth_data, representation_function, num_test, random_state, batch_size
    )
    return _compute_sap(codes, factors, codes_test, factors_test, continuous_factors)


def _compute_sap(
    codes: np.ndarray,
    factors: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    continuous_factors: bool,
) -> dict[str, float]:
    """SAP from codes `(num_codes, N)` and factors `(num_factors, N)` (train and test)."""
    if codes.shape[0] < 2:
        raise ValueError(f"SAP needs at least 2 codes, got {codes.shape[0]}")
    matrix = compute_score_matrix(codes, factors, codes_test, factors_test, continuous_factors)
    return {"SAP_score": compute_avg_diff_top_two(matrix)}


def compute_score_matrix(
    codes: np.ndarray,
    factors: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    continuous_factors: bool,
    n_jobs: int = -1,
) -> np.ndarray:
    """The `(num_codes, num_factors)` predictability matrix described in the module docstring."""
    num_codes, num_factors = codes.shape[0], factors.shape[0]
    if continuous_factors:
        codes_c = codes - codes.mean(axis=1, keepdims=True)
        factors_c = factors - factors.mean(axis=1, keepdims=True)
        n = codes.shape[1] - 1
        cov = codes_c @ factors_c.T / n
        var_codes = np.sum(codes_c**2, axis=1) / n
        var_factors = np.sum(factors_c**2, axis=1) / n
        with np.errstate(divide="ignore", invalid="ignore"):
            matrix = cov**2 / (var_codes[:, None] * var_factors[None, :])
        # dlib: a (near-)constant code scores 0.
        return np.where(var_codes[:, None] > 1e-12, np.nan_to_num(matrix), 0.0)
    # One classifier per (code, factor); liblinear releases the GIL, so threads run them in parallel.
    accuracies = joblib.Parallel(n_jobs=n_jobs, prefer="threads")(
        joblib.delayed(_single_code_accuracy)(codes[i], factors[j], codes_test[i], factors_test[j])
        for i in range(num_codes)
        for j in range(num_factors)
    )
    return np.asarray(accuracies).reshape(num_codes, num_factors)


def _single_code_accuracy(code, factor, code_test, factor_test) -> float:
    """Test accuracy of a LinearSVC predicting `factor` `(N,)` from one code `(N,)`."""
    classifier = svm.LinearSVC(C=0.01, class_weight="balanced")
    with warnings.catch_warnings():
        # C = 0.01 is the field's setting; liblinear often stops at its iteration cap.
        warnings.simplefilter("ignore", ConvergenceWarning)
        classifier.fit(code[:, None], factor)
    return float(np.mean(classifier.predict(code_test[:, None]) == factor_test))


def compute_avg_diff_top_two(matrix: np.ndarray) -> float:
    """Mean over columns of (largest - second largest) entry of a `(num_codes, num_factors)`."""
    ordered = np.sort(matrix, axis=0)
    return float(np.mean(ordered[-1] - ordered[-2]))
