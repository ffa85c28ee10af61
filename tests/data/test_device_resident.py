"""Tests of the device-resident table (`tfdis.data.device_resident`) and the enumeration interface."""

from __future__ import annotations

import gin
import numpy as np
import pytest
import tensorflow as tf

from tfdis.data import device_resident
from tfdis.data.device_resident import (
    DeviceResidentObservations,
    TableTooLargeError,
    batch_seed,
    select_input_pipeline,
)
from tfdis.data.dsprites_procedural import DSpritesProcedural
from tfdis.data.dummy_data import IdentityObservationsData
from tfdis.data.ground_truth_data import GroundTruthData
from tfdis.testing import TinySquares, TinySquaresGrid
from tfdis.utils import gin_utils


class ArrayData(GroundTruthData):
    """Observations given as an array `[N, H, W, C]`; one factor, the row (enumerable)."""

    def __init__(self, observations: np.ndarray):
        self.array = np.asarray(observations, dtype=np.float32)

    @property
    def num_factors(self) -> int:
        return 1

    @property
    def factors_num_values(self) -> list[int]:
        return [len(self.array)]

    @property
    def observation_shape(self) -> list[int]:
        return list(self.array.shape[1:])

    def sample_factors(self, num, random_state):
        return random_state.randint(len(self.array), size=(num, 1))

    def sample_observations_from_factors(self, factors, random_state):
        return self.array[np.asarray(factors)[:, 0]]

    @property
    def num_indexed_observations(self) -> int:
        return len(self.array)

    def observations_by_index(self, indices):
        return self.array[self._checked_indices(indices)]


class DSpritesSubset(GroundTruthData):
    """Every 97th image of the procedural dSprites grid (7,601 images): real sprites, quick."""

    def __init__(self):
        self.full = DSpritesProcedural()
        self.grid_indices = np.arange(0, self.full.num_images, 97)

    num_factors = 1

    @property
    def factors_num_values(self) -> list[int]:
        return [len(self.grid_indices)]

    @property
    def observation_shape(self) -> list[int]:
        return [64, 64, 1]

    def sample_factors(self, num, random_state):
        return random_state.randint(len(self.grid_indices), size=(num, 1))

    def sample_observations_from_factors(self, factors, random_state):
        return self.observations_by_index(np.asarray(factors)[:, 0])

    @property
    def num_indexed_observations(self) -> int:
        return len(self.grid_indices)

    def observations_by_index(self, indices):
        return self.full.render_indices(self.grid_indices[self._checked_indices(indices)])


@pytest.fixture(scope="module")
def dsprites_table():
    data = DSpritesSubset()
    # 1 MiB chunks: 64 images at a time, so the table is assembled from 119 chunks.
    table = DeviceResidentObservations.from_data(data, chunk_bytes=1 << 20)
    return data, table


def _seeds(*pairs):
    return [batch_seed(random_seed, index) for random_seed, index in pairs]


# --- encodings -------------------------------------------------------------------------------


