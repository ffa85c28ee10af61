"""Studies: deterministic numbering, full grids, configs that gin accepts."""

from __future__ import annotations

import ast
import itertools

import gin
import pytest

from tfdis.config import MODEL_AXIS, STUDIES, Axis, Study, StudyModel, get_study
from tfdis.utils import gin_utils


def _bound(bindings: list[str]) -> dict[str, str]:
    """`{parameter: value text}` of a binding list, later bindings winning (gin's rule)."""
    values = {}
    for binding in bindings:
        parameter, value = (part.strip() for part in binding.split("=", 1))
        values[parameter] = value
    return values


def _value(text: str):
    return ast.literal_eval(text)


# The grids as the papers and the issue state them, written out independently of tfdis.config.
STRENGTH_PARAMETERS = {
    "betavae.gin": "vae.beta",
    "betatcvae.gin": "beta_tc_vae.beta",
    "factorvae.gin": "factor_vae.gamma",
    "rtcvae.gin": "rtc_factor_vae.gamma",
}


def _correlated_noise_grid(smoke: bool) -> set[tuple]:
    datasets = ["dsprites_procedural"] if smoke else ["dsprites_full", "smallnorb", "cars3d"]
    latents = [10] if smoke else [10, 20]
    seeds = [0, 1] if smoke else range(10)
    models = ["betavae.gin", "factorvae.gin", "betatcvae.gin"]
    return set(itertools.product(datasets, latents, models, [0.0, 0.9], seeds))


def _correlated_noise_key(config_file: str, bound: dict[str, str]) -> tuple:
    fixed = {"betavae.gin": 1.0, "factorvae.gin": 35.0, "betatcvae.gin": 6.0}
    assert _value(bound[STRENGTH_PARAMETERS[config_file]]) == fixed[config_file]
    return (
        _value(bound["dataset.name"]),
        _value(bound["encoder.num_latent"]),
        config_file,
        _value(bound["posterior.correlation"]),
        _value(bound["model.random_seed"]),
    )


def _strength_grid(models: list[str], strengths: list[float], seeds) -> set[tuple]:
    return set(itertools.product(models, strengths, seeds))


def _strength_key(config_file: str, bound: dict[str, str]) -> tuple:
    return (
        config_file,
        _value(bound[STRENGTH_PARAMETERS[config_file]]),
        _value(bound["model.random_seed"]),
    )


GRIDS = {
    "correlated_noise_study": (_correlated_noise_grid(False), _correlated_noise_key),
    "correlated_noise_study_smoke": (_correlated_noise_grid(True), _correlated_noise_key),
    "rtc_study": (
        _strength_grid(["factorvae.gin", "rtcvae.gin"], [2.0, 6.0, 10.0, 20.0, 50.0], range(10)),
        _strength_key,
    ),
    "rtc_study_smoke": (
        _strength_grid(["factorvae.gin", "rtcvae.gin"], [2.0, 10.0, 50.0], [0, 1]),
        _strength_key,
    ),
    "tcvae_beta_study": (
        _strength_grid(
            ["betavae.gin", "betatcvae.gin"], [1.0, 2.0, 4.0, 6.0, 8.0, 10.0], range(10)
        ),
        _strength_key,
    ),
    "tcvae_beta_study_smoke": (
        _strength_grid(["betavae.gin", "betatcvae.gin"], [1.0, 4.0, 8.0], [0, 1]),
        _strength_key,
    ),
    "cascade_study": (
        set(
            itertools.product(
                ["cascadevae.gin", "jointvae.gin", "betavae.gin", "factorvae.gin"], range(10)
            )
        ),
        lambda config_file, bound: (config_file, _value(bound["model.random_seed"])),
    ),
    "cascade_study_smoke": (
        set(
            itertools.product(
                ["cascadevae.gin", "jointvae.gin", "betavae.gin", "factorvae.gin"], [0, 1]
            )
        ),
        lambda config_file, bound: (config_file, _value(bound["model.random_seed"])),
    ),
}
# dlib's unsupervised_study_v1 / fairness_study_v1 grid, from sweep.py's lists.
DLIB_DATASETS = [
    "dsprites_full", "color_dsprites", "noisy_dsprites", "scream_dsprites", "smallnorb",
    "cars3d", "shapes3d",
]  # fmt: skip
DLIB_MODELS = [
    ("beta_vae", "vae.beta", [1.0, 2.0, 4.0, 6.0, 8.0, 16.0]),
    ("factor_vae", "factor_vae.gamma", [10.0, 20.0, 30.0, 40.0, 50.0, 100.0]),
    ("dip_vae_i", "dip_vae.lambda_od", [1.0, 2.0, 5.0, 10.0, 20.0, 50.0]),
    ("dip_vae_ii", "dip_vae.lambda_od", [1.0, 2.0, 5.0, 10.0, 20.0, 50.0]),
    ("beta_tc_vae", "beta_tc_vae.beta", [1.0, 2.0, 4.0, 6.0, 8.0, 10.0]),
    ("annealed_vae", "annealed_vae.c_max", [5.0, 10.0, 25.0, 50.0, 75.0, 100.0]),
]
DLIB_PARAMETER = {name: parameter for name, parameter, _ in DLIB_MODELS}


