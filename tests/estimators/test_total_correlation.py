"""TC estimators against brute-force mixtures, closed forms and the math of their bias."""

from __future__ import annotations

import itertools
import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import stats
from scipy.special import logsumexp

from tfdis.estimators import (
    density_ratio,
    gaussian_total_correlation,
    gaussian_total_correlation_of_codes,
    log_mixture_densities,
    monte_carlo,
    mss,
    mss_log_weights,
    mws,
    pairwise_log_densities,
    permute_dims,
)
from tfdis.posteriors import log_det_equicorrelation


def _dataset(num: int, dim: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Posterior means/logvars of a tiny dataset and one sample z_n ~ q(z|n) per posterior."""
    rng = np.random.default_rng(seed)
    mean = rng.normal(size=(num, dim))
    logvar = rng.uniform(-1.5, 0.0, size=(num, dim))
    z = mean + np.exp(0.5 * logvar) * rng.normal(size=(num, dim))
    return z, mean, logvar


def _equicorrelation(dim: int, s: float) -> np.ndarray:
    return (1 - s) * np.eye(dim) + s * np.ones((dim, dim))


def _brute_log_densities(z, mean, logvar, weights, correlation=0.0):
    """sum_n w_in q(z_i|n) and its marginals by explicit loops with scipy densities."""
    num_q, dim = z.shape
    log_qz, log_qzj = np.zeros(num_q), np.zeros((num_q, dim))
    for i in range(num_q):
        joint = []
        marg = []
        for n in range(mean.shape[0]):
            sigma = np.exp(0.5 * logvar[n])
            cov = np.diag(sigma) @ _equicorrelation(dim, correlation) @ np.diag(sigma)
            joint.append(
                np.log(weights[i, n]) + stats.multivariate_normal(mean[n], cov).logpdf(z[i])
            )
            marg.append(np.log(weights[i, n]) + stats.norm.logpdf(z[i], mean[n], sigma))
        log_qz[i] = logsumexp(joint)
        log_qzj[i] = logsumexp(np.array(marg), axis=0)
    return log_qz, log_qzj


@pytest.mark.parametrize("correlation", [0.0, 0.6])
def test_pairwise_log_densities_match_scipy(correlation):
    z, mean, logvar = _dataset(4, 3)
    joint, marginal = pairwise_log_densities(z[:3], mean, logvar, correlation)
    for i, n in itertools.product(range(3), range(4)):
        sigma = np.exp(0.5 * logvar[n])
        cov = np.diag(sigma) @ _equicorrelation(3, correlation) @ np.diag(sigma)
        assert joint.numpy()[i, n] == pytest.approx(
            stats.multivariate_normal(mean[n], cov).logpdf(z[i]), rel=1e-10
        )
        np.testing.assert_allclose(
            marginal.numpy()[i, n], stats.norm.logpdf(z[i], mean[n], sigma), rtol=1e-10
        )


def test_mss_weight_matrix_is_the_intended_one():
    n, m = 50, 5
    weights = np.exp(mss_log_weights(m, n, tf.float64).numpy())
    m_prime = m - 1
    for i, j in itertools.product(range(m), range(m)):
        if i == j:
            expected = 1 / n
        elif j == (i + 1) % m:
            expected = (n - m_prime) / (n * m_prime)
        else:
            expected = 1 / m_prime
        assert weights[i, j] == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(
        np.exp(mss_log_weights(2, 10, tf.float64).numpy()), [[0.1, 0.9], [0.9, 0.1]], rtol=1e-12
    )


@pytest.mark.parametrize("batch", [2, 3, 6])
def test_reference_fill_reproduces_the_strided_view(batch):
    """The reference code writes through a flattened view with stride M' + 1 = row length."""
    n, m_prime = 20, batch - 1
    strat = (n - m_prime) / (n * m_prime)
    expected = np.full((batch, batch), 1 / m_prime)
    flat = expected.reshape(-1)
    flat[:: m_prime + 1] = 1 / n
    flat[1 :: m_prime + 1] = strat
    expected[m_prime - 1, 0] = strat
    weights = np.exp(mss_log_weights(batch, n, tf.float64, reference_fill=True).numpy())
    np.testing.assert_allclose(weights, expected, rtol=1e-12)
    if batch > 3:
        # Rows 2.. weigh their own posterior by 1/M', not 1/N.
        assert weights[3, 3] == pytest.approx(1 / m_prime)


@pytest.mark.parametrize("correlation", [0.0, 0.5])
def test_mws_and_mss_equal_their_brute_force_mixtures(correlation):
    z, mean, logvar = _dataset(5, 3, seed=1)
    n = 40
    mws_weights = np.full((5, 5), 1 / (n * 5))
    mss_weights = np.exp(mss_log_weights(5, n, tf.float64).numpy())
    for estimator, weights in ((mws, mws_weights), (mss, mss_weights)):
        estimate = estimator(z, mean, logvar, n, correlation=correlation)
        log_qz, log_qzj = _brute_log_densities(z, mean, logvar, weights, correlation)
        np.testing.assert_allclose(estimate.log_qz.numpy(), log_qz, rtol=1e-10)
        np.testing.assert_allclose(estimate.log_prod_qzj.numpy(), log_qzj.sum(1), rtol=1e-10)
        assert estimate.total_correlation.numpy() == pytest.approx(
            np.mean(log_qz - log_qzj.sum(1)), rel=1e-10
        )


def test_mss_is_unbiased_for_the_exact_mixture_density():
    """Averaged over every batch of M = 3 holding n* = 0 (all orderings of the other two),
    MSS's q(z) and q(z_j) equal the exact mixture over the N = 5 posteriors (Chen, eq. S6)."""
    z, mean, logvar = _dataset(5, 2, seed=2)
    num, m = 5, 3
    exact_qz, exact_qzj = _brute_log_densities(z[:1], mean, logvar, np.full((1, num), 1 / num))
    log_w = mss_log_weights(m, num, tf.float64)
    qz, qzj = [], []
    for others in itertools.permutations(range(1, num), m - 1):
        batch = [0, *others]
        estimate = mss(z[batch], mean[batch], logvar[batch], num)
        _, log_qzj = log_mixture_densities(z[batch], mean[batch], logvar[batch], log_w)
        qz.append(np.exp(estimate.log_qz.numpy()[0]))
        qzj.append(np.exp(log_qzj.numpy()[0]))
    assert len(qz) == 12
    assert np.mean(qz) == pytest.approx(np.exp(exact_qz[0]), rel=1e-10)
    np.testing.assert_allclose(np.mean(qzj, axis=0), np.exp(exact_qzj[0]), rtol=1e-10)


def test_mws_expectation_over_batches_matches_its_derivation():
    """Over every batch with n* first and M-1 others drawn with replacement, the mean MWS q(z)
    is (q(z|n*) + (M-1) q(z)) / (N M): a lower bound that is low by about a factor N."""
    z, mean, logvar = _dataset(4, 2, seed=3)
    num, m = 4, 3
    exact_qz, _ = _brute_log_densities(z[:1], mean, logvar, np.full((1, num), 1 / num))
    own = stats.multivariate_normal(mean[0], np.diag(np.exp(logvar[0]))).pdf(z[0])
    values = []
    for others in itertools.product(range(num), repeat=m - 1):
        batch = [0, *others]
        values.append(np.exp(mws(z[batch], mean[batch], logvar[batch], num).log_qz.numpy()[0]))
    assert len(values) == num ** (m - 1)
    expected = (own + (m - 1) * np.exp(exact_qz[0])) / (num * m)
    assert np.mean(values) == pytest.approx(expected, rel=1e-10)


def test_whole_dataset_batch_exact_mixture_and_mws_offset():
    """With the batch equal to the dataset, the exact mixture TC is fixed by brute force: MWS
    gives log q(z) - log N and TC + (d-1) log N; Monte Carlo over the same posteriors is exact."""
    num, dim = 6, 3
    z, mean, logvar = _dataset(num, dim, seed=4)
    exact_qz, exact_qzj = _brute_log_densities(z, mean, logvar, np.full((num, num), 1 / num))
    exact_tc = np.mean(exact_qz - exact_qzj.sum(1))
    estimate = mws(z, mean, logvar, num)
    np.testing.assert_allclose(estimate.log_qz.numpy(), exact_qz - math.log(num), rtol=1e-10)
    assert estimate.total_correlation.numpy() == pytest.approx(
        exact_tc + (dim - 1) * math.log(num), rel=1e-10
    )
    # The uniform mixture weights of the Monte Carlo estimator reproduce the exact mixture.
    log_qz, log_qzj = log_mixture_densities(z, mean, logvar, -math.log(num))
    np.testing.assert_allclose(log_qz.numpy(), exact_qz, rtol=1e-10)
    np.testing.assert_allclose(log_qzj.numpy(), exact_qzj, rtol=1e-10)


def test_monte_carlo_matches_numerically_integrated_mixture_tc():
    mean = np.array([[-1.0, -0.8], [0.2, 0.5], [1.2, 0.9]])
    logvar = np.log(np.array([[0.3, 0.5], [0.4, 0.2], [0.25, 0.35]]) ** 2)
    # TC of the 3-component mixture by quadrature on a fine grid.
    grid = np.linspace(-4, 4, 801)
    step = grid[1] - grid[0]
    z1, z2 = np.meshgrid(grid, grid, indexing="ij")
    sigma = np.exp(0.5 * logvar)
    comp1 = stats.norm.pdf(z1[..., None], mean[:, 0], sigma[:, 0])
    comp2 = stats.norm.pdf(z2[..., None], mean[:, 1], sigma[:, 1])
    joint = np.mean(comp1 * comp2, axis=-1)
    marg1, marg2 = joint.sum(1) * step, joint.sum(0) * step
    ratio = np.log(np.maximum(joint, 1e-300)) - np.log(np.outer(marg1, marg2) + 1e-300)
    true_tc = np.sum(joint * ratio) * step**2
    estimate = monte_carlo(mean, logvar, tf.constant([1, 2]), num_samples=4000)
    assert estimate.log_qz.shape == (12000,)
    diffs = (estimate.log_qz - estimate.log_prod_qzj).numpy()
    stderr = diffs.std() / math.sqrt(diffs.size)
    assert abs(estimate.total_correlation.numpy() - true_tc) < 4 * stderr + 1e-3
    assert true_tc > 0.1  # the case is not trivially independent


def test_monte_carlo_with_correlated_noise_recovers_the_noise_tc():
    """One posterior with noise correlation s: q(z) is Gaussian with TC = -1/2 log det S."""
    s, dim = 0.7, 4
    estimate = monte_carlo(
        np.zeros((1, dim)), np.zeros((1, dim)), tf.constant([5, 6]), 3000, correlation=s
    )
    diffs = (estimate.log_qz - estimate.log_prod_qzj).numpy()
    expected = -0.5 * log_det_equicorrelation(dim, s)
    assert abs(diffs.mean() - expected) < 4 * diffs.std() / math.sqrt(diffs.size)


def test_gaussian_total_correlation_of_known_covariances():
    rho = 0.8
    covs = np.stack(
        [
            np.diag([1.0, 4.0]),
            np.array([[1.0, rho], [rho, 1.0]]),
            np.array([[4.0, 2 * rho * 3], [2 * rho * 3, 9.0]]),  # same correlation, rescaled
        ]
    )
    tc = gaussian_total_correlation(covs).numpy()
    pair_tc = -0.5 * math.log(1 - rho**2)
    np.testing.assert_allclose(tc, [0.0, pair_tc, pair_tc], rtol=1e-10, atol=1e-12)
    equi = gaussian_total_correlation(_equicorrelation(10, 0.5)).numpy()
    assert equi == pytest.approx(-0.5 * log_det_equicorrelation(10, 0.5), rel=1e-10)
    # Block-diagonal covariance: TC adds over independent blocks.
    block = np.zeros((4, 4))
    block[:2, :2] = covs[1]
    block[2:, 2:] = _equicorrelation(2, 0.3)
    expected = -0.5 * math.log(1 - rho**2) - 0.5 * math.log(1 - 0.09)
    assert gaussian_total_correlation(block).numpy() == pytest.approx(expected, rel=1e-10)


def test_gaussian_total_correlation_of_codes_recovers_population_tc():
    cov = np.diag([1.0, 2.0, 3.0]) @ _equicorrelation(3, 0.5) @ np.diag([1.0, 2.0, 3.0])
    codes = np.random.default_rng(0).multivariate_normal([1.0, 2.0, 3.0], cov, size=50000)
    expected = -0.5 * log_det_equicorrelation(3, 0.5)
    assert gaussian_total_correlation_of_codes(codes).numpy() == pytest.approx(expected, abs=0.02)


def test_permute_dims_permutes_each_column_independently():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(2000, 1))
    z = np.concatenate([base, base + 0.01 * rng.normal(size=(2000, 1)), -base], axis=1)
    permuted = permute_dims(z, tf.constant([1, 2])).numpy()
    for j in range(3):
        np.testing.assert_array_equal(np.sort(permuted[:, j]), np.sort(z[:, j]))
    # Columns that were almost perfectly dependent become uncorrelated.
    corr = np.corrcoef(permuted, rowvar=False)
    assert np.all(np.abs(corr[np.triu_indices(3, 1)]) < 4 / math.sqrt(2000))
    np.testing.assert_array_equal(permuted, permute_dims(z, tf.constant([1, 2])).numpy())


