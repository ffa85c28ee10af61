"""dlib's studies by number: the sweep algebra and model K's bindings, derived by hand."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from tfdis.config import dlib_study, get_study
from tfdis.config import hyperparams as h

ARCH = ["encoder.encoder_fn = @conv_encoder", "decoder.decoder_fn = @deconv_decoder"]


def test_sweep_algebra_is_dlibs():
    a, b = h.sweep("a", [1, 2]), h.fixed("b", "x")
    assert h.zipit([a, b]) == [{"a": 1, "b": "x"}, {"a": 2, "b": "x"}]
    assert list(h.zipit([b, a])[0]) == ["b", "a"]  # key order: the sweeps' order
    with pytest.raises(ValueError, match="different lengths"):
        h.zipit([a, h.sweep("c", [1, 2, 3])])
    assert h.chainit([a, h.sweep("a", [3])]) == [{"a": 1}, {"a": 2}, {"a": 3}]
    # The first sweep is outermost, the last varies fastest.
    assert h.product([a, h.sweep("c", [7, 8])]) == [
        {"a": 1, "c": 7}, {"a": 1, "c": 8}, {"a": 2, "c": 7}, {"a": 2, "c": 8},
    ]  # fmt: skip
    assert h.to_bindings({"m": "@vae()", "n": "beta_vae", "f": 1.0, "i": 1000}) == [
        "m = @vae()", "n = 'beta_vae'", "f = 1.0", "i = 1000",
    ]  # fmt: skip


# Model K = dataset * 1800 + configuration * 50 + seed, configurations chained as beta_vae
# (0-5), factor_vae (6-11), dip_vae_i (12-17), dip_vae_ii (18-23), beta_tc_vae (24-29),
# annealed_vae (30-35); the bindings in dlib's sweep.py order.
TABLE = {
    0: ["dataset.name = 'dsprites_full'", *ARCH, "model.name = 'beta_vae'", "vae.beta = 1.0",
        "model.model = @vae()", "model.random_seed = 0"],
    1: ["dataset.name = 'dsprites_full'", *ARCH, "model.name = 'beta_vae'", "vae.beta = 1.0",
        "model.model = @vae()", "model.random_seed = 1"],
    300: ["dataset.name = 'dsprites_full'", *ARCH, "model.name = 'factor_vae'",
          "factor_vae.gamma = 10.0", "model.model = @factor_vae()",
          "discriminator.discriminator_fn = @fc_discriminator", "model.random_seed = 0"],
    649: ["dataset.name = 'dsprites_full'", *ARCH, "model.name = 'dip_vae_i'",
          "model.model = @dip_vae()", "dip_vae.lambda_od = 1.0", "dip_vae.lambda_d_factor = 10.0",
          "dip_vae.dip_type = 'i'", "model.random_seed = 49"],
    1850: ["dataset.name = 'color_dsprites'", *ARCH, "model.name = 'beta_vae'",
           "vae.beta = 2.0", "model.model = @vae()", "model.random_seed = 0"],
    6407: ["dataset.name = 'scream_dsprites'", *ARCH, "model.name = 'dip_vae_ii'",
           "model.model = @dip_vae()", "dip_vae.lambda_od = 5.0", "dip_vae.lambda_d_factor = 1.0",
           "dip_vae.dip_type = 'ii'", "model.random_seed = 7"],
    10353: ["dataset.name = 'cars3d'", *ARCH, "model.name = 'beta_tc_vae'",
            "model.model = @beta_tc_vae()", "beta_tc_vae.beta = 6.0", "model.random_seed = 3"],
    12599: ["dataset.name = 'shapes3d'", *ARCH, "model.name = 'annealed_vae'",
            "annealed_vae.c_max = 100.0", "annealed_vae.iteration_threshold = 100000",
            "annealed_vae.gamma = 1000", "model.model = @annealed_vae()",
            "model.random_seed = 49"],
}  # fmt: skip


@pytest.mark.parametrize("name", ["unsupervised_study_v1", "fairness_study_v1"])
def test_model_numbers_have_dlibs_bindings(name):
    study = get_study(name)
    assert study.num_models == 7 * 6 * 6 * 50 == 12600
    for k, bindings in TABLE.items():
        assert study.get_model_config(k) == ("unsupervised_study_v1/shared.gin", bindings), k
        assert study.get_model_name(k) == bindings[3].split("'")[1]
    with pytest.raises(ValueError, match="out of range"):
        study.get_model_config(12600)


def test_the_axes_describe_the_same_grid():
    for name in ("unsupervised_study_v1", "fairness_study_v1_smoke"):
        dlib_study.check_axes_match(get_study(name))
    assert get_study("unsupervised_study_v1").get_model_parameters(6407) == {
        "dataset.name": "scream_dsprites", "model": "dip_vae_ii", "model.random_seed": 7,
    }  # fmt: skip


def test_studies_postprocess_and_score_as_dlib():
    unsupervised, fair = get_study("unsupervised_study_v1"), get_study("fairness_study_v1")
    assert unsupervised.get_representations() == ["mean", "sampled"]
    assert unsupervised.get_eval_metrics() == [
        "beta_vae_sklearn", "dci", "downstream_task_boosted_trees",
        "downstream_task_logistic_regression", "factor_vae_metric", "irs", "mig",
        "modularity_explicitness", "sap_score", "unsupervised",
    ]  # fmt: skip
    assert fair.get_representations() == ["mean"]
    assert fair.get_eval_metrics() == ["beta_vae_sklearn", "fairness", "unsupervised"]
    assert not unsupervised.get_eval_gin_bindings() and not fair.get_eval_gin_bindings()


def test_step_seeds_are_dlib_reproduces():
    # dlib_reproduce: RandomState(0), one randint(2**32) per postprocessing config (sorted),
    # then one per metric config (sorted) for each representation in turn.
    rs = np.random.RandomState(0)
    draws = [int(rs.randint(2**32)) for _ in range(2 + 2 * 10)]
    postprocess, evaluation = get_study("unsupervised_study_v1").get_step_seeds()
    assert postprocess == {"mean": draws[0], "sampled": draws[1]}
    assert evaluation["mean", "beta_vae_sklearn"] == draws[2]
    assert evaluation["mean", "unsupervised"] == draws[11]
    assert evaluation["sampled", "beta_vae_sklearn"] == draws[12]
    assert evaluation["sampled", "dci"] == draws[13]
    assert get_study("rtc_study").get_step_seeds() is None


def _reproduce(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    command = [sys.executable, "-m", "tfdis.cli.reproduce", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, check=False)


def test_only_print_shows_dlibs_format():
    out = _reproduce("--study=unsupervised_study_v1", "--only_print", "--model_num=6407")
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert lines[:3] == [
        "Gin base config for model training:", "--", "gin_configs/unsupervised_study_v1/shared.gin",
    ]  # fmt: skip
    assert lines[4:6] == ["Gin bindings for model training:", "--"]
    assert lines[6 : 6 + len(TABLE[6407])] == TABLE[6407]
    assert "gin_configs/postprocess/sampled.gin" in lines
    assert "gin_configs/metrics/downstream_task_logistic_regression.gin" in lines


def test_a_dataset_tfdis_lacks_stops_the_model_before_training(tmp_path):
    # scream_dsprites models (5400-7199) need The Scream's image; without it the run stops
    # with the missing-data error before training.
    from tfdis.config.reproduce import reproduce
    from tfdis.data.named_data import get_named_ground_truth_data
    from tfdis.data.paths import DatasetNotFoundError

    try:
        get_named_ground_truth_data("scream_dsprites")
    except (ValueError, DatasetNotFoundError):
        pass
    else:
        pytest.skip("scream_dsprites is on this machine: model 6407 would train")
    with pytest.raises((ValueError, DatasetNotFoundError)) as error:
        reproduce("unsupervised_study_v1", 6407, str(tmp_path), visualize=False)
    if not isinstance(error.value, DatasetNotFoundError):
        assert "scream_dsprites" in str(error.value)


def test_errors_from_inside_gin_configurables_print_on_one_line(capsys):
    import gin

    from tfdis.cli import common

    @gin.configurable("failing_step_for_test")
    def failing():
        raise ValueError("Unknown dataset name 'x'.")

    with pytest.raises(SystemExit) as exit_info:
        common.run_reporting_errors("tfdis_x", failing)
    assert exit_info.value.code == 1
    # The reason on one line, then at most gin's short where-line (issue 13), no addresses.
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "tfdis_x: error: Unknown dataset name 'x'."
    assert lines[1:] == ["  (in gin configurable 'failing_step_for_test')"]


@pytest.mark.slow
def test_a_fairness_study_model_runs_end_to_end_with_dlibs_seeds(tmp_path, request):
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("about a minute: run with -m slow")
    # fairness_study_v1_smoke model 0 shrunk to 4 steps on the tiny dataset: trained,
    # postprocessed with `mean` and scored with the study's three configs under dlib's seeds.
    from tfdis.config.reproduce import reproduce
    from tfdis.utils import layout, results

    tiny = [
        "dataset.name = 'test_squares'",
        "encoder.num_latent = 3",
        "model.batch_size = 8",
        "model.training_steps = 4",
        "model.eval_steps = 2",
        "model.checkpoint_every_steps = 2",
        "model.summary_every_steps = 2",
        "model.image_summary_every_steps = 2",
        "beta_vae_sklearn.num_train = 20",
        "beta_vae_sklearn.num_eval = 20",
        "beta_vae_sklearn.batch_size = 4",
        "fairness.num_train = 100",
        "fairness.num_test_points_per_class = 5",
        "fairness.n_jobs = 1",
        "unsupervised_metrics.num_train = 100",
    ]
    study = get_study("fairness_study_v1_smoke")
    outcome = reproduce(study.name, 0, str(tmp_path), visualize=False, gin_bindings=tiny)
    assert list(outcome["evaluation"]["mean"]) == ["beta_vae_sklearn", "fairness", "unsupervised"]
    fairness_scores = outcome["evaluation"]["mean"]["fairness"]
    assert "mean_fairness:mean_pred:mean_sens" in fairness_scores
    _, seeds = study.get_step_seeds()
    for metric in ("fairness", "unsupervised"):
        config = results.read_json(
            os.path.join(
                layout.results_dir(layout.metric_dir(outcome["model_dir"], "mean", metric)),
                "json",
                "evaluation_config.json",
            )
        )
        assert int(config["evaluation.random_seed"]) == seeds["mean", metric]
