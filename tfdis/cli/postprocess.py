"""`tfdis_postprocess --model_dir=... [--representation=mean|sampled] [--overwrite]`.

Writes `<model_dir>/postprocessed/<representation>/` from the run's exported model.
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
    """Postprocesses a run with `gin_configs/postprocess/<representation>.gin`.

    Holds the run's shared lock: refused while the run trains (`tfdis.utils.run_lock`).
    """
    from tfdis.postprocessing.postprocess import postprocess_with_gin
    from tfdis.utils import layout, run_lock

    with run_lock.run_lock(model_dir, exclusive=False, action="postprocess"):
        return postprocess_with_gin(
            model_dir,
            layout.postprocess_dir(model_dir, representation),
            overwrite,
            [f"postprocess/{representation}.gin", *extra_config_files],
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
