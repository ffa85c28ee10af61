"""SavedModel directories on disk: written atomically, loaded with a one-line error.

`tfdis.training.export` writes a trained model's SavedModel and `tfdis.postprocessing` a
representation's through `save_module_atomically`; postprocessing, evaluation and visualization
load them through `load_saved_model`, so none of them imports the training package. The
`tfdis_model.json` file written beside the SavedModel is read by `tfdis.utils.model_metadata`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile

import tensorflow as tf

from tfdis.utils import results
from tfdis.utils.model_metadata import METADATA_FILE


def save_module_atomically(
    module: tf.Module,
    signatures: dict,
    export_dir: str,
    metadata: dict | None = None,
) -> None:
    """Saves a SavedModel to a sibling temporary directory, then renames it into place."""
    parent = os.path.dirname(os.path.abspath(export_dir))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=parent, prefix=".tmp-export-")
    try:
        os.chmod(tmp, results.default_mode(directory=True))  # mkdtemp's 0700 would stick
        tf.saved_model.save(module, tmp, signatures=signatures)
        if metadata is not None:
            with open(os.path.join(tmp, METADATA_FILE), "w") as f:
                json.dump(metadata, f, indent=2, sort_keys=True)
        if os.path.exists(export_dir):
            shutil.rmtree(export_dir)
        os.replace(tmp, export_dir)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp)


def load_saved_model(export_dir: str):
    """`tf.saved_model.load`, with a one-line `ValueError` for a truncated or corrupt export."""
    try:
        return tf.saved_model.load(export_dir)
    except Exception as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise ValueError(
            f"cannot load the SavedModel in {export_dir} ({first}); it is truncated or corrupt: "
            "retrain the run with --overwrite (or restore the directory from a copy)."
        ) from error
