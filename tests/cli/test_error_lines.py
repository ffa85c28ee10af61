"""Expected failures print one `error:` line (and at most one short where-line), exit 1."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import gin
import pytest

from tfdis.aggregation import aggregate_results
from tfdis.cli import common

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")


def _error_lines(stderr: str, program: str) -> list[str]:
    lines = stderr.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{program}: error:"))
    return lines[start:]


def test_a_bad_binding_is_one_line_naming_it(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "tfdis.cli.train",
            f"--model_dir={tmp_path / 'm'}",
            "--gin_config=quickstart.gin",
            "--gin_bindings=model.batch_size='abc'",
        ],
        capture_output=True,
        text=True,
        env=ENV,
        check=False,
    )
    assert out.returncode == 1
    assert _error_lines(out.stderr, "tfdis_train") == [
        "tfdis_train: error: model.batch_size must be a positive integer, got 'abc' (str)"
    ]
    assert "Traceback" not in out.stderr
    assert not os.path.exists(tmp_path / "m")


def test_a_bad_model_parameter_is_one_line_naming_it(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "tfdis.cli.train",
            f"--model_dir={tmp_path / 'm'}",
            "--gin_config=quickstart.gin",
            "--gin_bindings=vae.beta='abc'",
        ],
        capture_output=True,
        text=True,
        env=ENV,
        check=False,
    )
    assert out.returncode == 1
    assert _error_lines(out.stderr, "tfdis_train") == [
        "tfdis_train: error: vae.beta must be a finite number >= 0, got 'abc' (str)"
    ]
    assert "Traceback" not in out.stderr
    assert not os.path.exists(tmp_path / "m")


def test_a_bad_binding_used_only_inside_training_leaves_an_existing_directory_untouched(tmp_path):
    """`posterior.correlation` is read only when the networks are built: the parse-time check
    refuses it before --overwrite touches the directory (no staging directory either)."""
    old = tmp_path / "m"
    old.mkdir()
    (old / "keep.txt").write_text("old run")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "tfdis.cli.train",
            f"--model_dir={old}",
            "--overwrite",
            "--gin_config=quickstart.gin",
            "--gin_bindings=posterior.correlation=1.0",
        ],
        capture_output=True,
        text=True,
        env=ENV,
        check=False,
    )
    assert out.returncode == 1
    assert _error_lines(out.stderr, "tfdis_train") == [
        "tfdis_train: error: posterior.correlation must be a finite number >= 0 < 1, got 1.0 "
        "(float)"
    ]
    assert sorted(os.listdir(tmp_path)) == ["m"]
    assert os.listdir(old) == ["keep.txt"] and (old / "keep.txt").read_text() == "old run"


def test_a_negative_model_num_is_named_not_reported_missing(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "tfdis.cli.reproduce",
            "--study=rtc_study_smoke",
            "--model_num=-1",
            f"--output_directory={tmp_path}",
        ],
        capture_output=True,
        text=True,
        env=ENV,
        check=False,
    )
    assert out.returncode == 1
    assert _error_lines(out.stderr, "tfdis_reproduce") == [
        "tfdis_reproduce: error: --model_num must be a model number >= 0, got -1"
    ]


def test_gin_call_chain_is_trimmed_to_a_where_line(capsys):
    @gin.configurable("some_configurable_for_test")
    def failing():
        raise TypeError("can't multiply sequence by non-int of type 'float'")

    with pytest.raises(SystemExit) as info:
        common.run_reporting_errors("tfdis_x", failing)
    assert info.value.code == 1
    assert capsys.readouterr().err.splitlines() == [
        "tfdis_x: error: can't multiply sequence by non-int of type 'float'",
        "  (in gin configurable 'some_configurable_for_test')",
    ]


def test_a_permission_error_is_one_line(capsys):
    def main():
        raise PermissionError(13, "Permission denied", "/runs/x/checkpoints")

    with pytest.raises(SystemExit) as info:
        common.run_reporting_errors("tfdis_train", main)
    assert info.value.code == 1
    assert capsys.readouterr().err == (
        "tfdis_train: error: [Errno 13] Permission denied: '/runs/x/checkpoints'\n"
    )


def test_aggregate_names_a_malformed_or_wrongly_shaped_file(tmp_path):
    bad = tmp_path / "a" / "evaluation.json"
    bad.parent.mkdir()
    bad.write_text('{"train_results.uuid": ')
    with pytest.raises(ValueError, match=f"{bad} is not valid JSON"):
        aggregate_results(str(tmp_path / "*" / "evaluation.json"), str(tmp_path / "out"))
    bad.write_text(json.dumps([1, 2]))
    with pytest.raises(ValueError, match=f"{bad} is not an evaluation aggregate"):
        aggregate_results(str(tmp_path / "*" / "evaluation.json"), str(tmp_path / "out"))
