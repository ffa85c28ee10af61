"""Tests of `tfdis.data.weak`: the pair sampler (paper and dlib dynamics) on both input paths."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tfdis.data import device_resident, pipeline, weak
from tfdis.data.dummy_data import IdentityObservationsData
from tfdis.testing import TinySquares, TinySquaresGrid

SIZES = np.array([3, 6, 40, 32, 32])  # dSprites' factor grid


def draw(settings: weak.Dynamics, num: int = 20000, seed=(3, 7)):
    random_state = np.random.RandomState(0)
    first = np.stack([random_state.randint(s, size=num) for s in SIZES], axis=1)
    second, resampled, label = weak.pair_factors(
        tf.constant(first, tf.int64),
        tf.constant(SIZES, tf.int64),
        tf.constant(seed, tf.int64),
        settings,
    )
    return first, second.numpy(), resampled.numpy(), label.numpy()


@pytest.mark.parametrize("k", [1, 2, 4])
def test_paper_dynamics_change_exactly_k_factors_to_other_values(k):
    first, second, resampled, label = draw(weak.Dynamics(k=k), num=4000)
    changed = first != second
    np.testing.assert_array_equal(changed, resampled)
    np.testing.assert_array_equal(label, changed)
    assert (changed.sum(axis=1) == k).all()
    assert (second >= 0).all() and (second < SIZES).all()
    # Every factor is chosen equally often: k / F of the pairs.
    np.testing.assert_allclose(changed.mean(axis=0), k / len(SIZES), atol=0.04)


def test_paper_random_k_is_uniform_in_one_to_num_factors_minus_one():
    first, second, _, label = draw(weak.Dynamics(k=-1))
    counts = (first != second).sum(axis=1)
    assert counts.min() == 1 and counts.max() == len(SIZES) - 1
    frequencies = np.bincount(counts, minlength=len(SIZES))[1:] / len(counts)
    np.testing.assert_allclose(frequencies, 1 / (len(SIZES) - 1), atol=0.015)
    np.testing.assert_array_equal(label, first != second)


def test_paper_new_values_are_uniform_over_the_other_values():
    first, second, _, _ = draw(weak.Dynamics(k=4), num=30000)
    moved = first[:, 0] != second[:, 0]  # shape, 3 values: from 0 to 1 or 2 with 1/2 each
    from_zero = moved & (first[:, 0] == 0)
    np.testing.assert_allclose(np.mean(second[from_zero, 0] == 1), 0.5, atol=0.03)


def test_dlib_dynamics_reproduce_dlibs_distribution_of_k():
    # dlib: k_observed uniform in 1..F-1, then 1 or k_observed factors with probability 1/2.
    _, _, resampled, label = draw(weak.Dynamics(k=-1, dlib_sampling=True))
    counts = resampled.sum(axis=1)
    expected = np.full(len(SIZES) - 1, 0.5 / (len(SIZES) - 1))
    expected[0] += 0.5
    frequencies = np.bincount(counts, minlength=len(SIZES))[1:] / len(counts)
    np.testing.assert_allclose(frequencies, expected, atol=0.015)
    # The label is one of the resampled factors, one per pair.
    assert (label.sum(axis=1) == 1).all()
    assert not (label & ~resampled).any()


def test_dlib_dynamics_may_redraw_the_old_value():
    first, second, resampled, _ = draw(weak.Dynamics(k=1, dlib_sampling=True))
    assert (resampled.sum(axis=1) == 1).all()
    assert not ((first != second) & ~resampled).any()
    # Shape has 3 values: a resampled shape keeps its value with probability 1/3.
    kept = (first[:, 0] == second[:, 0])[resampled[:, 0]]
    np.testing.assert_allclose(kept.mean(), 1 / 3, atol=0.03)


def test_bad_dynamics_are_refused():
    with pytest.raises(ValueError, match="dynamics.k"):
        weak.dynamics(k=0)
    with pytest.raises(ValueError, match="exceeds the 3 factors"):
        weak.check_dynamics(TinySquares(), weak.Dynamics(k=4))


def _factors_of(images: np.ndarray) -> np.ndarray:
    """TinySquares factors of its images, by matching against all 32 of them."""
    grid = TinySquaresGrid()
    table = grid.observations_by_index(np.arange(32)).reshape(32, -1)
    rows = images.reshape(len(images), -1)
    matches = (rows[:, None, :] == table[None, :, :]).all(axis=2)
    assert (matches.sum(axis=1) == 1).all()
    from tfdis.data.ground_truth_data import FactorGrid

    return FactorGrid(grid.factor_sizes).index_to_features(matches.argmax(axis=1))


def _check_pairs(observations: np.ndarray, labels: np.ndarray, k: int) -> None:
    half = len(observations) // 2
    first, second = _factors_of(observations[:half]), _factors_of(observations[half:])
    np.testing.assert_array_equal(labels[:half], labels[half:])
    np.testing.assert_array_equal(labels[:half].astype(bool), first != second)
    assert ((first != second).sum(axis=1) == k).all()


def test_tf_data_pairs_are_deterministic_in_seed_and_step():
    settings = weak.Dynamics(k=2)
    data = TinySquares()
    batches = list(weak.make_pair_dataset(data, 16, 5, num_batches=4, settings=settings))
    resumed = list(
        weak.make_pair_dataset(data, 16, 5, start_index=2, num_batches=2, settings=settings)
    )
    for (obs, labels), (obs_2, labels_2) in zip(batches[2:], resumed, strict=True):
        np.testing.assert_array_equal(obs, obs_2)
        np.testing.assert_array_equal(labels, labels_2)
    assert batches[0][0].shape == (16, 64, 64, 1) and batches[0][1].shape == (16, 3)
    assert not np.array_equal(batches[0][0], batches[1][0])
    for observations, labels in batches:
        _check_pairs(observations.numpy(), labels.numpy(), k=2)
    other_stream = next(
        iter(weak.make_pair_dataset(data, 16, 5, purpose=pipeline.EVAL_STREAM, settings=settings))
    )
    assert not np.array_equal(other_stream[0], batches[0][0])


def test_device_pairs_are_deterministic_and_change_k_factors():
    data = TinySquaresGrid()
    table = device_resident.DeviceResidentObservations.from_data(data)
    pairs = weak.DevicePairs(table, data.factors_num_values, weak.Dynamics(k=1))
    draw_step = tf.function(lambda k: pairs.sample_for_step(32, 9, k))
    a, b = draw_step(tf.constant(3, tf.int64)), draw_step(tf.constant(3, tf.int64))
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], draw_step(tf.constant(4, tf.int64))[0])
    _check_pairs(a[0].numpy(), a[1].numpy(), k=1)


def test_pairs_use_the_table_only_for_grid_indexed_data():
    assert weak.grid_indexed(TinySquaresGrid()) and weak.grid_indexed(IdentityObservationsData())
    assert not weak.grid_indexed(TinySquares())  # not enumerable
    settings = weak.Dynamics(k=1)
    assert weak.pair_input_pipeline(TinySquares(), "auto", settings) == "tf_data"
    assert weak.pair_input_pipeline(TinySquaresGrid(), "auto", settings) == "auto"
    with pytest.raises(ValueError, match="not indexed by the factor grid"):
        weak.pair_input_pipeline(TinySquares(), "device", settings)
    with pytest.raises(ValueError, match="exceeds the 3 factors"):
        weak.pair_input_pipeline(TinySquaresGrid(), "device", weak.Dynamics(k=5))


class LabelledSample(TinySquares):
    """A labelled sample: no observation for factor values it does not hold."""

    @property
    def supports_interventions(self) -> bool:
        return False


def test_a_labelled_sample_cannot_give_pairs():
    with pytest.raises(ValueError, match="labelled sample"):
        weak.check_dynamics(LabelledSample(), weak.Dynamics(k=1))
