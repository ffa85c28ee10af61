"""The run-directory policy: fresh, resumed, refused or replaced; recoverable checkpoints.

Called under the run's exclusive lock (`tfdis.utils.run_lock`):

- `prepare_run_dir` decides where a run trains. An empty directory is trained in place; an
  unfinished run of the same configuration is resumed in place (up to `RESUMABLE_CHANGES`,
  and the categories named by `allow_config_change`); a finished or foreign directory is
  refused unless `overwrite`, in which case the new run trains in a staging directory that
  replaces the old one only when complete (`tfdis.utils.safe_replace`). An unfinished run that
  saved no checkpoint (e.g. a NaN at step 1) is started over: there is nothing to lose.
- `restore_newest` restores the newest checkpoint that loads, from the files on disk (a
  truncated latest checkpoint or a garbage `checkpoint` state file falls back with one warning
  line), and never lets a run restart from step 0 while checkpoints exist.
- `record_config` keeps `run_config.gin` current and appends every accepted change to
  `config_history.json`.
"""

from __future__ import annotations

import datetime
import glob
import os
import re
import shutil
from collections.abc import Sequence

import gin
import tensorflow as tf
from absl import logging

from tfdis.utils import layout, results, safe_replace

RUN_CONFIG_FILE = "run_config.gin"
CONFIG_HISTORY_FILE = "config_history.json"
# Bindings that may change between an interrupted run and its resumption.
RESUMABLE_CHANGES = ("model.training_steps",)
# `--allow_config_change` categories: the configurables whose constants may change on resume.
OPTIMIZER_CONFIGURABLES = (
    "AdamOptimizer",
    "vae_optimizer",
    "discriminator_optimizer",
    "generator_optimizer",
)
# Regularizer constants: numbers bound on the model configurables (beta, gamma, c_max, ...).
MODEL_CONFIGURABLES = (
    "vae",
    "annealed_vae",
    "beta_tc_vae",
    "dip_vae",
    "factor_vae",
    "rtc_beta_tc_vae",
    "rtc_factor_vae",
    "cascade_vae",
    "joint_vae",
    "infogan",
)
CHANGE_CATEGORIES = ("optimizer", "regularizer")
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_CHECKPOINT_INDEX = re.compile(r"^ckpt-(\d+)\.index$")


def parse_allowed_changes(values: Sequence[str]) -> tuple[str, ...]:
    """Validates `--allow_config_change` values (`optimizer`, `regularizer`)."""
    unknown = sorted(set(values) - set(CHANGE_CATEGORIES))
    if unknown:
        raise ValueError(
            f"--allow_config_change takes {' and '.join(CHANGE_CATEGORIES)}, got {unknown}"
        )
    return tuple(values)


def _category(key: str, old: str | None, new: str | None) -> str | None:
    """The change category of binding `key` (None: a change that is never allowed)."""
    configurable = key.rsplit(".", 1)[0].rsplit("/", 1)[-1]
    if configurable in OPTIMIZER_CONFIGURABLES:
        return "optimizer"
    numbers = all(v is not None and _NUMBER.match(v) for v in (old, new))
    if configurable in MODEL_CONFIGURABLES and numbers:
        return "regularizer"
    return None


def config_changes(recorded: str, current: str) -> dict[str, tuple[str | None, str | None]]:
    """`{binding: (recorded value, current value)}` for every binding that differs."""
    old, new = results.gin_config_to_dict(recorded), results.gin_config_to_dict(current)
    return {
        key: (old.get(key), new.get(key))
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    }


def refused_changes(changes: dict, allowed: Sequence[str]) -> list[str]:
    """The changed bindings not covered by `RESUMABLE_CHANGES` or the `allowed` categories."""
    return [
        key
        for key, (old, new) in changes.items()
        if key not in RESUMABLE_CHANGES and _category(key, old, new) not in allowed
    ]


def checkpoint_steps(checkpoint_dir: str) -> list[int]:
    """Steps of the checkpoints on disk (an index file and data), newest first."""
    steps = []
    for path in glob.glob(os.path.join(checkpoint_dir, "ckpt-*.index")):
        match = _CHECKPOINT_INDEX.match(os.path.basename(path))
        if match and glob.glob(path[: -len(".index")] + ".data-*"):
            steps.append(int(match.group(1)))
    return sorted(steps, reverse=True)


