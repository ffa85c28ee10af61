"""`model.eval_every_steps`: metric curves during training, the training stream unchanged."""

from __future__ import annotations

import json
import os

import numpy as np
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.util import tensor_util

from tfdis.testing import TINY_TRAINING_BINDINGS, checkpoint_arrays
from tfdis.training import eval_during_training, train
from tfdis.utils import layout

EVAL = [
    "model.eval_every_steps = 3",
    "mig.num_train = 60",
    "unsupervised_metrics.num_train = 60",
]


def test_metric_curves_are_logged_without_changing_the_training(tmp_path):
    plain, evaluated = str(tmp_path / "plain"), str(tmp_path / "evaluated")
    train.train_with_gin(plain, gin_bindings=TINY_TRAINING_BINDINGS)
    train.train_with_gin(evaluated, gin_bindings=[*TINY_TRAINING_BINDINGS, *EVAL])

    # Same weights and optimizer state: the evaluations drew nothing from the training stream.
    plain_arrays, evaluated_arrays = checkpoint_arrays(plain), checkpoint_arrays(evaluated)
    assert plain_arrays.keys() == evaluated_arrays.keys()
    for key, value in plain_arrays.items():
        np.testing.assert_array_equal(evaluated_arrays[key], value, err_msg=key)
    assert not os.path.exists(eval_during_training.eval_path(plain))

    with open(eval_during_training.eval_path(evaluated)) as f:
        curves = json.load(f)
    assert curves["step"] == [3, 4]  # every 3 steps and the last
    assert all(0.0 <= v <= 1.0 for v in curves["mig.discrete_mig"])
    assert len(curves["unsupervised_metrics.gaussian_total_correlation"]) == 2

    # The curves are in the run's TensorBoard events, one point per evaluation.
    accumulator = event_accumulator.EventAccumulator(
        os.path.join(layout.tensorboard_dir(evaluated), "train"),
        size_guidance={event_accumulator.TENSORS: 0},
    )
    accumulator.Reload()
    points = accumulator.Tensors("eval/mig/discrete_mig")
    assert [p.step for p in points] == [3, 4]
    np.testing.assert_allclose(
        [float(np.asarray(tensor_util.make_ndarray(p.tensor_proto))) for p in points],
        curves["mig.discrete_mig"],
        rtol=1e-6,
    )
