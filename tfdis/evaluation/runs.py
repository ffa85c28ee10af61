"""Evaluating run directories: named metric configs, locks, skipping complete results.

`evaluate_run` scores one trained run (postprocessing it first if its representation is
missing), `evaluate_runs` every run matching a glob, `evaluate_function` a Python function;
`tfdis_evaluate` (`tfdis.cli.evaluate`) parses the flags and calls them, and the study runner
(`tfdis.studies.reproduce`) calls `evaluate_run` for each representation of a study's model.
"""

from __future__ import annotations

import concurrent.futures
import glob
import multiprocessing
import os
import pickle
from collections.abc import Callable

DEFAULT_METRICS = ("mig",)
# Metrics that score a categorical code; `--metrics=all` skips them for models without one.
DISCRETE_CODE_METRICS = ("discrete_accuracy",)
# With `overlap`, these run in this process while the other metrics run in a low-priority worker.
# Off by default: since exact DCI builds each boosting stage's trees in threads it keeps every
# core busy, and on 2 cores the overlapped suite measured 195 s against 176 s one after the
# other (`benchmarks/bench_metrics.py --dci_backend=exact [--overlap]`). It pays off on
# machines with more cores than DCI's factor fits can use.
OVERLAPPED_METRICS = ("dci",)


def available_metrics() -> list[str]:
    """Names of the metric configs in `gin_configs/metrics/`."""
    from tfdis.utils import step_configs

    return step_configs.available_names("metrics")


def evaluate_run(
    model_dir: str,
    metrics: list[str] | tuple[str, ...] = DEFAULT_METRICS,
    representation: str = "mean",
    overwrite: bool = False,
    gin_bindings: list[str] | tuple[str, ...] = (),
    gin_config_files: list[str] | tuple[str, ...] = (),
    overlap: bool = False,
    repeats: int = 1,
) -> dict[str, dict]:
    """Evaluates a trained run on `metrics`; returns `{label: results}`.

    Each entry of `metrics` is a config name (`gin_configs/metrics/<name>.gin`, filed under the
    name) or a gin file path (filed under its stem). `gin_config_files` and `gin_bindings` apply
    on top of each metric's own config; they may not rebind its `evaluation.evaluation_fn`
    (ValueError), so a result is never filed under another metric's name. With `repeats`
    R > 1 each metric runs with R random states (`evaluation.repeats`). With
    `overlap`, DCI runs in this process while the other metrics run in a spawned low-priority
    process (same results, shorter wall time; see `OVERLAPPED_METRICS`).
    """
    from tfdis.postprocessing.runs import postprocess_run
    from tfdis.utils import layout, run_lock, step_configs

    run_lock.refuse_if_training(model_dir, "evaluate")
    if not os.path.isdir(layout.saved_model_dir(model_dir)):
        raise FileNotFoundError(
            f"{model_dir} has no exported model ({layout.saved_model_dir(model_dir)}); "
            "train it first with tfdis_train."
        )
    if repeats != 1:
        from tfdis.evaluation.metrics.utils import check_positive_int

        repeats = check_positive_int(repeats, "--repeats")
        gin_bindings = [*gin_bindings, f"evaluation.repeats = {repeats}"]
    metrics = _expand_all(model_dir, metrics)
    configs = step_configs.resolve_all("metrics", list(metrics))
    for config in configs:
        step_configs.check_not_rebound("metrics", config, gin_config_files, gin_bindings)
    with run_lock.run_lock(model_dir, exclusive=False, action="evaluate"):
        representation_config = step_configs.resolve("postprocess", representation)
        postprocessed = layout.postprocess_dir(model_dir, representation_config.label)
        if not os.path.isdir(layout.saved_model_dir(postprocessed)):
            postprocess_run(model_dir, representation, overwrite=True)
        step_args = (
            model_dir,
            representation_config.label,
            overwrite,
            tuple(gin_config_files),
            tuple(gin_bindings),
        )
        slow = [c for c in configs if c.function in OVERLAPPED_METRICS]
        others = [c for c in configs if c.function not in OVERLAPPED_METRICS]
        if overlap and slow and others:
            all_results = _evaluate_overlapped(slow, others, step_args)
        else:
            all_results = _evaluate_metrics(configs, *step_args)
    return {config.label: all_results[config.label] for config in configs}


