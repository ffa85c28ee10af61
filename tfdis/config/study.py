"""Studies: named, deterministic enumerations of training runs (dlib's `config/study.py`).

A study is a sweep: an ordered tuple of axes, one of which (`MODEL_AXIS`) ranges over model
families, the others over gin parameters (dataset, latent size, posterior correlation, a
hyperparameter, the seed). Model `K` is the `K`-th element of the nested product of the axes
in the order they are listed, the last axis varying fastest (mixed-radix digits of `K`). So the
same `K` always names the same run and `range(num_models)` covers the whole grid exactly once.

`get_model_config(K)` returns `(model_config_file, gin_bindings)`: a top-level config of
`gin_configs/` and the bindings that make it run `K`, in this order (later bindings win):
the model family's fixed bindings, one binding per axis (outermost first), then the study's
shared training bindings (e.g. the `_smoke` sizes' short schedule).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

MODEL_AXIS = "model"


@dataclasses.dataclass(frozen=True)
class StudyModel:
    """One model family of a study.

    Attributes:
        name: the family's label, recorded in the run as `model.name` (e.g. "betatcvae").
        config_file: top-level gin config, relative to `gin_configs/` (e.g. "betatcvae.gin").
        bindings: the family's fixed bindings (e.g. `("beta_tc_vae.beta = 6.",)`).
        parameters: study parameter -> this family's gin parameter, for axes whose gin name
            depends on the model (e.g. `{"strength": "beta_tc_vae.beta"}`).
    """

    name: str
    config_file: str
    bindings: tuple[str, ...] = ()
    parameters: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def gin_parameter(self, parameter: str) -> str:
        """The gin parameter this family binds for the study parameter `parameter`."""
        return self.parameters.get(parameter, parameter)


@dataclasses.dataclass(frozen=True)
class Axis:
    """One swept parameter and its values, in sweep order.

    Attributes:
        parameter: a gin parameter (`"posterior.correlation"`), `MODEL_AXIS` (values are
            `StudyModel`s), or a study parameter without a dot (`"strength"`) that every model
            maps to its own gin parameter through `StudyModel.parameters`.
        values: the values, in the order they are enumerated.
    """

    parameter: str
    values: tuple[Any, ...]


def gin_literal(value: Any) -> str:
    """`value` as gin source text: `'name'`, `0.9`, `10`, `True`; a string starting with `@`
    is a gin reference and stays as it is (`@xent`)."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        if value.startswith("@"):
            return value
        if "'" in value:
            raise ValueError(f"cannot quote {value!r} for gin")
        return f"'{value}'"
    raise TypeError(f"no gin literal for {value!r} of type {type(value).__name__}")


