"""`tfdis_evaluate --model_dir=... [--metrics=mig,dci] [--representation=mean] [--overwrite]`.

Postprocesses the run first if its representation is missing, runs each metric's
`gin_configs/metrics/<metric>.gin`, writes `<model_dir>/metrics/<representation>/<metric>/` and
prints a summary table.
"""

from __future__ import annotations

import os

from absl import app, flags

from tfdis.cli import common

FLAGS = flags.FLAGS

DEFAULT_METRICS = ("mig",)
# Metrics that score a categorical code; `--metrics=all` skips them for models without one.
DISCRETE_CODE_METRICS = ("discrete_accuracy",)

flags.DEFINE_list(
    "metrics",
    list(DEFAULT_METRICS),
    "Metric configs to run (names in gin_configs/metrics/), or 'all'.",
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
) -> dict[str, dict]:
    """Evaluates a trained run on `metrics`; returns `{metric: results}`.

    `gin_config_files` and `gin_bindings` apply on top of each metric's own config.
    """
    from tfdis.cli.postprocess import postprocess_run
    from tfdis.evaluation.evaluate import evaluate_with_gin
    from tfdis.training.export import read_model_metadata
    from tfdis.utils import layout

    if not os.path.isdir(layout.saved_model_dir(model_dir)):
        raise FileNotFoundError(
            f"{model_dir} has no exported model ({layout.saved_model_dir(model_dir)}); "
            "train it first with tfdis_train."
        )
    if list(metrics) == ["all"]:
        metrics = available_metrics()
        if not read_model_metadata(layout.saved_model_dir(model_dir)).get("discrete_sizes"):
            metrics = [m for m in metrics if m not in DISCRETE_CODE_METRICS]
    unknown = sorted(set(metrics) - set(available_metrics()))
    if unknown:
        raise ValueError(
            f"unknown metric(s) {unknown}; available: {', '.join(available_metrics())}, or all"
        )
    postprocessed = layout.postprocess_dir(model_dir, representation)
    if not os.path.isdir(layout.saved_model_dir(postprocessed)):
        postprocess_run(model_dir, representation, overwrite=True)
    all_results = {}
    for metric in metrics:
        all_results[metric] = evaluate_with_gin(
            postprocessed,
            layout.metric_dir(model_dir, representation, metric),
            overwrite,
            [f"metrics/{metric}.gin", *gin_config_files],
            gin_bindings,
        )
    return all_results


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
        )
        print(format_summary(all_results))

    common.run_reporting_errors("tfdis_evaluate", run_and_print)


def run() -> None:
    flags.mark_flag_as_required("model_dir")
    app.run(main)


if __name__ == "__main__":
    run()
