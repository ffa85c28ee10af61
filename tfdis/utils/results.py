"""Atomic writes and dlib's results layout (SPEC section 1).

A step (train, postprocess, evaluation) writes under `<dir>/results/`:
`gin/<step>.gin`, `json/<step>_config.json`, `json/<step>_results.json` and
`aggregate/<step>.json`, the flat union of every JSON so far with keys namespaced by file
(`train_config.vae.beta`, `train_results.elbo`, `evaluation_results.discrete_mig`).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import tempfile
from typing import Any

import numpy as np


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def default_mode(directory: bool = False) -> int:
    """The mode a plain `open`/`mkdir` would give (temp files are private by default)."""
    return (0o777 if directory else 0o666) & ~_umask()


def atomic_write_text(path: str, text: str) -> None:
    """Writes `text` to `path` through a temporary file and a rename (never a partial file)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        os.chmod(tmp, default_mode())
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _to_builtin(value: Any) -> Any:
    """Plain JSON values; NaN and infinities become None (`null`), never non-standard tokens."""
    if isinstance(value, float | np.floating) and not np.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _to_builtin(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_builtin(v) for v in value]
    if isinstance(value, np.generic):
        return _to_builtin(value.item())
    if isinstance(value, np.ndarray):
        return _to_builtin(value.tolist())
    if hasattr(value, "numpy"):
        return _to_builtin(value.numpy())
    return value


def to_json_text(data: Any, indent: int = 2, sort_keys: bool = True) -> str:
    """Indented standard JSON of `data` (numpy and TF values converted, non-finite as null)."""
    builtin = _to_builtin(data)
    return json.dumps(builtin, indent=indent, sort_keys=sort_keys, allow_nan=False) + "\n"


def atomic_write_json(path: str, data: dict[str, Any]) -> None:
    """Writes `data` (numpy and TF scalars converted) as indented JSON, atomically."""
    atomic_write_text(path, to_json_text(data))


def read_json(path: str) -> Any:
    """The JSON value in `path`; a malformed file raises a `ValueError` naming it."""
    with open(path) as f:
        try:
            return json.load(f)
        except ValueError as error:
            raise ValueError(f"{path} is not valid JSON ({error})") from None


def gin_config_to_dict(config_str: str) -> dict[str, str]:
    """Flattens a gin config into `{"scope/configurable.param": "value"}`.

    Values stay as gin wrote them, except that one pair of enclosing quotes is dropped from
    strings (as dlib does), so `dataset.name = 'dsprites_full'` gives `"dsprites_full"`.
    """
    statements: list[str] = []
    for raw in config_str.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if statements and raw[:1].isspace():  # continuation line of a multi-line value
            statements[-1] = statements[-1].rstrip("\\").rstrip() + " " + stripped
        else:
            statements.append(stripped)
    result: dict[str, str] = {}
    for statement in statements:
        if "=" not in statement or statement.startswith(("import ", "include ")):
            continue
        key, value = (part.strip() for part in statement.split("=", 1))
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        result[key] = value
    return result


def ensure_fresh_directory(path: str, overwrite: bool, what: str) -> None:
    """Refuses an existing non-empty `path` unless `overwrite`, in which case it is removed."""
    if os.path.lexists(path) and not os.path.isdir(path):
        raise FileExistsError(f"{what} path {path} is an existing file, not a directory.")
    if os.path.isdir(path) and os.listdir(path):
        if not overwrite:
            raise FileExistsError(
                f"{what} directory {path} already exists; pass --overwrite to replace it."
            )
        shutil.rmtree(path)
    os.makedirs(path, exist_ok=True)


def save_gin_config(result_dir: str, step_name: str, operative_config: str) -> None:
    """Writes `gin/<step>.gin` and `json/<step>_config.json` under `result_dir`."""
    atomic_write_text(os.path.join(result_dir, "gin", f"{step_name}.gin"), operative_config)
    atomic_write_json(
        os.path.join(result_dir, "json", f"{step_name}_config.json"),
        gin_config_to_dict(operative_config),
    )


def update_result_directory(
    result_dir: str,
    step_name: str,
    results: dict[str, Any],
    previous_result_dir: str | None = None,
) -> dict[str, Any]:
    """Writes a step's results and its aggregate, carrying the previous step's files over.

    Args:
        result_dir: this step's `results` directory.
        step_name: "train", "postprocess" or "evaluation".
        results: flat dict of this step's results.
        previous_result_dir: the `results` directory of the step this one consumed, whose gin
            and JSON files are copied so the aggregate holds the whole history.

    Returns:
        The aggregate dict written to `aggregate/<step>.json`.
    """
    if previous_result_dir is not None:
        for sub in ("gin", "json"):
            for src in glob.glob(os.path.join(previous_result_dir, sub, "*")):
                dst = os.path.join(result_dir, sub, os.path.basename(src))
                if not os.path.exists(dst):
                    with open(src) as f:
                        atomic_write_text(dst, f.read())
    atomic_write_json(os.path.join(result_dir, "json", f"{step_name}_results.json"), results)
    aggregate: dict[str, Any] = {}
    for path in sorted(glob.glob(os.path.join(result_dir, "json", "*.json"))):
        namespace = os.path.splitext(os.path.basename(path))[0]
        for key, value in read_json(path).items():
            aggregate[f"{namespace}.{key}"] = value
    atomic_write_json(os.path.join(result_dir, "aggregate", f"{step_name}.json"), aggregate)
    return aggregate
