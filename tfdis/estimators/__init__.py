"""Total-correlation estimators and the ELBO decomposition (SPEC section 6)."""

from tfdis.estimators.elbo_decomposition import (
    ElboDecomposition,
    compute_elbo_decomposition,
    elbo_decomposition_from_posteriors,
    encode_observations,
    streaming_log_mixture,
)
from tfdis.estimators.total_correlation import (
    DensityRatioEstimate,
    TCEstimate,
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

__all__ = [
    "DensityRatioEstimate",
    "ElboDecomposition",
    "TCEstimate",
    "compute_elbo_decomposition",
    "density_ratio",
    "elbo_decomposition_from_posteriors",
    "encode_observations",
    "gaussian_total_correlation",
    "gaussian_total_correlation_of_codes",
    "log_mixture_densities",
    "monte_carlo",
    "mss",
    "mss_log_weights",
    "mws",
    "pairwise_log_densities",
    "permute_dims",
    "streaming_log_mixture",
]
