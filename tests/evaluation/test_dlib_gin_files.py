"""dlib's own metric and postprocess gin files run by path, filed under their file names."""

from __future__ import annotations

import json
import os

import pytest

from tfdis.cli.evaluate import format_summary
from tfdis.evaluation.runs import evaluate_run
from tfdis.postprocessing.runs import postprocess_run
from tfdis.testing import TINY_TRAINING_BINDINGS
from tfdis.training import train
from tfdis.utils import layout

# dlib's disentanglement_lib/config/unsupervised_study_v1/{metric,postprocess}_configs/*.gin,
# in dlib's syntax (licence header left out).
DLIB_METRIC_CONFIGS = {
    "beta_vae_sklearn": """
evaluation.evaluation_fn = @beta_vae_sklearn
dataset.name="auto"
evaluation.random_seed = 0
beta_vae_sklearn.batch_size=64
beta_vae_sklearn.num_train=10000
beta_vae_sklearn.num_eval=5000
""",
    "dci": """
evaluation.evaluation_fn = @dci
dataset.name="auto"
evaluation.random_seed = 0
dci.num_train=10000
dci.num_test=5000
""",
    "downstream_task_boosted_trees": """
evaluation.evaluation_fn = @downstream_task
dataset.name="auto"
evaluation.random_seed = 0
downstream_task.num_train = [10, 100, 1000, 10000]
downstream_task.num_test = 5000
predictor.predictor_fn = @gradient_boosting_classifier
""",
    "downstream_task_logistic_regression": """
evaluation.evaluation_fn = @downstream_task
dataset.name="auto"
evaluation.random_seed = 0
downstream_task.num_train = [10, 100, 1000, 10000]
downstream_task.num_test = 5000
predictor.predictor_fn = @logistic_regression_cv
""",
    "factor_vae_metric": """
evaluation.evaluation_fn = @factor_vae_score
dataset.name="auto"
evaluation.random_seed = 0
factor_vae_score.num_variance_estimate=10000
factor_vae_score.num_train=10000
factor_vae_score.num_eval=5000
factor_vae_score.batch_size=64
prune_dims.threshold = 0.05
""",
    "irs": """
evaluation.evaluation_fn = @irs
dataset.name="auto"
evaluation.random_seed = 0
irs.num_train=10000
irs.batch_size=16
discretizer.num_bins=20
discretizer.discretizer_fn=@histogram_discretizer
""",
    "mig": """
evaluation.evaluation_fn = @mig
dataset.name="auto"
evaluation.random_seed = 0
mig.num_train=10000
discretizer.discretizer_fn = @histogram_discretizer
discretizer.num_bins = 20
""",
    "modularity_explicitness": """
evaluation.evaluation_fn = @modularity_explicitness
dataset.name="auto"
evaluation.random_seed = 0
modularity_explicitness.num_train=10000
modularity_explicitness.num_test=5000
discretizer.discretizer_fn = @histogram_discretizer
discretizer.num_bins = 20
""",
    "sap_score": """
evaluation.evaluation_fn = @sap_score
dataset.name="auto"
evaluation.random_seed = 0
sap_score.num_train=10000
sap_score.num_test=5000
sap_score.continuous_factors=False
""",
}
DLIB_POSTPROCESS_CONFIGS = {
    "mean": """
postprocess.postprocess_fn = @mean_representation
dataset.name="auto"
postprocess.random_seed = 0
""",
    "sampled": """
postprocess.postprocess_fn = @sampled_representation
dataset.name="auto"
postprocess.random_seed = 0
""",
}
# dlib's result keys per config (downstream tasks: the per-size summary keys).
DLIB_RESULT_KEYS = {
    "beta_vae_sklearn": {"train_accuracy", "eval_accuracy"},
    "dci": {"informativeness_train", "informativeness_test", "disentanglement", "completeness"},
    "downstream_task_boosted_trees": {
        f"{n}:{stat}_{split}_accuracy"
        for n in (10, 100)
        for stat in ("mean", "min")
        for split in ("train", "test")
    },
    "downstream_task_logistic_regression": {
        f"{n}:{stat}_{split}_accuracy"
        for n in (10, 100)
        for stat in ("mean", "min")
        for split in ("train", "test")
    },
    "factor_vae_metric": {"train_accuracy", "eval_accuracy", "num_active_dims"},
    "irs": {"IRS", "num_active_dims"},
    "mig": {"discrete_mig"},
    "modularity_explicitness": {
        "modularity_score",
        "explicitness_score_train",
        "explicitness_score_test",
    },
    "sap_score": {"SAP_score"},
}
# Sizes small enough for a tiny model; none of them touches evaluation.evaluation_fn.
SMALL = [
    "beta_vae_sklearn.batch_size = 4",
    "beta_vae_sklearn.num_train = 20",
    "beta_vae_sklearn.num_eval = 10",
    "dci.num_train = 100",
    "dci.num_test = 50",
    "factor_vae_score.num_variance_estimate = 100",
    "factor_vae_score.num_train = 20",
    "factor_vae_score.num_eval = 10",
    "factor_vae_score.batch_size = 4",
    "irs.num_train = 100",
    "mig.num_train = 100",
    "modularity_explicitness.num_train = 100",
    "modularity_explicitness.num_test = 50",
    "sap_score.num_train = 100",
    "sap_score.num_test = 50",
]
DOWNSTREAM_SMALL = ["downstream_task.num_train = [10, 100]", "downstream_task.num_test = 50"]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> str:
    model_dir = str(tmp_path_factory.mktemp("dlib_gin") / "model")
    train.train_with_gin(model_dir, gin_bindings=TINY_TRAINING_BINDINGS)
    return model_dir


