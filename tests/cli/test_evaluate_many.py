"""`tfdis_evaluate --model_dirs=GLOB`: many runs in one process, finished metrics skipped."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from tfdis.evaluation.runs import evaluate_runs
from tfdis.testing import TINY_TRAINING_BINDINGS
from tfdis.training import train
from tfdis.utils import layout
from tfdis.utils.model_metadata import METADATA_FILE

SMALL = ["mig.num_train = 100", "sap_score.num_train = 100", "sap_score.num_test = 50"]


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("study")
    train.train_with_gin(str(root / "0"), gin_bindings=TINY_TRAINING_BINDINGS)
    shutil.copytree(root / "0", root / "1")  # a second finished run, without training again
    os.makedirs(root / "not_a_run")
    return str(root)


def _aggregate(model_dir: str, metric: str) -> str:
    return os.path.join(
        layout.results_dir(layout.metric_dir(model_dir, "mean", metric)),
        "aggregate",
        "evaluation.json",
    )


def test_many_runs_in_one_process_skipping_finished_metrics(study):
    runs = [os.path.join(study, "0"), os.path.join(study, "1")]
    evaluated = evaluate_runs(os.path.join(study, "*"), ["mig", "sap_score"], gin_bindings=SMALL)
    assert sorted(evaluated) == runs  # not_a_run has no saved_model/
    assert evaluated[runs[0]]["mig"]["discrete_mig"] == evaluated[runs[1]]["mig"]["discrete_mig"]
    # Everything is finished: nothing runs again.
    assert evaluate_runs(os.path.join(study, "*"), ["mig", "sap_score"], gin_bindings=SMALL) == {}
    # An unfinished metric (no aggregate: killed mid-write) is redone, alone.
    os.remove(_aggregate(runs[1], "sap_score"))
    again = evaluate_runs(os.path.join(study, "*"), ["mig", "sap_score"], gin_bindings=SMALL)
    assert list(again) == [runs[1]] and list(again[runs[1]]) == ["sap_score"]
    # --overwrite redoes everything.
    redone = evaluate_runs(os.path.join(study, "*"), ["mig"], overwrite=True, gin_bindings=SMALL)
    assert sorted(redone) == runs


def test_a_failing_run_does_not_stop_the_others(study, tmp_path):
    shutil.copytree(os.path.join(study, "0"), tmp_path / "a")
    shutil.copytree(os.path.join(study, "0"), tmp_path / "b")
    shutil.rmtree(tmp_path / "a" / "metrics")
    shutil.rmtree(tmp_path / "b" / "metrics")
    shutil.rmtree(tmp_path / "a" / "postprocessed")
    metadata = tmp_path / "a" / "saved_model" / METADATA_FILE
    facts = json.loads(metadata.read_text())
    metadata.write_text(json.dumps({**facts, "dataset": "no_such_dataset"}))
    with pytest.raises(ValueError, match=r"1 of 2 runs failed: .*a \(.*no_such_dataset"):
        evaluate_runs(str(tmp_path / "*"), ["mig"], gin_bindings=SMALL)
    assert os.path.exists(_aggregate(str(tmp_path / "b"), "mig"))
    with pytest.raises(FileNotFoundError, match="matches no trained run"):
        evaluate_runs(str(tmp_path / "none*"), ["mig"])
