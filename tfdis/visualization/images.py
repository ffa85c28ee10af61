"""Image grids and files: uint8 conversion, grids, PNG and animated GIF writing (Pillow).

The padded tile layout (`padded_grid`, `DEFAULT_PADDING`, `DEFAULT_PAD_VALUE`) lives in
`tfdis.utils.image_grids`, which training's TensorBoard images share.

Images are float arrays in [0, 1], `[H, W, C]` with C = 1 (grayscale) or 3 (RGB), as the
datasets and the exported models produce them. Grids put `padding` pixels of `pad_value` between
tiles (not around them), so a grid of R x K tiles of `H x W` is
`[R * H + (R - 1) * padding, K * W + (K - 1) * padding, C]`.

Files are written to a temporary name in the same directory and renamed into place, so a reader
never sees a partial picture.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image

from tfdis.utils import results
from tfdis.utils.image_grids import DEFAULT_PAD_VALUE, DEFAULT_PADDING, padded_grid


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Converts [0, 1] floats to uint8 (values outside [0, 1] are clipped).

    Args:
        images: float array of any shape, values nominally in [0, 1].

    Returns:
        uint8 array of the same shape, `round(255 * clip(x, 0, 1))`.

    Raises:
        ValueError: the array holds NaN or infinite values.
    """
    images = np.asarray(images, dtype=np.float64)
    if not np.all(np.isfinite(images)):
        raise ValueError("images hold NaN or infinite values; cannot convert them to uint8")
    return np.round(np.clip(images, 0.0, 1.0) * 255.0).astype(np.uint8)


def grid_shape(num_images: int, num_columns: int | None = None) -> tuple[int, int]:
    """`(rows, columns)` of a grid holding `num_images` (square-ish when `num_columns` is None)."""
    if num_images < 1:
        raise ValueError(f"need at least one image, got {num_images}")
    if num_columns is None:
        num_columns = math.ceil(math.sqrt(num_images))
    if num_columns < 1:
        raise ValueError(f"num_columns must be positive, got {num_columns}")
    num_columns = min(num_columns, num_images)
    return math.ceil(num_images / num_columns), num_columns


def image_grid(
    images: np.ndarray,
    num_columns: int | None = None,
    padding: int = DEFAULT_PADDING,
    pad_value: float = DEFAULT_PAD_VALUE,
) -> np.ndarray:
    """Tiles a batch of images row by row; missing tiles at the end are filled with `pad_value`.

    Args:
        images: `[N, H, W, C]`.
        num_columns: tiles per row; `ceil(sqrt(N))` if None.
        padding, pad_value: see `padded_grid`.

    Returns:
        float32 grid of `grid_shape(N, num_columns)` tiles (see `padded_grid` for its size).
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4:
        raise ValueError(f"images must have shape [N, H, W, C], got {images.shape}")
    rows, cols = grid_shape(len(images), num_columns)
    missing = rows * cols - len(images)
    if missing:
        filler = np.full((missing, *images.shape[1:]), pad_value, dtype=np.float32)
        images = np.concatenate([images, filler])
    return padded_grid(images.reshape(rows, cols, *images.shape[1:]), padding, pad_value)


def ragged_grid(
    rows: Sequence[np.ndarray],
    padding: int = DEFAULT_PADDING,
    pad_value: float = DEFAULT_PAD_VALUE,
) -> np.ndarray:
    """Grid whose rows hold different numbers of tiles; short rows are filled on the right.

    Args:
        rows: R arrays `[K_r, H, W, C]` (same H, W, C).
        padding, pad_value: see `padded_grid`.

    Returns:
        float32 grid of R rows and `max K_r` columns (see `padded_grid` for its size).
    """
    rows = [np.asarray(row, dtype=np.float32) for row in rows]
    if not rows:
        raise ValueError("need at least one row")
    width = max(len(row) for row in rows)
    tile_shape = rows[0].shape[1:]
    filled = []
    for row in rows:
        if row.ndim != 4 or row.shape[1:] != tile_shape:
            raise ValueError(f"every row must be [K, {', '.join(map(str, tile_shape))}]")
        filler = np.full((width - len(row), *tile_shape), pad_value, dtype=np.float32)
        filled.append(np.concatenate([row, filler]))
    return padded_grid(np.stack(filled), padding, pad_value)


def side_by_side(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Pairs images horizontally: `[N, H, W, C]` twice -> `[N, H, 2W, C]` (dlib's pairing)."""
    left, right = np.asarray(left), np.asarray(right)
    if left.shape != right.shape:
        raise ValueError(f"shapes differ: {left.shape} and {right.shape}")
    return np.concatenate([left, right], axis=2)


def to_pil(image: np.ndarray) -> Image.Image:
    """A Pillow image ("L" for one channel, "RGB" for three) from a [0, 1] `[H, W, C]` array."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] not in (1, 3):
        raise ValueError(f"image must have shape [H, W, 1] or [H, W, 3], got {image.shape}")
    pixels = to_uint8(image)
    if image.shape[2] == 1:
        return Image.fromarray(pixels[:, :, 0], mode="L")
    return Image.fromarray(pixels, mode="RGB")


def atomic_save(path: str, save: Callable[[str], None]) -> None:
    """Calls `save(tmp_path)` on a sibling temporary file, then renames it to `path`."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    suffix = os.path.splitext(path)[1]
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=suffix)
    os.close(fd)
    try:
        save(tmp)
        os.chmod(tmp, results.default_mode())  # mkstemp's 0600 would stick
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def save_png(image: np.ndarray, path: str) -> str:
    """Writes a [0, 1] `[H, W, C]` image as PNG (mode "L" or "RGB"); returns `path`."""
    picture = to_pil(image)
    atomic_save(path, lambda tmp: picture.save(tmp, format="PNG"))
    return path


def save_gif(frames: np.ndarray, path: str, frame_duration_ms: int = 100, loop: int = 0) -> str:
    """Writes frames as an animated GIF that loops; returns `path`.

    The GIF writer merges consecutive identical frames into one frame shown for their summed
    duration, so the animation keeps its length (`F * frame_duration_ms`) while the file may hold
    fewer than F frames.

    Args:
        frames: `[F, H, W, C]` in [0, 1], C = 1 or 3.
        path: output file.
        frame_duration_ms: display time of one frame.
        loop: number of repetitions, 0 for forever.
    """
    frames = np.asarray(frames)
    if frames.ndim != 4 or len(frames) < 1:
        raise ValueError(f"frames must have shape [F, H, W, C] with F >= 1, got {frames.shape}")
    pictures = [to_pil(frame) for frame in frames]

    def save(tmp: str) -> None:
        pictures[0].save(
            tmp,
            format="GIF",
            save_all=True,
            append_images=pictures[1:],
            duration=int(frame_duration_ms),
            loop=loop,
        )

    atomic_save(path, save)
    return path
