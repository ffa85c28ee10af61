"""Padded tile grids and latent-traversal grids as pure numpy: what the decoder is asked to decode,
and the grid layout."""

from __future__ import annotations

import numpy as np
import pytest

from tfdis.utils import image_grids


def test_padded_grid_places_tiles_with_padding_between_only():
    tiles = np.arange(2 * 3, dtype=np.float32).reshape(2, 3, 1, 1, 1) / 10
    grid = image_grids.padded_grid(
        np.broadcast_to(tiles, (2, 3, 4, 5, 1)), padding=2, pad_value=0.9
    )
    assert grid.shape == (2 * 4 + 2, 3 * 5 + 2 * 2, 1)
    for r in range(2):
        for k in range(3):
            np.testing.assert_allclose(
                grid[r * 6 : r * 6 + 4, k * 7 : k * 7 + 5], (3 * r + k) / 10, atol=1e-7
            )
    np.testing.assert_allclose(grid[4:6], 0.9)
    np.testing.assert_allclose(grid[:, 5:7], 0.9)


class RecordingDecoder:
    """A fake decode_fn that records its inputs; image k of a call is filled with k / 10."""

    def __init__(self, height=4, width=5, channels=1):
        self.calls = []
        self.shape = (height, width, channels)

    def __call__(self, latents):
        self.calls.append(np.array(latents))
        n = len(latents)
        return np.broadcast_to(
            (np.arange(n, dtype=np.float32) / 10.0)[:, None, None, None], (n, *self.shape)
        ).copy()


def test_row_j_changes_only_dimension_j_and_takes_exactly_the_values():
    base = np.array([0.3, -1.2, 0.7, 2.5], np.float32)
    values = np.linspace(-2.0, 2.0, 6).astype(np.float32)
    decoder = RecordingDecoder()
    image = image_grids.latent_traversal_image(decoder, base, values)
    assert image.shape == (4 * 4, 6 * 5, 1) and image.dtype == np.float32
    assert len(decoder.calls) == 4  # one decode call per dimension (row)
    for j, inputs in enumerate(decoder.calls):
        assert inputs.shape == (6, 4)
        others = [k for k in range(4) if k != j]
        np.testing.assert_array_equal(inputs[:, others], np.tile(base[others], (6, 1)))
        np.testing.assert_array_equal(inputs[:, j], values)


def test_per_dimension_values_and_layout_of_the_tiles():
    base = np.zeros(3, np.float32)
    values = np.arange(3 * 4, dtype=np.float32).reshape(3, 4)
    decoder = RecordingDecoder(height=2, width=3)
    image = image_grids.latent_traversal_image(decoder, base, values, padding=1, pad_value=1.0)
    assert image.shape == (3 * 2 + 2, 4 * 3 + 3, 1)
    for j, inputs in enumerate(decoder.calls):
        np.testing.assert_array_equal(inputs[:, j], values[j])
    # Tile (row j, column s) is image s of row j's call: constant s / 10; padding is 1.
    for j in range(3):
        for s in range(4):
            tile = image[j * 3 : j * 3 + 2, s * 4 : s * 4 + 3]
            np.testing.assert_allclose(tile, s / 10.0)
    np.testing.assert_array_equal(image[2, :], 1.0)
    np.testing.assert_array_equal(image[:, 3], 1.0)


def test_traversal_latents_rejects_mismatched_values():
    with pytest.raises(ValueError):
        image_grids.traversal_latents(np.zeros(3), np.zeros((2, 5)))
    with pytest.raises(ValueError):
        image_grids.traversal_latents(np.zeros((2, 3)), np.zeros(5))