class Study:
    """A named sweep of training runs, with its postprocessing and metrics.

    Args:
        name: the study's registry name (e.g. "correlated_noise_study_smoke").
        sweep: the axes, outermost first; exactly one has `parameter == MODEL_AXIS`.
        training_bindings: bindings appended to every model's (they win over the sweep's).
        postprocess_config_files: postprocessing configs, names resolved on the gin search path
            (`postprocess/<representation>.gin`).
        eval_metrics: metric config names (`gin_configs/metrics/<name>.gin`).
        eval_bindings: bindings applied on top of every metric config (e.g. smaller sizes).
        description: one line saying what the study reproduces.
    """

    def __init__(
        self,
        name: str,
        sweep: Sequence[Axis],
        training_bindings: Sequence[str] = (),
        postprocess_config_files: Sequence[str] = ("postprocess/mean.gin",),
        eval_metrics: Sequence[str] = ("mig",),
        eval_bindings: Sequence[str] = (),
        description: str = "",
    ):
        self.name = name
        self.sweep = tuple(sweep)
        self.training_bindings = tuple(training_bindings)
        self.postprocess_config_files = tuple(postprocess_config_files)
        self.eval_metrics = tuple(eval_metrics)
        self.eval_bindings = tuple(eval_bindings)
        self.description = description
        self._validate()

    def _validate(self) -> None:
        model_axes = [axis for axis in self.sweep if axis.parameter == MODEL_AXIS]
        if len(model_axes) != 1:
            raise ValueError(f"study {self.name}: the sweep needs exactly one {MODEL_AXIS!r} axis")
        for axis in self.sweep:
            if not axis.values:
                raise ValueError(f"study {self.name}: axis {axis.parameter!r} has no values")
            if len(set(map(repr, axis.values))) != len(axis.values):
                raise ValueError(f"study {self.name}: axis {axis.parameter!r} repeats a value")
        for axis in self.sweep:
            if axis.parameter == MODEL_AXIS or "." in axis.parameter:
                continue
            for model in model_axes[0].values:
                if axis.parameter not in model.parameters:
                    raise ValueError(
                        f"study {self.name}: model {model.name!r} does not say which gin "
                        f"parameter the study parameter {axis.parameter!r} binds"
                    )

    @property
    def models(self) -> tuple[StudyModel, ...]:
        """The model families, in sweep order."""
        return next(axis.values for axis in self.sweep if axis.parameter == MODEL_AXIS)

    @property
    def num_models(self) -> int:
        """Number of runs: the product of the axes' sizes."""
        return math.prod(len(axis.values) for axis in self.sweep)

    def _check_model_num(self, model_num: int) -> None:
        if not 0 <= model_num < self.num_models:
            raise ValueError(
                f"model_num {model_num} is out of range: study {self.name} has models "
                f"0..{self.num_models - 1}"
            )

    def get_model_parameters(self, model_num: int) -> dict[str, Any]:
        """Model `model_num`'s value on each axis: `{axis.parameter: value}` (model as a name).

        Raises:
            ValueError: `model_num` is not in `0..num_models - 1`.
        """
        self._check_model_num(model_num)
        digits = []
        remainder = model_num
        for axis in reversed(self.sweep):
            remainder, index = divmod(remainder, len(axis.values))
            digits.append(axis.values[index])
        values = dict(zip((axis.parameter for axis in self.sweep), reversed(digits), strict=True))
        values[MODEL_AXIS] = values[MODEL_AXIS].name
        return values

    def get_model(self, model_num: int) -> StudyModel:
        """Model `model_num`'s family."""
        name = self.get_model_parameters(model_num)[MODEL_AXIS]
        return next(model for model in self.models if model.name == name)

    def get_model_name(self, model_num: int) -> str:
        """Model `model_num`'s family label (what `tfdis_reproduce` binds as `model.name`)."""
        return self.get_model(model_num).name

    def get_model_config(self, model_num: int) -> tuple[str, list[str]]:
        """The gin config file and bindings that fully determine training run `model_num`.

        Returns:
            `(model_config_file, gin_bindings)`; the file is relative to `gin_configs/`.

        Raises:
            ValueError: `model_num` is not in `0..num_models - 1`.
        """
        parameters = self.get_model_parameters(model_num)
        model = self.get_model(model_num)
        bindings = list(model.bindings)
        for axis in self.sweep:
            if axis.parameter == MODEL_AXIS:
                continue
            value = parameters[axis.parameter]
            bindings.append(f"{model.gin_parameter(axis.parameter)} = {gin_literal(value)}")
        bindings.extend(self.training_bindings)
        return model.config_file, bindings

    def get_postprocess_config_files(self) -> list[str]:
        """Postprocessing configs (`postprocess/<representation>.gin`) every model goes through."""
        return list(self.postprocess_config_files)

    def get_representations(self) -> list[str]:
        """The representation names of the postprocessing configs (`mean` for `.../mean.gin`)."""
        return [
            path.rsplit("/", 1)[-1].removesuffix(".gin") for path in self.postprocess_config_files
        ]

    def get_eval_metrics(self) -> list[str]:
        """Metric config names (`gin_configs/metrics/<name>.gin`) run on every representation."""
        return list(self.eval_metrics)

    def get_eval_gin_bindings(self) -> list[str]:
        """Bindings applied on top of every metric config."""
        return list(self.eval_bindings)

    def get_step_seeds(self) -> tuple[dict[str, int], dict[tuple[str, str], int]] | None:
        """Per-step seeds `tfdis_reproduce` binds, or None to keep the configs' own (here)."""
        return None

    def model_config_line(self, model_num: int) -> str:
        """Model `model_num` on one line: number, config file and bindings."""
        config_file, bindings = self.get_model_config(model_num)
        return f"{model_num}\t{config_file}\t{'; '.join(bindings)}"

    def format_model_config(self, model_num: int) -> str:
        """Model `model_num`'s full configuration as text (what `print_model_config` prints)."""
        config_file, bindings = self.get_model_config(model_num)
        lines = [
            f"Study {self.name}, model {model_num} of {self.num_models} "
            f"({self.get_model_name(model_num)})",
            f"Gin config for training: {config_file}",
            "Gin bindings for training:",
            *(f"  {binding}" for binding in bindings),
            f"Postprocessing configs: {', '.join(self.get_postprocess_config_files())}",
            f"Metrics: {', '.join(self.get_eval_metrics())}",
        ]
        if self.eval_bindings:
            lines.append("Gin bindings for the metrics:")
            lines.extend(f"  {binding}" for binding in self.eval_bindings)
        return "\n".join(lines)

    def print_model_config(self, model_num: int) -> None:
        """Prints model `model_num`'s configuration (dlib's `Study.print_model_config`)."""
        print(self.format_model_config(model_num))

    def format_sweep(self) -> str:
        """The sweep's axes in enumeration order (outermost first, the last one fastest)."""
        lines = [f"Study {self.name}: {self.num_models} models. {self.description}".rstrip()]
        for axis in self.sweep:
            if axis.parameter == MODEL_AXIS:
                values = ", ".join(f"{m.name} ({m.config_file})" for m in axis.values)
            else:
                values = ", ".join(gin_literal(v) for v in axis.values)
            lines.append(f"  {axis.parameter}: {values}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, num_models={self.num_models})"


# The `_smoke` sizes: offline data, two seeds, one latent size and a schedule that runs on a
# 2-core CPU in well under a minute per model (TensorBoard images and checkpoints once, at the end).
SMOKE_DATASET = "dsprites_procedural"
SMOKE_SEEDS = (0, 1)
SMOKE_NUM_LATENT = 10
# 600 steps at the quickstart's learning rate: enough for position and size to show in the
# traversals (at 300 steps and lr 1e-4 the decoders only draw the mean blob).
SMOKE_TRAINING_BINDINGS = (
    "model.batch_size = 64",
    "model.training_steps = 600",
    "model.eval_steps = 10",
    "model.checkpoint_every_steps = 600",
    "model.summary_every_steps = 50",
    "model.image_summary_every_steps = 600",
    "AdamOptimizer.learning_rate = 0.0005",
)


def study_name(base: str, smoke: bool) -> str:
    """`base`, or `base_smoke` for the smoke size."""
    return f"{base}_smoke" if smoke else base
