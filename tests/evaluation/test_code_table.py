"""Encode once, score everything: the code-table path gives the per-sample path's scores."""

from __future__ import annotations

import inspect
import json
import os
import pathlib

import gin
import numpy as np
import pytest

from tfdis.data.dsprites import ColorDSprites, NoisyDSprites
from tfdis.data.dsprites_procedural import DSpritesProcedural
from tfdis.data.dummy_data import IdentityObservationsData
from tfdis.data.named_data import get_named_ground_truth_data, register_dataset
from tfdis.data.npz_data import NpzData
from tfdis.evaluation import code_table
from tfdis.evaluation.metrics import mig_exact
from tfdis.evaluation.runs import evaluate_run
from tfdis.testing import TINY_TRAINING_BINDINGS, TinySquares, TinySquaresGrid
from tfdis.training import train
from tfdis.utils import gin_utils, layout

CONFIG_DIR = pathlib.Path(__file__).resolve().parents[2] / "gin_configs" / "metrics"
# Small sizes per metric config; configs not listed run at their own sizes.
SMALL = {
    "beta_vae_sklearn": [
        "beta_vae_sklearn.batch_size = 8",
        "beta_vae_sklearn.num_train = 60",
        "beta_vae_sklearn.num_eval = 30",
    ],
    "dci": ["dci.num_train = 100", "dci.num_test = 50", "dci.backend = 'exact'"],
    "factor_vae_metric": [
        "factor_vae_score.batch_size = 8",
        "factor_vae_score.num_train = 40",
        "factor_vae_score.num_eval = 20",
        "factor_vae_score.num_variance_estimate = 200",
    ],
    "irs": ["irs.num_train = 300"],
    "mig": ["mig.num_train = 300"],
    "modularity_explicitness": [
        "modularity_explicitness.num_train = 100",
        "modularity_explicitness.num_test = 50",
    ],
    "sap_score": ["sap_score.num_train = 300", "sap_score.num_test = 100"],
    "unsupervised": ["unsupervised_metrics.num_train = 300"],
    # The downstream and fairness metrics (issue 15a).
    "downstream_task_boosted_trees": [
        "downstream_task.num_train = [20, 100]",
        "downstream_task.num_test = 50",
    ],
    "downstream_task_logistic_regression": [
        "downstream_task.num_train = [20, 100]",
        "downstream_task.num_test = 50",
    ],
    "downstream_task_ood": ["downstream_task.num_train = [100]", "downstream_task.num_test = 50"],
    "fairness": ["fairness.num_train = 100", "fairness.num_test_points_per_class = 5"],
    "reduced_downstream_task": [
        "reduced_downstream_task.num_train = [100]",
        "reduced_downstream_task.num_test = 50",
    ],
    "strong_downstream_task": [
        "strong_downstream_task.num_train = [100]",
        "strong_downstream_task.num_test = 50",
        "strong_downstream_task.n_experiment = 2",
    ],
}
# Metrics that score the posterior encoder (means, variances, samples), not a representation
# function: the code table does not apply to them (the test below checks this list); exact MIG
# reads a posterior table instead (tested below).
POSTERIOR_METRICS = {
    "cascade_score", "discrete_accuracy", "elbo_decomposition", "mig_exact", "reconstruction",
    "tc_mean_sample", "tc_monte_carlo",
}  # fmt: skip
ALL_METRIC_CONFIGS = sorted(path.stem for path in CONFIG_DIR.glob("*.gin"))
METRIC_CONFIGS = [config for config in ALL_METRIC_CONFIGS if config not in POSTERIOR_METRICS]


class CountingRepresentation:
    """A fixed nonlinear numpy encoder that counts the observations it encodes."""

    def __init__(self, input_dim: int, num_codes: int = 5):
        random_state = np.random.RandomState(7)
        self.weights = random_state.normal(size=(input_dim, num_codes))
        self.bias = random_state.normal(size=num_codes)
        self.encoded = 0

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        observations = np.asarray(observations, np.float64)
        assert observations.ndim >= 2, "the encoder was handed observation indices"
        self.encoded += len(observations)
        flat = observations.reshape(len(observations), -1)
        return np.tanh(flat @ self.weights / 3.0 + self.bias).astype(np.float32)