def _discriminator(dim: int) -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((dim,)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(2),
        ]
    )


def test_density_ratio_trained_discriminator_approaches_true_tc():
    keras.utils.set_random_seed(0)
    rho = 0.8
    cov = np.array([[1.0, rho], [rho, 1.0]], np.float32)
    chol = tf.constant(np.linalg.cholesky(cov))
    true_tc = -0.5 * math.log(1 - rho**2)
    disc = _discriminator(2)
    # Lowering the rate for the last third cuts the SGD noise in the fitted log-ratio.
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay([1000], [3e-3, 3e-4])
    optimizer = keras.optimizers.Adam(schedule)

    @tf.function
    def train_step(step):
        seed = tf.stack([step, 0])
        z = tf.matmul(tf.random.stateless_normal([512, 2], seed), chol, transpose_b=True)
        with tf.GradientTape() as tape:
            estimate = density_ratio(disc, z, tf.stack([step, 1]))
        grads = tape.gradient(estimate.discriminator_loss, disc.trainable_variables)
        optimizer.apply_gradients(zip(grads, disc.trainable_variables, strict=True))
        return estimate

    for step in range(1500):
        train_step(tf.constant(step))
    z = tf.matmul(tf.random.stateless_normal([20000, 2], [9, 9]), chol, transpose_b=True)
    estimate = density_ratio(disc, z, tf.constant([9, 10]), training=False)
    assert estimate.total_correlation.numpy() == pytest.approx(true_tc, abs=0.1)
    # A trained discriminator beats chance; the optimum's loss is below log 2.
    assert estimate.discriminator_loss.numpy() < math.log(2) - 0.05


