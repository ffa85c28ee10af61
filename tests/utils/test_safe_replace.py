"""Directory replacement that never leaves neither the old nor the new directory."""

from __future__ import annotations

import os

import pytest

from tfdis.utils import safe_replace


def _make(path, text: str) -> None:
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "f.txt"), "w") as f:
        f.write(text)


def _read(path) -> str:
    with open(os.path.join(path, "f.txt")) as f:
        return f.read()


def test_swap_puts_the_new_directory_in_place_and_drops_the_old(tmp_path):
    target, staged = tmp_path / "run", safe_replace.staging_path(str(tmp_path / "run"))
    _make(target, "old")
    _make(staged, "new")
    safe_replace.swap_into_place(staged, str(target))
    assert _read(target) == "new"
    assert sorted(os.listdir(tmp_path)) == ["run"]


def test_fallback_killed_between_its_two_renames_is_repaired(tmp_path, monkeypatch):
    target = str(tmp_path / "run")
    staged = safe_replace.staging_path(target)
    _make(target, "old")
    _make(staged, "new")
    monkeypatch.setattr(safe_replace, "_exchange", lambda a, b: False)
    real_replace = os.replace

    def killed_after_first(src, dst):
        real_replace(src, dst)
        if dst == safe_replace.old_path(target):
            raise KeyboardInterrupt  # the process dies here: `target` does not exist

    monkeypatch.setattr(safe_replace.os, "replace", killed_after_first)
    with pytest.raises(KeyboardInterrupt):
        safe_replace.swap_into_place(staged, target)
    monkeypatch.setattr(safe_replace.os, "replace", real_replace)
    assert not os.path.exists(target)
    safe_replace.clean_leftovers(target)  # the next run of the directory
    assert _read(target) == "old"
    assert sorted(os.listdir(tmp_path)) == ["run"]


def test_leftovers_of_killed_writers_are_removed(tmp_path):
    run = tmp_path / "run"
    _make(run / "checkpoints" / "ckpt-3_temp", "partial")
    _make(run / ".tmp-export-abc123", "partial")
    _make(run / "postprocessed" / "mean" / ".tmp-export-x", "partial")
    (run / "results").mkdir()
    (run / "results" / ".tmp-xyztrain.json").write_text("{")
    _make(run / "saved_model", "kept")
    removed = safe_replace.clean_leftovers(str(run))
    assert len(removed) == 4
    assert sorted(os.listdir(run)) == ["checkpoints", "postprocessed", "results", "saved_model"]
    assert os.listdir(run / "checkpoints") == [] and os.listdir(run / "results") == []
    assert _read(run / "saved_model") == "kept"


def test_replaced_directory_keeps_the_old_output_when_the_step_fails(tmp_path):
    out = str(tmp_path / "out")
    _make(out, "old")
    with pytest.raises(FileExistsError, match="--overwrite"):
        with safe_replace.replaced_directory(out, False, "Output"):
            pass
    with pytest.raises(RuntimeError), safe_replace.replaced_directory(out, True, "Output") as d:
        _make(d, "half")
        raise RuntimeError("step failed")
    assert _read(out) == "old" and sorted(os.listdir(tmp_path)) == ["out"]
    with safe_replace.replaced_directory(out, True, "Output") as d:
        assert d != out and _read(out) == "old"  # the old output stays until the end
        _make(d, "new")
    assert _read(out) == "new" and sorted(os.listdir(tmp_path)) == ["out"]
