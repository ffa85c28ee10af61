"""The study plots: drawn when their columns are present, valid PNGs of the expected size."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from tfdis.aggregation import plots


def _row(model, parameter, strength, seed, **columns) -> dict:
    row = {
        "model": model,
        "regularization_parameter": parameter,
        "regularization_strength": strength,
        "train_config.dataset.name": "dsprites_procedural",
        "train_config.encoder.num_latent": 10,
        "train_config.model.random_seed": seed,
    }
    row.update(columns)
    return row


def _correlated_noise_table() -> list[dict]:
    rng = np.random.RandomState(0)
    rows = []
    for model, parameter, strength in (
        ("vae", "vae.beta", 1.0),
        ("factorvae", "factor_vae.gamma", 35.0),
        ("betatcvae", "beta_tc_vae.beta", 6.0),
    ):
        for correlation in (0.0, 0.9):
            for seed in range(3):
                mig = 0.3 - 0.2 * correlation + 0.05 * rng.rand()
                rows.append(
                    _row(
                        model,
                        parameter,
                        strength,
                        seed,
                        **{
                            "train_config.posterior.correlation": correlation,
                            "mig.discrete_mig": mig,
                        },
                    )
                )
    return rows


def _rtc_table() -> list[dict]:
    rows = []
    for model, parameter in (("factorvae", "factor_vae.gamma"), ("rtcvae", "rtc_factor_vae.gamma")):
        for gamma in (2.0, 10.0, 50.0):
            for seed in range(2):
                tc_mean = np.log(gamma) + seed if model == "factorvae" else 0.1 + 0.01 * seed
                rows.append(
                    _row(
                        model,
                        parameter,
                        gamma,
                        seed,
                        **{
                            "tc_mean_sample.tc_mean": tc_mean,
                            "tc_mean_sample.tc_sample": 1.0 / gamma,
                        },
                    )
                )
    return rows


def _beta_table() -> list[dict]:
    rows = []
    for model, parameter in (("betavae", "vae.beta"), ("betatcvae", "beta_tc_vae.beta")):
        for beta in (1.0, 4.0, 8.0):
            for seed in range(3):
                rows.append(
                    _row(
                        model,
                        parameter,
                        beta,
                        seed,
                        **{
                            "mig.discrete_mig": 0.02 * beta + 0.01 * seed,
                            "train_results.elbo": 100 + beta,
                        },
                    )
                )
    return rows


def _assert_png(path: str, size: tuple[int, int]) -> None:
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == size
        pixels = np.asarray(image.convert("L"), float)
    assert pixels.std() > 10  # something is drawn on the white background


def test_mig_violins_by_correlation(tmp_path):
    path = str(tmp_path / plots.MIG_BY_CORRELATION)
    assert plots.plot_mig_by_correlation(_correlated_noise_table(), path)
    # One dataset and one latent size: one panel, 0.6 + 1.6 x 3 models inches wide at 100 dpi.
    _assert_png(path, (540, 320))


def test_mig_violins_have_one_panel_per_dataset_and_latent_size(tmp_path):
    rows = _correlated_noise_table()
    for row in _correlated_noise_table():
        rows.append(dict(row, **{"train_config.dataset.name": "cars3d"}))
        rows.append(dict(row, **{"train_config.encoder.num_latent": 20}))
    path = str(tmp_path / "grid.png")
    assert plots.plot_mig_by_correlation(rows, path)
    _assert_png(path, (1080, 640))


def test_a_single_seed_per_violin_still_draws(tmp_path):
    rows = [row for row in _correlated_noise_table() if row["train_config.model.random_seed"] == 0]
    path = str(tmp_path / "one_seed.png")
    assert plots.plot_mig_by_correlation(rows, path)
    _assert_png(path, (540, 320))


def test_tc_plots_against_strength(tmp_path):
    by_model = str(tmp_path / plots.TC_BY_MODEL)
    compared = str(tmp_path / plots.TC_VS_STRENGTH)
    assert plots.plot_tc_by_model(_rtc_table(), by_model)
    assert plots.plot_tc_vs_strength(_rtc_table(), compared)
    _assert_png(by_model, (840, 340))
    _assert_png(compared, (900, 360))


def test_mig_against_beta_with_the_elbo_panel(tmp_path):
    path = str(tmp_path / plots.MIG_VS_BETA)
    assert plots.plot_mig_vs_beta(_beta_table(), path)
    _assert_png(path, (900, 360))
    without_elbo = [
        {k: v for k, v in row.items() if k != "train_results.elbo"} for row in _beta_table()
    ]
    assert plots.plot_mig_vs_beta(without_elbo, path)
    _assert_png(path, (450, 360))


def test_mig_against_beta_uses_chens_mig_when_every_row_has_it(tmp_path):
    # tcvae_beta_study scores mig_exact (paper 004's estimator) beside dlib's mig.
    table = _beta_table()
    assert plots.mig_vs_beta_column(table) == "mig.discrete_mig"
    for row in table:
        row["mig_exact.mig_exact"] = row["mig.discrete_mig"] / 2
    assert plots.mig_vs_beta_column(table) == "mig_exact.mig_exact"
    del table[0]["mig_exact.mig_exact"]
    assert plots.mig_vs_beta_column(table) == "mig.discrete_mig"
    only_exact = [
        {k: v for k, v in row.items() if k != "mig.discrete_mig"} | {"mig_exact.mig_exact": 0.1}
        for row in _beta_table()
    ]
    assert plots.plot_mig_vs_beta(only_exact, str(tmp_path / plots.MIG_VS_BETA))


@pytest.mark.parametrize(
    "plot",
    [
        plots.plot_mig_by_correlation,
        plots.plot_tc_by_model,
        plots.plot_tc_vs_strength,
        plots.plot_mig_vs_beta,
    ],
)
def test_plots_are_skipped_without_their_columns(plot, tmp_path):
    # Only MIG per model at one strength each: no correlation, no TC and no beta sweep.
    rows = [
        _row("vae", "vae.beta", 1.0, 0, **{"mig.discrete_mig": 0.1}),
        _row("betatcvae", "beta_tc_vae.beta", 6.0, 0, **{"mig.discrete_mig": 0.2}),
    ]
    path = str(tmp_path / "skipped.png")
    assert not plot(rows, path)
    assert not os.path.exists(path)


def test_draw_study_plots_writes_what_the_table_supports(tmp_path):
    written = plots.draw_study_plots(_correlated_noise_table() + _rtc_table(), str(tmp_path))
    assert written == [
        str(tmp_path / plots.MIG_BY_CORRELATION),
        str(tmp_path / plots.TC_BY_MODEL),
        str(tmp_path / plots.TC_VS_STRENGTH),
    ]
    assert sorted(os.listdir(tmp_path)) == sorted(os.path.basename(p) for p in written)
