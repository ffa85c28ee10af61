"""Disentanglement metrics (SPEC section 8); importing this package registers their gin names."""

from tfdis.evaluation.metrics import (  # noqa: F401
    beta_vae,
    cascade_score,
    dci,
    dci_es,
    dcimig,
    discrete_accuracy,
    elbo_decomposition,
    factor_vae,
    irs,
    jemmig,
    mig,
    mig_exact,
    mig_sup,
    modularity_explicitness,
    reconstruction,
    sap_score,
    tc_mean_sample,
    unified_scores,
    unsupervised,
    utils,
)
