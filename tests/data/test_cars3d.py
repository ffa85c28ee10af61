"""Tests of the Cars3D loader on tiny `.mat` files in dlib's layout."""

from __future__ import annotations

import os

import numpy as np
import pytest
import scipy.io

from tfdis.data import cars3d
from tfdis.data.cars3d import Cars3D
from tfdis.data.paths import DatasetNotFoundError


def _write_car(path: str, car: int, size: int) -> None:
    """A car whose view (azimuth a, elevation e) is constant: RGB = (10 a, 50 e, 100 car)."""
    im = np.zeros((size, size, 3, 24, 4), np.uint8)
    im[:, :, 0] = (10 * np.arange(24))[:, None]
    im[:, :, 1] = (50 * np.arange(4))[None, :]
    im[:, :, 2] = 100 * car
    scipy.io.savemat(path, {"im": im})


def test_cars_layout_and_factors(empty_data_dirs):
    folder = os.path.join(str(empty_data_dirs[0]), "cars")
    os.makedirs(folder)
    # Names sort as car 0 then car 1; the first has the real 128x128 size.
    _write_car(os.path.join(folder, "car_001_mesh.mat"), 0, 128)
    _write_car(os.path.join(folder, "car_002_mesh.mat"), 1, 16)
    data = Cars3D()
    assert data.factors_num_values == [4, 24, 2] and data.num_factors == 3
    assert data.observation_shape == [64, 64, 3]
    factors = np.array([[e, a, c] for e in range(4) for a in range(24) for c in range(2)])
    observations = data.sample_observations_from_factors(factors, np.random.RandomState(0))
    assert observations.shape == (192, 64, 64, 3) and observations.dtype == np.float32
    expected = np.stack([10 * factors[:, 1], 50 * factors[:, 0], 100 * factors[:, 2]], axis=1)
    np.testing.assert_allclose(
        observations,
        np.broadcast_to(expected[:, None, None, :] / 255.0, observations.shape),
        atol=1e-6,
    )


def test_bad_mat_layout(tmp_path):
    path = str(tmp_path / "bad.mat")
    scipy.io.savemat(path, {"im": np.zeros((8, 8, 3, 4, 24), np.uint8)})
    with pytest.raises(ValueError, match="'im' must have shape"):
        cars3d.load_car(path)


def test_missing_cars(empty_data_dirs):
    with pytest.raises(DatasetNotFoundError) as error:
        Cars3D()
    message = str(error.value)
    assert cars3d.default_cars_dir() in message and ".mat" in message
