"""Tests for IRS (tfdis.evaluation.metrics.irs)."""

import metrics_testlib as tl
import numpy as np
import pytest

from tfdis.evaluation.metrics import irs


def test_hand_case():
    factors = np.array([[0, 0, 1, 1], [0, 1, 0, 1]])
    # Code 0 copies factor 0: fixing it leaves no deviation (IRS 1). Code 1 = factor 0 + 2 *
    # factor 1: fixing factor 1 leaves +-0.5 around the group mean, max deviation 1.5, IRS 2/3.
    codes = np.array([[0.0, 0.0, 1.0, 1.0], [0.0, 2.0, 1.0, 3.0]])
    result = irs.scalable_disentanglement_score(factors.T, codes.T, diff_quantile=1.0)
    np.testing.assert_allclose(result["disentanglement_scores"], [1.0, 1 - 0.5 / 1.5])
    expected = np.average([1.0, 2 / 3], weights=[0.5, 1.5])
    assert irs._compute_irs(codes, factors, 1.0)["IRS"] == pytest.approx(expected)


def _score(representation, seed=0):
    return irs.compute_irs(
        tl.IdentityData(), representation, np.random.RandomState(seed), num_train=1000
    )


def test_identity_is_one():
    assert _score(tl.identity_representation) == {"IRS": 1.0, "num_active_dims": 4.0}


def test_rotated_and_random_lower():
    assert _score(tl.rotated_representation)["IRS"] < 0.6
    # IRS of pure noise is 1 - q99 / max deviation of the noise (about 0.3), not 0.
    assert _score(tl.make_random_representation())["IRS"] < 0.45


def test_constant_codes():
    assert _score(lambda x: np.zeros((len(x), 2))) == {"IRS": 0.0, "num_active_dims": 0.0}


def test_same_seed_same_result():
    assert _score(tl.rotated_representation, 4) == _score(tl.rotated_representation, 4)


def test_bad_quantile():
    with pytest.raises(ValueError, match="diff_quantile"):
        irs._compute_irs(np.zeros((2, 4)), np.zeros((1, 4)), 1.5)
