"""Total-correlation estimators on a batch of codes (SPEC section 6).

TC(z) = KL(q(z) || prod_j q(z_j)) of the aggregate posterior q(z) = 1/N sum_n q(z|n).

- `mws`, `mss`: Chen et al.'s minibatch weighted / stratified sampling (paper 004, section 3.2 and
  appendix B). Both return log q(z), log prod_j q(z_j) (each `[B]`) and the TC (scalar) so a
  beta-TCVAE loss can weight every term of the ELBO decomposition.
- `monte_carlo`: Yang et al.'s estimator; B posteriors form the mixture, B' samples from each.
- `density_ratio`: FactorVAE's discriminator estimate and its training loss, with `permute_dims`.
- `gaussian_total_correlation`: the closed form for a Gaussian with covariance C (RTC paper,
  Prop. 1), `gaussian_total_correlation_of_codes` applies it to the sample covariance of codes.

All functions are TF ops that run inside a `tf.function` train step and are differentiable in
the codes and posterior parameters. Every Gaussian function takes the posterior noise
`correlation` s of SPEC section 5: the joint q(z|n) then has covariance diag(sigma) S diag(sigma)
while its marginals are unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import tensorflow as tf

from tfdis.posteriors.gaussian import (
    CorrelatedGaussian,
    FactorizedGaussian,
    log_det_equicorrelation,
)
from tfdis.runtime import replicas

_LOG_2PI = math.log(2.0 * math.pi)


class TCEstimate(NamedTuple):
    """A batch estimate of the terms of TC = E[log q(z) - log prod_j q(z_j)].

    Attributes:
        log_qz: `[B]` estimates of log q(z_i).
        log_prod_qzj: `[B]` estimates of sum_j log q(z_ij).
        total_correlation: scalar, mean(log_qz - log_prod_qzj).
    """

    log_qz: tf.Tensor
    log_prod_qzj: tf.Tensor
    total_correlation: tf.Tensor


class DensityRatioEstimate(NamedTuple):
    """FactorVAE's density-ratio TC estimate and its discriminator's training signal.

    Attributes:
        total_correlation: scalar mean(logit_0(z) - logit_1(z)); differentiable in z.
        discriminator_loss: scalar 1/2 (CE(D(z), 0) + CE(D(permute_dims(z)), 1)) on
            stop-gradient codes, so it only trains the discriminator.
        discriminator_accuracy: scalar fraction of both halves classified correctly.
    """

    total_correlation: tf.Tensor
    discriminator_loss: tf.Tensor
    discriminator_accuracy: tf.Tensor


def _check_codes(z: tf.Tensor, mean: tf.Tensor, logvar: tf.Tensor) -> None:
    for name, tensor in (("z", z), ("mean", mean), ("logvar", logvar)):
        if tensor.shape.rank != 2:
            raise ValueError(f"{name} must be [B, d], got shape {tensor.shape}")
    if not mean.shape.is_compatible_with(logvar.shape):
        raise ValueError(f"mean and logvar shapes differ: {mean.shape} vs {logvar.shape}")
    if not z.shape[-1:].is_compatible_with(mean.shape[-1:]):
        raise ValueError(f"z has {z.shape[-1]} dimensions but the posteriors {mean.shape[-1]}")


def _check_correlation(correlation: float) -> None:
    if not 0.0 <= correlation < 1.0:
        raise ValueError(f"correlation must be in [0, 1), got {correlation}")


def pairwise_log_densities(
    z: tf.Tensor, mean: tf.Tensor, logvar: tf.Tensor, correlation: float = 0.0
) -> tuple[tf.Tensor, tf.Tensor]:
    """log q(z_i|n) and log q(z_ij|n) of every code under every posterior.

    Args:
        z: `[Q, d]` codes.
        mean: `[N, d]` posterior means.
        logvar: `[N, d]` posterior log-variances.
        correlation: posterior noise correlation s in [0, 1) (SPEC section 5).

    Returns:
        joint: `[Q, N]`, log q(z_i | n).
        marginal: `[Q, N, d]`, l[i, n, j] = log N(z_ij; mean_nj, exp(logvar_nj)).
    """
    _check_correlation(correlation)
    z = tf.convert_to_tensor(z)
    mean = tf.convert_to_tensor(mean, dtype=z.dtype)
    logvar = tf.convert_to_tensor(logvar, dtype=z.dtype)
    _check_codes(z, mean, logvar)
    # u = standardized residual; one broadcasted op, no python loop over pairs.
    u = (z[:, None, :] - mean[None, :, :]) * tf.exp(-0.5 * logvar)[None, :, :]
    marginal = -0.5 * (_LOG_2PI + logvar[None, :, :] + tf.square(u))
    joint = tf.reduce_sum(marginal, axis=-1)
    if correlation > 0.0:
        # S^-1 = (I - c 11^T) / (1 - s) with c = s / (1 + (d-1) s) (Sherman-Morrison), so
        # u^T S^-1 u - |u|^2 = (s |u|^2 - c (sum u)^2) / (1 - s).
        d = int(z.shape[-1])
        s = correlation
        c = s / (1.0 + (d - 1) * s)
        sq_norm = tf.reduce_sum(tf.square(u), axis=-1)
        sq_sum = tf.square(tf.reduce_sum(u, axis=-1))
        excess = (s * sq_norm - c * sq_sum) / (1.0 - s)
        joint = joint - 0.5 * excess - 0.5 * log_det_equicorrelation(d, s)
    return joint, marginal


def log_mixture_densities(
    z: tf.Tensor,
    mean: tf.Tensor,
    logvar: tf.Tensor,
    log_weights: tf.Tensor,
    correlation: float = 0.0,
) -> tuple[tf.Tensor, tf.Tensor]:
    """log sum_n w_in q(z_i|n) and its per-dimension analogue.

    Args:
        z: `[Q, d]` codes.
        mean: `[N, d]` posterior means.
        logvar: `[N, d]` posterior log-variances.
        log_weights: log mixture weights, broadcastable to `[Q, N]` (row i weighs the
            posteriors for code i).
        correlation: posterior noise correlation.

    Returns:
        log_qz: `[Q]`, LSE_n (log w_in + log q(z_i|n)).
        log_qzj: `[Q, d]`, LSE_n (log w_in + log q(z_ij|n)).
    """
    joint, marginal = pairwise_log_densities(z, mean, logvar, correlation)
    log_weights = tf.convert_to_tensor(log_weights, dtype=joint.dtype)
    log_weights = tf.broadcast_to(log_weights, tf.shape(joint))
    log_qz = tf.reduce_logsumexp(joint + log_weights, axis=1)
    log_qzj = tf.reduce_logsumexp(marginal + log_weights[:, :, None], axis=1)
    return log_qz, log_qzj


def _estimate(log_qz: tf.Tensor, log_qzj: tf.Tensor) -> TCEstimate:
    log_prod_qzj = tf.reduce_sum(log_qzj, axis=-1)
    return TCEstimate(log_qz, log_prod_qzj, tf.reduce_mean(log_qz - log_prod_qzj))


def _check_sizes(batch_size, dataset_size) -> None:
    if isinstance(batch_size, int) and batch_size < 2:
        raise ValueError(f"the batch needs at least 2 codes, got batch size {batch_size}")
    if isinstance(dataset_size, (int, float)):
        if dataset_size < 1:
            raise ValueError(f"dataset_size must be positive, got {dataset_size}")
        if isinstance(batch_size, int) and dataset_size < batch_size:
            raise ValueError(
                f"dataset_size ({dataset_size}) must be at least the batch size ({batch_size})"
            )


def mws(
    z: tf.Tensor,
    mean: tf.Tensor,
    logvar: tf.Tensor,
    dataset_size: int | float | tf.Tensor,
    correlation: float = 0.0,
) -> TCEstimate:
    """Minibatch weighted sampling (Chen et al., eq. S4; SPEC section 6).

    log q(z_i) ~ LSE_j log q(z_i|n_j) - log(N M); log q(z_ij) ~ LSE_j log q(z_ij|n_j) - log(N M).
    Every weight is 1/(N M), so the weights of a row sum to 1/N, not 1: even when the batch is
    the whole dataset (M = N) log q(z) is the exact log-mixture minus log N and the TC the exact
    one plus (d - 1) log N.

    Args:
        z: `[M, d]` codes, z_i sampled from q(z|n_i).
        mean: `[M, d]` posterior means of the batch.
        logvar: `[M, d]` posterior log-variances of the batch.
        dataset_size: N, the size of the dataset the batch was drawn from.
        correlation: posterior noise correlation s.

    Returns:
        `TCEstimate(log_qz [M], log_prod_qzj [M], total_correlation scalar)`.
    """
    z = tf.convert_to_tensor(z)
    _check_sizes(z.shape[0], dataset_size)
    batch_size = tf.cast(tf.shape(z)[0], z.dtype)
    log_norm = tf.math.log(tf.cast(dataset_size, z.dtype)) + tf.math.log(batch_size)
    log_qz, log_qzj = log_mixture_densities(z, mean, logvar, -log_norm, correlation)
    return _estimate(log_qz, log_qzj)


def mss_log_weights(
    batch_size: int | tf.Tensor,
    dataset_size: int | float | tf.Tensor,
    dtype: tf.DType = tf.float32,
    reference_fill: bool = False,
) -> tf.Tensor:
    """log W `[M, M]` of minibatch stratified sampling (Chen et al., eq. S6; SPEC section 6).

    With M' = M - 1: W_ii = 1/N (the code's own posterior), W_i,(i+1) mod M = (N - M')/(N M')
    (the one stratum member left out of the first expectation) and every other entry 1/M'.
    Each row sums to one and, averaged over random batches, row i gives an unbiased q(z_i).

    The reference code (rtqichen/beta-tcvae) fills a flattened view with stride M'+1, which on
    a matrix with M'+1 columns walks down a column: it writes 1/N down column 0 and the stratum
    weight down column 1 (and at [M'-1, 0]), so most codes weigh their own posterior by 1/M'.
    `reference_fill=True` reproduces that matrix (the RTC paper's "MSS0") for comparison.

    Args:
        batch_size: M >= 2.
        dataset_size: N >= M.
        dtype: float dtype of the result.
        reference_fill: build the reference code's matrix instead of the intended one.

    Returns:
        `[M, M]` log-weights.
    """
    _check_sizes(batch_size, dataset_size)
    m = tf.convert_to_tensor(batch_size, dtype=tf.int32)
    n = tf.cast(dataset_size, dtype)
    m_prime = tf.cast(m - 1, dtype)
    row = tf.range(m)[:, None]
    col = tf.range(m)[None, :]
    log_own = -tf.math.log(n)
    log_stratum = tf.math.log(n - m_prime) - tf.math.log(n) - tf.math.log(m_prime)
    log_rest = -tf.math.log(m_prime)
    if reference_fill:
        own = tf.logical_and(tf.equal(col, 0), tf.not_equal(row, m - 2))
        stratum = tf.logical_or(
            tf.equal(col, 1), tf.logical_and(tf.equal(col, 0), tf.equal(row, m - 2))
        )
    else:
        own = tf.equal(row, col)
        stratum = tf.equal((row + 1) % m, col)
    shape = tf.stack([m, m])
    return tf.where(
        own,
        tf.fill(shape, log_own),
        tf.where(stratum, tf.fill(shape, log_stratum), tf.fill(shape, log_rest)),
    )


def mss(
    z: tf.Tensor,
    mean: tf.Tensor,
    logvar: tf.Tensor,
    dataset_size: int | float | tf.Tensor,
    correlation: float = 0.0,
    reference_fill: bool = False,
) -> TCEstimate:
    """Minibatch stratified sampling (Chen et al., appendix B.2; SPEC section 6).

    log q(z_i) ~ LSE_j (log W_ij + log q(z_i|n_j)), log q(z_ij) ~ LSE_j (log W_ij + l[i,j,d])
    with W from `mss_log_weights`.

    Args:
        z: `[M, d]` codes, z_i sampled from q(z|n_i).
        mean: `[M, d]` posterior means of the batch.
        logvar: `[M, d]` posterior log-variances of the batch.
        dataset_size: N, the size of the dataset the batch was drawn from (N >= M).
        correlation: posterior noise correlation s.
        reference_fill: use the reference code's weight matrix (see `mss_log_weights`).

    Returns:
        `TCEstimate(log_qz [M], log_prod_qzj [M], total_correlation scalar)`.
    """
    z = tf.convert_to_tensor(z)
    _check_sizes(z.shape[0], dataset_size)
    log_weights = mss_log_weights(tf.shape(z)[0], dataset_size, z.dtype, reference_fill)
    log_qz, log_qzj = log_mixture_densities(z, mean, logvar, log_weights, correlation)
    return _estimate(log_qz, log_qzj)


def monte_carlo(
    mean: tf.Tensor,
    logvar: tf.Tensor,
    seed: tf.Tensor,
    num_samples: int = 30,
    correlation: float = 0.0,
    max_block_elements: int = 2**24,
) -> TCEstimate:
    """Yang et al.'s Monte Carlo TC of the mixture of the given posteriors (SPEC section 6).

    q(z) = 1/B sum_b q(z|x_b) over the B posteriors; B' samples are drawn from each and
    TC = mean over the B B' samples of log q(z) - sum_j log q(z_j), both computed exactly for
    that mixture.

    Args:
        mean: `[B, d]` posterior means (the paper uses B = 64).
        logvar: `[B, d]` posterior log-variances.
        seed: stateless int32 `[2]` seed.
        num_samples: B', samples per posterior (the paper uses 30).
        correlation: posterior noise correlation s.
        max_block_elements: bound on the `[rows, B, d]` block scored at once (memory).

    Returns:
        `TCEstimate` whose `log_qz` and `log_prod_qzj` are `[B' B]` (sample s of posterior b at
        row s B + b).
    """
    if num_samples < 1:
        raise ValueError(f"num_samples must be positive, got {num_samples}")
    _check_correlation(correlation)
    mean = tf.convert_to_tensor(mean)
    logvar = tf.convert_to_tensor(logvar, dtype=mean.dtype)
    _check_codes(mean, mean, logvar)
    tiled_mean = tf.tile(mean, [num_samples, 1])
    tiled_logvar = tf.tile(logvar, [num_samples, 1])
    if correlation > 0.0:
        posterior = CorrelatedGaussian(tiled_mean, tiled_logvar, correlation)
    else:
        posterior = FactorizedGaussian(tiled_mean, tiled_logvar)
    z = posterior.sample(tf.convert_to_tensor(seed))
    log_uniform = -tf.math.log(tf.cast(tf.shape(mean)[0], mean.dtype))

    # Score the B' B samples in row chunks so each block is [rows, B, d] <= max_block_elements.
    num_posteriors, dim = tf.shape(mean)[0], tf.shape(mean)[1]
    rows = tf.maximum(1, max_block_elements // (num_posteriors * dim))
    total = tf.shape(z)[0]
    num_chunks = (total + rows - 1) // rows
    padded = tf.pad(z, [[0, num_chunks * rows - total], [0, 0]])
    chunks = tf.reshape(padded, tf.stack([num_chunks, rows, dim]))

    def score(chunk: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        log_qz, log_qzj = log_mixture_densities(chunk, mean, logvar, log_uniform, correlation)
        return log_qz, tf.reduce_sum(log_qzj, axis=-1)

    log_qz, log_prod_qzj = tf.map_fn(
        score,
        chunks,
        fn_output_signature=(tf.TensorSpec([None], mean.dtype), tf.TensorSpec([None], mean.dtype)),
    )
    log_qz = tf.reshape(log_qz, [-1])[:total]
    log_prod_qzj = tf.reshape(log_prod_qzj, [-1])[:total]
    return TCEstimate(log_qz, log_prod_qzj, tf.reduce_mean(log_qz - log_prod_qzj))


def gaussian_total_correlation(cov: tf.Tensor) -> tf.Tensor:
    """TC of N(0, C): 1/2 (sum_j log C_jj - log det C) (RTC paper, Prop. 1).

    Args:
        cov: `[..., d, d]` symmetric positive-definite covariance(s).

    Returns:
        `[...]` total correlations in nats.
    """
    cov = tf.convert_to_tensor(cov)
    if cov.shape.rank is None or cov.shape.rank < 2 or cov.shape[-1] != cov.shape[-2]:
        raise ValueError(f"cov must be [..., d, d], got shape {cov.shape}")
    log_diag = tf.reduce_sum(tf.math.log(tf.linalg.diag_part(cov)), axis=-1)
    return 0.5 * (log_diag - tf.linalg.logdet(cov))


def gaussian_total_correlation_of_codes(codes: tf.Tensor) -> tf.Tensor:
    """Closed-form Gaussian TC of the sample covariance of codes (TC_mean / TC_sample).

    TC is invariant to per-dimension scale, so the 1/N vs 1/(N-1) normalization does not matter.

    Args:
        codes: `[N, d]` codes (means or samples), N > d.

    Returns:
        scalar TC in nats.
    """
    codes = tf.convert_to_tensor(codes)
    if codes.shape.rank != 2:
        raise ValueError(f"codes must be [N, d], got shape {codes.shape}")
    centered = codes - tf.reduce_mean(codes, axis=0, keepdims=True)
    num = tf.cast(tf.shape(codes)[0], codes.dtype)
    cov = tf.matmul(centered, centered, transpose_a=True) / num
    return gaussian_total_correlation(cov)


def permute_dims(z: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Shuffles each dimension independently across the batch (FactorVAE's permute_dims).

    The result is a sample of prod_j q(z_j) built from the batch.

    Args:
        z: `[B, d]` codes.
        seed: stateless int32 `[2]` seed.

    Returns:
        `[B, d]`: column j is a random permutation of z[:, j], independent across columns.
    """
    z = tf.convert_to_tensor(z)
    if z.shape.rank != 2:
        raise ValueError(f"z must be [B, d], got shape {z.shape}")
    # Sorting i.i.d. uniform keys per column gives independent uniform permutations.
    keys = tf.random.stateless_uniform(tf.shape(z), seed=seed, alg="philox")  # XLA too
    order = tf.argsort(keys, axis=0)
    return tf.transpose(tf.gather(tf.transpose(z), tf.transpose(order), batch_dims=1))


def density_ratio(
    discriminator: Callable[..., tf.Tensor],
    z: tf.Tensor,
    seed: tf.Tensor,
    z_for_permutation: tf.Tensor | None = None,
    training: bool = True,
    share_joint_logits: bool = False,
) -> DensityRatioEstimate:
    """FactorVAE's density-ratio TC and discriminator loss (SPEC section 6).

    Logit 0 means "drawn from q(z)", logit 1 "drawn from prod_j q(z_j)". At the optimal
    discriminator logit_0 - logit_1 = log q(z) / prod_j q(z_j), so its batch mean estimates TC.

    Args:
        discriminator: any Keras model (or callable taking `training`) mapping `[B, d]` codes to
            `[B, 2]` logits.
        z: `[B, d]` sampled codes (keep them differentiable for the TC term).
        seed: stateless int32 `[2]` seed for `permute_dims`. It must differ from the seed that
            sampled `z`: equal stateless seeds give dependent streams, so the permutation would
            depend on the codes (seen as a 2x TC overestimate in testing).
        z_for_permutation: optional `[B2, d]` codes of a second batch to permute (FactorVAE's
            reference draws one); defaults to `z`.
        training: passed to the discriminator.
        share_joint_logits: reuse D(z) for the joint half of the discriminator loss, as dlib
            does, instead of a second pass on stop_gradient(z). Saves a third of the
            discriminator's work; the loss then also depends on z, so differentiate it only
            with respect to the discriminator's weights (FactorVAE does).

    Returns:
        `DensityRatioEstimate`; apply gradients of `total_correlation` to the encoder only and of
        `discriminator_loss` to the discriminator only.
    """
    z = tf.convert_to_tensor(z)
    if z.shape.rank != 2:
        raise ValueError(f"z must be [B, d], got shape {z.shape}")
    logits = tf.cast(discriminator(z, training=training), tf.float32)
    if logits.shape.rank != 2 or logits.shape[-1] != 2:
        raise ValueError(f"the discriminator must output [B, 2] logits, got {logits.shape}")
    total_correlation = tf.reduce_mean(logits[:, 0] - logits[:, 1])

    source = z if z_for_permutation is None else tf.convert_to_tensor(z_for_permutation, z.dtype)
    # In a multi-replica step: permute the global batch's codes, keep this replica's rows.
    permuted = replicas.local_rows(
        permute_dims(replicas.all_gather_batch(tf.stop_gradient(source)), seed),
        tf.shape(source)[0],
    )
    if share_joint_logits:
        joint_logits = logits
        permuted_logits = tf.cast(discriminator(permuted, training=training), tf.float32)
        both = tf.concat([joint_logits, permuted_logits], axis=0)
    else:
        joint = tf.stop_gradient(z)
        both = discriminator(tf.concat([joint, permuted], axis=0), training=training)
    labels = tf.concat(
        [tf.zeros(tf.shape(z)[:1], tf.int32), tf.ones(tf.shape(permuted)[:1], tf.int32)],
        axis=0,
    )
    cross_entropy = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=labels, logits=tf.cast(both, tf.float32)
    )
    num_joint = tf.shape(z)[0]
    discriminator_loss = 0.5 * (
        tf.reduce_mean(cross_entropy[:num_joint]) + tf.reduce_mean(cross_entropy[num_joint:])
    )
    correct = tf.equal(tf.argmax(both, axis=-1, output_type=tf.int32), labels)
    accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))
    return DensityRatioEstimate(
        total_correlation, tf.cast(discriminator_loss, logits.dtype), accuracy
    )
