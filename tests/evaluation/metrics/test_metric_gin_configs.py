"""Every gin_configs/metrics/*.gin parses against the registered metric names."""

import pathlib

import gin
import pytest

import tfdis.evaluation.evaluate  # registers `evaluation`
import tfdis.evaluation.metrics  # noqa: F401  (registers the metrics)

CONFIG_DIR = pathlib.Path(__file__).resolve().parents[3] / "gin_configs" / "metrics"
CONFIGS = sorted(CONFIG_DIR.glob("*.gin"))
# config file -> gin name of its metric
EXPECTED = {
    "beta_vae_sklearn": "beta_vae_sklearn",
    "cascade_score": "cascade_score",
    "dci": "dci",
    "dci_es": "dci_es",
    "dcimig": "dcimig",
    "discrete_accuracy": "discrete_accuracy",
    "downstream_task_boosted_trees": "downstream_task",
    "downstream_task_logistic_regression": "downstream_task",
    "downstream_task_ood": "downstream_task",
    "elbo_decomposition": "elbo_decomposition_metric",
    "factor_vae_metric": "factor_vae_score",
    "fairness": "fairness",
    "irs": "irs",
    "jemmig": "jemmig",
    "mig": "mig",
    "mig_exact": "mig_exact",
    "mig_sup": "mig_sup",
    "modularity_explicitness": "modularity_explicitness",
    "reconstruction": "reconstruction",
    "reduced_downstream_task": "reduced_downstream_task",
    "sap_score": "sap_score",
    "strong_downstream_task": "strong_downstream_task",
    "tc_mean_sample": "tc_mean_sample",
    "tc_monte_carlo": "tc_monte_carlo",
    "unified_scores": "unified_scores",
    "unsupervised": "unsupervised_metrics",
}


def test_configs_exist():
    assert {p.stem for p in CONFIGS} == set(EXPECTED)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_parses_and_binds_the_metric(path):
    gin.parse_config_file(str(path))
    reference = gin.query_parameter("evaluation.evaluation_fn")
    assert reference.selector.split(".")[-1] == EXPECTED[path.stem]
    assert gin.query_parameter("evaluation.random_seed") == 0
    assert "dataset.name" not in gin.config_str()
    gin.clear_config()


POSTERIOR_METRICS = {
    "cascade_score",
    "discrete_accuracy",
    "elbo_decomposition_metric",
    "mig_exact",
    "reconstruction",
    "tc_mean_sample",
    "tc_monte_carlo",
}


@pytest.mark.parametrize("name", sorted(EXPECTED.values()))
def test_metric_takes_the_input_evaluate_passes(name):
    # evaluate.py passes `posterior_encoder` when the metric has that parameter, else
    # `representation_function`; both plus ground_truth_data, random_state, artifact_dir.
    import inspect

    fn = gin.config._REGISTRY.get_match(name).wrapped
    parameters = inspect.signature(fn).parameters
    wanted = "posterior_encoder" if name in POSTERIOR_METRICS else "representation_function"
    assert wanted in parameters
    assert {"ground_truth_data", "random_state", "artifact_dir"} <= set(parameters)
