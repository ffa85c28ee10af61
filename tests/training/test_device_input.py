"""Training with the device-resident input path (`model.input_pipeline`, issue 8 item 2)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow as tf

from tfdis.data import device_resident
from tfdis.data.named_data import register_dataset
from tfdis.testing import (
    TINY_TRAINING_BINDINGS,
    TinySquaresGrid,
    checkpoint_arrays,
    training_killed_at,
)
from tfdis.training import train
from tfdis.utils import layout

register_dataset("test_squares_grid", TinySquaresGrid)
DEVICE_RUN = [
    *TINY_TRAINING_BINDINGS,
    "dataset.name = 'test_squares_grid'",
    "model.input_pipeline = 'device'",
]


def _record_choices(monkeypatch) -> list:
    """Records what `select_input_pipeline` returns during training (None: tf.data)."""
    choices = []
    original = device_resident.select_input_pipeline

    def recording(*args, **kwargs):
        choices.append(original(*args, **kwargs))
        return choices[-1]

    monkeypatch.setattr(device_resident, "select_input_pipeline", recording)
    return choices


def test_resumed_device_run_reads_the_same_batches(tmp_path, monkeypatch):
    choices = _record_choices(monkeypatch)
    straight = str(tmp_path / "straight")
    straight_result = train.train_with_gin(straight, gin_bindings=DEVICE_RUN)
    assert isinstance(choices[-1], device_resident.DeviceResidentObservations)

    resumed = str(tmp_path / "resumed")
    # Killed after the step-2 checkpoint, before step 4's.
    with training_killed_at(3), pytest.raises(KeyboardInterrupt):
        train.train_with_gin(resumed, gin_bindings=DEVICE_RUN)
    assert tf.train.latest_checkpoint(layout.checkpoint_dir(resumed)).endswith("ckpt-2")
    resumed_result = train.train_with_gin(resumed, gin_bindings=DEVICE_RUN)
    assert resumed_result["global_step"] == 4
    assert all(isinstance(c, device_resident.DeviceResidentObservations) for c in choices)

    a, b = checkpoint_arrays(straight), checkpoint_arrays(resumed)
    assert a.keys() == b.keys() and len(a) > 10
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert resumed_result["loss"] == straight_result["loss"]

    # The other path trains on other batches: the weights differ, so the path really switched.
    other = str(tmp_path / "tf_data")
    train.train_with_gin(other, gin_bindings=[*DEVICE_RUN, "model.input_pipeline = 'tf_data'"])
    assert choices[-1] is None
    c = checkpoint_arrays(other)
    assert any(not np.array_equal(a[name], c[name]) for name in a if a[name].dtype.kind == "f")


def test_auto_uses_the_table_for_enumerable_data_read_in_full(tmp_path, monkeypatch):
    choices = _record_choices(monkeypatch)
    auto = [b for b in DEVICE_RUN if not b.startswith("model.input_pipeline")]
    # 4 steps x 8 images = 32 = the 32 images of the grid: the table pays off (with fewer
    # steps "auto" keeps tf.data: tests/data/test_device_resident.py::test_select_input_pipeline).
    train.train_with_gin(str(tmp_path / "grid"), gin_bindings=auto)
    assert choices[-1].num_observations == 32
    with pytest.raises(ValueError, match="not enumerable.*tf_data"):
        train.train_with_gin(
            str(tmp_path / "squares"),
            gin_bindings=[*TINY_TRAINING_BINDINGS, "model.input_pipeline = 'device'"],
        )


def test_a_resumed_auto_run_keeps_the_path_it_started_with(tmp_path, monkeypatch):
    choices = _record_choices(monkeypatch)
    auto = [b for b in DEVICE_RUN if not b.startswith("model.input_pipeline")]
    model_dir = str(tmp_path / "run")
    # 2 steps x 8 images < 32: "auto" starts on tf.data ...
    train.train_with_gin(model_dir, gin_bindings=[*auto, "model.training_steps = 2"])
    os.remove(os.path.join(layout.results_dir(model_dir), "aggregate", "train.json"))
    # ... and keeps it when resumed to 4 steps, where "auto" alone would pick the table.
    train.train_with_gin(model_dir, gin_bindings=auto)
    assert choices == [None, None]
    with open(os.path.join(layout.checkpoint_dir(model_dir), train.INPUT_PIPELINE_FILE)) as f:
        assert f.read() == "tf_data"
    straight = str(tmp_path / "straight")
    train.train_with_gin(straight, gin_bindings=[*auto, "model.input_pipeline = 'tf_data'"])
    a, b = checkpoint_arrays(straight), checkpoint_arrays(model_dir)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
