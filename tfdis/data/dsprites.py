"""dSprites from the official npz (or a locally prepared tfds copy) and dlib's variants (SPEC section 3).

- `DSprites` (dsprites_full): factors shape 3, scale 6, orientation 40, posX 32, posY 32.
- `DSpritesNoShape` (dsprites_noshape): the same images; shape is a nuisance factor.
- `ColorDSprites` (color_dsprites): the sprite is painted in a colour drawn U(0.5, 1) per channel
  for each observation, 64x64x3.
- `NoisyDSprites` (noisy_dsprites): min(x + U(0, 1) noise, 1) per pixel and channel, 64x64x3.

The data is read from `<data dir>/dsprites/dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`
(`tfdis.data.paths.data_dir()`), else from tfds `dsprites` if it is prepared locally (never
downloaded). The 737,280 binary images are kept bit-packed (377 MB instead of 3 GB); the npz is
streamed so the unpacked array never sits in memory whole.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Sequence

import numpy as np

from tfdis.data._grouped import GroupedRows
from tfdis.data._tfds import how_to_get_tfds, load_tfds_arrays, tfds_data_dir
from tfdis.data.ground_truth_data import GroundTruthData, SplitDiscreteStateSpace
from tfdis.data.paths import data_path

NPZ_NAME = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
TFDS_NAME = "dsprites"
FACTOR_NAMES = ("shape", "scale", "orientation", "posX", "posY")
FACTOR_SIZES = (3, 6, 40, 32, 32)
_TFDS_LABELS = (
    "label_shape",
    "label_scale",
    "label_orientation",
    "label_x_position",
    "label_y_position",
)
_ROWS_PER_READ = 16384


def default_npz_path() -> str:
    """Where the official dSprites npz is looked for."""
    return data_path("dsprites", NPZ_NAME)


def _pack(images: np.ndarray) -> np.ndarray:
    """Binary images `(num, 64, 64[, 1])` -> packed uint8 `(num, 64, 8)`."""
    images = np.asarray(images)
    if images.ndim == 4:
        images = images[..., 0]
    return np.packbits(images != 0, axis=-1)


def _read_npz_images_packed(path: str) -> np.ndarray:
    """Streams `imgs` out of the npz, packing bits chunk by chunk, `(num, H, W/8)` uint8."""
    with zipfile.ZipFile(path) as archive, archive.open("imgs.npy") as stream:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(stream)
        else:
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(stream)
        if fortran_order or dtype.hasobject or len(shape) != 3:
            raise ValueError(f"{path}: 'imgs' must be a C-ordered (num, H, W) array, got {shape}")
        row_bytes = int(np.prod(shape[1:])) * dtype.itemsize
        parts = []
        for start in range(0, shape[0], _ROWS_PER_READ):
            rows = min(_ROWS_PER_READ, shape[0] - start)
            buffer = stream.read(rows * row_bytes)
            if len(buffer) != rows * row_bytes:
                raise ValueError(f"{path}: 'imgs' is truncated")
            parts.append(_pack(np.frombuffer(buffer, dtype=dtype).reshape(rows, *shape[1:])))
    return np.concatenate(parts, axis=0)


def _metadata_value(metadata: dict, key: str):
    # The official file was pickled by Python 2: keys are str with latin1, bytes otherwise.
    if key in metadata:
        return metadata[key]
    return metadata[key.encode()]


def load_npz(path: str) -> tuple[np.ndarray, list[int], np.ndarray]:
    """Reads a dSprites npz with the official keys.

    Args:
        path: the npz, with `imgs` `(num, 64, 64)` uint8, `latents_classes` `(num, 6)` and
            `metadata` (a pickled dict with `latents_sizes`, the first being colour, size 1).

    Returns:
        packed images `(num, 64, 8)` uint8, the five factor sizes (colour dropped) and the
        factors of each row `(num, 5)`.
    """
    with np.load(path, allow_pickle=True, encoding="latin1") as data:
        metadata = data["metadata"][()]
        sizes = [int(s) for s in np.asarray(_metadata_value(metadata, "latents_sizes"))]
        classes = np.asarray(data["latents_classes"], dtype=np.int64)
    if len(sizes) != 6 or sizes[0] != 1:
        raise ValueError(
            f"{path}: metadata latents_sizes must be [1 (colour), shape, scale, orientation, "
            f"posX, posY], got {sizes}"
        )
    images = _read_npz_images_packed(path)
    if classes.shape != (images.shape[0], 6):
        raise ValueError(
            f"{path}: latents_classes has shape {classes.shape}, expected ({images.shape[0]}, 6)"
        )
    return images, sizes[1:], classes[:, 1:]


def _missing_message(npz_path: str, tfds_dir: str | None) -> str:
    return (
        f"dSprites not found. Looked for the npz {npz_path} and for the tfds dataset "
        f"'{TFDS_NAME}' in {tfds_data_dir(tfds_dir)}. To get it: download {NPZ_NAME} from the "
        "official repository https://github.com/deepmind/dsprites-dataset into "
        f"{os.path.dirname(npz_path)} (set $TFDIS_DATA to choose the data dir); or "
        + how_to_get_tfds(TFDS_NAME, tfds_dir)
        + " The procedural dataset 'dsprites_procedural' needs no files."
    )


class DSprites(GroundTruthData):
    """dSprites (dsprites_full), binary 64x64x1.

    Factors: 0 shape (3), 1 scale (6), 2 orientation (40), 3 posX (32), 4 posY (32); the grid
    sizes come from the file's metadata.

    Args:
        latent_factor_indices: which of the five factors are ground truth; the others are
            nuisance factors drawn uniformly. Default: all five.
        npz_path: the official npz; default `<data dir>/dsprites/<NPZ_NAME>`.
        tfds_data_dir: where tfds `dsprites` is looked for when the npz is missing.

    Raises:
        DatasetNotFoundError: neither the npz nor a prepared tfds copy exists.
    """

    def __init__(
        self,
        latent_factor_indices: Sequence[int] | None = None,
        npz_path: str | None = None,
        tfds_data_dir: str | None = None,
    ):
        npz_path = npz_path or default_npz_path()
        if os.path.isfile(npz_path):
            self._images, self.full_factor_sizes, row_factors = load_npz(npz_path)
        else:
            arrays = load_tfds_arrays(
                TFDS_NAME,
                "train",
                ("image", *_TFDS_LABELS),
                data_dir=tfds_data_dir,
                transforms={"image": _pack},
                missing_message=_missing_message(npz_path, tfds_data_dir),
            )
            self._images = arrays["image"]
            self.full_factor_sizes = list(FACTOR_SIZES)
            row_factors = np.stack([arrays[key] for key in _TFDS_LABELS], axis=1)
        if latent_factor_indices is None:
            latent_factor_indices = range(len(self.full_factor_sizes))
        self.latent_factor_indices = [int(i) for i in latent_factor_indices]
        if not self.latent_factor_indices or any(
            i < 0 or i >= 5 for i in self.latent_factor_indices
        ):
            raise ValueError(
                f"latent_factor_indices must be a non-empty subset of 0..4, got "
                f"{self.latent_factor_indices}"
            )
        self.state_space = SplitDiscreteStateSpace(
            self.full_factor_sizes, self.latent_factor_indices
        )
        self._rows = GroupedRows(self.full_factor_sizes, row_factors)

    @property
    def num_factors(self) -> int:
        return self.state_space.num_latent_factors

    @property
    def factors_num_values(self) -> list[int]:
        return [self.full_factor_sizes[i] for i in self.latent_factor_indices]

    @property
    def dataset_size(self) -> int:
        """The number of images, nuisance factors included."""
        return self._rows.num_rows

    @property
    def observation_shape(self) -> list[int]:
        return [64, 64, 1]

    @property
    def num_indexed_observations(self) -> int | None:
        """The number of stored images when every factor combination has as many (the official
        file: one each), else None.

        Latent and nuisance factors are uniform and the row within a combination is uniform, so
        with equal groups every stored image is equally likely: a uniform row index samples the
        training distribution. An incomplete or uneven copy is not enumerable.
        """
        return self._rows.num_rows if self._rows.equal_groups else None

    def observations_by_index(self, indices: np.ndarray) -> np.ndarray:
        """Stored images `(num, 64, 64, 1)` float32 in {0, 1} for row indices `(num,)`."""
        rows = self._checked_indices(indices)
        return np.unpackbits(self._images[rows], axis=-1).astype(np.float32)[..., None]

    def sample_factors(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        """Uniform latent factor indices, int64 `(num, num_factors)`."""
        return self.state_space.sample_latent_factors(num, random_state)

    def sample_observations_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """Images `(num, 64, 64, 1)` float32 in {0, 1} for latent factors `(num, num_factors)`."""
        return self._binary_images(factors, random_state)

    def observation_indices_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """Row indices `(num,)` of the images drawn for latent factors `(num, num_factors)`.

        Nuisance factors and the row within a combination are drawn as
        `sample_observations_from_factors` draws them.
        """
        factors = np.asarray(factors)
        if factors.ndim != 2 or factors.shape[1] != self.num_factors:
            raise ValueError(
                f"factors must have shape (num, {self.num_factors}), got {factors.shape}"
            )
        all_factors = self.state_space.sample_all_factors(factors, random_state)
        return self._rows.sample_rows(all_factors, random_state)

    def _binary_images(self, factors: np.ndarray, random_state: np.random.RandomState):
        rows = DSprites.observation_indices_from_factors(self, factors, random_state)
        images = np.unpackbits(self._images[rows], axis=-1)
        return images.astype(np.float32)[..., None]


class DSpritesNoShape(DSprites):
    """dSprites with the shape as a nuisance factor: scale, orientation, posX, posY."""

    def __init__(self, npz_path: str | None = None, tfds_data_dir: str | None = None):
        super().__init__((1, 2, 3, 4), npz_path=npz_path, tfds_data_dir=tfds_data_dir)


class ColorDSprites(DSprites):
    """dSprites whose sprite takes a colour U(0.5, 1) per channel, drawn per observation.

    Observations are float32 `(num, 64, 64, 3)`; the background stays black (dlib's definition).
    """

    @property
    def num_indexed_observations(self) -> None:
        """None: each draw paints fresh a colour, so an observation is no function of an index."""
        return None

    @property
    def observation_shape(self) -> list[int]:
        return [64, 64, 3]

    def sample_observations_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        images = self._binary_images(factors, random_state)
        color = random_state.uniform(0.5, 1.0, [images.shape[0], 1, 1, 3])
        return (images * color).astype(np.float32)


class NoisyDSprites(DSprites):
    """dSprites on uniform noise: min(x + U(0, 1), 1) per pixel and channel, `(num, 64, 64, 3)`."""

    @property
    def num_indexed_observations(self) -> None:
        """None: each draw paints fresh noise, so an observation is no function of an index."""
        return None

    @property
    def observation_shape(self) -> list[int]:
        return [64, 64, 3]

    def sample_observations_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        images = self._binary_images(factors, random_state)
        noise = random_state.uniform(0.0, 1.0, [images.shape[0], 64, 64, 3])
        return np.minimum(images + noise, 1.0).astype(np.float32)
