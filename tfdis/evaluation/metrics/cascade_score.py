"""CascadeVAE disentanglement score (Jeong & Song, 2019, supplement C; SPEC section 8).

1. Keep the continuous dimensions with dataset-mean KL(q(z_j|x) || N(0, 1)) >= `kl_threshold`.
2. If the model has a discrete code d = argmax of its logits, it is one more dimension whose
   "variance" is the Gini form (N^2 - sum_k n_k^2) / (2 N (N - 1)), the same 1/(2N(N-1)) sum over
   pairs as the continuous variance with d(x_p, x_q) = 1[x_p != x_q].
3. Each of `num_votes` votes (equal per factor) fixes one factor over `num_samples_per_vote`
   observations and votes for the dimension of least variance divided by its dataset variance.
4. Score = (1/M) sum_j max_k V_jk (majority-vote accuracy of the votes).
"""

from __future__ import annotations

import gin
import numpy as np

from tfdis.data.ground_truth_data import GroundTruthData, require_interventions
from tfdis.evaluation.metrics import protocols
from tfdis.utils import gin_validation

# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "cascade_score": {
            "num_samples_per_vote": {"kind": "int", "positive": True},
            "num_votes": {"kind": "int", "positive": True},
            "kl_threshold": {"kind": "number", "minimum": 0},
            "num_variance_estimate": {"kind": "int", "positive": True},
            "batch_size": {"kind": "int", "positive": True},
        }
    },
)


@gin.configurable(
    "cascade_score",
    denylist=["ground_truth_data", "posterior_encoder", "random_state", "artifact_dir"],
)
def compute_cascade_score(
    ground_truth_data: GroundTruthData,
    posterior_encoder: protocols.PosteriorEncoder,
    random_state: np.random.RandomState,
    artifact_dir: str | None = None,
    num_samples_per_vote: int = 100,
    num_votes: int = 800,
    num_variance_estimate: int = 10000,
    kl_threshold: float = 0.1,
    batch_size: int = 1024,
) -> dict[str, float]:
    """Samples votes and computes the CascadeVAE score.

    Args:
        ground_truth_data: the dataset.
        posterior_encoder: `encode` -> `(mean, logvar)`; optional `discrete_logits`.
        random_state: source of all randomness.
        artifact_dir: unused.
        num_samples_per_vote: L (100).
        num_votes: M (800), split equally over factors (the first `M mod K` factors get one more).
        num_variance_estimate: observations for the dataset variances and the KL pruning (the
            supplement uses the full data; 10000 random observations estimate it).
        kl_threshold: continuous dims with mean KL below it are pruned (0.1).
        batch_size: observations per encoder call.

    Returns:
        `{"cascade_score", "num_active_dims", "has_discrete_code"}`.
    """
    gin_validation.check_parameters("cascade_score", locals(), _GIN_RULES["cascade_score"])
    del artifact_dir
    require_interventions(ground_truth_data, "cascade_score")
    if num_samples_per_vote < 2:
        raise ValueError(f"num_samples_per_vote must be at least 2, got {num_samples_per_vote}")
    if num_votes < 1:
        raise ValueError(f"num_votes must be positive, got {num_votes}")
    logits_fn = protocols.discrete_logits_fn(posterior_encoder)

    encode_all = getattr(posterior_encoder, "encode_with_discrete_logits", None)

    def represent(observations):
        if logits_fn is not None and encode_all is not None:
            # One pass gives both (CascadeVAE's category costs K decodes per image).
            parts = [
                encode_all(observations[s : s + batch_size])
                for s in range(0, len(observations), batch_size)
            ]
            means, logvars, logits = (np.concatenate(p) for p in zip(*parts, strict=True))
            return means.astype(np.float64), logvars.astype(np.float64), logits.argmax(axis=1)
        means, logvars = protocols.encode_in_batches(posterior_encoder, observations, batch_size)
        discrete = None
        if logits_fn is not None:
            discrete = np.concatenate(
                [
                    np.argmax(np.asarray(logits_fn(observations[s : s + batch_size])), axis=1)
                    for s in range(0, len(observations), batch_size)
                ]
            )
        return means, logvars, discrete

    observations = ground_truth_data.sample_observations(num_variance_estimate, random_state)
    means, logvars, discrete = represent(observations)
    kl = np.mean(0.5 * (np.square(means) + np.exp(logvars) - logvars - 1.0), axis=0)
    active = kl >= kl_threshold
    global_var = _dimension_variances(means[None, :, active], _maybe(discrete, None))[0]

    num_factors = ground_truth_data.num_factors
    vote_factors = np.arange(num_votes) % num_factors
    factors = []
    for k in vote_factors:
        batch = ground_truth_data.sample_factors(num_samples_per_vote, random_state)
        batch[:, k] = batch[0, k]
        factors.append(batch)
    factors = np.concatenate(factors)
    vote_means, _, vote_discrete = represent(
        ground_truth_data.sample_observations_from_factors(factors, random_state)
    )
    local_var = _dimension_variances(
        vote_means[:, active].reshape(num_votes, num_samples_per_vote, -1),
        _maybe(vote_discrete, (num_votes, num_samples_per_vote)),
    )
    votes = _votes(local_var, global_var, vote_factors, num_factors)
    return {
        "cascade_score": _compute_cascade_score(votes),
        "num_active_dims": float(np.sum(active)),
        "has_discrete_code": float(discrete is not None),
    }


def _maybe(array, shape):
    """Reshapes `array` when present (None stays None; shape None adds a leading axis)."""
    if array is None:
        return None
    return array[None] if shape is None else array.reshape(shape)


def gini_variance(labels: np.ndarray) -> np.ndarray:
    """(N^2 - sum_k n_k^2) / (2 N (N - 1)) of each row of int labels `(V, N)`, shape `(V,)`."""
    labels = np.asarray(labels)
    num = labels.shape[1]
    if num < 2:
        raise ValueError(f"the Gini variance needs at least 2 labels per row, got {num}")
    squares = np.array([np.sum(np.unique(row, return_counts=True)[1] ** 2.0) for row in labels])
    return (num**2 - squares) / (2.0 * num * (num - 1))


def _dimension_variances(continuous: np.ndarray, discrete: np.ndarray | None) -> np.ndarray:
    """Variances `(V, d')` of continuous codes `(V, L, d)`, plus the Gini column if discrete."""
    variances = np.var(continuous, axis=1, ddof=1)
    if discrete is not None:
        variances = np.concatenate([variances, gini_variance(discrete)[:, None]], axis=1)
    return variances


def _votes(
    local_var: np.ndarray, global_var: np.ndarray, vote_factors: np.ndarray, num_factors: int
) -> np.ndarray:
    """Vote counts `(num_dims, num_factors)`: argmin over dims of local / global variance.

    Dimensions with zero dataset variance carry no information and cannot be voted for.
    """
    usable = global_var > 0
    if not usable.any():
        return np.zeros((len(global_var), num_factors), dtype=np.int64)
    ratio = np.where(usable, local_var / np.where(usable, global_var, 1.0), np.inf)
    votes = np.zeros((len(global_var), num_factors), dtype=np.int64)
    np.add.at(votes, (np.argmin(ratio, axis=1), vote_factors), 1)
    return votes


def _compute_cascade_score(votes: np.ndarray) -> float:
    """(1/M) sum_j max_k V_jk from vote counts `(num_dims, num_factors)`; 0 with no votes."""
    votes = np.asarray(votes)
    total = votes.sum()
    return float(votes.max(axis=1).sum() / total) if total and votes.shape[0] else 0.0
