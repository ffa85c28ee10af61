"""Tests of the identity-observation dataset used by other modules' tests."""

from __future__ import annotations

import numpy as np
import pytest

from tfdis.data.dummy_data import IdentityObservationsData


def test_observations_are_the_factors():
    data = IdentityObservationsData()
    assert data.num_factors == 10 and data.factors_num_values == [10] * 10
    assert data.observation_shape == [10]
    factors, observations = data.sample(200, np.random.RandomState(0))
    assert factors.shape == (200, 10) and observations.dtype == np.float32
    np.testing.assert_array_equal(observations, factors)
    assert factors.min() == 0 and factors.max() == 9


def test_image_shaped_observations():
    data = IdentityObservationsData(num_factors=3, num_values=4, observation_shape=(3, 1, 1))
    factors = np.array([[0, 1, 3], [2, 2, 0]])
    observations = data.sample_observations_from_factors(factors, np.random.RandomState(0))
    assert observations.shape == (2, 3, 1, 1)
    np.testing.assert_array_equal(observations[:, :, 0, 0], factors)


def test_bad_arguments():
    with pytest.raises(ValueError, match="observation_shape"):
        IdentityObservationsData(observation_shape=(5,))
    with pytest.raises(ValueError, match="out of range"):
        IdentityObservationsData().sample_observations_from_factors(
            np.full((1, 10), 10), np.random.RandomState(0)
        )