@pytest.mark.parametrize("config", sorted(POSTERIOR_METRICS))
def test_posterior_metrics_take_no_representation_function(config):
    gin_utils.parse_config([f"metrics/{config}.gin"], [])
    metric = gin.query_parameter("evaluation.evaluation_fn").scoped_configurable_fn
    assert "representation_function" not in inspect.signature(metric).parameters


def _scores(results: dict) -> dict:
    return {k: v for k, v in results.items() if k not in ("elapsed_time", "uuid")}


@pytest.mark.parametrize("config", METRIC_CONFIGS)
def test_every_representation_metric_scores_the_same_from_the_table(config, tmp_path):
    data = IdentityObservationsData(num_factors=3, num_values=6)
    gin_utils.parse_config([f"metrics/{config}.gin"], SMALL.get(config, []))
    metric = gin.query_parameter("evaluation.evaluation_fn").scoped_configurable_fn
    assert "representation_function" in inspect.signature(metric).parameters, config

    direct = CountingRepresentation(data.num_factors)
    expected = metric(
        ground_truth_data=data,
        representation_function=direct,
        random_state=np.random.RandomState(3),
        artifact_dir=str(tmp_path / "a"),
    )
    encoder = CountingRepresentation(data.num_factors)
    table = code_table.build_table(data, encoder, str(tmp_path / "table.npy"), batch_size=50)
    assert encoder.encoded == data.num_indexed_observations == 216
    got = metric(
        ground_truth_data=code_table.IndexedGroundTruthData(data),
        representation_function=code_table.table_representation_function(table, encoder),
        random_state=np.random.RandomState(3),
        artifact_dir=str(tmp_path / "b"),
    )
    # Every code came from the table: nothing more was encoded.
    assert encoder.encoded == 216
    assert direct.encoded > 0
    assert set(got) == set(expected)
    for key, value in _scores(expected).items():
        np.testing.assert_allclose(got[key], value, rtol=1e-9, atol=1e-12, err_msg=key)


