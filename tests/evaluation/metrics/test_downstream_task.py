"""Tests for the downstream task (tfdis.evaluation.metrics.downstream_task) and its splits."""

import gin
import metrics_testlib as tl
import numpy as np
import pytest
import scipy.stats
from sklearn import ensemble

from tfdis.evaluation.metrics import downstream_task, predictors

SIZES = (3, 4, 5)


def _keys(size, factors):
    keys = {f"{size}:{s}_{p}_accuracy" for s in ("mean", "min") for p in ("train", "test")}
    for i in factors:
        keys |= {f"{size}:train_accuracy_factor_{i}", f"{size}:test_accuracy_factor_{i}"}
    return keys


def _run(representation, predictor=predictors.gradient_boosting_classifier, sizes=SIZES, **kw):
    gin.bind_parameter("predictor.predictor_fn", predictor)
    kw = {"num_train": [150], "num_test": 400, "n_jobs": 1, **kw}
    return downstream_task.compute_downstream_task(
        tl.IdentityData(sizes), representation, np.random.RandomState(0), **kw
    )


def test_dlib_keys_for_every_training_size():
    scores = _run(tl.make_random_representation(3), num_train=[10, 50], num_test=50)
    assert set(scores) == _keys(10, range(3)) | _keys(50, range(3))


@pytest.mark.parametrize(
    "representation", [tl.identity_representation, tl.duplicated_representation]
)
def test_perfect_and_duplicated_codes_classify_every_factor_exactly(representation):
    # Each factor value is its own code value and all of them occur in 150 training points:
    # one split per value boundary separates them, so train and test accuracy are exactly 1.
    scores = _run(representation)
    assert all(value == 1.0 for value in scores.values())


def test_rotated_codes_classify_every_factor_exactly_with_boosted_trees():
    # Each factor is read from a pair of 45-degree rotated codes; the pair's 16 value
    # combinations are 16 distinct code points, all in the training set, which the trees
    # separate: accuracy 1 (a linear readout of the same codes would need the rotation).
    scores = _run(tl.rotated_representation, sizes=(4, 4, 4, 4))
    assert all(value == 1.0 for value in scores.values())


def test_random_codes_score_chance():
    # Predictions independent of the test labels: expected accuracy 1/K for a uniform factor.
    scores = _run(tl.make_random_representation(3), num_test=2000)
    for i, k in enumerate(SIZES):
        sigma = np.sqrt((1 / k) * (1 - 1 / k) / 2000)
        assert abs(scores[f"150:test_accuracy_factor_{i}"] - 1 / k) < 4 * sigma
    assert scores["150:min_test_accuracy"] == min(
        scores[f"150:test_accuracy_factor_{i}"] for i in range(3)
    )


def test_noisy_codes_reach_the_bayes_accuracy_with_logistic_regression():
    # Code i = factor i + N(0, s^2): the Bayes rule thresholds at the midpoints, so an interior
    # value is right with probability 2 Phi(0.5 / s) - 1 and the two end values with Phi(0.5 / s).
    s = 0.3
    rs = np.random.RandomState(5)

    def noisy(observations):
        codes = tl.identity_representation(observations)
        return codes + rs.normal(scale=s, size=codes.shape)

    sizes = (3, 4)
    scores = _run(noisy, predictors.logistic_regression_cv, sizes, num_train=[1000], num_test=3000)
    phi = scipy.stats.norm.cdf(0.5 / s)
    for i, k in enumerate(sizes):
        bayes = ((k - 2) * (2 * phi - 1) + 2 * phi) / k
        assert bayes - 0.03 < scores[f"1000:test_accuracy_factor_{i}"] < bayes + 0.02