def _dlib_grid(smoke: bool) -> set[tuple]:
    datasets = ["dsprites_procedural"] if smoke else DLIB_DATASETS
    seeds = [0, 1] if smoke else range(50)
    models = [(name, value) for name, _, values in DLIB_MODELS for value in values]
    return {(d, *m, s) for d, m, s in itertools.product(datasets, models, seeds)}


def _dlib_key(config_file: str, bound: dict[str, str]) -> tuple:
    assert config_file == "unsupervised_study_v1/shared.gin"
    name = _value(bound["model.name"])
    return (
        _value(bound["dataset.name"]),
        name,
        _value(bound[DLIB_PARAMETER[name]]),
        _value(bound["model.random_seed"]),
    )


WEAK_BETAS = {
    "ada_gvae.gin": "group_vae_argmax.beta",
    "ada_mlvae.gin": "mlvae_argmax.beta",
    "gvae_labels.gin": "group_vae_labels.beta",
    "mlvae_labels.gin": "mlvae_labels.beta",
}


def _weak_grid(smoke: bool) -> set[tuple]:
    datasets = (
        ["dsprites_procedural"]
        if smoke
        else ["dsprites_full", "smallnorb", "cars3d", "shapes3d", "mpi3d_real"]
    )
    betas = [1.0, 8.0] if smoke else [1.0, 2.0, 4.0, 6.0, 8.0, 16.0]
    seeds = [0, 1] if smoke else range(10)
    return set(itertools.product(datasets, WEAK_BETAS, betas, [1, -1], seeds))


def _weak_key(config_file: str, bound: dict[str, str]) -> tuple:
    return (
        _value(bound["dataset.name"]),
        config_file,
        _value(bound[WEAK_BETAS[config_file]]),
        _value(bound["dynamics.k"]),
        _value(bound["model.random_seed"]),
    )


for _name in ("unsupervised_study_v1", "fairness_study_v1"):
    GRIDS[_name] = (_dlib_grid(False), _dlib_key)
    GRIDS[f"{_name}_smoke"] = (_dlib_grid(True), _dlib_key)

DLIB_STUDIES = ("unsupervised_study_v1", "fairness_study_v1")

GRIDS["weak_study"] = (_weak_grid(False), _weak_key)
GRIDS["weak_study_smoke"] = (_weak_grid(True), _weak_key)


def _semi_supervised_grid(smoke: bool) -> set[tuple]:
    models = ["s2_vae.gin", "s2_factor_vae.gin", "s2_beta_tc_vae.gin", "s2_dip_vae.gin"]
    losses = ["@xent", "@cov"] if smoke else ["@xent", "@l2", "@cov", "@embed"]
    labellers = ["perfect", "bin"] if smoke else ["perfect", "bin", "noisy", "permuted", "partial"]
    return set(
        itertools.product(
            [*models, "supervised.gin"],
            losses,
            [100] if smoke else [100, 1000],
            [f"@{name}_labeller" for name in labellers],
            [0, 1] if smoke else range(5),
        )
    )


