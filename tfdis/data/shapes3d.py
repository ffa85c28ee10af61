"""3D Shapes (Burgess & Kim, 2018) from `3dshapes.h5` or a locally prepared tfds copy (SPEC section 3).

Factors: 0 floor hue (10), 1 wall hue (10), 2 object hue (10), 3 scale (8), 4 shape (4),
5 orientation (15); 480,000 images 64x64x3 in [0, 1].

The file `<data dir>/3dshapes/3dshapes.h5` (the official one, keys `images` `(N, 64, 64, 3)`
uint8 and `labels` `(N, 6)` float factor values) is read first; by default images are read from
it on demand (the whole set is 5.9 GB as uint8). Otherwise tfds `shapes3d` is loaded into memory
if it is prepared locally (never downloaded).
"""

from __future__ import annotations

import os

import numpy as np

from tfdis.data import _tfds
from tfdis.data._grouped import GroupedRows
from tfdis.data.ground_truth_data import GroundTruthData
from tfdis.data.paths import data_path

H5_NAME = os.path.join("3dshapes", "3dshapes.h5")
TFDS_NAME = "shapes3d"
FACTOR_NAMES = ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation")
FACTOR_SIZES = (10, 10, 10, 8, 4, 15)
_TFDS_LABELS = tuple(
    f"label_{name}"
    for name in ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation")
)


def default_h5_path() -> str:
    """Where `3dshapes.h5` is looked for."""
    return data_path(H5_NAME)


def factors_from_values(values: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Factor indices `(N, F)` and sizes from factor values `(N, F)` (rank among distinct values)."""
    values = np.asarray(values)
    indices = np.empty(values.shape, dtype=np.int64)
    sizes = []
    for column in range(values.shape[1]):
        distinct, indices[:, column] = np.unique(values[:, column], return_inverse=True)
        sizes.append(len(distinct))
    return indices, sizes


class Shapes3D(GroundTruthData):
    """3D Shapes: images `(num, 64, 64, 3)` float32 in [0, 1].

    Args:
        h5_path: the official `3dshapes.h5`; default `<data dir>/3dshapes/3dshapes.h5`. Its
            factor grid is read from its labels.
        in_memory: load all h5 images into memory (5.9 GB) instead of reading them on demand.
        tfds_data_dir: where tfds `shapes3d` is looked for when the h5 file is missing.

    Raises:
        DatasetNotFoundError: neither the h5 file nor a prepared tfds copy exists.
    """

    def __init__(
        self,
        h5_path: str | None = None,
        in_memory: bool = False,
        tfds_data_dir: str | None = None,
    ):
        h5_path = h5_path or default_h5_path()
        if os.path.isfile(h5_path):
            import h5py

            self._file = h5py.File(h5_path, "r")
            row_factors, self.factor_sizes = factors_from_values(self._file["labels"][()])
            images = self._file["images"]
            self._images = images[()] if in_memory else images
        else:
            message = (
                f"3D Shapes not found. Looked for {h5_path} and for the tfds dataset "
                f"'{TFDS_NAME}' in {_tfds.tfds_data_dir(tfds_data_dir)}. To get it: download "
                "3dshapes.h5 from https://github.com/deepmind/3d-shapes (Google Cloud Storage "
                f"bucket 3d-shapes) into {os.path.dirname(h5_path)} (set $TFDIS_DATA to choose "
                "the data dir); or " + _tfds.how_to_get_tfds(TFDS_NAME, tfds_data_dir)
            )
            arrays = _tfds.load_tfds_arrays(
                TFDS_NAME,
                "train",
                ("image", *_TFDS_LABELS),
                data_dir=tfds_data_dir,
                missing_message=message,
            )
            self._images = arrays["image"]
            self.factor_sizes = list(FACTOR_SIZES)
            row_factors = np.stack([arrays[key] for key in _TFDS_LABELS], axis=1)
        self._rows = GroupedRows(self.factor_sizes, row_factors)

    @property
    def num_factors(self) -> int:
        return len(self.factor_sizes)

    @property
    def factors_num_values(self) -> list[int]:
        return list(self.factor_sizes)

    @property
    def dataset_size(self) -> int:
        """The number of images, one per factor combination."""
        return self._rows.num_rows

    @property
    def observation_shape(self) -> list[int]:
        return [64, 64, 3]

    @property
    def num_indexed_observations(self) -> int | None:
        """The number of images when every factor combination has as many (the official file:
        one each, a full uniform grid), else None.

        Uniform factors and a uniform row within a combination make every image equally likely.
        """
        return self._rows.num_rows if self._rows.equal_groups else None

    def observations_by_index(self, indices: np.ndarray) -> np.ndarray:
        """Images `(num, 64, 64, 3)` float32 in [0, 1] for row indices `(num,)`."""
        return self._read_rows(self._checked_indices(indices))

    def sample_factors(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        """Uniform factor indices, int64 `(num, 6)`."""
        return self._rows.grid.sample_factors(num, random_state)

    def sample_observations_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """Images `(num, 64, 64, 3)` float32 in [0, 1] for factors `(num, 6)`."""
        return self._read_rows(self.observation_indices_from_factors(factors, random_state))

    def observation_indices_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """Row indices `(num,)` of the images for factors `(num, 6)` (a uniform row per group)."""
        return self._rows.sample_rows(factors, random_state)

    def _read_rows(self, rows: np.ndarray) -> np.ndarray:
        if isinstance(self._images, np.ndarray):
            images = self._images[rows]
        else:
            # h5py reads increasing, distinct indices only.
            unique_rows, inverse = np.unique(rows, return_inverse=True)
            images = self._images[unique_rows][inverse]
        return images.astype(np.float32) / np.float32(255.0)
