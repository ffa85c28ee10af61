"""Run-directory locks: one writer (training) or many readers (postprocess, evaluate, visualize).

A run directory `DIR` is locked through the file `<parent>/.<name>.lock` beside it (beside, not
inside, so the lock survives `--overwrite` swapping the directory itself, see
`tfdis.utils.safe_replace`). The lock is an OS file lock (`fcntl.flock`): it belongs to the open
file, so it is released when the process ends in any way, SIGKILL included, and never goes
stale. Training takes it exclusively for the run's lifetime; postprocessing, evaluation and
pictures take it shared, so any number of them read a run at once but none while it trains. The
exclusive holder writes `pid@host` into the file; a refused process names it.

Locks are re-entrant within a process (tfdis_reproduce trains, then evaluates, the same
directory): a nested request for a directory this process already holds is granted.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from collections.abc import Iterator

# path of the lock file -> [file object, exclusive, depth]
_HELD: dict[str, list] = {}


class RunLockedError(RuntimeError):
    """Another process holds the run directory's lock; the message names it."""


def lock_file_path(run_dir: str) -> str:
    """`<parent>/.<name>.lock` for the run directory `run_dir`."""
    path = os.path.abspath(run_dir).rstrip(os.sep)
    parent, name = os.path.split(path)
    return os.path.join(parent, f".{name}.lock")


def _holder(path: str) -> str:
    try:
        with open(path) as f:
            holder = f.read().strip()
    except OSError:
        holder = ""
    return f"process {holder}" if holder else "another process"


def _refuse(run_dir: str, path: str, exclusive: bool, action: str, handle) -> None:
    """Raises `RunLockedError` naming who holds `path` (an exclusive or only shared holders)."""
    writer = True
    if exclusive:  # a shared probe succeeds when only readers hold it
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            writer = False
            fcntl.flock(handle, fcntl.LOCK_UN)
        except BlockingIOError:
            pass
    if writer:
        who = f"is being trained by {_holder(path)}"
    else:
        who = "is being read by another process (tfdis_postprocess, tfdis_evaluate or visualize)"
    raise RunLockedError(
        f"{run_dir} {who}; refusing to {action} it at the same time (the lock {path} is "
        "released when that process ends)."
    )


@contextlib.contextmanager
def run_lock(run_dir: str, exclusive: bool = True, action: str = "train") -> Iterator[None]:
    """Holds the lock of `run_dir` for the duration of the block.

    Args:
        run_dir: the run directory (need not exist; its parent is created).
        exclusive: True for the writer (training), False for readers.
        action: what this process does, for the refusal message ("train", "evaluate", ...).

    Raises:
        RunLockedError: another process holds the lock in a conflicting mode.
    """
    path = lock_file_path(run_dir)
    held = _HELD.get(path)
    if held is not None:
        if exclusive and not held[1]:
            try:
                fcntl.flock(held[0], fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                _refuse(run_dir, path, True, action, held[0])
            held[1] = True
        held[2] += 1
        try:
            yield
        finally:
            held[2] -= 1
        return
    if not exclusive and not os.path.isdir(os.path.dirname(path)):
        yield  # nothing there to read, nor anyone training it
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        handle = open(path, "a+")
    except OSError:
        if exclusive:
            raise
        yield  # a read-only location: nobody can be training there
        return
    try:
        try:
            fcntl.flock(handle, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            _refuse(run_dir, path, exclusive, action, handle)
        if exclusive:
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}@{socket.gethostname()}\n")
            handle.flush()
        _HELD[path] = [handle, exclusive, 1]
        try:
            yield
        finally:
            del _HELD[path]
    finally:
        handle.close()  # releases the lock


def refuse_if_training(run_dir: str, action: str) -> None:
    """Raises `RunLockedError` at once if another process trains `run_dir` (a quick probe)."""
    with run_lock(run_dir, exclusive=False, action=action):
        pass


def run_locks(run_dirs, action: str = "train") -> contextlib.ExitStack:
    """An `ExitStack` holding the exclusive locks of several run directories (a stacked group).

    Use as `with run_locks(dirs): ...`; a refusal releases the locks already taken.
    """
    stack = contextlib.ExitStack()
    try:
        for run_dir in run_dirs:
            stack.enter_context(run_lock(run_dir, True, action))
    except BaseException:
        stack.close()
        raise
    return stack
