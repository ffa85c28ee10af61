"""DCI-ES: disentanglement, completeness, informativeness, explicitness and size.

Eastwood, Nicolicioiu, von Kügelgen, Kekić, Träuble, Dittadi & Schölkopf, "DCI-ES: An Extended
Disentanglement Framework with Connections to Identifiability" (ICLR 2023).

Explicitness (their explicitness section and loss-capacity figure): for factor v_j, fit probes
of increasing capacity kappa_1 < ... < kappa_m to predict v_j from the codes c and record the
test loss, each point taking the lowest loss reached up to its capacity: the loss-capacity curve
l_j(kappa). With l_b the loss of the best constant predictor and l* = 0 the lowest possible loss,

    E(v_j, c) = 1 - AULCC(v_j, c) / Z,   Z = (kappa_m - kappa_1) (l_b - l*) / 2,

where AULCC is the area between the curve and l* (trapezoids; losses clipped to [l*, l_b]) and
Z the triangle under the straight line from (kappa_1, l_b) to (kappa_m, l*); E = mean_j
E(v_j, c), in [-1, 1]. E = 1 when the smallest probe already predicts the factor perfectly, 0
when the loss falls linearly over the capacity range, and -1 when no probe beats the constant
(codes unrelated to the factor). The triangle, l* = 0 and the running minimum are the authors'
code for the ICLR paper (github.com/andreinicolicioiu/DCI-ES, `metrics/explitcitness.py`).
Size (their size section): the representation's size relative to the factors',
S = dim(v) / dim(c) = num_factors / num_codes (1 for a minimal representation).

Probes: random forests (`num_trees` trees, the paper's non-linear probe) of maximal depth
`capacities`, on standardized codes, predicting each factor standardized on the training split;
the loss is the test mean squared error, l_b that of the training mean. Capacities enter the area
scaled to [0, 1]. D, C and I come from the probe of lowest test loss per factor (the smallest such
capacity): its impurity importances form column j of R and D, C are the DCI aggregations
(`tfdis.evaluation.metrics.dci`); informativeness is 1 - its normalized loss.
"""

from __future__ import annotations

from collections.abc import Sequence

import gin
import joblib
import numpy as np
from sklearn import ensemble

from tfdis.data.ground_truth_data import GroundTruthData
from tfdis.evaluation.metrics import dci, utils
from tfdis.utils import gin_validation

# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "dci_es": {
            "n_jobs": {"kind": "int"},
            "capacities": {"kind": "ints", "positive": True},
            "num_trees": {"kind": "int", "positive": True},
            "num_train": {"kind": "int", "positive": True},
            "num_test": {"kind": "int", "positive": True},
            "batch_size": {"kind": "int", "positive": True},
        }
    },
)


@gin.configurable(
    "dci_es",
    denylist=["ground_truth_data", "representation_function", "random_state", "artifact_dir"],
)
def compute_dci_es(
    ground_truth_data: GroundTruthData,
    representation_function: utils.RepresentationFunction,
    random_state: np.random.RandomState,
    artifact_dir: str | None = None,
    num_train: int = 10000,
    num_test: int = 5000,
    capacities: Sequence[int] = (1, 2, 3, 4, 5, 6, 7, 8),
    num_trees: int = 10,
    batch_size: int = utils.DEFAULT_ENCODE_BATCH,
    n_jobs: int = -1,
) -> dict[str, float]:
    """Samples train and test codes and computes DCI-ES.

    Args:
        ground_truth_data: the dataset.
        representation_function: `(B, H, W, C)` observations -> `(B, num_codes)` codes.
        random_state: source of all randomness (also seeds the forests).
        artifact_dir: unused (dlib signature).
        num_train: training points.
        num_test: test points.
        capacities: increasing maximal tree depths, the capacity axis of the curve.
        num_trees: trees per forest.
        batch_size: observations per encoder call.
        n_jobs: (factor, capacity) fits in parallel (joblib threads; -1 = all cores).

    Returns:
        `{"disentanglement", "completeness", "informativeness", "explicitness", "size"}` and
        `explicitness.factor_j` per factor.
    """
    gin_validation.check_parameters("dci_es", locals(), _GIN_RULES["dci_es"])
    del artifact_dir
    codes, factors = utils.generate_batch_factor_code(
        ground_truth_data, representation_function, num_train, random_state, batch_size
    )
    codes_test, factors_test = utils.generate_batch_factor_code(
        ground_truth_data, representation_function, num_test, random_state, batch_size
    )
    return _compute_dci_es(
        codes, factors, codes_test, factors_test, random_state, capacities, num_trees, n_jobs
    )


