"""`tfdis_evaluate --model_dir=... [--metrics=mig,dci] [--representation=mean] [--overwrite]`.

Postprocesses the run first if its representation is missing, runs each metric config (a name in
`gin_configs/metrics/`, or the path of any gin file such as dlib's `metric_configs/mig.gin`),
writes `<model_dir>/metrics/<representation>/<metric name or file stem>/` and prints a table of
the scores with the seconds each metric took.
"""

from __future__ import annotations

import concurrent.futures
import glob
import multiprocessing
import os
import pickle
from collections.abc import Callable

from absl import app, flags

from tfdis.cli import common

FLAGS = flags.FLAGS

DEFAULT_METRICS = ("mig",)
# Metrics that score a categorical code; `--metrics=all` skips them for models without one.
DISCRETE_CODE_METRICS = ("discrete_accuracy",)
# With `overlap`, these run in this process while the other metrics run in a low-priority worker.
# Off by default: since exact DCI builds each boosting stage's trees in threads it keeps every
# core busy, and on 2 cores the overlapped suite measured 195 s against 176 s one after the
# other (`benchmarks/bench_metrics.py --dci_backend=exact [--overlap]`). It pays off on
# machines with more cores than DCI's factor fits can use.
OVERLAPPED_METRICS = ("dci",)

flags.DEFINE_list(
    "metrics",
    list(DEFAULT_METRICS),
    "Metric configs to run: names in gin_configs/metrics/, gin file paths, or 'all'.",
)
flags.DEFINE_string(
    "representation_fn",
    None,
    "Score a Python function 'module:function' (numpy [B, H, W, C] -> [B, D]) instead of a "
    "trained model; results go to <model_dir>/metrics/<function>/<metric>/ and dataset.name "
    "must be bound.",
)
flags.DEFINE_string(
    "onnx",
    None,
    "Score an ONNX encoder (float32 [B, H, W, C] -> [B, D]) through onnxruntime; results go to "
    "<model_dir>/metrics/<file stem>/<metric>/ and dataset.name must be bound.",
)
flags.DEFINE_string(
    "tfhub",
    None,
    "Score a dlib TF-Hub module (a model's tfhub/ directory) through its gaussian_encoder "
    "signature's mean; results go to <model_dir>/metrics/<directory name>/<metric>/ and "
    "dataset.name must be bound.",
)
flags.DEFINE_integer(
    "repeats",
    1,
    "Run each metric with this many random states and add k.mean and k.std beside each result "
    "k (1: one run, as dlib).",
)
flags.DEFINE_boolean(
    "overlap",
    False,
    "Run DCI while the other metrics run in a low-priority worker process (same results).",
)


def available_metrics() -> list[str]:
    """Names of the metric configs in `gin_configs/metrics/`."""
    from tfdis.utils import step_configs

    return step_configs.available_names("metrics")


# Result keys that are bookkeeping, not scores: the table shows `elapsed_time` in its own column.
_BOOKKEEPING_KEYS = ("uuid", "elapsed_time")


def format_summary(all_results: dict[str, dict]) -> str:
    """A plain-text table: metric, result key, value, and the seconds each metric took."""
    rows = [("metric", "result", "value", "seconds")]
    for metric, metric_results in all_results.items():
        elapsed = metric_results.get("elapsed_time")
        seconds = f"{elapsed:.1f}" if isinstance(elapsed, (int, float)) else ""
        scores = sorted(k for k in metric_results if k not in _BOOKKEEPING_KEYS) or [""]
        for key in scores:
            value = metric_results.get(key, "")
            text = f"{value:.4f}" if isinstance(value, float) else str(value)
            rows.append((metric, key, text, seconds))
            seconds = ""
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


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
    from tfdis.cli.postprocess import postprocess_run
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
    from tfdis.training.export import read_model_metadata
    from tfdis.utils import layout

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


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")

    if (FLAGS.model_dir is None) == (FLAGS.model_dirs is None):
        raise app.UsageError("give exactly one of --model_dir and --model_dirs")

    def run_and_print() -> None:
        sources = (FLAGS.representation_fn, FLAGS.onnx, FLAGS.tfhub)
        if sum(source is not None for source in sources) > 1:
            raise ValueError("give at most one of --representation_fn, --onnx and --tfhub.")
        if any(source is not None for source in sources):
            if FLAGS.model_dir is None:
                raise ValueError("--representation_fn, --onnx and --tfhub write under --model_dir.")
            if FLAGS.tfhub is not None:
                from tfdis.evaluation.tfhub_functions import load_tfhub_representation

                function = load_tfhub_representation(FLAGS.tfhub)
            elif FLAGS.onnx is not None:
                from tfdis.evaluation.onnx_functions import load_onnx_representation

                function = load_onnx_representation(FLAGS.onnx)
            else:
                function = FLAGS.representation_fn
            all_results = evaluate_function(
                function,
                FLAGS.model_dir,
                FLAGS.metrics,
                FLAGS.overwrite,
                FLAGS.gin_bindings,
                FLAGS.gin_config,
            )
            print(format_summary(all_results))
            return
        if FLAGS.model_dirs is not None:
            evaluated = evaluate_runs(
                FLAGS.model_dirs,
                FLAGS.metrics,
                FLAGS.representation,
                FLAGS.overwrite,
                FLAGS.gin_bindings,
                FLAGS.gin_config,
                overlap=FLAGS.overlap,
            )
            for model_dir, all_results in evaluated.items():
                print(f"{model_dir}\n{format_summary(all_results)}\n")
            print(f"{len(evaluated)} run(s) evaluated.")
            return
        all_results = evaluate_run(
            FLAGS.model_dir,
            FLAGS.metrics,
            FLAGS.representation,
            FLAGS.overwrite,
            FLAGS.gin_bindings,
            FLAGS.gin_config,
            overlap=FLAGS.overlap,
            repeats=FLAGS.repeats,
        )
        print(format_summary(all_results))

    common.run_reporting_errors("tfdis_evaluate", run_and_print)


def run() -> None:
    app.run(main)


if __name__ == "__main__":
    run()
