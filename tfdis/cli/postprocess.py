"""`tfdis_postprocess --model_dir=... [--representation=mean|sampled|PATH.gin] [--overwrite]`.

Writes `<model_dir>/postprocessed/<representation>/` from the run's exported model. The
representation is a name in `gin_configs/postprocess/` or the path of any postprocess gin file
(dlib's `postprocess_configs/mean.gin` runs unchanged), filed under the file's stem.
"""

from __future__ import annotations

from absl import app, flags

from tfdis.cli import common

FLAGS = flags.FLAGS


def postprocess_run(
    model_dir: str,
    representation: str = "mean",
    overwrite: bool = False,
    extra_config_files: list[str] | tuple[str, ...] = (),
    gin_bindings: list[str] | tuple[str, ...] = (),
) -> dict:
    """Postprocesses a run with `gin_configs/postprocess/<representation>.gin` or a gin file.

    Results go to `postprocessed/<name or file stem>/`; `extra_config_files` and `gin_bindings`
    may not rebind `postprocess.postprocess_fn` (ValueError). Holds the run's shared lock:
    refused while the run trains (`tfdis.utils.run_lock`).
    """
    from tfdis.postprocessing.postprocess import postprocess_with_gin
    from tfdis.utils import layout, run_lock, step_configs

    config = step_configs.resolve("postprocess", representation)
    step_configs.check_not_rebound("postprocess", config, extra_config_files, gin_bindings)
    with run_lock.run_lock(model_dir, exclusive=False, action="postprocess"):
        return postprocess_with_gin(
            model_dir,
            layout.postprocess_dir(model_dir, config.label),
            overwrite,
            [config.config_file, *extra_config_files],
            gin_bindings,
        )


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
