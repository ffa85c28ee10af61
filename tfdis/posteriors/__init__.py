"""Posterior families q(z|x) (SPEC section 5)."""

from tfdis.posteriors.gaussian import (
    CorrelatedGaussian,
    FactorizedGaussian,
    log_det_equicorrelation,
    make_gaussian_posterior,
)

__all__ = [
    "CorrelatedGaussian",
    "FactorizedGaussian",
    "log_det_equicorrelation",
    "make_gaussian_posterior",
]
