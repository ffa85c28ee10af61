"""Aggregation of hand-written evaluation aggregates: exact table, files, errors."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest

from tfdis.aggregation import aggregate_results, collect_results
from tfdis.aggregation.aggregate import parse_gin_value

PATTERN = "*/metrics/mean/*/results/aggregate/evaluation.json"


def write_evaluation(
    study_dir: str,
    model_num: int,
    metric: str,
    train_config: dict[str, str],
    train_results: dict,
    scores: dict,
    representation: str = "mean",
) -> str:
    """One metric's aggregate as `update_result_directory` writes it (gin values as strings)."""
    record = {
        "evaluation_config.evaluation.evaluation_fn": f"@{metric}",
        "evaluation_config.evaluation.random_seed": "0",
        f"evaluation_config.{metric}.num_train": "1000",
        "postprocess_config.postprocess.postprocess_fn": f"@{representation}_representation",
        "postprocess_results.elapsed_time": 1.0,
        "postprocess_results.uuid": f"p{model_num}",
    }
    record.update({f"train_config.{k}": v for k, v in train_config.items()})
    record.update({f"train_results.{k}": v for k, v in train_results.items()})
    record.update({f"evaluation_results.{k}": v for k, v in scores.items()})
    path = os.path.join(
        study_dir,
        str(model_num),
        "metrics",
        representation,
        metric,
        "results",
        "aggregate",
        "evaluation.json",
    )
    os.makedirs(os.path.dirname(path))
    with open(path, "w") as f:
        json.dump(record, f)
    return path


VAE = {
    "model.model": "@vae()",
    "model.name": "vae",
    "vae.beta": "1.0",
    "dataset.name": "dsprites_procedural",
    "posterior.correlation": "0.0",
    "AdamOptimizer.epsilon": "1e-08",
    "encoder.encoder_fn": "@conv_encoder",
    "vae_optimizer.learning_rate": "None",
}


@pytest.fixture()
def study_dir(tmp_path) -> str:
    root = str(tmp_path / "study")
    # Model 0: two metrics of one trained model (same train uuid) -> one row.
    config0 = dict(VAE, **{"model.model_num": "0", "model.random_seed": "0"})
    write_evaluation(
        root, 0, "mig", config0, {"uuid": "t0", "elbo": 120.5}, {"discrete_mig": 0.25, "uuid": "e0"}
    )
    write_evaluation(
        root,
        0,
        "tc_mean_sample",
        config0,
        {"uuid": "t0", "elbo": 120.5},
        {"tc_mean": 0.5, "tc_sample": 1.25, "uuid": "e1"},
    )
    # Model 1: correlated posterior, MIG only (its TC cells stay empty).
    config1 = dict(
        VAE, **{"model.model_num": "1", "model.random_seed": "1", "posterior.correlation": "0.9"}
    )
    write_evaluation(
        root,
        1,
        "mig",
        config1,
        {"uuid": "t1", "elbo": 118.0},
        {"discrete_mig": 0.125, "uuid": "e2"},
    )
    # Model 10 (sorted after 1 by number, not as text): a FactorVAE trained by plain tfdis_train.
    config10 = {
        "model.model": "@factor_vae()",
        "model.name": "",
        "model.model_num": "10",
        "model.random_seed": "3",
        "factor_vae.gamma": "35.0",
        "dataset.name": "dsprites_procedural",
    }
    write_evaluation(
        root,
        10,
        "mig",
        config10,
        {"uuid": "t10", "elbo": 130.0},
        {"discrete_mig": 0.5, "uuid": "e3"},
    )
    return root


EXPECTED_COLUMNS = [
    "model_dir",
    "representation",
    "model",
    "regularization_parameter",
    "regularization_strength",
    "train_config.AdamOptimizer.epsilon",
    "train_config.dataset.name",
    "train_config.encoder.encoder_fn",
    "train_config.factor_vae.gamma",
    "train_config.model.model",
    "train_config.model.model_num",
    "train_config.model.name",
    "train_config.model.random_seed",
    "train_config.posterior.correlation",
    "train_config.vae.beta",
    "train_config.vae_optimizer.learning_rate",
    "train_results.elbo",
    "train_results.uuid",
    "mig.discrete_mig",
    "tc_mean_sample.tc_mean",
    "tc_mean_sample.tc_sample",
]


