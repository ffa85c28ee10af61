"""Tests of the dSprites loaders on a tiny npz in the official format and on mocked tfds."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow_datasets as tfds

from tfdis.data import dsprites
from tfdis.data.dsprites import ColorDSprites, DSprites, DSpritesNoShape, NoisyDSprites
from tfdis.data.dsprites_procedural import DSpritesProcedural
from tfdis.data.ground_truth_data import FactorGrid
from tfdis.data.paths import DatasetNotFoundError

# A small grid: all 3 shapes, 2 scales, 2 orientations, 2 x and 2 y positions.
SIZES = [3, 2, 2, 2, 2]
PICKED = [[0, 1, 2], [0, 5], [0, 10], [0, 31], [0, 31]]  # procedural factor index per value


def _tiny_grid():
    grid = FactorGrid(SIZES)
    classes = grid.index_to_features(np.arange(grid.num_states))
    procedural = np.stack([np.asarray(PICKED[f])[classes[:, f]] for f in range(5)], axis=1)
    images = DSpritesProcedural().render(procedural)[..., 0].astype(np.uint8)
    return classes, images


@pytest.fixture
def tiny_npz(empty_data_dirs):
    """Writes the tiny grid where DSprites looks for the official npz."""
    classes, images = _tiny_grid()
    path = os.path.join(str(empty_data_dirs[0]), "dsprites", dsprites.NPZ_NAME)
    os.makedirs(os.path.dirname(path))
    metadata = {
        "latents_sizes": np.array([1, *SIZES]),
        "latents_names": ("color", "shape", "scale", "orientation", "posX", "posY"),
    }
    full_classes = np.concatenate([np.zeros((len(classes), 1), np.int64), classes], axis=1)
    np.savez_compressed(
        path,
        imgs=images,
        latents_classes=full_classes,
        latents_values=full_classes.astype(np.float64),
        metadata=np.array(metadata, dtype=object),
    )
    return classes, images


def test_npz_loader_reads_the_grid(tiny_npz, monkeypatch):
    classes, images = tiny_npz
    # Stream the images in several chunks.
    monkeypatch.setattr(dsprites, "_ROWS_PER_READ", 7)
    data = DSprites()
    assert data.factors_num_values == SIZES and data.num_factors == 5
    assert data.observation_shape == [64, 64, 1]
    order = np.random.RandomState(0).permutation(len(classes))
    observations = data.sample_observations_from_factors(classes[order], np.random.RandomState(0))
    assert observations.dtype == np.float32 and observations.shape == (len(order), 64, 64, 1)
    np.testing.assert_array_equal(observations[..., 0], images[order])


def test_npz_loader_samples_deterministically(tiny_npz):
    data = DSprites()
    first = data.sample(20, np.random.RandomState(3))
    second = data.sample(20, np.random.RandomState(3))
    np.testing.assert_array_equal(first[1], second[1])
    assert first[0].min() >= 0 and np.all(first[0].max(axis=0) < SIZES)


def test_noshape_variant(tiny_npz):
    classes, images = tiny_npz
    data = DSpritesNoShape()
    assert data.num_factors == 4 and data.factors_num_values == SIZES[1:]
    latents = np.tile([1, 0, 1, 0], (40, 1))
    observations = data.sample_observations_from_factors(latents, np.random.RandomState(0))
    candidates = images[(classes[:, 1:] == [1, 0, 1, 0]).all(axis=1)]
    assert len(candidates) == 3
    hits = {
        int(np.flatnonzero((candidates == o[..., 0]).all(axis=(1, 2)))[0]) for o in observations
    }
    assert hits == {0, 1, 2}


def test_npz_is_enumerable_by_row(tiny_npz):
    classes, images = tiny_npz
    for data in (DSprites(), DSpritesNoShape()):
        assert data.num_indexed_observations == len(images) == 48
        rows = np.array([47, 0, 5, 5, 20])
        observations = data.observations_by_index(rows)
        assert observations.dtype == np.float32 and observations.shape == (5, 64, 64, 1)
        np.testing.assert_array_equal(observations[..., 0], images[rows])
        with pytest.raises(ValueError, match="must lie in"):
            data.observations_by_index(np.array([48]))
    # A fresh colour or noise per draw: an observation is no function of an index.
    assert ColorDSprites().num_indexed_observations is None
    assert NoisyDSprites().num_indexed_observations is None


def test_color_variant(tiny_npz):
    classes, images = tiny_npz
    data = ColorDSprites()
    assert data.observation_shape == [64, 64, 3]
    observations = data.sample_observations_from_factors(classes[:10], np.random.RandomState(0))
    assert observations.shape == (10, 64, 64, 3) and observations.dtype == np.float32
    for observation, mask in zip(observations, images[:10].astype(bool), strict=True):
        assert np.all(observation[~mask] == 0)
        colors = observation[mask]
        assert np.all(colors == colors[0]) and np.all((colors[0] >= 0.5) & (colors[0] <= 1))


def test_noisy_variant(tiny_npz):
    classes, images = tiny_npz
    data = NoisyDSprites()
    observations = data.sample_observations_from_factors(classes[:10], np.random.RandomState(0))
    assert observations.shape == (10, 64, 64, 3)
    mask = np.repeat(images[:10, ..., None].astype(bool), 3, axis=-1)
    assert np.all(observations[mask] == 1.0)
    background = observations[~mask]
    assert background.min() >= 0 and background.max() < 1 and background.std() > 0.2


def test_tfds_fallback_decodes_factors(empty_data_dirs):
    with tfds.testing.mock_data(num_examples=12):
        data = DSprites()
        examples = list(
            tfds.as_numpy(tfds.builder("dsprites").as_dataset(split="train", shuffle_files=False))
        )
    assert data.factors_num_values == [3, 6, 40, 32, 32]
    keys = [f"label_{name}" for name in ("shape", "scale", "orientation", "x_position")]
    keys.append("label_y_position")
    factors = np.array([[example[key] for key in keys] for example in examples])
    expected = np.array([example["image"][..., 0] != 0 for example in examples])
    # Combinations drawn twice by the mock cannot be told apart: check the unique ones.
    _, first, counts = np.unique(factors, axis=0, return_index=True, return_counts=True)
    unique = first[counts == 1]
    observations = data.sample_observations_from_factors(factors[unique], np.random.RandomState(0))
    assert set(np.unique(observations)) <= {0.0, 1.0}
    np.testing.assert_array_equal(observations[..., 0], expected[unique])


def test_missing_dataset_names_file_and_tfds(empty_data_dirs):
    with pytest.raises(DatasetNotFoundError) as error:
        DSprites()
    message = str(error.value)
    assert dsprites.default_npz_path() in message
    assert str(empty_data_dirs[0]) in message and str(empty_data_dirs[1]) in message
    assert "deepmind/dsprites-dataset" in message
    assert "tfds build dsprites" in message and "tfds.load('dsprites')" in message


def test_bad_metadata_raises(empty_data_dirs, tmp_path):
    path = str(tmp_path / "bad.npz")
    np.savez(
        path,
        imgs=np.zeros((2, 64, 64), np.uint8),
        latents_classes=np.zeros((2, 6), np.int64),
        metadata=np.array({"latents_sizes": np.array([2, 1, 1, 1, 1, 1])}, dtype=object),
    )
    with pytest.raises(ValueError, match="latents_sizes"):
        DSprites(npz_path=path)
