"""Device-resident training data (issue 8, item 2): the dataset as one tensor, sampled in-graph.

A dataset that fits in memory and is enumerable (`GroundTruthData.num_indexed_observations`) is
stored as one table with a row per observation, and a train step draws its batch inside its own
`tf.function`: stateless uniform indices, a gather and a decode, no input pipeline at all.
Datasets that are not enumerable or do not fit keep the `tf.data` path (`tfdis.data.pipeline`).

Rows are stored as compactly as is exact:
- `bits`: every value is 0 or 1 (dSprites): `np.packbits` over the `H*W*C` values of an image,
  uint8 `[N, ceil(H*W*C / 8)]` (dSprites: 737,280 x 512 bytes = 377 MB);
- `uint8`: every value is `k / 255` exactly (float32 division, as the file loaders compute it),
  uint8 `[N, H*W*C]`;
- `float32` otherwise, `[N, H*W*C]`.
The table is built chunk by chunk: at most one chunk of float32 observations exists at a time,
and the finished table becomes a tensor without a copy (DLPack), so the peak memory is about the
table's size. Its size is limited by `device_resident.max_bytes` (gin, default 1 GiB).

Batch `k` of a run is drawn with the stateless seed `batch_seed(random_seed, k)`, a pure function
of `(random_seed, k)` (so a resumed run reads the same batches) that differs from the models'
noise seeds `[noise_seed, step]` (`BaseVAE.noise_seed_for_step`).

`model.input_pipeline` (gin) picks the path in training: "auto", "device" or "tf_data"
(`select_input_pipeline`).
"""

from __future__ import annotations

import math
import time

import gin
import numpy as np
import tensorflow as tf
from absl import logging

from tfdis.data.ground_truth_data import GroundTruthData
from tfdis.utils import gin_validation

DEFAULT_MAX_BYTES = 1 << 30
ENCODINGS = ("bits", "uint8", "float32")
INPUT_PIPELINES = ("auto", "device", "tf_data")
# Folded into [random_seed, k] to give the data stream its own seeds: the derived seed is
# [hash(random_seed, k), DATA_STREAM], never a model's [noise_seed, step] or [noise_seed, -1 - step].
DATA_STREAM = 0x7DA7_A5EE_D000_0001
# Float32 observations held at once while the table is built.
CHUNK_BYTES = 64 << 20
# Observations probed by `estimate_table_bytes` (evenly spaced over the index range).
NUM_PROBE = 512
# Row b: the 8 bits of byte b as float32, most significant first (np.packbits' order).
_BYTE_BITS = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).astype(np.float32)


def _aligned_empty(shape: tuple[int, int], dtype: type) -> np.ndarray:
    """An uninitialised C-ordered array whose data is 64-byte aligned (TF's CPU alignment)."""
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    buffer = np.empty(nbytes + 64, np.uint8)
    offset = (-buffer.ctypes.data) % 64
    return buffer[offset : offset + nbytes].view(dtype).reshape(shape)


def _adopt(array: np.ndarray) -> tf.Tensor:
    """A tensor on `array`'s memory (DLPack, no copy) if it is aligned, else a copy.

    Only for arrays nothing else writes to afterwards: the tensor shares their memory.
    """
    if array.flags.c_contiguous and array.ctypes.data % 64 == 0:
        try:
            return tf.experimental.dlpack.from_dlpack(array.__dlpack__())
        except (TypeError, ValueError, tf.errors.OpError):  # pragma: no cover - old numpy/TF
            pass
    return tf.convert_to_tensor(array)


class TableTooLargeError(ValueError):
    """The device-resident table would exceed its byte budget (`device_resident.max_bytes`)."""


# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {"device_resident": {"max_bytes": {"kind": "int", "minimum": 0}}},
)


@gin.configurable("device_resident")
def max_table_bytes(max_bytes: int = DEFAULT_MAX_BYTES) -> int:
    """The byte budget of a device-resident table (gin `device_resident.max_bytes`, 1 GiB)."""
    gin_validation.check_parameters("device_resident", locals(), _GIN_RULES["device_resident"])
    return int(max_bytes)


