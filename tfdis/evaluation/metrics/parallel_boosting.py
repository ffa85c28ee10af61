"""scikit-learn's GradientBoostingClassifier with each stage's K trees built in threads.

A multi-class boosting stage fits K regression trees, one per class, on the negative gradient
computed once at the start of the stage. The trees are independent given that gradient, and
sklearn's tree builder releases the GIL, so they can be built in parallel threads.

The result is bit-for-bit that of `GradientBoostingClassifier` (tests/evaluation/metrics/
test_parallel_boosting.py compares the importances and decision functions). Each tree draws
exactly one integer from the shared RandomState when its splitter starts, in class order, so
every tree gets a copy of the state it would have seen and the shared state advances by the same
K draws. Each class's leaf update touches only its own column of the raw predictions, and is
applied in class order after the trees are built.

This reaches into sklearn internals (`_fit_stage`, `_update_terminal_regions`). When they are
not as expected (`FAST_PATH_AVAILABLE` is False), or a stage has a single tree, the class falls
back to sklearn's own sequential stage.
"""

from __future__ import annotations

import concurrent.futures
import copy
import inspect

import numpy as np
from sklearn import ensemble
from sklearn.ensemble import _gb
from sklearn.tree import DecisionTreeRegressor

# sklearn's splitter draws `random_state.randint(0, RAND_R_MAX)` once per tree.
_RAND_R_MAX = 2147483647
_EXPECTED_STAGE_ARGS = [
    "self", "i", "X", "y", "raw_predictions", "sample_weight", "sample_mask", "random_state",
    "X_csc", "X_csr",
]  # fmt: skip
FAST_PATH_AVAILABLE = hasattr(_gb, "_update_terminal_regions") and (
    list(inspect.signature(ensemble.GradientBoostingClassifier._fit_stage).parameters)
    == _EXPECTED_STAGE_ARGS
)


class StageParallelGradientBoostingClassifier(ensemble.GradientBoostingClassifier):
    """`GradientBoostingClassifier` with the trees of a stage built by `num_threads` threads.

    Args:
        num_threads: threads per fit (1 gives sklearn's sequential loop).
        **kwargs: the `GradientBoostingClassifier` parameters.
    """

    def __init__(self, *, num_threads: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.num_threads = num_threads

    @classmethod
    def _get_param_names(cls):
        # sklearn reads parameters from the parent's signature plus ours.
        return sorted({*ensemble.GradientBoostingClassifier._get_param_names(), "num_threads"})

    def fit(self, X, y, sample_weight=None, monitor=None):
        with concurrent.futures.ThreadPoolExecutor(max(1, self.num_threads)) as pool:
            self._pool = pool
            try:
                return super().fit(X, y, sample_weight=sample_weight, monitor=monitor)
            finally:
                del self._pool

    def _fit_stage(
        self,
        i,
        X,
        y,
        raw_predictions,
        sample_weight,
        sample_mask,
        random_state,
        X_csc=None,
        X_csr=None,
    ):
        num_trees = self.n_trees_per_iteration_
        if (
            not FAST_PATH_AVAILABLE
            or self.num_threads < 2
            or num_trees < 2
            or not self._loss.is_multiclass
            or self.subsample < 1.0
            or X_csc is not None
        ):
            return super()._fit_stage(
                i, X, y, raw_predictions, sample_weight, sample_mask, random_state, X_csc, X_csr
            )
        negative_gradient = -self._loss.gradient(
            y_true=y, raw_prediction=raw_predictions, sample_weight=None
        )
        states = []
        for _ in range(num_trees):
            states.append(copy.deepcopy(random_state))
            random_state.randint(0, _RAND_R_MAX)

        def fit_tree(k: int) -> DecisionTreeRegressor:
            tree = DecisionTreeRegressor(
                criterion="squared_error",
                splitter="best",
                max_depth=self.max_depth,
                min_samples_split=self.min_samples_split,
                min_samples_leaf=self.min_samples_leaf,
                min_weight_fraction_leaf=self.min_weight_fraction_leaf,
                min_impurity_decrease=self.min_impurity_decrease,
                max_features=self.max_features,
                max_leaf_nodes=self.max_leaf_nodes,
                random_state=states[k],
                ccp_alpha=self.ccp_alpha,
            )
            tree.fit(X, negative_gradient[:, k], sample_weight=sample_weight, check_input=False)
            return tree

        for k, tree in enumerate(self._pool.map(fit_tree, range(num_trees))):
            _gb._update_terminal_regions(
                self._loss,
                tree.tree_,
                X,
                np.array(y == k, dtype=np.float64),
                negative_gradient[:, k],
                raw_predictions,
                sample_weight,
                sample_mask,
                learning_rate=self.learning_rate,
                k=k,
            )
            self.estimators_[i, k] = tree
        return raw_predictions
