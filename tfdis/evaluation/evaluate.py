"""Evaluation: one metric on one postprocessed representation (dlib's evaluate step).

`evaluate(model_dir, output_dir)` is bound by gin as `evaluation.*` (`evaluation.evaluation_fn =
@mig`, `evaluation.random_seed`). The metric is called with the ground-truth data of the training
run (unless `dataset.name` is bound), a fresh `np.random.RandomState(random_seed)`, and either a
`representation_function` or, for metrics that take one, a `posterior_encoder`.

With `evaluation.use_code_table` (the default), a deterministic representation of a dataset
whose observations are indexed by their factors is encoded once into a code table stored with
the postprocessed model, and the metric looks codes up instead of encoding
(`tfdis.evaluation.code_table`; same random draws, same scores). Exact MIG, which needs each
observation's posterior means and log-variances only, reads them from a posterior table built
the same way.
"""

from __future__ import annotations

import inspect
import os
import time
import uuid
from collections.abc import Callable

import gin
import numpy as np
from absl import logging

from tfdis.data.named_data import get_named_ground_truth_data
from tfdis.evaluation import code_table
from tfdis.evaluation.repeats import run_repeated
from tfdis.evaluation.saved_model_functions import SavedModelPosterior, load_representation_function
from tfdis.utils import gin_utils, gin_validation, layout, results
from tfdis.utils.model_metadata import read_model_metadata


def training_dataset_name(model_dir: str) -> str:
    """The dataset the model in `model_dir` was trained on.

    Read from the SavedModel's metadata (the resolved name, even if gin bound it through a
    macro), else from the training step's `dataset.name` in `results/json/train_config.json`.
    """
    name = read_model_metadata(layout.saved_model_dir(model_dir)).get("dataset")
    if name:
        return name
    path = os.path.join(layout.results_dir(model_dir), "json", "train_config.json")
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"{path} is missing: {model_dir} is not a trained or postprocessed tfdis run."
        )
    name = results.read_json(path).get("dataset.name")
    if not name or name.startswith("%"):
        raise ValueError(f"{path} records no dataset name; bind dataset.name for evaluation.")
    return name


# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "evaluation": {
            "evaluation_fn": {"kind": "callable"},
            "random_seed": {"kind": "int", "minimum": 0},
            "name": {"kind": "str"},
            "repeats": {"kind": "int", "positive": True},
            "use_code_table": {"kind": "bool"},
        }
    },
)


