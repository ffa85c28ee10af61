"""`visualize_run` on tiny exported models: every picture exists, is a valid image of its size."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from PIL import Image

from tfdis.testing import TINY_TRAINING_BINDINGS
from tfdis.training import train
from tfdis.visualization import images, plots, traversals, visualize

PAD = images.DEFAULT_PADDING
SIDE = 64  # test_squares is 64x64x1
NUM_LATENT = 3
NUM_FACTORS = 3  # x position (4), y position (4), size (2)
SMALL_RUN = dict(num_animation_frames=6, num_traversal_bases=2, num_traversal_steps=5,
                 num_plot_points=300)  # fmt: skip
CASCADE_BINDINGS = [
    *(b for b in TINY_TRAINING_BINDINGS if not b.startswith(("model.model", "vae."))),
    "cascade_vae.num_categories = 3",
    "cascade_vae.pair_penalty = 0.1",
    "cascade_vae.relief_interval = 2",
    "cascade_vae.discrete_start = 2",
]


def _grid_side(tiles, side=SIDE):
    return tiles * side + (tiles - 1) * PAD


@pytest.fixture(scope="module")
def betavae_run(tmp_path_factory):
    model_dir = str(tmp_path_factory.mktemp("viz") / "betavae")
    train.train_with_gin(model_dir, gin_bindings=list(TINY_TRAINING_BINDINGS))
    written = visualize.visualize_run(model_dir, **SMALL_RUN)
    return model_dir, written


@pytest.fixture(scope="module")
def cascade_run(tmp_path_factory):
    model_dir = str(tmp_path_factory.mktemp("viz") / "cascadevae")
    train.train_with_gin(
        model_dir, gin_config_files=["models/cascadevae.gin"], gin_bindings=CASCADE_BINDINGS
    )
    output_dir = os.path.join(model_dir, "pictures")
    written = visualize.visualize_run(model_dir, output_dir, **SMALL_RUN)
    return model_dir, output_dir, written


def _open(path):
    picture = Image.open(path)
    picture.load()
    return picture


def test_every_file_is_written_where_promised(betavae_run):
    model_dir, written = betavae_run
    output_dir = os.path.join(model_dir, "visualizations")
    expected = {
        "reconstructions.png",
        "samples.png",
        "latent_pairs.png",
        "latent_factor_mutual_information.png",
        "latent_factor_r2.png",
        "latent_factor_scores.json",
        "latent_vs_factors.png",
    }
    for b in range(2):
        for kind in traversals.TRAVERSAL_KINDS:
            expected |= {f"traversals/{kind}_base{b}.png", f"traversals/{kind}_base{b}.gif"}
    assert {os.path.relpath(p, output_dir) for p in written} == expected
    assert len(written) == len(expected)
    assert all(os.path.isfile(p) for p in written)
    assert not any(name.startswith(".tmp") for name in os.listdir(output_dir))


def test_reconstructions_and_samples_are_grids_of_the_right_size(betavae_run):
    model_dir, _ = betavae_run
    output_dir = os.path.join(model_dir, "visualizations")
    with _open(os.path.join(output_dir, "reconstructions.png")) as picture:
        # 16 (input | reconstruction) pairs of 64 x 128 in a 4 x 4 grid.
        assert picture.mode == "L"
        assert picture.size == (_grid_side(4, 2 * SIDE), _grid_side(4))
    with _open(os.path.join(output_dir, "samples.png")) as picture:
        assert picture.mode == "L" and picture.size == (_grid_side(8), _grid_side(8))


def test_traversal_pngs_and_gifs(betavae_run):
    model_dir, _ = betavae_run
    folder = os.path.join(model_dir, "visualizations", "traversals")
    for kind in traversals.TRAVERSAL_KINDS:
        with _open(os.path.join(folder, f"{kind}_base0.png")) as picture:
            # Rows = the 3 latent dimensions, columns = 5 steps.
            assert picture.mode == "L"
            assert picture.size == (_grid_side(5), _grid_side(NUM_LATENT))
            pixels = np.asarray(picture).astype(int)
        # After 4 training steps the encoded means span too small a range for the fitted-range
        # traversal to change a uint8 pixel; the two fixed ranges do move.
        moves = kind != "fitted_range_cycle"
        if moves:
            # In some row the first and last step decode to different images.
            assert np.abs(pixels[:, :SIDE] - pixels[:, -SIDE:]).max() > 0, kind
        with Image.open(os.path.join(folder, f"{kind}_base0.gif")) as gif:
            # Each frame holds the 3 dimensions in a 2 x 2 grid.
            assert gif.size == (_grid_side(2), _grid_side(2))
            assert (2 if moves else 1) <= gif.n_frames <= 6
            total = 0
            for i in range(gif.n_frames):
                gif.seek(i)
                total += gif.info["duration"]
            assert total == 6 * 100  # identical consecutive frames merge; the length stays


def test_heatmaps_scores_and_plots(betavae_run):
    model_dir, _ = betavae_run
    output_dir = os.path.join(model_dir, "visualizations")
    with open(os.path.join(output_dir, "latent_factor_scores.json")) as f:
        scores = json.load(f)
    assert np.shape(scores["normalized_mutual_information"]) == (NUM_LATENT, NUM_FACTORS)
    assert np.shape(scores["r2"]) == (NUM_LATENT, NUM_FACTORS)
    assert scores["latents"] == ["z0", "z1", "z2"] and scores["num_points"] == 300
    for key in ("normalized_mutual_information", "r2"):
        values = np.asarray(scores[key])
        assert np.all((values >= 0) & (values <= 1))
    sizes = {
        "latent_pairs.png": plots.pair_plot_size(NUM_LATENT),
        "latent_factor_mutual_information.png": plots.heatmap_size(NUM_LATENT, NUM_FACTORS),
        "latent_factor_r2.png": plots.heatmap_size(NUM_LATENT, NUM_FACTORS),
        # Factor 0 colours the curves; the two others get a column each.
        "latent_vs_factors.png": plots.latent_vs_factors_size(NUM_LATENT, NUM_FACTORS - 1),
    }
    for name, inches in sizes.items():
        with _open(os.path.join(output_dir, name)) as picture:
            assert picture.format == "PNG" and picture.mode == "RGBA"
            assert picture.size == tuple(round(side * plots.DPI) for side in inches), name


def test_existing_output_is_refused_and_a_missing_model_is_reported(betavae_run, tmp_path):
    model_dir, written = betavae_run
    before = os.path.getmtime(written[0])
    with pytest.raises(FileExistsError, match="--overwrite"):
        visualize.visualize_run(model_dir)
    assert os.path.getmtime(written[0]) == before
    with pytest.raises(FileNotFoundError, match="no exported model"):
        visualize.visualize_run(str(tmp_path / "nothing"))
    assert not os.path.exists(tmp_path / "nothing")


def test_discrete_code_traversal_and_heatmap_rows(cascade_run):
    _, output_dir, written = cascade_run
    names = {os.path.relpath(p, output_dir) for p in written}
    assert {"traversals/discrete_code_base0.png", "traversals/discrete_code_base1.png"} <= names
    with _open(os.path.join(output_dir, "traversals", "discrete_code_base0.png")) as picture:
        # One row (one categorical code) of its 3 category values.
        assert picture.mode == "L" and picture.size == (_grid_side(3), SIDE)
    with _open(os.path.join(output_dir, "traversals", "fixed_interval_cycle_base0.png")) as pic:
        assert pic.size == (_grid_side(5), _grid_side(NUM_LATENT))
    with open(os.path.join(output_dir, "latent_factor_scores.json")) as f:
        scores = json.load(f)
    # The category is one more row of the mutual information, not of R^2.
    assert scores["latents"] == ["z0", "z1", "z2", "c0"]
    assert np.shape(scores["mutual_information"]) == (NUM_LATENT + 1, NUM_FACTORS)
    assert np.shape(scores["r2"]) == (NUM_LATENT, NUM_FACTORS)
    with _open(os.path.join(output_dir, "latent_factor_mutual_information.png")) as picture:
        expected = plots.heatmap_size(NUM_LATENT + 1, NUM_FACTORS)
        assert picture.size == tuple(round(side * plots.DPI) for side in expected)


class FakeDiscreteModel:
    """Records what `write_traversals` asks a model with one 3-way code to decode."""

    discrete_sizes = [3]

    def __init__(self):
        self.calls = []

    def decode(self, latents, category=None):
        self.calls.append((np.array(latents), np.array(category)))
        return np.full((len(latents), 4, 4, 1), 0.5, np.float32)


def test_continuous_traversals_keep_the_base_category_and_the_discrete_one_the_base_code(
    tmp_path,
):
    model = FakeDiscreteModel()
    means = np.array([[0.1, -0.2], [1.0, 2.0], [-1.0, 0.5]], np.float32)
    categories = np.array([[2], [0], [1]], np.int32)
    written = visualize.write_traversals(
        model, means, categories, str(tmp_path), num_bases=1, num_steps=4, num_frames=5
    )
    assert len(written) == 2 * len(traversals.TRAVERSAL_KINDS) + 1
    continuous, discrete = model.calls[:-1], model.calls[-1]
    assert len(continuous) == 2 * 2 * len(traversals.TRAVERSAL_KINDS)  # per row, PNG and GIF
    for latents, category in continuous:
        np.testing.assert_array_equal(category, np.full((len(latents), 1), 2))
    latents, category = discrete
    np.testing.assert_array_equal(latents, np.tile(means[0], (3, 1)))
    np.testing.assert_array_equal(category[:, 0], [0, 1, 2])
    # The fitted range is the range of the means: z0 moves within [-1, 1], z1 within [-0.2, 2].
    fitted = continuous[4:6]  # calls per kind: 2 PNG rows, 2 GIF rows; fitted_range is second
    np.testing.assert_allclose(fitted[0][0][:, 0], np.linspace(-1.0, 1.0, 4), rtol=1e-6)
    np.testing.assert_allclose(fitted[1][0][:, 1], np.linspace(-0.2, 2.0, 4), rtol=1e-6)
