"""dSprites rendered offline: square, ellipse and heart on the exact dSprites grid (SPEC section 3).

The grid is the official one: shape 3 (square, ellipse, heart), scale linspace(0.5, 1, 6),
orientation linspace(0, 2*pi, 40) (both ends included, so the first and last angle draw the same
image), posX and posY linspace(0, 1, 32); 737,280 binary 64x64x1 images; flat index =
factors . bases with posY fastest (`FactorGrid`).

Geometry (pixel units; pixel (row i, column j) covers [j, j+1] x [i, i+1], its centre is sampled):
- One position step moves the sprite by exactly one pixel, as in dSprites, where the latent steps
  were chosen as the smallest that still change the pixels. The sprite centre is at
  `16 + posX_index` horizontally and `16 + posY_index` vertically (row index grows downwards), so
  centres span pixels 16..47 and the support stays in the centre of the image.
- At scale 1 the square has side 20, the ellipse semi-axes 14 x 7 (major axis horizontal at
  orientation 0) and the heart (lobes up at orientation 0) the same area as the square, with every
  point within 14 pixels of the centre. The farthest any sprite reaches is 10*sqrt(2) = 14.14 px
  from its centre, so at least two rows/columns on every side of the image stay empty.
- Orientation turns the sprite counterclockwise as displayed; scale multiplies every size.
- A pixel is on iff its centre lies inside the outline: binary, no antialiasing. Sprite centres
  sit half a pixel off the pixel centres, so axis-aligned edges never fall on a sample.

Because positions are whole-pixel translations, each image is one of 3 x 6 x 40 = 720 stamps of
32 x 32 pixels (shape, scale, orientation), rasterised once at construction (720 KB), placed at an
integer offset. Rendering a batch is one gather and one scatter, vectorised; no image cache.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tfdis.data.ground_truth_data import FactorGrid, GroundTruthData, SplitDiscreteStateSpace

FACTOR_NAMES = ("shape", "scale", "orientation", "posX", "posY")
FACTOR_SIZES = (3, 6, 40, 32, 32)
SHAPE_NAMES = ("square", "ellipse", "heart")
SCALES = np.linspace(0.5, 1.0, 6)
ORIENTATIONS = np.linspace(0.0, 2.0 * np.pi, 40)
POSITIONS = np.linspace(0.0, 1.0, 32)

IMAGE_SIZE = 64
STAMP_SIZE = 32
# Centre of the sprite at position index 0, in pixels from the image's top-left corner.
CENTRE_OFFSET = 16.0
SQUARE_HALF_SIDE = 10.0
ELLIPSE_SEMI_AXES = (14.0, 7.0)
HEART_RADIUS = 14.0

# The heart is the region (x^2 + y^2 - 1)^3 - x^2 y^3 <= 0 (y up). Its bounding box is
# x in [-1.1390, 1.1390], y in [-1, 1.2361]; it is drawn centred on the box centre.
_HEART_BOX_CENTRE_Y = 0.5 * (1.2360680 - 1.0)
# Largest distance from the box centre to a point of the unit heart (measured on a fine grid).
_HEART_UNIT_RADIUS = 1.33663
# Heart-to-pixel scale so every point is within HEART_RADIUS of the centre.
_HEART_SCALE = HEART_RADIUS / _HEART_UNIT_RADIUS


def _inside_canonical(shape: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Whether points `(u, v)` (pixels, y up, sprite frame at scale 1) are inside `shape`."""
    if shape == 0:
        return (np.abs(u) < SQUARE_HALF_SIDE) & (np.abs(v) < SQUARE_HALF_SIDE)
    if shape == 1:
        a, b = ELLIPSE_SEMI_AXES
        return (u / a) ** 2 + (v / b) ** 2 < 1.0
    x = u / _HEART_SCALE
    y = v / _HEART_SCALE + _HEART_BOX_CENTRE_Y
    return (x * x + y * y - 1.0) ** 3 - x * x * y**3 < 0.0


def rasterize_stamps() -> np.ndarray:
    """All sprite stamps, bool array of shape `(3, 6, 40, 32, 32)`.

    Stamp pixel `(a, b)` has its centre at `(b + 0.5 - 16, a + 0.5 - 16)` pixels (right, down)
    from the sprite centre; pixels are on iff their centre is inside the rotated, scaled outline.
    """
    offsets = np.arange(STAMP_SIZE) + 0.5 - CENTRE_OFFSET
    dx = offsets[None, :]  # right
    dy = -offsets[:, None]  # up (math convention)
    # 2*pi and 0 must give the same stamp bit for bit: reduce the angle first.
    angles = np.mod(ORIENTATIONS, 2.0 * np.pi)
    cos, sin = np.cos(angles)[:, None, None], np.sin(angles)[:, None, None]
    # Undo the counterclockwise rotation: (u, v) = R(-theta) (dx, dy), shape (40, 32, 32).
    u_rot = cos * dx + sin * dy
    v_rot = -sin * dx + cos * dy
    stamps = np.zeros((*FACTOR_SIZES[:3], STAMP_SIZE, STAMP_SIZE), dtype=bool)
    for shape in range(FACTOR_SIZES[0]):
        for k, scale in enumerate(SCALES):
            stamps[shape, k] = _inside_canonical(shape, u_rot / scale, v_rot / scale)
    return stamps


