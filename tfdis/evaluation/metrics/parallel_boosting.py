"""scikit-learn's GradientBoostingClassifier with its trees built in threads, bit for bit.

Where the time goes (`benchmarks/bench_boosting.py --profile`): a study-size fit (10,000 x 10
float32 codes, depth-3 trees) spends about 94% of its time inside sklearn's Cython tree builder,
most of it sorting each node's samples for each feature; the per-stage Python (the multinomial
gradient, the per-leaf line search of `_update_terminal_regions`, the raw-prediction update)
is the other ~6%. The builder releases the GIL, so the speed comes from keeping every core
building trees, and from making the Python part that holds the GIL cheap:

- A multi-class boosting stage fits K regression trees, one per class, on the negative gradient
  computed once at the start of the stage. The trees are independent given that gradient, so
  they are built in parallel threads.
- The fits of different targets (DCI's factors, the downstream task's factors) are independent
  too: `map_in_threads` runs them concurrently, each in its own thread, with all their trees
  built by one shared pool of `num_threads` workers, so the cores stay busy to the end instead
  of waiting at a small fit's stage barriers.
- Each tree's leaf line search (`_update_leaves`) groups the samples by leaf with one stable
  sort instead of one full scan per leaf, and runs in the worker right after the tree is built.

The result is bit-for-bit that of `GradientBoostingClassifier` (tests/evaluation/metrics/
test_parallel_boosting.py compares the importances and decision functions): each tree draws
exactly one integer from the shared RandomState when its splitter starts, in class order, so
the stage takes those K draws up front and hands tree k the k-th (`_ReplayedDraw`); class k's leaf update reads only the stage's gradient and touches only column k of the
raw predictions; each leaf's averages are numpy's own `mean` over that leaf's samples in
increasing index order, as sklearn computes them.

This reaches into sklearn internals (`_fit_stage`, `_update_terminal_regions`, `_safe_divide`).
When they are not as expected (`FAST_PATH_AVAILABLE` is False, or `fast_path_verified()`, a
small fit compared with sklearn's once per process, fails), or a stage has a single tree, the
stage is sklearn's own (`_fit_stage`), still run in the shared pool.
"""

from __future__ import annotations

import concurrent.futures
import functools
import inspect
import math
import threading
import warnings
from collections.abc import Callable, Sequence

import numpy as np
from sklearn import ensemble
from sklearn._loss import loss as sk_loss
from sklearn.ensemble import _gb
from sklearn.tree import DecisionTreeRegressor

# sklearn's splitter draws `random_state.randint(0, RAND_R_MAX)` once per tree.
_RAND_R_MAX = 2147483647
_TREE_LEAF = -1
_EXPECTED_STAGE_ARGS = [
    "self", "i", "X", "y", "raw_predictions", "sample_weight", "sample_mask", "random_state",
    "X_csc", "X_csr",
]  # fmt: skip
FAST_PATH_AVAILABLE = (
    hasattr(_gb, "_update_terminal_regions")
    and hasattr(_gb, "_safe_divide")
    and hasattr(sk_loss, "HalfMultinomialLoss")
    and list(inspect.signature(ensemble.GradientBoostingClassifier._fit_stage).parameters)
    == _EXPECTED_STAGE_ARGS
)


