"""Every public gin parameter's type and range is checked, and the error names the binding."""

from __future__ import annotations

import glob
import os
import re

import gin
import numpy as np
import pytest

from tfdis.data import labelled, named_data, weak
from tfdis.evaluation import evaluate, udr
from tfdis.evaluation.metrics import beta_vae as beta_vae_metric
from tfdis.evaluation.metrics import dci, downstream_task, mig, sap_score, utils
from tfdis.models import (
    annealed_vae,
    architectures,
    beta_tc_vae,
    cascade_vae,
    dip_vae,
    factor_vae,
    infogan,
    joint_vae,
    optimizers,
    rtc_vae,
    semi_supervised_vae,
    supervised_losses,
    vae,
    weak_vae,
)
from tfdis.posteriors import categorical, gaussian
from tfdis.utils import gin_utils, gin_validation
from tfdis.utils.errors import ConfigError

_ZEROS = np.zeros((2, 3), np.float32)

# (binding, call with the parameter set to `value`, a value of the wrong type, an out-of-range one)
CASES = [
    ("vae.beta", lambda v: vae.beta_vae(beta=v), "abc", -1.0),
    ("beta_tc_vae.beta", lambda v: beta_tc_vae.beta_tc_vae(beta=v), [1], -0.5),
    (
        "beta_tc_vae.anneal_steps",
        lambda v: beta_tc_vae.beta_tc_vae(beta=1, anneal_steps=v),
        2.5,
        -1,
    ),
    ("beta_tc_vae.estimator", lambda v: beta_tc_vae.beta_tc_vae(beta=1, estimator=v), 1, "x"),
    ("factor_vae.gamma", lambda v: factor_vae.factor_vae(gamma=v), "1", float("nan")),
    ("factor_vae.two_batch", lambda v: factor_vae.factor_vae(gamma=1, two_batch=v), 1, None),
    (
        "dip_vae.lambda_od",
        lambda v: dip_vae.dip_vae(lambda_od=v, lambda_d_factor=1, dip_type="i"),
        "1",
        -1,
    ),
    ("dip_vae.dip_type", lambda v: dip_vae.dip_vae(1, 1, dip_type=v), 2, "iii"),
    (
        "annealed_vae.iteration_threshold",
        lambda v: annealed_vae.annealed_vae(gamma=1, c_max=1, iteration_threshold=v),
        10.0,
        0,
    ),
    ("rtc_beta_tc_vae.growth", lambda v: rtc_vae.rtc_beta_tc_vae(beta=1, growth=v), "x", 0.0),
    ("rtc_factor_vae.eta_0", lambda v: rtc_vae.rtc_factor_vae(gamma=1, eta_0=v), "x", -1e-3),
    (
        "joint_vae.capacity_steps",
        lambda v: joint_vae.joint_vae([10], 5.0, 5.0, capacity_steps=v, gamma=30.0),
        1e5,
        0,
    ),
    (
        "joint_vae.discrete_sizes",
        lambda v: joint_vae.joint_vae(v, 5.0, 5.0, capacity_steps=10, gamma=30.0),
        [10.0],
        [10, 1],
    ),
    ("cascade_vae.num_categories", lambda v: cascade_vae.cascade_vae(num_categories=v), 3.0, 1),
    ("infogan.info_weight", lambda v: infogan.infogan(info_weight=v), "0.1", -0.1),
    ("infogan.num_categories", lambda v: infogan.infogan(num_categories=v), 10.0, 1),
    ("dynamics.k", lambda v: weak.dynamics(k=v), 1.5, 0),
    ("dynamics.dlib_sampling", lambda v: weak.dynamics(k=1, dlib_sampling=v), "False", None),
    ("group_vae_labels.beta", lambda v: weak_vae.group_vae_labels(beta=v), "1", -2.0),
    ("mlvae_argmax.dlib_variance", lambda v: weak_vae.mlvae_argmax(dlib_variance=v), "no", 0),
    ("s2_vae.gamma_sup", lambda v: semi_supervised_vae.s2_vae(beta=1, gamma_sup=v), "x", -1),
    (
        "s2_annealed_vae.c_max",
        lambda v: semi_supervised_vae.s2_annealed_vae(
            1, c_max=v, iteration_threshold=1, gamma_sup=1
        ),
        "x",
        -1,
    ),
    ("l2.learn_scale", lambda v: supervised_losses.l2([2], learn_scale=v), "yes", 1),
    ("embed.sigma", lambda v: supervised_losses.embed([2], sigma=v), "fixed", -1.0),
    (
        "supervised_loss.loss_fn",
        lambda v: supervised_losses.make_supervised_loss([2], loss_fn=v),
        "xent",
        None,
    ),
    (
        "noisy_labeller.prob_random",
        lambda v: labelled.noisy_labeller(None, None, None, prob_random=v),
        "0.1",
        1.5,
    ),
    (
        "bin_labeller.num_bins",
        lambda v: labelled.bin_labeller(None, None, None, num_bins=v),
        5.0,
        0,
    ),
    (
        "annealer.iteration_threshold",
        lambda v: supervised_losses.make_annealer(
            1.0, 0, iteration_threshold=v, anneal_fn=supervised_losses.fixed
        ),
        "1",
        -5,
    ),
    (
        "posterior.correlation",
        lambda v: gaussian.make_gaussian_posterior(_ZEROS, _ZEROS, correlation=v),
        "0.5",
        1.0,
    ),
    (
        "relaxed_categorical.temperature",
        lambda v: categorical.make_relaxed_categorical(_ZEROS, temperature=v),
        "x",
        0.0,
    ),
    (
        "encoder.num_latent",
        lambda v: architectures.make_gaussian_encoder(
            (64, 64, 1), num_latent=v, encoder_fn=architectures.conv_encoder
        ),
        10.0,
        0,
    ),
    ("dataset.name", lambda v: named_data.get_named_ground_truth_data(name=v), 3, None),
    ("AdamOptimizer.beta1", lambda v: optimizers.adam_optimizer(beta1=v), "0.9", 1.0),
    (
        "vae_optimizer.learning_rate",
        lambda v: optimizers.make_vae_optimizer(learning_rate=v),
        "1e-4",
        0.0,
    ),
    (
        "evaluation.repeats",
        lambda v: evaluate.evaluate(None, "unused", mig.compute_mig, 0, repeats=v),
        2.0,
        0,
    ),
    (
        "udr_sklearn.num_data_points",
        lambda v: udr.compute_udr_sklearn(None, [], None, num_data_points=v),
        "1000",
        -1,
    ),
    ("mig.num_train", lambda v: mig.compute_mig(None, None, None, num_train=v), 10.0, 0),
    (
        "downstream_task.num_train",
        lambda v: downstream_task.compute_downstream_task(None, None, None, num_train=v),
        [10, 1e3],
        [10, 0],
    ),
    ("dci.num_test", lambda v: dci.compute_dci(None, None, None, num_test=v), "5", -1),
    (
        "sap_score.batch_size",
        lambda v: sap_score.compute_sap(None, None, None, batch_size=v),
        1.5,
        0,
    ),
    (
        "beta_vae_sklearn.num_eval",
        lambda v: beta_vae_metric.compute_beta_vae_sklearn(None, None, None, num_eval=v),
        True,
        0,
    ),
    ("discretizer.num_bins", lambda v: utils.make_discretizer(_ZEROS, num_bins=v), 20.0, 0),
]


