"""Loading a locally prepared tfds dataset into numpy arrays, offline (SPEC sections 2-3).

tfds is never asked to download: a dataset that is not prepared under the tfds data directory
raises `DatasetNotFoundError` with instructions.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from tfdis.data.paths import DatasetNotFoundError


def tfds_data_dir(data_dir: str | None = None) -> str:
    """The tfds data directory: `data_dir`, else `$TFDS_DATA_DIR`, else `~/tensorflow_datasets`."""
    if data_dir:
        return data_dir
    return os.environ.get("TFDS_DATA_DIR") or os.path.join(
        os.path.expanduser("~"), "tensorflow_datasets"
    )


def how_to_get_tfds(name: str, data_dir: str | None = None) -> str:
    """A sentence saying how to prepare tfds dataset `name` on a machine with network."""
    return (
        f"tfds dataset '{name}' is not prepared in {tfds_data_dir(data_dir)}: on a machine with "
        f"network run `tfds build {name}` (or `tfds.load('{name}')` in Python), then copy its "
        f"data dir (~/tensorflow_datasets/{name}) into {tfds_data_dir(data_dir)} or point "
        "$TFDS_DATA_DIR at it."
    )


def load_tfds_arrays(
    name: str,
    split: str,
    keys: Sequence[str],
    data_dir: str | None = None,
    transforms: Mapping[str, Callable[[np.ndarray], np.ndarray]] | None = None,
    batch_size: int = 4096,
    missing_message: str | None = None,
) -> dict[str, np.ndarray]:
    """Reads features `keys` of all examples of `split` of tfds dataset `name` into arrays.

    Args:
        name: tfds dataset name, e.g. "dsprites".
        split: tfds split expression, e.g. "train" or "train+test".
        keys: feature names to keep.
        data_dir: tfds data directory (default `tfds_data_dir()`).
        transforms: optional per-key functions applied to each batch (e.g. resizing or bit
            packing), so that a large image feature never sits in memory untransformed.
        batch_size: examples read per batch.
        missing_message: text of the `DatasetNotFoundError` (default: `how_to_get_tfds`).

    Returns:
        dict key -> array with the examples along axis 0, in the order tfds reads them.

    Raises:
        DatasetNotFoundError: the dataset is not prepared locally.
    """
    import tensorflow_datasets as tfds

    transforms = dict(transforms or {})
    try:
        builder = tfds.builder(name, data_dir=tfds_data_dir(data_dir))
        dataset = builder.as_dataset(split=split, shuffle_files=False)
    except (AssertionError, OSError, tfds.core.registered.DatasetNotFoundError) as error:
        # tfds raises AssertionError when the data files are not there.
        raise DatasetNotFoundError(missing_message or how_to_get_tfds(name, data_dir)) from error
    dataset = dataset.map(lambda example: {key: example[key] for key in keys}).batch(batch_size)
    chunks: dict[str, list[np.ndarray]] = {key: [] for key in keys}
    for batch in tfds.as_numpy(dataset):
        for key in keys:
            value = batch[key]
            chunks[key].append(transforms[key](value) if key in transforms else value)
    if not chunks[keys[0]]:
        raise DatasetNotFoundError(f"tfds dataset '{name}' split '{split}' has no examples.")
    return {key: np.concatenate(parts, axis=0) for key, parts in chunks.items()}