def test_density_ratio_gradients_reach_codes_only_through_the_tc_term():
    disc = _discriminator(3)
    z = tf.Variable(np.random.default_rng(0).normal(size=(16, 3)).astype(np.float32))
    with tf.GradientTape(persistent=True) as tape:
        estimate = density_ratio(disc, z, tf.constant([1, 2]))
    assert tape.gradient(estimate.discriminator_loss, z) is None
    assert np.any(tape.gradient(estimate.total_correlation, z).numpy() != 0)
    disc_grads = tape.gradient(estimate.discriminator_loss, disc.trainable_variables)
    assert all(g is not None for g in disc_grads)


def test_estimators_run_and_differentiate_inside_tf_function():
    z, mean, logvar = (tf.constant(a, tf.float32) for a in _dataset(8, 4, seed=5))

    @tf.function
    def step(mean, logvar):
        with tf.GradientTape() as tape:
            tape.watch([mean, logvar])
            eps = (z - mean) * tf.exp(-0.5 * logvar)
            sample = mean + tf.exp(0.5 * logvar) * tf.stop_gradient(eps)
            a = mws(sample, mean, logvar, 1000).total_correlation
            b = mss(sample, mean, logvar, 1000, correlation=0.3).total_correlation
            c = monte_carlo(mean, logvar, tf.constant([1, 2]), 3).total_correlation
            total = a + b + c
        return (a, b, c), tape.gradient(total, [mean, logvar])

    (a, b, c), grads = step(mean, logvar)
    assert a.numpy() == pytest.approx(
        mws(z, mean, logvar, 1000).total_correlation.numpy(), rel=1e-5
    )
    assert b.numpy() == pytest.approx(
        mss(z, mean, logvar, 1000, correlation=0.3).total_correlation.numpy(), rel=1e-5
    )
    assert np.isfinite(c.numpy())
    assert all(np.all(np.isfinite(g.numpy())) and np.any(g.numpy() != 0) for g in grads)


