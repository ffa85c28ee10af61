"""Tests for UDR (tfdis.evaluation.udr): closed forms on synthetic representations."""

import numpy as np
import pytest

from tfdis.evaluation import udr

# Spearman correlation of a bivariate Gaussian with Pearson rho: (6 / pi) arcsin(rho / 2).
RHO_S = 6 / np.pi * np.arcsin(1 / np.sqrt(2) / 2)


def _latents(num=20000, dim=3, seed=0):
    return np.random.RandomState(seed).normal(size=(num, dim))


def _grid(size, dim):
    """Every point of a `size^dim` grid: columns exactly uncorrelated, in values and in ranks."""
    axes = np.meshgrid(*[np.linspace(-1.0, 1.0, size)] * dim, indexing="ij")
    return np.stack([a.ravel() for a in axes], axis=1)


ROTATION = np.array([[1.0, 1.0], [1.0, -1.0]]) / np.sqrt(2.0)
LASSO_ROTATED = 1 / np.sqrt(2) - 0.1  # corr 1/sqrt 2 soft-thresholded by alpha


def _udr(reps, kls=None, **kwargs):
    kls = kls or [np.ones(r.shape[1]) for r in reps]
    return udr._compute_udr(reps, kls, np.random.RandomState(0), **kwargs)


def test_pairwise_score_formulas():
    matrix = np.array([[0.9, 0.0], [0.0, 0.9], [0.0, 0.0]])
    # Paper: (rows 0.9 + 0.9 + 0 (0/0) + columns 0.9 + 0.9) / (3 + 2); dlib: (0.6 + 0.9) / 2.
    assert udr.pairwise_score(matrix, "paper") == pytest.approx(3.6 / 5)
    assert udr.pairwise_score(matrix, "dlib") == pytest.approx(0.75)
    assert udr.pairwise_score(np.zeros((0, 2))) == 0.0
    assert udr.pairwise_score(np.full((2, 2), 0.5)) == pytest.approx(0.25)


@pytest.mark.parametrize("correlation, expected", [("spearman", 1.0), ("lasso", 0.9)])
def test_permuted_and_flipped_copies(correlation, expected):
    # Spearman: |corr| is a permutation matrix -> 1. Lasso (alpha 0.1) on standardized,
    # uncorrelated latents soft-thresholds each coefficient: 1 - 0.1 on the match, 0 elsewhere,
    # so every r^2 / sum = 0.81 / 0.9.
    z = _grid(12, 3)
    reps = [z, -z[:, [2, 0, 1]] * 3.0 + 1.0, z[:, [1, 2, 0]]]
    scores = _udr(reps, correlation_matrix=correlation)
    np.testing.assert_allclose(scores["model_scores"], expected, atol=1e-4)
    assert np.shape(scores["raw_correlations"]) == (3, 3, 3, 3)
    assert np.shape(scores["pairwise_disentanglement_scores"]) == (3, 3, 1)


def test_rotated_pair_closed_form():
    # Model 1 = 45-degree rotation of model 0's two latents: every entry of R is the same, so
    # every r^2 / sum = entry / 2. Lasso on the grid (orthonormal after standardizing): exact.
    z = _grid(60, 2)
    scores = _udr([z, z @ ROTATION], correlation_matrix="lasso")
    np.testing.assert_allclose(scores["model_scores"], LASSO_ROTATED / 2, atol=1e-4)
    # Spearman of Gaussian latents with Pearson 1/sqrt 2, up to O(1/sqrt N) sampling noise.
    z = _latents(dim=2)
    scores = _udr([z, z @ ROTATION], correlation_matrix="spearman")
    np.testing.assert_allclose(scores["model_scores"], RHO_S / 2, atol=0.01)


def test_median_over_the_other_models():
    # Models 0 and 1 agree (Lasso 0.9), model 2 is a rotation (LASSO_ROTATED / 2 with both):
    # model 0's score is the median (= mean) of the two, model 2's is LASSO_ROTATED / 2.
    z = _grid(60, 2)
    scores = _udr([z, z[:, ::-1], z @ ROTATION], correlation_matrix="lasso")
    rotated = LASSO_ROTATED / 2
    np.testing.assert_allclose(
        scores["model_scores"], [(0.9 + rotated) / 2] * 2 + [rotated], atol=1e-4
    )


def test_kl_filter_paper_against_dlib():
    # Model 0 uses 3 latents, model 1 the same first two and a collapsed third (KL 0): the
    # filtered R is 3 x 2 with a unit match for two rows. Paper: (2 + 0 + 2) / (3 + 2) = 0.8;
    # dlib: (mean of columns 1 + mean of rows 2/3) / 2 = 5/6.
    z = _grid(12, 3)
    collapsed = z.copy()
    collapsed[:, 2] = _latents(len(z), seed=1)[:, 0] * 1e-3
    reps, kls = [z, collapsed], [np.ones(3), np.array([1.0, 1.0, 0.0])]
    paper = _udr(reps, kls, correlation_matrix="spearman")
    dlib = _udr(reps, kls, correlation_matrix="spearman", aggregation="dlib")
    np.testing.assert_allclose(paper["model_scores"], 0.8, atol=1e-9)
    np.testing.assert_allclose(dlib["model_scores"], 5 / 6, atol=1e-9)
    # Without the filter the zeroed latent is a constant: 0 correlations, so its row and
    # column add 0 but count in d: (2 + 2) / 6.
    unfiltered = _udr(reps, kls, correlation_matrix="spearman", filter_low_kl=False)
    np.testing.assert_allclose(unfiltered["model_scores"], 4 / 6, atol=1e-9)


