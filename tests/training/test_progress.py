"""Progress lines for the loops after training: the final evaluation, the export."""

from __future__ import annotations

import pytest
from absl import logging as absl_logging

from tfdis.testing import TINY_TRAINING_BINDINGS
from tfdis.training import progress, train


@pytest.fixture
def messages(monkeypatch) -> list[str]:
    """absl's info lines, recorded directly (TensorFlow's export may change absl's log level)."""
    recorded = []
    info = absl_logging.info

    def record(message, *args, **kwargs):
        recorded.append(message % args if args else message)
        info(message, *args, **kwargs)

    monkeypatch.setattr(absl_logging, "info", record)
    return recorded


def test_logged_yields_every_item_and_reports_progress(messages):
    items = list(progress.logged(iter(range(5)), 5, "Scoring", unit="chunks", every_seconds=0.0))
    assert items == [0, 1, 2, 3, 4]
    assert messages[0] == "Scoring: 5 chunks."
    # A line after each item but the last (the end has its own line), with rate and ETA.
    assert [m.split(" |")[0] for m in messages[1:5]] == [
        f"Scoring: {i}/5 chunks ({20 * i}%)" for i in range(1, 5)
    ]
    assert all("chunks/s | ETA" in m for m in messages[1:5])
    assert messages[5].startswith("Scoring: done in ") and len(messages) == 6


def test_final_evaluation_and_export_are_logged(tmp_path, messages):
    train.train_with_gin(str(tmp_path / "run"), gin_bindings=TINY_TRAINING_BINDINGS)
    assert "Final evaluation: 2 batches." in messages
    final = next(i for i, m in enumerate(messages) if m.startswith("Final evaluation: done in "))
    exporting = next(i for i, m in enumerate(messages) if m.startswith("Exporting the SavedModel"))
    exported = next(i for i, m in enumerate(messages) if m.startswith("Exported in "))
    assert final < exporting < exported
