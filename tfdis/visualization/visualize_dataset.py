"""Pictures of a ground-truth dataset: random samples and a sweep along each factor.

`visualize_dataset(name, output_dir)` writes:

    samples.png                 random observations in a grid
    factor_sweeps.png           one row per factor: the other factors fixed at one random draw,
                                the factor stepping through its values (at most
                                `max_sweep_steps` columns, evenly subsampled, both ends kept)
    factor<k>_<name>.gif        one animation per factor: frame v shows `num_animation_bases`
                                observations (each with its own random draw of the other
                                factors) with factor k at its v-th value

With `weak=True` (`tfdis_visualize_dataset --weak`) it also writes the pairs a weakly-supervised
model trains on (`tfdis.data.weak`):

    weak_pairs.png              one pair per row, first and second observation side by side, a
                                caption strip under each naming the changed factors
    weak_pairs.txt              per pair: the changed factors and both factor vectors

It works on any registered dataset, including the offline `dsprites_procedural`.
"""

from __future__ import annotations

import os
import re
import sys

import numpy as np

from tfdis.data.ground_truth_data import GroundTruthData
from tfdis.data.named_data import get_named_ground_truth_data
from tfdis.utils import results
from tfdis.visualization import images as image_utils

DEFAULT_MAX_SWEEP_STEPS = 16
# Frames of a factor animation: every value of the factor, subsampled above this.
MAX_ANIMATION_FRAMES = 64


def sweep_values(num_values: int, max_steps: int = DEFAULT_MAX_SWEEP_STEPS) -> np.ndarray:
    """Value indices of a sweep: all `num_values` if few, else `max_steps` evenly spaced.

    Returns:
        sorted distinct int64 indices in `[0, num_values)`, first 0 and last `num_values - 1`.
    """
    if num_values < 1 or max_steps < 1:
        raise ValueError(
            f"num_values and max_steps must be positive, got {num_values}, {max_steps}"
        )
    steps = min(num_values, max_steps)
    return np.unique(np.round(np.linspace(0, num_values - 1, steps)).astype(np.int64))


def factor_sweep(base_factors: np.ndarray, factor_index: int, values: np.ndarray) -> np.ndarray:
    """Factors of a sweep: the base draw repeated, with `factor_index` set to each of `values`.

    Args:
        base_factors: int `(F,)` factor indices.
        factor_index: the swept factor.
        values: `(S,)` its value indices.

    Returns:
        int64 `(S, F)`.
    """
    base_factors = np.asarray(base_factors, dtype=np.int64).reshape(-1)
    factors = np.tile(base_factors, (len(values), 1))
    factors[:, factor_index] = values
    return factors


def factor_names(data: GroundTruthData) -> list[str]:
    """Names of the dataset's factors, `num_factors` strings.

    The dataset's `factor_names` attribute, else its module's `FACTOR_NAMES` when the count
    matches (dSprites, Shapes3D, SmallNORB), else `factor0`, `factor1`, ...
    """
    names = getattr(data, "factor_names", None)
    if names is None:
        names = getattr(sys.modules.get(type(data).__module__), "FACTOR_NAMES", None)
    if names is not None and len(names) == data.num_factors:
        return [str(name) for name in names]
    return [f"factor{k}" for k in range(data.num_factors)]


def _file_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


CAPTION_HEIGHT = 12


def captioned(image: np.ndarray, caption: str) -> np.ndarray:
    """`image` `[H, W, C]` in [0, 1] with a white strip below holding `caption` in black."""
    from PIL import Image, ImageDraw

    height, width, channels = image.shape
    strip = Image.new("L", (width, CAPTION_HEIGHT), 255)
    ImageDraw.Draw(strip).text((1, 0), caption, fill=0)
    text = np.asarray(strip, np.float32)[:, :, None] / 255.0
    return np.concatenate([image, np.repeat(text, channels, axis=2)], axis=0)


