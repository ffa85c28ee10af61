"""Pictures of a trained run, computed from its exported SavedModel and its dataset alone.

`visualize_run(model_dir)` reads `<model_dir>/saved_model` (its signatures and
`tfdis_model.json`, which names the dataset) and writes into `<model_dir>/visualizations/`:

    reconstructions.png                  inputs beside their reconstructions (`reconstruct`)
    samples.png                          random samples from the prior (`sample`)
    traversals/<kind>_base<b>.png        rows = latent dimensions, columns = steps
    traversals/<kind>_base<b>.gif        frames = steps, each frame a grid of every dimension
    traversals/discrete_code_base<b>.png rows = categorical codes, columns = category values
                                         (models with categorical codes only)
    latent_pairs.png                     pair plot of the encoded means (RTC Figures 13-15)
    latent_factor_mutual_information.png normalized MI, latents x factors (RTC Figure 8)
    latent_factor_r2.png                 R^2 (correlation ratio eta^2), latents x factors
    latent_factor_scores.json            the numbers of both heatmaps
    latent_vs_factors.png                mean latent per factor value (beta-TCVAE Figure S4)

`<kind>` is one of dlib's three traversals (`traversals.TRAVERSAL_KINDS`): `std_gaussian_cycle`,
`fitted_range_cycle` (the range of each dimension's encoded means on the plot sample) and
`fixed_interval_cycle` ([-2, 2]). The base codes are the encoded means of the first
`num_traversal_bases` observations of the plot sample. For models with categorical codes the
continuous traversals keep the base observation's categories.

Nothing here imports tfdis models or builds Keras objects: any tfdis export can be visualized.
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

from tfdis.data.ground_truth_data import GroundTruthData
from tfdis.data.named_data import get_named_ground_truth_data
from tfdis.utils import image_grids, layout, results, run_lock, safe_replace
from tfdis.utils.model_metadata import read_model_metadata
from tfdis.utils.saved_models import load_saved_model
from tfdis.visualization import images as image_utils
from tfdis.visualization import plots, traversals
from tfdis.visualization.visualize_dataset import factor_names

OUTPUT_SUBDIR = "visualizations"
TRAVERSAL_SUBDIR = "traversals"
DEFAULT_BATCH_SIZE = 256


class ExportedModel:
    """Numpy access to the signatures of an exported tfdis SavedModel.

    Args:
        export_dir: the SavedModel directory (`layout.saved_model_dir(model_dir)`).
        batch_size: images per signature call.

    Attributes:
        metadata: `tfdis_model.json`.
        num_latent: d.
        discrete_sizes: `[K_1, ..., K_C]`, empty for continuous models.
    """

    def __init__(self, export_dir: str, batch_size: int = DEFAULT_BATCH_SIZE):
        if not os.path.isdir(export_dir):
            raise FileNotFoundError(f"no exported model at {export_dir}")
        self.metadata = read_model_metadata(export_dir)
        if "num_latent" not in self.metadata:
            raise ValueError(
                f"{export_dir} has no tfdis_model.json with num_latent; re-export it with tfdis"
            )
        self.num_latent = int(self.metadata["num_latent"])
        self.discrete_sizes = [int(k) for k in self.metadata.get("discrete_sizes", [])]
        self.batch_size = batch_size
        self._module = load_saved_model(export_dir)

    def _batched(self, fn, *arrays: np.ndarray) -> dict[str, np.ndarray]:
        outputs: dict[str, list[np.ndarray]] = {}
        for start in range(0, len(arrays[0]), self.batch_size):
            batch = [tf.constant(a[start : start + self.batch_size]) for a in arrays]
            for key, value in fn(*batch).items():
                outputs.setdefault(key, []).append(value.numpy())
        return {key: np.concatenate(values) for key, values in outputs.items()}

    def encode(self, images: np.ndarray) -> dict[str, np.ndarray]:
        """`mean`, `logvar` `(N, d)` (and `category` int `(N, C)`) of images `(N, H, W, C)`."""
        return self._batched(self._module.encode, np.asarray(images, np.float32))

    def decode(self, latents: np.ndarray, category: np.ndarray | None = None) -> np.ndarray:
        """Images `(N, H, W, C)` in [0, 1] of codes `(N, d)` (and categories int `(N, C)`)."""
        latents = np.asarray(latents, np.float32)
        if self.discrete_sizes:
            if category is None:
                raise ValueError("this model decodes (latents, category); pass the categories")
            arrays = (latents, np.asarray(category, np.int32))
        else:
            arrays = (latents,)
        return self._batched(self._module.decode, *arrays)["images"]

    def reconstruct(self, images: np.ndarray) -> np.ndarray:
        """Decoded posterior means `(N, H, W, C)` of images `(N, H, W, C)`."""
        return self._batched(self._module.reconstruct, np.asarray(images, np.float32))["images"]

    def sample(self, num_samples: int, seed: int) -> np.ndarray:
        """`num_samples` images decoded from prior draws (the `sample` signature)."""
        out = self._module.sample(tf.constant(num_samples, tf.int32), tf.constant(seed, tf.int32))
        return out["images"].numpy()


def encode_sample(
    model: ExportedModel,
    data: GroundTruthData,
    num_points: int,
    random_state: np.random.RandomState,
    batch_size: int = 500,
) -> dict[str, np.ndarray]:
    """Samples `num_points` observations batch by batch and encodes them.

    Returns:
        `factors` `(N, F)`, `mean`, `logvar` `(N, d)` and `category` `(N, C)` (C = 0 for
        continuous models). Only one batch of images is held at a time.
    """
    chunks: dict[str, list[np.ndarray]] = {"factors": [], "mean": [], "logvar": [], "category": []}
    for start in range(0, num_points, batch_size):
        factors, observations = data.sample(min(batch_size, num_points - start), random_state)
        encoded = model.encode(observations)
        chunks["factors"].append(np.asarray(factors))
        chunks["mean"].append(encoded["mean"])
        chunks["logvar"].append(encoded["logvar"])
        chunks["category"].append(
            encoded["category"] if "category" in encoded else np.zeros((len(factors), 0), np.int32)
        )
    return {key: np.concatenate(values) for key, values in chunks.items()}


def write_traversals(
    model: ExportedModel,
    means: np.ndarray,
    categories: np.ndarray,
    output_dir: str,
    num_bases: int = 3,
    num_steps: int = 10,
    num_frames: int = 20,
    frame_duration_ms: int = 100,
) -> list[str]:
    """Writes the PNG grid and GIF of each traversal kind for the first `num_bases` codes.

    Args:
        model: the exported model.
        means: `(N, d)` encoded means of the plot sample (their range fits `fitted_range_cycle`).
        categories: int `(N, C)` categories (C = 0 for continuous models).
        output_dir: directory of the files.
        num_bases: base codes (the first rows of `means`).
        num_steps: columns of the PNG grids.
        num_frames: frames of the GIFs.
        frame_duration_ms: display time of a GIF frame.

    Returns:
        The written paths.
    """
    d = means.shape[1]
    fitted_min, fitted_max = means.min(axis=0), means.max(axis=0)
    written = []
    for b in range(min(num_bases, len(means))):
        base, base_category = means[b], categories[b]

        def decode_fn(latents, base_category=base_category):
            if not model.discrete_sizes:
                return model.decode(latents)
            return model.decode(latents, np.tile(base_category, (len(latents), 1)))

        for kind in traversals.TRAVERSAL_KINDS:
            grid_values = traversals.traversal_grid_values(
                kind, d, num_steps, fitted_min, fitted_max
            )
            still = image_grids.latent_traversal_image(
                decode_fn, base, grid_values, padding=image_utils.DEFAULT_PADDING
            )
            written.append(
                image_utils.save_png(still, os.path.join(output_dir, f"{kind}_base{b}.png"))
            )
            cycle = traversals.traversal_cycle_values(
                kind, base, num_frames, fitted_min, fitted_max
            )
            frames = traversals.traversal_animation_frames(
                image_grids.latent_traversal_tiles(decode_fn, base, cycle)
            )
            written.append(
                image_utils.save_gif(
                    frames, os.path.join(output_dir, f"{kind}_base{b}.gif"), frame_duration_ms
                )
            )
        if model.discrete_sizes:
            rows = traversals.category_traversal_tiles(
                model.decode, base, base_category, model.discrete_sizes
            )
            written.append(
                image_utils.save_png(
                    image_utils.ragged_grid(rows),
                    os.path.join(output_dir, f"discrete_code_base{b}.png"),
                )
            )
    return written


def visualize_run(
    model_dir: str,
    output_dir: str | None = None,
    overwrite: bool = False,
    random_seed: int = 0,
    num_animation_frames: int = 20,
    num_reconstructions: int = 16,
    num_samples: int = 64,
    num_traversal_bases: int = 3,
    num_traversal_steps: int = 10,
    num_plot_points: int = 2000,
    num_bins: int = plots.DEFAULT_NUM_BINS,
    frame_duration_ms: int = 100,
) -> list[str]:
    """Writes every picture of a trained run (see the module docstring for the files).

    Args:
        model_dir: the run directory (its `saved_model/` is read).
        output_dir: where to write; `<model_dir>/visualizations` if None.
        overwrite: replace an existing non-empty `output_dir` instead of refusing.
        random_seed: seeds the data sample and the prior samples.
        num_animation_frames: frames of each traversal GIF.
        num_reconstructions: input/reconstruction pairs.
        num_samples: prior samples.
        num_traversal_bases: base observations traversed.
        num_traversal_steps: columns of the traversal PNGs.
        num_plot_points: observations encoded for the plots, the heatmaps and the fitted range.
        num_bins: bins of the mutual information's discretization (MIG's 20).
        frame_duration_ms: display time of a GIF frame.

    Returns:
        The written paths, in writing order.

    Raises:
        FileNotFoundError: `model_dir` has no exported model.
        FileExistsError: `output_dir` exists, is not empty, and `overwrite` is False.
        ValueError: the export's metadata names no dataset.
    """
    export_dir = layout.saved_model_dir(model_dir)
    run_lock.refuse_if_training(model_dir, "visualize")
    if not os.path.isdir(export_dir):
        raise FileNotFoundError(
            f"{model_dir} has no exported model ({export_dir}); train it first with tfdis_train."
        )
    model = ExportedModel(export_dir)
    dataset_name = model.metadata.get("dataset")
    if not dataset_name:
        raise ValueError(f"{export_dir}/tfdis_model.json names no dataset; cannot visualize")
    data = get_named_ground_truth_data(dataset_name)
    if num_plot_points < max(num_traversal_bases, 2):
        raise ValueError(
            f"num_plot_points ({num_plot_points}) must be at least 2 and at least "
            f"num_traversal_bases ({num_traversal_bases})"
        )
    output_dir = output_dir or os.path.join(model_dir, OUTPUT_SUBDIR)
    with run_lock.run_lock(model_dir, exclusive=False, action="visualize"):
        with safe_replace.replaced_directory(output_dir, overwrite, "visualization") as target:
            options = dict(
                num_reconstructions=num_reconstructions,
                num_samples=num_samples,
                num_plot_points=num_plot_points,
                num_traversal_bases=num_traversal_bases,
                num_traversal_steps=num_traversal_steps,
                num_animation_frames=num_animation_frames,
                frame_duration_ms=frame_duration_ms,
                num_bins=num_bins,
            )
            written = _draw(model, data, target, random_seed, options)
    # Paths as they are after a replacement moved the staging directory into place.
    return [os.path.join(output_dir, os.path.relpath(p, target)) for p in written]


def _draw(model, data, output_dir: str, random_seed: int, options: dict) -> list[str]:
    """Draws every picture into `output_dir` (`options`: `visualize_run`'s arguments)."""
    num_reconstructions = options["num_reconstructions"]
    num_samples = options["num_samples"]
    num_plot_points = options["num_plot_points"]
    num_traversal_bases = options["num_traversal_bases"]
    num_traversal_steps = options["num_traversal_steps"]
    num_animation_frames = options["num_animation_frames"]
    frame_duration_ms = options["frame_duration_ms"]
    num_bins = options["num_bins"]
    random_state = np.random.RandomState(random_seed)
    written = []

    inputs = data.sample_observations(num_reconstructions, random_state)
    pairs = image_utils.side_by_side(inputs, model.reconstruct(inputs))
    written.append(
        image_utils.save_png(
            image_utils.image_grid(pairs), os.path.join(output_dir, "reconstructions.png")
        )
    )
    written.append(
        image_utils.save_png(
            image_utils.image_grid(model.sample(num_samples, random_seed)),
            os.path.join(output_dir, "samples.png"),
        )
    )

    sample = encode_sample(model, data, num_plot_points, random_state)
    written += write_traversals(
        model,
        sample["mean"],
        sample["category"],
        os.path.join(output_dir, TRAVERSAL_SUBDIR),
        num_traversal_bases,
        num_traversal_steps,
        num_animation_frames,
        frame_duration_ms,
    )

    codes, factors = sample["mean"].T, sample["factors"].T
    latent_labels = [f"z{i}" for i in range(model.num_latent)]
    category_labels = [f"c{c}" for c in range(len(model.discrete_sizes))]
    names = factor_names(data)
    written.append(plots.plot_latent_pairs(codes, os.path.join(output_dir, "latent_pairs.png")))
    scores = plots.latent_factor_scores(
        codes, factors, num_bins, sample["category"].T if model.discrete_sizes else None
    )
    written.append(
        plots.plot_heatmap(
            scores["normalized_mutual_information"],
            latent_labels + category_labels,
            names,
            f"Normalized mutual information I(z; v) / H(v)\n(means in {num_bins} bins, "
            f"{len(sample['mean'])} observations)",
            os.path.join(output_dir, "latent_factor_mutual_information.png"),
        )
    )
    written.append(
        plots.plot_heatmap(
            scores["r2"],
            latent_labels,
            names,
            f"R^2 of z from v: correlation ratio eta^2\n({len(sample['mean'])} observations)",
            os.path.join(output_dir, "latent_factor_r2.png"),
        )
    )
    scores_path = os.path.join(output_dir, "latent_factor_scores.json")
    results.atomic_write_json(
        scores_path,
        {
            **scores,
            "latents": latent_labels + category_labels,
            "factors": names,
            "num_points": len(sample["mean"]),
            "num_bins": num_bins,
        },
    )
    written.append(scores_path)
    written.append(
        plots.plot_latent_vs_factors(
            codes,
            factors,
            data.factors_num_values,
            names,
            os.path.join(output_dir, "latent_vs_factors.png"),
        )
    )
    return written
