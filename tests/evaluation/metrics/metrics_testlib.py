"""Synthetic ground-truth data and representations whose metric values are known."""

from __future__ import annotations

import zlib

import numpy as np

from tfdis.data.ground_truth_data import FactorGrid, GroundTruthData


class IdentityData(GroundTruthData):
    """Observations are the factor indices themselves, shaped `(num, F, 1, 1)` (dlib's dummy data)."""

    def __init__(self, factor_sizes=(10, 10, 10, 10)):
        self.factor_sizes = tuple(factor_sizes)

    @property
    def num_factors(self) -> int:
        return len(self.factor_sizes)

    @property
    def factors_num_values(self) -> list[int]:
        return list(self.factor_sizes)

    @property
    def observation_shape(self) -> list[int]:
        return [self.num_factors, 1, 1]

    def sample_factors(self, num, random_state):
        return FactorGrid(self.factor_sizes).sample_factors(num, random_state)

    def sample_observations_from_factors(self, factors, random_state):
        del random_state
        return np.asarray(factors, dtype=np.float32).reshape(len(factors), -1, 1, 1)


def identity_representation(observations: np.ndarray) -> np.ndarray:
    """Codes equal to the factors."""
    return np.asarray(observations, dtype=np.float64).reshape(len(observations), -1)


def rotation_45(dim: int) -> np.ndarray:
    """Block-diagonal 45-degree rotations of consecutive pairs: each code mixes two factors equally."""
    if dim % 2:
        raise ValueError("dim must be even")
    block = np.array([[1.0, 1.0], [1.0, -1.0]]) / np.sqrt(2.0)
    return np.kron(np.eye(dim // 2), block)


def rotated_representation(observations: np.ndarray) -> np.ndarray:
    """Each code is (f_a + f_b)/sqrt(2) or (f_a - f_b)/sqrt(2): every factor split over two codes."""
    codes = identity_representation(observations)
    return codes @ rotation_45(codes.shape[1]).T


def make_random_representation(num_codes: int = 4, seed: int = 0):
    """Codes independent of the observations (Gaussian noise from a fixed stream)."""
    rs = np.random.RandomState(seed)

    def representation(observations: np.ndarray) -> np.ndarray:
        return rs.normal(size=(len(observations), num_codes))

    return representation


def duplicated_representation(observations: np.ndarray) -> np.ndarray:
    """Identity codes plus a copy of the first one."""
    codes = identity_representation(observations)
    return np.concatenate([codes, codes[:, :1]], axis=1)


class GaussianPosterior:
    """A `PosteriorEncoder` whose mean is `observations.reshape(B, -1) @ weights.T` (+ extra dims).

    Args:
        weights: `(d, F)` linear map from factor values to means.
        sigma: posterior standard deviation (scalar or `(d,)`).
        extra_random_dims: dims appended whose means are pseudo-random (hash of the observation),
            so `encode` and `sample` agree but the means carry no factor structure.
    """

    def __init__(self, weights, sigma=0.01, extra_random_dims=0, seed=0):
        self.weights = np.asarray(weights, dtype=np.float64)
        self.sigma = np.broadcast_to(
            np.asarray(sigma, dtype=np.float64), (len(self.weights) + extra_random_dims,)
        )
        self.extra = extra_random_dims
        self.seed = seed

    def encode(self, observations):
        x = np.asarray(observations, dtype=np.float64).reshape(len(observations), -1)
        mean = x @ self.weights.T
        if self.extra:
            noise = [
                np.random.RandomState(self.seed + zlib.crc32(row.tobytes())).normal(size=self.extra)
                for row in x
            ]
            mean = np.concatenate([mean, np.asarray(noise).reshape(len(x), self.extra)], axis=1)
        return mean, np.broadcast_to(2 * np.log(self.sigma), mean.shape).copy()

    def sample(self, observations, seed):
        mean, logvar = self.encode(observations)
        eps = np.random.RandomState(seed).normal(size=mean.shape)
        return mean + np.exp(0.5 * logvar) * eps


def noisy_binary_codes():
    """`(codes, factors, h_b)`: a binary factor a seen through a channel flipping exactly 10%.

    100 points; factor a balanced; code 0 equals a except on 5 points of each class, so
    I(code 0; a) = ln2 - h_b with h_b = H_b(0.1); factor b and code 1 = b are balanced within
    every (a, code 0) cell, so they share no information with a or code 0.
    """
    a = np.repeat([0, 1], 50)
    code = a.copy()
    code[:5], code[50:55] = 1, 0
    b = np.tile([0, 1], 50)
    h_b = -(0.1 * np.log(0.1) + 0.9 * np.log(0.9))
    return np.vstack([code, b]).astype(float), np.vstack([a, b]), h_b
