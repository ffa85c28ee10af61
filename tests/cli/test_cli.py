"""The console commands end to end, in subprocesses, as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
TINY = [
    "--gin_config=quickstart.gin",
    "--gin_bindings=model.training_steps = 3",
    "--gin_bindings=model.batch_size = 8",
    "--gin_bindings=model.eval_steps = 1",
    "--gin_bindings=encoder.num_latent = 2",
]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, env=ENV, check=False
    )


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory) -> str:
    model_dir = str(tmp_path_factory.mktemp("cli") / "model")
    out = _run("tfdis.cli.train", f"--model_dir={model_dir}", *TINY)
    assert out.returncode == 0, out.stderr[-3000:]
    return model_dir


def test_train_then_evaluate_prints_mig(cli_run):
    out = _run("tfdis.cli.evaluate", f"--model_dir={cli_run}", "--gin_bindings=mig.num_train = 200")
    assert out.returncode == 0, out.stderr[-3000:]
    assert "discrete_mig" in out.stdout


def test_existing_run_is_refused_with_a_message_not_a_traceback(cli_run):
    out = _run("tfdis.cli.train", f"--model_dir={cli_run}", *TINY)
    assert out.returncode == 1
    assert "tfdis_train: error:" in out.stderr and "--overwrite" in out.stderr
    assert "Traceback" not in out.stderr


def test_unknown_gin_name_is_a_clear_error(tmp_path):
    out = _run(
        "tfdis.cli.train", f"--model_dir={tmp_path / 'm'}", *TINY, "--gin_bindings=vae.bogus = 1"
    )
    assert out.returncode == 1
    assert "Invalid gin configuration" in out.stderr and "bogus" in out.stderr
    assert not os.path.exists(tmp_path / "m")


def test_bin_script_runs_the_same_main():
    bin_path = os.path.join(os.path.dirname(__file__), "..", "..", "bin", "tfdis_evaluate")
    out = subprocess.run(
        [sys.executable, bin_path, "--help"], capture_output=True, text=True, env=ENV, check=False
    )
    assert "tfdis_evaluate --model_dir" in out.stdout + out.stderr
    assert "--metrics" in out.stdout + out.stderr


def test_metric_rebound_under_its_name_is_a_one_line_error(cli_run, tmp_path):
    # dlib's sap_score.gin given as --gin_config under the default metric name `mig`.
    sap = tmp_path / "sap_score.gin"
    sap.write_text('evaluation.evaluation_fn = @sap_score\ndataset.name="auto"\n')
    out = _run("tfdis.cli.evaluate", f"--model_dir={cli_run}", f"--gin_config={sap}")
    assert out.returncode == 1
    errors = [line for line in out.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and "from @mig to @sap_score" in errors[0]
    assert "Traceback" not in out.stderr
    assert "SAP_score" not in out.stdout