# One case per (binding, kind of bad value); a string or bool parameter has no range case.
_BAD_VALUES = [
    pytest.param(binding, call, value, id=f"{binding}-{which}")
    for binding, call, bad_type, out_of_range in CASES
    for which, value in (("bad type", bad_type), ("out of range", out_of_range))
    if value is not None
]


@pytest.mark.parametrize("binding,call,value", _BAD_VALUES)
def test_a_bad_value_is_a_config_error_naming_the_binding(binding, call, value):
    with pytest.raises(ConfigError, match=r"^" + re.escape(binding) + r" must be "):
        call(value)


def test_good_values_pass():
    assert vae.beta_vae(beta=0).beta == 0
    assert vae.beta_vae(beta=np.float32(2.0)).beta == 2.0
    assert gaussian.make_gaussian_posterior(_ZEROS, _ZEROS, correlation=0.9) is not None
    # Values besides the kind's range, and sequences.
    assert weak.dynamics(k=-1).k == -1 and weak.dynamics(k=np.int64(3)).k == 3
    assert supervised_losses.embed([2], sigma="learn") is not None
    assert joint_vae.joint_vae((10, 2), 5.0, 5.0, 10, 30.0).discrete_sizes == [10, 2]
    assert gin_validation.check_parameter("d.n", (10, 100), "int_or_ints", positive=True)
    assert gin_validation.check_parameter("m.j", "auto", "bool", also=("auto",)) == "auto"


