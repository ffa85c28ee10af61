"""The `tfdis_model.json` file beside an exported SavedModel: its name and its reader.

`tfdis.training.export` writes the file; evaluation, postprocessing, visualization and the CLIs
read it through `read_model_metadata`, so they need not import the training package.
"""

from __future__ import annotations

import json
import os

METADATA_FILE = "tfdis_model.json"


def read_model_metadata(export_dir: str) -> dict:
    """The `tfdis_model.json` facts of an exported model (empty if it has none)."""
    path = os.path.join(export_dir, METADATA_FILE)
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)
