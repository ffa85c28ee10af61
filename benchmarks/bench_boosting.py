"""Exact gradient boosting at study size: sklearn against tfdis, side by side, bit for bit.

The codes are 10,000 x 10 float32 (5 informative: a noisy copy of one dSprites factor each;
5 collapsed: noise), the factors dSprites' (3, 6, 40, 32, 32 classes). Two workloads:

- dci: one `GradientBoostingClassifier()` per factor on 10,000 training points, accuracy on
  them and on 5,000 test points (DCI's exact backend);
- downstream: the same per factor at each training size 10, 100, 1000, 10000 (the
  boosted-trees downstream task of unsupervised_study_v1).

Each is run three ways: "sklearn" (dlib's code: one fit after another on one core),
"processes" (the factors in `--threads` processes, largest first, each stage's trees in threads:
tfdis's scheduling before), and "tfdis" (every factor's fit at once on one shared pool of tree-building threads, as `dci.compute_importance_gbt` and
`predictors.fit_factors` run them). The script checks the importances and accuracies are
bit-identical and prints seconds and ratios.

`--profile` first prints where one sklearn fit of the 40-class factor spends its time.
`--n_estimators` below 100 shortens every fit proportionally (the cost per stage is constant),
for a quick ratio; the study size is the default. `--repeats=R` times each way R times in
rotating order, so the drifting load of a shared machine spreads over all three.

Usage:
    nice -n 10 python benchmarks/bench_boosting.py [--profile] [--n_estimators=25]
        [--workloads=dci,downstream] [--threads=2] [--repeats=3]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time

import joblib
import numpy as np
from sklearn import ensemble
from sklearn.utils import _sorting

from tfdis.evaluation.metrics import parallel_boosting

NUM_CLASSES = (3, 6, 40, 32, 32)
DOWNSTREAM_SIZES = (10, 100, 1000, 10000)


def make_codes(num_points: int, random_state: np.random.RandomState):
    """`(codes (10, N) float32, factors (5, N) int)`: dSprites-like factors and their codes."""
    factors = np.stack([random_state.randint(k, size=num_points) for k in NUM_CLASSES])
    informative = factors / np.array(NUM_CLASSES)[:, None] + random_state.normal(
        scale=0.05, size=factors.shape
    )
    collapsed = random_state.normal(scale=1.0, size=(5, num_points))
    return np.concatenate([informative, collapsed]).astype(np.float32), factors


def _sklearn_fit(x, y, x_test, y_test, seed, n_estimators):
    """One plain sklearn fit: `(importances, train acc, test acc)`."""
    model = ensemble.GradientBoostingClassifier(n_estimators=n_estimators, random_state=seed)
    model.fit(x, y)
    return (
        model.feature_importances_,
        float(np.mean(model.predict(x) == y)),
        float(np.mean(model.predict(x_test) == y_test)),
    )


def _stage_threads_fit(x, y, x_test, y_test, seed, n_estimators):
    """One fit with its stages' trees in 2 threads (run in a worker process)."""
    model = parallel_boosting.StageParallelGradientBoostingClassifier(
        n_estimators=n_estimators, random_state=seed, num_threads=2
    )
    model.fit(x, y)
    return (
        model.feature_importances_,
        float(np.mean(model.predict(x) == y)),
        float(np.mean(model.predict(x_test) == y_test)),
    )


def _tasks(codes, factors, codes_test, factors_test, seeds):
    return [
        (codes.T, factors[j], codes_test.T, factors_test[j], int(seeds[j]))
        for j in range(factors.shape[0])
    ]


def run_sklearn(tasks, n_estimators, threads):
    del threads
    return [_sklearn_fit(*task, n_estimators) for task in tasks]


def run_processes(tasks, n_estimators, threads):
    order = sorted(range(len(tasks)), key=lambda j: -len(np.unique(tasks[j][1])))
    outputs = joblib.Parallel(n_jobs=threads, prefer="processes")(
        joblib.delayed(_stage_threads_fit)(*tasks[j], n_estimators) for j in order
    )
    results = [None] * len(tasks)
    for j, output in zip(order, outputs, strict=True):
        results[j] = output
    return results


def run_tfdis(tasks, n_estimators, threads):
    def fit(x, y, x_test, y_test, seed):
        return _stage_threads_fit(x, y, x_test, y_test, seed, n_estimators)

    sizes = [len(np.unique(task[1])) for task in tasks]
    return parallel_boosting.map_in_threads(fit, tasks, sizes, threads)


