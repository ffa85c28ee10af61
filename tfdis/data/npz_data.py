"""Your own ground-truth data from one `.npz` file (`dataset.name = 'npz'`, `npz_data.path`).

The file holds `images` `[N, H, W, C]` (uint8 in 0..255, or float in [0, 1]; C is 1 or 3) and
either

- `factor_sizes` `[F]`: the images are the full factor grid in C order (the last factor fastest,
  as dSprites and MPI3D store theirs), so `N = prod(factor_sizes)` and image `i` has the factors
  `np.unravel_index(i, factor_sizes)`. Every metric works on it; or
- `factors` `[N, F]`: the non-negative integer factors of each image, any labelled sample (not a
  grid; combinations may repeat or be missing). Factor `k` takes values `0..max_k`. Sampling draws
  images uniformly. Only the metrics that need (factor, code) samples work on it (MIG, SAP, DCI,
  modularity, IRS, downstream, unsupervised); those that need interventions, observations for
  factor values they choose (beta-VAE and FactorVAE scores, exact MIG), refuse it.

An optional `factor_names` `[F]` (strings) names the factors in pictures.

`images` is memory-mapped when stored uncompressed (`np.savez`), else extracted once next to the
file (`tfdis.data._npz`), so a large file is never read whole.
"""

from __future__ import annotations

import os

import gin
import numpy as np

from tfdis.data._npz import npz_array, npz_keys
from tfdis.data.ground_truth_data import FactorGrid, GroundTruthData
from tfdis.data.paths import DatasetNotFoundError

# Checked on this many images spread over the file (all of them when fewer) for the value range.
_RANGE_PROBE = 4096


