"""Gin parsing with every tfdis configurable registered and clear errors for bad names.

`import gin.tf` fails on TF 2.21 (SPEC section 2), so tfdis registers its own configurables and
writes the operative config itself.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Sequence

import gin

from tfdis.utils import gin_validation

# Modules whose import registers gin configurables.
_CONFIGURABLE_MODULES = (
    "tfdis.data.named_data",
    "tfdis.models",
    "tfdis.models.optimizers",
    "tfdis.training.train",
    "tfdis.postprocessing.postprocess",
    "tfdis.evaluation.evaluate",
    "tfdis.evaluation.metrics",
    "tfdis.evaluation.udr",
)

_registered = False


def register_all_configurables() -> None:
    """Imports every module that registers gin names (idempotent)."""
    global _registered
    if _registered:
        return
    for module in _CONFIGURABLE_MODULES:
        importlib.import_module(module)
    _registered = True


def gin_configs_dir() -> str:
    """The repository's `gin_configs/` directory (or `$TFDIS_GIN_CONFIGS`)."""
    override = os.environ.get("TFDIS_GIN_CONFIGS")
    if override:
        return override
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.join(package_root, "gin_configs")


def resolve_config_path(path: str) -> str:
    """Finds a gin file given as a path, or relative to `gin_configs/`."""
    candidates = [path, os.path.join(gin_configs_dir(), path)]
    if not path.endswith(".gin"):
        candidates += [c + ".gin" for c in candidates]
    for candidate in candidates:
        if os.path.isfile(candidate):
            return os.path.abspath(candidate)
    raise FileNotFoundError(
        f"gin config {path!r} not found (looked in the working directory and {gin_configs_dir()})."
    )


def parse_config(
    config_files: Sequence[str] = (), bindings: Sequence[str] = (), finalize: bool = False
) -> None:
    """Clears gin, then parses config files and bindings (bindings win).

    The bound values are then checked for type and range (`gin_validation.check_bindings`).

    Raises:
        ValueError: a binding names an unknown configurable or parameter; the message says which
            file or binding it came from.
        ConfigError: a bound value has the wrong type or is out of range (named).
    """
    register_all_configurables()
    gin.clear_config()
    # gin_configs/ goes first: for a relative include gin otherwise tries a Python-package reader
    # that crashes when the path's first folder is a namespace package on sys.path.
    prefixes = gin.config._LOCATION_PREFIXES
    if not prefixes or prefixes[0] != gin_configs_dir():
        prefixes.insert(0, gin_configs_dir())
    files = [resolve_config_path(f) for f in config_files]
    for source, parse in [(f, lambda f=f: gin.parse_config_file(f)) for f in files] + [
        (f"--gin_bindings={b!r}", lambda b=b: gin.parse_config(b)) for b in bindings
    ]:
        try:
            parse()
        except (ValueError, KeyError, SyntaxError) as error:
            gin.clear_config()
            raise ValueError(f"Invalid gin configuration in {source}: {error}") from error
    try:  # the types and ranges of the bound values, before anything runs
        gin_validation.check_bindings()
    except gin_validation.ConfigError:
        gin.clear_config()
        raise
    if finalize:
        gin.finalize()


def operative_config() -> str:
    """The operative config: every parameter actually used so far, as gin text."""
    return gin.operative_config_str()


def query(name: str, default: object = None) -> object:
    """The bound value of `scope.param`, or `default` if it is not bound."""
    try:
        return gin.query_parameter(name)
    except ValueError:
        return default


def run_step_with_gin(
    step_fn: Callable[[str, str], dict],
    model_dir: str,
    output_dir: str,
    overwrite: bool,
    what: str,
    config_files: Sequence[str] = (),
    bindings: Sequence[str] = (),
) -> dict:
    """Runs a postprocess or evaluation step `step_fn(model_dir, output_dir)` under gin.

    Parses the configuration, refuses an existing `output_dir` unless `overwrite`, runs the step
    and clears gin whatever happens. With `overwrite`, the step writes into a staging directory
    that replaces `output_dir` only once the step succeeded (`tfdis.utils.safe_replace`).
    """
    from tfdis.utils import safe_replace

    parse_config(config_files, bindings)
    try:
        with safe_replace.replaced_directory(output_dir, overwrite, what) as target:
            return step_fn(model_dir, target)
    finally:
        gin.clear_config()
