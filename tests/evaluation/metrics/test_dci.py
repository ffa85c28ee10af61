"""Tests for DCI (tfdis.evaluation.metrics.dci)."""

import metrics_testlib as tl
import numpy as np
import pytest

from tfdis.evaluation.metrics import dci


def test_known_importance_matrices():
    assert dci.disentanglement(np.eye(3)) == pytest.approx(1.0)
    assert dci.completeness(np.eye(3)) == pytest.approx(1.0)
    # Two codes both used only for factor 0: each code is pure (D = 1), factor 0 is split
    # evenly over two codes (entropy base 2 = 1, so C = 0), factor 1 has no weight.
    two_for_one = np.array([[1.0, 0.0], [1.0, 0.0]])
    assert dci.disentanglement(two_for_one) == pytest.approx(1.0)
    assert dci.completeness(two_for_one) == pytest.approx(0.0, abs=1e-9)
    uniform = np.ones((4, 4))
    assert dci.disentanglement(uniform) == pytest.approx(0.0, abs=1e-9)
    assert dci.completeness(uniform) == pytest.approx(0.0, abs=1e-9)
    # Code 0: (0.5, 0.5) -> 1 - log_2 2 = 0; code 1: (1, 0) -> 1; weights 1/2 each.
    half = np.array([[0.5, 0.5], [1.0, 0.0]])
    assert dci.disentanglement(half) == pytest.approx(0.5)


def _score(representation, backend="exact", seed=0, n_jobs=1):
    return dci.compute_dci(
        tl.IdentityData((4, 4, 4, 4)), representation, np.random.RandomState(seed),
        num_train=300, num_test=200, backend=backend, n_jobs=n_jobs,
    )  # fmt: skip


@pytest.mark.parametrize("backend", dci.BACKENDS)
def test_identity_near_top(backend):
    scores = _score(tl.identity_representation, backend)
    assert scores["disentanglement"] > 0.9
    assert scores["completeness"] > 0.9
    assert scores["informativeness_test"] == pytest.approx(1.0)


def test_rotated_and_random_low():
    # Each rotated code serves two factors equally: per-code entropy base 4 is 1/2.
    assert _score(tl.rotated_representation)["disentanglement"] < 0.6
    random = _score(tl.make_random_representation())
    assert random["disentanglement"] < 0.2
    assert random["informativeness_test"] < 0.4


@pytest.mark.parametrize("backend", dci.BACKENDS)
def test_parallel_fits_match_serial_and_repeat(backend):
    serial = _score(tl.rotated_representation, backend, seed=3)
    assert _score(tl.rotated_representation, backend, seed=3, n_jobs=2) == serial
    assert _score(tl.rotated_representation, backend, seed=3, n_jobs=2) == serial


def test_bad_backend():
    with pytest.raises(ValueError, match="backend"):
        dci._compute_dci(np.zeros((2, 4)), np.zeros((1, 4)), np.zeros((2, 4)),
                         np.zeros((1, 4)), np.random.RandomState(0), backend="xgb")  # fmt: skip


def test_importance_columns_follow_factor_order_whatever_the_fit_order():
    # Factor 0 (2 classes) is read off code 1, factor 1 (5 classes) off code 0; the exact backend
    # fits the 5-class factor first, and its column must still come second.
    rs = np.random.RandomState(0)
    factors = np.stack([rs.randint(2, size=600), rs.randint(5, size=600)])
    codes = np.stack([factors[1] + 0.1 * rs.randn(600), factors[0] + 0.1 * rs.randn(600)])
    importance, _, _ = dci.compute_importance_gbt(
        codes[:, :400], factors[:, :400], codes[:, 400:], factors[:, 400:], rs, "exact", n_jobs=2
    )
    assert importance.shape == (2, 2)
    assert np.argmax(importance[:, 0]) == 1 and np.argmax(importance[:, 1]) == 0


def test_exact_importances_are_sklearns_bit_for_bit():
    """The shared-pool fits of 2-, 3- and 12-class factors against plain sklearn, one by one."""
    from sklearn import ensemble

    rs = np.random.RandomState(1)
    factors = np.stack([rs.randint(k, size=500) for k in (2, 12, 3)])
    codes = np.concatenate([factors / 12.0 + 0.3 * rs.randn(3, 500), rs.randn(2, 500)])
    codes = np.round(codes, 1)  # ties
    train, test = slice(0, 350), slice(350, 500)
    importance, train_acc, test_acc = dci.compute_importance_gbt(
        codes[:, train], factors[:, train], codes[:, test], factors[:, test],
        np.random.RandomState(5), "exact", n_jobs=2,
    )  # fmt: skip
    seeds = np.random.RandomState(5).randint(2**31 - 1, size=3)
    expected, accuracies = [], []
    for j, seed in enumerate(seeds):
        model = ensemble.GradientBoostingClassifier(random_state=seed)
        model.fit(codes[:, train].T, factors[j, train])
        expected.append(np.abs(model.feature_importances_))
        accuracies.append(np.mean(model.predict(codes[:, test].T) == factors[j, test]))
    assert np.array_equal(importance, np.stack(expected, axis=1))
    assert test_acc == float(np.mean([float(a) for a in accuracies]))
