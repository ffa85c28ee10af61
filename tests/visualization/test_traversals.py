"""Latent traversal values (dlib's three kinds), animation frames and categorical-code traversals."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from tfdis.visualization import traversals


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
