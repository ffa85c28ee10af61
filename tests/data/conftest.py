"""Fixtures for the dataset tests: empty data directories so that nothing real is found."""

from __future__ import annotations

import pytest


@pytest.fixture
def empty_data_dirs(tmp_path, monkeypatch):
    """Points `$TFDIS_DATA` and `$TFDS_DATA_DIR` at empty directories; returns them."""
    tfdis_dir = tmp_path / "tfdis_data"
    tfds_dir = tmp_path / "tfds_data"
    tfdis_dir.mkdir()
    tfds_dir.mkdir()
    monkeypatch.setenv("TFDIS_DATA", str(tfdis_dir))
    monkeypatch.setenv("TFDS_DATA_DIR", str(tfds_dir))
    monkeypatch.delenv("DISENTANGLEMENT_LIB_DATA", raising=False)
    return tfdis_dir, tfds_dir
