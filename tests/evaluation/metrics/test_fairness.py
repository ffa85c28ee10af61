"""Tests for the fairness metric (tfdis.evaluation.metrics.fairness)."""

import gin
import metrics_testlib as tl
import numpy as np
import pytest
from sklearn import ensemble

from tfdis.evaluation.metrics import fairness, predictors


def test_inter_group_fairness_closed_forms():
    # Predictions equal the sensitive value: each group is a point mass, the pool is (1/2, 1/2).
    assert fairness.inter_group_fairness(np.array([[10, 0], [0, 10]])) == (0.5, 0.5)
    assert fairness.inter_group_fairness(np.array([[3, 1], [1, 3]])) == (0.25, 0.25)
    assert fairness.inter_group_fairness(np.array([[5, 5], [2, 2]])) == (0.0, 0.0)
    # Groups of 4 and 2: pool (5/6, 1/6); group 0 (1, 0) is 1/6 away, group 1 (1/2, 1/2) 1/3;
    # the mean weighs them 4:2, (4/6)(1/6) + (2/6)(1/3) = 2/9.
    mean, worst = fairness.inter_group_fairness(np.array([[4, 1], [0, 1]]))
    assert mean == pytest.approx(2 / 9) and worst == pytest.approx(1 / 3)


def test_scores_dict_aggregates_rows_and_columns_as_dlib():
    m = np.array([[0.0, 0.1, 0.5], [0.2, 0.0, 0.4], [0.3, 0.6, 0.0]])  # [target i, sensitive j]
    s = fairness.compute_scores_dict(m, "p")
    assert s["p:pred0:sens2"] == 0.5 and "p:pred1:sens1" not in s
    assert s["p:pred0:mean_sens"] == pytest.approx(0.3) and s["p:pred0:max_sens"] == 0.5
    assert s["p:sens0:mean_pred"] == pytest.approx(0.25) and s["p:sens0:max_pred"] == 0.3
    row_means, row_maxs = [0.3, 0.3, 0.45], [0.5, 0.4, 0.6]
    column_means, column_maxs = [0.25, 0.35, 0.45], [0.3, 0.6, 0.5]
    assert s["p:mean_pred:mean_sens"] == pytest.approx(np.mean(row_means))
    assert s["p:mean_pred:max_sens"] == pytest.approx(np.mean(row_maxs))
    assert s["p:max_pred:mean_sens"] == pytest.approx(max(row_means))
    assert s["p:max_pred:max_sens"] == pytest.approx(max(row_maxs))
    assert s["p:mean_sens:mean_pred"] == pytest.approx(np.mean(column_means))
    assert s["p:mean_sens:max_pred"] == pytest.approx(np.mean(column_maxs))
    assert s["p:max_sens:mean_pred"] == pytest.approx(max(column_means))
    assert s["p:max_sens:max_pred"] == pytest.approx(max(column_maxs))
    assert len(s) == 6 + 3 * 2 + 3 * 2 + 8


def _run(representation, sizes=(3, 4, 5)):
    gin.bind_parameter("predictor.predictor_fn", predictors.gradient_boosting_classifier)
    return fairness.compute_fairness(
        tl.IdentityData(sizes), representation, np.random.RandomState(0),
        num_train=150, num_test_points_per_class=40, n_jobs=1,
    )  # fmt: skip


@pytest.mark.parametrize(
    "representation", [tl.identity_representation, tl.duplicated_representation]
)
def test_perfect_codes_are_exactly_fair(representation):
    # Predictions equal the target's true value, which an intervention on another factor does
    # not change: every group has the pool's distribution, so every TV distance is 0.
    scores = _run(representation)
    assert len(scores) == 2 * (6 + 6 + 6 + 8)
    assert all(value == 0.0 for value in scores.values())


def test_rotated_codes_are_exactly_fair():
    # The trees decode each factor exactly from its rotated pair of codes (as for perfect
    # codes), so interventions on other factors leave the predictions' distribution unchanged.
    scores = _run(tl.rotated_representation, sizes=(4, 4, 4, 4))
    assert all(value == 0.0 for value in scores.values())