def _compute_dci_es(
    codes: np.ndarray,
    factors: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    random_state: np.random.RandomState,
    capacities: Sequence[int] = (1, 2, 3, 4, 5, 6, 7, 8),
    num_trees: int = 10,
    n_jobs: int = -1,
) -> dict[str, float]:
    """DCI-ES of codes `(num_codes, N)` against factors `(num_factors, N)` (train and test)."""
    capacities = [utils.check_positive_int(c, "capacities") for c in capacities]
    if len(capacities) < 2 or np.any(np.diff(capacities) <= 0):
        raise ValueError(f"capacities must be at least 2 increasing depths, got {capacities}")
    num_trees = utils.check_positive_int(num_trees, "num_trees")
    if codes.shape[1] != factors.shape[1] or codes_test.shape[1] != factors_test.shape[1]:
        raise ValueError(
            "codes (num_codes, N) and factors (num_factors, N) need the same N; got "
            f"{codes.shape}, {factors.shape}, {codes_test.shape}, {factors_test.shape}"
        )
    x_train, mean, std = utils.normalize_data(codes)
    x_test, _, _ = utils.normalize_data(codes_test, mean, std)
    y_train, y_mean, y_std = utils.normalize_data(factors.astype(np.float64))
    y_test, _, _ = utils.normalize_data(factors_test.astype(np.float64), y_mean, y_std)
    num_factors = factors.shape[0]
    seeds = random_state.randint(2**31 - 1, size=(num_factors, len(capacities)))
    fits = joblib.Parallel(n_jobs=n_jobs, prefer="threads")(
        joblib.delayed(_fit_probe)(
            x_train.T, y_train[j], x_test.T, y_test[j], depth, num_trees, seeds[j, c]
        )
        for j in range(num_factors)
        for c, depth in enumerate(capacities)
    )
    losses = np.array([fit[0] for fit in fits]).reshape(num_factors, len(capacities))
    importances = [fit[1] for fit in fits]
    # Baseline: the training mean (0 after standardization) on the test split.
    baseline = np.mean(y_test**2, axis=1)
    normalized = np.clip(losses / np.where(baseline > 0, baseline, 1.0)[:, None], 0.0, 1.0)
    explicitness = explicitness_from_curves(normalized, capacities)
    best = np.argmin(normalized, axis=1)  # first (smallest) capacity of lowest loss
    importance = np.stack(
        [importances[j * len(capacities) + best[j]] for j in range(num_factors)], axis=1
    )
    scores = {
        "disentanglement": dci.disentanglement(importance),
        "completeness": dci.completeness(importance),
        "informativeness": float(np.mean(1.0 - normalized[np.arange(num_factors), best])),
        "explicitness": float(np.mean(explicitness)),
        "size": num_factors / codes.shape[0],
    }
    scores.update({f"explicitness.factor_{j}": float(e) for j, e in enumerate(explicitness)})
    return scores


def explicitness_from_curves(
    normalized_losses: np.ndarray, capacities: Sequence[float]
) -> np.ndarray:
    """1 - AULCC / Z of each loss-capacity curve (module docstring), in [-1, 1].

    Args:
        normalized_losses: `(num_factors, num_capacities)` test losses divided by the baseline
            loss l_b, in [0, 1]; each curve takes its running minimum over capacities.
        capacities: `(num_capacities,)` increasing capacities.

    Returns:
        `(num_factors,)` explicitness E(v_j, c).
    """
    kappa = np.asarray(capacities, dtype=np.float64)
    kappa = (kappa - kappa[0]) / (kappa[-1] - kappa[0])
    curves = np.minimum.accumulate(normalized_losses, axis=1)
    area = np.sum((curves[:, 1:] + curves[:, :-1]) * 0.5 * np.diff(kappa), axis=1)
    return 1.0 - area / 0.5


def _fit_probe(x_train, y_train, x_test, y_test, depth, num_trees, seed):
    """Test MSE and normalized impurity importances `(num_codes,)` of one random forest."""
    forest = ensemble.RandomForestRegressor(
        n_estimators=num_trees, max_depth=depth, random_state=seed, n_jobs=1
    )
    forest.fit(x_train, y_train)
    loss = float(np.mean((forest.predict(x_test) - y_test) ** 2))
    return loss, np.abs(forest.feature_importances_)
