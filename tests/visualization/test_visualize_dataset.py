"""`visualize_dataset`: the sweeps change only the swept factor; the files have their sizes."""

from __future__ import annotations

import ast
import os

import numpy as np
import pytest
from PIL import Image

from tfdis.data.named_data import register_dataset
from tfdis.testing import TinySquares
from tfdis.visualization import images, visualize_dataset

PAD = images.DEFAULT_PADDING
SIZES = TinySquares.factor_sizes  # (4, 4, 2)


class RecordingSquares(TinySquares):
    """TinySquares that records every factor array it renders."""

    factor_names = ("x", "y", "size")
    calls: list[np.ndarray] = []

    def sample_observations_from_factors(self, factors, random_state):
        RecordingSquares.calls.append(np.array(factors))
        return super().sample_observations_from_factors(factors, random_state)


register_dataset("recording_squares", RecordingSquares)


def _side(tiles, side=64):
    return tiles * side + (tiles - 1) * PAD


def test_sweep_values_subsample_evenly_and_keep_both_ends():
    np.testing.assert_array_equal(visualize_dataset.sweep_values(3), [0, 1, 2])
    values = visualize_dataset.sweep_values(40, 16)
    assert len(values) == 16 and values[0] == 0 and values[-1] == 39
    assert np.all(np.diff(values) > 0)
    np.testing.assert_array_equal(visualize_dataset.sweep_values(32, 16)[:3], [0, 2, 4])
    with pytest.raises(ValueError):
        visualize_dataset.sweep_values(0)


def test_factor_sweep_changes_only_the_swept_factor():
    base = np.array([3, 1, 4, 1, 5])
    sweep = visualize_dataset.factor_sweep(base, 2, np.array([0, 7, 9]))
    np.testing.assert_array_equal(sweep[:, 2], [0, 7, 9])
    np.testing.assert_array_equal(np.delete(sweep, 2, axis=1), np.tile(np.delete(base, 2), (3, 1)))


def test_files_and_the_factors_actually_rendered(tmp_path):
    RecordingSquares.calls.clear()
    output_dir = str(tmp_path / "squares")
    written = visualize_dataset.visualize_dataset("recording_squares", output_dir, seed=3)
    names = [os.path.basename(p) for p in written]
    assert names == [
        "samples.png",
        "factor_sweeps.png",
        "factor0_x.gif",
        "factor1_y.gif",
        "factor2_size.gif",
    ]
    with Image.open(written[0]) as picture:
        assert picture.mode == "L" and picture.size == (_side(8), _side(8))
    with Image.open(written[1]) as picture:  # one row per factor, max(4, 4, 2) columns
        assert picture.mode == "L" and picture.size == (_side(4), _side(3))
    for k, path in enumerate(written[2:]):
        with Image.open(path) as gif:
            assert gif.size == (_side(3), _side(3))  # 9 observations per frame
            assert gif.n_frames == SIZES[k]  # one frame per value; the factor always shows

    calls = RecordingSquares.calls
    assert len(calls[0]) == 64  # the samples
    sweeps, animations = calls[1:4], calls[4:]
    base = sweeps[0][0].copy()
    base[0] = sweeps[1][0, 0]  # row 0 sweeps factor 0; take factor 0's base from row 1
    for k, factors in enumerate(sweeps):
        np.testing.assert_array_equal(factors[:, k], np.arange(SIZES[k]))
        others = np.delete(factors, k, axis=1)
        np.testing.assert_array_equal(others, np.tile(np.delete(base, k), (SIZES[k], 1)))
    assert len(animations) == sum(SIZES)
    start = 0
    for k, size in enumerate(SIZES):
        frames = animations[start : start + size]
        start += size
        for value, factors in enumerate(frames):
            assert factors.shape == (9, 3)
            np.testing.assert_array_equal(factors[:, k], value)
            np.testing.assert_array_equal(
                np.delete(factors, k, axis=1), np.delete(frames[0], k, axis=1)
            )


def test_existing_output_is_refused(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("x")
    with pytest.raises(FileExistsError, match="--overwrite"):
        visualize_dataset.visualize_dataset("test_squares", str(tmp_path / "out"))
    assert os.listdir(tmp_path / "out") == ["keep.txt"]
    written = visualize_dataset.visualize_dataset("test_squares", str(tmp_path / "out"), True)
    assert sorted(os.listdir(tmp_path / "out")) == sorted(os.path.basename(p) for p in written)


def test_weak_pairs_show_each_pair_with_its_changed_factors_named(tmp_path):
    data = TinySquares()
    written = visualize_dataset.visualize_weak_pairs(data, str(tmp_path), seed=3, k=1, num_pairs=4)
    assert [os.path.basename(p) for p in written] == ["weak_pairs.png", "weak_pairs.txt"]
    lines = open(written[1]).read().splitlines()
    assert lines[0] == "k = 1, paper dynamics" and len(lines) == 5
    names = visualize_dataset.factor_names(data)
    for line in lines[1:]:
        changed = line.split("changed ")[1].split(";")[0]
        first = ast.literal_eval(line.split("first ")[1].split(", second")[0])
        second = ast.literal_eval(line.split("second ")[1])
        differ = [names[j] for j in range(3) if first[j] != second[j]]
        assert differ == [changed]
    # Two pairs per row: each tile is 64 x 128 plus its caption strip.
    height, width = np.asarray(Image.open(written[0])).shape[:2]
    strip = visualize_dataset.CAPTION_HEIGHT
    assert (height, width) == (2 * (64 + strip) + 2, 2 * 128 + 2)