def _semi_supervised_key(config_file: str, bound: dict[str, str]) -> tuple:
    return (
        config_file,
        bound["supervised_loss.loss_fn"],
        _value(bound["model.num_labelled_samples"]),
        bound["labeller.labeller_fn"],
        _value(bound["model.random_seed"]),
    )


GRIDS["semi_supervised_study"] = (_semi_supervised_grid(False), _semi_supervised_key)
GRIDS["semi_supervised_study_smoke"] = (_semi_supervised_grid(True), _semi_supervised_key)
DATASETS = {
    "semi_supervised_study": "dsprites_full",
    "rtc_study": "dsprites_full",
    "tcvae_beta_study": "dsprites_full",
    "cascade_study": "dsprites_full",
}


def test_every_study_has_a_grid_and_a_smoke_size():
    assert set(STUDIES) == set(GRIDS)
    for name in STUDIES:
        assert get_study(name).name == name


@pytest.mark.parametrize("name", sorted(STUDIES))
def test_same_model_num_gives_the_same_config_across_instances(name):
    first, second = get_study(name), get_study(name)
    assert first.num_models == second.num_models
    for k in range(first.num_models):
        assert first.get_model_config(k) == second.get_model_config(k)
        assert first.get_model_config(k) == first.get_model_config(k)


@pytest.mark.parametrize("name", sorted(STUDIES))
def test_models_cover_the_full_grid_once(name):
    study = get_study(name)
    expected, key = GRIDS[name]
    keys = []
    for k in range(study.num_models):
        config_file, bindings = study.get_model_config(k)
        bound = _bound(bindings)
        keys.append(key(config_file, bound))
        base = name.removesuffix("_smoke")
        if name.endswith("_smoke"):
            assert _value(bound["dataset.name"]) == "dsprites_procedural"
            if base in DLIB_STUDIES:
                continue
            assert _value(bound["model.training_steps"]) == 600
            assert _value(bound["model.batch_size"]) == 64
            if base in DLIB_STUDIES:
                continue
        elif base in DATASETS:
            assert _value(bound["dataset.name"]) == DATASETS[base]
    assert study.num_models == len(expected)
    assert len(set(keys)) == len(keys)
    assert set(keys) == expected


def test_correlated_noise_study_numbering_is_the_documented_nested_order():
    # Outermost first: dataset (x120), num_latent (x60), model (x20), correlation (x10), seed.
    study = get_study("correlated_noise_study")

    def key(k):
        config_file, bindings = study.get_model_config(k)
        return _correlated_noise_key(config_file, _bound(bindings))

    assert key(0) == ("dsprites_full", 10, "betavae.gin", 0.0, 0)
    assert key(1) == ("dsprites_full", 10, "betavae.gin", 0.0, 1)
    assert key(10) == ("dsprites_full", 10, "betavae.gin", 0.9, 0)
    assert key(20) == ("dsprites_full", 10, "factorvae.gin", 0.0, 0)
    assert key(60) == ("dsprites_full", 20, "betavae.gin", 0.0, 0)
    assert key(120 + 60 + 40 + 10 + 7) == ("smallnorb", 20, "betatcvae.gin", 0.9, 7)
    assert key(359) == ("cars3d", 20, "betatcvae.gin", 0.9, 9)
    assert get_study("correlated_noise_study_smoke").num_models == 12


def test_rtc_study_gives_factorvae_the_rtc_papers_schedule():
    study = get_study("rtc_study")
    for k in range(study.num_models):
        config_file, bindings = study.get_model_config(k)
        if config_file == "factorvae.gin":
            bound = _bound(bindings)
            assert _value(bound["model.batch_size"]) == 500
            assert _value(bound["AdamOptimizer.learning_rate"]) == 0.001


