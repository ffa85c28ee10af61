"""Postprocessing a run directory with a named representation config, under the run's lock.

`tfdis_postprocess` (`tfdis.cli.postprocess`) parses the flags and calls `postprocess_run`;
`tfdis.evaluation.runs` and the study runner (`tfdis.studies.reproduce`) call it too.
"""

from __future__ import annotations


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
