"""MPI3D (Gondal et al., 2019; the NeurIPS 2019 disentanglement challenge's data; SPEC section 10).

Names, paths and factor order are dlib's (`data/ground_truth/mpi3d.py`):

- `mpi3d_toy`, `mpi3d_realistic`, `mpi3d_real`: `<data dir>/<name>/<name>.npz`, 1,036,800 images
  64x64x3 uint8 under the key `images`; factors 0 object colour (6), 1 object shape (6),
  2 object size (2), 3 camera height (3), 4 background colour (3), 5 horizontal axis (40),
  6 vertical axis (40).
- `mpi3d_complex` (the real-world complex shapes): `<data dir>/mpi3d_complex/
  real3d_complicated_shapes_ordered.npz`, 460,800 images, 4 colours and 4 shapes instead of 6.

The images are stored on the full grid in C order (`images.reshape(6, 6, 2, 3, 3, 40, 40, 64, 64,
3)` indexes them by factor, as the dataset's README says), so the flat index is `factors . bases`
with the vertical axis fastest (`FactorGrid`).

dlib's code gives toy and realistic 4 x 4 colours x shapes: that was the challenge's first
(460,800-image) release. The published files have 6 x 6. The grid is therefore taken from the
file: 1,036,800 images read as 6 x 6, 460,800 as 4 x 4 (any other count is refused);
`mpi3d.factor_sizes` (gin) forces a grid.

The file is 12.7 GB as uint8 (51 GB as float32): it is memory-mapped (`tfdis.data._npz`), never
loaded whole; a batch reads only its rows and turns only them into float32.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import gin
import numpy as np

from tfdis.data._npz import npz_array
from tfdis.data.ground_truth_data import FactorGrid, GroundTruthData
from tfdis.data.paths import DatasetNotFoundError, data_path

MODES = ("mpi3d_toy", "mpi3d_realistic", "mpi3d_real", "mpi3d_complex")
FILE_NAMES = {
    "mpi3d_toy": "mpi3d_toy.npz",
    "mpi3d_realistic": "mpi3d_realistic.npz",
    "mpi3d_real": "mpi3d_real.npz",
    "mpi3d_complex": "real3d_complicated_shapes_ordered.npz",
}
FACTOR_NAMES = (
    "object_color",
    "object_shape",
    "object_size",
    "camera_height",
    "background_color",
    "horizontal_axis",
    "vertical_axis",
)
# The grid without the colour and shape sizes: size 2, height 3, background 3, axes 40 x 40.
_OTHER_SIZES = (2, 3, 3, 40, 40)
# Number of colours (= number of shapes) by image count.
_COLOURS_BY_COUNT = {6 * 6 * 28800: 6, 4 * 4 * 28800: 4}
IMAGE_SHAPE = (64, 64, 3)


def default_npz_path(mode: str) -> str:
    """Where the npz of `mode` is looked for: `<data dir>/<mode>/<file>`."""
    return data_path(mode, FILE_NAMES[mode])


def grid_for_count(num_images: int) -> list[int]:
    """The factor sizes of an MPI3D file with `num_images` images.

    Raises:
        ValueError: the count is neither 1,036,800 (6 x 6) nor 460,800 (4 x 4).
    """
    if num_images not in _COLOURS_BY_COUNT:
        raise ValueError(
            f"an MPI3D file holds 1036800 (6 colours x 6 shapes) or 460800 (4 x 4) images, got "
            f"{num_images}; set mpi3d.factor_sizes for another grid"
        )
    colours = _COLOURS_BY_COUNT[num_images]
    return [colours, colours, *_OTHER_SIZES]


@gin.configurable("mpi3d", denylist=["mode"])
class MPI3D(GroundTruthData):
    """MPI3D: images `(num, 64, 64, 3)` float32 in [0, 1], read from a memory-mapped npz.

    Args:
        mode: one of `MODES`.
        npz_path: the npz; default `<data dir>/<mode>/<file>` (dlib's layout).
        factor_sizes: the seven factor sizes; default from the image count (module docstring).

    Raises:
        DatasetNotFoundError: the npz is missing (the message says how to get it).
        ValueError: the file's `images` are not `(N, 64, 64, 3)` uint8 on the factor grid.
    """

    def __init__(
        self,
        mode: str = "mpi3d_toy",
        npz_path: str | None = None,
        factor_sizes: Sequence[int] | None = None,
    ):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        npz_path = npz_path or default_npz_path(mode)
        if not os.path.isfile(npz_path):
            raise DatasetNotFoundError(
                f"{mode} not found: no file {npz_path} (tfds has no mpi3d). To get it: run "
                f"`tfdis_download_data --dataset={mode}` on a machine with network (or download "
                f"{FILE_NAMES[mode]} from https://github.com/rr-learning/disentanglement_dataset) "
                f"into {os.path.dirname(npz_path)} (set $TFDIS_DATA to choose the data dir)."
            )
        self.npz_path = npz_path
        self._images = npz_array(npz_path, "images")
        if self._images.ndim != 4 or tuple(self._images.shape[1:]) != IMAGE_SHAPE:
            raise ValueError(
                f"{npz_path}: 'images' must have shape (N, 64, 64, 3), got {self._images.shape}"
            )
        if self._images.dtype != np.uint8:
            raise ValueError(f"{npz_path}: 'images' must be uint8, got {self._images.dtype}")
        num_images = int(self._images.shape[0])
        if factor_sizes is None:
            sizes = grid_for_count(num_images)
        else:
            sizes = [int(s) for s in factor_sizes]
            if len(sizes) != 7 or int(np.prod(sizes)) != num_images:
                raise ValueError(
                    f"mpi3d.factor_sizes must be 7 sizes whose product is the image count "
                    f"{num_images}, got {sizes}"
                )
        self.factor_sizes = sizes
        self.grid = FactorGrid(sizes)

    @property
    def num_factors(self) -> int:
        return 7

    @property
    def factors_num_values(self) -> list[int]:
        return list(self.factor_sizes)

    @property
    def observation_shape(self) -> list[int]:
        return list(IMAGE_SHAPE)

    @property
    def num_indexed_observations(self) -> int:
        """The grid size: one image per factor combination, so a uniform flat index samples it.

        The device-resident table is uint8, 12,288 bytes a row: 12.7 GB for the 1,036,800-image
        files (5.7 GB for mpi3d_complex), over the default 1 GiB budget, so training reads batches
        through `tf.data` unless `device_resident.max_bytes` is raised.
        """
        return self.grid.num_states

    def observations_by_index(self, indices: np.ndarray) -> np.ndarray:
        """Images `(num, 64, 64, 3)` float32 in [0, 1] for flat grid indices `(num,)`."""
        return self._read(self._checked_indices(indices))

    def sample_factors(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        """Uniform factor indices, int64 `(num, 7)`."""
        return self.grid.sample_factors(num, random_state)

    def sample_observations_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """Images `(num, 64, 64, 3)` float32 in [0, 1] for factors `(num, 7)`."""
        return self._read(self.observation_indices_from_factors(factors, random_state))

    def observation_indices_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """Flat grid indices `(num,)` of factors `(num, 7)` (no random draw)."""
        del random_state
        return self.grid.features_to_index(factors)

    def _read(self, rows: np.ndarray) -> np.ndarray:
        # Sorted reads touch the map in file order; the inverse restores the request order.
        unique_rows, inverse = np.unique(rows, return_inverse=True)
        images = np.asarray(self._images[unique_rows])[inverse.reshape(-1)]
        return images.astype(np.float32) / np.float32(255.0)


def _named(mode: str):
    def build() -> MPI3D:
        return MPI3D(mode)

    build.__name__ = mode
    return build


mpi3d_toy = _named("mpi3d_toy")
mpi3d_realistic = _named("mpi3d_realistic")
mpi3d_real = _named("mpi3d_real")
mpi3d_complex = _named("mpi3d_complex")
