"""`correlated_noise_study`: Yang et al.'s correlated-noise experiment (paper 002, Figure 1).

VAE, FactorVAE (gamma 35) and beta-TCVAE (beta 6) with the factorized (s = 0) or the correlated
(s = 0.9) posterior, 10 seeds, d = 10 and 20, on dSprites, SmallNORB and Cars3D (dlib's
architecture and schedule: the models' top-level configs). Metrics: MIG, reconstruction / KL,
the paper's TC column (`tc_monte_carlo`: Yang et al.'s Monte Carlo estimate of the sampled
representation's TC, Appendix D, B = 64, B' = 30), and beside it the Gaussian-fit TCs (the
unsupervised scores and TC of the mean and sampled codes), which assume a Gaussian q(z).

Enumeration order (outermost first, the seed fastest): dataset, `encoder.num_latent`, model,
`posterior.correlation`, `model.random_seed`; 3 x 2 x 3 x 2 x 10 = 360 models. The `_smoke`
size keeps `dsprites_procedural`, d = 10 and seeds 0, 1: 3 x 2 x 2 = 12 models.
"""

from __future__ import annotations

from tfdis.config import study

NAME = "correlated_noise_study"
DATASETS = ("dsprites_full", "smallnorb", "cars3d")
NUM_LATENTS = (10, 20)
CORRELATIONS = (0.0, 0.9)
SEEDS = tuple(range(10))
MODELS = (
    study.StudyModel("vae", "betavae.gin", ("vae.beta = 1.",)),
    study.StudyModel("factorvae", "factorvae.gin", ("factor_vae.gamma = 35.",)),
    study.StudyModel("betatcvae", "betatcvae.gin", ("beta_tc_vae.beta = 6.",)),
)
METRICS = ("mig", "reconstruction", "tc_monte_carlo", "unsupervised", "tc_mean_sample")
SMOKE_EVAL_BINDINGS = (
    "mig.num_train = 1000",
    "reconstruction.num_points = 1000",
    "unsupervised_metrics.num_train = 1000",
    "tc_mean_sample.num_points = 1000",
)


class CorrelatedNoiseStudy(study.Study):
    """Paper 002's study; `smoke=True` gives `correlated_noise_study_smoke`."""

    def __init__(self, smoke: bool = False):
        super().__init__(
            name=study.study_name(NAME, smoke),
            sweep=(
                study.Axis("dataset.name", (study.SMOKE_DATASET,) if smoke else DATASETS),
                study.Axis(
                    "encoder.num_latent", (study.SMOKE_NUM_LATENT,) if smoke else NUM_LATENTS
                ),
                study.Axis(study.MODEL_AXIS, MODELS),
                study.Axis("posterior.correlation", CORRELATIONS),
                study.Axis("model.random_seed", study.SMOKE_SEEDS if smoke else SEEDS),
            ),
            training_bindings=study.SMOKE_TRAINING_BINDINGS if smoke else (),
            eval_metrics=METRICS,
            eval_bindings=SMOKE_EVAL_BINDINGS if smoke else (),
            description="VAE, FactorVAE, beta-TCVAE with posterior correlation 0 and 0.9 (paper 002).",
        )
