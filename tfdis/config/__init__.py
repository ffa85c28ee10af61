"""Studies: named sweeps of training runs that `tfdis_reproduce` runs one model at a time.

`get_study(name)` returns a `Study`; `STUDIES` lists the names (each study has a `_smoke` size).
The study runner (`tfdis.config.reproduce`: train, postprocess, evaluate and draw a study's
model) is imported on use, so importing the studies loads no TensorFlow.
"""

from tfdis.config.registry import STUDIES, get_study
from tfdis.config.study import MODEL_AXIS, Axis, Study, StudyModel

__all__ = ["MODEL_AXIS", "STUDIES", "Axis", "Study", "StudyModel", "get_study"]
