"""Your own data (`dataset.name = 'npz'`): full grids, labelled samples, validation, metrics."""

from __future__ import annotations

import os
import re

import gin
import numpy as np
import pytest

from tfdis.data import named_data
from tfdis.data.device_resident import DeviceResidentObservations
from tfdis.data.npz_data import NpzData
from tfdis.data.paths import DatasetNotFoundError
from tfdis.evaluation.metrics import beta_vae, factor_vae, mig
from tfdis.utils import gin_utils

SIZES = (3, 4, 5)


def _images_of(factors, dtype=np.uint8):
    """8x8x1 images whose pixel (0, k) is 10 * factor k (uint8) or factor k / 10 (float)."""
    images = np.zeros((len(factors), 8, 8, 1), dtype)
    scale = 10 if dtype == np.uint8 else 0.1
    images[:, 0, : factors.shape[1], 0] = factors * scale
    return images


def _factor_codes(observations):
    """Reads the factors back from the images (uint8 pixels were 10 * factor / 255)."""
    return np.rint(observations[:, 0, :3, 0] * 25.5)


def test_full_grid_maps_factors_to_c_order_rows(tmp_path):
    grid = np.stack(np.unravel_index(np.arange(np.prod(SIZES)), SIZES), axis=1)
    path = tmp_path / "grid.npz"
    np.savez(path, images=_images_of(grid), factor_sizes=np.array(SIZES))
    data = NpzData(str(path))
    assert data.is_full_grid and data.supports_interventions
    assert data.factors_num_values == list(SIZES) and data.observation_shape == [8, 8, 1]
    factors = data.sample_factors(40, np.random.RandomState(0))
    observations = data.sample_observations_from_factors(factors, np.random.RandomState(0))
    np.testing.assert_array_equal(_factor_codes(observations), factors)
    # Row i is the grid point np.unravel_index(i, factor_sizes).
    np.testing.assert_array_equal(data.factors_by_index(np.arange(60)), grid)
    table = DeviceResidentObservations.from_data(data)
    assert table.encoding == "uint8" and table.num_observations == 60
    # Every metric runs on a grid: the identity representation is perfect on beta-VAE's score.
    scores = beta_vae.compute_beta_vae_sklearn(
        data, _factor_codes, np.random.RandomState(0), batch_size=8, num_train=100, num_eval=50
    )
    assert scores["eval_accuracy"] == 1.0


def test_labelled_sample_supports_sample_metrics_and_refuses_interventions(tmp_path):
    rs = np.random.RandomState(0)
    factors = np.stack([rs.randint(0, 3, 300), rs.randint(0, 7, 300), rs.randint(2, 4, 300)], 1)
    path = tmp_path / "sample.npz"
    np.savez(path, images=_images_of(factors, np.float32), factors=factors)
    data = NpzData(str(path))
    assert not data.is_full_grid and data.factors_num_values == [3, 7, 4]
    assert data.dataset_size == data.num_indexed_observations == 300
    drawn = data.sample_factors(500, np.random.RandomState(1))
    # Sampled factors are rows of the file, and each image carries exactly its factors.
    assert {tuple(f) for f in drawn} <= {tuple(f) for f in factors}
    observations = data.sample_observations_from_factors(drawn, np.random.RandomState(2))
    np.testing.assert_allclose(observations[:, 0, :3, 0] * 10, drawn, atol=1e-5)
    with pytest.raises(ValueError, match=r"no image has the factors \[\[0, 0, 0\]\]"):
        data.sample_observations_from_factors(np.array([[0, 0, 0]]), rs)

    def codes(obs):
        return np.rint(obs[:, 0, :3, 0] * 10)

    def noise(obs):
        return np.random.RandomState(len(obs)).randint(0, 5, size=(len(obs), 3)).astype(float)

    # Codes equal to the factors carry all their information (the gap is 1 up to the sample's
    # spurious information between independent factors); codes of noise carry none.
    assert mig.compute_mig(data, codes, np.random.RandomState(0))["discrete_mig"] > 0.95
    assert mig.compute_mig(data, noise, np.random.RandomState(0))["discrete_mig"] < 0.05
    with pytest.raises(ValueError, match="beta_vae_sklearn needs interventions") as error:
        beta_vae.compute_beta_vae_sklearn(data, codes, np.random.RandomState(0))
    # One line says why (gin appends the configurable's name on a line of its own).
    assert "labelled sample" in str(error.value).splitlines()[0]
    with pytest.raises(ValueError, match="factor_vae_score needs interventions"):
        factor_vae.compute_factor_vae(data, codes, np.random.RandomState(0))


