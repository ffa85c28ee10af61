"""Helpers shared by the metrics: sampling codes, discretizing, discrete information measures.

Array layout follows disentanglement_lib (SPEC section 1): codes are `(num_codes, num_points)` and
factors `(num_factors, num_points)`, i.e. one row per variable, so dlib's scorers carry over.
"""

from __future__ import annotations

from collections.abc import Callable

import gin
import numpy as np

from tfdis.data.ground_truth_data import GroundTruthData
from tfdis.utils import gin_validation

RepresentationFunction = Callable[[np.ndarray], np.ndarray]

# Observations encoded per call of the representation function: large enough to amortize the
# SavedModel call, small enough that a batch of 64x64x3 images stays around 50 MB.
DEFAULT_ENCODE_BATCH = 1024


def check_positive_int(value: int, name: str) -> int:
    """Returns `value` as int, raising ValueError unless it is a positive integer."""
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def obtain_representation(
    observations: np.ndarray,
    representation_function: RepresentationFunction,
    batch_size: int = DEFAULT_ENCODE_BATCH,
) -> np.ndarray:
    """Encodes observations in batches.

    Args:
        observations: `(num_points, H, W, C)` observations.
        representation_function: maps `(B, H, W, C)` to `(B, num_codes)`.
        batch_size: observations per call of `representation_function`.

    Returns:
        float64 codes of shape `(num_codes, num_points)` (dlib layout).
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    num_points = len(observations)
    chunks = []
    for start in range(0, num_points, batch_size):
        batch = observations[start : start + batch_size]
        codes = np.asarray(representation_function(batch))
        if codes.ndim != 2 or codes.shape[0] != len(batch):
            raise ValueError(
                "representation_function must return an array of shape (batch, num_codes); "
                f"got {codes.shape} for a batch of {len(batch)}"
            )
        chunks.append(codes.astype(np.float64))
    return np.concatenate(chunks, axis=0).T


def generate_batch_factor_code(
    ground_truth_data: GroundTruthData,
    representation_function: RepresentationFunction,
    num_points: int,
    random_state: np.random.RandomState,
    batch_size: int = DEFAULT_ENCODE_BATCH,
) -> tuple[np.ndarray, np.ndarray]:
    """Samples `num_points` observations and their codes, `batch_size` at a time.

    Each batch samples factors, renders them and encodes them, so memory stays at one batch of
    images whatever `num_points` is.

    Returns:
        `(codes, factors)` of shapes `(num_codes, num_points)` and `(num_factors, num_points)`.
    """
    num_points = check_positive_int(num_points, "num_points")
    batch_size = check_positive_int(batch_size, "batch_size")
    codes, factors = [], []
    for start in range(0, num_points, batch_size):
        num = min(batch_size, num_points - start)
        batch_factors, observations = ground_truth_data.sample(num, random_state)
        codes.append(obtain_representation(observations, representation_function, num))
        factors.append(np.asarray(batch_factors).T)
    return np.concatenate(codes, axis=1), np.concatenate(factors, axis=1)


def split_train_test(
    observations: np.ndarray, train_percentage: float
) -> tuple[np.ndarray, np.ndarray]:
    """Splits `(dim, num_points)` arrays column-wise into the first `train_percentage` and rest."""
    if not 0.0 < train_percentage < 1.0:
        raise ValueError(f"train_percentage must be in (0, 1), got {train_percentage}")
    num_train = int(np.ceil(observations.shape[1] * train_percentage))
    return observations[:, :num_train], observations[:, num_train:]


@gin.configurable("histogram_discretizer", allowlist=[])
def histogram_discretize(target: np.ndarray, num_bins: int = 20) -> np.ndarray:
    """Discretizes each row into `num_bins` equal-width bins spanning its range (dlib).

    Args:
        target: `(num_codes, num_points)` array.
        num_bins: number of bins.

    Returns:
        int array of the same shape with values in `[1, num_bins]`.
    """
    target = np.asarray(target, dtype=np.float64)
    if target.ndim != 2:
        raise ValueError(f"target must be 2-D (num_codes, num_points), got shape {target.shape}")
    num_bins = check_positive_int(num_bins, "num_bins")
    discretized = np.empty(target.shape, dtype=np.int64)
    for i in range(target.shape[0]):
        # np.histogram's left edges, exactly as dlib (a constant row gets value +- 0.5).
        edges = np.histogram_bin_edges(target[i], num_bins)[:-1]
        discretized[i] = np.digitize(target[i], edges)
    return discretized


# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "discretizer": {
            "discretizer_fn": {"kind": "callable"},
            "num_bins": {"kind": "int", "positive": True},
        }
    },
)


@gin.configurable("discretizer", allowlist=["discretizer_fn", "num_bins"])
def make_discretizer(
    target: np.ndarray,
    num_bins: int = 20,
    discretizer_fn: Callable[[np.ndarray, int], np.ndarray] = histogram_discretize,
) -> np.ndarray:
    """Discretizes `(num_codes, num_points)` codes with the gin-bound discretizer (dlib)."""
    gin_validation.check_parameters("discretizer", locals(), _GIN_RULES["discretizer"])
    return discretizer_fn(target, num_bins)


def _relabel(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Maps arbitrary labels to `0..K-1`; returns the labels and K."""
    uniques, labels = np.unique(values, return_inverse=True)
    return labels.reshape(-1), len(uniques)