@gin.configurable("npz_data")
class NpzData(GroundTruthData):
    """A ground-truth dataset read from a user's `.npz` (module docstring for the format).

    Args:
        path: the `.npz` file (gin `npz_data.path`).

    Raises:
        DatasetNotFoundError: `path` is unset or no file.
        ValueError: the file's arrays have the wrong keys, shapes, dtypes or values; the message
            names the array and what is expected.
    """

    def __init__(self, path: str | None = None):
        if not path:
            raise DatasetNotFoundError(
                "dataset 'npz' needs npz_data.path, an .npz with 'images' [N, H, W, C] and "
                "'factor_sizes' [F] (full grid) or 'factors' [N, F] (labelled sample); see the "
                "README section 'Your own ground-truth data'."
            )
        if not os.path.isfile(path):
            raise DatasetNotFoundError(f"npz_data.path: no file {path}")
        self.path = path
        keys = set(npz_keys(path))
        if "images" not in keys:
            raise ValueError(f"{path}: no array 'images' (it holds {sorted(keys)})")
        has_sizes, has_factors = "factor_sizes" in keys, "factors" in keys
        if has_sizes == has_factors:
            raise ValueError(
                f"{path}: needs exactly one of 'factor_sizes' (full grid) or 'factors' "
                f"(labelled sample), it holds {sorted(keys)}"
            )
        self._images = npz_array(path, "images")
        self._check_images()
        num = int(self._images.shape[0])
        with np.load(path) as data:
            if has_sizes:
                sizes = np.asarray(data["factor_sizes"])
                self._check_integer("factor_sizes", sizes, ndim=1)
                if sizes.size == 0 or np.any(sizes < 1):
                    raise ValueError(f"{path}: 'factor_sizes' must be positive, got {sizes}")
                if int(np.prod(sizes.astype(np.float64))) != num:
                    raise ValueError(
                        f"{path}: the grid {sizes.tolist()} has {int(np.prod(sizes))} points "
                        f"but 'images' has {num} images"
                    )
                self.factor_sizes = [int(s) for s in sizes]
                self.is_full_grid = True
                self._grid = FactorGrid(self.factor_sizes)
            else:
                factors = np.asarray(data["factors"])
                self._check_integer("factors", factors, ndim=2)
                if factors.shape[0] != num or factors.shape[1] == 0:
                    raise ValueError(
                        f"{path}: 'factors' must have shape ({num}, F) with F >= 1 to match "
                        f"'images', got {factors.shape}"
                    )
                if np.any(factors < 0):
                    raise ValueError(f"{path}: 'factors' must be non-negative integers")
                self.factor_sizes = [int(m) + 1 for m in factors.max(axis=0)]
                self.is_full_grid = False
                self._factors = factors.astype(np.int64)
                self._init_groups()
            self.factor_names = None
            if "factor_names" in keys:
                names = np.asarray(data["factor_names"])
                if names.shape != (len(self.factor_sizes),) or names.dtype.kind not in "US":
                    raise ValueError(
                        f"{path}: 'factor_names' must be {len(self.factor_sizes)} strings, got "
                        f"{names.dtype} of shape {names.shape}"
                    )
                self.factor_names = [str(name) for name in names]

    # --- validation ----------------------------------------------------------------------------

    def _check_integer(self, key: str, array: np.ndarray, ndim: int) -> None:
        if array.ndim != ndim or not np.issubdtype(array.dtype, np.integer):
            raise ValueError(
                f"{self.path}: '{key}' must be a {ndim}-D integer array, got {array.dtype} "
                f"of shape {array.shape}"
            )

    def _check_images(self) -> None:
        images = self._images
        if images.ndim != 4 or images.shape[0] == 0 or images.shape[3] not in (1, 3):
            raise ValueError(
                f"{self.path}: 'images' must have shape [N, H, W, C] with N >= 1 and C 1 or 3, "
                f"got {images.shape}"
            )
        if images.dtype == np.uint8:
            self._uint8 = True
            return
        if not np.issubdtype(images.dtype, np.floating):
            raise ValueError(
                f"{self.path}: 'images' must be uint8 (0..255) or float (0..1), got {images.dtype}"
            )
        self._uint8 = False
        probe = np.unique(np.linspace(0, len(images) - 1, min(_RANGE_PROBE, len(images))))
        values = np.asarray(images[probe.astype(np.int64)])
        if not np.all(np.isfinite(values)) or values.min() < 0 or values.max() > 1:
            finite = values[np.isfinite(values)]
            found = f"[{finite.min()}, {finite.max()}]" if finite.size else "none finite"
            raise ValueError(
                f"{self.path}: float 'images' must be finite and in [0, 1], found values in "
                f"{found}, non-finite: {int(values.size - finite.size)} (store uint8 for 0..255 "
                "data)"
            )

    # --- labelled sample: rows grouped by factor combination ----------------------------------

    def _init_groups(self) -> None:
        if float(np.prod(np.asarray(self.factor_sizes, np.float64))) >= 2.0**62:
            raise ValueError(
                f"{self.path}: the factor ranges {self.factor_sizes} have too many combinations "
                "to index (2^62 or more); relabel the factors as 0..K-1"
            )
        self._keys_grid = FactorGrid(self.factor_sizes)
        keys = self._factors @ self._keys_grid.bases
        self._order = np.argsort(keys, kind="stable")
        self._sorted_keys = keys[self._order]
        self._group_keys, self._group_starts, self._group_counts = np.unique(
            self._sorted_keys, return_index=True, return_counts=True
        )

    # --- GroundTruthData ------------------------------------------------------------------------

    @property
    def supports_interventions(self) -> bool:
        """Whether observations exist for any factor values a metric chooses (the full grid)."""
        return self.is_full_grid

    @property
    def num_factors(self) -> int:
        return len(self.factor_sizes)

    @property
    def factors_num_values(self) -> list[int]:
        return list(self.factor_sizes)

    @property
    def observation_shape(self) -> list[int]:
        return [int(s) for s in self._images.shape[1:]]

    @property
    def dataset_size(self) -> int:
        """The number of images."""
        return int(self._images.shape[0])

    @property
    def num_indexed_observations(self) -> int:
        """The number of images: sampling draws images uniformly (grid points, or labelled rows)."""
        return int(self._images.shape[0])

    def observations_by_index(self, indices: np.ndarray) -> np.ndarray:
        """Images `(num, H, W, C)` float32 in [0, 1] for row indices `(num,)`."""
        return self._read(self._checked_indices(indices))

    def factors_by_index(self, indices: np.ndarray) -> np.ndarray:
        """The factors `(num, F)` of the images with row indices `(num,)`."""
        indices = self._checked_indices(indices)
        if self.is_full_grid:
            return self._grid.index_to_features(indices)
        return self._factors[indices]

    def sample_factors(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        """Factors `(num, F)`: uniform on the grid, or those of uniformly drawn labelled images."""
        if self.is_full_grid:
            return self._grid.sample_factors(num, random_state)
        return self._factors[random_state.randint(self.dataset_size, size=num)]

    def sample_observations_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """Images `(num, H, W, C)` float32 in [0, 1] for factors `(num, F)`.

        For a labelled sample the image is drawn uniformly among those with exactly these factors.

        Raises:
            ValueError: (labelled sample) no image has some requested factors.
        """
        return self._read(self.observation_indices_from_factors(factors, random_state))

    def observation_indices_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """Row indices `(num,)` of the images for factors `(num, F)` (drawn as the images are).

        Raises:
            ValueError: (labelled sample) no image has some requested factors.
        """
        if self.is_full_grid:
            return self._grid.features_to_index(factors)
        keys = self._keys_grid.features_to_index(factors)
        group = np.searchsorted(self._group_keys, keys)
        group = np.minimum(group, len(self._group_keys) - 1)
        missing = self._group_keys[group] != keys
        if np.any(missing):
            raise ValueError(
                f"{self.path}: no image has the factors {np.asarray(factors)[missing][:3].tolist()}"
                " (a labelled sample holds only the combinations it lists)"
            )
        counts = self._group_counts[group]
        offsets = np.floor(random_state.random_sample(len(keys)) * counts).astype(np.int64)
        return self._order[self._group_starts[group] + offsets]

    def _read(self, rows: np.ndarray) -> np.ndarray:
        unique_rows, inverse = np.unique(rows, return_inverse=True)
        images = np.asarray(self._images[unique_rows])[inverse.reshape(-1)]
        if self._uint8:
            return images.astype(np.float32) / np.float32(255.0)
        return images.astype(np.float32)