class StageParallelGradientBoostingClassifier(ensemble.GradientBoostingClassifier):
    """`GradientBoostingClassifier` with the trees of a stage built by `num_threads` threads.

    Args:
        num_threads: threads per fit (1 gives sklearn's sequential loop); ignored inside
            `map_in_threads`, whose shared pool builds the trees.
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
        try:
            return self._fit_in_pool(X, y, sample_weight, monitor)
        finally:
            self.__dict__.pop("_replays", None)

    def _fit_in_pool(self, X, y, sample_weight, monitor):
        shared = getattr(_SHARED_POOL, "pool", None)
        if shared is not None:
            self._pool = shared
            try:
                return super().fit(X, y, sample_weight=sample_weight, monitor=monitor)
            finally:
                del self._pool
        if self.num_threads < 2:
            self._pool = None
            try:
                return super().fit(X, y, sample_weight=sample_weight, monitor=monitor)
            finally:
                del self._pool
        with concurrent.futures.ThreadPoolExecutor(self.num_threads) as pool:
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
        pool = getattr(self, "_pool", None)
        if pool is None:
            return super()._fit_stage(
                i, X, y, raw_predictions, sample_weight, sample_mask, random_state, X_csc, X_csr
            )
        num_trees = self.n_trees_per_iteration_
        if (
            not (self.__dict__.get("_checking") or fast_path_verified())
            # sklearn >= 1.8 builds "squared_error" trees whatever `criterion` says (it is
            # deprecated); older versions build `criterion` trees ("friedman_mse" by default).
            or getattr(self, "criterion", "deprecated") not in ("deprecated", "squared_error")
            or num_trees < 2
            or not isinstance(self._loss, sk_loss.HalfMultinomialLoss)
            or self.subsample < 1.0
            or X_csc is not None
        ):
            # sklearn's own stage, its tree built in the pool (it does not wait on the pool).
            sequential_stage = super()._fit_stage
            return pool.submit(
                sequential_stage,
                i, X, y, raw_predictions, sample_weight, sample_mask, random_state, X_csc, X_csr,
            ).result()  # fmt: skip
        negative_gradient = -self._loss.gradient(
            y_true=y, raw_prediction=raw_predictions, sample_weight=None
        )
        # One draw per tree from the shared state, in class order, as sklearn's loop takes them.
        # (A deep copy of the state per tree costs more than a small tree's fit.)
        replays = self.__dict__.get("_replays")
        if replays is None or len(replays) != num_trees:
            replays = self._replays = [_ReplayedDraw() for _ in range(num_trees)]
        for replay in replays:
            replay.value = random_state.randint(0, _RAND_R_MAX)

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
                random_state=replays[k],
                ccp_alpha=self.ccp_alpha,
            )
            tree.fit(X, negative_gradient[:, k], sample_weight=sample_weight, check_input=False)
            _update_leaves(
                tree.tree_,
                X,
                y == k,
                negative_gradient[:, k],
                raw_predictions,
                sample_weight,
                self.learning_rate,
                k,
                num_trees,
            )
            return tree

        # Largest classes first is irrelevant here (equal-sized trees); submit in class order.
        futures = [pool.submit(fit_tree, k) for k in range(num_trees)]
        for k, future in enumerate(futures):
            self.estimators_[i, k] = future.result()
        return raw_predictions


@functools.cache
def fast_path_verified() -> bool:
    """Whether the threaded stage equals sklearn's on this sklearn (checked once per process).

    A 4-class fit of 3 stages on 90 points with ties, against `GradientBoostingClassifier`:
    importances and decision functions must be equal, else every stage is sklearn's own.
    """
    if not FAST_PATH_AVAILABLE:
        return False
    rng = np.random.RandomState(0)
    y = rng.randint(4, size=90)
    x = np.round(y[:, None] / 4 + rng.normal(scale=0.5, size=(90, 3)), 1).astype(np.float32)
    reference = ensemble.GradientBoostingClassifier(n_estimators=3, random_state=0).fit(x, y)
    candidate = StageParallelGradientBoostingClassifier(n_estimators=3, random_state=0)
    candidate._checking = True
    try:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            candidate._pool = pool
            ensemble.GradientBoostingClassifier.fit(candidate, x, y)
    except Exception:  # any failure of the internals means: use sklearn's own stages
        return False
    return bool(
        np.array_equal(candidate.feature_importances_, reference.feature_importances_)
        and np.array_equal(candidate.decision_function(x), reference.decision_function(x))
    )


class _ReplayedDraw(np.random.RandomState):
    """A RandomState whose one `randint(0, RAND_R_MAX)` returns `value`.

    sklearn's splitter seeds itself with one such draw from the boosting's shared state. Each
    tree of a stage gets one of these holding the draw it would have taken there; any other
    use raises, so a sklearn that draws differently fails loudly instead of differing.
    """

    def __init__(self):
        super().__init__(0)
        self.value = None

    def randint(self, low, high=None, size=None, dtype=int):
        if (low, high, size, dtype) != (0, _RAND_R_MAX, None, int) or self.value is None:
            raise RuntimeError(
                "parallel_boosting: sklearn's tree drew its seed unexpectedly "
                f"(randint({low}, {high}, size={size}, dtype={dtype}))"
            )
        value, self.value = self.value, None
        return value


def _update_leaves(
    tree,
    X: np.ndarray,
    is_class: np.ndarray,
    negative_gradient: np.ndarray,
    raw_predictions: np.ndarray,
    sample_weight: np.ndarray | None,
    learning_rate: float,
    k: int,
    num_classes: int,
) -> None:
    """sklearn's multinomial `_update_terminal_regions` (no subsampling), bit for bit.

    Each leaf's value becomes one Newton step, `mean(g) * (K - 1) / K / mean(p (1 - p))` over
    the leaf's samples (`g` the negative gradient, `p = y - g`), then column k of the raw
    predictions `(N, K)` moves by `learning_rate` times its sample's leaf value. sklearn finds
    each leaf's samples with a scan of all N; here one stable sort groups them, in the same
    increasing index order, and numpy's `mean` of each contiguous group is the very reduction
    sklearn's `np.average` does.

    Args:
        tree: the fitted `sklearn.tree._tree.Tree`; its leaf values are overwritten.
        X: float32 `(N, D)` training inputs.
        is_class: bool `(N,)`, the one-vs-rest target of class k.
        negative_gradient: `(N,)` negative gradient of class k.
        raw_predictions: float64 `(N, K)`, updated in place (column k only).
        sample_weight: `(N,)` weights (all ones when the fit had none).
        learning_rate: the shrinkage.
        k: the class.
        num_classes: K.
    """
    terminal_regions = tree.apply(X)
    leaves = np.nonzero(tree.children_left == _TREE_LEAF)[0]
    # Node ids fit in 16 bits for any tree of depth < 15; numpy's stable sort of 16-bit keys is
    # a radix sort.
    keys = terminal_regions.astype(np.int16) if tree.node_count < 2**15 else terminal_regions
    order = np.argsort(keys, kind="stable")
    counts = np.bincount(terminal_regions, minlength=tree.node_count)
    ends = np.cumsum(counts)
    y = is_class.astype(np.float64)
    neg_g_sorted = negative_gradient.take(order, axis=0)
    prob_sorted = y.take(order, axis=0) - neg_g_sorted
    hessian_sorted = prob_sorted * (1 - prob_sorted)
    # sklearn's fit passes all-ones weights when it was given none; np.average then computes
    # sum(x * 1) / sum(1) = sum(x) / n, the same floats as `mean`, which skips the products.
    if sample_weight is not None and np.all(sample_weight == 1.0):
        sample_weight = None
    weights_sorted = None if sample_weight is None else sample_weight.take(order, axis=0)
    factor = (num_classes - 1) / num_classes
    for leaf in leaves:
        start, end = ends[leaf] - counts[leaf], ends[leaf]
        if weights_sorted is None:
            numerator = neg_g_sorted[start:end].mean()
            denominator = hessian_sorted[start:end].mean()
        else:
            numerator = np.average(neg_g_sorted[start:end], weights=weights_sorted[start:end])
            denominator = np.average(hessian_sorted[start:end], weights=weights_sorted[start:end])
        numerator *= factor
        tree.value[leaf, 0, 0] = _safe_divide(numerator, denominator)
    raw_predictions[:, k] += learning_rate * tree.value[:, 0, 0].take(terminal_regions, axis=0)


def _safe_divide(numerator, denominator) -> float:
    """sklearn's `_safe_divide`: 0 for a (near-)zero denominator, else the quotient."""
    if abs(denominator) < 1e-150:
        return 0.0
    result = float(numerator) / float(denominator)
    if math.isinf(result):
        warnings.warn("overflow encountered in _safe_divide", RuntimeWarning, stacklevel=2)
    return result


