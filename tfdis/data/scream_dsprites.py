"""Scream dSprites (dlib's `ScreamDSprites`; one of its seven study datasets; SPEC section 10).

Each observation is a 64x64 patch of the image `scream.jpg` at a random position, its colour
shifted by a uniform random RGB colour and halved, `(patch + U(0, 1)^3) / 2`, with the sprite drawn
by inverting the patch where the sprite is (`1 - background`). Factors are dSprites': 0 shape (3),
1 scale (6), 2 orientation (40), 3 posX (32), 4 posY (32); observations are float32
`(num, 64, 64, 3)` in [0, 1].

The sprites come from the official dSprites npz when it is present (`dsprites_full`) and from
`dsprites_procedural` otherwise, so only the one image file is needed. The image is read from
`<data dir>/scream/scream.jpg` (dlib's layout) or from `scream_dsprites.image_path` (gin), which may
be any image; it is shrunk as dlib's Pillow did in `scream.thumbnail((350, 274, 3))` (today's
Pillow refuses the 3-tuple): to fit a 350 x 274 box, aspect kept, sides truncated, a reduced JPEG
decode then a bicubic resize. It must be at least 65 x 65 pixels afterwards. Pixel values of the
thumbnail can differ from dlib's by Pillow's resampling changes between versions.

Randomness follows dlib's order: the nuisance factors and the sprite, then per observation the
crop row `randint(0, H - 64)`, the crop column `randint(0, W - 64)` and the colour
`uniform(0, 1, 3)`. As in dlib the last row and column offsets are never drawn (`randint`
excludes its upper bound). A fresh crop and colour per draw make an observation no function of
its factors' index, so the dataset is not enumerable (no device-resident table, no exact MIG).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import gin
import numpy as np

from tfdis.data.ground_truth_data import GroundTruthData
from tfdis.data.paths import DatasetNotFoundError, data_path

IMAGE_NAME = os.path.join("scream", "scream.jpg")
THUMBNAIL_BOX = (350, 274)  # (width, height), dlib's `scream.thumbnail((350, 274, 3))`
PATCH = 64
# Where dlib's download script takes the image from.
SCREAM_URL = "https://upload.wikimedia.org/wikipedia/commons/f/f4/The_Scream.jpg"


def default_image_path() -> str:
    """Where the scream image is looked for: `<data dir>/scream/scream.jpg`."""
    return data_path(IMAGE_NAME)


def thumbnail_size(width: int, height: int, box: Sequence[int] = THUMBNAIL_BOX) -> tuple[int, int]:
    """The `(width, height)` Pillow's `thumbnail(box)` shrinks an image to (as in dlib's Pillow).

    The image is scaled down (never up) to fit the box, keeping its aspect ratio, each side
    truncated to an integer and at least 1.
    """
    if width > box[0]:
        height = max(int(height * box[0] / width), 1)
        width = int(box[0])
    if height > box[1]:
        width = max(int(width * box[1] / height), 1)
        height = int(box[1])
    return width, height


def load_background(path: str) -> np.ndarray:
    """The background image as dlib prepares it: RGB float64 `(H, W, 3)` in [0, 1].

    Raises:
        ValueError: the image is smaller than 65 x 65 after the thumbnail.
    """
    from PIL import Image

    with Image.open(path) as image:
        size = thumbnail_size(*image.size)
        if size != image.size:
            # What Pillow's thumbnail did for dlib: a reduced JPEG decode (`draft`, at least
            # `size`), then a bicubic resize.
            image.draft(None, size)
            image = image.convert("RGB").resize(size, Image.Resampling.BICUBIC)
        array = np.asarray(image.convert("RGB"), dtype=np.float64) / 255.0
    if array.shape[0] <= PATCH or array.shape[1] <= PATCH:
        raise ValueError(
            f"{path}: the background image is {array.shape[1]} x {array.shape[0]} pixels after "
            f"the thumbnail to {THUMBNAIL_BOX}; scream dSprites needs at least "
            f"{PATCH + 1} x {PATCH + 1}"
        )
    return array


def _sprite_source(latent_factor_indices: Sequence[int] | None) -> GroundTruthData:
    """dSprites from the official npz when present, else the procedural renderer."""
    from tfdis.data import dsprites

    if os.path.isfile(dsprites.default_npz_path()):
        return dsprites.DSprites(latent_factor_indices)
    from tfdis.data.dsprites_procedural import DSpritesProcedural

    return DSpritesProcedural(latent_factor_indices)


@gin.configurable("scream_dsprites")
class ScreamDSprites(GroundTruthData):
    """dSprites on random patches of a painting (module docstring), `(num, 64, 64, 3)`.

    Args:
        latent_factor_indices: which dSprites factors are ground truth (default all five).
        image_path: the background image; default `<data dir>/scream/scream.jpg`.
        sprites: the binary dSprites source (default: `dsprites_full` when its npz is present,
            else `dsprites_procedural`); any dataset with dSprites' factors and 64x64x1 binary
            observations.

    Raises:
        DatasetNotFoundError: the background image is missing.
    """

    def __init__(
        self,
        latent_factor_indices: Sequence[int] | None = None,
        image_path: str | None = None,
        sprites: GroundTruthData | None = None,
    ):
        image_path = image_path or default_image_path()
        if not os.path.isfile(image_path):
            raise DatasetNotFoundError(
                f"scream_dsprites needs the image {image_path}. To get it: run "
                "`tfdis_download_data --dataset=scream_dsprites` on a machine with network (or "
                f"save {SCREAM_URL} as {image_path}; set $TFDIS_DATA to choose the data dir), or "
                "point scream_dsprites.image_path at any image of at least 65 x 65 pixels."
            )
        self.image_path = image_path
        self.background = load_background(image_path)
        self.sprites = sprites if sprites is not None else _sprite_source(latent_factor_indices)

    @property
    def factor_names(self) -> list[str]:
        """dSprites' names of the exposed factors."""
        from tfdis.data.dsprites import FACTOR_NAMES

        indices = getattr(self.sprites, "latent_factor_indices", range(len(FACTOR_NAMES)))
        return [FACTOR_NAMES[i] for i in indices]

    @property
    def num_factors(self) -> int:
        return self.sprites.num_factors

    @property
    def factors_num_values(self) -> list[int]:
        return self.sprites.factors_num_values

    @property
    def dataset_size(self) -> int:
        return self.sprites.dataset_size

    @property
    def observation_shape(self) -> list[int]:
        return [PATCH, PATCH, 3]

    def sample_factors(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        """Uniform latent factor indices, int64 `(num, num_factors)`."""
        return self.sprites.sample_factors(num, random_state)

    def sample_observations_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """Images `(num, 64, 64, 3)` float32 in [0, 1] for latent factors `(num, num_factors)`."""
        masks = self.sprites.sample_observations_from_factors(factors, random_state)[..., 0] == 1
        num = masks.shape[0]
        rows = np.empty(num, np.int64)
        cols = np.empty(num, np.int64)
        colours = np.empty((num, 3))
        height, width = self.background.shape[:2]
        for i in range(num):  # dlib's draw order, one observation at a time
            rows[i] = random_state.randint(0, height - PATCH)
            cols[i] = random_state.randint(0, width - PATCH)
            colours[i] = random_state.uniform(0, 1, size=3)
        return compose(self.background, masks, rows, cols, colours)


def compose(
    background: np.ndarray,
    masks: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    colours: np.ndarray,
) -> np.ndarray:
    """Scream dSprites observations from their parts, vectorised.

    Args:
        background: the image, float `(H, W, 3)` in [0, 1].
        masks: bool `(num, 64, 64)`, where the sprites are.
        rows, cols: int `(num,)`, the top-left corner of each patch.
        colours: float `(num, 3)`, each patch's colour shift in [0, 1].

    Returns:
        float32 `(num, 64, 64, 3)`: `(patch + colour) / 2`, inverted (`1 - x`) under the sprite.
    """
    offsets = np.arange(PATCH)
    patches = background[
        rows[:, None, None] + offsets[None, :, None], cols[:, None, None] + offsets[None, None, :]
    ]
    shifted = (patches + colours[:, None, None, :]) / 2.0
    return np.where(masks[..., None], 1.0 - shifted, shifted).astype(np.float32)
