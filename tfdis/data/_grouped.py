"""Sampling stored observations by their ground-truth factors (SPEC section 3).

Stored datasets list observations (rows) with their factor indices. Several rows can share the
same latent factors (SmallNORB's instances, MNIST's images of a class); a request for those
factors then draws one of them uniformly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tfdis.data.ground_truth_data import FactorGrid


class GroupedRows:
    """Rows grouped by their latent factor combination.

    Args:
        factor_sizes: sizes of the latent factors.
        row_factors: int array `(num_rows, num_factors)`, the latent factors of each row.
    """

    def __init__(self, factor_sizes: Sequence[int], row_factors: np.ndarray):
        self.grid = FactorGrid(factor_sizes)
        keys = self.grid.features_to_index(row_factors)
        self._order = np.argsort(keys, kind="stable")
        self._counts = np.bincount(keys, minlength=self.grid.num_states)
        self._starts = np.cumsum(self._counts) - self._counts
        # With one row per combination no random number is drawn (dlib's dSprites draws none).
        self._single = bool(self._counts.max() <= 1)

    @property
    def num_rows(self) -> int:
        """Number of rows (images) grouped."""
        return int(self._order.size)

    @property
    def complete(self) -> bool:
        """Whether every factor combination has at least one row."""
        return bool(self._counts.min() > 0)

    @property
    def equal_groups(self) -> bool:
        """Whether every factor combination has the same, positive number of rows.

        Then uniform factors with a uniform row within the group draw every row with the same
        probability: a uniform row index has the sampling distribution.
        """
        return bool(self._counts.min() > 0 and self._counts.min() == self._counts.max())

    def counts(self, factors: np.ndarray) -> np.ndarray:
        """Number of rows `(num,)` with each of the factor combinations `(num, F)`."""
        return self._counts[self.grid.features_to_index(factors)]

    def sample_rows(self, factors: np.ndarray, random_state: np.random.RandomState) -> np.ndarray:
        """One row index `(num,)` per factor combination `(num, F)`, uniform within its group.

        Raises:
            ValueError: some requested combination has no row.
        """
        keys = self.grid.features_to_index(factors)
        counts = self._counts[keys]
        if np.any(counts == 0):
            missing = np.asarray(factors)[counts == 0][:5].tolist()
            raise ValueError(
                f"no observation has factors {missing} (the dataset holds "
                f"{int((self._counts > 0).sum())} of {self.grid.num_states} combinations)"
            )
        offsets = np.zeros(len(keys), dtype=np.int64)
        if not self._single:
            offsets = np.floor(random_state.random_sample(len(keys)) * counts).astype(np.int64)
        return self._order[self._starts[keys] + offsets]
