"""Evaluation of an exported tiny run: postprocess first, metric results in dlib's layout."""

from __future__ import annotations

import json
import os

import gin
import numpy as np
import pytest

from tfdis.cli.evaluate import format_summary
from tfdis.evaluation.metrics import mig, tc_mean_sample
from tfdis.evaluation.runs import evaluate_run
from tfdis.evaluation.saved_model_functions import SavedModelPosterior, load_representation_function
from tfdis.testing import TINY_TRAINING_BINDINGS, TinySquares
from tfdis.training import train
from tfdis.utils import gin_utils, layout


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> str:
    model_dir = str(tmp_path_factory.mktemp("eval") / "model")
    train.train_with_gin(model_dir, gin_bindings=TINY_TRAINING_BINDINGS)
    return model_dir


def test_evaluate_postprocesses_then_writes_metric_results(trained_run):
    all_results = evaluate_run(trained_run, ["mig"], gin_bindings=["mig.num_train = 200"])
    postprocessed = layout.saved_model_dir(layout.postprocess_dir(trained_run, "mean"))
    assert os.path.isdir(postprocessed)
    # The score is MIG of the postprocessed representation on evaluation.random_seed's draws.
    gin_utils.parse_config(["metrics/mig.gin"], ["mig.num_train = 200"])
    try:
        expected = mig.compute_mig(
            TinySquares(), load_representation_function(postprocessed), np.random.RandomState(0)
        )
    finally:
        gin.clear_config()
    assert all_results["mig"]["discrete_mig"] == pytest.approx(expected["discrete_mig"], abs=1e-12)
    aggregate_path = os.path.join(
        layout.results_dir(layout.metric_dir(trained_run, "mean", "mig")),
        "aggregate",
        "evaluation.json",
    )
    with open(aggregate_path) as f:
        aggregate = json.load(f)
    assert aggregate["evaluation_results.discrete_mig"] == all_results["mig"]["discrete_mig"]
    assert aggregate["evaluation_config.mig.num_train"] == "200"
    assert aggregate["postprocess_config.postprocess.postprocess_fn"] == "@mean_representation"
    assert aggregate["train_config.dataset.name"] == "test_squares"
    table = format_summary(all_results)
    assert "discrete_mig" in table and "uuid" not in table

    # Same seed, same result; an existing output is refused without overwrite.
    with pytest.raises(FileExistsError, match="--overwrite"):
        evaluate_run(trained_run, ["mig"], gin_bindings=["mig.num_train = 200"])
    again = evaluate_run(trained_run, ["mig"], overwrite=True, gin_bindings=["mig.num_train = 200"])
    assert again["mig"]["discrete_mig"] == all_results["mig"]["discrete_mig"]


def test_mean_representation_equals_encoder_mean(trained_run):
    evaluate_run(trained_run, ["mig"], overwrite=True, gin_bindings=["mig.num_train = 100"])
    postprocessed = layout.saved_model_dir(layout.postprocess_dir(trained_run, "mean"))
    representation = load_representation_function(postprocessed, batch_size=3)
    posterior = SavedModelPosterior(postprocessed, batch_size=4)
    x = TinySquares().sample_observations(10, np.random.RandomState(0))
    mean, logvar = posterior.encode(x)
    np.testing.assert_allclose(representation(x), mean, rtol=1e-6)
    assert mean.shape == logvar.shape == (10, 3)
    z1, z2, z3 = posterior.sample(x, 1), posterior.sample(x, 1), posterior.sample(x, 2)
    np.testing.assert_array_equal(z1, z2)
    assert not np.allclose(z1, z3)
    assert posterior.reconstruct(x).shape == (10, 64, 64, 1)


def test_sampled_representation_is_a_posterior_sample(trained_run):
    from tfdis.postprocessing.runs import postprocess_run

    postprocess_run(trained_run, "sampled", overwrite=True)
    sampled_dir = layout.saved_model_dir(layout.postprocess_dir(trained_run, "sampled"))
    representation = load_representation_function(sampled_dir)
    posterior = SavedModelPosterior(sampled_dir)
    x = np.repeat(TinySquares().sample_observations(1, np.random.RandomState(0)), 4000, axis=0)
    codes = representation(x)
    mean, logvar = posterior.encode(x[:1])
    # Each call draws fresh noise: the codes scatter around the mean with the posterior's std.
    np.testing.assert_allclose(codes.mean(0), mean[0], atol=0.1)
    np.testing.assert_allclose(codes.std(0), np.exp(0.5 * logvar[0]), rtol=0.1)
    assert not np.allclose(representation(x[:5]), representation(x[:5]))


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="train it first"):
        evaluate_run(str(tmp_path), ["mig"])


def test_unknown_metric_is_a_clear_error(trained_run):
    with pytest.raises(ValueError, match="unknown metric.*no_such_metric.*available: .*mig"):
        evaluate_run(trained_run, ["no_such_metric"])


def test_posterior_metrics_run_on_the_exported_model(trained_run):
    results = evaluate_run(
        trained_run,
        ["tc_mean_sample", "elbo_decomposition"],
        overwrite=True,
        gin_bindings=[
            "tc_mean_sample.num_points = 300",
            "elbo_decomposition_metric.num_points = 200",
        ],
    )
    # TC_mean/TC_sample of the exported posterior on evaluation.random_seed's draws.
    expected = tc_mean_sample.compute_tc_mean_sample(
        TinySquares(),
        SavedModelPosterior(layout.saved_model_dir(layout.postprocess_dir(trained_run, "mean"))),
        np.random.RandomState(0),
        num_points=300,
    )
    for key in ("tc_mean", "tc_sample"):
        assert results["tc_mean_sample"][key] == pytest.approx(expected[key], rel=1e-9), key
    assert np.isfinite(results["elbo_decomposition"]["total_correlation"])
    np.testing.assert_allclose(
        results["elbo_decomposition"]["estimated_kl"],
        results["elbo_decomposition"]["index_code_mutual_info"]
        + results["elbo_decomposition"]["total_correlation"]
        + results["elbo_decomposition"]["dimwise_kl"],
        rtol=1e-6,
    )


def test_overlapped_dci_gives_the_sequential_results(trained_run):
    # DCI runs here while mig runs in a spawned low-priority worker; both are seeded, so the
    # scores equal those of running the two steps one after the other.
    bindings = ["dci.num_train = 200", "dci.num_test = 100", "mig.num_train = 200"]
    overlapped = evaluate_run(
        trained_run, ["mig", "dci"], overwrite=True, gin_bindings=bindings, overlap=True
    )
    assert list(overlapped) == ["mig", "dci"]
    sequential = evaluate_run(
        trained_run, ["mig", "dci"], overwrite=True, gin_bindings=bindings, overlap=False
    )
    for metric in ("mig", "dci"):
        scores = {k: v for k, v in overlapped[metric].items() if k not in ("elapsed_time", "uuid")}
        again = {k: v for k, v in sequential[metric].items() if k not in ("elapsed_time", "uuid")}
        assert scores == again
    aggregate = os.path.join(
        layout.results_dir(layout.metric_dir(trained_run, "mean", "mig")),
        "aggregate",
        "evaluation.json",
    )
    assert os.path.exists(aggregate)  # the worker wrote its results in the usual layout