def _expand_all(model_dir: str, metrics) -> list[str]:
    """`metrics`, with `["all"]` expanded to the configs that apply to the model."""
    from tfdis.utils import layout
    from tfdis.utils.model_metadata import read_model_metadata

    if list(metrics) != ["all"]:
        return list(metrics)
    names = available_metrics()
    if not read_model_metadata(layout.saved_model_dir(model_dir)).get("discrete_sizes"):
        names = [m for m in names if m not in DISCRETE_CODE_METRICS]
    return names


def _finished(step_dir: str) -> bool:
    """Whether an evaluation's results are complete (its aggregate JSON is written last)."""
    from tfdis.utils import layout

    return os.path.exists(
        os.path.join(layout.results_dir(step_dir), "aggregate", "evaluation.json")
    )


def evaluate_runs(
    pattern: str,
    metrics: list[str] | tuple[str, ...] = DEFAULT_METRICS,
    representation: str = "mean",
    overwrite: bool = False,
    gin_bindings: list[str] | tuple[str, ...] = (),
    gin_config_files: list[str] | tuple[str, ...] = (),
    overlap: bool = False,
) -> dict[str, dict[str, dict]]:
    """Evaluates every trained run matching the glob `pattern` in this process.

    Metrics whose results are complete are skipped (all of them with `overwrite`: none);
    unfinished ones are redone. A run that fails is reported and the others still run.

    Returns:
        `{model_dir: {label: results}}` for the metrics evaluated now.

    Raises:
        FileNotFoundError: `pattern` matches no directory with an exported model.
        ValueError: a metric config is unknown or rebound, or some runs failed (after the
            others were evaluated); the message names them.
    """
    from absl import logging

    from tfdis.data.paths import DatasetNotFoundError
    from tfdis.utils import layout, step_configs

    model_dirs = sorted(d for d in glob.glob(pattern) if os.path.isdir(layout.saved_model_dir(d)))
    if not model_dirs:
        raise FileNotFoundError(
            f"--model_dirs={pattern!r} matches no trained run (a directory with saved_model/)."
        )
    representation_label = step_configs.resolve("postprocess", representation).label
    evaluated, failed = {}, []
    for number, model_dir in enumerate(model_dirs, start=1):
        names = _expand_all(model_dir, metrics)
        configs = step_configs.resolve_all("metrics", names)
        pending = [
            name
            for name, config in zip(names, configs, strict=True)
            if overwrite
            or not _finished(layout.metric_dir(model_dir, representation_label, config.label))
        ]
        if not pending:
            logging.info("Run %d/%d %s: evaluated, skipped.", number, len(model_dirs), model_dir)
            continue
        logging.info("Run %d/%d %s: evaluating %s.", number, len(model_dirs), model_dir, pending)
        try:
            # Pending results are unfinished (or to be replaced): their directories are redone.
            evaluated[model_dir] = evaluate_run(
                model_dir,
                pending,
                representation,
                True,
                gin_bindings,
                gin_config_files,
                overlap,
            )
        except (DatasetNotFoundError, FileNotFoundError, FileExistsError, ValueError) as error:
            logging.error("Run %s failed: %s", model_dir, error)
            failed.append(f"{model_dir} ({error})")
    if failed:
        raise ValueError(f"{len(failed)} of {len(model_dirs)} runs failed: {'; '.join(failed)}")
    return evaluated


def load_callable(spec: str):
    """The Python callable named `module:function` (the working directory is importable).

    Raises:
        ValueError: `spec` is not of that form, or names nothing callable.
    """
    import importlib
    import sys

    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"--representation_fn={spec!r} must be 'module:function'.")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        target = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(
            f"cannot import {module_name!r} for --representation_fn: {error}"
        ) from error
    for part in attribute.split("."):
        target = getattr(target, part, None)
    if not callable(target):
        raise ValueError(f"--representation_fn={spec!r} names nothing callable.")
    return target


