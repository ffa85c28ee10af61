"""Pairs of observations for weak supervision (Locatello et al. 2020; issue 16).

A pair is two observations whose factors agree on all but some factors. Given the first
observation's factors z, the second's z' is z with `k` factors changed (`pair_factors`):

- paper (default): k factors chosen uniformly without replacement among those with at least two
  values; each takes a new value drawn uniformly from its *other* values, so exactly k factors
  differ. `dynamics.k = -1` draws k uniformly in 1..num_factors-1 per pair (the paper's
  "k = Rnd"); a fixed k is used as given.
- dlib (`dynamics.dlib_sampling = True`, dlib's `simple_dynamics`): per pair, k_observed is k (or,
  for k = -1, uniform in 1..num_factors-1), then 1 or k_observed factors (probability 1/2 each)
  are resampled uniformly over *all* their values, so the old value may come back and fewer
  factors than chosen may differ. Differences kept out of it: dlib draws the new values from
  numpy's global RNG, tfdis from the run's seeded stream, and tfdis draws a batch of pairs at once.

Labels (the `*_labels` models): a mask `[B, F]` of the factors the pair does not share. In paper
mode it marks every resampled factor; in dlib mode only the last resampled one (dlib's `label`,
the index returned by `simple_dynamics(..., return_index=True)`).

A step's input is `(observations, labels)`: observations `[2B, H, W, C]`, the first
observations of the B pairs then the second ones (two batches, `batches_per_step = 2`), and
labels int32 `[2B, F]` (row i and row B + i hold pair i's mask) so that sharding over replicas
(`tfdis.training.step_functions.shard_batch`) cuts both halves alike. Batch `k` is a pure
function of `(random_seed, k)` on each input path:

- `make_pair_dataset` (`tf.data`): first factors from `sample_factors` with the batch's
  RandomState (as `tfdis.data.pipeline`), pair logic with the stateless seed of the batch,
  observations rendered in numpy.
- `DevicePairs` (device-resident table): first indices uniform over the table, factors by the
  factor grid, the same pair logic, both observations gathered from the table. It needs a dataset
  whose table index is its factor-grid index (`grid_indexed`).
"""

from __future__ import annotations

import dataclasses
import functools

import gin
import numpy as np
import tensorflow as tf

from tfdis.data import device_resident, pipeline
from tfdis.data.ground_truth_data import FactorGrid, GroundTruthData
from tfdis.utils import gin_validation

# Folded into a batch's seed to give the pair logic its own stream.
PAIR_STREAM = 0x9A12_5EED_0000_0016


@dataclasses.dataclass(frozen=True)
class Dynamics:
    """How a pair's second factors are drawn (gin `dynamics.*`, dlib's scope name).

    Attributes:
        k: factors changed per pair; -1 draws k uniformly in 1..num_factors-1 per pair.
        dlib_sampling: dlib's `simple_dynamics` instead of the paper's definition.
    """

    k: int
    dlib_sampling: bool = False


# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "dynamics": {
            # -1: k drawn uniformly in 1..num_factors-1 per pair.
            "k": {"kind": "int", "positive": True, "also": (-1,)},
            "dlib_sampling": {"kind": "bool"},
        }
    },
)


@gin.configurable("dynamics")
def dynamics(k: int = gin.REQUIRED, dlib_sampling: bool = False) -> Dynamics:
    """The gin-chosen pair dynamics (`dynamics.k`, `dynamics.dlib_sampling`)."""
    gin_validation.check_parameters("dynamics", locals(), _GIN_RULES["dynamics"])
    return Dynamics(k=int(k), dlib_sampling=bool(dlib_sampling))


