"""`unsupervised_study_v1`: Locatello et al. (ICML 2019), dlib's 12,600-model study, by number.

"Challenging Common Assumptions in the Unsupervised Learning of Disentangled Representations."
The sweep is dlib's `config/unsupervised_study_v1/sweep.py`, built with the same algebra
(`tfdis.config.hyperparams`), so model `K` has dlib's model `K`'s bindings, in dlib's order:

    product([datasets (7), architecture (1), models (6 families x 6 values), seeds (50)])

- datasets: dsprites_full, color_dsprites, noisy_dsprites, scream_dsprites, smallnorb, cars3d,
  shapes3d (`dataset.name`; `K // 1800`);
- architecture: `encoder.encoder_fn = @conv_encoder`, `decoder.decoder_fn = @deconv_decoder`;
- models, chained in this order (`(K // 50) % 36`), each zipped with its fixed bindings:
  beta-VAE (`vae.beta` 1, 2, 4, 6, 8, 16), FactorVAE (`factor_vae.gamma` 10, 20, 30, 40, 50,
  100), DIP-VAE-I (`dip_vae.lambda_od` 1, 2, 5, 10, 20, 50; `lambda_d_factor` 10), DIP-VAE-II
  (same `lambda_od`; `lambda_d_factor` 1), beta-TCVAE (`beta_tc_vae.beta` 1, 2, 4, 6, 8, 10),
  AnnealedVAE (`annealed_vae.c_max` 5, 10, 25, 50, 75, 100; gamma 1000, threshold 100000);
- seeds: `model.random_seed` 0..49 (`K % 50`).

Training starts from `unsupervised_study_v1/shared.gin` (dlib's shared.gin: batch 64, 300,000
steps, Adam 1e-4). Each model is postprocessed with `mean` and `sampled` and scored with dlib's
ten metric configs of the study, two of which are the downstream tasks.

`unsupervised_study_v1_smoke` runs the same 36 models on `dsprites_procedural` with seeds 0, 1
(72 models), the `_smoke` schedule and small metric sizes.
"""

from __future__ import annotations

from tfdis.config import dlib_study, study
from tfdis.config import hyperparams as h

NAME = "unsupervised_study_v1"
CONFIG_FILE = "unsupervised_study_v1/shared.gin"
DATASETS = (
    "dsprites_full",
    "color_dsprites",
    "noisy_dsprites",
    "scream_dsprites",
    "smallnorb",
    "cars3d",
    "shapes3d",
)
NUM_SEEDS = 50
POSTPROCESS_CONFIG_FILES = ("postprocess/mean.gin", "postprocess/sampled.gin")
# dlib's `config/unsupervised_study_v1/metric_configs/`, in dlib's (sorted) order.
METRICS = (
    "beta_vae_sklearn",
    "dci",
    "downstream_task_boosted_trees",
    "downstream_task_logistic_regression",
    "factor_vae_metric",
    "irs",
    "mig",
    "modularity_explicitness",
    "sap_score",
    "unsupervised",
)
SMOKE_EVAL_BINDINGS = (
    "beta_vae_sklearn.num_train = 200",
    "beta_vae_sklearn.num_eval = 100",
    "dci.num_train = 500",
    "dci.num_test = 200",
    "dci.backend = 'histogram'",
    "downstream_task.num_train = [10, 100]",
    "downstream_task.num_test = 200",
    "factor_vae_score.num_train = 200",
    "factor_vae_score.num_eval = 100",
    "factor_vae_score.num_variance_estimate = 1000",
    "irs.num_train = 1000",
    "mig.num_train = 1000",
    "modularity_explicitness.num_train = 1000",
    "modularity_explicitness.num_test = 500",
    "sap_score.num_train = 1000",
    "sap_score.num_test = 500",
    "unsupervised_metrics.num_train = 1000",
)


def get_datasets(datasets=DATASETS) -> list[h.Config]:
    """The dataset sweep."""
    return h.sweep("dataset.name", datasets)


def get_seeds(num: int) -> list[h.Config]:
    """`model.random_seed` 0..num-1."""
    return h.sweep("model.random_seed", range(num))


