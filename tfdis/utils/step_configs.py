"""Metric and postprocess configs named or given by path, and the label each one is filed under.

`tfdis_evaluate --metrics` and `tfdis_postprocess --representation` take the name of one of
tfdis's configs (`gin_configs/metrics/<name>.gin`, `gin_configs/postprocess/<name>.gin`) or the
path of any gin file, such as dlib's own `metric_configs/mig.gin`. A named config is filed under
its name, a file under its stem (as dlib names its output directories). The label must describe
what runs: extra `--gin_config`/`--gin_bindings` that rebind the config's function
(`evaluation.evaluation_fn`, `postprocess.postprocess_fn`) are refused instead of filing, say,
SAP results under `mig`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

import gin

from tfdis.utils import gin_utils

# What each kind of step binds, and where its named configs live under gin_configs/.
FUNCTION_PARAMETER = {
    "metrics": "evaluation.evaluation_fn",
    "postprocess": "postprocess.postprocess_fn",
}


@dataclasses.dataclass(frozen=True)
class StepConfig:
    """One metric or postprocess config.

    Attributes:
        label: the directory name its results go to (config name, or file stem).
        config_file: the gin file (relative to `gin_configs/`, or absolute).
        function: the name of the function the file binds (e.g. `mig`).
    """

    label: str
    config_file: str
    function: str


def is_config_path(value: str) -> bool:
    """Whether `value` names a gin file by path rather than one of tfdis's configs by name."""
    return value.endswith(".gin") or os.sep in value or (os.altsep or os.sep) in value


def available_names(kind: str) -> list[str]:
    """Names of tfdis's own configs of `kind` (`metrics` or `postprocess`)."""
    directory = os.path.join(gin_utils.gin_configs_dir(), kind)
    return sorted(name[:-4] for name in os.listdir(directory) if name.endswith(".gin"))


def applied_function(
    kind: str, config_files: Sequence[str], bindings: Sequence[str] = ()
) -> str | None:
    """The function name `config_files` + `bindings` bind for `kind`, or None if unbound."""
    gin_utils.parse_config(config_files, bindings)
    try:
        reference = gin_utils.query(FUNCTION_PARAMETER[kind])
    finally:
        gin.clear_config()
    if reference is None:
        return None
    configurable = getattr(reference, "configurable", None)
    return configurable.name if configurable is not None else str(reference)


def resolve(kind: str, value: str) -> StepConfig:
    """The config `value` (a name of `kind`, or a gin file path) and its label.

    Raises:
        ValueError: unknown name, or a file that binds no function for `kind`.
        FileNotFoundError: a path that is not a file.
    """
    what = "metric" if kind == "metrics" else "postprocess"
    if is_config_path(value):
        if not os.path.isfile(value):
            raise FileNotFoundError(f"{what} config file {value!r} not found.")
        config_file = os.path.abspath(value)
        label = os.path.splitext(os.path.basename(value))[0]
    else:
        names = available_names(kind)
        if value not in names:
            raise ValueError(
                f"unknown {what} {value!r}; available: {', '.join(names)}, or a gin file path"
            )
        config_file, label = f"{kind}/{value}.gin", value
    function = applied_function(kind, [config_file])
    if function is None:
        raise ValueError(f"{what} config {value!r} binds no {FUNCTION_PARAMETER[kind]}.")
    return StepConfig(label, config_file, function)


def resolve_all(kind: str, values: Sequence[str]) -> list[StepConfig]:
    """`resolve` for each value; two configs filed under one label are refused."""
    configs = [resolve(kind, value) for value in values]
    labels = [config.label for config in configs]
    clashes = sorted({label for label in labels if labels.count(label) > 1})
    if clashes:
        raise ValueError(
            f"several configs would be filed under {clashes}; rename the files so each is unique."
        )
    return configs


def check_not_rebound(
    kind: str,
    config: StepConfig,
    extra_config_files: Sequence[str] = (),
    bindings: Sequence[str] = (),
) -> None:
    """Refuses extra config that changes the function `config` is filed under.

    Raises:
        ValueError: `extra_config_files`/`bindings` rebind the function of `config`.
    """
    if not extra_config_files and not bindings:
        return
    applied = applied_function(kind, [config.config_file, *extra_config_files], bindings)
    if applied != config.function:
        flag = "--metrics" if kind == "metrics" else "--representation"
        raise ValueError(
            f"--gin_config/--gin_bindings change {FUNCTION_PARAMETER[kind]} from "
            f"@{config.function} to @{applied} for {config.label!r}, whose results would be "
            f"filed under the wrong name; pass that config as {flag}=PATH instead."
        )
