"""SmallNORB from a locally prepared tfds copy, resized to 64x64x1 (SPEC section 3).

Factors: 0 category (5), 1 elevation (9), 2 azimuth (18), 3 lighting (6). The instance (10 per
category) is a nuisance: an observation for given factors is drawn uniformly among the images
with those factors (dlib's definition). Both tfds splits are used (48,600 images); only the
first camera (`image`) is kept, as in dlib.
"""

from __future__ import annotations

import numpy as np

from tfdis.data._grouped import GroupedRows
from tfdis.data._resize import resize_images, to_uint8
from tfdis.data._tfds import load_tfds_arrays
from tfdis.data.ground_truth_data import GroundTruthData

TFDS_NAME = "smallnorb"
FACTOR_NAMES = ("category", "elevation", "azimuth", "lighting")
FACTOR_SIZES = (5, 9, 18, 6)
_TFDS_LABELS = ("label_category", "label_elevation", "label_azimuth", "label_lighting")
IMAGE_SIZE = 64


class SmallNORB(GroundTruthData):
    """SmallNORB: images `(num, 64, 64, 1)` float32 in [0, 1].

    Args:
        split: tfds split expression (default both splits).
        tfds_data_dir: where tfds `smallnorb` is looked for.

    Raises:
        DatasetNotFoundError: tfds `smallnorb` is not prepared locally.
    """

    def __init__(self, split: str = "train+test", tfds_data_dir: str | None = None):
        arrays = load_tfds_arrays(
            TFDS_NAME,
            split,
            ("image", *_TFDS_LABELS),
            data_dir=tfds_data_dir,
            transforms={"image": lambda x: to_uint8(resize_images(x, IMAGE_SIZE))},
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
