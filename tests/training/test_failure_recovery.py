"""Fault injection: every failure leaves the old run intact or the new run complete (issue 13).

Tiny real runs (4 steps of `test_squares`) are killed, interrupted, truncated, raced and
misconfigured in this process; `test_sigterm_*` runs the command line in subprocesses.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tfdis.data.named_data import register_dataset
from tfdis.testing import TINY_TRAINING_BINDINGS, TinySquares, checkpoint_arrays, training_killed_at
from tfdis.training import interrupt, progress, run_dir, stacked, train
from tfdis.utils import layout, run_lock, safe_replace, saved_models

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The tiny run without image summaries (they cost more than the steps).
BINDINGS = (
    *TINY_TRAINING_BINDINGS,
    "model.image_summary_every_steps = 100",
    "model.summary_every_steps = 100",
)


def _snapshot(directory: str) -> dict[str, str]:
    """Every file under `directory` by relative path, with its content hash."""
    files = {}
    for root, _, names in os.walk(directory):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                files[os.path.relpath(path, directory)] = hashlib.sha256(f.read()).hexdigest()
    return files


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> str:
    model_dir = str(tmp_path_factory.mktemp("recovery") / "model")
    train.train_with_gin(model_dir, gin_bindings=TINY_TRAINING_BINDINGS)
    return model_dir


@pytest.fixture
def copied_run(finished_run, tmp_path) -> str:
    model_dir = str(tmp_path / "model")
    shutil.copytree(finished_run, model_dir)
    return model_dir


# --- 1. --overwrite --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("binding", "error", "match"),
    [
        ("dataset.name = 'no_such_data'", ValueError, "Unknown dataset name"),
        ("model.batch_size = 'abc'", ValueError, "model.batch_size must be a positive integer"),
        ("model.training_steps = 30.5", ValueError, "model.training_steps must be a positive"),
        ("model.batch_size = 64.0", ValueError, "model.batch_size must be a positive integer"),
    ],
)
def test_a_failed_overwrite_leaves_the_old_run_intact(finished_run, binding, error, match):
    before = _snapshot(finished_run)
    with pytest.raises(error, match=match):
        train.train_with_gin(
            finished_run, overwrite=True, gin_bindings=[*TINY_TRAINING_BINDINGS, binding]
        )
    assert _snapshot(finished_run) == before
    assert not os.path.exists(safe_replace.staging_path(finished_run))


def test_an_overwrite_killed_mid_run_keeps_the_old_run_and_resumes(copied_run):
    before = _snapshot(copied_run)
    bindings = [*BINDINGS, "model.random_seed = 7"]
    with training_killed_at(3), pytest.raises(KeyboardInterrupt):
        train.train_with_gin(copied_run, overwrite=True, gin_bindings=bindings)
    assert _snapshot(copied_run) == before  # old run intact, new one staged beside it
    staged = safe_replace.staging_path(copied_run)
    assert run_dir.checkpoint_steps(layout.checkpoint_dir(staged)) == [2]

    restored = []
    original = run_dir.restore_newest

    def spy(checkpoint, checkpoint_dir):
        restored.append(original(checkpoint, checkpoint_dir))
        return restored[-1]

    run_dir.restore_newest, saved = spy, run_dir.restore_newest
    try:
        result = train.train_with_gin(copied_run, overwrite=True, gin_bindings=bindings)
    finally:
        run_dir.restore_newest = saved
    assert restored == [2]  # the same command resumed the staged run
    assert result["global_step"] == 4
    with open(os.path.join(layout.results_dir(copied_run), "json", "train_config.json")) as f:
        assert json.load(f)["model.random_seed"] == "7"
    assert not os.path.exists(staged)
    assert sorted(os.listdir(os.path.dirname(copied_run))) == [".model.lock", "model"]


def test_model_dir_that_is_or_lies_under_a_file_is_refused(tmp_path):
    path = tmp_path / "file"
    path.write_text("precious")
    for overwrite in (False, True):
        with pytest.raises(FileExistsError, match="is an existing file, not a run directory"):
            train.train_with_gin(str(path), overwrite, gin_bindings=TINY_TRAINING_BINDINGS)
    with pytest.raises(FileExistsError, match=f"{path} is a file"):
        train.train_with_gin(str(path / "run"), gin_bindings=TINY_TRAINING_BINDINGS)
    assert path.read_text() == "precious"


# --- 2. locks ---------------------------------------------------------------------------------


@pytest.fixture
def locked_by_other_process():
    """Locks a run directory as another tfdis_train (pid 4242) would."""
    handles = []

    def lock(model_dir: str) -> None:
        os.makedirs(os.path.dirname(os.path.abspath(model_dir)), exist_ok=True)
        handle = open(run_lock.lock_file_path(model_dir), "a+")
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        handle.truncate(0)
        handle.write("4242@otherhost\n")
        handle.flush()
        handles.append(handle)

    yield lock
    for handle in handles:
        handle.close()


def test_a_run_being_trained_is_refused_to_trainers_and_readers(
    finished_run, locked_by_other_process, tmp_path
):
    from tfdis.evaluation.runs import evaluate_run
    from tfdis.postprocessing.runs import postprocess_run
    from tfdis.visualization.visualize import visualize_run

    before = _snapshot(finished_run)
    locked_by_other_process(finished_run)
    message = "is being trained by process 4242@otherhost"
    with pytest.raises(run_lock.RunLockedError, match=message):
        train.train_with_gin(finished_run, overwrite=True, gin_bindings=TINY_TRAINING_BINDINGS)
    with pytest.raises(run_lock.RunLockedError, match=message):
        evaluate_run(finished_run)
    with pytest.raises(run_lock.RunLockedError, match=message):
        postprocess_run(finished_run)
    with pytest.raises(run_lock.RunLockedError, match=message):
        visualize_run(finished_run, str(tmp_path / "pictures"))
    assert _snapshot(finished_run) == before


def test_a_stacked_group_locks_each_member(tmp_path, locked_by_other_process):
    dirs = [str(tmp_path / "m0"), str(tmp_path / "m1")]
    locked_by_other_process(dirs[1])
    with pytest.raises(run_lock.RunLockedError, match="m1 is being trained by process 4242"):
        stacked.train_stacked_with_gin(dirs, [((), TINY_TRAINING_BINDINGS)] * 2)
    assert not os.path.exists(dirs[0])


# --- 3. signals -------------------------------------------------------------------------------


def test_sigint_finishes_the_step_checkpoints_and_resumes(tmp_path, monkeypatch):
    model_dir = str(tmp_path / "run")
    bindings = [*BINDINGS, "model.training_steps = 8", "model.checkpoint_every_steps = 100"]
    original = progress.ProgressLogger.maybe_log

    def ctrl_c_at_step_2(self, step, logs):
        if step == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return original(self, step, logs)

    monkeypatch.setattr(progress.ProgressLogger, "maybe_log", ctrl_c_at_step_2)
    with pytest.raises(interrupt.TrainingInterrupted, match="SIGINT.*step 3.*same command") as e:
        train.train_with_gin(model_dir, gin_bindings=bindings)
    assert e.value.exit_code == 130
    assert run_dir.checkpoint_steps(layout.checkpoint_dir(model_dir))[0] == 3
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored
    monkeypatch.setattr(progress.ProgressLogger, "maybe_log", original)
    assert _resume_recording_step(model_dir, bindings, monkeypatch)[0] == 3


SECOND_SIGNAL = """
import os, signal, time
from tfdis.training import interrupt
with interrupt.stop_requests() as stop:
    os.kill(os.getpid(), signal.SIGINT)
    assert stop.signum == signal.SIGINT
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(30)
"""


def test_a_second_signal_aborts_at_once():
    out = subprocess.run(
        [sys.executable, "-c", SECOND_SIGNAL],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=ROOT),
        timeout=20,
        check=False,
    )
    assert out.returncode == 130
    assert "aborted by a second signal" in out.stderr and "Traceback" not in out.stderr


# --- 4, 5. leftovers and damaged checkpoints ----------------------------------------------------


KILLED_BINDINGS = [*BINDINGS, "model.training_steps = 6", "model.checkpoint_every_steps = 1"]


@pytest.fixture(scope="module")
def killed_once(tmp_path_factory) -> str:
    model_dir = str(tmp_path_factory.mktemp("killed") / "run")
    with training_killed_at(5), pytest.raises(KeyboardInterrupt):
        train.train_with_gin(model_dir, gin_bindings=KILLED_BINDINGS)
    return model_dir


@pytest.fixture
def killed_run(killed_once, tmp_path) -> tuple[str, list[str]]:
    """A run killed at step 5 of 6, after the checkpoints of steps 3, 4 and 5 (3 are kept)."""
    model_dir = str(tmp_path / "run")
    shutil.copytree(killed_once, model_dir)
    assert run_dir.checkpoint_steps(layout.checkpoint_dir(model_dir)) == [5, 4, 3]
    return model_dir, KILLED_BINDINGS


class _Restored(Exception):
    pass


def _resume_recording_step(model_dir: str, bindings, monkeypatch, finish=False, **kwargs):
    """The step a rerun restores (and its train results if `finish`, else it stops there)."""
    restored = []
    original = run_dir.restore_newest

    def spy(checkpoint, checkpoint_dir):
        restored.append(original(checkpoint, checkpoint_dir))
        if not finish:
            raise _Restored
        return restored[-1]

    monkeypatch.setattr(run_dir, "restore_newest", spy)
    try:
        result = train.train_with_gin(model_dir, gin_bindings=bindings, **kwargs)
    except _Restored:
        result = None
    return restored[0], result


def test_the_next_run_removes_leftovers_of_a_killed_one(killed_run, monkeypatch):
    model_dir, bindings = killed_run
    os.makedirs(os.path.join(model_dir, ".tmp-export-x1y2", "variables"))
    os.makedirs(os.path.join(layout.checkpoint_dir(model_dir), "ckpt-6_temp"))
    step, result = _resume_recording_step(model_dir, bindings, monkeypatch)
    assert step == 5
    names = {n for _, dirs, files in os.walk(model_dir) for n in dirs + files}
    assert not any(n.startswith(".tmp-") or n.endswith("_temp") for n in names)


def test_a_truncated_latest_checkpoint_falls_back_to_the_previous_one(killed_run, monkeypatch):
    model_dir, bindings = killed_run
    data_file = os.path.join(layout.checkpoint_dir(model_dir), "ckpt-5.data-00000-of-00001")
    with open(data_file, "r+b") as f:
        f.truncate(100)
    step, _ = _resume_recording_step(model_dir, bindings, monkeypatch)
    assert step == 4


def test_a_garbage_state_file_still_resumes_from_the_newest_checkpoint(killed_run, monkeypatch):
    model_dir, bindings = killed_run
    with open(os.path.join(layout.checkpoint_dir(model_dir), "checkpoint"), "w") as f:
        f.write("\x00garbage{{{")
    step, _ = _resume_recording_step(model_dir, bindings, monkeypatch)
    assert step == 5


# --- 6. resuming with changed constants ----------------------------------------------------------


def test_a_stopped_run_resumes_with_a_lower_learning_rate_when_allowed(killed_run, monkeypatch):
    model_dir, bindings = killed_run
    changed = [*bindings, "AdamOptimizer.learning_rate = 0.0005", "vae.beta = 2."]
    with pytest.raises(FileExistsError, match="AdamOptimizer.learning_rate: 0.001 -> 0.0005"):
        train.train_with_gin(model_dir, gin_bindings=changed)
    with pytest.raises(FileExistsError, match="vae.beta: 1.0 -> 2.0"):
        train.train_with_gin(model_dir, gin_bindings=changed, allow_config_change=["optimizer"])
    step, result = _resume_recording_step(
        model_dir,
        changed,
        monkeypatch,
        finish=True,
        allow_config_change=["optimizer", "regularizer"],
    )
    assert step == 5 and result["global_step"] == 6
    with open(os.path.join(layout.checkpoint_dir(model_dir), run_dir.CONFIG_HISTORY_FILE)) as f:
        (entry,) = json.load(f)
    assert entry["step"] == 5
    assert entry["changes"] == {
        "AdamOptimizer.learning_rate": ["0.001", "0.0005"],
        "vae.beta": ["1.0", "2.0"],
    }
    learning_rate = checkpoint_arrays(model_dir)[
        "optimizer/_learning_rate/.ATTRIBUTES/VARIABLE_VALUE"
    ]
    assert learning_rate == np.float32(0.0005)


class AllNaNSquares(TinySquares):
    def sample_observations_from_factors(self, factors, random_state):
        return np.full((len(factors), 64, 64, 1), np.nan, np.float32)


def test_a_nan_at_step_1_says_nothing_was_saved_and_a_changed_rerun_starts_over(
    tmp_path, monkeypatch
):
    register_dataset("test_all_nan_squares", AllNaNSquares)
    model_dir = str(tmp_path / "run")
    bindings = [*BINDINGS, "dataset.name = 'test_all_nan_squares'"]
    with pytest.raises(train.NonFiniteLossError, match="at step 1. Nothing was saved") as info:
        train.train_with_gin(model_dir, gin_bindings=bindings)
    assert "checkpoint" not in str(info.value)
    assert not os.path.exists(model_dir)
    changed = [*BINDINGS, "AdamOptimizer.learning_rate = 0.0005"]
    step, _ = _resume_recording_step(model_dir, changed, monkeypatch)
    assert step is None  # accepted, and started from scratch


# --- 7. non-finite final evaluation ------------------------------------------------------------


def test_a_non_finite_final_evaluation_fails_the_run_and_records_nothing(tmp_path):
    # The case: three steps at learning rate 0.3 pass the step guard, but the final
    # evaluation of the blown-up weights is inf.
    model_dir = str(tmp_path / "run")
    bindings = [*BINDINGS, "AdamOptimizer.learning_rate = 0.3", "model.training_steps = 3"]
    with pytest.raises(train.NonFiniteResultError, match="is not finite .*kl_loss=inf"):
        train.train_with_gin(model_dir, gin_bindings=bindings)
    assert run_dir.checkpoint_steps(layout.checkpoint_dir(model_dir))[0] == 3
    assert not os.path.exists(layout.results_dir(model_dir))
    assert not os.path.exists(layout.saved_model_dir(model_dir))


# --- 8. corrupt exports and empty batches --------------------------------------------------------


def test_a_truncated_saved_model_is_a_one_line_error(copied_run, tmp_path):
    from tfdis.evaluation.runs import evaluate_run
    from tfdis.visualization.visualize import visualize_run

    with open(os.path.join(layout.saved_model_dir(copied_run), "saved_model.pb"), "r+b") as f:
        f.truncate(1000)
    with pytest.raises(ValueError, match="truncated or corrupt"):
        visualize_run(copied_run, str(tmp_path / "pictures"))
    with pytest.raises(ValueError, match="truncated or corrupt"):
        evaluate_run(copied_run)


def test_exported_encode_returns_an_empty_result_for_an_empty_batch(finished_run):
    module = saved_models.load_saved_model(layout.saved_model_dir(finished_run))
    encoded = module.signatures["encode"](tf.zeros([0, 64, 64, 1]))
    assert encoded["mean"].shape == (0, 3) and encoded["logvar"].shape == (0, 3)
    one = module.signatures["encode"](tf.zeros([1, 64, 64, 1]))
    assert one["mean"].shape == (1, 3)


# --- the command line: SIGTERM, resume, and bit-identical results -------------------------------

CLI_BINDINGS = [
    "model.batch_size = 8",
    "model.eval_steps = 2",
    "encoder.num_latent = 2",
    "model.checkpoint_every_steps = 1000",
    "model.summary_every_steps = 1000",
    "model.image_summary_every_steps = 1000",
    "model.log_every_seconds = 0",
]


def _cli_train(model_dir: str, steps: int) -> subprocess.Popen:
    bindings = [*CLI_BINDINGS, f"model.training_steps = {steps}"]
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tfdis.cli.train",
            f"--model_dir={model_dir}",
            "--gin_config=quickstart.gin",
            *(f"--gin_bindings={b}" for b in bindings),
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3"),
    )


@pytest.mark.slow  # two command-line runs: about 30 s on an idle 2-core machine
def test_sigterm_checkpoints_and_the_resumed_run_matches_a_straight_one_bit_for_bit(tmp_path):
    interrupted = str(tmp_path / "interrupted")
    process = _cli_train(interrupted, 10_000)
    for line in process.stderr:  # the first progress line: training is under way
        if "step " in line and "/10000" in line:
            process.send_signal(signal.SIGTERM)
            break
    stderr = process.stderr.read()
    assert process.wait(timeout=120) == 143, stderr[-2000:]
    assert "Traceback" not in stderr
    message = next(line for line in stderr.splitlines() if "interrupted (SIGTERM)" in line)
    step = int(message.split("at step ")[1].split(";")[0])
    assert run_dir.checkpoint_steps(layout.checkpoint_dir(interrupted)) == [step]
    # Resume here, to two steps further; train the same run straight in another process.
    steps = step + 2
    straight = str(tmp_path / "straight")
    process = _cli_train(straight, steps)
    train.train_with_gin(
        interrupted,
        gin_config_files=["quickstart.gin"],
        gin_bindings=[*CLI_BINDINGS, f"model.training_steps = {steps}"],
    )
    assert process.wait(timeout=300) == 0, process.stderr.read()[-2000:]
    results = []
    for model_dir in (interrupted, straight):
        with open(os.path.join(layout.results_dir(model_dir), "json", "train_results.json")) as f:
            record = json.load(f)
        assert set(record) > {"elapsed_time", "uuid", "loss", "elbo", "kl_loss"}
        results.append({k: v for k, v in record.items() if k not in ("elapsed_time", "uuid")})
    assert json.dumps(results[0], sort_keys=True) == json.dumps(results[1], sort_keys=True)
