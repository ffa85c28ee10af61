"""`tfdis_visualize_dataset --dataset=NAME --output_dir=DIR [--overwrite] [--random_seed=0]`.

Writes a grid of random samples of a dataset, a sweep along each factor (PNG) and one animation
per factor (GIF) into `--output_dir`, and prints the written files. Works offline on
`dsprites_procedural`.
"""

from __future__ import annotations

from absl import app, flags

from tfdis.cli import common

FLAGS = flags.FLAGS

flags.DEFINE_string("dataset", None, "Registered dataset name, e.g. dsprites_procedural.")


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")

    def visualize_and_print() -> None:
        from tfdis.visualization.visualize_dataset import visualize_dataset

        for path in visualize_dataset(
            FLAGS.dataset, FLAGS.output_dir, FLAGS.overwrite, FLAGS.random_seed
        ):
            print(path)

    common.run_reporting_errors("tfdis_visualize_dataset", visualize_and_print)


def run() -> None:
    flags.mark_flag_as_required("dataset")
    flags.mark_flag_as_required("output_dir")
    app.run(main)


if __name__ == "__main__":
    run()
