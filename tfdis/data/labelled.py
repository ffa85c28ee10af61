"""A few labelled observations for semi-supervised disentanglement (Locatello et al., ICLR 2020).

`make_labelled_set` draws `num_labelled_samples` observations once per run (seeded), asks the
gin-chosen labeller (`labeller.labeller_fn`, dlib's names) for their labels and splits them into
a training part (the first `ceil(train_percentage * n)`) and a held-out part, as dlib's
`semi_supervised_utils`. `labelled_set_for_run` stores the set in the run's checkpoint directory
(`labelled_set.npz`), so a resumed run trains on the same points.

Labellers (each returns float32 labels `[n, F']` and the values per labelled factor `[F']`):

- `perfect_labeller`: the true factor indices.
- `bin_labeller(num_bins=5)`: factors with more than `num_bins` values binned into `num_bins`
  equal-width bins.
- `noisy_labeller(prob_random=0.1)`: each label replaced, with probability `prob_random`, by a
  uniform draw over the factor's values (dlib draws per label in a loop; tfdis draws the same
  distribution at once, so the numbers differ from dlib's for one seed).
- `permuted_labeller`: each factor's values relabelled by a random permutation (breaks order).
- `partial_labeller(num_observed_factors=2)`: a random subset of the factors, in dlib's order.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable

import gin
import numpy as np

from tfdis.data.ground_truth_data import GroundTruthData
from tfdis.utils import gin_validation

LABELLED_SET_FILE = "labelled_set.npz"
# Added to the run's seed: the labelled set's draws are apart from the training batches'.
LABELLED_SEED_OFFSET = 0x5E1A

# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "bin_labeller": {"num_bins": {"kind": "int", "positive": True}},
        "noisy_labeller": {"prob_random": {"kind": "number", "minimum": 0, "maximum": 1}},
        "partial_labeller": {"num_observed_factors": {"kind": "int", "positive": True}},
        "labeller": {"labeller_fn": {"kind": "callable"}},
    },
)


@gin.configurable("perfect_labeller", denylist=["labels", "dataset", "random_state"])
def perfect_labeller(labels, dataset, random_state):
    """The true factor indices."""
    del random_state
    return np.float32(labels), list(dataset.factors_num_values)


@gin.configurable("bin_labeller", denylist=["labels", "dataset", "random_state"])
def bin_labeller(labels, dataset, random_state, num_bins: int = 5):
    """Factors of more than `num_bins` values binned into `num_bins` equal-width bins."""
    gin_validation.check_parameters("bin_labeller", locals(), _GIN_RULES["bin_labeller"])
    del random_state
    labels = np.float32(labels).copy()
    sizes = list(dataset.factors_num_values)
    for i, num_values in enumerate(sizes):
        if num_values > num_bins:
            labels[:, i] = np.minimum(labels[:, i] // (num_values / num_bins), num_bins - 1)
    return labels, [min(s, num_bins) for s in sizes]


@gin.configurable("noisy_labeller", denylist=["labels", "dataset", "random_state"])
def noisy_labeller(labels, dataset, random_state, prob_random: float = 0.1):
    """Each label replaced with probability `prob_random` by a uniform draw of its factor."""
    gin_validation.check_parameters("noisy_labeller", locals(), _GIN_RULES["noisy_labeller"])
    labels = np.asarray(labels, np.int64).copy()
    sizes = np.asarray(dataset.factors_num_values)
    replace = random_state.rand(*labels.shape) < prob_random
    draws = np.floor(random_state.rand(*labels.shape) * sizes[None, :]).astype(np.int64)
    labels[replace] = draws[replace]
    return np.float32(labels), list(dataset.factors_num_values)


@gin.configurable("permuted_labeller", denylist=["labels", "dataset", "random_state"])
def permuted_labeller(labels, dataset, random_state):
    """Each factor's values relabelled by its own random permutation."""
    labels = np.asarray(labels, np.int64).copy()
    for i, num_values in enumerate(dataset.factors_num_values):
        labels[:, i] = random_state.permutation(num_values)[labels[:, i]]
    return np.float32(labels), list(dataset.factors_num_values)