def row_bytes(encoding: str, num_values: int) -> int:
    """Bytes of one stored observation of `num_values` values (`H*W*C`) in `encoding`."""
    if encoding == "bits":
        return math.ceil(num_values / 8)
    if encoding == "uint8":
        return num_values
    if encoding == "float32":
        return 4 * num_values
    raise ValueError(f"encoding must be one of {ENCODINGS}, got {encoding!r}")


def encoding_of(flat: np.ndarray, at_least: str = "bits") -> str:
    """The most compact exact encoding of float32 observations `[n, P]`, not below `at_least`."""
    flat = np.asarray(flat, dtype=np.float32)
    level = ENCODINGS.index(at_least)
    if level <= 0 and bool(np.all((flat == 0) | (flat == 1))):
        return "bits"
    if level <= 1:
        with np.errstate(invalid="ignore"):
            levels = np.rint(flat.astype(np.float64) * 255.0)
            in_range = bool(np.all((levels >= 0) & (levels <= 255)))  # False for NaN
        if in_range and np.array_equal(
            levels.astype(np.float32) / np.float32(255.0), flat, equal_nan=False
        ):
            return "uint8"
    return "float32"


def encode(flat: np.ndarray, encoding: str) -> np.ndarray:
    """Rows of observations `[n, P]` float32 in `encoding` (`[n, row_bytes]` uint8 or float32)."""
    flat = np.asarray(flat, dtype=np.float32)
    if encoding == "bits":
        return np.packbits(flat != 0, axis=1)
    if encoding == "uint8":
        return np.rint(flat.astype(np.float64) * 255.0).astype(np.uint8)
    if encoding == "float32":
        return flat
    raise ValueError(f"encoding must be one of {ENCODINGS}, got {encoding!r}")


def decode_numpy(rows: np.ndarray, encoding: str, num_values: int) -> np.ndarray:
    """Stored rows back to float32 observations `[n, P]` (numpy; `decode` is the TF version)."""
    if encoding == "bits":
        return np.unpackbits(rows, axis=1, count=num_values).astype(np.float32)
    if encoding == "uint8":
        return rows.astype(np.float32) / np.float32(255.0)
    return np.asarray(rows, dtype=np.float32)


def decode(rows: tf.Tensor, encoding: str, num_values: int) -> tf.Tensor:
    """Stored rows `[n, row_bytes]` to float32 observations `[n, P]`, in TF (graph-friendly).

    `bits` rows are unpacked by a gather from the 256 x 8 table of every byte's bits, most
    significant first (`np.packbits`' order; twice as fast on CPU as shifting and masking each
    byte: 0.4 ms against 0.9 ms for 256 dSprites images); `uint8` rows are divided by 255 in
    float32 (exactly the loaders' `k / 255`).
    """
    if encoding == "bits":
        bits = tf.gather(tf.constant(_BYTE_BITS), tf.cast(rows, tf.int32))  # [n, row_bytes, 8]
        flat = tf.reshape(bits, [tf.shape(rows)[0], -1])
        return flat[:, :num_values] if num_values % 8 else flat
    if encoding == "uint8":
        return tf.cast(rows, tf.float32) / tf.constant(255.0, tf.float32)
    if encoding == "float32":
        return tf.convert_to_tensor(rows, tf.float32)
    raise ValueError(f"encoding must be one of {ENCODINGS}, got {encoding!r}")


def batch_seed(random_seed: int | tf.Tensor, index: int | tf.Tensor) -> tf.Tensor:
    """Stateless seed int64 `[2]` of batch `index` of a run's device-resident training stream.

    `stateless_fold_in([random_seed, index], DATA_STREAM)`: a pure function of the pair, apart from
    the models' noise seeds.
    """
    seed = tf.stack([tf.cast(random_seed, tf.int64), tf.cast(index, tf.int64)])
    return tf.random.experimental.stateless_fold_in(seed, tf.constant(DATA_STREAM, tf.int64))


