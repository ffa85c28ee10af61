"""TensorBoard HParams summaries of a study table: hyperparameters against every metric.

`write_hparams(rows, columns, output_path)` writes `<output_path>/hparams/`: the experiment
(every hyperparameter and metric) at its root and one run per table row, whose session records
the row's hyperparameters and logs each metric score as a scalar at step 0. Open it with
`tensorboard --logdir <output_path>/hparams` and the HParams dashboard.

Hyperparameters are `model`, `representation`, `regularization_strength` and every
`train_config.*` column with a number, string or boolean value; metrics are every numeric
`<metric>.<key>` column except the timings (`*.elapsed_time`).
"""

from __future__ import annotations

import os
import shutil
from typing import Any

HPARAMS_DIR = "hparams"
_HPARAM_COLUMNS = ("model", "representation", "regularization_strength")
_NOT_METRICS = ("model_dir", "regularization_parameter")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def hparam_and_metric_columns(
    rows: list[dict[str, Any]], columns: list[str]
) -> tuple[list[str], list[str]]:
    """The table's hyperparameter columns and metric columns (see the module docstring)."""
    hparams, metrics = [], []
    for column in columns:
        values = [row.get(column) for row in rows if row.get(column) is not None]
        if not values:
            continue
        if column in _HPARAM_COLUMNS or column.startswith("train_config."):
            if all(isinstance(v, (str, bool)) or _is_number(v) for v in values):
                hparams.append(column)
        elif (
            column not in _NOT_METRICS
            and not column.startswith("train_results.")
            and not column.endswith(".elapsed_time")
            and all(_is_number(v) for v in values)
        ):
            metrics.append(column)
    return hparams, metrics


def write_hparams(rows: list[dict[str, Any]], columns: list[str], output_path: str) -> str:
    """Writes the HParams summaries of the table into `<output_path>/hparams/`; returns it."""
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp

    directory = os.path.join(output_path, HPARAMS_DIR)
    if os.path.isdir(directory):
        shutil.rmtree(directory)
    hparam_columns, metric_columns = hparam_and_metric_columns(rows, columns)
    with tf.summary.create_file_writer(directory).as_default():
        hp.hparams_config(
            hparams=[hp.HParam(column) for column in hparam_columns],
            metrics=[hp.Metric(column) for column in metric_columns],
        )
    for index, row in enumerate(rows):
        name = f"{index:04d}_{os.path.basename(os.path.normpath(row.get('model_dir') or 'run'))}"
        values = {c: row[c] for c in hparam_columns if row.get(c) is not None}
        with tf.summary.create_file_writer(os.path.join(directory, name)).as_default():
            hp.hparams(values, trial_id=row.get("model_dir") or name)
            for column in metric_columns:
                if row.get(column) is not None:
                    tf.summary.scalar(column, float(row[column]), step=0)
    return directory
