"""Tests that every registered dataset name resolves offline to data or to a clear error."""

from __future__ import annotations

import numpy as np
import pytest

from tfdis.data import named_data
from tfdis.data.ground_truth_data import GroundTruthData
from tfdis.data.paths import DatasetNotFoundError

BUILT_IN = {
    "dsprites_procedural",
    "dsprites_full",
    "dsprites_noshape",
    "color_dsprites",
    "noisy_dsprites",
    "shapes3d",
    "smallnorb",
    "cars3d",
    "mnist",
    "fashion_mnist",
    "digits",
    "dummy_data",
    "mpi3d_toy",
    "mpi3d_realistic",
    "mpi3d_real",
    "mpi3d_complex",
    "scream_dsprites",
    "npz",
}
OFFLINE = {"dsprites_procedural", "digits", "dummy_data"}
# What each missing dataset's message must name: its file or folder and its tfds name.
MISSING_MENTIONS = {
    "dsprites_full": ("dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz", "'dsprites'"),
    "dsprites_noshape": ("dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz", "'dsprites'"),
    "color_dsprites": ("dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz", "'dsprites'"),
    "noisy_dsprites": ("dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz", "'dsprites'"),
    "shapes3d": ("3dshapes.h5", "'shapes3d'"),
    "smallnorb": ("'smallnorb'",),
    "cars3d": ("cars", ".mat"),
    "mnist": ("'mnist'",),
    "fashion_mnist": ("'fashion_mnist'",),
    "mpi3d_toy": ("mpi3d_toy.npz", "tfdis_download_data"),
    "mpi3d_realistic": ("mpi3d_realistic.npz", "tfdis_download_data"),
    "mpi3d_real": ("mpi3d_real.npz", "tfdis_download_data"),
    "mpi3d_complex": ("real3d_complicated_shapes_ordered.npz", "tfdis_download_data"),
    "scream_dsprites": ("scream.jpg", "tfdis_download_data"),
}
# Datasets that tfds does not have: their messages name only the tfdis data dir.
NO_TFDS = {
    "cars3d",
    "mpi3d_toy",
    "mpi3d_realistic",
    "mpi3d_real",
    "mpi3d_complex",
    "scream_dsprites",
}


def test_registry_lists_the_built_in_datasets():
    assert BUILT_IN <= set(named_data.dataset_names())
    assert OFFLINE | set(MISSING_MENTIONS) | {"npz"} == BUILT_IN


@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_name_resolves_to_data_or_clear_error(empty_data_dirs, name):
    if name in OFFLINE:
        data = named_data.get_named_ground_truth_data(name)
        assert isinstance(data, GroundTruthData)
        factors, observations = data.sample(4, np.random.RandomState(0))
        assert factors.shape == (4, data.num_factors)
        assert observations.shape == (4, *data.observation_shape)
        return
    with pytest.raises(DatasetNotFoundError) as error:
        named_data.get_named_ground_truth_data(name)
    for mention in MISSING_MENTIONS.get(name, ()):
        assert mention in str(error.value)
    # File datasets name the tfdis data dir; tfds datasets name the tfds data dir.
    if name == "npz":
        assert "npz_data.path" in str(error.value)
        return
    tfds_only = {"smallnorb", "mnist", "fashion_mnist"}
    assert str(empty_data_dirs[1 if name in tfds_only else 0]) in str(error.value)
    if name not in tfds_only | NO_TFDS:
        assert str(empty_data_dirs[1]) in str(error.value)


def test_every_registered_name_resolves(empty_data_dirs):
    # Includes names registered by users or other tests (e.g. tests/conftest.py).
    for name in named_data.dataset_names():
        try:
            data = named_data.get_named_ground_truth_data(name)
        except DatasetNotFoundError as error:
            assert name not in OFFLINE and str(error)
        else:
            assert isinstance(data, GroundTruthData)


def test_unknown_name_lists_known_names():
    with pytest.raises(ValueError, match="Unknown dataset name 'nope'") as error:
        named_data.get_named_ground_truth_data("nope")
    for name in BUILT_IN:
        assert name in str(error.value)
