"""Tests for the histogram-discretized MIG (tfdis.evaluation.metrics.mig)."""

import metrics_testlib as tl
import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

from tfdis.data.ground_truth_data import FactorGrid
from tfdis.evaluation.metrics import mig, utils


def test_mig_codes_equal_factors_full_grid_is_one():
    # Over the full grid the factors are independent, so the runner-up MI is exactly 0.
    grid = FactorGrid((5, 4, 3))
    factors = grid.index_to_features(np.arange(grid.num_states)).T
    assert mig._compute_mig(factors.astype(float), factors)["discrete_mig"] == pytest.approx(1.0)


def test_mig_hand_computed_partial_information():
    factor = np.array([[0, 0, 1, 1]])
    codes = np.array([[0, 0, 0, 1], [0, 1, 0, 1]])
    # I(c0; v) = H(c0) - H(c0|v) = H(3/4, 1/4) - ln(2)/2; I(c1; v) = 0; H(v) = ln 2.
    h_c0 = -(0.75 * np.log(0.75) + 0.25 * np.log(0.25))
    expected = (h_c0 - 0.5 * np.log(2)) / np.log(2)
    assert mig._mig_from_discrete(codes, factor) == pytest.approx(expected)


def test_duplicate_code_leaves_no_gap():
    factor = np.array([[0, 1, 2, 0, 1, 2]])
    assert mig._mig_from_discrete(np.vstack([factor, factor]), factor) == pytest.approx(0.0)


def test_discrete_mutual_info_matches_sklearn():
    rs = np.random.RandomState(1)
    codes = rs.randint(0, 5, size=(3, 200))
    factors = rs.randint(0, 4, size=(2, 200))
    expected = np.array(
        [[mutual_info_score(factors[j], codes[i]) for j in range(2)] for i in range(3)]
    )
    np.testing.assert_allclose(utils.discrete_mutual_info(codes, factors), expected, atol=1e-12)
    np.testing.assert_allclose(
        utils.discrete_entropy(factors),
        [mutual_info_score(factors[j], factors[j]) for j in range(2)],
        atol=1e-12,
    )


def test_histogram_discretizer_matches_dlib_loop():
    rs = np.random.RandomState(2)
    target = np.vstack([rs.normal(size=300), np.full(300, 3.0), rs.uniform(size=300)])
    expected = np.stack([np.digitize(row, np.histogram(row, 20)[1][:-1]) for row in target])
    np.testing.assert_array_equal(utils.histogram_discretize(target, 20), expected)
    assert utils.histogram_discretize(target, 20).max() <= 20


def _score(representation, seed=0, num_train=2000):
    return mig.compute_mig(
        tl.IdentityData(), representation, np.random.RandomState(seed), num_train=num_train
    )["discrete_mig"]


def test_identity_representation_scores_near_one():
    assert _score(tl.identity_representation) > 0.9


def test_rotated_representation_scores_low():
    assert _score(tl.rotated_representation) < 0.15


def test_random_codes_score_near_zero():
    assert _score(tl.make_random_representation()) < 0.05


def test_duplicated_latent_lowers_mig():
    identity = _score(tl.identity_representation)
    duplicated = _score(tl.duplicated_representation)
    # Factor 0 loses its whole gap: MIG drops by about a quarter (4 factors).
    assert duplicated < identity - 0.2


def test_same_seed_same_result():
    assert _score(tl.rotated_representation, seed=3) == _score(tl.rotated_representation, seed=3)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="at least 2 codes"):
        mig._mig_from_discrete(np.zeros((1, 4), int), np.array([[0, 1, 0, 1]]))
    with pytest.raises(ValueError, match="constant"):
        mig._mig_from_discrete(np.array([[0, 1], [1, 0]]), np.array([[0, 0]]))
    with pytest.raises(ValueError, match="equal N"):
        mig._compute_mig(np.zeros((2, 4)), np.zeros((1, 5), int))
    with pytest.raises(ValueError, match=r"^mig\.num_train must be a positive integer"):
        mig.compute_mig(
            tl.IdentityData(), tl.identity_representation, np.random.RandomState(0), num_train=0
        )


def test_test_posterior_satisfies_the_protocol():
    from tfdis.evaluation.metrics.protocols import PosteriorEncoder, encode_in_batches

    encoder = tl.GaussianPosterior(np.eye(4))
    assert isinstance(encoder, PosteriorEncoder)
    x = tl.IdentityData().sample_observations(5, np.random.RandomState(0))
    mean, logvar = encode_in_batches(encoder, x, batch_size=2)
    np.testing.assert_allclose(mean, x.reshape(5, 4))
    np.testing.assert_allclose(logvar, 2 * np.log(0.01))
