"""Small fixtures for tests of tfdis and of code built on it (tiny data, tiny configs)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import numpy as np

from tfdis.data.ground_truth_data import FactorGrid, GroundTruthData


class TinySquares(GroundTruthData):
    """White squares on black, 64x64x1: factors x position (4), y position (4), size (2).

    Small enough to learn in a few dozen steps, shaped like dSprites so the default conv
    architecture applies.
    """

    factor_sizes = (4, 4, 2)

    @property
    def num_factors(self) -> int:
        return 3

    @property
    def factors_num_values(self) -> list[int]:
        return list(self.factor_sizes)

    @property
    def observation_shape(self) -> list[int]:
        return [64, 64, 1]

    def sample_factors(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        return FactorGrid(self.factor_sizes).sample_factors(num, random_state)

    def sample_observations_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        images = np.zeros((len(factors), 64, 64, 1), np.float32)
        for i, (x, y, s) in enumerate(factors):
            side = 8 + 8 * s
            top, left = 4 + 12 * y, 4 + 12 * x
            images[i, top : top + side, left : left + side] = 1.0
        return images


class TinySquaresGrid(TinySquares):
    """TinySquares with the enumeration interface: its 32 images, indexed in factor-grid order.

    Enumerable, so training on it can use a device-resident table (`model.input_pipeline`).
    """

    @property
    def num_indexed_observations(self) -> int:
        return int(np.prod(self.factor_sizes))

    def observations_by_index(self, indices: np.ndarray) -> np.ndarray:
        """The squares `(num, 64, 64, 1)` of flat factor-grid indices `(num,)`."""
        factors = FactorGrid(self.factor_sizes).index_to_features(self._checked_indices(indices))
        return TinySquares.sample_observations_from_factors(self, factors, None)

    def sample_observations_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        return TinySquares.sample_observations_from_factors(self, factors, random_state)

    def observation_indices_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """Flat factor-grid indices `(num,)` (no random draw)."""
        del random_state
        return FactorGrid(self.factor_sizes).features_to_index(factors)


# A beta-VAE run of 4 steps on TinySquares registered as "test_squares" (see tests/conftest.py).
TINY_TRAINING_BINDINGS = (
    "dataset.name = 'test_squares'",
    "model.model = @vae()",
    "vae.beta = 1.",
    "model.batch_size = 8",
    "model.training_steps = 4",
    "model.random_seed = 0",
    "model.eval_steps = 2",
    "model.checkpoint_every_steps = 2",
    "model.summary_every_steps = 2",
    "model.image_summary_every_steps = 2",
    "encoder.num_latent = 3",
    "encoder.encoder_fn = @conv_encoder",
    "decoder.decoder_fn = @deconv_decoder",
    "AdamOptimizer.learning_rate = 0.001",
)


def build_configured_model(
    config_files: Sequence[str],
    bindings: Sequence[str],
    observation_shape: Sequence[int],
    noise_seed: int = 0,
    dataset_size: int | None = 1000,
):
    """Parses gin, instantiates `model.model`, builds its networks and optimizers.

    The model is ready for `train_step` without the training loop (tests and benchmarks). The
    gin config stays parsed; the caller clears it.
    """
    import gin

    from tfdis.utils import gin_utils

    gin_utils.parse_config(list(config_files), list(bindings))
    model = gin.query_parameter("model.model").scoped_configurable_fn()
    model.build_networks(observation_shape, noise_seed=noise_seed, dataset_size=dataset_size)
    model.configure_optimizers()
    return model


def checkpoint_arrays(model_dir: str) -> dict[str, np.ndarray]:
    """Every array of a run's latest checkpoint (weights, optimizer state) by its checkpoint key."""
    import tensorflow as tf

    from tfdis.utils import layout

    reader = tf.train.load_checkpoint(layout.checkpoint_dir(model_dir))
    return {
        name: reader.get_tensor(name)
        for name in reader.get_variable_to_shape_map()
        if name != "_CHECKPOINTABLE_OBJECT_GRAPH" and "save_counter" not in name
    }


@contextlib.contextmanager
def training_killed_at(step: int) -> Iterator[None]:
    """Training inside the block raises `KeyboardInterrupt` at `step`, as if the run were killed.

    The step has run but is not logged or checkpointed, so the run keeps its earlier checkpoints.
    """
    from tfdis.training import progress

    original = progress.ProgressLogger.maybe_log

    def die(self, current: int, logs):
        if current == step:
            raise KeyboardInterrupt
        return original(self, current, logs)

    progress.ProgressLogger.maybe_log = die
    try:
        yield
    finally:
        progress.ProgressLogger.maybe_log = original