def test_boosted_trees_are_sklearns_classifier_bit_for_bit():
    rs = np.random.RandomState(1)
    codes, codes_test = rs.normal(size=(3, 150)), rs.normal(size=(3, 100))
    factors, factors_test = rs.randint(4, size=(2, 150)), rs.randint(4, size=(2, 100))
    scores = downstream_task._compute_downstream_task(
        codes, factors, codes_test, factors_test, predictors.gradient_boosting_classifier,
        np.random.RandomState(7), 150, n_jobs=1,
    )  # fmt: skip
    seeds = np.random.RandomState(7).randint(2**31 - 1, size=2)
    for i, seed in enumerate(seeds):
        model = ensemble.GradientBoostingClassifier(random_state=seed).fit(codes.T, factors[i])
        expected = np.mean(model.predict(codes_test.T) == factors_test[i])
        assert scores[f"150:test_accuracy_factor_{i}"] == expected
        expected = np.mean(model.predict(codes.T) == factors[i])
        assert scores[f"150:train_accuracy_factor_{i}"] == expected


def test_a_single_class_training_set_predicts_that_class():
    scores = _run(tl.identity_representation, num_train=[1], num_test=500)
    assert scores["1:mean_train_accuracy"] == 1.0
    # The constant prediction is right for the test points that share the training value.
    assert all(scores[f"1:test_accuracy_factor_{i}"] < 0.5 for i in range(3))


def test_split_regions_hold_out_the_documented_values():
    grid = np.array(np.meshgrid(np.arange(10), np.arange(10), indexing="ij")).reshape(2, -1).T
    cases = {
        ("extrapolation", (1,)): grid[:, 1] >= 7,
        ("interpolation", (-1,)): (grid[:, 1] >= 3) & (grid[:, 1] < 6),
        ("composition", (0, 1)): (grid[:, 0] < 3) & (grid[:, 1] < 3),
        ("extrapolation", (0, 1)): (grid[:, 0] >= 7) | (grid[:, 1] >= 7),
    }
    for (split, factors), expected in cases.items():
        held_out, unscorable = downstream_task._split_region((10, 10), split, factors, 0.3)
        np.testing.assert_array_equal(held_out(grid), expected)
        assert unscorable == ([] if split == "composition" else [f % 2 for f in factors])


@pytest.mark.parametrize(
    "split, factors, message",
    [
        ("random", (0,), "split must be one of"),
        ("composition", (0,), "at least two"),
        ("extrapolation", (5,), "out of range"),
        ("extrapolation", (0, 0), "distinct"),
    ],
)
def test_bad_splits_are_refused(split, factors, message):
    with pytest.raises(ValueError, match=message):
        downstream_task._split_region((10, 10), split, factors, 0.3)


@pytest.mark.parametrize(
    "split, factors, scored",
    [
        ("extrapolation", (2,), (0, 1)),
        ("interpolation", (1,), (0, 2)),
        ("composition", (1, 2), (0, 1, 2)),
    ],
)
def test_out_of_distribution_splits(split, factors, scored):
    # Perfect codes still classify every scored factor exactly out of distribution; the split
    # factor of extrapolation / interpolation has unseen test values and is not scored.
    scores = _run(tl.identity_representation, split=split, split_factors=factors)
    assert set(scores) == _keys(150, scored)
    assert all(value == 1.0 for value in scores.values())
    random = _run(tl.make_random_representation(3), split=split, split_factors=factors)
    assert random["150:mean_test_accuracy"] < 0.5


def test_split_sampling_stays_in_its_region():
    data = tl.IdentityData((10, 10))
    held_out, _ = downstream_task._split_region((10, 10), "extrapolation", (1,), 0.3)
    rs = np.random.RandomState(0)
    codes, factors = downstream_task.sample_codes(
        data, tl.identity_representation, 500, rs, keep=held_out
    )
    assert factors.shape == (2, 500) and set(np.unique(factors[1])) == {7, 8, 9}
    np.testing.assert_array_equal(codes, factors)
    _, factors = downstream_task.sample_codes(
        data, tl.identity_representation, 500, rs, keep=lambda f: ~held_out(f)
    )
    assert set(np.unique(factors[1])) == set(range(7))
    assert set(np.unique(factors[0])) == set(range(10))
