"""A metric's sampling noise: rerun it with R random states (`tfdis_evaluate --repeats=R`).

dlib evaluates each metric once with `np.random.RandomState(random_seed)`. With R > 1 the metric
also runs with seeds `random_seed + 1, ..., random_seed + R - 1` and every numeric result `k`
gains `k.mean` and `k.std` (sample standard deviation, ddof 1) over the R runs, plus `repeats`;
`k` itself stays the value of the `random_seed` run, so dlib's keys keep dlib's values.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tfdis.evaluation.metrics import utils


def run_repeated(
    evaluation_fn: Callable[..., dict], kwargs: dict, random_seed: int, repeats: int = 1
) -> dict:
    """Runs `evaluation_fn(**kwargs)` with `repeats` random states; returns the results.

    Args:
        evaluation_fn: the metric.
        kwargs: its arguments; `random_state` is replaced per run.
        random_seed: the first run's seed (dlib's run).
        repeats: number of runs R (1: one run, dlib's behaviour).

    Returns:
        The first run's results, with `repeat_statistics` of all runs when R > 1.
    """
    repeats = utils.check_positive_int(repeats, "evaluation.repeats")
    runs = []
    for offset in range(repeats):
        run_kwargs = dict(kwargs, random_state=np.random.RandomState(random_seed + offset))
        runs.append(dict(evaluation_fn(**run_kwargs)))
    results = dict(runs[0])
    if repeats > 1:
        results.update(repeat_statistics(runs))
    return results


def repeat_statistics(runs: list[dict]) -> dict:
    """`k.mean` and `k.std` (ddof 1) of every key `k` that is a number in every run.

    Args:
        runs: the results of R >= 2 runs of one metric.

    Returns:
        `{"k.mean": float, "k.std": float, ..., "repeats": R}`.
    """
    if len(runs) < 2:
        raise ValueError(f"repeat statistics need at least 2 runs, got {len(runs)}")
    statistics = {}
    for key in runs[0]:
        values = [run.get(key) for run in runs]
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            values = np.asarray(values, dtype=np.float64)
            statistics[f"{key}.mean"] = float(values.mean())
            statistics[f"{key}.std"] = float(values.std(ddof=1))
    statistics["repeats"] = len(runs)
    return statistics
