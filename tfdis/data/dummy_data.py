"""A tiny dataset for tests: the observations are the factors themselves (dlib's dummy_data)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tfdis.data.ground_truth_data import FactorGrid, GroundTruthData


class IdentityObservationsData(GroundTruthData):
    """Observations equal the factor indices, as float32.

    With an identity representation every metric sees perfectly disentangled codes. Unlike dlib
    (whose sizes say 1 while it samples 1..10), the factors here take `num_values` values
    0..num_values-1, and the observations are those indices, not values in [0, 1].

    Args:
        num_factors: number of factors.
        num_values: values per factor.
        observation_shape: `(num_factors,)` or `(num_factors, 1, 1)` (for image-shaped inputs).
    """

    def __init__(
        self,
        num_factors: int = 10,
        num_values: int = 10,
        observation_shape: Sequence[int] | None = None,
    ):
        if num_factors < 1 or num_values < 1:
            raise ValueError(
                f"num_factors and num_values must be positive, got {num_factors}, {num_values}"
            )
        shape = [num_factors] if observation_shape is None else [int(s) for s in observation_shape]
        if int(np.prod(shape)) != num_factors:
            raise ValueError(
                f"observation_shape {shape} must hold exactly num_factors={num_factors} values"
            )
        self._num_factors = num_factors
        self._shape = shape
        self.grid = FactorGrid([num_values] * num_factors)

    @property
    def num_factors(self) -> int:
        return self._num_factors

    @property
    def factors_num_values(self) -> list[int]:
        return [int(s) for s in self.grid.factor_sizes]

    @property
    def observation_shape(self) -> list[int]:
        return list(self._shape)

    @property
    def num_indexed_observations(self) -> int:
        """The grid size, `num_values ** num_factors` (uniform factors: a uniform flat index)."""
        return self.grid.num_states

    def observations_by_index(self, indices: np.ndarray) -> np.ndarray:
        """The factors of flat grid indices `(num,)` as float32 `(num, *observation_shape)`."""
        factors = self.grid.index_to_features(self._checked_indices(indices))
        return factors.astype(np.float32).reshape(len(factors), *self._shape)

    def sample_factors(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        """Uniform factor indices, int64 `(num, num_factors)`."""
        return self.grid.sample_factors(num, random_state)

    def sample_observations_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """The factors as float32, shaped `(num, *observation_shape)`."""
        factors = np.asarray(factors)
        self.grid.features_to_index(factors)  # validates shape and range
        return factors.astype(np.float32).reshape(len(factors), *self._shape)

    def observation_indices_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """Flat grid indices `(num,)` of factors `(num, num_factors)` (no random draw)."""
        del random_state
        return self.grid.features_to_index(factors)
