"""`fairness_study_v1`: Locatello et al. (NeurIPS 2019), "On the Fairness of Disentangled
Representations", dlib's study by number.

dlib's `config/fairness_study_v1/sweep.py` defines the same 12,600 models as
`unsupervised_study_v1` (7 datasets x 36 model configurations x 50 seeds, same order and
bindings, the same shared training config); the study differs in what it measures: the mean
representation only, scored with dlib's `beta_vae_sklearn`, `fairness` and `unsupervised`
metric configs. `fairness_study_v1_smoke` is the 72-model smoke size.
"""

from __future__ import annotations

from tfdis.config import dlib_study, study, unsupervised_study_v1

NAME = "fairness_study_v1"
POSTPROCESS_CONFIG_FILES = ("postprocess/mean.gin",)
# dlib's `config/fairness_study_v1/metric_configs/`, sorted.
METRICS = ("beta_vae_sklearn", "fairness", "unsupervised")
SMOKE_EVAL_BINDINGS = (
    "beta_vae_sklearn.num_train = 200",
    "beta_vae_sklearn.num_eval = 100",
    "fairness.num_train = 500",
    "fairness.num_test_points_per_class = 20",
    "unsupervised_metrics.num_train = 1000",
)


class FairnessStudyV1(dlib_study.DlibSweepStudy):
    """dlib's `fairness_study_v1`; `smoke=True` gives `fairness_study_v1_smoke`."""

    def __init__(self, smoke: bool = False):
        datasets = (study.SMOKE_DATASET,) if smoke else unsupervised_study_v1.DATASETS
        num_seeds = len(study.SMOKE_SEEDS) if smoke else unsupervised_study_v1.NUM_SEEDS
        super().__init__(
            name=study.study_name(NAME, smoke),
            make_configs=lambda: unsupervised_study_v1.get_config(datasets, num_seeds),
            config_file=unsupervised_study_v1.CONFIG_FILE,
            sweep=unsupervised_study_v1.sweep_axes(datasets, num_seeds),
            training_bindings=study.SMOKE_TRAINING_BINDINGS if smoke else (),
            postprocess_config_files=POSTPROCESS_CONFIG_FILES,
            eval_metrics=METRICS,
            eval_bindings=SMOKE_EVAL_BINDINGS if smoke else (),
            description="dlib's fairness_study_v1 (Locatello et al., NeurIPS 2019).",
        )
