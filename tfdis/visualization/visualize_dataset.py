"""Pictures of a ground-truth dataset: random samples and a sweep along each factor.

`visualize_dataset(name, output_dir)` writes:

    samples.png                 random observations in a grid
    factor_sweeps.png           one row per factor: the other factors fixed at one random draw,
                                the factor stepping through its values (at most
                                `max_sweep_steps` columns, evenly subsampled, both ends kept)
    factor<k>_<name>.gif        one animation per factor: frame v shows `num_animation_bases`
                                observations (each with its own random draw of the other
                                factors) with factor k at its v-th value

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


def visualize_dataset(
    name: str,
    output_dir: str,
    overwrite: bool = False,
    seed: int = 0,
    num_samples: int = 64,
    max_sweep_steps: int = DEFAULT_MAX_SWEEP_STEPS,
    num_animation_bases: int = 9,
    frame_duration_ms: int = 150,
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

    Returns:
        The written paths.

    Raises:
        ValueError: unknown dataset name. FileExistsError: `output_dir` exists, is not empty,
        and `overwrite` is False.
    """
    data = get_named_ground_truth_data(name)
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
    return written
