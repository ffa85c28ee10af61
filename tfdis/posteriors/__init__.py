"""Posterior families q(z|x) (SPEC section 5)."""

from tfdis.posteriors.categorical import RelaxedCategorical, make_relaxed_categorical
from tfdis.posteriors.gaussian import (
    CorrelatedGaussian,
    FactorizedGaussian,
    log_det_equicorrelation,
    make_gaussian_posterior,
)

__all__ = [
    "CorrelatedGaussian",
    "FactorizedGaussian",
    "RelaxedCategorical",
    "log_det_equicorrelation",
    "make_gaussian_posterior",
    "make_relaxed_categorical",
]
