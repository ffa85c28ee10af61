"""`--repeats`: a metric rerun with R random states, mean and std beside dlib's keys."""

from __future__ import annotations

import numpy as np
import pytest

from tfdis.evaluation.repeats import repeat_statistics, run_repeated
from tfdis.evaluation.runs import evaluate_run
from tfdis.testing import TINY_TRAINING_BINDINGS
from tfdis.training import train


def _metric(calls):
    def metric(random_state, **kwargs):
        calls.append(kwargs)
        return {"score": random_state.uniform(), "flag": True, "name": "x", "matrix": [1.0]}

    return metric


def test_run_repeated_statistics_over_seeds():
    calls = []
    results = run_repeated(_metric(calls), {"other": 1}, random_seed=5, repeats=4)
    draws = [np.random.RandomState(5 + r).uniform() for r in range(4)]
    assert results["score"] == draws[0]  # dlib's key keeps the random_seed run's value
    assert results["score.mean"] == pytest.approx(np.mean(draws))
    assert results["score.std"] == pytest.approx(np.std(draws, ddof=1))
    assert results["repeats"] == 4
    assert "flag.mean" not in results and "name.mean" not in results
    assert "matrix.mean" not in results
    assert len(calls) == 4 and all(c == {"other": 1} for c in calls)


def test_one_repeat_is_dlibs_single_run_and_bad_counts_run_nothing():
    calls = []
    results = run_repeated(_metric(calls), {}, random_seed=5)
    assert results == {"score": np.random.RandomState(5).uniform(), "flag": True, "name": "x",
                       "matrix": [1.0]}  # fmt: skip
    assert len(calls) == 1
    with pytest.raises(ValueError, match="repeats"):
        run_repeated(_metric(calls), {}, random_seed=5, repeats=0)
    assert len(calls) == 1
    with pytest.raises(ValueError, match="at least 2"):
        repeat_statistics([{"a": 1.0}])


def test_evaluate_run_with_repeats(tmp_path):
    model_dir = str(tmp_path / "model")
    train.train_with_gin(model_dir, gin_bindings=TINY_TRAINING_BINDINGS)
    bindings = ["mig.num_train = 200"]
    repeated = evaluate_run(model_dir, ["mig"], gin_bindings=bindings, repeats=3)["mig"]
    singles = [
        evaluate_run(
            model_dir, ["mig"], overwrite=True,
            gin_bindings=[*bindings, f"evaluation.random_seed = {seed}"],
        )["mig"]["discrete_mig"]
        for seed in range(3)
    ]  # fmt: skip
    assert repeated["discrete_mig"] == singles[0]
    assert repeated["discrete_mig.mean"] == pytest.approx(np.mean(singles))
    assert repeated["discrete_mig.std"] == pytest.approx(np.std(singles, ddof=1))
    assert repeated["repeats"] == 3
    with pytest.raises(ValueError, match="--repeats"):
        evaluate_run(model_dir, ["mig"], overwrite=True, repeats=0)
