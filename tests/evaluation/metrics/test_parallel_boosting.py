"""The threaded boosting classifier is bit-for-bit sklearn's GradientBoostingClassifier."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import ensemble
from sklearn.ensemble import _gb
from sklearn.tree import DecisionTreeRegressor

from tfdis.evaluation.metrics import parallel_boosting


def _data(num_classes: int, seed: int, n: int = 600, ties: bool = False):
    """Codes that predict the labels partly; `ties` quantizes them and adds a constant column."""
    rng = np.random.RandomState(seed)
    y = rng.randint(num_classes, size=n)
    x = y[:, None] / num_classes + rng.normal(scale=0.4, size=(n, 5))
    if ties:
        x = np.round(x * 4) / 4  # few distinct values per column: many ties
        x = np.concatenate([x, np.full((n, 1), 0.5)], axis=1)
    return x.astype(np.float32), y


def _assert_same_model(model, reference, x):
    np.testing.assert_array_equal(model.feature_importances_, reference.feature_importances_)
    assert np.array_equal(model.decision_function(x), reference.decision_function(x))
    assert np.array_equal(model.train_score_, reference.train_score_)


def test_the_fast_path_is_available_and_verified_on_this_sklearn():
    assert parallel_boosting.FAST_PATH_AVAILABLE
    assert parallel_boosting.fast_path_verified()


def test_without_the_fast_path_stages_are_sklearns_own(monkeypatch):
    monkeypatch.setattr(parallel_boosting, "fast_path_verified", lambda: False)
    x, y = _data(4, 8, ties=True)
    reference = ensemble.GradientBoostingClassifier(n_estimators=4, random_state=2).fit(x, y)
    model = parallel_boosting.StageParallelGradientBoostingClassifier(
        n_estimators=4, random_state=2, num_threads=2
    ).fit(x, y)
    _assert_same_model(model, reference, x)


@pytest.mark.parametrize(
    "num_classes, seed, ties",
    [(2, 0, False), (3, 1, False), (6, 2, True), (7, 3, False), (40, 4, True), (40, 5, False)],
)
def test_equals_sklearn(num_classes, seed, ties):
    x, y = _data(num_classes, seed, ties=ties)
    reference = ensemble.GradientBoostingClassifier(n_estimators=8, random_state=seed).fit(x, y)
    parallel = parallel_boosting.StageParallelGradientBoostingClassifier(
        n_estimators=8, random_state=seed, num_threads=2
    ).fit(x, y)
    _assert_same_model(parallel, reference, x)
    assert parallel.get_params()["num_threads"] == 2


def test_single_thread_equals_sklearn():
    x, y = _data(3, 6, ties=True)
    reference = ensemble.GradientBoostingClassifier(n_estimators=5, random_state=1).fit(x, y)
    single = parallel_boosting.StageParallelGradientBoostingClassifier(
        n_estimators=5, random_state=1, num_threads=1
    ).fit(x, y)
    _assert_same_model(single, reference, x)


def test_concurrent_fits_equal_sklearn():
    """Fits of 2, 3, 6 and 40 classes at once, sharing one pool, each equal to its own fit."""
    datasets = [_data(k, seed, ties=seed % 2 == 0) for seed, k in enumerate((3, 40, 2, 6))]

    def fit(seed, x, y):
        model = parallel_boosting.StageParallelGradientBoostingClassifier(
            n_estimators=6, random_state=seed, num_threads=1
        )
        return model.fit(x, y)

    jobs = [(seed, x, y) for seed, (x, y) in enumerate(datasets)]
    fitted = parallel_boosting.map_in_threads(fit, jobs, sizes=[3, 40, 2, 6], num_threads=2)
    for seed, (model, (x, y)) in enumerate(zip(fitted, datasets, strict=True)):
        reference = ensemble.GradientBoostingClassifier(n_estimators=6, random_state=seed)
        _assert_same_model(model, reference.fit(x, y), x)


def test_map_in_threads_keeps_job_order_and_checks_sizes():
    jobs = [(value,) for value in (4, 1, 3)]
    assert parallel_boosting.map_in_threads(lambda v: v * 10, jobs, [1, 3, 2], 2) == [40, 10, 30]
    with pytest.raises(ValueError, match="one size per job"):
        parallel_boosting.map_in_threads(lambda v: v, jobs, [1], 2)


@pytest.mark.parametrize("weighted", [False, True])
def test_leaf_update_equals_sklearn(weighted):
    """`_update_leaves` against sklearn's `_update_terminal_regions`, with and without weights."""
    num_classes, k = 5, 2
    x, y = _data(num_classes, 7, n=900)
    rng = np.random.RandomState(0)
    raw = rng.normal(size=(len(y), num_classes))
    loss = _gb._LOSSES["multinomial_loss"](sample_weight=None, n_classes=num_classes)
    negative_gradient = -loss.gradient(y_true=y.astype(np.float64), raw_prediction=raw)
    weights = rng.uniform(0.5, 2.0, size=len(y)) if weighted else np.ones(len(y))
    trees, raws = [], []
    for _ in range(2):
        tree = DecisionTreeRegressor(max_depth=3, random_state=0)
        tree.fit(x, negative_gradient[:, k], sample_weight=weights)
        trees.append(tree.tree_)
        raws.append(raw.copy())
    _gb._update_terminal_regions(
        loss, trees[0], x, (y == k).astype(np.float64), negative_gradient[:, k], raws[0],
        weights, np.ones(len(y), dtype=bool), learning_rate=0.1, k=k,
    )  # fmt: skip
    parallel_boosting._update_leaves(
        trees[1], x, y == k, negative_gradient[:, k], raws[1], weights, 0.1, k, num_classes
    )
    assert np.array_equal(trees[1].value, trees[0].value)
    assert np.array_equal(raws[1], raws[0])
    assert not np.array_equal(raws[1], raw)


def test_replayed_draw_gives_its_one_draw_and_refuses_others():
    replay = parallel_boosting._ReplayedDraw()
    replay.value = 7
    with pytest.raises(RuntimeError, match="unexpectedly"):
        replay.randint(0, 10)
    assert replay.randint(0, parallel_boosting._RAND_R_MAX) == 7
    with pytest.raises(RuntimeError, match="unexpectedly"):
        replay.randint(0, parallel_boosting._RAND_R_MAX)  # used up
