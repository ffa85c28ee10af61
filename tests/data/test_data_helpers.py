"""Tests of the loaders' shared helpers: grouped sampling, resizing, tfds access."""

from __future__ import annotations

import numpy as np
import pytest

from tfdis.data._grouped import GroupedRows
from tfdis.data._resize import resize_images, to_uint8
from tfdis.data._tfds import load_tfds_arrays, tfds_data_dir
from tfdis.data.paths import DatasetNotFoundError


def test_grouped_rows_draw_uniformly_within_a_group():
    # Factor sizes (2, 3); rows 1, 3, 4 share factors (1, 2); row 0 is alone at (0, 0).
    rows = GroupedRows([2, 3], np.array([[0, 0], [1, 2], [0, 1], [1, 2], [1, 2]]))
    assert not rows.complete
    np.testing.assert_array_equal(rows.counts(np.array([[1, 2], [0, 0], [1, 0]])), [3, 1, 0])
    picks = rows.sample_rows(np.tile([1, 2], (3000, 1)), np.random.RandomState(0))
    assert set(picks) == {1, 3, 4}
    np.testing.assert_allclose(np.bincount(picks, minlength=5)[[1, 3, 4]] / 3000, 1 / 3, atol=0.03)
    np.testing.assert_array_equal(
        rows.sample_rows(np.array([[0, 0], [0, 1]]), np.random.RandomState(0)), [0, 2]
    )
    with pytest.raises(ValueError, match=r"no observation has factors \[\[1, 0\]\]"):
        rows.sample_rows(np.array([[1, 0]]), np.random.RandomState(0))


def test_grouped_rows_with_one_row_each_draw_no_random_numbers():
    rows = GroupedRows([2, 2], np.array([[1, 1], [0, 0], [1, 0], [0, 1]]))
    assert rows.complete
    state = np.random.RandomState(7)
    np.testing.assert_array_equal(rows.sample_rows(np.array([[0, 0], [1, 1]]), state), [1, 0])
    assert state.randint(1000) == np.random.RandomState(7).randint(1000)


def test_grouped_rows_equal_groups():
    assert GroupedRows([2], np.array([[0], [1], [1], [0]])).equal_groups
    assert not GroupedRows([2], np.array([[0], [1], [1]])).equal_groups  # uneven
    assert not GroupedRows([3], np.array([[0], [1]])).equal_groups  # incomplete


def test_resize_keeps_constants_and_range():
    images = np.full((3, 96, 96, 1), 200, np.uint8)
    images[1] = 0
    images[2] = 255
    out = resize_images(images, 64)
    assert out.shape == (3, 64, 64, 1) and out.dtype == np.float32
    np.testing.assert_allclose(out[:, 0, 0, 0], [200 / 255, 0, 1], atol=1e-6)
    assert np.ptp(out[0]) < 1e-6
    # A sharp edge makes Lanczos overshoot: the output is still clipped to [0, 1].
    edge = np.zeros((1, 96, 96), np.uint8)
    edge[:, :, 48:] = 255
    out = resize_images(edge, 64)
    assert out.shape == (1, 64, 64, 1) and out.min() >= 0 and out.max() <= 1
    # Upsampling a 2x2 image bilinearly keeps its corners' mean.
    up = resize_images(np.array([[[0.0, 1.0], [1.0, 0.0]]]), 8, input_max=1.0)
    assert up.mean() == pytest.approx(0.5, abs=1e-6)
    np.testing.assert_array_equal(to_uint8(np.array([0.0, 0.5, 1.0])), [0, 128, 255])
    with pytest.raises(ValueError, match="shape"):
        resize_images(np.zeros((4, 4)), 2)


def test_tfds_data_dir_and_missing(empty_data_dirs):
    assert tfds_data_dir() == str(empty_data_dirs[1])
    assert tfds_data_dir("/x") == "/x"
    with pytest.raises(DatasetNotFoundError, match="tfds build mnist"):
        load_tfds_arrays("mnist", "train", ("image",))