def evaluate_function(
    representation_fn: str | Callable,
    output_dir: str,
    metrics: list[str] | tuple[str, ...] = DEFAULT_METRICS,
    overwrite: bool = False,
    gin_bindings: list[str] | tuple[str, ...] = (),
    gin_config_files: list[str] | tuple[str, ...] = (),
) -> dict[str, dict]:
    """Scores a Python function on `metrics`, as dlib's metric API takes one.

    `representation_fn` is `module:function` or the callable itself. Results go to
    `<output_dir>/metrics/<function name>/<metric label>/`; `dataset.name` must be bound (in a
    metric config or a binding). Returns `{label: results}`.
    """
    import functools

    from tfdis.evaluation.evaluate import evaluate
    from tfdis.utils import gin_utils, layout, step_configs

    if isinstance(representation_fn, str):
        function = load_callable(representation_fn)
        label = representation_fn.partition(":")[2].split(".")[-1]
    else:
        function, label = representation_fn, representation_fn.__name__
    if list(metrics) == ["all"]:
        raise ValueError("--metrics=all includes posterior metrics; name the metrics to run.")
    configs = step_configs.resolve_all("metrics", list(metrics))
    for config in configs:
        step_configs.check_not_rebound("metrics", config, gin_config_files, gin_bindings)
    return {
        config.label: gin_utils.run_step_with_gin(
            functools.partial(evaluate, representation_function=function),
            None,
            layout.metric_dir(output_dir, label, config.label),
            overwrite,
            "Evaluation output",
            [config.config_file, *gin_config_files],
            list(gin_bindings),
        )
        for config in configs
    }


def _evaluate_metrics(
    configs: list,
    model_dir: str,
    representation: str,
    overwrite: bool,
    gin_config_files: tuple[str, ...],
    gin_bindings: tuple[str, ...],
) -> dict[str, dict]:
    """Runs the metric steps (`step_configs.StepConfig`s) one after the other in this process."""
    from tfdis.evaluation.evaluate import evaluate_with_gin
    from tfdis.utils import layout

    postprocessed = layout.postprocess_dir(model_dir, representation)
    return {
        config.label: evaluate_with_gin(
            postprocessed,
            layout.metric_dir(model_dir, representation, config.label),
            overwrite,
            [config.config_file, *gin_config_files],
            list(gin_bindings),
        )
        for config in configs
    }


def _init_low_priority_worker(datasets: dict) -> None:
    """Worker start-up: lowest useful CPU priority, and the parent's registered datasets."""
    from tfdis.data import named_data

    try:
        os.nice(10)
    except OSError:  # not permitted: the overlap still works, at equal priority
        pass
    for name, target in datasets.items():
        if name not in named_data.dataset_names():
            named_data.register_dataset(name, target)


def _picklable_datasets() -> dict:
    """The dataset registry entries a spawned worker can receive (names or importable classes)."""
    from tfdis.data import named_data

    entries = {}
    for name in named_data.dataset_names():
        target = named_data.registered_target(name)
        try:
            pickle.dumps(target)
        except (pickle.PicklingError, AttributeError, TypeError):
            continue
        entries[name] = target
    return entries


def _evaluate_overlapped(slow: list, others: list, step_args: tuple) -> dict[str, dict]:
    """Runs `slow` here and `others` at the same time in a low-priority spawned process."""
    context = multiprocessing.get_context("spawn")  # fork is unsafe once TensorFlow runs
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=1,
        mp_context=context,
        initializer=_init_low_priority_worker,
        initargs=(_picklable_datasets(),),
    ) as pool:
        future = pool.submit(_evaluate_metrics, others, *step_args)
        results = _evaluate_metrics(slow, *step_args)
        results.update(future.result())
    return results
