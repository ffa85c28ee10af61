"""`weak_study`: weakly-supervised VAEs on pairs (Locatello et al. 2020, issue 16).

Ada-GVAE and Ada-ML-VAE (adaptive k, `*_argmax`) and their label variants (`*_labels`, told
which factors changed), beta in 1, 2, 4, 6, 8, 16 (`<model>.beta`), k = 1 and k = Rnd
(`dynamics.k = -1`), on the paper's datasets (dSprites, SmallNORB, Cars3D, Shapes3D,
MPI3D-real), 10 seeds, dlib's architecture and schedule (batch 64 pairs,
300,000 steps). Metrics: MIG and DCI, the paper's headline scores.

Enumeration order (outermost first, the seed fastest): dataset, model, beta, k,
`model.random_seed`; 5 x 4 x 6 x 2 x 10 = 2,400 models. The `_smoke` size runs beta 1 and 8 on
`dsprites_procedural` with seeds 0, 1 for 600 steps: 4 x 2 x 2 x 2 = 32 models.
"""

from __future__ import annotations

from tfdis.config import study

NAME = "weak_study"
BETA = "beta"
DATASETS = ("dsprites_full", "smallnorb", "cars3d", "shapes3d", "mpi3d_real")
BETAS = (1.0, 2.0, 4.0, 6.0, 8.0, 16.0)
SMOKE_BETAS = (1.0, 8.0)
KS = (1, -1)
SEEDS = tuple(range(10))
MODELS = (
    study.StudyModel("ada_gvae", "ada_gvae.gin", (), {BETA: "group_vae_argmax.beta"}),
    study.StudyModel("ada_mlvae", "ada_mlvae.gin", (), {BETA: "mlvae_argmax.beta"}),
    study.StudyModel("gvae_labels", "gvae_labels.gin", (), {BETA: "group_vae_labels.beta"}),
    study.StudyModel("mlvae_labels", "mlvae_labels.gin", (), {BETA: "mlvae_labels.beta"}),
)
METRICS = ("mig", "dci")
SMOKE_EVAL_BINDINGS = ("mig.num_train = 1000", "dci.num_train = 1000", "dci.num_test = 500")


class WeakStudy(study.Study):
    """Locatello et al. (2020)'s weak-supervision study; `smoke=True` gives `weak_study_smoke`."""

    def __init__(self, smoke: bool = False):
        super().__init__(
            name=study.study_name(NAME, smoke),
            sweep=(
                study.Axis("dataset.name", (study.SMOKE_DATASET,) if smoke else DATASETS),
                study.Axis(study.MODEL_AXIS, MODELS),
                study.Axis(BETA, SMOKE_BETAS if smoke else BETAS),
                study.Axis("dynamics.k", KS),
                study.Axis("model.random_seed", study.SMOKE_SEEDS if smoke else SEEDS),
            ),
            training_bindings=study.SMOKE_TRAINING_BINDINGS if smoke else (),
            eval_metrics=METRICS,
            eval_bindings=SMOKE_EVAL_BINDINGS if smoke else (),
            description="Ada-GVAE / Ada-ML-VAE and their label variants on pairs (paper: "
            "Locatello et al. 2020).",
        )
