"""`tfdis_visualize_dataset --dataset=NAME --output_dir=DIR [--overwrite] [--random_seed=0]
[--weak [--weak_k=-1] [--weak_dlib_sampling]]`.

Writes a grid of random samples of a dataset, a sweep along each factor (PNG) and one animation
per factor (GIF) into `--output_dir`, and prints the written files. Works offline on
`dsprites_procedural`.
"""

from __future__ import annotations

from absl import app, flags

from tfdis.cli import common

FLAGS = flags.FLAGS

flags.DEFINE_boolean(
    "weak", False, "Also show weak-supervision pairs with the changed factors named."
)
flags.DEFINE_integer("weak_k", -1, "Factors changed per pair (-1: k uniform in 1..F-1).")
flags.DEFINE_boolean("weak_dlib_sampling", False, "dlib's simple_dynamics for the pairs.")


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")

    def visualize_and_print() -> None:
        from tfdis.visualization.visualize_dataset import visualize_dataset

        for path in visualize_dataset(
            FLAGS.dataset,
            FLAGS.output_dir,
            FLAGS.overwrite,
            FLAGS.random_seed,
            weak=FLAGS.weak,
            weak_k=FLAGS.weak_k,
            weak_dlib_sampling=FLAGS.weak_dlib_sampling,
        ):
            print(path)

    common.run_reporting_errors("tfdis_visualize_dataset", visualize_and_print)


def run() -> None:
    flags.mark_flag_as_required("dataset")
    flags.mark_flag_as_required("output_dir")
    app.run(main)


if __name__ == "__main__":
    run()
