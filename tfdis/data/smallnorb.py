"""SmallNORB from dlib's `small_norb/*.mat` files or a locally prepared tfds copy, 64x64x1.

Factors: 0 category (5), 1 elevation (9), 2 azimuth (18), 3 lighting (6). The instance (10 per
category) is a nuisance: an observation for given factors is drawn uniformly among the images
with those factors (dlib's definition). Both tfds splits are used (48,600 images); only the
first camera (`image`) is kept, as in dlib.

The files are read first: `<data dir>/small_norb/smallnorb-5x46789x9x18x6x2x96x96-training-
{dat,cat,info}.mat` and the `5x01235 ... testing` ones (dlib's layout, written by
`tfdis_download_data --dataset=smallnorb`), in the NORB binary matrix format: int32 magic
(0x1E3D4C55 uint8, 0x1E3D4C54 int32), int32 rank, max(3, rank) int32 dimensions, then the data,
little-endian. `info` columns are instance, elevation, azimuth (0, 2, ..., 34: stored halved, as
tfds does) and lighting. Training rows come first, then testing (tfds' "train+test" order).
"""

from __future__ import annotations

import os

import numpy as np

from tfdis.data._grouped import GroupedRows
from tfdis.data._resize import resize_images, to_uint8
from tfdis.data._tfds import how_to_get_tfds, load_tfds_arrays
from tfdis.data.ground_truth_data import GroundTruthData
from tfdis.data.paths import data_path

TFDS_NAME = "smallnorb"
FACTOR_NAMES = ("category", "elevation", "azimuth", "lighting")
FACTOR_SIZES = (5, 9, 18, 6)
_TFDS_LABELS = ("label_category", "label_elevation", "label_azimuth", "label_lighting")
IMAGE_SIZE = 64
NORB_DIR = "small_norb"
_NORB_SPLITS = (("46789", "training"), ("01235", "testing"))
_MAGIC = {0x1E3D4C55: np.uint8, 0x1E3D4C54: np.int32}


def norb_file_name(ids: str, split: str, kind: str) -> str:
    """`smallnorb-5x<ids>x9x18x6x2x96x96-<split>-<kind>.mat`."""
    return f"smallnorb-5x{ids}x9x18x6x2x96x96-{split}-{kind}.mat"


def read_norb_matrix(path: str) -> np.ndarray:
    """One NORB binary matrix file (module docstring) as a numpy array."""
    with open(path, "rb") as handle:
        magic, rank = np.frombuffer(handle.read(8), "<i4")
        if int(magic) not in _MAGIC or not 1 <= rank <= 8:
            raise ValueError(f"{path}: not a NORB uint8/int32 matrix (magic {int(magic):#x})")
        dims = np.frombuffer(handle.read(4 * max(3, int(rank))), "<i4")[: int(rank)]
        dtype = np.dtype(_MAGIC[int(magic)]).newbyteorder("<")
        data = np.frombuffer(handle.read(), dtype)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: holds {data.size} values, its header says {dims.tolist()}")
    return data.reshape(dims).astype(dtype.newbyteorder("="))


def norb_files_present(folder: str) -> bool:
    """Whether all six SmallNORB `.mat` files are in `folder`."""
    return all(
        os.path.isfile(os.path.join(folder, norb_file_name(ids, split, kind)))
        for ids, split in _NORB_SPLITS
        for kind in ("dat", "cat", "info")
    )


def load_norb_files(folder: str) -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 `(N, 64, 64, 1)` (first camera, resized) and factors `(N, 4)`."""
    images, factors = [], []
    for ids, split in _NORB_SPLITS:
        path = os.path.join(folder, norb_file_name(ids, split, "{}"))
        dat = read_norb_matrix(path.format("dat"))
        category = read_norb_matrix(path.format("cat")).reshape(-1)
        info = read_norb_matrix(path.format("info"))
        if dat.ndim != 4 or info.shape != (dat.shape[0], 4) or category.size != dat.shape[0]:
            raise ValueError(f"{folder}: {split} files disagree: {dat.shape}, {info.shape}")
        images.append(to_uint8(resize_images(dat[:, 0, :, :, None], IMAGE_SIZE)))
        factors.append(np.stack([category, info[:, 1], info[:, 2] // 2, info[:, 3]], axis=1))
    return np.concatenate(images), np.concatenate(factors).astype(np.int64)


class SmallNORB(GroundTruthData):
    """SmallNORB: images `(num, 64, 64, 1)` float32 in [0, 1].

    Args:
        split: tfds split expression (default both splits; the files always give both).
        tfds_data_dir: where tfds `smallnorb` is looked for.
        norb_dir: the folder of the `.mat` files; default `<data dir>/small_norb`.

    Raises:
        DatasetNotFoundError: neither the files nor tfds `smallnorb` are there.
    """

    def __init__(
        self,
        split: str = "train+test",
        tfds_data_dir: str | None = None,
        norb_dir: str | None = None,
    ):
        norb_dir = norb_dir or data_path(NORB_DIR)
        if norb_files_present(norb_dir):
            self._images, row_factors = load_norb_files(norb_dir)
            self._rows = GroupedRows(FACTOR_SIZES, row_factors)
            return
        arrays = load_tfds_arrays(
            TFDS_NAME,
            split,
            ("image", *_TFDS_LABELS),
            data_dir=tfds_data_dir,
            transforms={"image": lambda x: to_uint8(resize_images(x, IMAGE_SIZE))},
            missing_message=(
                f"SmallNORB not found: the six smallnorb-*.mat files are not in {norb_dir} (run "
                "`tfdis_download_data --dataset=smallnorb` on a machine with network; set "
                "$TFDIS_DATA to choose the data dir), and "
                + how_to_get_tfds(TFDS_NAME, tfds_data_dir)
            ),
        )
        # Stored as uint8: 200 MB for the whole set instead of 800 MB.
        self._images = arrays["image"]
        self._rows = GroupedRows(
            FACTOR_SIZES, np.stack([arrays[key] for key in _TFDS_LABELS], axis=1)
        )

    @property
    def num_factors(self) -> int:
        return len(FACTOR_SIZES)

    @property
    def factors_num_values(self) -> list[int]:
        return list(FACTOR_SIZES)

    @property
    def dataset_size(self) -> int:
        """The number of images, all instances."""
        return self._rows.num_rows

    @property
    def observation_shape(self) -> list[int]:
        return [IMAGE_SIZE, IMAGE_SIZE, 1]

    @property
    def num_indexed_observations(self) -> int | None:
        """The number of images when every factor combination has as many instances, else None.

        Uniform factors and a uniform instance within a combination then make every image
        equally likely, so a uniform row index samples the training distribution.
        """
        return self._rows.num_rows if self._rows.equal_groups else None

    def observations_by_index(self, indices: np.ndarray) -> np.ndarray:
        """Images `(num, 64, 64, 1)` float32 in [0, 1] for row indices `(num,)`."""
        return self._images[self._checked_indices(indices)].astype(np.float32) / np.float32(255.0)

    def sample_factors(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        """Uniform factor indices, int64 `(num, 4)`."""
        return self._rows.grid.sample_factors(num, random_state)

    def sample_observations_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """Images `(num, 64, 64, 1)` float32 in [0, 1]; the instance is drawn uniformly.

        Raises:
            ValueError: no image has some requested factors (only with partial data).
        """
        rows = self.observation_indices_from_factors(factors, random_state)
        return self._images[rows].astype(np.float32) / np.float32(255.0)

    def observation_indices_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """Row indices `(num,)` for factors `(num, 4)`; the instance is drawn uniformly."""
        return self._rows.sample_rows(factors, random_state)
