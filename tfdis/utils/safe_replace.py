"""Replacing a directory so that a failure at any point leaves the old one or the new one.

`--overwrite` never deletes the old output first: the new output is written into a staging
directory beside it (`<parent>/.<name>.new`), and only once it is complete are the two
swapped with one atomic `renameat2(RENAME_EXCHANGE)` (Linux); the old one, now in the staging
place, is then deleted. Where the exchange is unavailable, two renames go through
`<parent>/.<name>.old`, and a crash between them is repaired by `clean_leftovers`, which the
next run of that directory calls (under its lock, `tfdis.utils.run_lock`).

`clean_leftovers` also removes what killed writers leave inside a run: `.tmp-export-*`
directories of an unfinished SavedModel export, `ckpt-N_temp` directories of an unfinished
checkpoint and `.tmp-*` files of an unfinished atomic write.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fnmatch
import os
import shutil
from collections.abc import Iterator

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100

# What killed writers leave inside a run directory (names matched at any depth).
LEFTOVER_PATTERNS = (".tmp-export-*", "ckpt-*_temp", ".tmp-*")


def staging_path(path: str) -> str:
    """Where the replacement of `path` is written: `<parent>/.<name>.new`."""
    parent, name = os.path.split(os.path.abspath(path).rstrip(os.sep))
    return os.path.join(parent, f".{name}.new")


def old_path(path: str) -> str:
    """Where the old `path` waits during a two-rename swap: `<parent>/.<name>.old`."""
    parent, name = os.path.split(os.path.abspath(path).rstrip(os.sep))
    return os.path.join(parent, f".{name}.old")


def _exchange(a: str, b: str) -> bool:
    """Atomically swaps two paths (Linux `renameat2`); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), a)


def swap_into_place(staged: str, path: str) -> None:
    """Makes the complete directory `staged` become `path`, then deletes the old `path`.

    At every instant `path` is the old directory or the new one, except between the two renames
    of the fallback, where the old one sits in `old_path(path)` (`clean_leftovers` restores it).
    """
    if not os.path.lexists(path):
        os.replace(staged, path)
        return
    if _exchange(staged, path):
        shutil.rmtree(staged, ignore_errors=True)  # now the old directory
        return
    old = old_path(path)
    if os.path.lexists(old):
        shutil.rmtree(old)
    os.replace(path, old)
    os.replace(staged, path)
    shutil.rmtree(old, ignore_errors=True)


def clean_leftovers(path: str, keep_staging: bool = False) -> list[str]:
    """Repairs an interrupted swap and removes killed writers' temporary files in `path`.

    Call it only under `path`'s exclusive lock: the temporary files of a live writer would go.

    Args:
        path: a run or output directory.
        keep_staging: keep `staging_path(path)` (an `--overwrite` run resumes it).

    Returns:
        The removed paths.
    """
    removed = []
    old = old_path(path)
    if os.path.lexists(old):
        if not os.path.lexists(path):  # killed between the fallback's two renames
            os.replace(old, path)
        else:
            shutil.rmtree(old, ignore_errors=True)
            removed.append(old)
    staged = staging_path(path)
    if not keep_staging and os.path.lexists(staged):
        shutil.rmtree(staged, ignore_errors=True)
        removed.append(staged)
    for root in [path] + ([staged] if keep_staging else []):
        if not os.path.isdir(root):
            continue
        for directory, subdirs, files in os.walk(root):
            for name in list(subdirs) + files:
                if any(fnmatch.fnmatch(name, p) for p in LEFTOVER_PATTERNS):
                    target = os.path.join(directory, name)
                    if name in subdirs:
                        shutil.rmtree(target, ignore_errors=True)
                        subdirs.remove(name)
                    else:
                        os.remove(target)
                    removed.append(target)
    return removed


@contextlib.contextmanager
def replaced_directory(path: str, overwrite: bool, what: str) -> Iterator[str]:
    """Yields the directory a step writes its output into, then puts it in place at `path`.

    A new `path` is written directly. An existing non-empty `path` is refused unless
    `overwrite`; then the step writes into `staging_path(path)`, which replaces `path` only when
    the block ends without an error (an error removes the staging and keeps `path`).

    Raises:
        FileExistsError: `path` exists, is not empty, and `overwrite` is False.
        NotADirectoryError-like `FileExistsError`: `path` is a file.
    """
    if os.path.lexists(path) and not os.path.isdir(path):
        raise FileExistsError(f"{what} path {path} is an existing file, not a directory.")
    clean_leftovers(path)
    if not (os.path.isdir(path) and os.listdir(path)):
        os.makedirs(path, exist_ok=True)
        yield path
        return
    if not overwrite:
        raise FileExistsError(
            f"{what} directory {path} already exists; pass --overwrite to replace it."
        )
    staged = staging_path(path)
    os.makedirs(staged)
    try:
        yield staged
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    swap_into_place(staged, path)