class CountingPosterior:
    """A fixed nonlinear Gaussian posterior that counts the observations it encodes."""

    def __init__(self, input_dim: int, num_codes: int = 4):
        random_state = np.random.RandomState(11)
        self.weights = random_state.normal(size=(input_dim, num_codes))
        self.encoded = 0

    def encode(self, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        observations = np.asarray(observations, np.float64)
        assert observations.ndim >= 2, "the encoder was handed observation indices"
        self.encoded += len(observations)
        flat = observations.reshape(len(observations), -1) @ self.weights
        return np.tanh(flat / 2.0).astype(np.float32), (np.cos(flat) - 3.0).astype(np.float32)

    def sample(self, observations: np.ndarray, seed: int) -> np.ndarray:
        raise AssertionError("mig_exact draws its samples from the marginals")


def test_mig_exact_scores_the_same_from_the_posterior_table(tmp_path):
    data = IdentityObservationsData(num_factors=3, num_values=5, observation_shape=(3, 1, 1))
    direct = CountingPosterior(data.num_factors)
    expected = mig_exact.compute_mig_exact(
        data, direct, np.random.RandomState(4), num_samples=60, batch_size=16
    )
    assert direct.encoded == 125

    encoder = CountingPosterior(data.num_factors)
    rows = code_table.encode_posterior_rows(encoder)
    table = code_table.build_table(data, rows, str(tmp_path / "posterior.npy"), batch_size=40)
    assert table.shape == (125, 8) and encoder.encoded == 125
    posterior = code_table.TablePosterior(table, encoder)
    got = mig_exact.compute_mig_exact(
        code_table.IndexedGroundTruthData(data),
        posterior,
        np.random.RandomState(4),
        num_samples=60,
        batch_size=16,
    )
    assert encoder.encoded == 125  # every mean and log-variance came from the table
    assert set(got) == set(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(got[key], value, rtol=1e-9, atol=1e-12, err_msg=key)
    # Images still reach the model; indices never ask it for samples.
    images = data.observations_by_index(np.arange(3))
    np.testing.assert_array_equal(posterior.encode(images)[1], encoder.encode(images)[1])
    with pytest.raises(ValueError, match="not samples"):
        posterior.sample(np.arange(3), seed=0)


def test_only_encode_only_posterior_metrics_get_a_posterior_table(tmp_path):
    data = IdentityObservationsData(num_factors=2, num_values=3, observation_shape=(2, 1, 1))
    encoder = CountingPosterior(data.num_factors)
    assert code_table.POSTERIOR_TABLE_METRICS == ("compute_mig_exact",)
    for name in ("compute_tc_monte_carlo", "compute_elbo_decomposition", "compute_mig"):
        assert code_table.with_posterior_table(str(tmp_path), data, encoder, name) is None
    assert (
        code_table.with_posterior_table(str(tmp_path), TinySquares(), encoder, "compute_mig_exact")
        is None
    )
    assert encoder.encoded == 0


def _npz_sample(tmp_path) -> NpzData:
    """A labelled sample with repeated factors: the image within a group is a random draw."""
    random_state = np.random.RandomState(0)
    factors = np.stack([random_state.randint(0, 3, 200), random_state.randint(0, 4, 200)], 1)
    images = random_state.uniform(size=(200, 4, 4, 1)).astype(np.float32)
    np.savez(tmp_path / "sample.npz", images=images, factors=factors)
    return NpzData(str(tmp_path / "sample.npz"))


@pytest.mark.parametrize(
    "make_data",
    [
        lambda tmp_path: DSpritesProcedural(),
        # The shape drawn as a nuisance factor.
        lambda tmp_path: DSpritesProcedural(latent_factor_indices=(1, 2, 3, 4)),
        lambda tmp_path: TinySquaresGrid(),
        lambda tmp_path: IdentityObservationsData(2, 4, observation_shape=(2, 1, 1)),
        _npz_sample,
    ],
    ids=["dsprites_procedural", "procedural_noshape", "squares_grid", "identity", "npz_sample"],
)
def test_indices_draw_what_the_observations_draw(make_data, tmp_path):
    data = make_data(tmp_path)
    assert code_table.indexes_observations(data)
    state_a, state_b = np.random.RandomState(5), np.random.RandomState(5)
    factors = data.sample_factors(40, np.random.RandomState(1))
    images = data.sample_observations_from_factors(factors, state_a)
    indices = code_table.IndexedGroundTruthData(data).sample_observations_from_factors(
        factors, state_b
    )
    assert indices.shape == (40,) and indices.dtype == np.int64
    np.testing.assert_array_equal(data.observations_by_index(indices), images)
    # The random stream moved on identically.
    assert state_a.randint(2**31) == state_b.randint(2**31)


def test_noisy_coloured_and_unindexed_datasets_keep_the_per_sample_path():
    # Their observations are no function of an index (fresh noise or colour per draw).
    for cls in (ColorDSprites, NoisyDSprites):
        assert not code_table.indexes_observations(object.__new__(cls))
    assert not code_table.indexes_observations(TinySquares())

    class Relabelled(TinySquaresGrid):  # changes the images, not the indices
        def sample_observations_from_factors(self, factors, random_state):
            return 1.0 - super().sample_observations_from_factors(factors, random_state)

    assert not code_table.indexes_observations(Relabelled())
    with pytest.raises(ValueError, match="does not index"):
        code_table.IndexedGroundTruthData(TinySquares())


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory) -> str:
    register_dataset("test_squares_grid", TinySquaresGrid)
    model_dir = str(tmp_path_factory.mktemp("code_table") / "model")
    bindings = [*TINY_TRAINING_BINDINGS, "dataset.name = 'test_squares_grid'"]
    train.train_with_gin(model_dir, gin_bindings=bindings)
    return model_dir


def _grid_run_table_paths(postprocessed: str, kind: str) -> tuple[str, str]:
    """The `kind` table's paths for `grid_run`'s dataset, named as the run registered it."""
    return code_table.table_paths(
        postprocessed, get_named_ground_truth_data("test_squares_grid"), kind
    )


def test_saved_model_scores_equal_with_and_without_the_table(grid_run):
    metrics = ["mig", "sap_score", "beta_vae_sklearn"]
    bindings = [*SMALL["mig"], *SMALL["sap_score"], *SMALL["beta_vae_sklearn"]]
    direct = evaluate_run(
        grid_run, metrics, gin_bindings=[*bindings, "evaluation.use_code_table = False"]
    )
    postprocessed = layout.postprocess_dir(grid_run, "mean")
    table_path, record_path = _grid_run_table_paths(postprocessed, code_table.CODES)
    assert not os.path.exists(table_path)

    tabled = evaluate_run(grid_run, metrics, overwrite=True, gin_bindings=bindings)
    for metric in metrics:
        for key, value in _scores(direct[metric]).items():
            np.testing.assert_allclose(tabled[metric][key], value, rtol=1e-5, err_msg=key)
    table = np.load(table_path, mmap_mode="r")
    assert isinstance(table, np.memmap) and table.dtype == np.float32 and table.shape == (32, 3)
    table = np.array(table)
    with open(record_path) as f:
        record = json.load(f)
    saved_model = layout.saved_model_dir(postprocessed)
    assert record["model_fingerprint"] == code_table.model_fingerprint(saved_model)
    assert record["dataset"] == "test_squares_grid" and record["num_indexed_observations"] == 32

    # The table holds the model's codes of the grid in index order.
    from tfdis.evaluation.saved_model_functions import load_representation_function

    encode = load_representation_function(saved_model)
    grid = TinySquaresGrid()
    np.testing.assert_allclose(table, encode(grid.observations_by_index(np.arange(32))), rtol=1e-5)

    # Another model's table (here: a tampered fingerprint) is stale and rebuilt, never used.
    np.save(table_path, np.zeros((32, 3), np.float32))
    record["model_fingerprint"] = "0" * 64
    with open(record_path, "w") as f:
        json.dump(record, f)
    again = evaluate_run(grid_run, ["mig"], overwrite=True, gin_bindings=SMALL["mig"])
    assert again["mig"]["discrete_mig"] == tabled["mig"]["discrete_mig"]
    np.testing.assert_allclose(np.load(table_path), table, rtol=0)


def test_sampled_representation_encodes_every_draw(grid_run):
    evaluate_run(
        grid_run, ["mig"], representation="sampled", overwrite=True, gin_bindings=SMALL["mig"]
    )
    sampled = layout.postprocess_dir(grid_run, "sampled")
    assert not os.path.exists(os.path.join(sampled, code_table.TABLE_DIR))


def test_saved_model_mig_exact_equal_with_and_without_the_posterior_table(grid_run):
    bindings = ["mig_exact.num_samples = 20", "mig_exact.batch_size = 7"]
    direct = evaluate_run(
        grid_run,
        ["mig_exact"],
        overwrite=True,
        gin_bindings=[*bindings, "evaluation.use_code_table = False"],
    )
    postprocessed = layout.postprocess_dir(grid_run, "mean")
    table_path, record_path = _grid_run_table_paths(postprocessed, code_table.POSTERIOR)
    assert table_path.endswith("test_squares_grid.posterior.npy")
    assert not os.path.exists(table_path)

    tabled = evaluate_run(grid_run, ["mig_exact"], overwrite=True, gin_bindings=bindings)
    assert set(_scores(tabled["mig_exact"])) == set(_scores(direct["mig_exact"]))
    for key, value in _scores(direct["mig_exact"]).items():
        np.testing.assert_allclose(tabled["mig_exact"][key], value, rtol=1e-5, atol=1e-6)

    # The table holds the SavedModel's posterior means then log-variances, in index order.
    from tfdis.evaluation.saved_model_functions import SavedModelPosterior

    saved_model = layout.saved_model_dir(postprocessed)
    mean, logvar = SavedModelPosterior(saved_model).encode(
        TinySquaresGrid().observations_by_index(np.arange(32))
    )
    table = np.load(table_path, mmap_mode="r")
    assert isinstance(table, np.memmap) and table.shape == (32, 2 * mean.shape[1])
    np.testing.assert_allclose(table, np.concatenate([mean, logvar], axis=1), rtol=1e-5)
    with open(record_path) as f:
        assert json.load(f)["model_fingerprint"] == code_table.model_fingerprint(saved_model)