def test_independent_models_score_about_zero():
    # Unrelated representations: Lasso keeps no coefficient above alpha, so every R is 0.
    scores = _udr([_latents(seed=s) for s in range(3)], correlation_matrix="lasso")
    np.testing.assert_allclose(scores["model_scores"], 0.0, atol=1e-9)


def test_gaussian_kl_per_latent():
    mean = np.array([[1.0, 0.0], [-1.0, 0.0]])
    logvar = np.array([[0.0, np.log(4.0)], [0.0, np.log(4.0)]])
    # KL = (mu^2 + sigma^2 - log sigma^2 - 1) / 2: (1 + 1 - 0 - 1)/2, (0 + 4 - ln4 - 1)/2.
    np.testing.assert_allclose(
        udr.gaussian_kl_per_latent(mean, logvar), [0.5, (3 - np.log(4.0)) / 2]
    )


def test_compute_udr_sklearn_with_posteriors_and_errors():
    import sys

    sys.path.insert(0, __file__.rsplit("/", 1)[0] + "/metrics")
    import metrics_testlib as tl

    data = tl.IdentityData((4, 4, 4, 4))
    encoders = [tl.GaussianPosterior(np.eye(4)), tl.GaussianPosterior(np.eye(4)[::-1] * 2)]
    scores = udr.compute_udr_sklearn(
        data, encoders, np.random.RandomState(0), batch_size=10, num_data_points=500,
        correlation_matrix="spearman",
    )  # fmt: skip
    # The same observations (same random state) encoded by hand give the same scores.
    rs = np.random.RandomState(0)
    observations = np.concatenate([data.sample_observations(10, rs) for _ in range(50)])
    means = [e.encode(observations)[0] for e in encoders]
    kls = [udr.gaussian_kl_per_latent(*e.encode(observations)) for e in encoders]
    reference = udr._compute_udr(
        means, kls, np.random.RandomState(0), correlation_matrix="spearman"
    )
    assert scores == reference
    with pytest.raises(ValueError, match="multiple of batch_size"):
        udr.compute_udr_sklearn(data, encoders, np.random.RandomState(0), 7, 100)
    with pytest.raises(ValueError, match="at least 2"):
        _udr([_latents(100)])
    with pytest.raises(ValueError, match="one shape"):
        _udr([_latents(100), _latents(100, dim=2)])
    with pytest.raises(ValueError, match="correlation_matrix"):
        _udr([_latents(100)] * 2, correlation_matrix="pearson")


def test_noisy_copies_closed_form():
    # Model 1 = model 0 + independent noise of the same variance: corr 1/sqrt 2 on the matching
    # latents. Lasso soft-thresholds it by alpha both ways, so both scores are 1/sqrt 2 - 0.1;
    # Spearman gives (6 / pi) arcsin(1 / (2 sqrt 2)) up to O(1/sqrt N) off-diagonal terms.
    z = _latents(dim=2)
    noisy = z + _latents(dim=2, seed=1)
    lasso = _udr([z, noisy], correlation_matrix="lasso")
    np.testing.assert_allclose(lasso["model_scores"], LASSO_ROTATED, atol=0.01)
    spearman = _udr([z, noisy], correlation_matrix="spearman")
    np.testing.assert_allclose(spearman["model_scores"], RHO_S, atol=0.02)


@pytest.mark.parametrize("name, correlation", [("udr", "lasso"), ("udr_spearman", "spearman")])
def test_udr_gin_configs_parse(name, correlation):
    import gin

    from tfdis.utils import gin_utils

    gin_utils.parse_config([f"udr/{name}.gin"])
    assert gin.query_parameter("udr_sklearn.correlation_matrix") == correlation
    assert gin.query_parameter("udr_sklearn.aggregation") == "paper"
    assert gin.query_parameter("udr_evaluation.random_seed") == 0


def test_duplicated_latent_closed_form():
    # Model 1 = (z0, z1, z0): z0 twice, z2 dropped. Spearman (grid: exact ranks) gives
    # R_01 = [[1, 0, 1], [0, 1, 0], [0, 0, 0]] (rows model 0's latents): every column's
    # r^2 / sum is 1, the rows' are 1/2 (z0 split over two copies), 1 and 0 (z2 unmatched), so
    # (3 + 1.5) / 6 = 0.75 both ways (R_10 = R_01^T), the paper's and dlib's aggregations alike.
    z = _grid(12, 3)
    duplicated = z[:, [0, 1, 0]]
    for aggregation in ("paper", "dlib"):
        scores = _udr([z, duplicated], correlation_matrix="spearman", aggregation=aggregation)
        np.testing.assert_allclose(scores["model_scores"], [0.75, 0.75], atol=1e-9)
    # Lasso (alpha 0.1, standardized, cyclic coordinate descent from 0, as dlib's sklearn fit):
    # regressing model 1 on z matches each target once, 1 - alpha: R_01 = 0.9 x the Spearman
    # R, 0.75 x 0.9 = 0.675. Regressing z on (z0, z1, z0), the first copy takes z0's 0.9 and
    # leaves the second a residual correlation 0.1 = alpha, so 0: R_10 = 0.9 diag(1, 1, 0),
    # (0.9 + 0.9 + 0) x 2 / 6 = 0.6. A model's score is the pair where it is the target.
    scores = _udr([z, duplicated], correlation_matrix="lasso")
    np.testing.assert_allclose(scores["model_scores"], [0.6, 0.675], atol=1e-6)
    raw = np.array(scores["raw_correlations"])
    np.testing.assert_allclose(raw[1, 0], 0.9 * np.diag([1.0, 1.0, 0.0]), atol=1e-6)
