"""Exact MIG of Chen et al. (2018, section 5; SPEC section 8) over the full factor grid.

Every observation of the grid is encoded once and gets one posterior sample z_n, drawn from the
marginals N(mean_j, exp(logvar_j)) (the estimator reads one dimension at a time, so the marginals
are all it uses; this makes the score a function of the encoder's means and log-variances, which
evaluation can look up in a posterior table instead of encoding). For each latent
dimension j,

    H(z_j)       = -E_z log q(z_j),        q(z_j) = 1/N sum_n q(z_j | x_n),
    H(z_j | v_k) = sum_v p(v) H(z_j | v_k = v),

where the inner entropy uses the mixture over the posteriors of the slice v_k = v only. Both are
estimated from `num_samples` of the z_n (all of the slice when it is smaller), as in the
reference code. I(z_j; v_k) = H(z_j) - H(z_j | v_k) is clipped at 0 and divided by ln |V_k|; MIG is
the mean over the chosen factors of the gap between the two largest normalized informations.

The log-densities are per dimension (1-D Gaussian mixtures). They are summed by a TF kernel over
tiles of sorted samples against blocks of sorted posterior means; a block is skipped only when a
bound shows that all skipped blocks together add less than `_RELATIVE_TOLERANCE` to the mixture
density (below float32 resolution), so no N x N array is formed and nothing that can change the
result is left out.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import gin
import numpy as np

from tfdis.data.ground_truth_data import FactorGrid, GroundTruthData, require_interventions
from tfdis.evaluation.metrics.protocols import PosteriorEncoder
from tfdis.utils import gin_validation

_LOG_2PI = float(np.log(2.0 * np.pi))
# Total mass that skipped blocks may add, relative to the mixture density.
_RELATIVE_TOLERANCE = 1e-8
_SAMPLE_TILE = 512
_COMPONENT_BLOCK = 2048
_PAIRS_PER_CALL = 8
_SHIFT_MARGIN = 30.0


# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "mig_exact": {
            "num_samples": {"kind": "int", "positive": True},
            "factor_indices": {"kind": "ints", "minimum": 0, "optional": True},
            "batch_size": {"kind": "int", "positive": True},
        }
    },
)


@gin.configurable(
    "mig_exact",
    denylist=["ground_truth_data", "posterior_encoder", "random_state", "artifact_dir"],
)
def compute_mig_exact(
    ground_truth_data: GroundTruthData,
    posterior_encoder: PosteriorEncoder,
    random_state: np.random.RandomState,
    artifact_dir: str | None = None,
    num_samples: int = 10000,
    factor_indices: Sequence[int] | None = None,
    batch_size: int = 1024,
) -> dict[str, float]:
    """Encodes the whole factor grid once and computes Chen et al.'s MIG.

    Args:
        ground_truth_data: the dataset; its full grid (`num_observations` points) is walked.
        posterior_encoder: `encode` -> `(mean, logvar)` of each dimension's marginal; the
            sample z_n is drawn from those marginals (`sample_marginals`).
        random_state: source of all randomness (observation noise, z noise, sample subsets).
        artifact_dir: unused.
        num_samples: samples per entropy estimate (10000, as Chen et al.).
        factor_indices: factors to average over (default all). Chen et al. leave out
            dSprites' shape: `[1, 2, 3, 4]`.
        batch_size: observations per encoder call.

    Returns:
        `{"mig_exact": float, "mig_exact_factor_<k>": gap of factor k, ...}`.
    """
    gin_validation.check_parameters("mig_exact", locals(), _GIN_RULES["mig_exact"])
    del artifact_dir
    require_interventions(ground_truth_data, "mig_exact")
    grid = FactorGrid(ground_truth_data.factors_num_values)
    num = grid.num_states
    factors = grid.index_to_features(np.arange(num))
    noise_seed = int(random_state.randint(2**31 - 1))
    means, logvars = [], []
    for start in range(0, num, batch_size):
        observations = ground_truth_data.sample_observations_from_factors(
            factors[start : start + batch_size], random_state
        )
        mean, logvar = posterior_encoder.encode(observations)
        means.append(np.asarray(mean, np.float32))
        logvars.append(np.asarray(logvar, np.float32))
    mean, logvar = np.concatenate(means), np.concatenate(logvars)
    return _compute_mig_exact(
        mean,
        logvar,
        sample_marginals(mean, logvar, np.random.RandomState(noise_seed)),
        factors,
        random_state,
        num_samples=num_samples,
        factor_indices=factor_indices,
    )


def sample_marginals(
    mean: np.ndarray, logvar: np.ndarray, random_state: np.random.RandomState
) -> np.ndarray:
    """One draw `(N, d)` float32 from each dimension's posterior N(mean, exp(logvar)).

    The estimator reads each dimension on its own, so the marginals are all it needs (Chen et
    al.'s reference code draws from the factorized posterior's parameters the same way); drawing
    here rather than in the model makes the score a function of `(mean, logvar)`, which the
    posterior table (`tfdis.evaluation.code_table`) stores.
    """
    noise = random_state.standard_normal(np.shape(mean)).astype(np.float32)
    return np.asarray(mean, np.float32) + np.exp(0.5 * np.asarray(logvar, np.float32)) * noise


def _compute_mig_exact(
    mean: np.ndarray,
    logvar: np.ndarray,
    samples: np.ndarray,
    factors: np.ndarray,
    random_state: np.random.RandomState,
    num_samples: int = 10000,
    factor_indices: Sequence[int] | None = None,
) -> dict[str, float]:
    """Exact MIG from posteriors of every observation.

    Args:
        mean: `(N, d)` posterior means.
        logvar: `(N, d)` posterior log-variances.
        samples: `(N, d)`, one posterior sample per observation.
        factors: int `(N, F)` factor values of each observation.
        random_state: draws the sample subsets.
        num_samples: samples per entropy estimate.
        factor_indices: factors averaged in the MIG (default all).

    Returns:
        `{"mig_exact", "mig_exact_factor_<k>"}`.
    """
    mean, logvar, samples = (np.asarray(a, np.float32) for a in (mean, logvar, samples))
    factors = np.asarray(factors)
    if mean.ndim != 2 or mean.shape != logvar.shape or mean.shape != samples.shape:
        raise ValueError(
            "mean, logvar and samples must have the same (N, d) shape; got "
            f"{mean.shape}, {logvar.shape}, {samples.shape}"
        )
    if factors.ndim != 2 or len(factors) != len(mean):
        raise ValueError(f"factors must be (N={len(mean)}, F), got shape {factors.shape}")
    if mean.shape[1] < 2:
        raise ValueError(f"MIG needs at least 2 latent dimensions, got {mean.shape[1]}")
    if num_samples < 1:
        raise ValueError(f"num_samples must be positive, got {num_samples}")
    if factor_indices is None:
        factor_indices = range(factors.shape[1])
    factor_indices = [int(k) for k in factor_indices]
    if not factor_indices or min(factor_indices) < 0 or max(factor_indices) >= factors.shape[1]:
        raise ValueError(
            f"factor_indices must name factors in [0, {factors.shape[1]}), got {factor_indices}"
        )

    marginal = _estimate_entropies(samples, mean, logvar, num_samples, random_state)
    scores = {}
    gaps = []
    for k in factor_indices:
        values = np.unique(factors[:, k])
        if len(values) < 2:
            raise ValueError(f"factor {k} takes a single value; MIG divides by ln |V_k|")
        conditional = np.zeros(mean.shape[1])
        for value in values:
            members = np.flatnonzero(factors[:, k] == value)
            weight = len(members) / len(factors)
            conditional += weight * _estimate_entropies(
                samples[members], mean[members], logvar[members], num_samples, random_state
            )
        information = np.clip(marginal - conditional, 0.0, None) / np.log(len(values))
        top_two = np.sort(information)[::-1][:2]
        gaps.append(top_two[0] - top_two[1])
        scores[f"mig_exact_factor_{k}"] = float(gaps[-1])
    scores["mig_exact"] = float(np.mean(gaps))
    return scores


def _estimate_entropies(
    samples: np.ndarray,
    mean: np.ndarray,
    logvar: np.ndarray,
    num_samples: int,
    random_state: np.random.RandomState,
) -> np.ndarray:
    """Per-dimension entropies `(d,)` of the mixture of the `M` posteriors `(M, d)`.

    Uses `min(num_samples, M)` of the samples `(M, d)`, which were drawn from these posteriors.
    """
    num = len(mean)
    chosen = random_state.permutation(num)[: min(num_samples, num)]
    z = samples[chosen]
    own = _log_normal(z, mean[chosen], logvar[chosen])
    log_density = log_mixture_sum(z, own, mean, logvar) - np.log(num)
    return -np.mean(log_density, axis=0)


def _log_normal(z: np.ndarray, mean: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """Elementwise log N(z; mean, exp(logvar)) in float64."""
    z, mean, logvar = (np.asarray(a, np.float64) for a in (z, mean, logvar))
    return -0.5 * (_LOG_2PI + logvar + (z - mean) ** 2 * np.exp(-logvar))


@functools.cache
def _kernels():
    """The two XLA kernels, built on first use (so importing the metrics does not load TF)."""
    import tensorflow as tf

    @tf.function(jit_compile=True)
    def pair_sum(z, shift, mu, inv_var, offset):
        """sum_b exp(offset_b - (z_t - mu_b)^2 inv_var_b / 2 - shift_t) per pair, `(P, T)`.

        z, shift `(P, T)`; mu, inv_var, offset `(P, B)`. One pass (no running max): the shift
        keeps every term in float32 range (see `log_mixture_sum`).
        """
        diff = z[:, :, None] - mu[:, None, :]
        exponent = offset[:, None, :] - shift[:, :, None] - 0.5 * diff * diff * inv_var[:, None, :]
        return tf.reduce_sum(tf.exp(exponent), axis=2)

    @tf.function(jit_compile=True)
    def pair_logsumexp(z, mu, inv_var, offset):
        """log sum_b exp(offset_b - (z_t - mu_b)^2 inv_var_b / 2) per pair (overflow fallback)."""
        diff = z[:, :, None] - mu[:, None, :]
        exponent = offset[:, None, :] - 0.5 * diff * diff * inv_var[:, None, :]
        return tf.reduce_logsumexp(exponent, axis=2)

    return pair_sum, pair_logsumexp


def _pad_rows(array: np.ndarray, multiple: int, value: float | None = None) -> np.ndarray:
    """Pads axis 0 up to a multiple, with `value` or by repeating the last row."""
    extra = -len(array) % multiple
    if extra == 0:
        return array
    pad = (
        np.repeat(array[-1:], extra, axis=0)
        if value is None
        else np.full((extra,) + array.shape[1:], value, array.dtype)
    )
    return np.concatenate([array, pad])


def log_mixture_sum(
    z: np.ndarray,
    own_log_density: np.ndarray,
    mean: np.ndarray,
    logvar: np.ndarray,
    sample_tile: int = _SAMPLE_TILE,
    component_block: int = _COMPONENT_BLOCK,
    pairs_per_call: int = _PAIRS_PER_CALL,
    relative_tolerance: float = _RELATIVE_TOLERANCE,
) -> np.ndarray:
    """Per-dimension log sum_m N(z_sd; mean_md, exp(logvar_md)) without an S x M array.

    Args:
        z: `(S, d)` points.
        own_log_density: `(S, d)` a lower bound of each sum (the log-density of one of its
            terms, e.g. the posterior each sample was drawn from); used to skip far blocks.
        mean: `(M, d)` component means.
        logvar: `(M, d)` component log-variances.
        sample_tile: samples per tile; component_block: components per block.
        pairs_per_call: (tile, block) pairs per kernel call.
        relative_tolerance: bound on the skipped mass relative to the sum.

    Returns:
        float64 `(S, d)` log-sums.
    """
    num_samples, dims = z.shape
    z_order = np.argsort(z, axis=0, kind="stable")
    z_sorted = np.take_along_axis(np.asarray(z, np.float32), z_order, axis=0)
    bound_sorted = np.take_along_axis(np.asarray(own_log_density, np.float64), z_order, axis=0)
    c_order = np.argsort(mean, axis=0, kind="stable")
    mu_sorted = np.take_along_axis(np.asarray(mean, np.float32), c_order, axis=0)
    lv_sorted = np.take_along_axis(np.asarray(logvar, np.float32), c_order, axis=0)
    weight = np.zeros_like(mu_sorted)

    # (d, tiles, T) and (d, blocks, B); padding repeats the edge value (keeps tiles sorted) and
    # padded components get weight 0 (log-weight -inf).
    z_tiles = _pad_rows(z_sorted, sample_tile).T.reshape(dims, -1, sample_tile)
    bound = _pad_rows(bound_sorted, sample_tile, np.inf).T.reshape(dims, -1, sample_tile)
    mu_blocks = _pad_rows(mu_sorted, component_block).T.reshape(dims, -1, component_block)
    lv_blocks = _pad_rows(lv_sorted, component_block).T.reshape(dims, -1, component_block)
    lw_blocks = _pad_rows(weight, component_block, -np.inf).T.reshape(dims, -1, component_block)
    num_tiles, num_blocks = z_tiles.shape[1], mu_blocks.shape[1]

    # Upper bound of each block's log-sum for any sample of a tile.
    gap = np.maximum(
        np.maximum(
            mu_blocks[:, None, :, 0] - z_tiles[:, :, None, -1],
            z_tiles[:, :, None, 0] - mu_blocks[:, None, :, -1],
        ),
        0.0,
    ).astype(np.float64)
    count = np.isfinite(lw_blocks).sum(axis=2)
    upper = (
        np.log(count)[:, None, :]
        - 0.5 * _LOG_2PI
        - 0.5 * lv_blocks.min(axis=2)[:, None, :]
        - 0.5 * gap**2 * np.exp(-lv_blocks.max(axis=2))[:, None, :]
    )
    floor = bound.min(axis=2) + np.log(relative_tolerance) - np.log(num_blocks)
    pairs = np.argwhere(upper > floor[:, :, None])  # (P, 3) in (dim, tile, block) order

    # Terms are summed as exp(l - shift) with shift = own bound + _SHIFT_MARGIN: a term exceeds
    # its sample's own term by at most a few tens of nats, so nothing overflows, and terms that
    # underflow are below exp(-87 + _SHIFT_MARGIN) of the own term.
    shift = np.where(np.isfinite(bound), bound + _SHIFT_MARGIN, 0.0).astype(np.float32)
    inv_blocks = np.exp(-lv_blocks)
    offset_blocks = lw_blocks - 0.5 * (lv_blocks + np.float32(_LOG_2PI))
    pair_sum, pair_logsumexp = _kernels()
    running = np.zeros((dims * num_tiles, sample_tile))
    segments = pairs[:, 0] * num_tiles + pairs[:, 1]
    for start in range(0, len(pairs), pairs_per_call):
        chunk = pairs[start : start + pairs_per_call]
        n = len(chunk)
        chunk = _pad_rows(chunk, pairs_per_call)
        d, t, b = chunk[:, 0], chunk[:, 1], chunk[:, 2]
        args = (z_tiles[d, t], mu_blocks[d, b], inv_blocks[d, b], offset_blocks[d, b])
        values = pair_sum(args[0], shift[d, t], *args[1:]).numpy()[:n].astype(np.float64)
        if not np.all(np.isfinite(values)):
            # A term beyond float32 range after the shift: redo this chunk in log space.
            logs = pair_logsumexp(*args).numpy()[:n].astype(np.float64)
            values = np.exp(logs - shift[d, t][:n])
        seg = segments[start : start + n]
        starts = np.flatnonzero(np.r_[True, seg[1:] != seg[:-1]])
        running[seg[starts]] += np.add.reduceat(values, starts, axis=0)
    with np.errstate(divide="ignore"):
        running = np.log(running) + shift.reshape(dims * num_tiles, sample_tile)

    sums = running.reshape(dims, num_tiles * sample_tile)[:, :num_samples].T
    out = np.empty((num_samples, dims))
    np.put_along_axis(out, z_order, sums, axis=0)
    return out