def test_bad_input_raises():
    z, mean, logvar = _dataset(4, 3)
    with pytest.raises(ValueError, match="dataset_size"):
        mss(z, mean, logvar, 3)
    with pytest.raises(ValueError, match="at least 2"):
        mws(z[:1], mean[:1], logvar[:1], 10)
    with pytest.raises(ValueError, match="dimensions"):
        mws(z[:, :2], mean, logvar, 10)
    with pytest.raises(ValueError, match="correlation"):
        mss(z, mean, logvar, 10, correlation=1.0)
    with pytest.raises(ValueError, match=r"\[\.\.\., d, d\]"):
        gaussian_total_correlation(np.ones((2, 3)))
    with pytest.raises(ValueError, match="num_samples"):
        monte_carlo(mean, logvar, tf.constant([1, 2]), 0)
    with pytest.raises(ValueError, match=r"\[B, 2\] logits"):
        density_ratio(keras.Sequential([keras.Input((3,)), keras.layers.Dense(3)]), z, [1, 2])


def test_shared_joint_logits_give_the_same_loss_and_discriminator_gradients():
    disc = _discriminator(3)
    z = tf.Variable(np.random.default_rng(3).normal(size=(16, 3)).astype(np.float32))
    estimates, gradients = [], []
    for share in (False, True):
        with tf.GradientTape() as tape:
            estimate = density_ratio(disc, z, tf.constant([4, 5]), share_joint_logits=share)
        estimates.append(estimate)
        gradients.append(tape.gradient(estimate.discriminator_loss, disc.trainable_variables))
    np.testing.assert_allclose(
        estimates[0].discriminator_loss, estimates[1].discriminator_loss, rtol=1e-6
    )
    assert float(estimates[0].discriminator_accuracy) == float(estimates[1].discriminator_accuracy)
    for a, b in zip(gradients[0], gradients[1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
