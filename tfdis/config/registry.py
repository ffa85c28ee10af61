"""The named studies: `get_study(name)` and `STUDIES` (name -> constructor)."""

from __future__ import annotations

import functools
from collections.abc import Callable

from tfdis.config.cascade_study import CascadeStudy
from tfdis.config.correlated_noise_study import CorrelatedNoiseStudy
from tfdis.config.fairness_study_v1 import FairnessStudyV1
from tfdis.config.rtc_study import RTCStudy
from tfdis.config.semi_supervised_study import SemiSupervisedStudy
from tfdis.config.study import Study, study_name
from tfdis.config.tcvae_beta_study import TCVAEBetaStudy
from tfdis.config.unsupervised_study_v1 import UnsupervisedStudyV1
from tfdis.config.weak_study import WeakStudy

_STUDY_CLASSES = (
    ("correlated_noise_study", CorrelatedNoiseStudy),
    ("rtc_study", RTCStudy),
    ("tcvae_beta_study", TCVAEBetaStudy),
    ("cascade_study", CascadeStudy),
    ("unsupervised_study_v1", UnsupervisedStudyV1),
    ("fairness_study_v1", FairnessStudyV1),
    ("weak_study", WeakStudy),
    ("semi_supervised_study", SemiSupervisedStudy),
)

# Every study at full size and at its `_smoke` size.
STUDIES: dict[str, Callable[[], Study]] = {
    study_name(base, smoke): functools.partial(cls, smoke=smoke)
    for base, cls in _STUDY_CLASSES
    for smoke in (False, True)
}


def get_study(name: str) -> Study:
    """The study called `name` (a key of `STUDIES`).

    Raises:
        ValueError: no study has that name (the message lists them).
    """
    if name not in STUDIES:
        raise ValueError(f"unknown study {name!r}; available: {', '.join(STUDIES)}")
    return STUDIES[name]()