# Each sample metric's gin config (small sizes, in-process fits) and what the math fixes on a
# labelled sample of three independent binary factors, for codes equal to the factors and for
# codes of noise: {key: (value for the factors, value for noise)}, each within `tolerance`.
SAMPLE_METRICS = {
    # A code equal to a binary factor predicts it exactly; every other code is independent of
    # it and a balanced classifier scores chance (1/2): SAP = 1 - 1/2. Noise predicts nothing.
    "sap_score": (
        ["sap_score.num_train = 300", "sap_score.num_test = 300"],
        {"SAP_score": (0.5, 0.0)}, 0.1,
    ),
    # Each factor is read from its own code only (D = C = 1), perfectly (accuracy 1); noise codes
    # are equally (un)important for every factor (D = 0), read at chance.
    "dci": (
        ["dci.num_train = 300", "dci.num_test = 300", "dci.backend = 'exact'", "dci.n_jobs = 1"],
        {"disentanglement": (1.0, 0.0), "completeness": (1.0, None),
         "informativeness_test": (1.0, 0.5)}, 0.1,
    ),
    # Each code informs about one factor (modularity 1); the factors are linearly read out
    # (ROC AUC 1), from noise at chance (AUC 1/2).
    "modularity_explicitness": (
        ["modularity_explicitness.num_train = 300", "modularity_explicitness.num_test = 300"],
        {"modularity_score": (1.0, None), "explicitness_score_test": (1.0, 0.5)}, 0.1,
    ),
    # A code equal to a factor does not move when the other factors change: IRS = 1.
    "irs": (["irs.num_train = 300"], {"IRS": (1.0, None)}, 1e-9),
    # Logistic regression reads each factor exactly, from noise at chance.
    "downstream_task_logistic_regression": (
        ["downstream_task.num_train = [100]", "downstream_task.num_test = 300",
         "downstream_task.n_jobs = 1"],
        {"100:min_test_accuracy": (1.0, None), "100:mean_test_accuracy": (1.0, 0.5)}, 0.1,
    ),
    # Independent codes: no total correlation and (up to the plug-in estimate's bias on two bins)
    # no mutual information; noise is independent too (its 20-bin plug-in MI is biased upward).
    "unsupervised": (
        ["unsupervised_metrics.num_train = 300"],
        {"gaussian_total_correlation": (0.0, 0.0), "mutual_info_score": (0.0, None)}, 0.03,
    ),
}  # fmt: skip


def _binary_sample(tmp_path) -> NpzData:
    """400 labelled images of three independent binary factors, with nuisance pixels."""
    rs = np.random.RandomState(0)
    factors = rs.randint(0, 2, size=(400, 3))
    images = _images_of(factors)
    images[:, 4:, :, 0] = rs.randint(0, 256, size=(400, 4, 8))  # no factor is read from these
    np.savez(tmp_path / "binary.npz", images=images, factors=factors)
    return NpzData(str(tmp_path / "binary.npz"))


def _noise_codes(random_state):
    return lambda obs: random_state.normal(size=(len(obs), 3))


@pytest.mark.parametrize("config", sorted(SAMPLE_METRICS))
def test_labelled_sample_scores_every_sample_metric(tmp_path, config):
    data = _binary_sample(tmp_path)
    assert not data.is_full_grid and data.factors_num_values == [2, 2, 2]
    bindings, expected, tolerance = SAMPLE_METRICS[config]
    gin_utils.parse_config([f"metrics/{config}.gin"], bindings)
    try:
        metric = gin.query_parameter("evaluation.evaluation_fn").scoped_configurable_fn
        scores = {
            name: metric(
                ground_truth_data=data,
                representation_function=codes,
                random_state=np.random.RandomState(0),
                artifact_dir=str(tmp_path / name),
            )
            for name, codes in [
                ("factors", _factor_codes),
                ("noise", _noise_codes(np.random.RandomState(1))),
            ]
        }
    finally:
        gin.clear_config()
    for key, (for_factors, for_noise) in expected.items():
        np.testing.assert_allclose(scores["factors"][key], for_factors, atol=tolerance, err_msg=key)
        if for_noise is not None:
            np.testing.assert_allclose(scores["noise"][key], for_noise, atol=tolerance, err_msg=key)


def test_unsupervised_mutual_information_sees_uncorrelated_dependent_codes(tmp_path):
    # Codes f0 + f1 and f0 - f1 of independent fair bits are uncorrelated (cov = var f0 - var f1
    # = 0), so the Gaussian total correlation stays 0, yet dependent: f0 + f1 in {0, 2} fixes
    # f0 - f1 = 0. I = H(f0 - f1) - H(f0 - f1 | f0 + f1) = 3/2 ln 2 - 1/2 ln 2 = ln 2,
    # and the score averages the 3 * 2 ordered pairs of codes: 2 ln 2 / 6.
    data = _binary_sample(tmp_path)

    def mixed(observations):
        f = _factor_codes(observations)
        return np.stack([f[:, 0] + f[:, 1], f[:, 0] - f[:, 1], f[:, 2]], axis=1)

    gin_utils.parse_config(["metrics/unsupervised.gin"], SAMPLE_METRICS["unsupervised"][0])
    try:
        metric = gin.query_parameter("evaluation.evaluation_fn").scoped_configurable_fn
        scores = metric(
            ground_truth_data=data,
            representation_function=mixed,
            random_state=np.random.RandomState(0),
            artifact_dir=None,
        )
    finally:
        gin.clear_config()
    np.testing.assert_allclose(scores["gaussian_total_correlation"], 0.0, atol=0.03)
    np.testing.assert_allclose(scores["mutual_info_score"], np.log(2) / 3, atol=0.03)


