"""`tfdis_udr` on tiny trained runs: per-model scores, the set's dlib keys, aggregate column."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from tfdis.aggregation import collect_results
from tfdis.cli import common
from tfdis.cli.udr import udr_run
from tfdis.evaluation import udr
from tfdis.evaluation.saved_model_functions import SavedModelPosterior
from tfdis.testing import TINY_TRAINING_BINDINGS
from tfdis.training import train
from tfdis.utils import layout


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> str:
    study_dir = tmp_path_factory.mktemp("udr")
    for seed in range(2):
        train.train_with_gin(
            str(study_dir / str(seed)),
            gin_bindings=[*TINY_TRAINING_BINDINGS, f"model.random_seed = {seed}"],
        )
    return str(study_dir)


def test_udr_scores_every_model_and_feeds_the_aggregate(study, tmp_path):
    output = str(tmp_path / "udr")
    bindings = ["udr_sklearn.num_data_points = 200", "udr_sklearn.batch_size = 20"]
    scores = udr_run(f"{study}/*", output, "spearman", gin_bindings=bindings)
    model_dirs = [os.path.join(study, str(s)) for s in range(2)]
    assert list(scores) == model_dirs
    assert all(0.0 <= s <= 1.0 for s in scores.values())

    # The same scorer on the same observations, by hand (dlib's keys, same numbers).
    encoders = [SavedModelPosterior(layout.saved_model_dir(d)) for d in model_dirs]
    from tfdis.data.named_data import get_named_ground_truth_data

    reference = udr.compute_udr_sklearn(
        get_named_ground_truth_data(name="test_squares"), encoders, np.random.RandomState(0),
        batch_size=20, num_data_points=200, correlation_matrix="spearman",
    )  # fmt: skip
    assert list(scores.values()) == reference["model_scores"]

    with open(os.path.join(output, "results", "aggregate", "evaluation.json")) as f:
        aggregate = json.load(f)
    assert aggregate["evaluation_results.model_scores"] == reference["model_scores"]
    assert np.shape(aggregate["evaluation_results.raw_correlations"]) == (2, 2, 3, 3)
    assert aggregate["evaluation_config.udr_sklearn.correlation_matrix"] == "spearman"
    with open(os.path.join(output, udr.SCORES_FILE)) as f:
        assert f.read().splitlines()[1] == f"{model_dirs[0]},{scores[model_dirs[0]]!r}"

    rows, columns = collect_results(f"{study}/*/metrics/mean/*/results/aggregate/evaluation.json")
    assert "udr.model_score" in columns
    assert [row["udr.model_score"] for row in rows] == list(scores.values())

    # An existing output is refused before anything is written; --overwrite replaces it.
    with pytest.raises(FileExistsError, match="--overwrite"):
        udr_run(f"{study}/*", str(tmp_path / "other"), "spearman", gin_bindings=bindings)
    assert not os.path.exists(tmp_path / "other")
    again = udr_run(f"{study}/*", output, "spearman", overwrite=True, gin_bindings=bindings)
    assert again == scores


def test_fewer_than_two_runs_is_a_one_line_error(study, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        common.run_reporting_errors("tfdis_udr", lambda: udr_run(f"{study}/0", str(tmp_path / "o")))
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("tfdis_udr: error:") and "at least 2" in err
    assert len(err.strip().splitlines()) == 1
    assert not os.path.exists(tmp_path / "o")


def test_bin_script_help():
    bin_path = os.path.join(os.path.dirname(__file__), "..", "..", "bin", "tfdis_udr")
    with open(bin_path) as f:
        assert "from tfdis.cli import udr" in f.read()


def test_every_command_module_imports_in_one_process():
    # Each flag is defined once (shared ones in tfdis.cli.common): absl refuses duplicates.
    import importlib
    import pkgutil

    import tfdis.cli

    names = [module.name for module in pkgutil.iter_modules(tfdis.cli.__path__)]
    assert {"download_data", "evaluate", "udr", "visualize_dataset"} <= set(names)
    for name in names:
        importlib.import_module(f"tfdis.cli.{name}")


def _fake_run(path, **config):
    """A run directory with an (empty) SavedModel dir and a train_config.json."""
    os.makedirs(os.path.join(path, "saved_model"))
    os.makedirs(os.path.join(path, "results", "json"))
    with open(os.path.join(path, "results", "json", "train_config.json"), "w") as f:
        json.dump(config, f)
    return str(path)


def test_a_run_without_another_seed_of_its_configuration_is_skipped(study, tmp_path):
    with open(os.path.join(study, "0", "results", "json", "train_config.json")) as f:
        config = json.load(f)
    odd = _fake_run(tmp_path / "odd", **dict(config, **{"vae.beta": "2.0"}))
    scores = udr_run(
        f"{study}/*,{odd}", str(tmp_path / "out"), "spearman", overwrite=True,
        gin_bindings=["udr_sklearn.num_data_points = 200", "udr_sklearn.batch_size = 20"],
    )  # fmt: skip
    assert sorted(scores) == [os.path.join(study, "0"), os.path.join(study, "1")]
    assert not os.path.exists(layout.metric_dir(odd, "mean", "udr"))
    with pytest.raises(ValueError, match="no two runs of one training configuration"):
        udr_run(f"{study}/0,{odd}", str(tmp_path / "none"))


def test_several_configurations_are_scored_as_separate_sets(tmp_path, monkeypatch):
    runs = [
        _fake_run(tmp_path / f"r{i}", **{"vae.beta": str(beta), "model.random_seed": str(i)})
        for i, beta in enumerate([1, 4, 1, 4])
    ]
    calls = []

    def fake_evaluate(model_dirs, output_dir):
        calls.append((list(model_dirs), output_dir))
        return {"model_scores": [0.5 + 0.1 * len(calls)] * len(model_dirs)}

    monkeypatch.setattr(udr, "evaluate_udr", fake_evaluate)
    out = str(tmp_path / "out")
    scores = udr_run(f"{tmp_path}/r*", out)
    assert calls == [
        ([runs[0], runs[2]], os.path.join(out, "config_0")),
        ([runs[1], runs[3]], os.path.join(out, "config_1")),
    ]
    assert scores == {runs[0]: 0.6, runs[2]: 0.6, runs[1]: 0.7, runs[3]: 0.7}
    with open(os.path.join(out, udr.SCORES_FILE)) as f:
        assert f.read().splitlines() == [
            "model_dir,config,model_score",
            f"{runs[0]},0,0.6",
            f"{runs[2]},0,0.6",
            f"{runs[1]},1,0.7",
            f"{runs[3]},1,0.7",
        ]
    # Without grouping the four runs are one set.
    calls.clear()
    udr_run(f"{tmp_path}/r*", str(tmp_path / "one"), group_by_config=False)
    assert calls == [(runs, str(tmp_path / "one"))]