def check_dynamics(data: GroundTruthData, settings: Dynamics) -> None:
    """Raises `ValueError` if `data` cannot give pairs with `settings`: a labelled sample (no
    observation for factors it does not hold) or too few factors."""
    label = getattr(data, "name", None) or type(data).__name__
    if not getattr(data, "supports_interventions", True):
        raise ValueError(
            f"weak supervision draws the second observation of a pair for factors it chooses, "
            f"but dataset {label!r} is a labelled sample, not a full factor grid"
        )
    sizes = np.asarray(data.factors_num_values)
    changeable = int(np.sum(sizes > 1))
    if settings.k == -1 and data.num_factors < 2:
        raise ValueError("dynamics.k = -1 draws k in 1..num_factors-1 and needs >= 2 factors")
    if settings.k > changeable:
        raise ValueError(
            f"dynamics.k = {settings.k} exceeds the {changeable} factors of {label} with more "
            "than one value"
        )


def pair_factors(
    first: tf.Tensor, factor_sizes: tf.Tensor, seed: tf.Tensor, settings: Dynamics
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """The second factors of pairs (graph function, stateless).

    Args:
        first: int64 `[B, F]` factor indices of the first observations.
        factor_sizes: int64 `[F]` values per factor.
        seed: stateless seed `[2]`.
        settings: the pair dynamics.

    Returns:
        `(second, resampled, label)`: int64 `[B, F]` second factors; bool `[B, F]` the factors
        that were resampled (paper mode: exactly those that differ); bool `[B, F]` the label
        mask (see the module docstring).
    """
    first = tf.cast(first, tf.int64)
    sizes = tf.cast(factor_sizes, tf.int64)
    num, num_factors = tf.shape(first)[0], first.shape[-1]
    seeds = tf.random.experimental.stateless_split(seed, 4)
    changeable = sizes > 1
    num_changeable = tf.reduce_sum(tf.cast(changeable, tf.int64))
    if settings.k == -1:
        # 1..F-1 (the paper's range), capped at the factors that can change.
        k = tf.random.stateless_uniform(
            [num], seeds[0], minval=1, maxval=num_factors, dtype=tf.int64, alg="philox"
        )
        k = tf.minimum(k, num_changeable)
    else:
        k = tf.fill([num], tf.constant(settings.k, tf.int64))
    if settings.dlib_sampling:  # random_state.choice([1, k_observed])
        coin = tf.random.stateless_uniform(
            [num], seeds[1], minval=0, maxval=2, dtype=tf.int64, alg="philox"
        )
        k = tf.where(coin == 1, k, tf.ones_like(k))
    # k factors without replacement: the k smallest of uniform keys (unchangeable ones last).
    keys = tf.random.stateless_uniform([num, num_factors], seeds[2], alg="philox")
    keys = tf.where(changeable[None, :], keys, 2.0 + keys)
    ranks = tf.argsort(tf.argsort(keys, axis=1, stable=True), axis=1, stable=True)
    ranks = tf.cast(ranks, tf.int64)
    resampled = ranks < k[:, None]
    uniform = tf.random.stateless_uniform(
        [num, num_factors], seeds[3], dtype=tf.float64, alg="philox"
    )
    if settings.dlib_sampling:  # uniform over all values: the old one may come back
        new = tf.cast(tf.floor(uniform * tf.cast(sizes, tf.float64)), tf.int64)
        label = ranks == (k[:, None] - 1)  # the last index of dlib's choice
    else:  # uniform over the other values
        offset = 1 + tf.cast(tf.floor(uniform * tf.cast(sizes - 1, tf.float64)), tf.int64)
        new = (first + offset) % sizes
        label = resampled
    new = tf.minimum(new, sizes - 1)  # float rounding at u -> 1
    second = tf.where(resampled, new, first)
    return second, resampled, label


def pair_seed(random_seed: int | tf.Tensor, index: int | tf.Tensor, purpose: int) -> tf.Tensor:
    """Stateless seed `[2]` of the pair logic of batch `index` of stream `purpose`."""
    seed = tf.stack([tf.cast(random_seed, tf.int64), tf.cast(index, tf.int64) * 2 + int(purpose)])
    return tf.random.experimental.stateless_fold_in(seed, tf.constant(PAIR_STREAM, tf.int64))


def _labels_rows(label: tf.Tensor) -> tf.Tensor:
    """Label masks `[B, F]` as int32 `[2B, F]`: the mask of pair i in rows i and B + i."""
    label = tf.cast(label, tf.int32)
    return tf.concat([label, label], axis=0)


def sample_pairs(
    data: GroundTruthData, num: int, random_state: np.random.RandomState, settings: Dynamics
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`num` pairs in numpy (pictures, tests): the paths' pair logic, seeded by `random_state`.

    Returns:
        `(factors1, factors2, observations1, observations2, label)`: int64 `[num, F]` twice,
        float32 `[num, H, W, C]` twice, bool `[num, F]` label masks.
    """
    first = data.sample_factors(num, random_state)
    seed = tf.constant(random_state.randint(2**31, size=2), tf.int64)
    second, _, label = pair_factors(
        tf.constant(first, tf.int64),
        tf.constant(data.factors_num_values, tf.int64),
        seed,
        settings,
    )
    second = second.numpy()
    return (
        np.asarray(first, np.int64),
        second,
        np.asarray(data.sample_observations_from_factors(first, random_state), np.float32),
        np.asarray(data.sample_observations_from_factors(second, random_state), np.float32),
        label.numpy(),
    )


def make_pair_dataset(
    ground_truth_data: GroundTruthData,
    batch_size: int,
    random_seed: int,
    start_index: int = 0,
    num_batches: int | None = None,
    purpose: int = pipeline.TRAIN_STREAM,
    settings: Dynamics | None = None,
    num_parallel_calls: int = 2,
) -> tf.data.Dataset:
    """Seeded batches of pairs `(observations [batch_size, H, W, C], labels [batch_size, F])`.

    `batch_size` counts observations: a batch holds `batch_size / 2` pairs, first observations
    then second ones (the arguments are those of `tfdis.data.pipeline.make_dataset`).

    Args:
        settings: the pair dynamics; default the gin-bound `dynamics()`.
    """
    settings = settings or dynamics()
    if batch_size < 2 or batch_size % 2:
        raise ValueError(f"a batch of pairs needs an even number of observations, got {batch_size}")
    check_dynamics(ground_truth_data, settings)
    num_pairs = batch_size // 2
    stop = None if num_batches is None else start_index + num_batches
    indices = (
        tf.data.Dataset.counter(start_index)
        if stop is None
        else tf.data.Dataset.range(start_index, stop)
    )
    shape = [batch_size, *ground_truth_data.observation_shape]
    num_factors = ground_truth_data.num_factors
    sizes = tf.constant(ground_truth_data.factors_num_values, tf.int64)

    def first_factors(index: np.ndarray) -> np.ndarray:
        random_state = pipeline.batch_random_state(purpose, random_seed, int(index))
        return np.asarray(ground_truth_data.sample_factors(num_pairs, random_state), np.int64)

    def render(index: np.ndarray, factors: np.ndarray) -> np.ndarray:
        # A RandomState of its own for datasets that draw nuisance randomness per observation.
        random_state = pipeline.batch_random_state(purpose + 2, random_seed, int(index))
        observations = ground_truth_data.sample_observations_from_factors(factors, random_state)
        return np.asarray(observations, np.float32)

    def load(index: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        first = tf.numpy_function(first_factors, [index], tf.int64, stateful=False)
        first.set_shape([num_pairs, num_factors])
        second, _, label = pair_factors(
            first, sizes, pair_seed(random_seed, index, purpose), settings
        )
        observations = tf.numpy_function(
            render, [index, tf.concat([first, second], axis=0)], tf.float32, stateful=False
        )
        observations.set_shape(shape)
        return observations, _labels_rows(label)

    options = tf.data.Options()
    options.deterministic = True
    return (
        indices.map(load, num_parallel_calls=num_parallel_calls, deterministic=True)
        .prefetch(tf.data.AUTOTUNE)
        .with_options(options)
    )


def is_pair_model(model) -> bool:
    """Whether `model` trains on pairs (`input_kind = "pairs"`, the weakly-supervised VAEs)."""
    return getattr(model, "input_kind", "observations") == "pairs"


def dataset_function(model):
    """The `tf.data` batch maker for `model`: `make_pair_dataset` (with the model's dynamics)
    for a pair model, else `tfdis.data.pipeline.make_dataset` (same arguments)."""
    if not is_pair_model(model):
        return pipeline.make_dataset
    return functools.partial(make_pair_dataset, settings=model.dynamics)


def grid_indexed(data: GroundTruthData, num_probe: int = 8) -> bool:
    """Whether `data`'s table index is its factor-grid index (so pairs can be gathered from it).

    True when the dataset is enumerable with one observation per factor combination, and
    `num_probe` random combinations render as the table rows of their grid indices.
    """
    if data.num_indexed_observations != data.num_observations:
        return False
    random_state = np.random.RandomState(0)
    factors = data.sample_factors(num_probe, random_state)
    by_index = data.observations_by_index(
        FactorGrid(data.factors_num_values).features_to_index(factors)
    )
    by_factors = data.sample_observations_from_factors(factors, random_state)
    return bool(np.array_equal(np.asarray(by_index), np.asarray(by_factors)))


def pair_input_pipeline(data: GroundTruthData, input_pipeline: str, settings: Dynamics) -> str:
    """`model.input_pipeline` for a pair model: the table only for grid-indexed data.

    Raises:
        ValueError: data that cannot give pairs with `settings` (`check_dynamics`), or "device"
            for a dataset whose table cannot give pairs.
    """
    check_dynamics(data, settings)
    if input_pipeline == "tf_data" or grid_indexed(data):
        return input_pipeline
    if input_pipeline == "device":
        raise ValueError(
            f"model.input_pipeline = 'device' cannot draw pairs from "
            f"{getattr(data, 'name', None) or type(data).__name__}: its table is not indexed by "
            "the factor grid; use model.input_pipeline = 'tf_data'."
        )
    return "tf_data"


class DevicePairs:
    """Pairs drawn from a device-resident table (`sample_for_step` as the table's).

    Args:
        table: the device-resident observations of a grid-indexed dataset.
        factor_sizes: values per factor.
        settings: the pair dynamics.
    """

    def __init__(
        self,
        table: device_resident.DeviceResidentObservations,
        factor_sizes: list[int],
        settings: Dynamics,
    ):
        self.table = table
        self.settings = settings
        grid = FactorGrid(factor_sizes)
        if grid.num_states != table.num_observations:
            raise ValueError(
                f"the table holds {table.num_observations} observations, the factor grid "
                f"{grid.num_states}"
            )
        self.sizes = tf.constant(grid.factor_sizes, tf.int64)
        self.bases = tf.constant(grid.bases, tf.int64)

    def sample_for_step(
        self, batch_size: int, random_seed: int, index: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """Batch `index` of pairs: `(observations [batch_size, ...], labels [batch_size, F])`."""
        num_pairs = batch_size // 2
        seed = device_resident.batch_seed(random_seed, index)
        first_index = self.table.sample_indices(num_pairs, seed)
        first = (first_index[:, None] // self.bases[None, :]) % self.sizes[None, :]
        second, _, label = pair_factors(
            first, self.sizes, pair_seed(random_seed, index, pipeline.TRAIN_STREAM), self.settings
        )
        second_index = tf.reduce_sum(second * self.bases[None, :], axis=1)
        observations = self.table.observations(tf.concat([first_index, second_index], axis=0))
        return observations, _labels_rows(label)
