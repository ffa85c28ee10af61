"""Disentanglement metrics (SPEC section 8); importing this package registers their gin names."""

from tfdis.evaluation.metrics import (  # noqa: F401
    beta_vae,
    cascade_score,
    dci,
    discrete_accuracy,
    downstream_task,
    elbo_decomposition,
    factor_vae,
    fairness,
    irs,
    mig,
    mig_exact,
    modularity_explicitness,
    predictors,
    reconstruction,
    reduced_downstream_task,
    sap_score,
    strong_downstream_task,
    tc_mean_sample,
    unsupervised,
    utils,
)