def visualize_weak_pairs(
    data: GroundTruthData,
    output_dir: str,
    seed: int = 0,
    k: int = -1,
    dlib_sampling: bool = False,
    num_pairs: int = 16,
) -> list[str]:
    """Writes `weak_pairs.png` and `weak_pairs.txt` (see the module docstring); returns paths.

    Args:
        data: the dataset.
        output_dir: an existing directory.
        seed: seeds the draw.
        k, dlib_sampling: the pair dynamics (`dynamics.k`, `dynamics.dlib_sampling`).
        num_pairs: pairs shown.
    """
    from tfdis.data import weak

    settings = weak.Dynamics(k=k, dlib_sampling=dlib_sampling)
    weak.check_dynamics(data, settings)
    first, second, observations_1, observations_2, _ = weak.sample_pairs(
        data, num_pairs, np.random.RandomState(seed), settings
    )
    names = factor_names(data)
    lines, tiles = [], []
    for i in range(num_pairs):
        changed = [names[j] for j in np.flatnonzero(first[i] != second[i])]
        caption = ", ".join(changed) if changed else "(none)"
        lines.append(
            f"pair {i}: changed {caption}; first {first[i].tolist()}, second {second[i].tolist()}"
        )
        pair = image_utils.side_by_side(observations_1[i : i + 1], observations_2[i : i + 1])[0]
        tiles.append(captioned(pair, caption))
    columns = 2 if num_pairs > 1 else 1
    written = [
        image_utils.save_png(
            image_utils.image_grid(np.stack(tiles), num_columns=columns),
            os.path.join(output_dir, "weak_pairs.png"),
        )
    ]
    text_path = os.path.join(output_dir, "weak_pairs.txt")
    results.atomic_write_text(
        text_path,
        f"k = {'Rnd' if k == -1 else k}, {'dlib' if dlib_sampling else 'paper'} dynamics\n"
        + "\n".join(lines)
        + "\n",
    )
    written.append(text_path)
    return written


def visualize_dataset(
    name: str,
    output_dir: str,
    overwrite: bool = False,
    seed: int = 0,
    num_samples: int = 64,
    max_sweep_steps: int = DEFAULT_MAX_SWEEP_STEPS,
    num_animation_bases: int = 9,
    frame_duration_ms: int = 150,
    weak: bool = False,
    weak_k: int = -1,
    weak_dlib_sampling: bool = False,
) -> list[str]:
    """Writes the pictures of dataset `name` into `output_dir` (see the module docstring).

    Args:
        name: a registered dataset name (`tfdis.data.named_data`).
        output_dir: the output directory.
        overwrite: replace an existing non-empty `output_dir` instead of refusing.
        seed: seeds every random draw.
        num_samples: observations in `samples.png`.
        max_sweep_steps: most columns of a row of `factor_sweeps.png`.
        num_animation_bases: observations per frame of a factor animation.
        frame_duration_ms: display time of a GIF frame.
        weak: also write the weak-supervision pairs (`visualize_weak_pairs`).
        weak_k, weak_dlib_sampling: their dynamics (`dynamics.k`, `dynamics.dlib_sampling`).

    Returns:
        The written paths.

    Raises:
        ValueError: unknown dataset name. FileExistsError: `output_dir` exists, is not empty,
        and `overwrite` is False.
    """
    data = get_named_ground_truth_data(name)
    if weak:  # refused before anything is written
        from tfdis.data import weak as weak_data

        weak_data.check_dynamics(data, weak_data.Dynamics(weak_k, weak_dlib_sampling))
    results.ensure_fresh_directory(output_dir, overwrite, "dataset visualization")
    random_state = np.random.RandomState(seed)
    written = [
        image_utils.save_png(
            image_utils.image_grid(data.sample_observations(num_samples, random_state)),
            os.path.join(output_dir, "samples.png"),
        )
    ]

    if not data.supports_interventions:
        # A labelled sample has no image for most swept factor values: samples only.
        return written
    base = data.sample_factors(1, random_state)[0]
    rows = [
        data.sample_observations_from_factors(
            factor_sweep(base, k, sweep_values(num_values, max_sweep_steps)), random_state
        )
        for k, num_values in enumerate(data.factors_num_values)
    ]
    written.append(
        image_utils.save_png(
            image_utils.ragged_grid(rows), os.path.join(output_dir, "factor_sweeps.png")
        )
    )

    names = factor_names(data)
    for k, num_values in enumerate(data.factors_num_values):
        bases = data.sample_factors(num_animation_bases, random_state)
        frames = []
        for value in sweep_values(num_values, MAX_ANIMATION_FRAMES):
            factors = bases.copy()
            factors[:, k] = value
            frames.append(
                image_utils.image_grid(data.sample_observations_from_factors(factors, random_state))
            )
        path = os.path.join(output_dir, f"factor{k}_{_file_name(names[k])}.gif")
        written.append(image_utils.save_gif(np.stack(frames), path, frame_duration_ms))
    if weak:
        written += visualize_weak_pairs(data, output_dir, seed, weak_k, weak_dlib_sampling)
    return written
