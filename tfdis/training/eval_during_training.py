"""Metric curves during training (`model.eval_every_steps`, `model.eval_metrics`).

Every `eval_every_steps` steps (and at the last step) the in-memory model's mean representation
(as `postprocess/mean.gin` would export it, categories appended) is scored with each metric of
`eval_metrics` on the training dataset. The scores go to TensorBoard (`eval/<metric>/<key>`
in the run's train events) and to `results/json/eval_during_training.json`, one list per key in
step order, kept across resumes: `{"step": [s1, s2, ...], "<metric>.<key>": [v1, v2, ...]}`
(flat, like every file of `results/json/`, so the run's aggregate carries the curves too).

Nothing here touches the training's random stream: metrics draw from their own
`np.random.RandomState(seed)`, batches and noise depend only on the seed and the step, and the
model is only read, so a run with evaluations ends with the weights of one without.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf
from absl import logging

from tfdis.utils import layout, results

EVAL_FILE = "eval_during_training.json"
ENCODE_BATCH = 1024


def in_memory_representation(model) -> Callable[[np.ndarray], np.ndarray]:
    """The mean representation of the in-memory `model` as a numpy function (no export)."""
    from tfdis.postprocessing.postprocess import mean_representation
    from tfdis.training import export

    discrete = bool(list(getattr(model, "discrete_sizes", [])))
    module = export.DiscreteCodeExportModule(model) if discrete else export.VAEExportModule(model)

    def representation_function(observations: np.ndarray) -> np.ndarray:
        observations = np.asarray(observations, dtype=np.float32)
        parts = [
            mean_representation(
                module, tf.constant(observations[start : start + ENCODE_BATCH]), None
            ).numpy()
            for start in range(0, len(observations), ENCODE_BATCH)
        ]
        return np.concatenate(parts, axis=0)

    return representation_function


def eval_path(model_dir: str) -> str:
    return os.path.join(layout.results_dir(model_dir), "json", EVAL_FILE)


def evaluate_during_training(
    model,
    data,
    step: int,
    metrics: Sequence[Callable[..., dict]],
    model_dir: str,
    seed: int = 0,
) -> dict[str, dict]:
    """Scores the model at `step` with `metrics`, logs and records the scores.

    Each metric gets a fresh `np.random.RandomState(seed)`, as `evaluation.random_seed`. Entries
    of earlier (or resumed) evaluations at `step` or later are replaced.
    """
    start = time.time()
    representation_function = in_memory_representation(model)
    scores = {}
    for metric in metrics:
        name = getattr(metric, "__name__", str(metric)).removeprefix("compute_")
        scores[name] = {
            key: float(value)
            for key, value in metric(
                ground_truth_data=data,
                representation_function=representation_function,
                random_state=np.random.RandomState(seed),
            ).items()
            if np.ndim(value) == 0
        }
        for key, value in scores[name].items():
            tf.summary.scalar(f"eval/{name}/{key}", value, step=step)
    path = eval_path(model_dir)
    curves: dict[str, list] = {"step": []}
    if os.path.exists(path):
        with open(path) as f:
            stored = json.load(f)
        keep = [i for i, s in enumerate(stored.get("step", [])) if s < step]
        curves = {key: [values[i] for i in keep] for key, values in stored.items()}
    curves["step"].append(step)
    for name, metric_scores in scores.items():
        for key, value in metric_scores.items():
            curves.setdefault(f"{name}.{key}", [None] * (len(curves["step"]) - 1)).append(value)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    results.atomic_write_text(path, json.dumps(curves, indent=1) + "\n")
    logging.info(
        "Evaluation at step %d (%.1f s): %s",
        step,
        time.time() - start,
        {m: {k: round(v, 4) for k, v in s.items()} for m, s in scores.items()},
    )
    return scores
