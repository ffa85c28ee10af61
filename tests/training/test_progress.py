"""Progress lines for the loops after training: the final evaluation, the export."""

from __future__ import annotations

import logging

from tfdis.testing import TINY_TRAINING_BINDINGS
from tfdis.training import progress, train


def _messages(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records]


def test_logged_yields_every_item_and_reports_progress(caplog):
    caplog.set_level(logging.INFO, logger="absl")
    items = list(progress.logged(iter(range(5)), 5, "Scoring", unit="chunks", every_seconds=0.0))
    assert items == [0, 1, 2, 3, 4]
    messages = _messages(caplog)
    assert messages[0] == "Scoring: 5 chunks."
    # A line after each item but the last (the end has its own line), with rate and ETA.
    assert [m.split(" |")[0] for m in messages[1:5]] == [
        f"Scoring: {i}/5 chunks ({20 * i}%)" for i in range(1, 5)
    ]
    assert all("chunks/s | ETA" in m for m in messages[1:5])
    assert messages[5].startswith("Scoring: done in ")


def test_final_evaluation_and_export_are_logged(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="absl")
    train.train_with_gin(str(tmp_path / "run"), gin_bindings=TINY_TRAINING_BINDINGS)
    messages = _messages(caplog)
    assert "Final evaluation: 2 batches." in messages
    assert any(m.startswith("Final evaluation: done in ") for m in messages)
    exporting = next(i for i, m in enumerate(messages) if m.startswith("Exporting the SavedModel"))
    assert any(m.startswith("Exported in ") for m in messages[exporting + 1 :])
