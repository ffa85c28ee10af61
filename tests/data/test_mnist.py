"""Tests of the class-labelled digit datasets (mocked tfds MNIST/Fashion-MNIST, sklearn digits)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow_datasets as tfds
from sklearn.datasets import load_digits

from tfdis.data._resize import resize_images, to_uint8
from tfdis.data.mnist import MNIST, Digits, FashionMNIST
from tfdis.data.paths import DatasetNotFoundError


@pytest.mark.parametrize("cls", [MNIST, FashionMNIST])
def test_mocked_tfds_classes(empty_data_dirs, cls):
    with tfds.testing.mock_data(num_examples=30):
        data = cls()
        examples = list(
            tfds.as_numpy(
                tfds.builder(cls.tfds_name).as_dataset(split="train", shuffle_files=False)
            )
        )
    assert data.factors_num_values == [10] and data.observation_shape == [32, 32, 1]
    labels = np.array([example["label"] for example in examples])
    images = to_uint8(resize_images(np.stack([e["image"] for e in examples]), 32)) / np.float32(255)
    classes = np.unique(labels)
    factors = np.repeat(classes, 5)[:, None]
    observations = data.sample_observations_from_factors(factors, np.random.RandomState(0))
    assert observations.shape == (len(factors), 32, 32, 1) and observations.dtype == np.float32
    for observation, label in zip(observations, factors[:, 0], strict=True):
        distances = np.abs(images - observation).max(axis=(1, 2, 3))
        assert np.all(labels[distances < 1e-6] == label) and np.any(distances < 1e-6)


@pytest.mark.parametrize("cls", [MNIST, FashionMNIST])
def test_missing_tfds(empty_data_dirs, cls):
    with pytest.raises(DatasetNotFoundError) as error:
        cls()
    assert f"'{cls.tfds_name}'" in str(error.value)
    assert f"tfds build {cls.tfds_name}" in str(error.value)


def test_digits_offline():
    data = Digits()
    assert data.num_factors == 1 and data.factors_num_values == [10]
    assert data.observation_shape == [32, 32, 1]
    digits = load_digits()
    # Pixel values 0..16 map to [0, 1]; a digit's images all come from its class.
    images = resize_images(digits.images[..., None], 32, input_max=16.0)
    factors, observations = data.sample(50, np.random.RandomState(0))
    assert observations.shape == (50, 32, 32, 1) and observations.dtype == np.float32
    assert observations.min() >= 0 and observations.max() <= 1
    for observation, label in zip(observations, factors[:, 0], strict=True):
        matches = np.flatnonzero(np.abs(images - observation).max(axis=(1, 2, 3)) < 1e-6)
        assert len(matches) >= 1 and np.all(digits.target[matches] == label)
    # All images of a class are reachable: 300 draws of class 0 hit many distinct images.
    zeros = data.sample_observations_from_factors(np.zeros((300, 1), int), np.random.RandomState(1))
    assert len(np.unique(zeros.reshape(300, -1), axis=0)) > 100
