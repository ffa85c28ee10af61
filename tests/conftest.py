"""Shared test setup: quiet TF logs, the tiny `test_squares` dataset, gin hygiene."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gin
import pytest

from tfdis.data.named_data import register_dataset
from tfdis.testing import TinySquares

register_dataset("test_squares", TinySquares)


@pytest.fixture(autouse=True)
def _clear_gin():
    gin.clear_config()
    yield
    gin.clear_config()
