"""`tfdis_postprocess --model_dir=... [--representation=mean|sampled|PATH.gin] [--overwrite]`.

Writes `<model_dir>/postprocessed/<representation>/` from the run's exported model. The
representation is a name in `gin_configs/postprocess/` or the path of any postprocess gin file
(dlib's `postprocess_configs/mean.gin` runs unchanged), filed under the file's stem.
"""

from __future__ import annotations

from absl import app, flags

from tfdis.cli import common
from tfdis.postprocessing.runs import postprocess_run

FLAGS = flags.FLAGS


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    common.run_reporting_errors(
        "tfdis_postprocess",
        lambda: postprocess_run(
            FLAGS.model_dir,
            FLAGS.representation,
            FLAGS.overwrite,
            FLAGS.gin_config,
            FLAGS.gin_bindings,
        ),
    )


def run() -> None:
    flags.mark_flag_as_required("model_dir")
    app.run(main)


if __name__ == "__main__":
    run()
