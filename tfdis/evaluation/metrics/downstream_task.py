"""Downstream classification (dlib's `downstream_task`), with Schott et al.'s splits as an option.

For each training size n in `num_train`, dlib samples n training and `num_test` test points,
fits one classifier per factor (`predictor.predictor_fn`: `@logistic_regression_cv` or
`@gradient_boosting_classifier`, `tfdis.evaluation.metrics.predictors`) from all codes to the
factor's value, and reports its accuracy on both sets (Locatello et al., ICML 2019, Section 5):

    "<n>:train_accuracy_factor_<i>", "<n>:test_accuracy_factor_<i>",
    "<n>:mean_train_accuracy", "<n>:mean_test_accuracy", "<n>:min_train_accuracy",
    "<n>:min_test_accuracy"   (mean and min over factors).

`downstream_task.split` (tfdis's option; dlib has only "iid") draws the training and test points
from different regions of factor space, after Schott et al., "Visual Representation Learning Does
Not Generalize Strongly Within the Same Domain" (ICLR 2022, Section 3). With `q =
split_fraction` and K_f values of a split factor f, n_f = max(1, round(q K_f)) values are held out:

- "extrapolation": the top n_f values of f are held out (test), training sees the rest;
- "interpolation": a central band of n_f values of f is held out;
- "composition": the combinations where every split factor (at least two) lies in its lowest
  n_f values are held out; each value on its own still occurs in training.

A test point is held out if any split factor (extrapolation, interpolation) or all of them
(composition) fall in the held-out values; both sets are sampled uniformly within their region
(by rejection from the dataset's sampler). Schott et al. read factors out by regression (R^2);
here the readout stays dlib's classifier, so a factor whose held-out values never occur in
training (the split factor under extrapolation or interpolation) cannot be classified and is
left out of the keys and of the mean and min; under composition every factor is scored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import gin
import numpy as np

from tfdis.data.ground_truth_data import GroundTruthData
from tfdis.evaluation.metrics import predictors, utils
from tfdis.utils import gin_validation

SPLITS = ("iid", "extrapolation", "interpolation", "composition")


# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "downstream_task": {
            "split_factors": {"kind": "ints"},
            "n_jobs": {"kind": "int"},
            "num_train": {"kind": "int_or_ints", "positive": True},
            "split": {"kind": "str", "choices": SPLITS},
            "split_fraction": {"kind": "number", "positive": True, "below": 1},
            "num_test": {"kind": "int", "positive": True},
            "batch_size": {"kind": "int", "positive": True},
        }
    },
)


@gin.configurable(
    "downstream_task",
    denylist=["ground_truth_data", "representation_function", "random_state", "artifact_dir"],
)
def compute_downstream_task(
    ground_truth_data: GroundTruthData,
    representation_function: utils.RepresentationFunction,
    random_state: np.random.RandomState,
    artifact_dir: str | None = None,
    num_train: Sequence[int] | int = (10, 100, 1000, 10000),
    num_test: int = 5000,
    batch_size: int = utils.DEFAULT_ENCODE_BATCH,
    split: str = "iid",
    split_factors: Sequence[int] = (-1,),
    split_fraction: float = 0.3,
    n_jobs: int = -1,
) -> dict[str, float]:
    """Accuracy of per-factor classifiers trained on codes, for each training size.

    Args:
        ground_truth_data: the dataset.
        representation_function: `(B, H, W, C)` observations -> `(B, num_codes)` codes.
        random_state: source of all randomness (also seeds the classifiers).
        artifact_dir: unused (dlib signature).
        num_train: training sizes (dlib's study: 10, 100, 1000, 10000).
        num_test: test points per training size (5000).
        batch_size: observations per encoder call (speed only).
        split: "iid" (dlib) or a Schott et al. split: "extrapolation", "interpolation",
            "composition".
        split_factors: factor indices that define the split (negative counts from the end).
        split_fraction: share of each split factor's values held out.
        n_jobs: parallel workers (-1: all cores), as in `predictors.score_fits`.

    Returns:
        dlib's keys (module docstring) for every training size.
    """
    gin_validation.check_parameters("downstream_task", locals(), _GIN_RULES["downstream_task"])
    del artifact_dir
    sizes = [num_train] if isinstance(num_train, int) else list(num_train)
    held_out, unscorable = _split_region(
        ground_truth_data.factors_num_values, split, split_factors, split_fraction
    )
    predictor_fn = predictors.make_predictor_fn()
    scores = {}
    for size in sizes:
        train = sample_codes(
            ground_truth_data, representation_function, size, random_state, batch_size,
            keep=None if held_out is None else lambda f: ~held_out(f),
        )  # fmt: skip
        test = sample_codes(
            ground_truth_data, representation_function, num_test, random_state, batch_size,
            keep=held_out,
        )  # fmt: skip
        scores.update(
            _compute_downstream_task(
                *train, *test, predictor_fn, random_state, size, unscorable, n_jobs
            )
        )
    return scores


def _compute_downstream_task(
    codes: np.ndarray,
    factors: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    predictor_fn: Callable[..., object],
    random_state: np.random.RandomState,
    size: int | str,
    unscorable: Sequence[int] = (),
    n_jobs: int = -1,
) -> dict[str, float]:
    """dlib's keys for one training size from codes `(num_codes, N)` and factors `(F, N)`."""
    if codes.shape[1] != factors.shape[1] or codes_test.shape[1] != factors_test.shape[1]:
        raise ValueError(
            "codes (num_codes, N) and factors (num_factors, N) need the same N; got "
            f"{codes.shape}, {factors.shape}, {codes_test.shape}, {factors_test.shape}"
        )
    scored = [i for i in range(factors.shape[0]) if i not in set(unscorable)]
    accuracies = predictors.fit_factors(
        codes, factors[scored], [(codes_test, factors_test[scored])], predictor_fn,
        random_state, n_jobs,
    )  # fmt: skip
    train_acc, test_acc = accuracies[:, 0], accuracies[:, 1]
    scores = {
        f"{size}:mean_train_accuracy": float(np.mean(train_acc)),
        f"{size}:mean_test_accuracy": float(np.mean(test_acc)),
        f"{size}:min_train_accuracy": float(np.min(train_acc)),
        f"{size}:min_test_accuracy": float(np.min(test_acc)),
    }
    for index, factor in enumerate(scored):
        scores[f"{size}:train_accuracy_factor_{factor}"] = float(train_acc[index])
        scores[f"{size}:test_accuracy_factor_{factor}"] = float(test_acc[index])
    return scores


def encode_factors(
    ground_truth_data: GroundTruthData,
    representation_function: utils.RepresentationFunction,
    factors: np.ndarray,
    random_state: np.random.RandomState,
    batch_size: int = utils.DEFAULT_ENCODE_BATCH,
) -> np.ndarray:
    """Renders and encodes factors `(N, F)` a batch at a time; returns codes `(num_codes, N)`."""
    batch_size = utils.check_positive_int(batch_size, "batch_size")
    codes = [
        utils.obtain_representation(
            ground_truth_data.sample_observations_from_factors(
                factors[start : start + batch_size], random_state
            ),
            representation_function,
            batch_size,
        )
        for start in range(0, len(factors), batch_size)
    ]
    return np.concatenate(codes, axis=1)


def sample_codes(
    ground_truth_data: GroundTruthData,
    representation_function: utils.RepresentationFunction,
    num_points: int,
    random_state: np.random.RandomState,
    batch_size: int = utils.DEFAULT_ENCODE_BATCH,
    keep: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """`num_points` codes and factors `(num_codes, N)`, `(F, N)`, optionally within a region.

    Without `keep` this is `utils.generate_batch_factor_code`. With it, factors are drawn from
    the dataset's sampler and only rows where `keep(factors (M, F))` is True are kept, until
    there are `num_points` (uniform within the region when the sampler is uniform).
    """
    if keep is None:
        return utils.generate_batch_factor_code(
            ground_truth_data, representation_function, num_points, random_state, batch_size
        )
    num_points = utils.check_positive_int(num_points, "num_points")
    kept, total, drawn = [], 0, 0
    while total < num_points:
        candidates = ground_truth_data.sample_factors(max(num_points, 1024), random_state)
        drawn += len(candidates)
        candidates = candidates[keep(candidates)]
        kept.append(candidates)
        total += len(candidates)
        if total == 0 and drawn >= 100 * max(num_points, 1024):
            raise ValueError("the split's region is empty or too small to sample from")
    factors = np.concatenate(kept)[:num_points]
    codes = encode_factors(
        ground_truth_data, representation_function, factors, random_state, batch_size
    )
    return codes, factors.T


def _split_region(
    factor_sizes: Sequence[int], split: str, split_factors: Sequence[int], fraction: float
) -> tuple[Callable[[np.ndarray], np.ndarray] | None, list[int]]:
    """`(held_out(factors (M, F)) -> bool (M,), unscorable factor indices)` of a split.

    Returns `(None, [])` for "iid".
    """
    if split not in SPLITS:
        raise ValueError(f"downstream_task.split must be one of {SPLITS}, got {split!r}")
    if split == "iid":
        return None, []
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"downstream_task.split_fraction must be in (0, 1), got {fraction}")
    num_factors = len(factor_sizes)
    indices = []
    for factor in split_factors:
        if not -num_factors <= factor < num_factors:
            raise ValueError(f"split factor {factor} is out of range for {num_factors} factors")
        indices.append(factor % num_factors)
    if len(set(indices)) != len(indices) or not indices:
        raise ValueError(f"downstream_task.split_factors must be distinct, got {split_factors}")
    if split == "composition" and len(indices) < 2:
        raise ValueError("the composition split needs at least two split_factors")
    bands = {}
    for factor in indices:
        size = factor_sizes[factor]
        if size < 2:
            raise ValueError(f"split factor {factor} has a single value; nothing to hold out")
        count = min(max(1, int(round(fraction * size))), size - 1)
        if split == "extrapolation":
            start = size - count
        elif split == "interpolation":
            start = (size - count) // 2
        else:
            start = 0
        bands[factor] = (start, start + count)

    def held_out(factors: np.ndarray) -> np.ndarray:
        inside = [(factors[:, f] >= lo) & (factors[:, f] < hi) for f, (lo, hi) in bands.items()]
        return (
            np.logical_and.reduce(inside)
            if split == "composition"
            else np.logical_or.reduce(inside)
        )

    return held_out, [] if split == "composition" else indices
