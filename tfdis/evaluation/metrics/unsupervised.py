"""Unsupervised scores of the code distribution (dlib's `unsupervised_metrics`; SPEC section 8).

With C the covariance of the codes and D its diagonal:
- gaussian_total_correlation = KL(N(0, C) || N(0, D)) = 1/2 (sum log diag C - log det C);
- gaussian_wasserstein_correlation = W2^2(N(0, C), N(0, D)) = 2 tr C - 2 tr (D^1/2 C D^1/2)^1/2,
  and its `_norm` form divided by tr C;
- mutual_info_score = mean pairwise mutual information of the 20-bin discretized codes.
"""

from __future__ import annotations

import gin
import numpy as np

from tfdis.data.ground_truth_data import GroundTruthData
from tfdis.evaluation.metrics import utils
from tfdis.utils import gin_validation

# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "unsupervised_metrics": {
            "num_train": {"kind": "int", "positive": True},
            "batch_size": {"kind": "int", "positive": True},
        }
    },
)


@gin.configurable(
    "unsupervised_metrics",
    denylist=["ground_truth_data", "representation_function", "random_state", "artifact_dir"],
)
def unsupervised_metrics(
    ground_truth_data: GroundTruthData,
    representation_function: utils.RepresentationFunction,
    random_state: np.random.RandomState,
    artifact_dir: str | None = None,
    num_train: int = 10000,
    batch_size: int = utils.DEFAULT_ENCODE_BATCH,
) -> dict[str, float]:
    """Samples `num_train` codes and computes the unsupervised scores."""
    gin_validation.check_parameters(
        "unsupervised_metrics", locals(), _GIN_RULES["unsupervised_metrics"]
    )
    del artifact_dir
    codes, _ = utils.generate_batch_factor_code(
        ground_truth_data, representation_function, num_train, random_state, batch_size
    )
    return _unsupervised_metrics(codes)


def _unsupervised_metrics(codes: np.ndarray) -> dict[str, float]:
    """Scores codes `(num_codes, N)`; needs at least 2 codes."""
    codes = np.asarray(codes, dtype=np.float64)
    if codes.ndim != 2 or codes.shape[0] < 2:
        raise ValueError(f"codes must be (num_codes >= 2, N), got shape {codes.shape}")
    num_codes = codes.shape[0]
    cov = np.cov(codes)
    scores = {
        "gaussian_total_correlation": gaussian_total_correlation(cov),
        "gaussian_wasserstein_correlation": gaussian_wasserstein_correlation(cov),
    }
    scores["gaussian_wasserstein_correlation_norm"] = scores[
        "gaussian_wasserstein_correlation"
    ] / float(np.trace(cov))
    discrete = utils.make_discretizer(codes)
    mutual_info = utils.discrete_mutual_info(discrete, discrete)
    np.fill_diagonal(mutual_info, 0.0)
    scores["mutual_info_score"] = float(np.sum(mutual_info) / (num_codes**2 - num_codes))
    return scores


def gaussian_total_correlation(cov: np.ndarray) -> float:
    """Total correlation of N(0, cov): 1/2 (sum log diag - log det), `cov` `(d, d)`."""
    cov = np.asarray(cov, dtype=np.float64)
    sign, logdet = np.linalg.slogdet(cov)
    if sign <= 0 or np.any(np.diag(cov) <= 0):
        raise ValueError("cov must be positive definite (a constant code has zero variance)")
    return float(0.5 * (np.sum(np.log(np.diag(cov))) - logdet))


def gaussian_wasserstein_correlation(cov: np.ndarray) -> float:
    """W2^2 between N(0, cov) and N(0, diag(cov)), `cov` `(d, d)`."""
    cov = np.asarray(cov, dtype=np.float64)
    root_diag = np.sqrt(np.diag(cov))
    # tr sqrt(D^1/2 C D^1/2) from its (non-negative) eigenvalues; same trace as dlib's sqrtm(C D).
    eigenvalues = np.linalg.eigvalsh(root_diag[:, None] * cov * root_diag[None, :])
    return float(2.0 * np.trace(cov) - 2.0 * np.sum(np.sqrt(np.clip(eigenvalues, 0.0, None))))