def _mutual_info_labels(a: np.ndarray, b: np.ndarray) -> float:
    """Mutual information in nats of two label vectors (same as sklearn's mutual_info_score)."""
    a, num_a = _relabel(a)
    b, num_b = _relabel(b)
    joint = np.bincount(a * num_b + b, minlength=num_a * num_b).reshape(num_a, num_b)
    num = float(len(a))
    nz = joint > 0
    p_joint = joint[nz] / num
    p_a = joint.sum(axis=1) / num
    p_b = joint.sum(axis=0) / num
    outer = np.outer(p_a, p_b)[nz]
    return float(max(np.sum(p_joint * (np.log(p_joint) - np.log(outer))), 0.0))


def discrete_mutual_info(codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Mutual information in nats between every discrete code and every factor.

    Args:
        codes: int `(num_codes, num_points)`.
        factors: int `(num_factors, num_points)`.

    Returns:
        `(num_codes, num_factors)` matrix `m[i, j] = I(code_i; factor_j)`.
    """
    codes, factors = np.asarray(codes), np.asarray(factors)
    if codes.ndim != 2 or factors.ndim != 2 or codes.shape[1] != factors.shape[1]:
        raise ValueError(
            "codes and factors must be 2-D with the same number of points (columns); "
            f"got {codes.shape} and {factors.shape}"
        )
    result = np.zeros((codes.shape[0], factors.shape[0]))
    for i in range(codes.shape[0]):
        for j in range(factors.shape[0]):
            result[i, j] = _mutual_info_labels(codes[i], factors[j])
    return result


def discrete_entropy(factors: np.ndarray) -> np.ndarray:
    """Entropy in nats of each row of an int `(num_factors, num_points)` array."""
    factors = np.asarray(factors)
    if factors.ndim != 2:
        raise ValueError(f"factors must be 2-D (num_factors, num_points), got {factors.shape}")
    result = np.zeros(factors.shape[0])
    for j in range(factors.shape[0]):
        counts = np.unique(factors[j], return_counts=True)[1]
        p = counts / counts.sum()
        result[j] = -np.sum(p * np.log(p))
    return result


def normalize_data(
    data: np.ndarray, mean: np.ndarray | None = None, stddev: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Standardizes each row of `(dim, num_points)` data; returns `(data, mean, stddev)`."""
    if mean is None:
        mean = np.mean(data, axis=1)
    if stddev is None:
        stddev = np.std(data, axis=1)
    safe = np.where(stddev > 0, stddev, 1.0)
    return (data - mean[:, np.newaxis]) / safe[:, np.newaxis], mean, stddev
