"""MPI3D on tiny files written in the official format (npz, key `images`, full grid in C order)."""

from __future__ import annotations

import numpy as np
import pytest

from tfdis.data import mpi3d, named_data
from tfdis.data.device_resident import estimate_table_bytes
from tfdis.data.paths import DatasetNotFoundError

# A reduced grid: 2 colours, 2 shapes, the real sizes 2 and 3 and 3, axes 3 x 2.
SIZES = [2, 2, 2, 3, 3, 3, 2]


def _images(sizes):
    """Image of flat index i encodes i in its first pixel (base 256) and the factors elsewhere."""
    num = int(np.prod(sizes))
    images = np.zeros((num, 64, 64, 3), np.uint8)
    images[:, 0, 0, 0] = np.arange(num) % 256
    images[:, 0, 0, 1] = np.arange(num) // 256
    factors = np.stack(np.unravel_index(np.arange(num), sizes), axis=1)
    images[:, 1, : len(sizes), 0] = factors * 10
    return images


@pytest.mark.parametrize("compressed", [False, True])
def test_factor_index_to_image_follows_the_official_reshape(tmp_path, compressed):
    path = tmp_path / "mpi3d_toy.npz"
    images = _images(SIZES)
    (np.savez_compressed if compressed else np.savez)(path, images=images)
    data = mpi3d.MPI3D("mpi3d_toy", npz_path=str(path), factor_sizes=SIZES)
    assert data.factors_num_values == SIZES and data.observation_shape == [64, 64, 3]
    # The dataset's README: images.reshape(*sizes, 64, 64, 3)[factors] is the image of factors.
    grid = images.reshape(*SIZES, 64, 64, 3)
    factors = data.sample_factors(50, np.random.RandomState(0))
    observations = data.sample_observations_from_factors(factors, np.random.RandomState(1))
    expected = np.stack([grid[tuple(f)] for f in factors]).astype(np.float32) / 255.0
    np.testing.assert_array_equal(observations, expected)
    # Memory-mapped (stored) or mapped from a one-time extraction (compressed): never loaded whole.
    assert isinstance(data._images, np.memmap)
    assert (tmp_path / "mpi3d_toy.npz.images.npy").exists() == compressed
    # Enumerable: index i is image i; the device-resident table is uint8, 12,288 bytes a row.
    assert data.num_indexed_observations == len(images)
    np.testing.assert_array_equal(
        data.observations_by_index(np.array([5, 0, 5])),
        images[[5, 0, 5]].astype(np.float32) / 255.0,
    )
    assert estimate_table_bytes(data) == len(images) * 64 * 64 * 3


def test_grid_is_read_from_the_image_count(monkeypatch):
    assert mpi3d.grid_for_count(1036800) == [6, 6, 2, 3, 3, 40, 40]
    assert mpi3d.grid_for_count(460800) == [4, 4, 2, 3, 3, 40, 40]
    assert int(np.prod(mpi3d.grid_for_count(1036800))) == 1036800
    with pytest.raises(ValueError, match="1036800"):
        mpi3d.grid_for_count(1000)


def test_a_file_of_unknown_count_is_refused_without_a_grid(tmp_path):
    path = tmp_path / "mpi3d_real.npz"
    np.savez(path, images=np.zeros((1, 64, 64, 3), np.uint8))
    with pytest.raises(ValueError, match="1036800"):
        mpi3d.MPI3D("mpi3d_real", npz_path=str(path))


def test_bad_files_and_missing_files(tmp_path, empty_data_dirs):
    path = tmp_path / "bad.npz"
    np.savez(path, images=np.zeros((4, 64, 64, 1), np.uint8))
    with pytest.raises(ValueError, match=r"\(N, 64, 64, 3\)"):
        mpi3d.MPI3D("mpi3d_toy", npz_path=str(path))
    np.savez(path, pictures=np.zeros((4, 64, 64, 3), np.uint8))
    with pytest.raises(KeyError, match="pictures"):
        mpi3d.MPI3D("mpi3d_toy", npz_path=str(path))
    for mode in mpi3d.MODES:
        with pytest.raises(DatasetNotFoundError) as error:
            named_data.get_named_ground_truth_data(mode)
        assert mpi3d.FILE_NAMES[mode] in str(error.value)
        assert f"tfdis_download_data --dataset={mode}" in str(error.value)


def test_named_dataset_reads_dlib_layout(empty_data_dirs):
    folder = empty_data_dirs[0] / "mpi3d_complex"
    folder.mkdir()
    # The file is found under dlib's layout; a tiny grid without mpi3d.factor_sizes is refused.
    np.savez(folder / "real3d_complicated_shapes_ordered.npz", images=_images(SIZES))
    with pytest.raises(ValueError, match="460800"):
        named_data.get_named_ground_truth_data("mpi3d_complex")


def test_device_resident_table_and_gin_grid(tmp_path, empty_data_dirs):
    import gin

    from tfdis.data.device_resident import DeviceResidentObservations, decode_numpy

    folder = empty_data_dirs[0] / "mpi3d_real"
    folder.mkdir()
    images = _images(SIZES)
    np.savez(folder / "mpi3d_real.npz", images=images)
    with gin.unlock_config():
        gin.bind_parameter("mpi3d.factor_sizes", SIZES)
    try:
        data = named_data.get_named_ground_truth_data("mpi3d_real")
    finally:
        gin.clear_config()
    assert data.name == "mpi3d_real" and data.factors_num_values == SIZES
    table = DeviceResidentObservations.from_data(data)
    assert table.encoding == "uint8" and table.num_observations == len(images)
    np.testing.assert_array_equal(
        decode_numpy(table.table.numpy(), "uint8", 64 * 64 * 3),
        images.reshape(len(images), -1).astype(np.float32) / np.float32(255.0),
    )
