"""Scream dSprites against dlib's definition, on a small generated image."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tfdis.data import named_data, scream_dsprites
from tfdis.data.dsprites_procedural import DSpritesProcedural
from tfdis.data.paths import DatasetNotFoundError


def _write_image(path, width=120, height=90, seed=0):
    pixels = np.random.RandomState(seed).randint(0, 256, size=(height, width, 3)).astype(np.uint8)
    Image.fromarray(pixels).save(path)  # PNG: lossless, so the test knows every pixel
    return pixels.astype(np.float64) / 255.0


def test_observations_follow_dlibs_definition(tmp_path):
    background = _write_image(tmp_path / "paint.png")
    data = scream_dsprites.ScreamDSprites(image_path=str(tmp_path / "paint.png"))
    assert data.factors_num_values == [3, 6, 40, 32, 32]
    assert data.observation_shape == [64, 64, 3] and data.num_indexed_observations is None
    np.testing.assert_array_equal(data.background, background)  # inside the thumbnail box
    factors = data.sample_factors(6, np.random.RandomState(0))
    observations = data.sample_observations_from_factors(factors, np.random.RandomState(7))
    # dlib's loop, written out: the sprite first, then per image row, column and colour.
    rs = np.random.RandomState(7)
    sprites = DSpritesProcedural().sample_observations_from_factors(factors, rs)
    for i in range(6):
        row, col = rs.randint(0, 90 - 64), rs.randint(0, 120 - 64)
        patch = (background[row : row + 64, col : col + 64] + rs.uniform(0, 1, size=3)) / 2.0
        mask = sprites[i, :, :, 0] == 1
        patch[mask] = 1 - patch[mask]
        np.testing.assert_allclose(observations[i], patch, atol=1e-6)
        assert mask.any()
    assert observations.dtype == np.float32
    assert 0.0 <= observations.min() and observations.max() <= 1.0


def test_thumbnail_matches_dlibs_box(tmp_path):
    assert scream_dsprites.thumbnail_size(1000, 800) == (342, 274)
    assert scream_dsprites.thumbnail_size(700, 400) == (350, 200)
    assert scream_dsprites.thumbnail_size(300, 200) == (300, 200)
    _write_image(tmp_path / "big.png", width=700, height=400)
    data = scream_dsprites.ScreamDSprites(image_path=str(tmp_path / "big.png"))
    assert data.background.shape == (200, 350, 3)


def test_named_dataset_and_clear_errors(tmp_path, empty_data_dirs):
    with pytest.raises(DatasetNotFoundError, match="scream.jpg") as error:
        named_data.get_named_ground_truth_data("scream_dsprites")
    assert "tfdis_download_data --dataset=scream_dsprites" in str(error.value)
    (empty_data_dirs[0] / "scream").mkdir()
    Image.fromarray(np.full((100, 100, 3), 128, np.uint8)).save(
        empty_data_dirs[0] / "scream" / "scream.jpg"
    )
    data = named_data.get_named_ground_truth_data("scream_dsprites")
    assert isinstance(data.sprites, DSpritesProcedural)  # no dSprites npz: procedural sprites
    assert data.sample(3, np.random.RandomState(0))[1].shape == (3, 64, 64, 3)
    _write_image(tmp_path / "small.png", width=64, height=200)
    with pytest.raises(ValueError, match="at least 65 x 65"):
        scream_dsprites.ScreamDSprites(image_path=str(tmp_path / "small.png"))


def test_gin_image_path_and_a_large_jpeg(tmp_path, empty_data_dirs):
    import gin

    pixels = np.random.RandomState(3).randint(0, 256, size=(1200, 900, 3)).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "big.jpg")
    with gin.unlock_config():
        gin.bind_parameter("scream_dsprites.image_path", str(tmp_path / "big.jpg"))
    try:
        data = named_data.get_named_ground_truth_data("scream_dsprites")
    finally:
        gin.clear_config()
    # 900 x 1200 fits the 350 x 274 box as 205 x 274 (Pillow's arithmetic: int(900 * 274 / 1200)).
    assert data.background.shape == (274, 205, 3)
    observations = data.sample_observations(4, np.random.RandomState(0))
    assert observations.shape == (4, 64, 64, 3)