def _write(tmp_path, **arrays):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    return str(path)


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"factor_sizes": np.array([2])}, "no array 'images'"),
        ({"images": np.zeros((2, 4, 4, 1)), "factor_sizes": [2], "factors": np.zeros((2, 1), int)},
         "exactly one of"),
        ({"images": np.zeros((2, 4, 4, 1))}, "exactly one of"),
        ({"images": np.zeros((2, 4, 4)), "factor_sizes": [2]}, r"\[N, H, W, C\]"),
        ({"images": np.zeros((2, 4, 4, 2)), "factor_sizes": [2]}, "C 1 or 3"),
        ({"images": np.full((2, 4, 4, 1), 255.0), "factor_sizes": [2]}, r"in \[0, 1\]"),
        ({"images": np.full((2, 4, 4, 1), np.nan), "factor_sizes": [2]}, "finite"),
        ({"images": np.zeros((2, 4, 4, 1), np.int32), "factor_sizes": [2]}, "uint8"),
        ({"images": np.zeros((6, 4, 4, 1)), "factor_sizes": [2, 2]}, "has 4 points"),
        ({"images": np.zeros((2, 4, 4, 1)), "factor_sizes": [2.0]}, "integer"),
        ({"images": np.zeros((2, 4, 4, 1)), "factor_sizes": [0, 2]}, "positive"),
        ({"images": np.zeros((2, 4, 4, 1)), "factors": np.zeros((3, 1), int)}, r"\(2, F\)"),
        ({"images": np.zeros((2, 4, 4, 1)), "factors": -np.ones((2, 1), int)}, "non-negative"),
    ],
)  # fmt: skip
def test_validation_errors_are_one_line(tmp_path, arrays, message):
    with pytest.raises(ValueError) as error:
        NpzData(_write(tmp_path, **arrays))
    # The reason is on the first line (gin may append the configurable's name below it).
    assert re.search(message, str(error.value).splitlines()[0])


def test_named_dataset_reads_the_gin_path(tmp_path, empty_data_dirs):
    with pytest.raises(DatasetNotFoundError, match="npz_data.path"):
        named_data.get_named_ground_truth_data("npz")
    path = _write(tmp_path, images=np.zeros((4, 4, 4, 3), np.uint8), factor_sizes=[2, 2])
    with gin.unlock_config():
        gin.bind_parameter("npz_data.path", path)
    try:
        data = named_data.get_named_ground_truth_data("npz")
    finally:
        gin.clear_config()
    assert data.name == "npz" and data.observation_shape == [4, 4, 3]


def test_readme_example_writes_a_valid_grid(tmp_path, monkeypatch):
    readme = open(os.path.join(os.path.dirname(__file__), "..", "..", "README.md")).read()
    section = readme[readme.index("### Your own ground-truth data") :]
    code = section[section.index("```python\n") + 10 : section.index("```\n", 10)]
    assert len(code.strip().splitlines()) <= 10
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README example", "exec"), {})
    data = NpzData(str(tmp_path / "bars.npz"))
    assert data.is_full_grid and data.factors_num_values == [4, 8]
    images = data.sample_observations_from_factors(np.array([[2, 5]]), np.random.RandomState(0))
    # Height index 2 is a bar 24 px high in columns 20..23.
    bar = np.zeros((32, 32), np.float32)
    bar[8:, 20:24] = 1.0
    np.testing.assert_array_equal(images[0, :, :, 0], bar)


@pytest.mark.parametrize("labelled", [False, True])
def test_dataset_pictures_name_factors_and_skip_sweeps_of_a_labelled_sample(tmp_path, labelled):
    from tfdis.visualization.visualize_dataset import visualize_dataset

    grid = np.stack(np.unravel_index(np.arange(6), (2, 3)), axis=1)
    labels = {"factors": grid} if labelled else {"factor_sizes": np.array([2, 3])}
    path = _write(
        tmp_path, images=_images_of(grid), factor_names=np.array(["size", "hue"]), **labels
    )
    with gin.unlock_config():
        gin.bind_parameter("npz_data.path", path)
    try:
        written = visualize_dataset("npz", str(tmp_path / "pictures"))
    finally:
        gin.clear_config()
    names = sorted(os.path.basename(p) for p in written)
    if labelled:
        assert names == ["samples.png"]
    else:
        assert names == ["factor0_size.gif", "factor1_hue.gif", "factor_sweeps.png", "samples.png"]
    with pytest.raises(ValueError, match="'factor_names' must be 2 strings"):
        NpzData(_write(tmp_path, images=_images_of(grid), factors=grid, factor_names=[1, 2]))
