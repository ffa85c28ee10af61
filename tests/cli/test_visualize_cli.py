"""`tfdis_visualize` and `tfdis_visualize_dataset` in subprocesses, as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tfdis.testing import TINY_TRAINING_BINDINGS
from tfdis.training import train

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
BIN = os.path.join(os.path.dirname(__file__), "..", "..", "bin")


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, env=ENV, check=False
    )


@pytest.fixture(scope="module")
def dsprites_run(tmp_path_factory) -> str:
    # The subprocess knows only the registered datasets, so train on dsprites_procedural.
    model_dir = str(tmp_path_factory.mktemp("cli_viz") / "model")
    bindings = [b for b in TINY_TRAINING_BINDINGS if not b.startswith("dataset.name")]
    train.train_with_gin(
        model_dir, gin_bindings=[*bindings, "dataset.name = 'dsprites_procedural'"]
    )
    return model_dir


def test_visualize_prints_the_written_files(dsprites_run, tmp_path):
    output_dir = str(tmp_path / "pictures")
    out = _run("tfdis.cli.visualize", f"--model_dir={dsprites_run}", f"--output_dir={output_dir}")
    assert out.returncode == 0, out.stderr[-3000:]
    paths = out.stdout.split()
    assert os.path.join(output_dir, "reconstructions.png") in paths
    assert os.path.join(output_dir, "latent_vs_factors.png") in paths
    assert len(paths) == 2 + 3 * 3 * 2 + 5  # 3 bases x 3 kinds x (PNG, GIF) + 4 plots + JSON
    assert all(os.path.isfile(p) for p in paths)


def test_missing_model_dir_is_a_clear_error(tmp_path, capsys):
    # In-process (the flags parsed by hand) to spare a TensorFlow start-up.
    from absl import flags

    from tfdis.cli import visualize as cli

    flags.FLAGS(["tfdis_visualize", f"--model_dir={tmp_path / 'absent'}"])
    try:
        with pytest.raises(SystemExit) as exit_info:
            cli.main(["tfdis_visualize"])
    finally:
        flags.FLAGS.unparse_flags()
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("tfdis_visualize: error:") and "no exported model" in err
    assert not os.path.exists(tmp_path / "absent")


def test_visualize_dataset_on_dsprites_procedural(tmp_path):
    output_dir = str(tmp_path / "dsprites")
    out = _run(
        "tfdis.cli.visualize_dataset", "--dataset=dsprites_procedural", f"--output_dir={output_dir}"
    )
    assert out.returncode == 0, out.stderr[-3000:]
    names = [os.path.basename(p) for p in out.stdout.split()]
    assert names == [
        "samples.png",
        "factor_sweeps.png",
        "factor0_shape.gif",
        "factor1_scale.gif",
        "factor2_orientation.gif",
        "factor3_posX.gif",
        "factor4_posY.gif",
    ]
    assert all(os.path.isfile(os.path.join(output_dir, name)) for name in names)


@pytest.mark.parametrize(
    "command, flags",
    [("tfdis_visualize", ["--model_dir", "--output_dir"]),
     ("tfdis_visualize_dataset", ["--dataset", "--output_dir", "--random_seed"])],
)  # fmt: skip
def test_bin_scripts_run_the_same_main(command, flags):
    out = subprocess.run(
        [sys.executable, os.path.join(BIN, command), "--help"],
        capture_output=True,
        text=True,
        env=ENV,
        check=False,
    )
    assert command in out.stdout + out.stderr
    for flag in flags:
        assert flag in out.stdout + out.stderr
