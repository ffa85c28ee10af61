"""`semi_supervised_study`: semi-supervised VAEs with few labels (Locatello et al., ICLR 2020).

The S^2 versions of beta-VAE, FactorVAE, beta-TCVAE and DIP-VAE-I (`s2_*.gin`) and the fully
supervised baseline (`supervised.gin`), x the supervised loss (`xent`, `l2`, `cov`, `embed`) x
the number of labelled points (100, 1000: `model.num_labelled_samples`) x dlib's labellers
(perfect, binned, noisy, permuted, partial), 5 seeds, on dSprites. Each model keeps the
constants of its `gin_configs/models/s2_*.gin` (gamma_sup 4 at a fixed weight, 90% of the labels
trained on); they are tfdis's choices, not the paper's tuned values. Metrics: MIG and DCI.

Enumeration order (outermost first, the seed fastest): dataset, model, supervised loss, label
count, labeller, `model.random_seed`; 1 x 5 x 4 x 2 x 5 x 5 = 1,000 models. The `_smoke` size
runs the losses `xent` and `cov`, 100 labels, the perfect and binned labellers, seeds 0, 1, on
`dsprites_procedural` for 600 steps: 5 x 2 x 1 x 2 x 2 = 40 models.
"""

from __future__ import annotations

from tfdis.config import study

NAME = "semi_supervised_study"
DATASETS = ("dsprites_full",)
LOSSES = ("@xent", "@l2", "@cov", "@embed")
SMOKE_LOSSES = ("@xent", "@cov")
LABEL_COUNTS = (100, 1000)
SMOKE_LABEL_COUNTS = (100,)
LABELLERS = (
    "@perfect_labeller",
    "@bin_labeller",
    "@noisy_labeller",
    "@permuted_labeller",
    "@partial_labeller",
)
SMOKE_LABELLERS = ("@perfect_labeller", "@bin_labeller")
SEEDS = tuple(range(5))
MODELS = (
    study.StudyModel("s2_vae", "s2_vae.gin"),
    study.StudyModel("s2_factor_vae", "s2_factor_vae.gin"),
    study.StudyModel("s2_beta_tc_vae", "s2_beta_tc_vae.gin"),
    study.StudyModel("s2_dip_vae", "s2_dip_vae.gin"),
    study.StudyModel("supervised", "supervised.gin"),
)
METRICS = ("mig", "dci")
SMOKE_EVAL_BINDINGS = ("mig.num_train = 1000", "dci.num_train = 1000", "dci.num_test = 500")


class SemiSupervisedStudy(study.Study):
    """The ICLR 2020 few-labels study; `smoke=True` gives `semi_supervised_study_smoke`."""

    def __init__(self, smoke: bool = False):
        super().__init__(
            name=study.study_name(NAME, smoke),
            sweep=(
                study.Axis("dataset.name", (study.SMOKE_DATASET,) if smoke else DATASETS),
                study.Axis(study.MODEL_AXIS, MODELS),
                study.Axis("supervised_loss.loss_fn", SMOKE_LOSSES if smoke else LOSSES),
                study.Axis(
                    "model.num_labelled_samples", SMOKE_LABEL_COUNTS if smoke else LABEL_COUNTS
                ),
                study.Axis("labeller.labeller_fn", SMOKE_LABELLERS if smoke else LABELLERS),
                study.Axis("model.random_seed", study.SMOKE_SEEDS if smoke else SEEDS),
            ),
            training_bindings=study.SMOKE_TRAINING_BINDINGS if smoke else (),
            eval_metrics=METRICS,
            eval_bindings=SMOKE_EVAL_BINDINGS if smoke else (),
            description="Semi-supervised VAEs with 100 or 1000 labels (Locatello et al., ICLR "
            "2020).",
        )
