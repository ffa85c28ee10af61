"""Cars3D (Reed et al., 2015) from dlib's `cars/*.mat` files, resized to 64x64x3 (SPEC section 3).

Factors: 0 elevation (4), 1 azimuth (24), 2 object (183, one per file). Each file's `im` array
holds one car as `(128, 128, 3, 24, 4)` uint8: height, width, channel, azimuth, elevation (dlib
reads it with `einsum("abcde->deabc")` and assigns azimuth to the first view axis). Files are
taken in sorted name order so the object index is reproducible.
"""

from __future__ import annotations

import glob
import os

import numpy as np

from tfdis.data._resize import resize_images, to_uint8
from tfdis.data.ground_truth_data import FactorGrid, GroundTruthData
from tfdis.data.paths import DatasetNotFoundError, data_path

NUM_ELEVATIONS = 4
NUM_AZIMUTHS = 24
NUM_OBJECTS = 183
IMAGE_SIZE = 64


def default_cars_dir() -> str:
    """Where the `.mat` files are looked for: `<data dir>/cars`."""
    return data_path("cars")


def load_car(path: str) -> np.ndarray:
    """One car's views, uint8 `(4, 24, 64, 64, 3)` indexed by (elevation, azimuth)."""
    import scipy.io

    views = np.asarray(scipy.io.loadmat(path)["im"])
    if views.ndim != 5 or views.shape[2:] != (3, NUM_AZIMUTHS, NUM_ELEVATIONS):
        raise ValueError(
            f"{path}: 'im' must have shape (H, W, 3, {NUM_AZIMUTHS}, {NUM_ELEVATIONS}), "
            f"got {views.shape}"
        )
    # (H, W, C, azimuth, elevation) -> (elevation, azimuth, H, W, C).
    views = np.transpose(views, (4, 3, 0, 1, 2))
    flat = views.reshape(-1, *views.shape[2:])
    resized = to_uint8(resize_images(flat, IMAGE_SIZE))
    return resized.reshape(NUM_ELEVATIONS, NUM_AZIMUTHS, IMAGE_SIZE, IMAGE_SIZE, 3)


class Cars3D(GroundTruthData):
    """Cars3D: images `(num, 64, 64, 3)` float32 in [0, 1].

    Args:
        cars_dir: folder of the `.mat` files; default `<data dir>/cars`. The number of objects
            is the number of files found (183 in the official set).

    Raises:
        DatasetNotFoundError: no `.mat` file in `cars_dir`.
    """

    def __init__(self, cars_dir: str | None = None):
        cars_dir = cars_dir or default_cars_dir()
        files = sorted(glob.glob(os.path.join(cars_dir, "*.mat")))
        if not files:
            raise DatasetNotFoundError(
                f"Cars3D not found: no .mat file in {cars_dir} (tfds has no cars3d). To get "
                "it: download nips2015-analogy-data.tar.gz from http://www.scottreed.info (the "
                "'Deep Visual Analogy-Making' data; dlib's dlib_download_data script fetches "
                f"it) and extract its data/cars/*.mat into {cars_dir} (set $TFDIS_DATA to "
                "choose the data dir)."
            )
        # (elevation, azimuth, object, 64, 64, 3): flat index = factors . bases.
        cars = np.stack([load_car(path) for path in files], axis=2)
        self.factor_sizes = [NUM_ELEVATIONS, NUM_AZIMUTHS, len(files)]
        self.grid = FactorGrid(self.factor_sizes)
        self._images = cars.reshape(-1, IMAGE_SIZE, IMAGE_SIZE, 3)

    @property
    def num_factors(self) -> int:
        return 3

    @property
    def factors_num_values(self) -> list[int]:
        return list(self.factor_sizes)

    @property
    def observation_shape(self) -> list[int]:
        return [IMAGE_SIZE, IMAGE_SIZE, 3]

    @property
    def num_indexed_observations(self) -> int:
        """The grid size: one image per factor combination, so a uniform flat index samples it."""
        return self.grid.num_states

    def observations_by_index(self, indices: np.ndarray) -> np.ndarray:
        """Images `(num, 64, 64, 3)` float32 in [0, 1] for flat grid indices `(num,)`."""
        return self._images[self._checked_indices(indices)].astype(np.float32) / 255.0

    def sample_factors(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        """Uniform factor indices, int64 `(num, 3)`."""
        return self.grid.sample_factors(num, random_state)

    def sample_observations_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """Images `(num, 64, 64, 3)` float32 in [0, 1] for factors `(num, 3)`."""
        indices = self.observation_indices_from_factors(factors, random_state)
        return self._images[indices].astype(np.float32) / 255.0

    def observation_indices_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """Flat grid indices `(num,)` of factors `(num, 3)` (no random draw)."""
        del random_state
        return self.grid.features_to_index(factors)
