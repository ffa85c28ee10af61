"""`tfdis_reproduce`: listing a study, and one tiny study model end to end with resumption."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import types

import pytest

from tfdis.cli.reproduce import parse_model_nums
from tfdis.config import get_study
from tfdis.config.reproduce import RECORD_FILE, reproduce, reproduce_block
from tfdis.utils import layout, results

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
STUDY = "correlated_noise_study_smoke"
MODEL_NUM = 2  # VAE, posterior correlation 0.9, seed 0
METRICS = ["mig", "reconstruction", "tc_monte_carlo", "unsupervised", "tc_mean_sample"]
# The smoke model shrunk to 4 steps on the tiny test dataset, with tiny metric sizes.
TINY = [
    "dataset.name = 'test_squares'",
    "encoder.num_latent = 3",
    "model.batch_size = 8",
    "model.training_steps = 4",
    "model.eval_steps = 2",
    "model.checkpoint_every_steps = 2",
    "model.summary_every_steps = 2",
    "model.image_summary_every_steps = 2",
    "mig.num_train = 100",
    "reconstruction.num_points = 100",
    "unsupervised_metrics.num_train = 100",
    "tc_mean_sample.num_points = 100",
]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tfdis.cli.reproduce", *args],
        capture_output=True,
        text=True,
        env=ENV,
        check=False,
    )


def test_only_print_lists_every_model_one_a_line():
    out = _run(f"--study={STUDY}", "--only_print")
    assert out.returncode == 0, out.stderr[-3000:]
    study = get_study(STUDY)
    assert out.stdout.splitlines() == [study.model_config_line(k) for k in range(12)]


def test_only_print_of_one_model():
    out = _run(f"--study={STUDY}", "--only_print", "--model_num=2")
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == get_study(STUDY).format_model_config(2)
    assert "posterior.correlation = 0.9" in out.stdout
    out = _run("--study=no_such_study", "--only_print")
    assert out.returncode == 1
    assert out.stderr.startswith("tfdis_reproduce: error: unknown study 'no_such_study'")


def test_a_bad_model_number_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match="model_num 12 is out of range"):
        reproduce(STUDY, 12, str(tmp_path))
    assert not os.listdir(tmp_path)


def test_bin_script_runs_the_same_main():
    bin_path = os.path.join(os.path.dirname(__file__), "..", "..", "bin", "tfdis_reproduce")
    out = subprocess.run(
        [sys.executable, bin_path, "--help"], capture_output=True, text=True, env=ENV, check=False
    )
    assert "tfdis_reproduce --study=NAME --model_num=K" in out.stdout + out.stderr
    assert "--only_print" in out.stdout + out.stderr


@pytest.fixture(scope="module")
def first_run(tmp_path_factory) -> dict:
    output_directory = str(tmp_path_factory.mktemp("study"))
    return reproduce(STUDY, MODEL_NUM, output_directory, visualize=False, gin_bindings=TINY)


def _uuids(outcome: dict) -> dict[str, str]:
    uuids = {
        "train": outcome["train"]["uuid"],
        "postprocess": outcome["postprocess"]["mean"]["uuid"],
    }
    uuids.update({m: r["uuid"] for m, r in outcome["evaluation"]["mean"].items()})
    return uuids


def test_reproduce_trains_postprocesses_and_evaluates_the_study_model(first_run):
    model_dir = first_run["model_dir"]
    assert model_dir == os.path.join(os.path.dirname(model_dir), str(MODEL_NUM))
    assert first_run["steps_run"] == ["train", "postprocess/mean"] + [
        f"evaluate/mean/{m}" for m in METRICS
    ]
    assert first_run["model_config_file"] == "betavae.gin"
    assert first_run["train"]["global_step"] == 4
    assert sorted(first_run["evaluation"]["mean"]) == sorted(METRICS)
    assert 0.0 <= first_run["evaluation"]["mean"]["mig"]["discrete_mig"] <= 1.0
    # The study's bindings reached training, after the labels and before the extra bindings.
    config = results.read_json(
        os.path.join(layout.results_dir(model_dir), "json", "train_config.json")
    )
    assert config["posterior.correlation"] == "0.9"
    assert config["vae.beta"] == "1.0"
    assert config["model.name"] == "vae" and config["model.model_num"] == str(MODEL_NUM)
    assert config["dataset.name"] == "test_squares" and config["encoder.num_latent"] == "3"
    record = results.read_json(os.path.join(model_dir, RECORD_FILE))
    assert (record["study"], record["model_num"], record["visualized"]) == (STUDY, MODEL_NUM, False)
    aggregate = os.path.join(
        layout.results_dir(layout.metric_dir(model_dir, "mean", "tc_mean_sample")),
        "aggregate",
        "evaluation.json",
    )
    assert results.read_json(aggregate)["train_config.model.name"] == "vae"


def test_rerun_skips_finished_steps_and_redoes_an_interrupted_one(first_run):
    output_directory = os.path.dirname(first_run["model_dir"])
    again = reproduce(STUDY, MODEL_NUM, output_directory, visualize=False, gin_bindings=TINY)
    assert again["steps_run"] == []
    assert again["evaluation"] == first_run["evaluation"]
    assert again["train"] == first_run["train"]
    # Killed while MIG was being written: its results are incomplete, the rest is kept.
    mig_dir = layout.metric_dir(first_run["model_dir"], "mean", "mig")
    shutil.rmtree(os.path.join(layout.results_dir(mig_dir), "aggregate"))
    resumed = reproduce(STUDY, MODEL_NUM, output_directory, visualize=False, gin_bindings=TINY)
    assert resumed["steps_run"] == ["evaluate/mean/mig"]
    before, after = _uuids(first_run), _uuids(resumed)
    assert after["mig"] != before["mig"]
    assert {k: v for k, v in after.items() if k != "mig"} == {
        k: v for k, v in before.items() if k != "mig"
    }
    assert resumed["evaluation"]["mean"]["mig"]["discrete_mig"] == pytest.approx(
        first_run["evaluation"]["mean"]["mig"]["discrete_mig"]
    )


def test_interrupted_training_resumes_and_redoes_what_follows(first_run, tmp_path):
    output_directory = str(tmp_path)
    model_dir = os.path.join(output_directory, str(MODEL_NUM))
    shutil.copytree(first_run["model_dir"], model_dir)
    # Killed after the last checkpoint, before the export and the train results.
    os.remove(os.path.join(layout.results_dir(model_dir), "aggregate", "train.json"))
    shutil.rmtree(layout.saved_model_dir(model_dir))
    resumed = reproduce(STUDY, MODEL_NUM, output_directory, visualize=False, gin_bindings=TINY)
    assert resumed["steps_run"] == ["train", "postprocess/mean"] + [
        f"evaluate/mean/{m}" for m in METRICS
    ]
    assert resumed["train"]["global_step"] == 4
    assert resumed["train"]["uuid"] != first_run["train"]["uuid"]
    # The resumed run restored step 4 and trained no further step: same weights, same scores.
    assert resumed["evaluation"]["mean"]["mig"]["discrete_mig"] == pytest.approx(
        first_run["evaluation"]["mean"]["mig"]["discrete_mig"]
    )


def test_visualization_runs_once_and_is_recorded(first_run, tmp_path, monkeypatch):
    calls = []
    fake = types.ModuleType("tfdis.visualization.visualize")
    fake.visualize_run = lambda model_dir, overwrite=False: calls.append((model_dir, overwrite))
    monkeypatch.setitem(sys.modules, "tfdis.visualization.visualize", fake)
    model_dir = os.path.join(str(tmp_path), str(MODEL_NUM))
    shutil.copytree(first_run["model_dir"], model_dir)
    outcome = reproduce(STUDY, MODEL_NUM, str(tmp_path), visualize=True, gin_bindings=TINY)
    assert outcome["steps_run"] == ["visualize"]
    assert calls == [(model_dir, True)]
    assert results.read_json(os.path.join(model_dir, RECORD_FILE))["visualized"] is True
    again = reproduce(STUDY, MODEL_NUM, str(tmp_path), visualize=True, gin_bindings=TINY)
    assert again["steps_run"] == [] and len(calls) == 1


def test_a_directory_of_another_study_or_model_is_refused(first_run):
    output_directory = os.path.dirname(first_run["model_dir"])
    with pytest.raises(FileExistsError, match=f"holds model {MODEL_NUM} of study {STUDY}"):
        reproduce("rtc_study_smoke", MODEL_NUM, output_directory, visualize=False)


def test_the_discrete_code_metric_is_left_out_for_a_continuous_model(tmp_path):
    study = get_study("cascade_study_smoke")
    model_num = 4  # beta-VAE, seed 0
    assert study.get_model_name(model_num) == "betavae"
    assert "discrete_accuracy" in study.get_eval_metrics()
    tiny_cascade_score = [
        "cascade_score.num_votes = 6",
        "cascade_score.num_samples_per_vote = 10",
        "cascade_score.num_variance_estimate = 100",
    ]
    outcome = reproduce(
        study.name,
        model_num,
        str(tmp_path),
        visualize=False,
        gin_bindings=TINY + tiny_cascade_score,
    )
    assert list(outcome["evaluation"]["mean"]) == ["cascade_score", "mig"]
    assert not os.path.exists(layout.metric_dir(outcome["model_dir"], "mean", "discrete_accuracy"))


def test_model_nums_parse_ranges_and_lists():
    assert parse_model_nums("0-3,7") == [0, 1, 2, 3, 7]
    for bad in ("", "1,1", "a-b"):
        with pytest.raises(ValueError, match="--model_nums"):
            parse_model_nums(bad)


def test_a_block_trains_stacked_then_finishes_each_model(tmp_path):
    outcomes = reproduce_block(
        STUDY, [0, 1, 2], str(tmp_path), visualize=False, gin_bindings=TINY, models_per_chunk=2
    )
    for model_num, outcome in zip([0, 1, 2], outcomes, strict=True):
        assert outcome["model_dir"] == os.path.join(str(tmp_path), str(model_num))
        assert outcome["train"]["stacked_group_size"] == 3
        assert outcome["steps_run"][0] == "train"
        assert sorted(outcome["evaluation"]["mean"]) == sorted(METRICS)
        record = results.read_json(os.path.join(outcome["model_dir"], RECORD_FILE))
        assert record["model_num"] == model_num
    # Everything is complete: a rerun trains nothing and reads the results back.
    again = reproduce_block(STUDY, [0, 1, 2], str(tmp_path), visualize=False, gin_bindings=TINY)
    assert [outcome["steps_run"] for outcome in again] == [[], [], []]
    assert [o["train"]["uuid"] for o in again] == [o["train"]["uuid"] for o in outcomes]
