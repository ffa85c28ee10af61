"""Unsupervised Disentanglement Ranking (Duan et al., ICLR 2020; dlib's `udr_sklearn`).

UDR scores each model of a set trained with the same hyperparameters and different seeds by
how similar its representation is to the others'. For models i, j with standardized posterior
means, a similarity matrix R `(d_i, d_j)` relates their latents: `"lasso"` takes
|coefficients| of a Lasso (alpha 0.1) regressing model j's latents on model i's, `"spearman"`
the absolute Spearman rank correlations. Latents with dataset-mean KL(q(z_a|x) || p(z_a)) below
`kl_filter_threshold` are uninformative (I_KL(a) = 0): they are zeroed before the regression and,
with `filter_low_kl`, left out of the score. The paper's pairwise score (its UDR_ij equation):

    UDR_ij = 1 / (d_a + d_b) * [ sum_b r_b^2 / sum_a R(a, b) * I_KL(b)
                                 + sum_a r_a^2 / sum_b R(a, b) * I_KL(a) ],

r_a = max_b R(a, b), r_b = max_a R(a, b), d_a and d_b the numbers of informative latents of
the two models (0/0 terms count 0). Each model's score is the median of its pairwise scores
with the other models (`UDR_i = median_{j != i} UDR_ji`, dlib's orientation).

tfdis follows the paper by default. Where dlib's code differs:
- dlib averages the column mean and the row mean, `(mean_b r_b^2/sum_a + mean_a r_a^2/sum_b) / 2`
  (`aggregation="dlib"` selects it). It equals the paper's weighting only when both models keep
  the same number of latents.
- dlib zeroes latents with KL below a fixed 0.01 whatever `kl_filter_threshold` says; tfdis uses
  the one threshold for both.
- With `filter_low_kl=False`, a constant latent's NaN Spearman correlations zero a whole dlib
  term; tfdis counts them as 0 correlations.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import gin
import numpy as np
import scipy.stats
from sklearn import linear_model

from tfdis.data.ground_truth_data import GroundTruthData
from tfdis.evaluation.metrics import utils
from tfdis.evaluation.metrics.protocols import PosteriorEncoder, encode_in_batches
from tfdis.utils import gin_validation

CORRELATIONS = ("lasso", "spearman")
AGGREGATIONS = ("paper", "dlib")


# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "udr_sklearn": {
            "batch_size": {"kind": "int", "positive": True},
            "num_data_points": {"kind": "int", "positive": True},
            "correlation_matrix": {"kind": "str", "choices": CORRELATIONS},
            "filter_low_kl": {"kind": "bool"},
            "include_raw_correlations": {"kind": "bool"},
            "kl_filter_threshold": {"kind": "number", "minimum": 0},
            "aggregation": {"kind": "str", "choices": AGGREGATIONS},
        },
        "udr_evaluation": {
            "evaluation_fn": {"kind": "callable"},
            "random_seed": {"kind": "int", "minimum": 0},
            "name": {"kind": "str"},
        },
    },
)


@gin.configurable(
    "udr_sklearn", denylist=["ground_truth_data", "posterior_encoders", "random_state"]
)
def compute_udr_sklearn(
    ground_truth_data: GroundTruthData,
    posterior_encoders: Sequence[PosteriorEncoder],
    random_state: np.random.RandomState,
    batch_size: int = 10,
    num_data_points: int = 1000,
    correlation_matrix: str = "lasso",
    filter_low_kl: bool = True,
    include_raw_correlations: bool = True,
    kl_filter_threshold: float = 0.01,
    aggregation: str = "paper",
) -> dict:
    """Samples observations, encodes them with every model and computes UDR.

    Args:
        ground_truth_data: the dataset the models were trained on.
        posterior_encoders: one posterior per model (at least 2), all with `d` latents.
        random_state: source of the sampled observations.
        batch_size: observations sampled per draw (`num_data_points` must be a multiple).
        num_data_points: observations every model encodes.
        correlation_matrix: "lasso" or "spearman".
        filter_low_kl: leave latents with KL below the threshold out of the score.
        include_raw_correlations: add the `(M, M, d, d)` similarity matrices to the results.
        kl_filter_threshold: the informativeness threshold on the mean KL per latent.
        aggregation: "paper" (Duan et al.'s weighting) or "dlib".

    Returns:
        dlib's keys: `model_scores` `(M,)`, `pairwise_disentanglement_scores` `(M, M, 1)` and,
        if asked, `raw_correlations` `(M, M, d, d)`.
    """
    gin_validation.check_parameters("udr_sklearn", locals(), _GIN_RULES["udr_sklearn"])
    batch_size = utils.check_positive_int(batch_size, "batch_size")
    num_data_points = utils.check_positive_int(num_data_points, "num_data_points")
    if num_data_points % batch_size:
        raise ValueError(
            f"num_data_points ({num_data_points}) must be a multiple of batch_size ({batch_size})"
        )
    observations = np.concatenate(
        [
            ground_truth_data.sample_observations(batch_size, random_state)
            for _ in range(num_data_points // batch_size)
        ]
    )
    representations, kls = [], []
    for encoder in posterior_encoders:
        mean, logvar = encode_in_batches(encoder, observations)
        representations.append(mean)
        kls.append(gaussian_kl_per_latent(mean, logvar))
    return _compute_udr(
        representations, kls, random_state, correlation_matrix, filter_low_kl,
        include_raw_correlations, kl_filter_threshold, aggregation,
    )  # fmt: skip


def gaussian_kl_per_latent(mean: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """Mean over points of KL(N(mean, exp logvar) || N(0, 1)) per latent: `(N, d)` -> `(d,)`."""
    return np.mean(0.5 * (np.square(mean) + np.exp(logvar) - logvar - 1.0), axis=0)


def _compute_udr(
    representations: Sequence[np.ndarray],
    kls: Sequence[np.ndarray],
    random_state: np.random.RandomState,
    correlation_matrix: str = "lasso",
    filter_low_kl: bool = True,
    include_raw_correlations: bool = True,
    kl_filter_threshold: float = 0.01,
    aggregation: str = "paper",
) -> dict:
    """UDR of M models' means `(N, d)` each, with their mean KL per latent `(d,)` each."""
    if correlation_matrix not in CORRELATIONS:
        raise ValueError(
            f"correlation_matrix must be one of {CORRELATIONS}, got {correlation_matrix!r}"
        )
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {aggregation!r}")
    num_models = len(representations)
    if num_models < 2:
        raise ValueError(
            f"UDR compares models with each other: it needs at least 2, got {num_models}"
        )
    shapes = {np.shape(r) for r in representations}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise ValueError(f"every model needs means of one shape (N, d); got {sorted(shapes)}")
    num_latents = representations[0].shape[1]
    informative = [np.asarray(kl) > kl_filter_threshold for kl in kls]
    standardized = []
    for mean, mask in zip(representations, informative, strict=True):
        scaled, _, _ = utils.normalize_data(np.asarray(mean, dtype=np.float64).T)
        standardized.append(scaled.T * mask)
    seed = random_state.randint(2**31 - 1)
    raw = np.zeros((num_models, num_models, num_latents, num_latents))
    pairwise = np.zeros((num_models, num_models, 1))
    ranks = [scipy.stats.rankdata(z, axis=0) for z in standardized]
    for i in range(num_models):
        for j in range(num_models):
            if i == j:
                continue
            if correlation_matrix == "lasso":
                matrix = lasso_similarity(standardized[i], standardized[j], seed)
            else:
                matrix = spearman_similarity(ranks[i], ranks[j])
            raw[i, j] = matrix
            if filter_low_kl:
                matrix = matrix[informative[i]][:, informative[j]]
            pairwise[i, j, 0] = pairwise_score(matrix, aggregation)
    model_scores = [float(np.median(np.delete(pairwise[:, i, 0], i))) for i in range(num_models)]
    scores = {
        "model_scores": model_scores,
        "pairwise_disentanglement_scores": pairwise.tolist(),
    }
    if include_raw_correlations:
        scores["raw_correlations"] = raw.tolist()
    return scores


def lasso_similarity(z_i: np.ndarray, z_j: np.ndarray, seed: int, alpha: float = 0.1) -> np.ndarray:
    """|Lasso coefficients| `(d_i, d_j)` of model j's latents regressed on model i's `(N, d)`."""
    model = linear_model.Lasso(alpha=alpha, random_state=seed)
    model.fit(z_i, z_j)
    return np.abs(np.atleast_2d(model.coef_)).T


def spearman_similarity(ranks_i: np.ndarray, ranks_j: np.ndarray) -> np.ndarray:
    """|Spearman correlation| `(d_i, d_j)` from column ranks `(N, d)`; constant latents give 0."""
    centered_i = ranks_i - ranks_i.mean(axis=0)
    centered_j = ranks_j - ranks_j.mean(axis=0)
    norms = np.outer(np.linalg.norm(centered_i, axis=0), np.linalg.norm(centered_j, axis=0))
    with np.errstate(divide="ignore", invalid="ignore"):
        correlation = centered_i.T @ centered_j / norms
    return np.abs(np.nan_to_num(correlation, nan=0.0, posinf=0.0, neginf=0.0))


def _relative_strengths(matrix: np.ndarray, axis: int) -> np.ndarray:
    """r^2 / sum along `axis` (max and sum over that axis), 0 where the sum is 0."""
    total = matrix.sum(axis=axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, np.max(matrix, axis=axis, initial=0.0) ** 2 / total, 0.0)


def pairwise_score(matrix: np.ndarray, aggregation: str = "paper") -> float:
    """UDR of one pair from its (filtered) similarity matrix `(d_a, d_b)`."""
    d_a, d_b = matrix.shape
    if d_a == 0 or d_b == 0:
        return 0.0  # a model without informative latents shares nothing
    per_column = _relative_strengths(matrix, axis=0)  # (d_b,)
    per_row = _relative_strengths(matrix, axis=1)  # (d_a,)
    if aggregation == "dlib":
        return float((per_column.mean() + per_row.mean()) / 2)
    return float((per_column.sum() + per_row.sum()) / (d_a + d_b))


UDR_METRIC = "udr"  # per-model results go to <model_dir>/metrics/<representation>/udr/
SCORES_FILE = "udr_scores.csv"


@gin.configurable("udr_evaluation", denylist=["model_dirs", "output_dir", "representation"])
def evaluate_udr(
    model_dirs: Sequence[str],
    output_dir: str,
    representation: str = "mean",
    evaluation_fn=gin.REQUIRED,
    random_seed: int = gin.REQUIRED,
    name: str = "",
) -> dict:
    """Scores a set of trained runs with UDR (dlib's `udr/evaluate.py`), writing every result.

    Writes dlib's keys (`model_scores`, `pairwise_disentanglement_scores`, `raw_correlations`)
    plus `model_dirs` to `<output_dir>/results/`, one `model_dir,model_score` line per model to
    `<output_dir>/udr_scores.csv`, and each model's score as the evaluation `udr`
    (`<model_dir>/metrics/<representation>/udr/results/`), where `tfdis_aggregate` finds it
    as the column `udr.model_score`.

    Args:
        model_dirs: trained run directories (same hyperparameters, different seeds).
        output_dir: the set's result directory.
        representation: the representation directory the per-model scores are filed under
            (UDR always reads the posterior means).
        evaluation_fn: the scorer (gin: `udr_evaluation.evaluation_fn = @udr_sklearn`).
        random_seed: seed of the scorer's `np.random.RandomState`.
        name: label recorded in the results.

    Returns:
        The set's results.
    """
    gin_validation.check_parameters("udr_evaluation", locals(), _GIN_RULES["udr_evaluation"])
    import time
    import uuid

    from tfdis.data.named_data import get_named_ground_truth_data
    from tfdis.evaluation.evaluate import training_dataset_name
    from tfdis.evaluation.saved_model_functions import SavedModelPosterior
    from tfdis.utils import gin_utils, layout, results

    del name
    start = time.time()
    dataset_name = gin_utils.query("dataset.name")
    if dataset_name in (None, "auto"):
        names = {d: training_dataset_name(d) for d in model_dirs}
        if len(set(names.values())) > 1:
            listing = ", ".join(f"{d}: {n}" for d, n in names.items())
            raise ValueError(f"UDR compares models of one dataset; got {listing}")
        dataset_name = names[model_dirs[0]]
    ground_truth_data = get_named_ground_truth_data(name=dataset_name)
    encoders = [SavedModelPosterior(layout.saved_model_dir(d)) for d in model_dirs]
    scores = dict(
        evaluation_fn(
            ground_truth_data=ground_truth_data,
            posterior_encoders=encoders,
            random_state=np.random.RandomState(random_seed),
        )
    )
    elapsed = time.time() - start
    scores.update(model_dirs=list(model_dirs), elapsed_time=elapsed, uuid=str(uuid.uuid4()))
    config = gin_utils.operative_config()
    result_dir = layout.results_dir(output_dir)
    results.save_gin_config(result_dir, "evaluation", config)
    results.update_result_directory(
        result_dir, "evaluation", scores, previous_result_dir=layout.results_dir(model_dirs[0])
    )
    lines = ["model_dir,model_score"]
    for model_dir, score in zip(model_dirs, scores["model_scores"], strict=True):
        lines.append(f"{model_dir},{score!r}")
        postprocessed = layout.results_dir(layout.postprocess_dir(model_dir, representation))
        previous = postprocessed if os.path.isdir(postprocessed) else layout.results_dir(model_dir)
        model_result_dir = layout.results_dir(
            layout.metric_dir(model_dir, representation, UDR_METRIC)
        )
        results.save_gin_config(model_result_dir, "evaluation", config)
        results.update_result_directory(
            model_result_dir,
            "evaluation",
            {
                "model_score": score,
                "num_models": len(model_dirs),
                "udr_output_path": os.path.abspath(output_dir),
                "elapsed_time": elapsed,
                "uuid": str(uuid.uuid4()),
            },
            previous_result_dir=previous,
        )
    results.atomic_write_text(os.path.join(output_dir, SCORES_FILE), "\n".join(lines) + "\n")
    return scores


def group_by_config(model_dirs: Sequence[str]) -> list[list[str]]:
    """Splits runs into sets of one training configuration (every gin value but the seeds).

    Args:
        model_dirs: trained run directories (each with `results/json/train_config.json`).

    Returns:
        The groups in first-appearance order, each in the given order.
    """
    from tfdis.aggregation.seeds import SEED_SUFFIXES
    from tfdis.utils import layout, results

    groups: dict[tuple, list[str]] = {}
    for model_dir in model_dirs:
        path = os.path.join(layout.results_dir(model_dir), "json", "train_config.json")
        if not os.path.exists(path):
            raise FileNotFoundError(f"{path} is missing: {model_dir} is not a trained tfdis run.")
        config = results.read_json(path)
        key = tuple(sorted((k, str(v)) for k, v in config.items() if not k.endswith(SEED_SUFFIXES)))
        groups.setdefault(key, []).append(model_dir)
    return list(groups.values())
