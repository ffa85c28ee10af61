"""A study enumerated the way dlib's `config/<study>/sweep.py` files do (`tfdis.config.hyperparams`).

dlib builds a study as one list of binding dicts, `product([datasets, architecture, models,
seeds])`, and model `K` is the `K`-th dict. `DlibSweepStudy` keeps that list, so `K` names the
same run as in dlib and its bindings come out in dlib's order and spelling (`to_bindings`). It
is still a `Study`: its `sweep` axes (dataset, model-and-hyperparameter, seed) describe the same
grid in the same mixed-radix order, which the constructor checks binding by binding.

`format_model_config` prints what `dlib_reproduce --only_print` prints (the base config, the
training bindings, the postprocessing and the metric configs), with tfdis's config paths.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np

from tfdis.config import hyperparams, study


class DlibSweepStudy(study.Study):
    """A study whose model `K` is the `K`-th configuration of a dlib sweep.

    Args:
        name: registry name.
        make_configs: returns the sweep (a list of binding dicts), e.g. a `get_config` that
            mirrors dlib's; called once, on first use.
        config_file: the training base config (relative to `gin_configs/`).
        sweep: the same grid as `study.Axis`es, outermost first: `dataset.name`, `MODEL_AXIS`
            (one `StudyModel` per model-and-hyperparameter, whose `bindings` are the sweep's
            bindings between the dataset and the seed) and `model.random_seed`.
        **kwargs: `study.Study`'s remaining arguments (training bindings go after the sweep's).
    """

    def __init__(
        self,
        name: str,
        make_configs: Callable[[], list[hyperparams.Config]],
        config_file: str,
        sweep: Sequence[study.Axis],
        **kwargs,
    ):
        super().__init__(name=name, sweep=sweep, **kwargs)
        self._make_configs = make_configs
        self.config_file = config_file

    @functools.cached_property
    def configs(self) -> list[hyperparams.Config]:
        """The sweep's binding dicts, model `K` at index `K`."""
        configs = self._make_configs()
        if len(configs) != super().num_models:
            raise ValueError(
                f"study {self.name}: the sweep has {len(configs)} configurations but its axes "
                f"describe {super().num_models}"
            )
        return configs

    def get_model_parameters(self, model_num: int) -> dict:
        """Model `model_num`'s dataset, family (dlib's `model.name`) and seed."""
        parameters = super().get_model_parameters(model_num)
        parameters[study.MODEL_AXIS] = self.configs[model_num]["model.name"]
        return parameters

    def get_model(self, model_num: int) -> study.StudyModel:
        """Model `model_num`'s model-and-hyperparameter entry of the `MODEL_AXIS`."""
        self._check_model_num(model_num)
        inner = 1
        for axis in reversed(self.sweep):
            if axis.parameter == study.MODEL_AXIS:
                return axis.values[(model_num // inner) % len(axis.values)]
            inner *= len(axis.values)
        raise AssertionError("unreachable: the sweep has a model axis")

    def get_model_name(self, model_num: int) -> str:
        """dlib's `model.name` of model `model_num` (`beta_vae`, `factor_vae`, ...)."""
        self._check_model_num(model_num)
        return self.configs[model_num]["model.name"]

    def get_model_config(self, model_num: int) -> tuple[str, list[str]]:
        """`(config_file, bindings)`: dlib's bindings of model `model_num`, then the study's."""
        self._check_model_num(model_num)
        bindings = hyperparams.to_bindings(self.configs[model_num])
        return self.config_file, [*bindings, *self.training_bindings]

    def get_step_seeds(self) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
        """dlib_reproduce's seeds: `({representation: postprocess seed}, {(representation,
        metric): evaluation seed})`.

        dlib draws them from `np.random.RandomState(0)`: first one `randint(2**32)` per
        postprocessing config (sorted), then one per metric config (sorted) for each
        representation in turn. `tfdis_reproduce` binds them as `postprocess.random_seed` and
        `evaluation.random_seed`, so a model's representations and scores use dlib's seeds.
        """
        random_state = np.random.RandomState(0)
        representations = sorted(self.get_representations())
        postprocess = {rep: int(random_state.randint(2**32)) for rep in representations}
        evaluation = {
            (rep, metric): int(random_state.randint(2**32))
            for rep in representations
            for metric in sorted(self.get_eval_metrics())
        }
        return postprocess, evaluation

    def format_model_config(self, model_num: int) -> str:
        """Model `model_num` as `dlib_reproduce --only_print` prints it."""
        config_file, bindings = self.get_model_config(model_num)
        lines = [
            "Gin base config for model training:",
            "--",
            f"gin_configs/{config_file}",
            "",
            "Gin bindings for model training:",
            "--",
            *bindings,
            "",
            "Gin config files for postprocessing (random seeds may be set later):",
            "--",
            *(f"gin_configs/{path}" for path in self.get_postprocess_config_files()),
            "",
            "Gin config files for evaluation (random seeds may be set later):",
            "--",
            *(f"gin_configs/metrics/{metric}.gin" for metric in self.get_eval_metrics()),
        ]
        if self.eval_bindings:
            lines += ["", "Gin bindings for the metrics:", "--", *self.eval_bindings]
        return "\n".join(lines)


def check_axes_match(dlib_study: DlibSweepStudy) -> None:
    """Raises ValueError unless every configuration agrees with the axes' mixed-radix digits."""
    for k, config in enumerate(dlib_study.configs):
        digits = study.Study.get_model_parameters(dlib_study, k)
        model = dlib_study.get_model(k)
        expected = {
            parameter: value for parameter, value in digits.items() if parameter != study.MODEL_AXIS
        }
        if any(config.get(p) != v for p, v in expected.items()) or any(
            binding not in hyperparams.to_bindings(config) for binding in model.bindings
        ):
            raise ValueError(f"study {dlib_study.name}: model {k} does not match its axes")
