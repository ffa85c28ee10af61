"""Where real datasets live and the error raised when one is missing (SPEC section 3)."""

from __future__ import annotations

import os


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files (or its tfds copy) are not on this machine.

    The message names what is needed and how to get it.
    """


def data_dir() -> str:
    """The data directory: `$TFDIS_DATA`, else `$DISENTANGLEMENT_LIB_DATA`, else `~/tfdis_data`."""
    for var in ("TFDIS_DATA", "DISENTANGLEMENT_LIB_DATA"):
        value = os.environ.get(var)
        if value:
            return value
    return os.path.join(os.path.expanduser("~"), "tfdis_data")


def data_path(*parts: str) -> str:
    """Joins `parts` under `data_dir()`."""
    return os.path.join(data_dir(), *parts)