@pytest.fixture(scope="module")
def dlib_configs(tmp_path_factory) -> str:
    directory = tmp_path_factory.mktemp("dlib_configs")
    for kind, configs in (
        ("metric_configs", DLIB_METRIC_CONFIGS),
        ("postprocess_configs", DLIB_POSTPROCESS_CONFIGS),
    ):
        os.makedirs(directory / kind)
        for name, text in configs.items():
            (directory / kind / f"{name}.gin").write_text(text)
    return str(directory)


def _aggregate(model_dir: str, representation: str, label: str) -> dict:
    path = os.path.join(
        layout.results_dir(layout.metric_dir(model_dir, representation, label)),
        "aggregate",
        "evaluation.json",
    )
    with open(path) as f:
        return json.load(f)


def test_dlib_postprocess_configs_run_by_path(trained_run, dlib_configs):
    for name in ("mean", "sampled"):
        path = os.path.join(dlib_configs, "postprocess_configs", f"{name}.gin")
        postprocess_run(trained_run, path, overwrite=True)
        rep_dir = layout.postprocess_dir(trained_run, name)
        assert os.path.isdir(layout.saved_model_dir(rep_dir))
        with open(os.path.join(layout.results_dir(rep_dir), "aggregate", "postprocess.json")) as f:
            aggregate = json.load(f)
        assert aggregate["postprocess_config.postprocess.postprocess_fn"] == (
            f"@{name}_representation"
        )


@pytest.mark.parametrize(
    "name",
    [
        "beta_vae_sklearn",
        "dci",
        "factor_vae_metric",
        "irs",
        "mig",
        "modularity_explicitness",
        "sap_score",
        "downstream_task_boosted_trees",
        "downstream_task_logistic_regression",
    ],
)
def test_dlib_metric_configs_run_by_path(trained_run, dlib_configs, name):
    path = os.path.join(dlib_configs, "metric_configs", f"{name}.gin")
    representation = os.path.join(dlib_configs, "postprocess_configs", "mean.gin")
    bindings = SMALL + (DOWNSTREAM_SMALL if name.startswith("downstream") else [])
    all_results = evaluate_run(
        trained_run, [path], representation=representation, overwrite=True, gin_bindings=bindings
    )
    assert list(all_results) == [name]
    assert DLIB_RESULT_KEYS[name] <= set(all_results[name])
    aggregate = _aggregate(trained_run, "mean", name)
    # dataset.name = "auto" meant the training dataset ("auto" is no dataset of its own).
    assert aggregate["train_config.dataset.name"] == "test_squares"
    function = DLIB_METRIC_CONFIGS[name].split("@")[1].split()[0]
    assert aggregate["evaluation_config.evaluation.evaluation_fn"] == f"@{function}"
    for key in DLIB_RESULT_KEYS[name]:
        assert aggregate[f"evaluation_results.{key}"] == all_results[name][key]


def test_metric_rebound_under_a_named_metric_is_refused(trained_run, dlib_configs):
    # The mislabel of issue 18: SAP run under the default metric name `mig`.
    sap = os.path.join(dlib_configs, "metric_configs", "sap_score.gin")
    before = os.path.exists(layout.metric_dir(trained_run, "mean", "mig"))
    with pytest.raises(ValueError, match="from @mig to @sap_score.*--metrics=PATH"):
        evaluate_run(trained_run, ["mig"], overwrite=True, gin_config_files=[sap])
    with pytest.raises(ValueError, match="from @mig to @dci"):
        evaluate_run(
            trained_run, ["mig"], overwrite=True, gin_bindings=["evaluation.evaluation_fn = @dci"]
        )
    with pytest.raises(ValueError, match="from @mean_representation to @sampled_representation"):
        postprocess_run(
            trained_run,
            "mean",
            overwrite=True,
            gin_bindings=["postprocess.postprocess_fn = @sampled_representation"],
        )
    assert os.path.exists(layout.metric_dir(trained_run, "mean", "mig")) == before


def test_named_and_file_configs_side_by_side(trained_run, dlib_configs, tmp_path):
    sap = os.path.join(dlib_configs, "metric_configs", "sap_score.gin")
    all_results = evaluate_run(trained_run, ["mig", sap], overwrite=True, gin_bindings=SMALL)
    assert list(all_results) == ["mig", "sap_score"]
    assert "SAP_score" in all_results["sap_score"] and "discrete_mig" in all_results["mig"]
    table = format_summary(all_results)
    header, _, first, second = table.splitlines()[:4]
    assert header.split() == ["metric", "result", "value", "seconds"]
    assert "elapsed_time" not in table and "uuid" not in table
    # Seconds once per metric, in their own column.
    assert first.split()[:2] == ["mig", "discrete_mig"]
    assert float(first.split()[3]) == pytest.approx(all_results["mig"]["elapsed_time"], abs=0.05)
    assert second.split()[:2] == ["sap_score", "SAP_score"] and len(second.split()) == 4

    # Two configs filed under one name, a missing file, a file binding no metric.
    (tmp_path / "mig.gin").write_text("evaluation.evaluation_fn = @sap_score\n")
    with pytest.raises(ValueError, match="several configs would be filed under \\['mig'\\]"):
        evaluate_run(trained_run, ["mig", str(tmp_path / "mig.gin")], gin_bindings=SMALL)
    with pytest.raises(FileNotFoundError, match="not found"):
        evaluate_run(trained_run, [str(tmp_path / "none.gin")])
    (tmp_path / "empty.gin").write_text("mig.num_train = 10\n")
    with pytest.raises(ValueError, match="binds no evaluation.evaluation_fn"):
        evaluate_run(trained_run, [str(tmp_path / "empty.gin")])