def estimate_table_bytes(data: GroundTruthData, num_probe: int = NUM_PROBE) -> int | None:
    """Bytes of `data`'s table if the probed observations' encoding holds for all; None if the
    dataset is not enumerable.

    Probes `num_probe` observations evenly spaced over the index range (cheap); the build checks
    every observation and may need a wider encoding than the probe suggests.
    """
    size = data.num_indexed_observations
    if size is None:
        return None
    num_values = int(np.prod(data.observation_shape))
    probe = np.unique(np.linspace(0, size - 1, min(num_probe, size)).astype(np.int64))
    observations = np.asarray(data.observations_by_index(probe), dtype=np.float32)
    encoding = encoding_of(observations.reshape(len(probe), num_values))
    return size * row_bytes(encoding, num_values)


def fits(data: GroundTruthData, max_bytes: int | None = None) -> bool:
    """Whether `data` is enumerable and its table (estimated by a probe) fits `max_bytes`.

    Args:
        data: the dataset.
        max_bytes: the budget; default `device_resident.max_bytes` (gin, 1 GiB).
    """
    estimate = estimate_table_bytes(data)
    budget = max_table_bytes() if max_bytes is None else int(max_bytes)
    return estimate is not None and estimate <= budget


def _too_large(data: GroundTruthData, size: int, encoding: str, nbytes: int, budget: int) -> str:
    return (
        f"The device-resident table of {getattr(data, 'name', None) or type(data).__name__} "
        f"({size} observations, {encoding} rows) needs {nbytes / 2**20:.1f} MiB, over the budget "
        f"device_resident.max_bytes = {budget} ({budget / 2**20:.1f} MiB). Raise the budget or "
        "use model.input_pipeline = 'tf_data'."
    )


