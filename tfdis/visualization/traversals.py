"""Latent traversals: decode a base code with one latent dimension moved along a set of values.

The values each kind moves a latent along; the grid a set of values draws (decode the base code
with one dimension moved, through any numpy `decode_fn(latents [N, d]) -> images [N, H, W, C]`)
is `tfdis.utils.image_grids.latent_traversal_image`, shared with training's TensorBoard images.

The three kinds of dlib's `visualize_model.py` (`TRAVERSAL_KINDS`), each as a still grid
(`traversal_grid_values`, monotone, one row per dimension) and as an animation
(`traversal_cycle_values`, a single cycle that starts and ends at the base value):

- `std_gaussian_cycle`: quantiles of the prior N(0, 1). The grid uses the quantiles at evenly
  spaced probabilities over the central 95% (+-1.96); the animation cycles through the quantiles
  of probabilities in [0.001, 0.999], as dlib's `cycle_gaussian`.
- `fitted_range_cycle`: the range [min, max] of that dimension's encoded means on a sample of the
  data (dlib's "minmax interval" cycle). A collapsed dimension has a tiny range and barely moves.
- `fixed_interval_cycle`: the interval [-2, 2] for every dimension.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats

from tfdis.utils import image_grids
from tfdis.visualization import images as image_utils

TRAVERSAL_KINDS = ("std_gaussian_cycle", "fitted_range_cycle", "fixed_interval_cycle")
FIXED_INTERVAL = (-2.0, 2.0)
# Probability range of the still std-Gaussian grid (the central 95%) and the animation's clamp.
GAUSSIAN_GRID_PROBABILITIES = (0.025, 0.975)
GAUSSIAN_CYCLE_CLAMP = (0.001, 0.999)


def _fold(grid: np.ndarray) -> np.ndarray:
    """Folds positions on [0, 2] (going up from the start, then down) into [0, 1] (dlib)."""
    grid = grid - np.maximum(0.0, 2.0 * grid - 2.0)
    return grid + np.maximum(0.0, -2.0 * grid)


def cycle_interval(
    starting_value: float, num_frames: int, min_val: float, max_val: float
) -> np.ndarray:
    """One cycle through `[min_val, max_val]` starting at `starting_value` (dlib).

    The values rise linearly from the start to `max_val`, fall to `min_val` and rise back to the
    start, in `num_frames` equal steps (the start is not repeated at the end). A start outside
    the interval is clamped to it.

    Returns:
        float64 `(num_frames,)`.
    """
    if max_val <= min_val:
        return np.full(num_frames, float(starting_value))
    start = np.clip((starting_value - min_val) / (max_val - min_val), 0.0, 1.0)
    grid = np.linspace(start, start + 2.0, num=num_frames, endpoint=False)
    return _fold(grid) * (max_val - min_val) + min_val


def cycle_gaussian(
    starting_value: float, num_frames: int, loc: float = 0.0, scale: float = 1.0
) -> np.ndarray:
    """One cycle through the quantiles of N(loc, scale^2), starting at `starting_value` (dlib).

    Like `cycle_interval` on the probability scale, with probabilities clamped to
    `GAUSSIAN_CYCLE_CLAMP`.

    Returns:
        float64 `(num_frames,)`.
    """
    start = stats.norm.cdf(starting_value, loc=loc, scale=scale)
    grid = _fold(np.linspace(start, start + 2.0, num=num_frames, endpoint=False))
    grid = np.clip(grid, *GAUSSIAN_CYCLE_CLAMP)
    return stats.norm.ppf(grid, loc=loc, scale=scale)


def traversal_grid_values(
    kind: str,
    num_latent: int,
    num_steps: int,
    fitted_min: np.ndarray | None = None,
    fitted_max: np.ndarray | None = None,
) -> np.ndarray:
    """Monotone traversal values of a still grid, one row per dimension.

    Args:
        kind: one of `TRAVERSAL_KINDS`.
        num_latent: d.
        num_steps: S, the columns of the grid.
        fitted_min, fitted_max: `(d,)` range of the encoded means (needed for
            `fitted_range_cycle`).

    Returns:
        float64 `(d, S)`.
    """
    if kind == "std_gaussian_cycle":
        row = stats.norm.ppf(np.linspace(*GAUSSIAN_GRID_PROBABILITIES, num_steps))
        return np.tile(row, (num_latent, 1))
    if kind == "fixed_interval_cycle":
        return np.tile(np.linspace(*FIXED_INTERVAL, num_steps), (num_latent, 1))
    if kind == "fitted_range_cycle":
        low, high = _fitted_range(num_latent, fitted_min, fitted_max)
        return np.stack([np.linspace(lo, hi, num_steps) for lo, hi in zip(low, high, strict=True)])
    raise ValueError(f"unknown traversal kind {kind!r}; known: {', '.join(TRAVERSAL_KINDS)}")


def traversal_cycle_values(
    kind: str,
    base_latent: np.ndarray,
    num_frames: int,
    fitted_min: np.ndarray | None = None,
    fitted_max: np.ndarray | None = None,
) -> np.ndarray:
    """Animation values: for each dimension, one cycle of `kind` starting at its base value.

    Args:
        kind: one of `TRAVERSAL_KINDS`.
        base_latent: `(d,)` base code.
        num_frames: F.
        fitted_min, fitted_max: `(d,)` range of the encoded means (for `fitted_range_cycle`).

    Returns:
        float64 `(d, F)`; frame 0 holds the base value of each dimension (clamped to the range).
    """
    base_latent = np.asarray(base_latent, dtype=np.float64)
    d = len(base_latent)
    if kind == "std_gaussian_cycle":
        return np.stack([cycle_gaussian(v, num_frames) for v in base_latent])
    if kind == "fixed_interval_cycle":
        return np.stack([cycle_interval(v, num_frames, *FIXED_INTERVAL) for v in base_latent])
    if kind == "fitted_range_cycle":
        low, high = _fitted_range(d, fitted_min, fitted_max)
        return np.stack(
            [
                cycle_interval(v, num_frames, lo, hi)
                for v, lo, hi in zip(base_latent, low, high, strict=True)
            ]
        )
    raise ValueError(f"unknown traversal kind {kind!r}; known: {', '.join(TRAVERSAL_KINDS)}")


def _fitted_range(
    num_latent: int, fitted_min: np.ndarray | None, fitted_max: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    if fitted_min is None or fitted_max is None:
        raise ValueError("fitted_range_cycle needs fitted_min and fitted_max")
    low = np.asarray(fitted_min, dtype=np.float64).reshape(-1)
    high = np.asarray(fitted_max, dtype=np.float64).reshape(-1)
    if low.shape != (num_latent,) or high.shape != (num_latent,):
        raise ValueError(f"fitted_min and fitted_max must have shape ({num_latent},)")
    return low, high


def traversal_animation_frames(
    tiles: np.ndarray,
    num_columns: int | None = None,
    padding: int = image_grids.DEFAULT_PADDING,
    pad_value: float = image_grids.DEFAULT_PAD_VALUE,
) -> np.ndarray:
    """Animation frames of a traversal: frame f shows every dimension's image at step f.

    Args:
        tiles: `(d, F, H, W, C)` from `image_grids.latent_traversal_tiles`.
        num_columns: dimensions per row of a frame (`ceil(sqrt(d))` if None).
        padding, pad_value: see `images.padded_grid`.

    Returns:
        float32 `(F, H_grid, W_grid, C)`, each frame a grid of d tiles (`images.image_grid`).
    """
    tiles = np.asarray(tiles)
    return np.stack(
        [
            image_utils.image_grid(tiles[:, f], num_columns, padding, pad_value)
            for f in range(tiles.shape[1])
        ]
    )


def category_traversal_inputs(
    base_category: np.ndarray, discrete_sizes: Sequence[int]
) -> list[np.ndarray]:
    """The category vectors of a discrete traversal, one array per categorical code.

    Args:
        base_category: int `(C,)` categories of the base observation.
        discrete_sizes: `[K_1, ..., K_C]`.

    Returns:
        C int32 arrays; array c is `(K_c, C)`: the base categories with code c set to 0..K_c-1.
    """
    base_category = np.asarray(base_category, dtype=np.int32).reshape(-1)
    if len(base_category) != len(discrete_sizes):
        raise ValueError(
            f"base_category has {len(base_category)} codes, discrete_sizes {len(discrete_sizes)}"
        )
    rows = []
    for c, size in enumerate(discrete_sizes):
        categories = np.tile(base_category, (int(size), 1))
        categories[:, c] = np.arange(size)
        rows.append(categories)
    return rows


def category_traversal_tiles(
    decode_fn: Callable[[np.ndarray, np.ndarray], np.ndarray],
    base_latent: np.ndarray,
    base_category: np.ndarray,
    discrete_sizes: Sequence[int],
) -> list[np.ndarray]:
    """Decodes each categorical code at each of its values, the continuous code fixed.

    Args:
        decode_fn: `(latents (N, d), categories int (N, C)) -> images (N, H, W, C)`.
        base_latent: `(d,)` continuous code, kept for every image.
        base_category: int `(C,)` categories of the base; the other codes keep these.
        discrete_sizes: `[K_1, ..., K_C]`.

    Returns:
        C float32 arrays `(K_c, H, W, C)` (row c of the picture; see `images.ragged_grid`).
    """
    base_latent = np.asarray(base_latent, dtype=np.float32).reshape(-1)
    tiles = []
    for categories in category_traversal_inputs(base_category, discrete_sizes):
        latents = np.tile(base_latent, (len(categories), 1))
        tiles.append(np.asarray(decode_fn(latents, categories), dtype=np.float32))
    return tiles