_SHARED_POOL = threading.local()


def map_in_threads(
    function: Callable[..., object],
    jobs: Sequence[tuple],
    sizes: Sequence[int],
    num_threads: int,
) -> list:
    """`[function(*job) for job in jobs]`, every job in its own thread, trees in a shared pool.

    Every `StageParallelGradientBoostingClassifier` fitted inside `function` builds its trees
    (and runs its stages) in one pool of `num_threads` worker threads shared by all the jobs,
    so several fits keep all cores busy together. The jobs start largest `sizes` first.
    Results do not depend on the number of threads or on the scheduling.

    Args:
        function: called as `function(*job)` in a job thread.
        jobs: the argument tuples.
        sizes: one cost estimate per job (e.g. its number of classes).
        num_threads: tree-building worker threads (one per core).

    Returns:
        The results, in the order of `jobs`.
    """
    if len(jobs) != len(sizes):
        raise ValueError(f"map_in_threads needs one size per job, got {len(sizes)} for {len(jobs)}")
    order = sorted(range(len(jobs)), key=lambda j: -sizes[j])
    with concurrent.futures.ThreadPoolExecutor(max(1, num_threads)) as pool:

        def run(j: int):
            _SHARED_POOL.pool = pool
            try:
                return function(*jobs[j])
            finally:
                _SHARED_POOL.pool = None

        with concurrent.futures.ThreadPoolExecutor(max(1, len(jobs))) as job_threads:
            futures = {j: job_threads.submit(run, j) for j in order}
            return [futures[j].result() for j in range(len(jobs))]
