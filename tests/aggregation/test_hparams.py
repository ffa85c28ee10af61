"""HParams summaries of a study table, read back with TensorBoard's own reader."""

from __future__ import annotations

import os

import pytest
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.plugins.hparams import metadata, plugin_data_pb2
from tensorboard.util import tensor_util

from tfdis.aggregation.hparams import hparam_and_metric_columns, write_hparams

COLUMNS = [
    "model_dir",
    "representation",
    "model",
    "regularization_parameter",
    "regularization_strength",
    "train_config.model.random_seed",
    "train_config.dataset.name",
    "train_results.elbo",
    "mig.discrete_mig",
    "mig.elapsed_time",
    "sap_score.SAP_score",
]
ROWS = [
    {
        "model_dir": "/s/0",
        "representation": "mean",
        "model": "beta_vae",
        "regularization_parameter": "vae.beta",
        "regularization_strength": 1.0,
        "train_config.model.random_seed": 0,
        "train_config.dataset.name": "dsprites_full",
        "train_results.elbo": 100.0,
        "mig.discrete_mig": 0.25,
        "mig.elapsed_time": 3.0,
        "sap_score.SAP_score": 0.5,
    },
    {
        "model_dir": "/s/1",
        "representation": "mean",
        "model": "beta_vae",
        "regularization_parameter": "vae.beta",
        "regularization_strength": 4.0,
        "train_config.model.random_seed": 1,
        "train_config.dataset.name": "dsprites_full",
        "train_results.elbo": 120.0,
        "mig.discrete_mig": 0.125,
        "mig.elapsed_time": 2.0,
        "sap_score.SAP_score": None,  # not evaluated for this model
    },
]


def _read(path: str) -> event_accumulator.EventAccumulator:
    accumulator = event_accumulator.EventAccumulator(
        path, size_guidance={event_accumulator.TENSORS: 0}
    )
    accumulator.Reload()
    return accumulator


def test_columns_split_into_hyperparameters_and_metrics():
    hparams, metrics = hparam_and_metric_columns(ROWS, COLUMNS)
    assert hparams == [
        "representation",
        "model",
        "regularization_strength",
        "train_config.model.random_seed",
        "train_config.dataset.name",
    ]
    assert metrics == ["mig.discrete_mig", "sap_score.SAP_score"]


def test_hparams_summaries_read_back_with_tensorboard(tmp_path):
    directory = write_hparams(ROWS, COLUMNS, str(tmp_path))
    experiment = _read(directory).PluginTagToContent(metadata.PLUGIN_NAME)
    config = plugin_data_pb2.HParamsPluginData.FromString(experiment[metadata.EXPERIMENT_TAG])
    assert [h.name for h in config.experiment.hparam_infos] == [
        "representation",
        "model",
        "regularization_strength",
        "train_config.model.random_seed",
        "train_config.dataset.name",
    ]
    assert [m.name.tag for m in config.experiment.metric_infos] == [
        "mig.discrete_mig",
        "sap_score.SAP_score",
    ]
    runs = sorted(os.listdir(directory))
    runs = [r for r in runs if os.path.isdir(os.path.join(directory, r))]
    assert runs == ["0000_0", "0001_1"]
    for run, row in zip(runs, ROWS, strict=True):
        accumulator = _read(os.path.join(directory, run))
        content = accumulator.PluginTagToContent(metadata.PLUGIN_NAME)
        session = plugin_data_pb2.HParamsPluginData.FromString(
            content[metadata.SESSION_START_INFO_TAG]
        ).session_start_info
        hparams = {
            name: value.WhichOneof("kind") and getattr(value, value.WhichOneof("kind"))
            for name, value in session.hparams.items()
        }
        assert hparams["regularization_strength"] == row["regularization_strength"]
        assert hparams["train_config.model.random_seed"] == row["train_config.model.random_seed"]
        assert hparams["train_config.dataset.name"] == "dsprites_full"
        for tag in ("mig.discrete_mig", "sap_score.SAP_score"):
            if row[tag] is None:
                assert tag not in accumulator.Tags()["tensors"]
                continue
            (event,) = accumulator.Tensors(tag)
            assert event.step == 0
            assert tensor_util.make_ndarray(event.tensor_proto) == pytest.approx(row[tag])
