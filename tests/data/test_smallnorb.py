"""Tests of the SmallNORB loader on mocked tfds data."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow_datasets as tfds

from tfdis.data._resize import resize_images, to_uint8
from tfdis.data.paths import DatasetNotFoundError
from tfdis.data.smallnorb import SmallNORB

KEYS = ("label_category", "label_elevation", "label_azimuth", "label_lighting")


def test_mocked_smallnorb(empty_data_dirs):
    with tfds.testing.mock_data(num_examples=6):
        data = SmallNORB()
        examples = list(
            tfds.as_numpy(
                tfds.builder("smallnorb").as_dataset(split="train+test", shuffle_files=False)
            )
        )
    assert data.factors_num_values == [5, 9, 18, 6] and data.num_factors == 4
    assert data.observation_shape == [64, 64, 1]
    factors = np.array([[example[key] for key in KEYS] for example in examples])
    images = to_uint8(resize_images(np.stack([e["image"] for e in examples]), 64))
    # Each requested factor combination yields one of the images that have those factors.
    observations = data.sample_observations_from_factors(factors, np.random.RandomState(0))
    assert observations.shape == (len(examples), 64, 64, 1) and observations.dtype == np.float32
    assert 0.0 <= observations.min() and observations.max() <= 1.0
    for observation, wanted in zip(observations, factors, strict=True):
        candidates = images[(factors == wanted).all(axis=1)] / np.float32(255.0)
        assert np.any(np.all(np.abs(candidates - observation) < 1e-6, axis=(1, 2, 3)))
    # A combination with no image is a clear error.
    absent = next(
        f for f in np.ndindex(5, 9, 18, 6) if not (factors == np.array(f)).all(axis=1).any()
    )
    with pytest.raises(ValueError, match="no observation has factors"):
        data.sample_observations_from_factors(np.array([absent]), np.random.RandomState(0))


def test_missing_smallnorb(empty_data_dirs):
    with pytest.raises(DatasetNotFoundError) as error:
        SmallNORB()
    assert "'smallnorb'" in str(error.value) and "tfds build smallnorb" in str(error.value)
