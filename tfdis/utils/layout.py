"""Where each step writes inside a run directory (`--model_dir`), mirroring dlib's layout.

<model_dir>/checkpoints/             tf.train.CheckpointManager (resume state)
<model_dir>/tensorboard/train/       TensorBoard events
<model_dir>/saved_model/             exported SavedModel (encode, decode, reconstruct, sample)
<model_dir>/results/                 train results (gin/, json/, aggregate/)
<model_dir>/postprocessed/<name>/    representation SavedModel + results/ (name: mean, sampled)
<model_dir>/metrics/<name>/<metric>/ results/ of one metric on one representation
"""

from __future__ import annotations

import os


def checkpoint_dir(model_dir: str) -> str:
    return os.path.join(model_dir, "checkpoints")


def tensorboard_dir(model_dir: str) -> str:
    return os.path.join(model_dir, "tensorboard")


def saved_model_dir(model_dir: str) -> str:
    return os.path.join(model_dir, "saved_model")


def results_dir(step_dir: str) -> str:
    return os.path.join(step_dir, "results")


def postprocess_dir(model_dir: str, representation: str) -> str:
    return os.path.join(model_dir, "postprocessed", representation)


def metric_dir(model_dir: str, representation: str, metric: str) -> str:
    return os.path.join(model_dir, "metrics", representation, metric)
