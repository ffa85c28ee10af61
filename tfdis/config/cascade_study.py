"""`cascade_study`: CascadeVAE against JointVAE, beta-VAE and FactorVAE (paper 001).

The models' top-level configs (`cascadevae.gin` with the supplement's dSprites constants,
`jointvae.gin`, `betavae.gin` with beta 4, `factorvae.gin` with gamma 35) on dSprites, 10 seeds.
Metrics: the CascadeVAE disentanglement score and MIG, plus the unsupervised accuracy of the
categorical code (`discrete_accuracy`), which `tfdis_reproduce` runs only for the models that
have one (CascadeVAE, JointVAE), as `tfdis_evaluate --metrics=all` does.

Enumeration order (outermost first, the seed fastest): dataset, model, `model.random_seed`;
1 x 4 x 10 = 40 models. The `_smoke` size runs on `dsprites_procedural` with seeds 0, 1
(4 x 2 = 8 models) and shrinks the schedules to the 600 steps: CascadeVAE relieves a dimension
every 60 steps and starts the discrete code at step 300, JointVAE's capacities grow over 600.
"""

from __future__ import annotations

from tfdis.config import study

NAME = "cascade_study"
DATASETS = ("dsprites_full",)
SEEDS = tuple(range(10))
METRICS = ("cascade_score", "mig", "discrete_accuracy")
SMOKE_EVAL_BINDINGS = (
    "cascade_score.num_votes = 100",
    "cascade_score.num_samples_per_vote = 50",
    "cascade_score.num_variance_estimate = 2000",
    "mig.num_train = 1000",
    "discrete_accuracy.num_samples = 1000",
)


def models(smoke: bool) -> tuple[study.StudyModel, ...]:
    """The four families; the smoke size compresses the discrete models' schedules."""
    cascade = (
        ("cascade_vae.relief_interval = 60", "cascade_vae.discrete_start = 300") if smoke else ()
    )
    joint = ("joint_vae.capacity_steps = 600",) if smoke else ()
    return (
        study.StudyModel("cascadevae", "cascadevae.gin", cascade),
        study.StudyModel("jointvae", "jointvae.gin", joint),
        study.StudyModel("betavae", "betavae.gin"),
        study.StudyModel("factorvae", "factorvae.gin"),
    )


class CascadeStudy(study.Study):
    """Paper 001's comparison; `smoke=True` gives `cascade_study_smoke`."""

    def __init__(self, smoke: bool = False):
        super().__init__(
            name=study.study_name(NAME, smoke),
            sweep=(
                study.Axis("dataset.name", (study.SMOKE_DATASET,) if smoke else DATASETS),
                study.Axis(study.MODEL_AXIS, models(smoke)),
                study.Axis("model.random_seed", study.SMOKE_SEEDS if smoke else SEEDS),
            ),
            training_bindings=study.SMOKE_TRAINING_BINDINGS if smoke else (),
            eval_metrics=METRICS,
            eval_bindings=SMOKE_EVAL_BINDINGS if smoke else (),
            description="CascadeVAE vs JointVAE, beta-VAE, FactorVAE on the cascade score "
            "(paper 001).",
        )
