"""`tfdis_visualize --model_dir=... [--output_dir=...] [--overwrite] [--random_seed=0]`.

Draws the pictures of a trained run from its exported SavedModel (reconstructions, samples,
latent traversals as PNG grids and GIFs, pair plots, latent x factor heatmaps, latent mean vs
factor value) into `<model_dir>/visualizations/` or `--output_dir`, and prints the written files.
"""

from __future__ import annotations

from absl import app, flags

from tfdis.cli import common

FLAGS = flags.FLAGS


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")

    def visualize_and_print() -> None:
        from tfdis.visualization.visualize import visualize_run

        for path in visualize_run(
            FLAGS.model_dir, FLAGS.output_dir, FLAGS.overwrite, FLAGS.random_seed
        ):
            print(path)

    common.run_reporting_errors("tfdis_visualize", visualize_and_print)


def run() -> None:
    flags.mark_flag_as_required("model_dir")
    app.run(main)


if __name__ == "__main__":
    run()
