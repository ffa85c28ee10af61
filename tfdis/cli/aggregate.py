"""`tfdis_aggregate --result_file_pattern=... --output_path=... [--overwrite]`.

Collects every evaluation aggregate matching the glob, e.g.
`DIR/*/metrics/mean/*/results/aggregate/evaluation.json`, into one table with one row per
model (its config and every metric's scores) and writes `results.csv`, `results.json`, the spread
over seeds per configuration (`results_by_config.csv`) and the
study plots into `--output_path` (`tfdis.aggregation`).
"""

from __future__ import annotations

from absl import app, flags

from tfdis.cli import common

FLAGS = flags.FLAGS

flags.DEFINE_string(
    "result_file_pattern",
    None,
    "Glob of evaluation aggregates, e.g. "
    "'DIR/*/metrics/mean/*/results/aggregate/evaluation.json' (quote it).",
)


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(
            f"unexpected arguments: {argv[1:]} (quote --result_file_pattern so the shell "
            "does not expand it)"
        )

    def aggregate_and_report() -> None:
        from tfdis.aggregation import aggregate_results

        aggregation = aggregate_results(
            FLAGS.result_file_pattern, FLAGS.output_path, FLAGS.overwrite
        )
        print(f"{len(aggregation.rows)} models, {len(aggregation.columns)} columns.")
        for path in aggregation.files:
            print(f"wrote {path}")

    common.run_reporting_errors("tfdis_aggregate", aggregate_and_report)


def run() -> None:
    flags.mark_flag_as_required("result_file_pattern")
    flags.mark_flag_as_required("output_path")
    app.run(main)


if __name__ == "__main__":
    run()