@pytest.mark.parametrize("num_values", [1, 7, 8, 15, 4096])
def test_bit_packing_round_trip(num_values):
    flat = np.random.RandomState(num_values).randint(0, 2, (37, num_values)).astype(np.float32)
    assert device_resident.encoding_of(flat) == "bits"
    rows = device_resident.encode(flat, "bits")
    assert rows.dtype == np.uint8 and rows.shape == (37, -(-num_values // 8))
    decoded = device_resident.decode(tf.constant(rows), "bits", num_values).numpy()
    assert decoded.dtype == np.float32
    np.testing.assert_array_equal(decoded, flat)
    np.testing.assert_array_equal(device_resident.decode_numpy(rows, "bits", num_values), flat)


def test_bits_follow_numpy_packbits_order():
    # The first value of an image is the most significant bit of its first byte.
    flat = np.zeros((1, 16), np.float32)
    flat[0, 0] = flat[0, 9] = 1.0
    np.testing.assert_array_equal(device_resident.encode(flat, "bits"), [[0b10000000, 0b01000000]])


def test_encoding_choice():
    k = np.arange(256, dtype=np.float32)
    assert device_resident.encoding_of(np.array([[0.0, 1.0, 1.0]])) == "bits"
    assert device_resident.encoding_of((k / np.float32(255.0))[None]) == "uint8"
    assert device_resident.encoding_of(np.array([[0.0, 0.5]])) == "float32"  # 127.5 / 255
    assert device_resident.encoding_of(np.array([[0.0, 2.0]])) == "float32"  # 510 / 255
    assert device_resident.encoding_of(np.array([[0.0, np.nan]])) == "float32"
    assert device_resident.encoding_of(np.array([[0.0, 1.0]]), at_least="uint8") == "uint8"
    # Near k/255 is not k/255.
    near = np.nextafter(np.float32(3.0) / np.float32(255.0), np.float32(1.0))
    assert device_resident.encoding_of(np.array([[near]], np.float32)) == "float32"


def test_uint8_path_is_exact_for_multiples_of_1_over_255():
    levels = np.random.RandomState(0).randint(0, 256, (300, 5, 4, 3))
    levels[0, 0, 0, :] = [0, 255, 128]
    data = ArrayData(levels.astype(np.float32) / np.float32(255.0))
    table = DeviceResidentObservations.from_data(data)
    assert table.encoding == "uint8" and table.nbytes == 300 * 60
    assert table.table.dtype == tf.uint8
    decoded = table.observations(tf.range(300, dtype=tf.int64)).numpy()
    # Bit for bit the loaders' float32 k / 255.
    np.testing.assert_array_equal(decoded.view(np.uint32), data.array.view(np.uint32))


def test_float32_path_keeps_any_values():
    values = np.random.RandomState(1).normal(size=(50, 3, 2, 1)).astype(np.float32)
    values[3, 0, 0, 0] = np.nan
    data = ArrayData(values)
    table = DeviceResidentObservations.from_data(data)
    assert table.encoding == "float32" and table.nbytes == 50 * 6 * 4
    decoded = table.observations(tf.range(50)).numpy()
    np.testing.assert_array_equal(decoded.view(np.uint32), values.view(np.uint32))


def test_encoding_widens_when_a_later_chunk_needs_it():
    rs = np.random.RandomState(2)
    binary = rs.randint(0, 2, (40, 4, 4, 1)).astype(np.float32)
    levels = rs.randint(0, 256, (40, 4, 4, 1)).astype(np.float32) / np.float32(255.0)
    floats = rs.uniform(size=(40, 4, 4, 1)).astype(np.float32)
    chunk_bytes = 10 * 16 * 4  # 10 observations per chunk
    widened = ArrayData(np.concatenate([binary, levels]))
    table = DeviceResidentObservations.from_data(widened, chunk_bytes=chunk_bytes)
    assert table.encoding == "uint8"
    np.testing.assert_array_equal(table.observations(tf.range(80)).numpy(), widened.array)
    widest = ArrayData(np.concatenate([binary, levels, floats]))
    table = DeviceResidentObservations.from_data(widest, chunk_bytes=chunk_bytes)
    assert table.encoding == "float32"
    np.testing.assert_array_equal(table.observations(tf.range(120)).numpy(), widest.array)


# --- the table on real sprites ---------------------------------------------------------------


def test_dsprites_rows_are_bit_packed(dsprites_table):
    data, table = dsprites_table
    assert table.encoding == "bits" and table.table.dtype == tf.uint8
    assert table.table.shape == (len(data.grid_indices), 512)
    assert table.nbytes == len(data.grid_indices) * 512
    assert table.build_seconds > 0


@pytest.mark.parametrize("batch_size", [1, 64])
def test_sampled_batches_equal_the_drawn_observations(dsprites_table, batch_size):
    data, table = dsprites_table
    for seed in _seeds((0, 0), (0, 1), (7, 123)):
        indices = table.sample_indices(batch_size, seed).numpy()
        assert indices.dtype == np.int64 and indices.shape == (batch_size,)
        assert indices.min() >= 0 and indices.max() < table.num_observations
        batch = table.sample(batch_size, seed).numpy()
        assert batch.dtype == np.float32 and batch.shape == (batch_size, 64, 64, 1)
        np.testing.assert_array_equal(batch, data.observations_by_index(indices))


def test_sampling_inside_a_tf_function_matches_eager(dsprites_table):
    _, table = dsprites_table

    @tf.function
    def batch_of_step(index):
        return table.sample_for_step(32, 5, index)

    for index in (0, 9):
        eager = table.sample(32, batch_seed(5, index)).numpy()
        np.testing.assert_array_equal(batch_of_step(tf.constant(index, tf.int64)).numpy(), eager)
    assert batch_of_step.experimental_get_tracing_count() == 1


def test_batch_is_a_pure_function_of_seed_and_step(dsprites_table):
    _, table = dsprites_table
    first = table.sample(64, batch_seed(3, 10)).numpy()
    np.testing.assert_array_equal(table.sample(64, batch_seed(3, 10)).numpy(), first)
    int32_seed = tf.constant([3, 10], tf.int32)  # int32 seeds work too
    np.testing.assert_array_equal(
        table.sample(64, int32_seed).numpy(), table.sample(64, int32_seed).numpy()
    )
    assert not np.array_equal(table.sample(64, batch_seed(3, 11)).numpy(), first)
    assert not np.array_equal(table.sample(64, batch_seed(4, 10)).numpy(), first)
    assert len({tuple(table.sample_indices(8, batch_seed(3, k)).numpy()) for k in range(20)}) == 20


def test_data_seed_differs_from_the_model_noise_seeds():
    # BaseVAE.noise_seed_for_step is [noise_seed, step]; FactorVAE adds [noise_seed, -1 - step].
    for random_seed, step in [(0, 0), (0, 1), (12, 5), (3, 2**31)]:
        seed = batch_seed(random_seed, step).numpy()
        assert seed.dtype == np.int64 and seed.shape == (2,)
        assert tuple(seed) not in {(random_seed, step), (random_seed, -1 - step)}
    assert batch_seed(0, 1).numpy().tolist() != batch_seed(1, 0).numpy().tolist()


def test_stacked_draw_equals_one_draw_per_seed(dsprites_table):
    _, table = dsprites_table
    seeds = tf.stack(_seeds((0, 4), (1, 4), (2, 4)))
    stacked = table.sample_stacked(16, seeds).numpy()
    assert stacked.shape == (3, 16, 64, 64, 1) and stacked.dtype == np.float32
    for s in range(3):
        np.testing.assert_array_equal(stacked[s], table.sample(16, seeds[s]).numpy())
    in_graph = tf.function(lambda seeds: table.sample_stacked(16, seeds))(seeds).numpy()
    np.testing.assert_array_equal(in_graph, stacked)


def test_wrong_table_shape_is_refused():
    with pytest.raises(ValueError, match=r"shape \[N, 2\]"):
        DeviceResidentObservations(np.zeros((4, 3), np.uint8), "bits", [4, 4, 1])
    with pytest.raises(ValueError, match="must be uint8"):
        DeviceResidentObservations(np.zeros((4, 2), np.float32), "bits", [4, 4, 1])


# --- budget and input-path choice ------------------------------------------------------------


def test_budget_refusal():
    data = ArrayData(np.random.RandomState(0).randint(0, 2, (100, 8, 8, 1)))
    assert device_resident.estimate_table_bytes(data) == 800
    assert device_resident.fits(data, max_bytes=800)
    assert not device_resident.fits(data, max_bytes=799)
    with pytest.raises(TableTooLargeError, match=r"device_resident\.max_bytes = 799"):
        DeviceResidentObservations.from_data(data, max_bytes=799)
    assert DeviceResidentObservations.from_data(data, max_bytes=800).nbytes == 800


def test_budget_refusal_when_the_encoding_widens_past_it():
    rows = np.zeros((20, 2, 2, 1), np.float32)
    rows[15:] = 0.3  # not binary, not k/255: the last chunk needs float32 (320 bytes)
    data = ArrayData(rows)
    with pytest.raises(TableTooLargeError, match="float32"):
        DeviceResidentObservations.from_data(data, max_bytes=100, chunk_bytes=5 * 16)


def test_budget_is_gin_configurable():
    data = ArrayData(np.ones((100, 8, 8, 1)))
    assert device_resident.max_table_bytes() == 1 << 30
    gin_utils.parse_config([], ["device_resident.max_bytes = 500"])
    assert not device_resident.fits(data)
    with pytest.raises(TableTooLargeError):
        DeviceResidentObservations.from_data(data)
    assert select_input_pipeline(data, "auto", images_drawn=10**6) is None
    with pytest.raises(TableTooLargeError):
        select_input_pipeline(data, "device", images_drawn=10**6)
    gin.clear_config()
    assert device_resident.fits(data)


def test_select_input_pipeline():
    grid = TinySquaresGrid()
    assert select_input_pipeline(grid, "tf_data", images_drawn=10**6) is None
    # "auto" builds the table only when the run reads at least as many images as it renders.
    assert select_input_pipeline(grid, "auto", images_drawn=31) is None
    table = select_input_pipeline(grid, "auto", images_drawn=32)
    assert table.num_observations == 32 and table.encoding == "bits"
    assert select_input_pipeline(grid, "device", images_drawn=1).num_observations == 32
    assert select_input_pipeline(TinySquares(), "auto", images_drawn=10**6) is None
    with pytest.raises(ValueError, match="not enumerable"):
        select_input_pipeline(TinySquares(), "device", images_drawn=10**6)
    with pytest.raises(ValueError, match="model.input_pipeline must be one of"):
        select_input_pipeline(grid, "gpu", images_drawn=1)


def test_not_enumerable_dataset_has_no_table():
    data = TinySquares()
    assert data.num_indexed_observations is None
    assert device_resident.estimate_table_bytes(data) is None and not device_resident.fits(data)
    with pytest.raises(NotImplementedError, match="not enumerable"):
        data.observations_by_index(np.arange(3))
    with pytest.raises(ValueError, match="not enumerable"):
        DeviceResidentObservations.from_data(data)


# --- the enumeration interface of the built-in datasets --------------------------------------


@pytest.mark.parametrize("latent_factor_indices", [None, (1, 2, 3, 4)])
def test_dsprites_procedural_enumerates_the_full_grid(latent_factor_indices):
    data = DSpritesProcedural(latent_factor_indices)
    assert data.num_indexed_observations == 737280
    indices = np.array([0, 1, 1023, 4096, 737279, 5])
    np.testing.assert_array_equal(
        data.observations_by_index(indices),
        data.render(data.factor_grid.index_to_features(indices)),
    )
    with pytest.raises(ValueError, match="must lie in"):
        data.observations_by_index(np.array([737280]))


def test_dummy_data_enumerates_its_grid():
    data = IdentityObservationsData(num_factors=3, num_values=4, observation_shape=(3, 1, 1))
    assert data.num_indexed_observations == 64
    observations = data.observations_by_index(np.array([0, 1, 4, 63]))
    np.testing.assert_array_equal(
        observations[:, :, 0, 0], [[0, 0, 0], [0, 0, 1], [0, 1, 0], [3, 3, 3]]
    )
    table = DeviceResidentObservations.from_data(data)
    assert table.encoding == "float32"  # the factor indices are not in [0, 1]
    np.testing.assert_array_equal(
        table.observations(tf.range(64)).numpy(), data.observations_by_index(np.arange(64))
    )


def test_tiny_squares_grid_enumerates_tiny_squares():
    data = TinySquaresGrid()
    factors = data.sample_factors(10, np.random.RandomState(0))
    flat = factors @ np.array([8, 2, 1])
    np.testing.assert_array_equal(
        data.observations_by_index(flat),
        data.sample_observations_from_factors(factors, np.random.RandomState(0)),
    )
