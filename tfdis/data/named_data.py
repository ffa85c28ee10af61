"""Name registry for ground-truth datasets, bound by gin as `dataset.name` (SPEC section 1).

Datasets are imported lazily so that naming one never loads the others' dependencies.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import gin

from tfdis.data.ground_truth_data import GroundTruthData
from tfdis.utils import gin_validation

# name -> "module:callable" (or a callable) returning a GroundTruthData.
_REGISTRY: dict[str, str | Callable[[], GroundTruthData]] = {
    "dsprites_procedural": "tfdis.data.dsprites_procedural:DSpritesProcedural",
    "dsprites_full": "tfdis.data.dsprites:DSprites",
    "dsprites_noshape": "tfdis.data.dsprites:DSpritesNoShape",
    "color_dsprites": "tfdis.data.dsprites:ColorDSprites",
    "noisy_dsprites": "tfdis.data.dsprites:NoisyDSprites",
    "shapes3d": "tfdis.data.shapes3d:Shapes3D",
    "smallnorb": "tfdis.data.smallnorb:SmallNORB",
    "cars3d": "tfdis.data.cars3d:Cars3D",
    "mpi3d_toy": "tfdis.data.mpi3d:mpi3d_toy",
    "mpi3d_realistic": "tfdis.data.mpi3d:mpi3d_realistic",
    "mpi3d_real": "tfdis.data.mpi3d:mpi3d_real",
    "mpi3d_complex": "tfdis.data.mpi3d:mpi3d_complex",
    "scream_dsprites": "tfdis.data.scream_dsprites:ScreamDSprites",
    "npz": "tfdis.data.npz_data:NpzData",
    "mnist": "tfdis.data.mnist:MNIST",
    "fashion_mnist": "tfdis.data.mnist:FashionMNIST",
    "digits": "tfdis.data.mnist:Digits",
    "dummy_data": "tfdis.data.dummy_data:IdentityObservationsData",
}


def dataset_names() -> list[str]:
    """All registered dataset names, sorted."""
    return sorted(_REGISTRY)


def registered_target(name: str) -> str | Callable[[], GroundTruthData]:
    """What `name` is registered as ("module:callable" or a callable)."""
    return _REGISTRY[name]


def register_dataset(name: str, target: str | Callable[[], GroundTruthData]) -> None:
    """Registers `target` ("module:callable", or a callable) under `name` (user extensions)."""
    _REGISTRY[name] = target


# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {"dataset": {"name": {"kind": "str"}}},
)


@gin.configurable("dataset")
def get_named_ground_truth_data(name: str = gin.REQUIRED) -> GroundTruthData:
    """Returns the ground-truth dataset called `name`.

    Raises:
        ValueError: `name` is not a registered dataset (the message lists the known ones).
        DatasetNotFoundError: the dataset's files are missing (the message says how to get them).
    """
    gin_validation.check_parameters("dataset", locals(), _GIN_RULES["dataset"])
    if name not in _REGISTRY:
        raise ValueError(
            f"Unknown dataset name {name!r}. Known datasets: {', '.join(dataset_names())}."
        )
    target = _REGISTRY[name]
    if callable(target):
        data = target()
    else:
        module_name, attr = target.split(":")
        data = getattr(importlib.import_module(module_name), attr)()
    data.name = name
    return data