def test_exclusive_upper_bound():
    assert gin_validation.check_parameter("x.c", 0.999, "number", minimum=0, below=1) == 0.999
    with pytest.raises(
        ConfigError, match=r"^x\.c must be a finite number >= 0 < 1, got 1 \(int\)$"
    ):
        gin_validation.check_parameter("x.c", 1, "number", minimum=0, below=1)


def test_range_bounds_of_two_parameters_are_named():
    with pytest.raises(
        ConfigError, match=r"^rtc_factor_vae\.lower must be < rtc_factor_vae\.upper"
    ):
        rtc_vae.rtc_factor_vae(gamma=1.0, lower=0.05, upper=0.04)


def test_a_bad_binding_fails_when_the_config_is_parsed():
    """Values checked only deep inside training (the posterior, the encoder, the optimizer) are
    refused by `parse_config` already, before any run directory is touched; gin is cleared."""
    for binding, message in [
        ("posterior.correlation = 1.0", "posterior.correlation must be a finite number >= 0 < 1"),
        ("encoder.num_latent = 0", "encoder.num_latent must be a positive integer"),
        ("AdamOptimizer.learning_rate = '1e-4'", "AdamOptimizer.learning_rate must be a positive"),
        ("discretizer.num_bins = 20.0", "discretizer.num_bins must be a positive integer"),
        ("model.train_percentage = 0", "model.train_percentage must be a positive finite number"),
    ]:
        with pytest.raises(ConfigError, match="^" + re.escape(message)):
            gin_utils.parse_config(["quickstart.gin"], [binding])
        assert gin.config_str() == ""


def test_references_and_macros_are_checked_when_called():
    gin_utils.parse_config(["quickstart.gin"], ["BETA = 'x'", "vae.beta = %BETA"])
    try:
        with pytest.raises(ConfigError, match=r"^vae\.beta must be a finite number >= 0, got 'x'"):
            vae.beta_vae()
    finally:
        gin.clear_config()


def test_every_shipped_gin_config_validates():
    root = gin_utils.gin_configs_dir()
    files = sorted(glob.glob(os.path.join(root, "**", "*.gin"), recursive=True))
    assert len(files) > 50
    for path in files:
        gin_utils.parse_config([path])  # raises ConfigError on a bad value
        gin.clear_config()


def test_every_rule_names_a_bindable_gin_parameter():
    gin_utils.register_all_configurables()
    rules = gin_validation.registered_rules()
    for module, tables in rules.items():
        for configurable, table in tables.items():
            for name, rule in table.items():
                gin.config.ParsedBindingKey.parse(f"{module}.{configurable}.{name}")
                assert set(rule) <= {
                    "kind", "minimum", "maximum", "below", "positive", "choices", "also", "optional"
                }, (configurable, name)  # fmt: skip
    names = {c for tables in rules.values() for c in tables}
    for family in ["vae", "beta_tc_vae", "factor_vae", "dip_vae", "annealed_vae", "joint_vae",
                   "cascade_vae", "infogan", "rtc_beta_tc_vae", "rtc_factor_vae", "mlvae_argmax",
                   "group_vae_labels", "dynamics", "s2_vae", "s2_dip_vae", "supervised_loss",
                   "annealer", "noisy_labeller", "posterior", "encoder", "dataset", "model",
                   "AdamOptimizer", "mig", "dci", "sap_score", "downstream_task", "discretizer",
                   "evaluation", "postprocess", "udr_sklearn", "predictor", "reconstruction_loss"]:  # fmt: skip
        assert family in names, family


def test_sequences_and_messages_stay_on_one_line():
    assert list(gin_validation.check_parameter("d.c", np.array([1, 2]), "ints", positive=True)) == [
        1,
        2,
    ]
    for bad in ([], [1.5], "ab", [0], np.zeros((2, 2), int)):
        with pytest.raises(ConfigError) as error:
            gin_validation.check_parameter("d.n", bad, "int_or_ints", positive=True)
        assert str(error.value).startswith(
            "d.n must be a positive integer or a non-empty list of positive integers, got "
        )
        assert "\n" not in str(error.value)
    with pytest.raises(ConfigError, match=r"^d\.k must be a positive integer or -1, got True"):
        gin_validation.check_parameter("d.k", True, "int", positive=True, also=(-1,))