def get_default_models() -> list[h.Config]:
    """dlib's 6 families x 6 hyperparameters = 36 configurations, in dlib's chain order."""
    beta_vae = h.zipit(
        [
            h.fixed("model.name", "beta_vae"),
            h.sweep("vae.beta", [1.0, 2.0, 4.0, 6.0, 8.0, 16.0]),
            h.fixed("model.model", "@vae()"),
        ]
    )
    annealed_vae = h.zipit(
        [
            h.fixed("model.name", "annealed_vae"),
            h.sweep("annealed_vae.c_max", [5.0, 10.0, 25.0, 50.0, 75.0, 100.0]),
            h.fixed("annealed_vae.iteration_threshold", 100000),
            h.fixed("annealed_vae.gamma", 1000),
            h.fixed("model.model", "@annealed_vae()"),
        ]
    )
    factor_vae = h.zipit(
        [
            h.fixed("model.name", "factor_vae"),
            h.sweep("factor_vae.gamma", [10.0, 20.0, 30.0, 40.0, 50.0, 100.0]),
            h.fixed("model.model", "@factor_vae()"),
            h.fixed("discriminator.discriminator_fn", "@fc_discriminator"),
        ]
    )

    def dip_vae(name: str, lambda_d_factor: float, dip_type: str) -> list[h.Config]:
        return h.zipit(
            [
                h.fixed("model.name", name),
                h.fixed("model.model", "@dip_vae()"),
                h.sweep("dip_vae.lambda_od", [1.0, 2.0, 5.0, 10.0, 20.0, 50.0]),
                h.fixed("dip_vae.lambda_d_factor", lambda_d_factor),
                h.fixed("dip_vae.dip_type", dip_type),
            ]
        )

    beta_tc_vae = h.zipit(
        [
            h.fixed("model.name", "beta_tc_vae"),
            h.fixed("model.model", "@beta_tc_vae()"),
            h.sweep("beta_tc_vae.beta", [1.0, 2.0, 4.0, 6.0, 8.0, 10.0]),
        ]
    )
    return h.chainit(
        [
            beta_vae,
            factor_vae,
            dip_vae("dip_vae_i", 10.0, "i"),
            dip_vae("dip_vae_ii", 1.0, "ii"),
            beta_tc_vae,
            annealed_vae,
        ]
    )


def get_architecture() -> list[h.Config]:
    """dlib's conv encoder and deconv decoder."""
    return h.zipit(
        [
            h.fixed("encoder.encoder_fn", "@conv_encoder"),
            h.fixed("decoder.decoder_fn", "@deconv_decoder"),
        ]
    )


def get_config(datasets=DATASETS, num_seeds: int = NUM_SEEDS) -> list[h.Config]:
    """The study's configurations: model `K` is element `K`."""
    return h.product(
        [get_datasets(datasets), get_architecture(), get_default_models(), get_seeds(num_seeds)]
    )


def sweep_axes(datasets, num_seeds: int) -> tuple[study.Axis, ...]:
    """The same grid as axes: dataset, the 36 model configurations, seed."""
    models = tuple(
        study.StudyModel(
            name=config["model.name"],
            config_file=CONFIG_FILE,
            bindings=tuple(h.to_bindings(config)),
        )
        for config in get_default_models()
    )
    return (
        study.Axis("dataset.name", tuple(datasets)),
        study.Axis(study.MODEL_AXIS, models),
        study.Axis("model.random_seed", tuple(range(num_seeds))),
    )


class UnsupervisedStudyV1(dlib_study.DlibSweepStudy):
    """dlib's `unsupervised_study_v1`; `smoke=True` gives `unsupervised_study_v1_smoke`."""

    def __init__(self, smoke: bool = False):
        datasets = (study.SMOKE_DATASET,) if smoke else DATASETS
        num_seeds = len(study.SMOKE_SEEDS) if smoke else NUM_SEEDS
        super().__init__(
            name=study.study_name(NAME, smoke),
            make_configs=lambda: get_config(datasets, num_seeds),
            config_file=CONFIG_FILE,
            sweep=sweep_axes(datasets, num_seeds),
            training_bindings=study.SMOKE_TRAINING_BINDINGS if smoke else (),
            postprocess_config_files=POSTPROCESS_CONFIG_FILES,
            eval_metrics=METRICS,
            eval_bindings=SMOKE_EVAL_BINDINGS if smoke else (),
            description="dlib's unsupervised_study_v1 (Locatello et al., ICML 2019).",
        )