@gin.configurable("evaluation", denylist=["model_dir", "output_dir", "representation_function"])
def evaluate(
    model_dir: str | None,
    output_dir: str,
    evaluation_fn: Callable[..., dict] = gin.REQUIRED,
    random_seed: int = gin.REQUIRED,
    name: str = "",
    repeats: int = 1,
    use_code_table: bool = True,
    representation_function: Callable[[np.ndarray], np.ndarray] | None = None,
) -> dict:
    """Scores the postprocessed model in `model_dir` with `evaluation_fn`, writing `output_dir`.

    Args:
        model_dir: a postprocessed directory (holds `saved_model/` with `representation`).
        output_dir: where the metric's results go.
        evaluation_fn: the metric (gin: `evaluation.evaluation_fn = @mig`).
        random_seed: seed of the metric's `np.random.RandomState`.
        name: label recorded in the results.
        repeats: runs with seeds `random_seed, random_seed + 1, ...`; above 1 the results gain
            `k.mean` and `k.std` per numeric key (`tfdis.evaluation.repeats`).
        use_code_table: look codes (or, for exact MIG, posterior means and log-variances) up in
            the model's tables where they apply (see the module docstring); False encodes every
            observation the metric draws.
        representation_function: score this numpy function (`[B, H, W, C]` -> `[B, D]`)
            instead of a SavedModel; `model_dir` is then None and `dataset.name` must be bound.

    Returns:
        The metric's results plus `elapsed_time` and `uuid`.
    """
    gin_validation.check_parameters("evaluation", locals(), _GIN_RULES["evaluation"])
    del name
    start = time.time()
    dataset_name = gin_utils.query("dataset.name")
    if representation_function is not None:
        return _evaluate_function(
            representation_function, output_dir, evaluation_fn, random_seed, dataset_name, start
        )
    if dataset_name in (None, "auto"):
        dataset_name = training_dataset_name(model_dir)
    ground_truth_data = get_named_ground_truth_data(name=dataset_name)
    saved_model = layout.saved_model_dir(model_dir)
    if not os.path.isdir(saved_model):
        raise FileNotFoundError(
            f"no postprocessed SavedModel at {saved_model}; run tfdis_postprocess."
        )
    parameters = inspect.signature(evaluation_fn).parameters
    kwargs = {
        "ground_truth_data": ground_truth_data,
        "random_state": np.random.RandomState(random_seed),
        "artifact_dir": os.path.join(output_dir, "artifacts"),
    }
    if "posterior_encoder" in parameters:
        kwargs["posterior_encoder"] = SavedModelPosterior(saved_model)
        if use_code_table:
            tabled = code_table.with_posterior_table(
                model_dir,
                ground_truth_data,
                kwargs["posterior_encoder"],
                getattr(evaluation_fn, "__name__", ""),
            )
            if tabled is not None:
                kwargs["ground_truth_data"], kwargs["posterior_encoder"] = tabled
    else:
        representation_function = load_representation_function(saved_model)
        tabled = None
        if use_code_table:
            postprocess_fn = read_model_metadata(saved_model).get("postprocess_fn")
            tabled = code_table.with_code_table(
                model_dir, ground_truth_data, representation_function, postprocess_fn
            )
        if tabled is not None:
            kwargs["ground_truth_data"], representation_function = tabled
        kwargs["representation_function"] = representation_function
    metric_results = run_repeated(evaluation_fn, kwargs, random_seed, repeats)
    metric_results.update(elapsed_time=time.time() - start, uuid=str(uuid.uuid4()))
    result_dir = layout.results_dir(output_dir)
    results.save_gin_config(result_dir, "evaluation", gin_utils.operative_config())
    results.update_result_directory(
        result_dir, "evaluation", metric_results, previous_result_dir=layout.results_dir(model_dir)
    )
    logging.info("%s: %s", getattr(evaluation_fn, "__name__", "metric"), metric_results)
    return metric_results


def _evaluate_function(
    representation_function: Callable[[np.ndarray], np.ndarray],
    output_dir: str,
    evaluation_fn: Callable[..., dict],
    random_seed: int,
    dataset_name: str | None,
    start: float,
) -> dict:
    """`evaluate` for a representation given as a Python function (no SavedModel, no table)."""
    metric_name = getattr(evaluation_fn, "__name__", "the metric")
    if dataset_name in (None, "auto"):
        raise ValueError(
            "a representation function has no training dataset: bind dataset.name (e.g. "
            "--gin_bindings=\"dataset.name='dsprites_full'\")."
        )
    if "representation_function" not in inspect.signature(evaluation_fn).parameters:
        raise ValueError(
            f"{metric_name} scores a model's posterior; a representation function gives codes "
            "only (use a metric that takes a representation_function)."
        )
    metric_results = dict(
        evaluation_fn(
            ground_truth_data=get_named_ground_truth_data(name=dataset_name),
            representation_function=representation_function,
            random_state=np.random.RandomState(random_seed),
            artifact_dir=os.path.join(output_dir, "artifacts"),
        )
    )
    metric_results.update(elapsed_time=time.time() - start, uuid=str(uuid.uuid4()))
    result_dir = layout.results_dir(output_dir)
    results.save_gin_config(result_dir, "evaluation", gin_utils.operative_config())
    results.update_result_directory(result_dir, "evaluation", metric_results)
    logging.info("%s: %s", metric_name, metric_results)
    return metric_results


def evaluate_with_gin(
    model_dir: str,
    output_dir: str,
    overwrite: bool = False,
    gin_config_files: list[str] | tuple[str, ...] = (),
    gin_bindings: list[str] | tuple[str, ...] = (),
) -> dict:
    """Parses gin, refuses an existing `output_dir` unless `overwrite`, and evaluates."""
    return gin_utils.run_step_with_gin(
        evaluate,
        model_dir,
        output_dir,
        overwrite,
        "Evaluation output",
        gin_config_files,
        gin_bindings,
    )