class DeviceResidentObservations:
    """All observations of an enumerable dataset as one tensor, sampled inside a `tf.function`.

    Build it with `from_data`. `sample(batch_size, seed)` and `sample_stacked(batch_size, seeds)`
    are graph functions (stateless seeds), usable inside any `tf.function`.

    Args:
        table: stored rows, `[N, row_bytes]` uint8 (`bits`, `uint8`) or `[N, P]` float32.
        encoding: one of `ENCODINGS`.
        observation_shape: `[H, W, C]`, with `H*W*C = P`.
        build_seconds: how long the build took (reported in logs).
        name: the dataset's name (for logs).
    """

    def __init__(
        self,
        table: np.ndarray | tf.Tensor,
        encoding: str,
        observation_shape: list[int] | tuple[int, ...],
        build_seconds: float = 0.0,
        name: str | None = None,
    ):
        if encoding not in ENCODINGS:
            raise ValueError(f"encoding must be one of {ENCODINGS}, got {encoding!r}")
        self.encoding = encoding
        self.observation_shape = [int(s) for s in observation_shape]
        self.num_values = int(np.prod(self.observation_shape))
        self.build_seconds = float(build_seconds)
        self.name = name
        table = tf.convert_to_tensor(table)
        expected = row_bytes(encoding, self.num_values) // (4 if encoding == "float32" else 1)
        dtype = tf.float32 if encoding == "float32" else tf.uint8
        if table.shape.rank != 2 or table.shape[1] != expected or table.dtype != dtype:
            raise ValueError(
                f"table must be {dtype.name} of shape [N, {expected}] for {encoding}, got "
                f"{table.dtype.name} {table.shape}"
            )
        if tf.config.list_logical_devices("GPU"):
            with tf.device("/GPU:0"):  # one copy on the accelerator; the gather runs there
                table = tf.identity(table)
        self.table = table
        self.num_observations = int(table.shape[0])

    @classmethod
    def from_data(
        cls,
        data: GroundTruthData,
        max_bytes: int | None = None,
        chunk_bytes: int = CHUNK_BYTES,
    ) -> DeviceResidentObservations:
        """Builds the table of every indexed observation of `data`, chunk by chunk.

        Args:
            data: an enumerable dataset (`num_indexed_observations` not None).
            max_bytes: the budget; default `device_resident.max_bytes` (gin, 1 GiB).
            chunk_bytes: float32 bytes of observations rendered at once.

        Raises:
            ValueError: `data` is not enumerable, or returns observations of the wrong shape.
            TableTooLargeError: the table would exceed `max_bytes` (checked before any large
                allocation, again whenever a chunk needs a wider encoding).
        """
        size = data.num_indexed_observations
        label = getattr(data, "name", None) or type(data).__name__
        if size is None:
            raise ValueError(
                f"{label} is not enumerable (num_indexed_observations is None): it has no "
                "device-resident table; use model.input_pipeline = 'tf_data'."
            )
        if size < 1:
            raise ValueError(f"{label} has no indexed observations ({size})")
        budget = max_table_bytes() if max_bytes is None else int(max_bytes)
        shape = [int(s) for s in data.observation_shape]
        num_values = int(np.prod(shape))
        chunk = max(1, min(size, chunk_bytes // (4 * num_values)))
        start_time = time.perf_counter()
        encoding, table = "bits", None
        for start in range(0, size, chunk):
            stop = min(size, start + chunk)
            observations = np.asarray(
                data.observations_by_index(np.arange(start, stop, dtype=np.int64)), np.float32
            )
            if list(observations.shape) != [stop - start, *shape]:
                raise ValueError(
                    f"{label}.observations_by_index returned shape {observations.shape}, "
                    f"expected {(stop - start, *shape)}"
                )
            flat = observations.reshape(stop - start, num_values)
            needed = encoding_of(flat, at_least=encoding)
            if table is None or needed != encoding:
                nbytes = size * row_bytes(needed, num_values)
                if nbytes > budget:
                    raise TableTooLargeError(_too_large(data, size, needed, nbytes, budget))
                dtype = np.float32 if needed == "float32" else np.uint8
                width = row_bytes(needed, num_values) // (4 if needed == "float32" else 1)
                wider = _aligned_empty((size, width), dtype)
                for done in range(0, start, chunk):  # re-encode what is stored, chunk by chunk
                    rows = table[done : min(start, done + chunk)]
                    wider[done : done + len(rows)] = encode(
                        decode_numpy(rows, encoding, num_values), needed
                    )
                table, encoding = wider, needed
            table[start:stop] = encode(flat, encoding)
        # The tensor adopts the buffer (a copy would double the peak memory).
        resident = cls(_adopt(table), encoding, shape, name=label)
        resident.build_seconds = time.perf_counter() - start_time
        logging.info(
            "Device-resident table of %s: %d observations %s, %s rows, %.1f MiB, built in %.1f s.",
            label,
            size,
            shape,
            encoding,
            resident.nbytes / 2**20,
            resident.build_seconds,
        )
        return resident

    @property
    def nbytes(self) -> int:
        """Bytes of the stored table."""
        return self.num_observations * row_bytes(self.encoding, self.num_values)

    def observations(self, indices: tf.Tensor) -> tf.Tensor:
        """Observations float32 `[n, H, W, C]` of indices `[n]` (gather, then decode)."""
        rows = tf.gather(self.table, indices)
        flat = decode(rows, self.encoding, self.num_values)
        return tf.reshape(flat, [-1, *self.observation_shape])

    def sample_indices(self, batch_size: int, seed: tf.Tensor) -> tf.Tensor:
        """Uniform indices int64 `[batch_size]` in `[0, N)` for a stateless seed `[2]`.

        64-bit draws reduced modulo N: the bias is below N / 2^64 (4e-14 for dSprites).
        """
        return tf.random.stateless_uniform(
            [batch_size], seed=seed, minval=0, maxval=self.num_observations, dtype=tf.int64
        )

    def sample(self, batch_size: int, seed: tf.Tensor) -> tf.Tensor:
        """A batch `[batch_size, H, W, C]` float32 of uniformly drawn observations.

        Args:
            batch_size: observations per batch.
            seed: stateless seed `[2]`, int32 or int64 (`batch_seed(random_seed, k)` in training).
        """
        return self.observations(self.sample_indices(batch_size, seed))

    def sample_stacked(self, batch_size: int, seeds: tf.Tensor) -> tf.Tensor:
        """One batch per seed, `[S, batch_size, H, W, C]` float32 for seeds `[S, 2]`.

        Batch `s` equals `sample(batch_size, seeds[s])` (for stacked multi-model training).
        """
        seeds = tf.convert_to_tensor(seeds)
        indices = tf.map_fn(
            lambda seed: self.sample_indices(batch_size, seed),
            seeds,
            fn_output_signature=tf.TensorSpec([batch_size], tf.int64),
        )
        images = self.observations(tf.reshape(indices, [-1]))
        return tf.reshape(images, [-1, batch_size, *self.observation_shape])

    def sample_for_step(self, batch_size: int, random_seed: int, index: tf.Tensor) -> tf.Tensor:
        """Batch `index` of the training stream of `random_seed`: `sample(.., batch_seed(..))`."""
        return self.sample(batch_size, batch_seed(random_seed, index))


def select_input_pipeline(
    data: GroundTruthData, input_pipeline: str, images_drawn: int
) -> DeviceResidentObservations | None:
    """The training input path: a device-resident table, or None for the `tf.data` pipeline.

    Args:
        data: the training dataset.
        input_pipeline: "tf_data"; "device" (the table, or an error saying why not); or "auto":
            the table when `data` is enumerable, the table fits the budget and the run draws at
            least as many images as the table holds (`images_drawn`; shorter runs would render
            more images to build the table than they read), else `tf.data`.
        images_drawn: observations the whole run reads (steps x batch), for "auto".

    Raises:
        ValueError: unknown `input_pipeline`, or "device" for a dataset that is not enumerable.
        TableTooLargeError: "device" and the table exceeds `device_resident.max_bytes`.
    """
    if input_pipeline not in INPUT_PIPELINES:
        raise ValueError(
            f"model.input_pipeline must be one of {', '.join(INPUT_PIPELINES)}, got "
            f"{input_pipeline!r}"
        )
    label = getattr(data, "name", None) or type(data).__name__
    size = data.num_indexed_observations
    reason = None
    if input_pipeline == "tf_data":
        reason = "model.input_pipeline = 'tf_data'"
    elif input_pipeline == "auto":
        if size is None:
            reason = f"{label} is not enumerable"
        elif images_drawn < size:
            reason = (
                f"the run reads {images_drawn} images, fewer than the {size} a device-resident "
                "table would render"
            )
        elif not fits(data):
            reason = (
                f"the device-resident table of {label} (~{estimate_table_bytes(data) / 2**20:.0f} "
                f"MiB) exceeds device_resident.max_bytes ({max_table_bytes() / 2**20:.0f} MiB)"
            )
    table = None
    if reason is None:
        try:
            table = DeviceResidentObservations.from_data(data)
        except TableTooLargeError as error:
            if input_pipeline == "device":
                raise
            reason = str(error)
    if table is None:
        logging.info("Input pipeline: tf.data (%s).", reason)
    else:
        logging.info("Input pipeline: device-resident table, batches sampled inside the step.")
    return table


def device_train_function(
    model, table: DeviceResidentObservations, batch_size: int, random_seed: int
):
    """A `tf.function` `f(index)` that runs `model.train_step` on batch `index` of the table.

    Args:
        model: a model with `train_step(observations)` (a `BaseVAE`).
        table: the device-resident observations.
        batch_size: observations per step (`batch_size * model.batches_per_step`).
        random_seed: the run's seed.

    Returns:
        The step function; call it with an int64 scalar tensor (the 0-based batch index, the
        optimizer step before the update), so it is traced once.
    """

    @tf.function
    def step(index: tf.Tensor) -> dict[str, tf.Tensor]:
        return model.train_step(table.sample_for_step(batch_size, random_seed, index))

    return step
