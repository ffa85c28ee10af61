"""The ground-truth data interface (SPEC section 1) and factor-grid helpers.

A `GroundTruthData` exposes the factors of variation that generated each observation, so metrics
can sample observations with chosen factors. It has five members that matter: `num_factors`,
`factors_num_values`, `observation_shape`, `sample_factors` and
`sample_observations_from_factors`; `sample` and `sample_observations` derive from them.
Observations are float32 arrays in [0, 1], NHWC.

Optionally a dataset is enumerable: `num_indexed_observations` (None by default) and
`observations_by_index` list its observations so that a uniform index is a sample of the training
distribution; `tfdis.data.device_resident` keeps such a dataset in memory as one table.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence

import numpy as np


class GroundTruthData(abc.ABC):
    """Abstract dataset whose observations come with discrete ground-truth factors."""

    # The registry name it was loaded under (set by `get_named_ground_truth_data`).
    name: str | None = None

    @property
    @abc.abstractmethod
    def num_factors(self) -> int:
        """Number of ground-truth factors of variation."""

    @property
    @abc.abstractmethod
    def factors_num_values(self) -> list[int]:
        """Number of distinct values of each factor, length `num_factors`."""

    @property
    @abc.abstractmethod
    def observation_shape(self) -> list[int]:
        """Shape `[H, W, C]` of one observation."""

    @abc.abstractmethod
    def sample_factors(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        """Samples a batch of factor indices.

        Returns:
            int array of shape `(num, num_factors)`.
        """

    @abc.abstractmethod
    def sample_observations_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """Returns observations for factor indices of shape `(num, num_factors)`.

        Returns:
            float32 array of shape `(num, H, W, C)` in [0, 1].
        """

    def sample(
        self, num: int, random_state: np.random.RandomState
    ) -> tuple[np.ndarray, np.ndarray]:
        """Samples `(factors, observations)` of shapes `(num, F)` and `(num, H, W, C)`."""
        factors = self.sample_factors(num, random_state)
        return factors, self.sample_observations_from_factors(factors, random_state)

    def sample_observations(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        """Samples `num` observations, shape `(num, H, W, C)`."""
        return self.sample(num, random_state)[1]

    @property
    def num_observations(self) -> int:
        """Size of the full factor grid (the product of `factors_num_values`)."""
        return int(np.prod(self.factors_num_values, dtype=np.int64))

    @property
    def dataset_size(self) -> int:
        """N, the number of distinct observations (the dataset size of beta-TCVAE's estimators).

        The factor grid's size by default; datasets with several images per factor combination
        or with nuisance factors override it with their image count.
        """
        return self.num_observations

    @property
    def supports_interventions(self) -> bool:
        """Whether `sample_observations_from_factors` serves any factor values (True by default).

        False for a labelled sample that is not a full grid (`tfdis.data.npz_data`): metrics that
        choose factor values themselves (beta-VAE, FactorVAE, exact MIG) refuse such data.
        """
        return True

    # --- optional enumeration (device-resident training data) ----------------------------------

    @property
    def num_indexed_observations(self) -> int | None:
        """Number of indexed observations, or None (the default) if the dataset is not enumerable.

        When not None, `observations_by_index(i)` for an index `i` drawn uniformly from
        `[0, num_indexed_observations)` has exactly the distribution of one observation of
        `sample_observations`: a table of all indexed observations read at uniform indices is the
        training distribution. Datasets whose observations are not a function of an index (fresh
        noise or colour per draw) or whose sampling is not uniform over their stored images keep
        None.
        """
        return None

    def observations_by_index(self, indices: np.ndarray) -> np.ndarray:
        """The observations with flat indices `indices`, shape `(num,)`.

        Returns:
            float32 array `(num, H, W, C)`.

        Raises:
            NotImplementedError: the dataset is not enumerable (`num_indexed_observations` is None).
            ValueError: an index is outside `[0, num_indexed_observations)`.
        """
        raise NotImplementedError(
            f"{type(self).__name__} is not enumerable (num_indexed_observations is None)"
        )

    def observation_indices_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """The indices `(num,)` of the observations `sample_observations_from_factors` returns.

        Optional. A dataset whose observation is a function of its index implements it so that
        it draws from `random_state` exactly what `sample_observations_from_factors` draws, and
        `observations_by_index` of the result equals `sample_observations_from_factors` for the
        same `factors` and random state. Evaluation then encodes every indexed observation once
        and looks codes up by index (`tfdis.evaluation.code_table`), with the same random draws.

        Raises:
            NotImplementedError: the dataset's observations are no function of an index.
        """
        raise NotImplementedError(
            f"{type(self).__name__} does not index its observations by factors"
        )

    def _checked_indices(self, indices: np.ndarray) -> np.ndarray:
        """`indices` as int64 `(num,)`, checked against `[0, num_indexed_observations)`."""
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        size = self.num_indexed_observations
        if size is None:
            raise NotImplementedError(
                f"{type(self).__name__} is not enumerable (num_indexed_observations is None)"
            )
        if indices.size and (indices.min() < 0 or indices.max() >= size):
            raise ValueError(f"observation indices must lie in [0, {size}), got {indices}")
        return indices


def require_interventions(data: GroundTruthData, metric: str) -> None:
    """Raises a one-line ValueError if `metric` cannot run on `data` (no interventions).

    Args:
        data: the dataset.
        metric: the metric's gin name, for the message.
    """
    if not data.supports_interventions:
        raise ValueError(
            f"{metric} needs interventions (observations for factor values it chooses) but "
            f"dataset {getattr(data, 'name', None) or type(data).__name__!r} is a labelled "
            "sample, not a full factor grid; use a metric that needs only (factor, code) samples "
            "(mig, sap_score, dci, modularity_explicitness, irs, downstream_task, unsupervised) "
            "or store the images on the full grid with 'factor_sizes'"
        )


class FactorGrid:
    """Maps factor index vectors to flat grid indices and back.

    The flat index is `factors . bases` with the last factor fastest, as in the dSprites
    metadata (posY fastest).

    Args:
        factor_sizes: number of values of each factor.
    """

    def __init__(self, factor_sizes: Sequence[int]):
        self.factor_sizes = np.asarray(factor_sizes, dtype=np.int64)
        self.num_states = int(np.prod(self.factor_sizes))
        # bases[i] = prod(factor_sizes[i+1:]).
        self.bases = np.concatenate([np.cumprod(self.factor_sizes[::-1])[::-1][1:], [1]]).astype(
            np.int64
        )

    def features_to_index(self, factors: np.ndarray) -> np.ndarray:
        """Flat indices of shape `(num,)` for factor indices of shape `(num, F)`."""
        factors = np.asarray(factors, dtype=np.int64)
        if factors.ndim != 2 or factors.shape[1] != len(self.factor_sizes):
            raise ValueError(
                f"factors must have shape (num, {len(self.factor_sizes)}), got {factors.shape}"
            )
        if np.any(factors < 0) or np.any(factors >= self.factor_sizes):
            raise ValueError(
                f"factor index out of range for factor sizes {list(self.factor_sizes)}"
            )
        return factors @ self.bases

    def index_to_features(self, index: np.ndarray) -> np.ndarray:
        """Factor indices of shape `(num, F)` for flat indices of shape `(num,)`."""
        index = np.asarray(index, dtype=np.int64)
        return (index[:, None] // self.bases[None, :]) % self.factor_sizes[None, :]

    def sample_factors(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        """Uniform factor indices of shape `(num, F)`, one factor at a time (dlib's order)."""
        return np.stack(
            [random_state.randint(size, size=num) for size in self.factor_sizes], axis=1
        ).astype(np.int64)


class SplitDiscreteStateSpace:
    """Splits factors into latent ones (exposed) and nuisance ones (resampled uniformly).

    Args:
        factor_sizes: sizes of all factors of the underlying data.
        latent_factor_indices: which factors are exposed as ground truth.
    """

    def __init__(self, factor_sizes: Sequence[int], latent_factor_indices: Sequence[int]):
        self.factor_sizes = list(factor_sizes)
        self.latent_factor_indices = list(latent_factor_indices)
        self.observation_factor_indices = [
            i for i in range(len(self.factor_sizes)) if i not in self.latent_factor_indices
        ]

    @property
    def num_latent_factors(self) -> int:
        return len(self.latent_factor_indices)

    def sample_latent_factors(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        """Samples latent factor indices of shape `(num, num_latent_factors)`."""
        return np.stack(
            [
                random_state.randint(self.factor_sizes[i], size=num)
                for i in self.latent_factor_indices
            ],
            axis=1,
        ).astype(np.int64)

    def sample_all_factors(
        self, latent_factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """Completes latent factors with uniformly drawn nuisance factors, `(num, F_all)`."""
        num = latent_factors.shape[0]
        all_factors = np.zeros((num, len(self.factor_sizes)), dtype=np.int64)
        all_factors[:, self.latent_factor_indices] = latent_factors
        for i in self.observation_factor_indices:
            all_factors[:, i] = random_state.randint(self.factor_sizes[i], size=num)
        return all_factors
