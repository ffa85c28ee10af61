"""`tfdis_evaluate --model_dir=... [--metrics=mig,dci] [--representation=mean] [--overwrite]`.

Postprocesses the run first if its representation is missing, runs each metric's
`gin_configs/metrics/<metric>.gin`, writes `<model_dir>/metrics/<representation>/<metric>/` and
prints a summary table.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import pickle

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
    "Metric configs to run (names in gin_configs/metrics/), or 'all'.",
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
    from tfdis.utils import gin_utils

    directory = os.path.join(gin_utils.gin_configs_dir(), "metrics")
    return sorted(name[:-4] for name in os.listdir(directory) if name.endswith(".gin"))


def format_summary(all_results: dict[str, dict]) -> str:
    """A plain-text table: metric, result key, value (bookkeeping keys left out)."""
    rows = [("metric", "result", "value")]
    for metric, metric_results in all_results.items():
        for key, value in sorted(metric_results.items()):
            if key in ("uuid",):
                continue
            text = f"{value:.4f}" if isinstance(value, float) else str(value)
            rows.append((metric, key, text))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
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
    """Evaluates a trained run on `metrics`; returns `{metric: results}`.

    With `repeats` R > 1 each metric runs with R random states (`evaluation.repeats`).

    `gin_config_files` and `gin_bindings` apply on top of each metric's own config. With
    `overlap`, DCI runs in this process while the other metrics run in a spawned low-priority
    process (same results, shorter wall time; see `OVERLAPPED_METRICS`).
    """
    from tfdis.cli.postprocess import postprocess_run
    from tfdis.training.export import read_model_metadata
    from tfdis.utils import layout, run_lock

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
    if list(metrics) == ["all"]:
        metrics = available_metrics()
        if not read_model_metadata(layout.saved_model_dir(model_dir)).get("discrete_sizes"):
            metrics = [m for m in metrics if m not in DISCRETE_CODE_METRICS]
    unknown = sorted(set(metrics) - set(available_metrics()))
    if unknown:
        raise ValueError(
            f"unknown metric(s) {unknown}; available: {', '.join(available_metrics())}, or all"
        )
    with run_lock.run_lock(model_dir, exclusive=False, action="evaluate"):
        postprocessed = layout.postprocess_dir(model_dir, representation)
        if not os.path.isdir(layout.saved_model_dir(postprocessed)):
            postprocess_run(model_dir, representation, overwrite=True)
        step_args = (
            model_dir,
            representation,
            overwrite,
            tuple(gin_config_files),
            tuple(gin_bindings),
        )
        slow = [m for m in metrics if m in OVERLAPPED_METRICS]
        others = [m for m in metrics if m not in OVERLAPPED_METRICS]
        if overlap and slow and others:
            all_results = _evaluate_overlapped(slow, others, step_args)
        else:
            all_results = _evaluate_metrics(list(metrics), *step_args)
    return {metric: all_results[metric] for metric in metrics}


def _evaluate_metrics(
    metrics: list[str],
    model_dir: str,
    representation: str,
    overwrite: bool,
    gin_config_files: tuple[str, ...],
    gin_bindings: tuple[str, ...],
) -> dict[str, dict]:
    """Runs the metric steps one after the other in this process."""
    from tfdis.evaluation.evaluate import evaluate_with_gin
    from tfdis.utils import layout

    postprocessed = layout.postprocess_dir(model_dir, representation)
    return {
        metric: evaluate_with_gin(
            postprocessed,
            layout.metric_dir(model_dir, representation, metric),
            overwrite,
            [f"metrics/{metric}.gin", *gin_config_files],
            list(gin_bindings),
        )
        for metric in metrics
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


def _evaluate_overlapped(slow: list[str], others: list[str], step_args: tuple) -> dict[str, dict]:
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

    def run_and_print() -> None:
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
    flags.mark_flag_as_required("model_dir")
    app.run(main)


if __name__ == "__main__":
    run()