@gin.configurable("partial_labeller", denylist=["labels", "dataset", "random_state"])
def partial_labeller(labels, dataset, random_state, num_observed_factors: int = 2):
    """`num_observed_factors` factors drawn without replacement (dlib's order: as drawn)."""
    gin_validation.check_parameters("partial_labeller", locals(), _GIN_RULES["partial_labeller"])
    labels = np.float32(labels)
    if not 1 <= num_observed_factors <= labels.shape[1]:
        raise ValueError(
            f"partial_labeller.num_observed_factors must be in 1..{labels.shape[1]}, got "
            f"{num_observed_factors}"
        )
    keep = random_state.choice(labels.shape[1], size=num_observed_factors, replace=False)
    return labels[:, keep], [dataset.factors_num_values[i] for i in keep]


@gin.configurable("labeller", denylist=["labels", "dataset", "random_state"])
def make_labeller(
    labels: np.ndarray,
    dataset: GroundTruthData,
    random_state: np.random.RandomState,
    labeller_fn: Callable = gin.REQUIRED,
):
    """The gin-chosen labeller (`labeller.labeller_fn = @perfect_labeller`, dlib's names)."""
    gin_validation.check_parameters("labeller", locals(), _GIN_RULES["labeller"])
    return labeller_fn(labels, dataset, random_state)


@dataclasses.dataclass
class LabelledSet:
    """Labelled observations of a run.

    Attributes:
        observations: float32 `[n_train, H, W, C]`, the points the supervised loss sees.
        labels: float32 `[n_train, F']`.
        test_observations, test_labels: the held-out rest (`1 - train_percentage`).
        factor_sizes: values per labelled factor `[F']`.
    """

    observations: np.ndarray
    labels: np.ndarray
    test_observations: np.ndarray
    test_labels: np.ndarray
    factor_sizes: list[int]


def make_labelled_set(
    data: GroundTruthData, num_labelled_samples: int, train_percentage: float, seed: int
) -> LabelledSet:
    """Draws and labels `num_labelled_samples` observations (see the module docstring)."""
    if num_labelled_samples < 1:
        raise ValueError(f"model.num_labelled_samples must be positive, got {num_labelled_samples}")
    if not 0.0 < train_percentage <= 1.0:
        raise ValueError(f"model.train_percentage must be in (0, 1], got {train_percentage}")
    random_state = np.random.RandomState(seed)
    factors = data.sample_factors(num_labelled_samples, random_state)
    observations = np.asarray(
        data.sample_observations_from_factors(factors, random_state), np.float32
    )
    labels, factor_sizes = make_labeller(factors, data, random_state)
    num_train = int(math.ceil(num_labelled_samples * train_percentage))
    return LabelledSet(
        observations[:num_train],
        np.float32(labels[:num_train]),
        observations[num_train:],
        np.float32(labels[num_train:]),
        [int(s) for s in factor_sizes],
    )


def save_labelled_set(path: str, labelled: LabelledSet) -> None:
    """Writes `labelled` to `path` (.npz) atomically."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    temporary = path + ".tmp.npz"
    np.savez_compressed(temporary, **dataclasses.asdict(labelled))
    os.replace(temporary, path)


def load_labelled_set(path: str) -> LabelledSet:
    """Reads a set written by `save_labelled_set`."""
    with np.load(path) as stored:
        values = {field.name: stored[field.name] for field in dataclasses.fields(LabelledSet)}
    values["factor_sizes"] = [int(s) for s in values["factor_sizes"]]
    return LabelledSet(**values)


def labelled_set_for_run(
    data: GroundTruthData,
    num_labelled_samples: int,
    train_percentage: float,
    random_seed: int,
    checkpoint_dirs: list[str],
) -> LabelledSet:
    """The run's labelled set: the one stored in the first of `checkpoint_dirs` holding one
    (a resumed run), else a new draw stored in every one of them."""
    for directory in checkpoint_dirs:
        path = os.path.join(directory, LABELLED_SET_FILE)
        if os.path.exists(path):
            return load_labelled_set(path)
    labelled = make_labelled_set(
        data, num_labelled_samples, train_percentage, random_seed + LABELLED_SEED_OFFSET
    )
    for directory in checkpoint_dirs:
        save_labelled_set(os.path.join(directory, LABELLED_SET_FILE), labelled)
    return labelled