def run_state(run_dir: str) -> str:
    """ "empty", "finished", "unfinished" (a tfdis run with its config recorded) or "foreign"."""
    if not os.path.isdir(run_dir) or not os.listdir(run_dir):
        return "empty"
    if os.path.exists(os.path.join(layout.results_dir(run_dir), "aggregate", "train.json")):
        return "finished"
    if os.path.exists(os.path.join(layout.checkpoint_dir(run_dir), RUN_CONFIG_FILE)):
        return "unfinished"
    return "foreign"


def _recorded_config(run_dir: str) -> str:
    with open(os.path.join(layout.checkpoint_dir(run_dir), RUN_CONFIG_FILE)) as f:
        return f.read()


def check_run_dir_path(run_dir: str) -> None:
    """Refuses a `--model_dir` that is a file or lies under one, before anything is written."""
    path = os.path.abspath(run_dir)
    if os.path.lexists(path) and not os.path.isdir(path):
        raise FileExistsError(
            f"--model_dir {run_dir} is an existing file, not a run directory; choose another "
            "--model_dir (--overwrite replaces runs, not other files)."
        )
    parent = os.path.dirname(path)
    while parent and not os.path.lexists(parent):
        parent = os.path.dirname(parent)
    if parent and not os.path.isdir(parent):
        raise FileExistsError(f"cannot create --model_dir {run_dir}: {parent} is a file.")


def _resumable(run_dir: str, allowed: Sequence[str]) -> bool:
    """Whether `run_dir` holds a run the current gin configuration may continue."""
    if run_state(run_dir) not in ("unfinished", "finished"):
        return False
    changes = config_changes(_recorded_config(run_dir), gin.config_str())
    return not refused_changes(changes, allowed)


def prepare_run_dir(
    model_dir: str, overwrite: bool, allow_config_change: Sequence[str] = ()
) -> str:
    """Applies the run-directory policy (module docstring); returns the directory to train in.

    Call it under `model_dir`'s exclusive lock, with the run's gin configuration parsed. Nothing
    of an existing run is removed here; `finish_run_dir` puts a replacement in place.

    Raises:
        FileExistsError: `model_dir` is a file, holds a finished run, a foreign directory or an
            unfinished run of another configuration, and `overwrite` is False.
    """
    check_run_dir_path(model_dir)
    staged = safe_replace.staging_path(model_dir)
    # An --overwrite run killed before its swap resumes its staging; any other run drops it.
    keep_staging = overwrite and _resumable(staged, allow_config_change)
    safe_replace.clean_leftovers(model_dir, keep_staging=keep_staging)
    state = run_state(model_dir)
    if state == "unfinished" and not checkpoint_steps(layout.checkpoint_dir(model_dir)):
        logging.info(
            "%s holds an unfinished run that saved no checkpoint: starting over.", model_dir
        )
        empty_directory(model_dir)
        state = "empty"
    if state == "empty":
        if os.path.lexists(staged):
            shutil.rmtree(staged)
        os.makedirs(model_dir, exist_ok=True)
        return model_dir
    if overwrite:
        os.makedirs(staged, exist_ok=True)
        return staged
    if state == "finished":
        raise FileExistsError(
            f"model_dir {model_dir} already holds a finished training run; pass --overwrite to "
            "replace it (or choose another --model_dir)."
        )
    if state == "foreign":
        raise FileExistsError(
            f"model_dir {model_dir} exists and is not a tfdis run; pass --overwrite to replace "
            "it (or choose another --model_dir)."
        )
    changes = config_changes(_recorded_config(model_dir), gin.config_str())
    refused = refused_changes(changes, allow_config_change)
    if refused:
        shown = ", ".join(f"{k}: {changes[k][0]} -> {changes[k][1]}" for k in refused[:3])
        more = f" and {len(refused) - 3} more" if len(refused) > 3 else ""
        hint = ""
        if any(_category(k, *changes[k]) for k in refused):
            hint = " (or pass --allow_config_change=optimizer,regularizer to change those)"
        raise FileExistsError(
            f"model_dir {model_dir} holds an unfinished run with a different gin configuration "
            f"({shown}{more}; recorded in "
            f"{os.path.join(layout.checkpoint_dir(model_dir), RUN_CONFIG_FILE)}); rerun with "
            f"that configuration to resume it{hint}, or pass --overwrite to start over."
        )
    return model_dir


