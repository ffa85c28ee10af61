"""Numpy image grids shared by training's TensorBoard summaries and `tfdis.visualization`.

A grid of R x K tiles of `H x W` with `padding` pixels of `pad_value` between tiles (not around
them) is `[R * H + (R - 1) * padding, K * W + (K - 1) * padding, C]`. A latent traversal grid
decodes a base code with one latent dimension moved along a set of values, row j for dimension
j, through any numpy `decode_fn(latents [N, d]) -> images [N, H, W, C]`: the exported
SavedModel's decoder (`tfdis.visualization.visualize`) or the Keras decoder during training
(`tfdis.training.train`). Numpy only, so training draws its images without importing the
visualization package.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

DecodeFn = Callable[[np.ndarray], np.ndarray]

# Pixels between tiles and their value (white, as dlib's grids).
DEFAULT_PADDING = 2
DEFAULT_PAD_VALUE = 1.0


def padded_grid(
    tiles: np.ndarray,
    padding: int = DEFAULT_PADDING,
    pad_value: float = DEFAULT_PAD_VALUE,
) -> np.ndarray:
    """Lays out a rectangular array of tiles as one image with padding between tiles.

    Args:
        tiles: `[R, K, H, W, C]`: R rows of K tiles.
        padding: pixels between neighbouring tiles.
        pad_value: value of the padding pixels.

    Returns:
        float32 `[R * H + (R - 1) * padding, K * W + (K - 1) * padding, C]`.
    """
    tiles = np.asarray(tiles, dtype=np.float32)
    if tiles.ndim != 5:
        raise ValueError(f"tiles must have shape [R, K, H, W, C], got {tiles.shape}")
    if padding < 0:
        raise ValueError(f"padding must be non-negative, got {padding}")
    rows, cols, height, width, channels = tiles.shape
    out = np.full(
        (rows * height + (rows - 1) * padding, cols * width + (cols - 1) * padding, channels),
        pad_value,
        dtype=np.float32,
    )
    for r in range(rows):
        for k in range(cols):
            top, left = r * (height + padding), k * (width + padding)
            out[top : top + height, left : left + width] = tiles[r, k]
    return out


def traversal_latents(base_latent: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The codes of a traversal: row j is the base code with dimension j set to its values.

    Args:
        base_latent: `(d,)`.
        values: `(S,)` for every dimension, or `(d, S)` per dimension.

    Returns:
        float32 `(d, S, d)`: `out[j, s] = base` except `out[j, s, j] = values[j, s]`.
    """
    base_latent = np.asarray(base_latent, dtype=np.float32)
    if base_latent.ndim != 1:
        raise ValueError(f"base_latent must be 1-D (d,), got shape {base_latent.shape}")
    d = len(base_latent)
    values = np.asarray(values, dtype=np.float32)
    if values.ndim == 1:
        values = np.tile(values, (d, 1))
    if values.ndim != 2 or values.shape[0] != d:
        raise ValueError(f"values must have shape (S,) or ({d}, S), got {values.shape}")
    latents = np.tile(base_latent, (d, values.shape[1], 1))
    for j in range(d):
        latents[j, :, j] = values[j]
    return latents


def latent_traversal_tiles(
    decode_fn: DecodeFn, base_latent: np.ndarray, values: np.ndarray
) -> np.ndarray:
    """Decodes a traversal of every dimension: one `decode_fn` call per dimension.

    Args:
        decode_fn: numpy function `latents (N, d) -> images (N, H, W, C)`.
        base_latent: `(d,)`.
        values: `(S,)` or `(d, S)` (see `traversal_latents`).

    Returns:
        float32 `(d, S, H, W, C)`: tile `[j, s]` decodes the base with `z_j = values[j, s]`.
    """
    latents = traversal_latents(base_latent, values)
    rows = []
    for row in latents:
        decoded = np.asarray(decode_fn(row), dtype=np.float32)
        if decoded.ndim != 4 or len(decoded) != len(row):
            raise ValueError(
                f"decode_fn must return [N, H, W, C] images for N = {len(row)} codes, got "
                f"{decoded.shape}"
            )
        rows.append(decoded)
    return np.stack(rows)


def latent_traversal_image(
    decode_fn: DecodeFn,
    base_latent: np.ndarray,
    values: np.ndarray,
    padding: int = 0,
    pad_value: float = DEFAULT_PAD_VALUE,
) -> np.ndarray:
    """A traversal grid as one image: row j moves latent dimension j over `values`.

    Works with any numpy `decode_fn`, e.g. a wrapped Keras decoder during training.

    Args:
        decode_fn: `latents (N, d) -> images (N, H, W, C)`, images in [0, 1].
        base_latent: `(d,)` code whose other dimensions stay fixed.
        values: `(S,)` values for every dimension, or `(d, S)`.
        padding: pixels between tiles (0 gives exactly `[d * H, S * W, C]`).
        pad_value: value of the padding pixels.

    Returns:
        float32 `[d * H + (d - 1) * padding, S * W + (S - 1) * padding, C]` in [0, 1].
    """
    tiles = latent_traversal_tiles(decode_fn, base_latent, values)
    return np.clip(padded_grid(tiles, padding, pad_value), 0.0, 1.0)
