"""Grids, uint8 conversion and the PNG / GIF files."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tfdis.visualization import images


def test_to_uint8_rounds_and_clips():
    np.testing.assert_array_equal(
        images.to_uint8(np.array([-0.5, 0.0, 0.5, 1.0, 2.0])), [0, 0, 128, 255, 255]
    )
    with pytest.raises(ValueError):
        images.to_uint8(np.array([np.nan]))


def test_image_grid_fills_the_last_row_and_ragged_grid_pads_short_rows():
    batch = np.zeros((5, 3, 3, 3), np.float32)
    grid = images.image_grid(batch, padding=1, pad_value=1.0)  # 3 columns, 2 rows
    assert grid.shape == (2 * 3 + 1, 3 * 3 + 2, 3)
    np.testing.assert_array_equal(grid[4:, 8:], 1.0)  # the missing sixth tile
    np.testing.assert_array_equal(grid[:3, :3], 0.0)
    ragged = images.ragged_grid([np.zeros((2, 3, 3, 1)), np.zeros((4, 3, 3, 1))], padding=1)
    assert ragged.shape == (2 * 3 + 1, 4 * 3 + 3, 1)
    np.testing.assert_array_equal(ragged[:3, 8:], 1.0)
    assert images.grid_shape(64) == (8, 8) and images.grid_shape(10, 4) == (3, 4)


def test_side_by_side_pairs_inputs_and_outputs():
    left, right = np.zeros((2, 4, 3, 1)), np.ones((2, 4, 3, 1))
    paired = images.side_by_side(left, right)
    assert paired.shape == (2, 4, 6, 1)
    np.testing.assert_array_equal(paired[:, :, :3], 0.0)
    np.testing.assert_array_equal(paired[:, :, 3:], 1.0)


def test_png_modes_and_pixels(tmp_path):
    gray = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4, 1)
    path = images.save_png(gray, str(tmp_path / "gray.png"))
    with Image.open(path) as picture:
        assert picture.mode == "L" and picture.size == (4, 3)
        np.testing.assert_array_equal(np.asarray(picture), images.to_uint8(gray[:, :, 0]))
    rgb = np.zeros((5, 2, 3), np.float32)
    rgb[..., 1] = 1.0
    with Image.open(images.save_png(rgb, str(tmp_path / "rgb.png"))) as picture:
        assert picture.mode == "RGB" and picture.size == (2, 5)
        assert picture.getpixel((0, 0)) == (0, 255, 0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gray.png", "rgb.png"]  # no temp files


def test_gif_has_one_frame_per_distinct_step_and_keeps_the_total_duration(tmp_path):
    frames = np.stack([np.full((6, 7, 1), v, np.float32) for v in (0.0, 0.25, 0.5, 1.0)])
    path = images.save_gif(frames, str(tmp_path / "a.gif"), frame_duration_ms=80)
    with Image.open(path) as gif:
        assert gif.size == (7, 6) and gif.n_frames == 4 and gif.is_animated
        values = []
        for i in range(gif.n_frames):
            gif.seek(i)
            values.append(np.asarray(gif.convert("L"))[0, 0])
            assert gif.info["duration"] == 80
    np.testing.assert_array_equal(values, [0, 64, 128, 255])
    # Consecutive identical frames are merged by the GIF writer, their durations summed.
    repeated = np.stack([frames[0], frames[0], frames[3]])
    with Image.open(images.save_gif(repeated, str(tmp_path / "b.gif"), 50)) as gif:
        durations = []
        for i in range(gif.n_frames):
            gif.seek(i)
            durations.append(gif.info["duration"])
    assert durations == [100, 50]
