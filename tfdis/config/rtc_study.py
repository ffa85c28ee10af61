"""`rtc_study`: FactorVAE against RTC-VAE over the regularization strength (paper 003, Figs 3-4).

Both use the RTC paper's settings (its Table 2 encoder and decoder, `rtc_conv_encoder` and
`rtc_deconv_decoder`; batch 500, Adam 1e-3, 100k steps: `rtcvae.gin`, and the same bindings on
`factorvae.gin`) with gamma in 2, 6, 10, 20, 50 (`factor_vae.gamma` or
`rtc_factor_vae.gamma`; RTC-VAE's eta_0 = max(10, gamma)), on dSprites, 10 seeds (the paper
does not give its count). Metrics: TC of the mean and the sampled codes, MIG and SAP.

Enumeration order (outermost first, the seed fastest): dataset, model, strength,
`model.random_seed`; 1 x 2 x 5 x 10 = 100 models. The `_smoke` size runs gamma 2, 10, 50 on
`dsprites_procedural` at batch 64 with seeds 0, 1: 2 x 3 x 2 = 12 models.
"""

from __future__ import annotations

from tfdis.config import study

NAME = "rtc_study"
STRENGTH = "strength"
DATASETS = ("dsprites_full",)
STRENGTHS = (2.0, 6.0, 10.0, 20.0, 50.0)
SMOKE_STRENGTHS = (2.0, 10.0, 50.0)
SEEDS = tuple(range(10))
# rtcvae.gin's architecture, schedule and optimizer (the paper's, for all models), given to
# FactorVAE too.
RTC_PAPER_BINDINGS = (
    "encoder.encoder_fn = @rtc_conv_encoder",
    "decoder.decoder_fn = @rtc_deconv_decoder",
    "model.batch_size = 500",
    "model.training_steps = 100000",
    "AdamOptimizer.learning_rate = 0.001",
)
MODELS = (
    study.StudyModel(
        "factorvae", "factorvae.gin", RTC_PAPER_BINDINGS, {STRENGTH: "factor_vae.gamma"}
    ),
    study.StudyModel("rtcvae", "rtcvae.gin", (), {STRENGTH: "rtc_factor_vae.gamma"}),
)
METRICS = ("tc_mean_sample", "mig", "sap_score")
SMOKE_EVAL_BINDINGS = (
    "tc_mean_sample.num_points = 1000",
    "mig.num_train = 1000",
    "sap_score.num_train = 1000",
    "sap_score.num_test = 500",
)


class RTCStudy(study.Study):
    """Paper 003's study; `smoke=True` gives `rtc_study_smoke`."""

    def __init__(self, smoke: bool = False):
        super().__init__(
            name=study.study_name(NAME, smoke),
            sweep=(
                study.Axis("dataset.name", (study.SMOKE_DATASET,) if smoke else DATASETS),
                study.Axis(study.MODEL_AXIS, MODELS),
                study.Axis(STRENGTH, SMOKE_STRENGTHS if smoke else STRENGTHS),
                study.Axis("model.random_seed", study.SMOKE_SEEDS if smoke else SEEDS),
            ),
            training_bindings=study.SMOKE_TRAINING_BINDINGS if smoke else (),
            eval_metrics=METRICS,
            eval_bindings=SMOKE_EVAL_BINDINGS if smoke else (),
            description="FactorVAE vs RTC-VAE over gamma (paper 003).",
        )
