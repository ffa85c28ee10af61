"""Tests of the 3D Shapes loader on a tiny h5 in the official format and on mocked tfds."""

from __future__ import annotations

import os

import h5py
import numpy as np
import pytest
import tensorflow_datasets as tfds

from tfdis.data import shapes3d
from tfdis.data.ground_truth_data import FactorGrid
from tfdis.data.paths import DatasetNotFoundError
from tfdis.data.shapes3d import Shapes3D

# Factor values as in the official labels, two per factor (three for the shape).
VALUES = [[0.0, 0.1], [0.3, 0.9], [0.5, 0.6], [0.75, 1.25], [0.0, 1.0, 3.0], [-30.0, 30.0]]


@pytest.fixture
def tiny_h5(empty_data_dirs):
    sizes = [len(v) for v in VALUES]
    grid = FactorGrid(sizes)
    factors = grid.index_to_features(np.arange(grid.num_states))
    labels = np.stack([np.asarray(VALUES[f])[factors[:, f]] for f in range(6)], axis=1)
    images = np.random.RandomState(0).randint(0, 256, (grid.num_states, 64, 64, 3), np.uint8)
    # Stored in shuffled order: the loader must use the labels, not the row order.
    order = np.random.RandomState(1).permutation(grid.num_states)
    path = os.path.join(str(empty_data_dirs[0]), shapes3d.H5_NAME)
    os.makedirs(os.path.dirname(path))
    with h5py.File(path, "w") as f:
        f["images"] = images[order]
        f["labels"] = labels[order]
    return sizes, factors, images


@pytest.mark.parametrize("in_memory", [False, True])
def test_h5_loader(tiny_h5, in_memory):
    sizes, factors, images = tiny_h5
    data = Shapes3D(in_memory=in_memory)
    assert data.factors_num_values == sizes and data.num_factors == 6
    assert data.observation_shape == [64, 64, 3]
    # Repeated and unordered rows.
    pick = np.random.RandomState(2).randint(0, len(factors), size=40)
    observations = data.sample_observations_from_factors(factors[pick], np.random.RandomState(0))
    assert observations.dtype == np.float32 and observations.shape == (40, 64, 64, 3)
    np.testing.assert_allclose(observations, images[pick] / np.float32(255.0), rtol=0, atol=1e-7)
    sampled = data.sample_factors(100, np.random.RandomState(0))
    assert np.all(sampled.max(axis=0) < sizes) and sampled.min() >= 0


@pytest.mark.parametrize("in_memory", [False, True])
def test_h5_is_enumerable_by_row(tiny_h5, in_memory):
    _, factors, images = tiny_h5
    data = Shapes3D(in_memory=in_memory)
    assert data.num_indexed_observations == len(factors) == 96
    stored = images[np.random.RandomState(1).permutation(len(factors))]  # the file's row order
    rows = np.array([95, 3, 0, 3, 77])
    observations = data.observations_by_index(rows)
    assert observations.dtype == np.float32 and observations.shape == (5, 64, 64, 3)
    np.testing.assert_array_equal(observations, stored[rows] / np.float32(255.0))


def test_factors_from_values():
    indices, sizes = shapes3d.factors_from_values(np.array([[0.5, -30.0], [0.1, 30.0], [0.5, 0.0]]))
    assert sizes == [2, 3]
    np.testing.assert_array_equal(indices, [[1, 0], [0, 2], [1, 1]])


def test_tfds_fallback(empty_data_dirs):
    with tfds.testing.mock_data(num_examples=10):
        data = Shapes3D()
        examples = list(
            tfds.as_numpy(tfds.builder("shapes3d").as_dataset(split="train", shuffle_files=False))
        )
    assert data.factors_num_values == [10, 10, 10, 8, 4, 15]
    keys = [f"label_{n}" for n in shapes3d.FACTOR_NAMES]
    factors = np.array([[example[key] for key in keys] for example in examples])
    observations = data.sample_observations_from_factors(factors[:1], np.random.RandomState(0))
    assert observations.shape == (1, 64, 64, 3)
    assert 0.0 <= observations.min() and observations.max() <= 1.0
    np.testing.assert_allclose(observations[0], examples[0]["image"] / 255.0, atol=1e-6)


def test_missing_dataset(empty_data_dirs):
    with pytest.raises(DatasetNotFoundError) as error:
        Shapes3D()
    message = str(error.value)
    assert shapes3d.default_h5_path() in message and "'shapes3d'" in message
    assert "tfds build shapes3d" in message and str(empty_data_dirs[1]) in message
