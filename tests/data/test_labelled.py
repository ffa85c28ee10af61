"""Labellers and the stored labelled set (`tfdis.data.labelled`)."""

from __future__ import annotations

import gin
import numpy as np
import pytest

from tfdis.data import labelled
from tfdis.testing import TinySquares


class Grid:
    factors_num_values = [3, 12, 40]


FACTORS = np.stack([np.arange(600) % 3, np.arange(600) % 12, np.arange(600) % 40], axis=1)


def test_perfect_and_bin_labellers():
    labels, sizes = labelled.perfect_labeller(FACTORS, Grid(), None)
    np.testing.assert_array_equal(labels, FACTORS)
    assert labels.dtype == np.float32
    assert sizes == [3, 12, 40]
    binned, sizes = labelled.bin_labeller(FACTORS, Grid(), None, num_bins=5)
    assert sizes == [3, 5, 5]
    np.testing.assert_array_equal(binned[:, 0], FACTORS[:, 0])  # 3 values: kept
    np.testing.assert_array_equal(binned[:, 1], np.floor(FACTORS[:, 1] / 2.4))
    np.testing.assert_array_equal(binned[:, 2], FACTORS[:, 2] // 8)


def test_noisy_labeller_replaces_about_prob_random_of_the_labels_uniformly():
    factors = np.tile(FACTORS, (20, 1))
    noisy, _ = labelled.noisy_labeller(factors, Grid(), np.random.RandomState(0), prob_random=0.3)
    changed = noisy != factors
    # A replaced label keeps its value with probability 1 / n_j.
    expected = 0.3 * (1 - 1 / np.array(Grid.factors_num_values))
    np.testing.assert_allclose(changed.mean(axis=0), expected, atol=0.015)


def test_permuted_labeller_relabels_each_factor_by_a_bijection():
    permuted, _ = labelled.permuted_labeller(FACTORS, Grid(), np.random.RandomState(1))
    for j, size in enumerate(Grid.factors_num_values):
        mapping = {}
        for old, new in zip(FACTORS[:, j], permuted[:, j], strict=True):
            assert mapping.setdefault(old, new) == new
        assert sorted(mapping.values()) == list(range(size))


def test_partial_labeller_keeps_some_factors():
    kept, sizes = labelled.partial_labeller(FACTORS, Grid(), np.random.RandomState(2), 2)
    assert kept.shape == (600, 2)
    columns = [
        next(j for j in range(3) if np.array_equal(FACTORS[:, j], kept[:, i])) for i in (0, 1)
    ]
    assert sizes == [Grid.factors_num_values[j] for j in columns] and len(set(columns)) == 2
    with pytest.raises(ValueError, match="num_observed_factors"):
        labelled.partial_labeller(FACTORS, Grid(), np.random.RandomState(2), 4)


def test_labelled_set_is_split_stored_and_reused(tmp_path):
    gin.parse_config("labeller.labeller_fn = @perfect_labeller")
    data = TinySquares()
    first = labelled.labelled_set_for_run(data, 10, 0.75, 3, [str(tmp_path)])
    assert first.observations.shape == (8, 64, 64, 1) and first.labels.shape == (8, 3)
    assert first.test_observations.shape == (2, 64, 64, 1) and first.factor_sizes == [4, 4, 2]
    # The labels are the factors of the observations.
    rendered = data.sample_observations_from_factors(first.labels.astype(int), None)
    np.testing.assert_array_equal(rendered, first.observations)
    # A resumed run reads the stored set, whatever it is asked for.
    again = labelled.labelled_set_for_run(data, 50, 0.5, 99, [str(tmp_path)])
    np.testing.assert_array_equal(again.observations, first.observations)
    np.testing.assert_array_equal(again.labels, first.labels)
    other = labelled.make_labelled_set(data, 10, 0.75, 4 + labelled.LABELLED_SEED_OFFSET)
    assert not np.array_equal(other.labels, first.labels)
    with pytest.raises(ValueError, match="train_percentage"):
        labelled.make_labelled_set(data, 10, 0.0, 0)
