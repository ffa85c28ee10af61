"""Modularity and explicitness (Ridgeway & Mozer, 2018; dlib's `modularity_explicitness`).

Modularity: for each code i with mutual informations m_i. (discretized codes, 20-bin histogram),
1 - sum_{j != argmax} m_ij^2 / (max_j m_ij^2 (num_factors - 1)), averaged over codes (0 for a code
with no information). Explicitness: per factor, the macro one-vs-rest ROC AUC of a logistic
regression on the standardized codes, averaged over factors (SPEC section 8).
"""

from __future__ import annotations

import gin
import joblib
import numpy as np
from sklearn import linear_model, metrics

from tfdis.data.ground_truth_data import GroundTruthData
from tfdis.evaluation.metrics import utils
from tfdis.utils import gin_validation

# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "modularity_explicitness": {
            "num_train": {"kind": "int", "positive": True},
            "num_test": {"kind": "int", "positive": True},
            "batch_size": {"kind": "int", "positive": True},
        }
    },
)


@gin.configurable(
    "modularity_explicitness",
    denylist=["ground_truth_data", "representation_function", "random_state", "artifact_dir"],
)
def compute_modularity_explicitness(
    ground_truth_data: GroundTruthData,
    representation_function: utils.RepresentationFunction,
    random_state: np.random.RandomState,
    artifact_dir: str | None = None,
    num_train: int = 10000,
    num_test: int = 5000,
    batch_size: int = utils.DEFAULT_ENCODE_BATCH,
) -> dict[str, float]:
    """Samples train and test codes and computes modularity and explicitness.

    Returns:
        `{"modularity_score", "explicitness_score_train", "explicitness_score_test"}`.
    """
    gin_validation.check_parameters(
        "modularity_explicitness", locals(), _GIN_RULES["modularity_explicitness"]
    )
    del artifact_dir
    codes, factors = utils.generate_batch_factor_code(
        ground_truth_data, representation_function, num_train, random_state, batch_size
    )
    codes_test, factors_test = utils.generate_batch_factor_code(
        ground_truth_data, representation_function, num_test, random_state, batch_size
    )
    return _compute_modularity_explicitness(codes, factors, codes_test, factors_test)


def _compute_modularity_explicitness(
    codes: np.ndarray, factors: np.ndarray, codes_test: np.ndarray, factors_test: np.ndarray
) -> dict[str, float]:
    """Scores codes `(num_codes, N)` against int factors `(num_factors, N)` (train and test)."""
    mutual_information = utils.discrete_mutual_info(utils.make_discretizer(codes), factors)
    codes_norm, mean, stddev = utils.normalize_data(codes)
    codes_test_norm, _, _ = utils.normalize_data(codes_test, mean, stddev)
    # One classifier per factor, fitted in threads (the solver spends its time in BLAS/scipy).
    per_factor = joblib.Parallel(n_jobs=-1, prefer="threads")(
        joblib.delayed(explicitness_per_factor)(
            codes_norm, factors[j], codes_test_norm, factors_test[j]
        )
        for j in range(factors.shape[0])
    )
    train, test = zip(*per_factor, strict=True)
    return {
        "modularity_score": modularity(mutual_information),
        "explicitness_score_train": float(np.mean(train)),
        "explicitness_score_test": float(np.mean(test)),
    }


def _macro_auc(labels: np.ndarray, probabilities: np.ndarray, classes: np.ndarray) -> float:
    """Mean one-vs-rest ROC AUC over the classes present with both outcomes in `labels`."""
    aucs = []
    for c, cls in enumerate(classes):
        positive = labels == cls
        if positive.any() and not positive.all():
            aucs.append(metrics.roc_auc_score(positive, probabilities[:, c]))
    if not aucs:
        raise ValueError("explicitness needs at least two factor values in each split")
    return float(np.mean(aucs))


def explicitness_per_factor(
    codes: np.ndarray, labels: np.ndarray, codes_test: np.ndarray, labels_test: np.ndarray
) -> tuple[float, float]:
    """Train and test macro ROC AUC of a logistic regression predicting one factor.

    Args:
        codes: standardized `(num_codes, N)`; labels: `(N,)`; same for the test split.
    """
    classifier = linear_model.LogisticRegression().fit(codes.T, labels)
    train = _macro_auc(labels, classifier.predict_proba(codes.T), classifier.classes_)
    test = _macro_auc(labels_test, classifier.predict_proba(codes_test.T), classifier.classes_)
    return train, test


def modularity(mutual_information: np.ndarray) -> float:
    """Modularity of a `(num_codes, num_factors)` mutual-information matrix."""
    squared = np.square(mutual_information)
    max_squared = np.max(squared, axis=1)
    numerator = np.sum(squared, axis=1) - max_squared
    denominator = max_squared * (squared.shape[1] - 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = 1.0 - numerator / denominator
    score[max_squared == 0.0] = 0.0
    return float(np.mean(score))