def _expected_rows(root: str) -> list[dict]:
    common = {
        "representation": "mean",
        "train_config.dataset.name": "dsprites_procedural",
    }
    vae = dict(
        common,
        **{
            "model": "vae",
            "regularization_parameter": "vae.beta",
            "regularization_strength": 1.0,
            "train_config.AdamOptimizer.epsilon": 1e-08,
            "train_config.encoder.encoder_fn": "@conv_encoder",
            "train_config.factor_vae.gamma": None,
            "train_config.model.model": "@vae()",
            "train_config.model.name": "vae",
            "train_config.vae.beta": 1.0,
            "train_config.vae_optimizer.learning_rate": "None",
        },
    )
    return [
        dict(
            vae,
            **{
                "model_dir": os.path.join(root, "0"),
                "train_config.model.model_num": 0,
                "train_config.model.random_seed": 0,
                "train_config.posterior.correlation": 0.0,
                "train_results.elbo": 120.5,
                "train_results.uuid": "t0",
                "mig.discrete_mig": 0.25,
                "tc_mean_sample.tc_mean": 0.5,
                "tc_mean_sample.tc_sample": 1.25,
            },
        ),
        dict(
            vae,
            **{
                "model_dir": os.path.join(root, "1"),
                "train_config.model.model_num": 1,
                "train_config.model.random_seed": 1,
                "train_config.posterior.correlation": 0.9,
                "train_results.elbo": 118.0,
                "train_results.uuid": "t1",
                "mig.discrete_mig": 0.125,
                "tc_mean_sample.tc_mean": None,
                "tc_mean_sample.tc_sample": None,
            },
        ),
        dict(
            common,
            **{
                "model_dir": os.path.join(root, "10"),
                "model": "factor_vae",
                "regularization_parameter": "factor_vae.gamma",
                "regularization_strength": 35.0,
                "train_config.AdamOptimizer.epsilon": None,
                "train_config.encoder.encoder_fn": None,
                "train_config.factor_vae.gamma": 35.0,
                "train_config.model.model": "@factor_vae()",
                "train_config.model.model_num": 10,
                "train_config.model.name": "",
                "train_config.model.random_seed": 3,
                "train_config.posterior.correlation": None,
                "train_config.vae.beta": None,
                "train_config.vae_optimizer.learning_rate": None,
                "train_results.elbo": 130.0,
                "train_results.uuid": "t10",
                "mig.discrete_mig": 0.5,
                "tc_mean_sample.tc_mean": None,
                "tc_mean_sample.tc_sample": None,
            },
        ),
    ]


def test_rows_of_one_model_merge_into_the_expected_table(study_dir):
    rows, columns = collect_results(os.path.join(study_dir, PATTERN))
    assert columns == EXPECTED_COLUMNS
    assert rows == _expected_rows(study_dir)
    assert [list(row) for row in rows] == [EXPECTED_COLUMNS] * 3


def test_csv_and_json_hold_the_table(study_dir, tmp_path):
    output = str(tmp_path / "out")
    aggregation = aggregate_results(os.path.join(study_dir, PATTERN), output)
    expected = _expected_rows(study_dir)
    assert aggregation.rows == expected
    with open(os.path.join(output, "results.json")) as f:
        assert json.load(f) == expected
    with open(os.path.join(output, "results.csv")) as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == EXPECTED_COLUMNS
        csv_rows = list(reader)
    assert csv_rows == [
        {k: "" if v is None else str(v) for k, v in row.items()} for row in expected
    ]
    assert aggregation.files[:2] == [
        os.path.join(output, "results.csv"),
        os.path.join(output, "results.json"),
    ]


def test_gin_values_become_numbers_only_when_they_are_numbers():
    assert parse_gin_value("0.9") == 0.9 and isinstance(parse_gin_value("10"), int)
    assert parse_gin_value("-3") == -3 and parse_gin_value("1e-08") == 1e-08
    assert parse_gin_value(".5") == 0.5
    for text in ("@vae()", "None", "True", "[3]", "dsprites_full", "1_000", ""):
        assert parse_gin_value(text) == text
    assert parse_gin_value(2.5) == 2.5


def test_existing_output_is_refused_without_overwrite(study_dir, tmp_path):
    output = str(tmp_path / "out")
    aggregate_results(os.path.join(study_dir, PATTERN), output)
    with pytest.raises(FileExistsError, match="--overwrite"):
        aggregate_results(os.path.join(study_dir, PATTERN), output)
    # A plot of an earlier table that the new table cannot draw is removed on overwrite.
    stale = os.path.join(output, "tc_vs_strength.png")
    with open(stale, "wb") as f:
        f.write(b"old")
    aggregate_results(os.path.join(study_dir, PATTERN), output, overwrite=True)
    assert not os.path.exists(stale)
    assert os.path.exists(os.path.join(output, "results.csv"))


def test_bad_inputs_are_clear_errors(study_dir, tmp_path):
    with pytest.raises(FileNotFoundError, match="no result files match"):
        collect_results(str(tmp_path / "nothing" / "*.json"))
    not_eval = tmp_path / "train.json"
    not_eval.write_text(json.dumps({"train_results.uuid": "t0", "train_results.elbo": 1.0}))
    with pytest.raises(ValueError, match="not an evaluation aggregate"):
        collect_results(str(not_eval))
    # The same model's metric twice (a copied run directory) is refused, naming both files.
    copy = write_evaluation(
        study_dir, 99, "mig", dict(VAE), {"uuid": "t0"}, {"discrete_mig": 0.3, "uuid": "e9"}
    )
    with pytest.raises(ValueError, match="both hold metric mig") as error:
        collect_results(os.path.join(study_dir, PATTERN))
    assert copy in str(error.value)


def test_files_outside_the_layout_take_names_from_their_configs(tmp_path):
    path = write_evaluation(
        str(tmp_path), 0, "sap_score", dict(VAE), {"uuid": "t"}, {"SAP_score": 0.75, "uuid": "e"}
    )
    moved = str(tmp_path / "elsewhere.json")
    os.rename(path, moved)
    rows, _ = collect_results(moved)
    assert rows[0]["model_dir"] == "" and rows[0]["representation"] == "mean"
    assert rows[0]["sap_score.SAP_score"] == 0.75


def test_tfdis_aggregate_command(study_dir, tmp_path):
    output = str(tmp_path / "out")
    command = [
        sys.executable,
        "-m",
        "tfdis.cli.aggregate",
        f"--result_file_pattern={os.path.join(study_dir, PATTERN)}",
        f"--output_path={output}",
    ]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    assert f"3 models, {len(EXPECTED_COLUMNS)} columns." in out.stdout
    assert f"wrote {os.path.join(output, 'mig_by_correlation.png')}" in out.stdout
    assert os.path.exists(os.path.join(output, "results.csv"))