class DSpritesProcedural(GroundTruthData):
    """dSprites drawn on demand by a vectorised numpy renderer (no data files needed).

    Factors (default): 0 shape (3), 1 scale (6), 2 orientation (40), 3 posX (32), 4 posY (32).
    Observations are float32 `(num, 64, 64, 1)` with values in {0, 1}.

    Args:
        latent_factor_indices: which of the five factors are exposed as ground truth; the others
            are nuisance factors drawn uniformly (e.g. `(1, 2, 3, 4)` hides the shape).
    """

    def __init__(self, latent_factor_indices: Sequence[int] | None = None):
        if latent_factor_indices is None:
            latent_factor_indices = range(len(FACTOR_SIZES))
        latent_factor_indices = [int(i) for i in latent_factor_indices]
        if not latent_factor_indices or any(
            i < 0 or i >= len(FACTOR_SIZES) for i in latent_factor_indices
        ):
            raise ValueError(
                f"latent_factor_indices must be a non-empty subset of 0..{len(FACTOR_SIZES) - 1}, "
                f"got {latent_factor_indices}"
            )
        self.latent_factor_indices = latent_factor_indices
        self.factor_grid = FactorGrid(FACTOR_SIZES)
        self.state_space = SplitDiscreteStateSpace(FACTOR_SIZES, latent_factor_indices)
        # Flattened stamps, float32 (720, 1024): a gather of rows yields the batch's stamps.
        self._stamps = rasterize_stamps().reshape(-1, STAMP_SIZE * STAMP_SIZE).astype(np.float32)
        self._stamp_grid = FactorGrid(FACTOR_SIZES[:3])
        rows = np.arange(STAMP_SIZE)[:, None] * IMAGE_SIZE
        self._stamp_pixel_offsets = (rows + np.arange(STAMP_SIZE)[None, :]).reshape(1, -1)

    @property
    def num_factors(self) -> int:
        return self.state_space.num_latent_factors

    @property
    def factors_num_values(self) -> list[int]:
        return [FACTOR_SIZES[i] for i in self.latent_factor_indices]

    @property
    def observation_shape(self) -> list[int]:
        return [IMAGE_SIZE, IMAGE_SIZE, 1]

    @property
    def num_images(self) -> int:
        """Size of the full five-factor grid, 737,280."""
        return self.factor_grid.num_states

    @property
    def dataset_size(self) -> int:
        """The number of images, 737,280, whichever factors are exposed."""
        return self.num_images

    @property
    def num_indexed_observations(self) -> int:
        """737,280: the full grid. A uniform flat index is a sample of the training distribution.

        Latent factors are uniform and the nuisance ones (if any) are drawn uniformly too, so every
        image of the full grid is equally likely whichever factors are exposed.
        """
        return self.num_images

    def observations_by_index(self, indices: np.ndarray) -> np.ndarray:
        """Images `(num, 64, 64, 1)` float32 in {0, 1} for flat grid indices `(num,)`."""
        return self.render_indices(indices)

    def sample_factors(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        """Uniform latent factor indices, int64 `(num, num_factors)`."""
        return self.state_space.sample_latent_factors(num, random_state)

    def sample_observations_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """Images `(num, 64, 64, 1)` for latent factors `(num, num_factors)`.

        Nuisance factors (those not in `latent_factor_indices`) are drawn uniformly.
        """
        return self.render_indices(self.observation_indices_from_factors(factors, random_state))

    def observation_indices_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """Flat full-grid indices `(num,)` for latent factors `(num, num_factors)`.

        Nuisance factors are drawn uniformly, as `sample_observations_from_factors` draws them.
        """
        factors = np.asarray(factors)
        if factors.ndim != 2 or factors.shape[1] != self.num_factors:
            raise ValueError(
                f"factors must have shape (num, {self.num_factors}), got {factors.shape}"
            )
        all_factors = self.state_space.sample_all_factors(factors, random_state)
        return self.factor_grid.features_to_index(all_factors)

    def render(self, factors: np.ndarray) -> np.ndarray:
        """Images for full factor indices `(num, 5)` (shape, scale, orientation, posX, posY).

        Returns:
            float32 array `(num, 64, 64, 1)` with values in {0, 1}.
        """
        factors = np.asarray(factors, dtype=np.int64)
        # Validates shape and ranges.
        self.factor_grid.features_to_index(factors)
        num = factors.shape[0]
        stamps = self._stamps[self._stamp_grid.features_to_index(factors[:, :3])]
        corner = factors[:, 4] * IMAGE_SIZE + factors[:, 3]  # top-left pixel, flat
        images = np.zeros((num, IMAGE_SIZE * IMAGE_SIZE), dtype=np.float32)
        np.put_along_axis(images, corner[:, None] + self._stamp_pixel_offsets, stamps, axis=1)
        return images.reshape(num, IMAGE_SIZE, IMAGE_SIZE, 1)

    def render_indices(self, indices: np.ndarray) -> np.ndarray:
        """Images `(num, 64, 64, 1)` for flat grid indices `(num,)` in [0, 737280).

        Walking `range(0, num_images, batch)` renders the whole grid in dSprites order.
        """
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        if indices.size and (indices.min() < 0 or indices.max() >= self.num_images):
            raise ValueError(f"flat indices must lie in [0, {self.num_images}), got {indices}")
        return self.render(self.factor_grid.index_to_features(indices))

    @staticmethod
    def latent_values(factors: np.ndarray) -> np.ndarray:
        """dSprites latent values `(num, 5)` for full factor indices `(num, 5)`.

        Columns: shape (1, 2, 3 as in the dSprites metadata), scale, orientation (radians),
        posX, posY (in [0, 1]).
        """
        factors = np.asarray(factors, dtype=np.int64)
        return np.stack(
            [
                factors[:, 0] + 1.0,
                SCALES[factors[:, 1]],
                ORIENTATIONS[factors[:, 2]],
                POSITIONS[factors[:, 3]],
                POSITIONS[factors[:, 4]],
            ],
            axis=1,
        )