def empty_directory(path: str) -> None:
    """Removes everything inside `path`, keeping the directory."""
    for name in os.listdir(path):
        target = os.path.join(path, name)
        if os.path.isdir(target) and not os.path.islink(target):
            shutil.rmtree(target)
        else:
            os.remove(target)


def finish_run_dir(model_dir: str, trained_in: str) -> None:
    """Puts a complete replacement run (`trained_in` != `model_dir`) in place of the old one."""
    if trained_in != model_dir:
        safe_replace.swap_into_place(trained_in, model_dir)


def record_config(checkpoint_dir: str, step: int) -> None:
    """Writes the current gin config as `run_config.gin`, logging a change in the history.

    A resumed run whose configuration changed (`model.training_steps`, or constants allowed by
    `--allow_config_change`) appends `{"step", "time", "changes": {binding: [old, new]}}` to
    `config_history.json`.
    """
    path = os.path.join(checkpoint_dir, RUN_CONFIG_FILE)
    current = gin.config_str()
    if os.path.exists(path):
        with open(path) as f:
            changes = config_changes(f.read(), current)
        if changes:
            history_path = os.path.join(checkpoint_dir, CONFIG_HISTORY_FILE)
            history = results.read_json(history_path) if os.path.exists(history_path) else []
            history.append(
                {
                    "step": step,
                    "time": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                    "changes": {k: list(v) for k, v in changes.items()},
                }
            )
            results.atomic_write_text(history_path, results.to_json_text(history))
            logging.info("Resuming at step %d with changed bindings: %s", step, changes)
    results.atomic_write_text(path, current)


def restore_newest(checkpoint: tf.train.Checkpoint, checkpoint_dir: str) -> int | None:
    """Restores the newest checkpoint on disk that loads; returns its step (None: none exist).

    Reads the files, not the `checkpoint` state file, which is rewritten to list the checkpoints
    up to the restored one (a newer unreadable one is overwritten when training reaches it).

    Raises:
        ValueError: checkpoints exist but none of them restores (never a silent restart).
    """
    steps = checkpoint_steps(checkpoint_dir)
    state_file = os.path.join(checkpoint_dir, "checkpoint")
    failures = []
    for step in steps:
        prefix = os.path.join(checkpoint_dir, f"ckpt-{step}")
        try:
            checkpoint.restore(prefix).assert_existing_objects_matched()
        except Exception as error:
            failures.append(f"ckpt-{step} ({type(error).__name__})")
            continue
        if failures:
            logging.warning(
                "Checkpoint %s does not restore; resuming from ckpt-%d instead.",
                ", ".join(failures),
                step,
            )
        repair_state_file(checkpoint_dir, up_to=step)
        return step
    if steps:
        raise ValueError(
            f"no checkpoint in {checkpoint_dir} restores ({', '.join(failures)}); move them "
            "away to start over, or pass --overwrite."
        )
    if os.path.exists(state_file):  # a state file without checkpoints would confuse the manager
        os.remove(state_file)
    return None


def repair_state_file(checkpoint_dir: str, up_to: int | None = None) -> None:
    """Rewrites the `checkpoint` state file from the checkpoint files on disk (steps <= `up_to`).

    The `tf.train.CheckpointManager` reads it to know which checkpoints exist; a garbage one
    would make it forget them (and a restart from step 0 follow).
    """
    steps = sorted(s for s in checkpoint_steps(checkpoint_dir) if up_to is None or s <= up_to)
    state_file = os.path.join(checkpoint_dir, "checkpoint")
    if not steps:
        if os.path.exists(state_file):
            os.remove(state_file)
        return
    tf.compat.v1.train.update_checkpoint_state(
        checkpoint_dir, f"ckpt-{steps[-1]}", [f"ckpt-{s}" for s in steps]
    )
