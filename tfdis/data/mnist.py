"""Class-labelled digit datasets with one factor, class 10, at 32x32x1 (SPEC section 3).

`MNIST` and `FashionMNIST` read a locally prepared tfds copy (never downloaded); `Digits` uses
scikit-learn's bundled 8x8 digits and works offline. Images are resized to 32x32 (bilinear
upsampling) in [0, 1]; an observation for a class is drawn uniformly among that class's images.
"""

from __future__ import annotations

import numpy as np

from tfdis.data._grouped import GroupedRows
from tfdis.data._resize import resize_images, to_uint8
from tfdis.data._tfds import load_tfds_arrays
from tfdis.data.ground_truth_data import GroundTruthData

NUM_CLASSES = 10
IMAGE_SIZE = 32


class _ClassImages(GroundTruthData):
    """Images grouped by class label: one factor, the class (10 values)."""

    def __init__(self, images: np.ndarray, labels: np.ndarray):
        # images: (N, 32, 32, 1) uint8 or float32 in [0, 1]; labels: (N,) in [0, 10).
        self._images = images
        self._scale = np.float32(255.0) if images.dtype == np.uint8 else np.float32(1.0)
        self._rows = GroupedRows([NUM_CLASSES], np.asarray(labels, dtype=np.int64)[:, None])

    @property
    def num_factors(self) -> int:
        return 1

    @property
    def factors_num_values(self) -> list[int]:
        return [NUM_CLASSES]

    @property
    def dataset_size(self) -> int:
        """The number of images, all images of every class."""
        return self._rows.num_rows

    @property
    def observation_shape(self) -> list[int]:
        return [IMAGE_SIZE, IMAGE_SIZE, 1]

    @property
    def num_indexed_observations(self) -> int | None:
        """The number of images if every class has as many, else None.

        A uniform class and a uniform image of it draw images uniformly only when the classes
        are the same size; MNIST's and the digits' classes are not, so they are not enumerable
        (a uniform index would over-draw the large classes).
        """
        return self._rows.num_rows if self._rows.equal_groups else None

    def observations_by_index(self, indices: np.ndarray) -> np.ndarray:
        """Images `(num, 32, 32, 1)` float32 in [0, 1] for row indices `(num,)`."""
        return self._images[self._checked_indices(indices)].astype(np.float32) / self._scale

    def sample_factors(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        """Uniform class indices, int64 `(num, 1)`."""
        return self._rows.grid.sample_factors(num, random_state)

    def sample_observations_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """Images `(num, 32, 32, 1)` float32 in [0, 1], each drawn among its class's images."""
        rows = self._rows.sample_rows(factors, random_state)
        return self._images[rows].astype(np.float32) / self._scale


def _load_tfds_class_images(name: str, split: str, tfds_data_dir: str | None):
    arrays = load_tfds_arrays(
        name,
        split,
        ("image", "label"),
        data_dir=tfds_data_dir,
        transforms={"image": lambda x: to_uint8(resize_images(x, IMAGE_SIZE))},
    )
    return arrays["image"], arrays["label"]


class MNIST(_ClassImages):
    """MNIST digits from tfds `mnist`, 32x32x1.

    Args:
        split: tfds split expression (default "train", 60,000 images).
        tfds_data_dir: where tfds `mnist` is looked for.

    Raises:
        DatasetNotFoundError: tfds `mnist` is not prepared locally.
    """

    tfds_name = "mnist"

    def __init__(self, split: str = "train", tfds_data_dir: str | None = None):
        super().__init__(*_load_tfds_class_images(self.tfds_name, split, tfds_data_dir))


class FashionMNIST(MNIST):
    """Fashion-MNIST from tfds `fashion_mnist`, 32x32x1 (same interface as `MNIST`)."""

    tfds_name = "fashion_mnist"


class Digits(_ClassImages):
    """scikit-learn's 1,797 bundled 8x8 digits (values 0..16), resized to 32x32x1 in [0, 1]."""

    def __init__(self):
        from sklearn.datasets import load_digits

        digits = load_digits()
        images = resize_images(digits.images[..., None], IMAGE_SIZE, input_max=16.0)
        super().__init__(images, digits.target)