def test_codes_of_the_sensitive_factor_alone_make_a_point_mass_per_group():
    # Codes carry only factor 1. The classifier for factor 0 predicts a function g(c) of the
    # sensitive value c, so under do(factor 1 = c) all predictions are g(c): the TV of group c
    # to the pool is 1 - (share of groups with g = g(c)).
    scores = _run(lambda obs: tl.identity_representation(obs)[:, 1:2], sizes=(2, 4))
    x = np.arange(4.0)[:, None]
    # Refit the same classifier on the same training draw to read g off it.
    rs = np.random.RandomState(0)
    data = tl.IdentityData((2, 4))
    factors = data.sample_factors(150, rs)
    seed = rs.randint(2**31 - 1, size=2)[0]
    model = predictors.gradient_boosting_classifier(random_state=int(seed))
    g = model.fit(factors[:, 1:2].astype(float), factors[:, 0]).predict(x)
    shares = np.array([np.mean(g == g[c]) for c in range(4)])
    assert len(set(g)) == 2  # not a constant classifier: the groups are unfair
    assert scores["mean_fairness:pred0:sens1"] == pytest.approx(np.mean(1 - shares))
    assert scores["max_fairness:pred0:sens1"] == pytest.approx(np.max(1 - shares))


def _few_stage_trees(random_state=None):
    """Boosted trees with 20 stages: the fairness statements below hold for any classifier."""
    return ensemble.GradientBoostingClassifier(n_estimators=20, random_state=random_state)


def _sampling_bound(k_target, k_sensitive, n):
    # If the predictions' distribution q (K classes) is the same in every group, a group's TV to
    # the pool is only multinomial noise: n points per group, so each class share differs from
    # the pool's with variance q_k (1 - q_k)(1 - 1/G) / n, and E|x| <= sqrt(E x^2) with
    # Cauchy-Schwarz gives E[TV] <= (1/2) sqrt((K - 1)(1 - 1/G) / n); uniform q reaches
    # sqrt(2 / pi) (about 0.8) of it.
    return 0.5 * np.sqrt((k_target - 1) * (1 - 1 / k_sensitive) / n)


def _run_small(representation, sizes=(3, 4, 5), n=200):
    gin.bind_parameter("predictor.predictor_fn", _few_stage_trees)
    return fairness.compute_fairness(
        tl.IdentityData(sizes), representation, np.random.RandomState(0),
        num_train=150, num_test_points_per_class=n, n_jobs=1,
    )  # fmt: skip


def test_random_codes_are_unfair_only_by_sampling_noise():
    # Codes independent of the observations: predictions do not depend on the intervention,
    # so the expected unfairness is the multinomial noise of 200 points per group, between
    # 0 (perfect codes) and the bound above (about 0.8 of it for near-uniform predictions).
    sizes, n = (3, 4, 5), 200
    scores = _run_small(tl.make_random_representation(3), sizes, n)
    pairs = [(i, j) for i in range(3) for j in range(3) if i != j]
    bound = np.mean([_sampling_bound(sizes[i], sizes[j], n) for i, j in pairs])
    mean = scores["mean_fairness:mean_pred:mean_sens"]
    assert 0.5 * bound < mean < bound
    assert mean == pytest.approx(
        np.mean([scores[f"mean_fairness:pred{i}:sens{j}"] for i, j in pairs])
    )
    assert scores["max_fairness:mean_pred:mean_sens"] >= mean


def test_noisy_code_is_fair_to_every_factor_it_does_not_carry():
    # One code, factor 0 + N(0, 0.3^2): every classifier predicts from f0 + noise. For a
    # sensitive factor j != 0, dlib's groups share the same originally drawn f0 values and
    # only the noise is redrawn, so the unfairness is sampling noise (bound above), more than
    # 0 (the noise flips some predictions differently per group; perfect codes give exactly 0).
    # For j = 0 the intervention sets the code's mean: a classifier of factor 1 or 2 reading
    # that code predicts a non-constant function of the sensitive value, far above the bound.
    sizes, n = (3, 4, 5), 200
    rs = np.random.RandomState(5)

    def noisy(observations):
        code = tl.identity_representation(observations)[:, :1]
        return code + rs.normal(scale=0.3, size=code.shape)

    scores = _run_small(noisy, sizes, n)
    pairs = [(0, 1), (0, 2), (1, 2), (2, 1)]
    fair = np.mean([scores[f"mean_fairness:pred{i}:sens{j}"] for i, j in pairs])
    assert 0 < fair < np.mean([_sampling_bound(sizes[i], sizes[j], n) for i, j in pairs])
    for i in (1, 2):
        assert scores[f"mean_fairness:pred{i}:sens0"] > 2 * _sampling_bound(sizes[i], 3, n)
