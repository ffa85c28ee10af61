"""Tests of the procedural dSprites renderer against the dSprites grid and its geometry."""

from __future__ import annotations

import numpy as np
import pytest

from tfdis.data import dsprites_procedural as dp
from tfdis.data.dsprites_procedural import DSpritesProcedural


@pytest.fixture(scope="module")
def data():
    return DSpritesProcedural()


def _all_stamp_factors(pos_x: int, pos_y: int) -> np.ndarray:
    """Every (shape, scale, orientation) at one position, `(720, 5)`."""
    grid = np.stack(np.meshgrid(range(3), range(6), range(40), indexing="ij"), -1).reshape(-1, 3)
    return np.concatenate([grid, np.tile([pos_x, pos_y], (len(grid), 1))], axis=1)


def test_grid_matches_dsprites(data):
    assert data.num_images == 737_280
    assert data.num_observations == 737_280
    assert data.factors_num_values == [3, 6, 40, 32, 32]
    assert data.observation_shape == [64, 64, 1]
    np.testing.assert_array_equal(data.factor_grid.bases, [245760, 40960, 1024, 32, 1])
    np.testing.assert_allclose(dp.SCALES, [0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    assert dp.ORIENTATIONS[0] == 0.0 and dp.ORIENTATIONS[-1] == 2 * np.pi
    np.testing.assert_allclose(dp.POSITIONS[[0, 1, -1]], [0.0, 1 / 31, 1.0])


def test_index_factor_round_trip(data):
    grid = data.factor_grid
    indices = np.random.RandomState(0).randint(0, 737_280, size=500)
    np.testing.assert_array_equal(grid.features_to_index(grid.index_to_features(indices)), indices)
    # posY is fastest, then posX, ...; the last index is the last factor combination.
    np.testing.assert_array_equal(
        grid.index_to_features(np.array([1, 32, 1024, 737_279])),
        [[0, 0, 0, 0, 1], [0, 0, 0, 1, 0], [0, 0, 1, 0, 0], [2, 5, 39, 31, 31]],
    )
    np.testing.assert_array_equal(
        data.render_indices(indices[:20]), data.render(grid.index_to_features(indices[:20]))
    )


def test_latent_values():
    values = DSpritesProcedural.latent_values(np.array([[2, 5, 39, 31, 31], [0, 0, 0, 0, 0]]))
    np.testing.assert_allclose(values, [[3, 1, 2 * np.pi, 1, 1], [1, 0.5, 0, 0, 0]])


def test_images_are_binary_float32(data):
    images = data.sample_observations(64, np.random.RandomState(1))
    assert images.shape == (64, 64, 64, 1) and images.dtype == np.float32
    assert set(np.unique(images)) == {0.0, 1.0}
    assert np.all(images.sum(axis=(1, 2, 3)) > 0)


def test_each_factor_changes_pixels(data):
    base = np.array([1, 3, 5, 10, 10])
    image = data.render(base[None])
    for factor in range(5):
        changed = base.copy()
        changed[factor] += 1
        assert np.any(data.render(changed[None]) != image), dp.FACTOR_NAMES[factor]


def test_three_shapes_differ(data):
    for scale, orientation in [(0, 0), (5, 0), (5, 7), (2, 23)]:
        images = data.render([[s, scale, orientation, 16, 16] for s in range(3)])
        for a, b in [(0, 1), (0, 2), (1, 2)]:
            assert np.any(images[a] != images[b])


def test_known_sizes_at_orientation_zero(data):
    # Square: side exactly 20 * scale pixels; sprite centre at pixel 16 + position index.
    for k, scale in enumerate(dp.SCALES):
        image = data.render([[0, k, 0, 7, 20]])[0, :, :, 0]
        rows, cols = np.nonzero(image)
        side = round(20 * scale)
        assert image.sum() == side * side
        assert cols.max() - cols.min() + 1 == side and rows.max() - rows.min() + 1 == side
        assert np.mean(cols + 0.5) == pytest.approx(16 + 7)
        assert np.mean(rows + 0.5) == pytest.approx(16 + 20)
    # Ellipse 14 x 7 at scale 1: brute-force count of pixel centres inside it.
    offsets = np.arange(-20, 20) + 0.5
    inside = (offsets[None, :] / 14) ** 2 + (offsets[:, None] / 7) ** 2 < 1
    assert data.render([[1, 5, 0, 16, 16]]).sum() == inside.sum()
    # Heart: scaled to the same area as the square, up to rasterisation.
    assert abs(data.render([[2, 5, 0, 16, 16]]).sum() - 400) < 12


def test_position_is_a_one_pixel_translation(data):
    for shape in range(3):
        left = data.render([[shape, 4, 13, 3, 9]])
        right = data.render([[shape, 4, 13, 4, 9]])
        down = data.render([[shape, 4, 13, 3, 10]])
        np.testing.assert_array_equal(np.roll(left, 1, axis=2), right)
        np.testing.assert_array_equal(np.roll(left, 1, axis=1), down)


def test_nothing_touches_the_border(data):
    for pos_x in (0, 31):
        for pos_y in (0, 31):
            images = data.render(_all_stamp_factors(pos_x, pos_y))[..., 0]
            border = np.concatenate(
                [images[:, 0, :], images[:, -1, :], images[:, :, 0], images[:, :, -1]], axis=1
            )
            assert not border.any()
            assert np.all(images.sum(axis=(1, 2)) > 0)


def test_orientation_zero_and_two_pi_are_the_same_image(data):
    factors = _all_stamp_factors(16, 16)
    first = factors[factors[:, 2] == 0]
    last = first.copy()
    last[:, 2] = 39
    np.testing.assert_array_equal(data.render(first), data.render(last))


def test_scale_strictly_grows_the_pixel_count(data):
    factors = _all_stamp_factors(16, 16)
    counts = data.render(factors).sum(axis=(1, 2, 3)).reshape(3, 6, 40)
    assert np.all(np.diff(counts, axis=1) > 0)


def test_deterministic(data):
    first = data.sample(32, np.random.RandomState(5))
    second = DSpritesProcedural().sample(32, np.random.RandomState(5))
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


def test_nuisance_shape():
    data = DSpritesProcedural(latent_factor_indices=(1, 2, 3, 4))
    assert data.num_factors == 4 and data.factors_num_values == [6, 40, 32, 32]
    factors = np.tile([5, 0, 16, 16], (60, 1))
    images = data.sample_observations_from_factors(factors, np.random.RandomState(0))
    full = DSpritesProcedural().render([[s, 5, 0, 16, 16] for s in range(3)])
    matches = [np.flatnonzero((full == image).all(axis=(1, 2, 3))) for image in images]
    assert all(len(m) == 1 for m in matches)
    assert {int(m[0]) for m in matches} == {0, 1, 2}


def test_bad_input_raises(data):
    with pytest.raises(ValueError, match="factor index out of range"):
        data.render([[3, 0, 0, 0, 0]])
    with pytest.raises(ValueError, match="shape"):
        data.render([[0, 0, 0, 0]])
    with pytest.raises(ValueError, match="flat indices"):
        data.render_indices([737_280])
    with pytest.raises(ValueError, match="latent_factor_indices"):
        DSpritesProcedural(latent_factor_indices=(5,))