def profile_one_fit(codes, factors, n_estimators):
    """Prints where one sklearn fit of the 40-class factor spends its time."""
    x, y = codes.T, factors[2]
    model = ensemble.GradientBoostingClassifier(n_estimators=n_estimators, random_state=0)
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    model.fit(x, y)
    profiler.disable()
    total = time.perf_counter() - start
    stats = pstats.Stats(profiler).stats

    def cumulative(suffix: str, name: str) -> float:
        return sum(
            value[3]
            for (path, _, function), value in stats.items()
            if path.endswith(suffix) and function == name
        )

    tree_fit = cumulative("tree/_classes.py", "_fit")
    tree_own = sum(
        value[2]
        for (path, _, function), value in stats.items()
        if path.endswith("tree/_classes.py") and function == "_fit"
    )
    leaves = cumulative("ensemble/_gb.py", "_update_terminal_regions")
    gradient = cumulative("_loss/loss.py", "gradient")
    train_loss = cumulative("_loss/loss.py", "__call__")
    num_trees = n_estimators * len(np.unique(y))
    # The splitter sorts each node's samples by each feature (3-way introsort): 3 levels of
    # 10 features over all N samples per depth-3 tree.
    values = x[:, 0].copy()
    start = time.perf_counter()
    for _ in range(30):
        work = values.copy()
        _sorting._py_simultaneous_sort(
            work, np.arange(len(work)), len(work), use_three_way_partition=True
        )
    sort_per_tree = time.perf_counter() - start
    print(f"profile: one sklearn fit, {len(y)} x {x.shape[1]}, 40 classes, {n_estimators} stages:")
    print(f"  total                                   {total:7.2f} s")
    print(f"  tree building (DecisionTreeRegressor)   {tree_fit:7.2f} s  {tree_fit / total:6.1%}")
    print(f"    of which inside the Cython builder    {tree_own:7.2f} s  {tree_own / total:6.1%}")
    sorts = sort_per_tree * num_trees
    print(f"    sorting (30 introsorts of N per tree) {sorts:7.2f} s  {sorts / total:6.1%} (est.)")
    print(f"  leaf line search (_update_terminal_.)   {leaves:7.2f} s  {leaves / total:6.1%}")
    print(f"  multinomial gradient                    {gradient:7.2f} s  {gradient / total:6.1%}")
    print(
        f"  train loss per stage                    {train_loss:7.2f} s  {train_loss / total:6.1%}"
    )
    rest = total - tree_fit - leaves - gradient - train_loss
    print(f"  rest (Python per stage)                 {rest:7.2f} s  {rest / total:6.1%}")


def _same(a, b) -> bool:
    return all(
        np.array_equal(ra[0], rb[0]) and ra[1] == rb[1] and ra[2] == rb[2]
        for ra, rb in zip(a, b, strict=True)
    )


def time_workload(name, task_sets, n_estimators, threads, repeats):
    """Times the three ways `repeats` times, rotating their order (a shared machine's load
    drifts); prints wall and CPU seconds summed over the repeats, and the ratios."""
    runners = {"sklearn": run_sklearn, "processes": run_processes, "tfdis": run_tfdis}
    labels = list(runners)
    timings, cpus, outputs = dict.fromkeys(labels, 0.0), dict.fromkeys(labels, 0.0), {}
    for repeat in range(repeats):
        for label in labels[repeat % 3 :] + labels[: repeat % 3]:
            start, cpu_start = time.perf_counter(), time.process_time()
            outputs[label] = [runners[label](tasks, n_estimators, threads) for tasks in task_sets]
            timings[label] += time.perf_counter() - start
            cpus[label] += time.process_time() - cpu_start
    for label in labels:
        # CPU seconds of this process's threads (the worker processes' are not counted).
        cpu = "" if label == "processes" else f"  ({cpus[label]:.1f} s CPU)"
        print(f"  {name:10s} {label:9s} {timings[label]:8.1f} s{cpu}", flush=True)
    identical = all(
        _same(a, b)
        for label in ("processes", "tfdis")
        for a, b in zip(outputs["sklearn"], outputs[label], strict=True)
    )
    print(
        f"  {name:10s} sklearn / tfdis {timings['sklearn'] / timings['tfdis']:.2f}x, "
        f"processes / tfdis {timings['processes'] / timings['tfdis']:.2f}x, "
        f"bit-identical: {identical}"
    )
    return identical


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n_estimators", type=int, default=100)
    parser.add_argument("--workloads", default="dci,downstream")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--repeats", type=int, default=1, help="timed rounds, order rotated")
    args = parser.parse_args()
    workloads = [w for w in args.workloads.split(",") if w]
    unknown = set(workloads) - {"dci", "downstream"}
    if unknown or min(args.n_estimators, args.threads, args.repeats) < 1:
        raise SystemExit(
            f"error: --workloads takes dci,downstream (got {sorted(unknown)}); "
            "--n_estimators, --threads and --repeats must be >= 1"
        )
    rng = np.random.RandomState(0)
    codes, factors = make_codes(10000, rng)
    codes_test, factors_test = make_codes(5000, rng)
    seeds = rng.randint(2**31 - 1, size=len(NUM_CLASSES))
    print(f"{args.n_estimators} stages per fit, {args.threads} threads, classes {NUM_CLASSES}")
    if args.profile:
        profile_one_fit(codes, factors, args.n_estimators)
    ok = True
    if "dci" in workloads:
        ok &= time_workload(
            "dci", [_tasks(codes, factors, codes_test, factors_test, seeds)], args.n_estimators,
            args.threads, args.repeats,
        )  # fmt: skip
    if "downstream" in workloads:
        task_sets = [
            _tasks(codes[:, :n], factors[:, :n], codes_test, factors_test, seeds)
            for n in DOWNSTREAM_SIZES
        ]
        ok &= time_workload("downstream", task_sets, args.n_estimators, args.threads, args.repeats)
    if not ok:
        raise SystemExit("error: tfdis's results differ from sklearn's")


if __name__ == "__main__":
    main()
