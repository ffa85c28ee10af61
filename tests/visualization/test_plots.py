"""Latent x factor statistics on cases with known answers, and the figures' files."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tfdis.visualization import plots


def _synthetic(num_points=20000, seed=0):
    rs = np.random.RandomState(seed)
    factors = np.stack([rs.randint(0, 5, num_points), rs.randint(0, 4, num_points)])
    codes = np.stack(
        [
            factors[0].astype(np.float64),  # a copy of factor 0
            rs.normal(size=num_points),  # independent of both factors
            2.0 * factors[1] + 1.0,  # affine in factor 1
            (factors[0] - 2.0) ** 2,  # a non-monotone function of factor 0
        ]
    )
    return codes, factors


def test_a_latent_equal_to_a_factor_scores_the_max_and_an_independent_one_about_zero():
    codes, factors = _synthetic()
    scores = plots.latent_factor_scores(codes, factors, num_bins=20)
    mi, nmi, r2 = (
        scores["mutual_information"],
        scores["normalized_mutual_information"],
        scores["r2"],
    )
    assert mi.shape == nmi.shape == r2.shape == (4, 2)
    entropy = scores["factor_entropy"]
    np.testing.assert_allclose(entropy, [np.log(5), np.log(4)], atol=0.01)  # near-uniform draws
    # A copy (or an affine image) of a factor: its mutual information is the factor's entropy.
    np.testing.assert_allclose(mi[0, 0], entropy[0], rtol=1e-9)
    np.testing.assert_allclose(nmi[[0, 2], [0, 1]], 1.0, rtol=1e-9)
    np.testing.assert_allclose(r2[[0, 2], [0, 1]], 1.0, rtol=1e-9)
    # Independent pairs: ~0 (the plug-in bias is about (bins - 1)(values - 1) / 2N).
    assert np.all(nmi[1] < 0.01) and np.all(r2[1] < 0.005)
    assert nmi[0, 1] < 0.01 and r2[0, 1] < 0.005 and r2[2, 0] < 0.005
    # The correlation ratio sees a non-monotone dependence that a linear R^2 misses.
    assert r2[3, 0] == pytest.approx(1.0)
    assert np.corrcoef(codes[3], factors[0])[0, 1] ** 2 < 0.01
    # (f0 - 2)^2 takes 3 values with probabilities 2/5, 2/5, 1/5: MI = their entropy < H(f0).
    assert nmi[3, 0] == pytest.approx(
        -(0.8 * np.log(0.4) + 0.2 * np.log(0.2)) / np.log(5), abs=0.01
    )


def test_categorical_codes_are_used_without_binning():
    codes, factors = _synthetic(5000)
    categories = np.stack([(factors[0] + 3) % 5])  # a relabelled copy of factor 0
    scores = plots.latent_factor_scores(codes, factors, categories=categories)
    assert scores["mutual_information"].shape == (5, 2) and scores["r2"].shape == (4, 2)
    assert scores["normalized_mutual_information"][4, 0] == pytest.approx(1.0)


def test_constant_code_and_constant_factor_score_zero():
    factors = np.stack([np.arange(100) % 4, np.zeros(100, int)])
    codes = np.stack([np.full(100, 3.0), np.arange(100.0)])
    scores = plots.latent_factor_scores(codes, factors)
    assert scores["r2"][0, 0] == 0.0
    np.testing.assert_array_equal(scores["normalized_mutual_information"][:, 1], 0.0)


def test_mean_per_factor_value_by_colour():
    # factor 0 (colour) in {0, 1}, factor 1 (x axis) in {0, 1, 2}; value 2 never seen at colour 1.
    factors = np.array([[0, 0, 0, 1, 1, 0], [0, 1, 1, 0, 1, 2]])
    codes = np.array([[1.0, 2.0, 4.0, 10.0, 20.0, 5.0]])
    means = plots.mean_per_factor_value(codes, factors, 1, 3, color_index=0, num_color_values=2)
    assert means.shape == (1, 2, 3)
    np.testing.assert_allclose(means[0, 0], [1.0, 3.0, 5.0])
    np.testing.assert_allclose(means[0, 1, :2], [10.0, 20.0])
    assert np.isnan(means[0, 1, 2])
    single = plots.mean_per_factor_value(codes, factors, 1, 3)
    np.testing.assert_allclose(single[0, 0], [5.5, 26.0 / 3.0, 5.0])


def _pixel_size(size_inches):
    return tuple(round(side * plots.DPI) for side in size_inches)


def test_figures_are_pngs_of_their_figure_size(tmp_path):
    codes, factors = _synthetic(600)
    path = plots.plot_latent_pairs(codes, str(tmp_path / "pairs.png"))
    with Image.open(path) as picture:
        assert picture.format == "PNG" and picture.mode == "RGBA"
        assert picture.size == _pixel_size(plots.pair_plot_size(4))
    path = plots.plot_heatmap(
        np.eye(4, 2), ["z0", "z1", "z2", "z3"], ["a", "b"], "t", str(tmp_path / "h.png")
    )
    with Image.open(path) as picture:
        assert picture.size == _pixel_size(plots.heatmap_size(4, 2))
    with pytest.raises(ValueError):
        plots.plot_heatmap(np.eye(2), ["z0"], ["a", "b"], "t", str(tmp_path / "bad.png"))
    path = plots.plot_latent_vs_factors(
        codes, factors, [5, 4], ["f0", "f1"], str(tmp_path / "v.png")
    )
    with Image.open(path) as picture:
        assert picture.size == _pixel_size(plots.latent_vs_factors_size(4, 1))  # f0 colours
    # A dataset with one factor plots it, with a single curve.
    path = plots.plot_latent_vs_factors(codes, factors[:1], [5], ["f0"], str(tmp_path / "w.png"))
    with Image.open(path) as picture:
        assert picture.size == _pixel_size(plots.latent_vs_factors_size(4, 1))