def test_rtc_study_trains_both_models_with_the_rtc_papers_architecture():
    # Paper 003, Table 2, for FactorVAE and RTC-VAE alike.
    study = get_study("rtc_study")
    for k in (0, study.num_models - 1):  # a FactorVAE and an RTC-VAE
        config_file, bindings = study.get_model_config(k)
        gin_utils.parse_config([config_file], bindings)
        try:
            encoder_fn = gin.query_parameter("encoder.encoder_fn")
            decoder_fn = gin.query_parameter("decoder.decoder_fn")
        finally:
            gin.clear_config()
        assert encoder_fn.selector == "rtc_conv_encoder", config_file
        assert decoder_fn.selector == "rtc_deconv_decoder", config_file


@pytest.mark.parametrize("name", sorted(STUDIES))
def test_every_model_config_parses_with_gin_and_binds_what_it_says(name):
    study = get_study(name)
    for k in _parsed_models(study):
        config_file, bindings = study.get_model_config(k)
        gin_utils.parse_config([config_file], bindings)
        try:
            for parameter, text in _bound(bindings).items():
                if not text.startswith("@"):
                    assert gin.query_parameter(parameter) == _value(text), (k, parameter)
        finally:
            gin.clear_config()


def _parsed_models(study: Study) -> range | list[int]:
    """Every model, or for dlib's 12,600-model studies each of the 36 model configurations
    once, spread over the datasets and seeds (the rest differ only in those two values)."""
    if study.num_models != 12600:
        # At most ~200 parses: a stride through the nested order meets every model family and
        # most combinations of the other axes; the grid test checks every model without gin.
        return range(0, study.num_models, max(1, study.num_models // 200))
    per_dataset = study.num_models // 7
    return [(m % 7) * per_dataset + m * 50 + (m * 7) % 50 for m in range(36)]


REPRESENTATIONS = {"unsupervised_study_v1": ["mean", "sampled"]}


@pytest.mark.parametrize("name", sorted(STUDIES))
def test_postprocess_and_metric_configs_parse(name):
    study = get_study(name)
    assert study.get_representations() == REPRESENTATIONS.get(name.removesuffix("_smoke"), ["mean"])
    for config_file in study.get_postprocess_config_files():
        gin_utils.parse_config([config_file])
        gin.clear_config()
    assert study.get_eval_metrics()
    for metric in study.get_eval_metrics():
        gin_utils.parse_config([f"metrics/{metric}.gin"], study.get_eval_gin_bindings())
        for parameter, text in _bound(study.get_eval_gin_bindings()).items():
            assert gin.query_parameter(parameter) == _value(text)
        gin.clear_config()


def test_only_the_cascade_study_asks_for_the_discrete_code_metric():
    for name in STUDIES:
        has_it = "discrete_accuracy" in get_study(name).get_eval_metrics()
        assert has_it == name.startswith("cascade_study")


def test_out_of_range_model_and_unknown_study_are_clear_errors():
    study = get_study("cascade_study_smoke")
    with pytest.raises(ValueError, match=r"models 0\.\.7"):
        study.get_model_config(8)
    with pytest.raises(ValueError, match="out of range"):
        study.get_model_config(-1)
    with pytest.raises(ValueError, match="available: correlated_noise_study"):
        get_study("no_such_study")


def test_a_study_parameter_must_be_mapped_by_every_model():
    mapped = StudyModel("a", "betavae.gin", (), {"strength": "vae.beta"})
    unmapped = StudyModel("b", "factorvae.gin")
    with pytest.raises(ValueError, match="'b' does not say"):
        Study("s", [Axis(MODEL_AXIS, (mapped, unmapped)), Axis("strength", (1.0, 2.0))])
    study = Study("s", [Axis(MODEL_AXIS, (mapped,)), Axis("strength", (1.0, 2.0))])
    assert study.get_model_config(1) == ("betavae.gin", ["vae.beta = 2.0"])
    assert study.get_model_parameters(1) == {MODEL_AXIS: "a", "strength": 2.0}


def test_print_model_config_shows_the_bindings_and_the_steps(capsys):
    study = get_study("correlated_noise_study_smoke")
    study.print_model_config(2)
    out = capsys.readouterr().out
    assert "Gin config for training: betavae.gin" in out
    assert "posterior.correlation = 0.9" in out
    assert "postprocess/mean.gin" in out and "tc_mean_sample" in out
    assert "mig.num_train = 1000" in out
