"""`tfdis_evaluate --model_dir=... [--metrics=mig,dci] [--representation=mean] [--overwrite]`.

Postprocesses the run first if its representation is missing, runs each metric config (a name in
`gin_configs/metrics/`, or the path of any gin file such as dlib's `metric_configs/mig.gin`),
writes `<model_dir>/metrics/<representation>/<metric name or file stem>/` and prints a table of
the scores with the seconds each metric took.
"""

from __future__ import annotations

from absl import app, flags

from tfdis.cli import common
from tfdis.evaluation.runs import DEFAULT_METRICS, evaluate_function, evaluate_run, evaluate_runs

FLAGS = flags.FLAGS

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
