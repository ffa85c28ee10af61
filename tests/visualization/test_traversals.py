"""Latent traversals as pure numpy: what the decoder is asked to decode, and the grid layout."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from tfdis.visualization import traversals


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
    image = traversals.latent_traversal_image(decoder, base, values)
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
    image = traversals.latent_traversal_image(decoder, base, values, padding=1, pad_value=1.0)
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
        traversals.traversal_latents(np.zeros(3), np.zeros((2, 5)))
    with pytest.raises(ValueError):
        traversals.traversal_latents(np.zeros((2, 3)), np.zeros(5))


def test_cycles_start_at_the_base_and_cover_the_interval():
    values = traversals.cycle_interval(0.5, 20, -2.0, 2.0)
    assert values.shape == (20,)
    assert values[0] == pytest.approx(0.5)
    # The cycle travels 2 x (range 4) in 20 frames: 0.4 per frame along the triangle wave.
    np.testing.assert_allclose(np.abs(np.diff(values))[:3], 0.4, atol=1e-12)
    assert values.max() <= 2.0 and values.min() >= -2.0
    assert values.max() > 1.5 and values.min() < -1.5
    # A start outside the interval is clamped to it.
    assert traversals.cycle_interval(5.0, 10, -2.0, 2.0)[0] == pytest.approx(2.0)
    gaussian = traversals.cycle_gaussian(0.0, 20)
    assert gaussian[0] == pytest.approx(0.0, abs=1e-12)
    bound = stats.norm.ppf(0.999)
    assert gaussian.max() <= bound + 1e-9 and gaussian.min() >= -bound - 1e-9
    assert gaussian.max() > 2.0 and gaussian.min() < -2.0


def test_the_three_kinds_of_values():
    fitted_min, fitted_max = np.array([-1.0, 0.0]), np.array([1.0, 0.5])
    grid = {
        kind: traversals.traversal_grid_values(kind, 2, 5, fitted_min, fitted_max)
        for kind in traversals.TRAVERSAL_KINDS
    }
    np.testing.assert_allclose(grid["fixed_interval_cycle"], [np.linspace(-2, 2, 5)] * 2)
    np.testing.assert_allclose(
        grid["fitted_range_cycle"], [np.linspace(-1, 1, 5), np.linspace(0, 0.5, 5)]
    )
    np.testing.assert_allclose(grid["std_gaussian_cycle"][0, [0, 2, 4]], [-1.959964, 0, 1.959964],
                               atol=1e-5)  # fmt: skip
    base = np.array([0.2, 0.1])
    for kind in traversals.TRAVERSAL_KINDS:
        cycle = traversals.traversal_cycle_values(kind, base, 8, fitted_min, fitted_max)
        assert cycle.shape == (2, 8)
        np.testing.assert_allclose(cycle[:, 0], base, atol=1e-9)
    fitted = traversals.traversal_cycle_values("fitted_range_cycle", base, 8, fitted_min,
                                               fitted_max)  # fmt: skip
    assert np.all(fitted >= fitted_min[:, None] - 1e-12)
    assert np.all(fitted <= fitted_max[:, None] + 1e-12)
    with pytest.raises(ValueError):
        traversals.traversal_grid_values("fitted_range_cycle", 2, 5)
    with pytest.raises(ValueError):
        traversals.traversal_grid_values("bogus", 2, 5)


def test_animation_frame_f_holds_every_dimension_at_step_f():
    tiles = np.zeros((3, 4, 2, 2, 1), np.float32)
    for j in range(3):
        for f in range(4):
            tiles[j, f] = (10 * j + f) / 100.0
    frames = traversals.traversal_animation_frames(tiles, num_columns=3, padding=1)
    assert frames.shape == (4, 2, 3 * 2 + 2, 1)
    for f in range(4):
        for j in range(3):
            np.testing.assert_allclose(frames[f, :, j * 3 : j * 3 + 2], (10 * j + f) / 100.0)


def test_category_traversal_changes_one_code_and_keeps_the_continuous_part():
    rows = traversals.category_traversal_inputs(np.array([2, 1]), [3, 2])
    np.testing.assert_array_equal(rows[0], [[0, 1], [1, 1], [2, 1]])
    np.testing.assert_array_equal(rows[1], [[2, 0], [2, 1]])
    calls = []

    def decode(latents, categories):
        calls.append((np.array(latents), np.array(categories)))
        return np.zeros((len(latents), 2, 2, 1), np.float32) + categories[:, :1, None, None] / 10

    base = np.array([0.5, -0.5, 1.5], np.float32)
    tiles = traversals.category_traversal_tiles(decode, base, np.array([2, 1]), [3, 2])
    assert [t.shape for t in tiles] == [(3, 2, 2, 1), (2, 2, 2, 1)]
    for (latents, _), expected in zip(calls, rows, strict=True):
        np.testing.assert_array_equal(latents, np.tile(base, (len(expected), 1)))
    np.testing.assert_array_equal(calls[1][1], rows[1])
