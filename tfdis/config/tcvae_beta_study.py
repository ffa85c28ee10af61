"""`tcvae_beta_study`: beta-VAE against beta-TCVAE over beta (paper 004, Figure 2).

Both with the beta-TCVAE paper's dSprites settings (those of `betatcvae_chen.gin`: Chen's MLP
encoder and decoder, batch 2048, Adam 1e-3, 50k steps) applied to `betavae.gin` and
`betatcvae.gin`, beta in 1, 2, 4, 6, 8, 10 (`vae.beta` or `beta_tc_vae.beta`), 10 seeds, on
dSprites. Metrics: the study's MIG is Chen et al.'s (`mig_exact`: entropies over the whole
factor grid, dSprites' shape left out of the average as in Chen's `mutual_info_metric_shapes`,
`mig_exact.factor_indices = [1, 2, 3, 4]`), with dlib's 20-bin `mig` beside it, and the ELBO
decomposition over the whole dataset (index-code MI, TC, dimension-wise KL).

Enumeration order (outermost first, the seed fastest): dataset, model, beta,
`model.random_seed`; 1 x 2 x 6 x 10 = 120 models. The `_smoke` size runs beta 1, 4, 8 on
`dsprites_procedural` at batch 64 with seeds 0, 1: 2 x 3 x 2 = 12 models.
"""

from __future__ import annotations

from tfdis.config import study

NAME = "tcvae_beta_study"
BETA = "beta"
DATASETS = ("dsprites_full",)
BETAS = (1.0, 2.0, 4.0, 6.0, 8.0, 10.0)
SMOKE_BETAS = (1.0, 4.0, 8.0)
SEEDS = tuple(range(10))
CHEN_DSPRITES_BINDINGS = (
    "encoder.encoder_fn = @fc_encoder",
    "decoder.decoder_fn = @fc_decoder",
    "AdamOptimizer.learning_rate = 0.001",
    "model.batch_size = 2048",
    "model.training_steps = 50000",
)
MODELS = (
    study.StudyModel("betavae", "betavae.gin", (), {BETA: "vae.beta"}),
    study.StudyModel("betatcvae", "betatcvae.gin", (), {BETA: "beta_tc_vae.beta"}),
)
METRICS = ("mig_exact", "mig", "elbo_decomposition")
# Chen et al. score scale, orientation, posX and posY; shape is left out (SPEC section 8).
EVAL_BINDINGS = ("mig_exact.factor_indices = [1, 2, 3, 4]",)
SMOKE_EVAL_BINDINGS = (
    "mig_exact.num_samples = 1000",
    "mig.num_train = 1000",
    "elbo_decomposition_metric.num_points = 1000",
    "elbo_decomposition_metric.num_samples = 1000",
)


class TCVAEBetaStudy(study.Study):
    """Paper 004's study; `smoke=True` gives `tcvae_beta_study_smoke`."""

    def __init__(self, smoke: bool = False):
        super().__init__(
            name=study.study_name(NAME, smoke),
            sweep=(
                study.Axis("dataset.name", (study.SMOKE_DATASET,) if smoke else DATASETS),
                study.Axis(study.MODEL_AXIS, MODELS),
                study.Axis(BETA, SMOKE_BETAS if smoke else BETAS),
                study.Axis("model.random_seed", study.SMOKE_SEEDS if smoke else SEEDS),
            ),
            training_bindings=CHEN_DSPRITES_BINDINGS
            + (study.SMOKE_TRAINING_BINDINGS if smoke else ()),
            eval_metrics=METRICS,
            eval_bindings=EVAL_BINDINGS + (SMOKE_EVAL_BINDINGS if smoke else ()),
            description="beta-VAE vs beta-TCVAE over beta (paper 004).",
        )
