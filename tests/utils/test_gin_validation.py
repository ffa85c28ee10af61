"""Every public gin parameter's type and range is checked, and the error names the binding."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest

from tfdis.data import named_data
from tfdis.evaluation.metrics import beta_vae as beta_vae_metric
from tfdis.evaluation.metrics import dci, mig, sap_score, utils
from tfdis.models import (
    annealed_vae,
    architectures,
    beta_tc_vae,
    cascade_vae,
    dip_vae,
    factor_vae,
    infogan,
    joint_vae,
    rtc_vae,
    semi_supervised_vae,
    supervised_losses,
    vae,
    weak_vae,
)
from tfdis.posteriors import categorical, gaussian
from tfdis.utils import gin_validation
from tfdis.utils.errors import ConfigError

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
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
    ("cascade_vae.num_categories", lambda v: cascade_vae.cascade_vae(num_categories=v), 3.0, 0),
    ("infogan.info_weight", lambda v: infogan.infogan(info_weight=v), "0.1", -0.1),
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
    ("mig.num_train", lambda v: mig.compute_mig(None, None, None, num_train=v), 10.0, 0),
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


@pytest.mark.parametrize("which", ["bad type", "out of range"])
@pytest.mark.parametrize("binding,call,bad_type,out_of_range", CASES, ids=[c[0] for c in CASES])
def test_a_bad_value_is_a_config_error_naming_the_binding(
    binding, call, bad_type, out_of_range, which
):
    value = bad_type if which == "bad type" else out_of_range
    if value is None:  # a string or bool parameter has no range
        pytest.skip("no range")
    with pytest.raises(ConfigError, match=r"^" + re.escape(binding) + r" must be "):
        call(value)


def test_good_values_pass():
    assert vae.beta_vae(beta=0).beta == 0
    assert vae.beta_vae(beta=np.float32(2.0)).beta == 2.0
    assert gaussian.make_gaussian_posterior(_ZEROS, _ZEROS, correlation=0.9) is not None
    assert weak_vae.group_vae_labels(beta=None) is not None


def test_exclusive_upper_bound():
    assert gin_validation.check_parameter("x.c", 0.999, "number", minimum=0, below=1) == 0.999
    with pytest.raises(
        ConfigError, match=r"^x\.c must be a finite number >= 0 < 1, got 1 \(int\)$"
    ):
        gin_validation.check_parameter("x.c", 1, "number", minimum=0, below=1)


def test_cli_bad_beta_is_one_error_line_naming_it(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "tfdis.cli.train",
            f"--model_dir={tmp_path / 'm'}",
            "--gin_config=quickstart.gin",
            "--gin_bindings=vae.beta='abc'",
        ],
        capture_output=True,
        text=True,
        env=ENV,
        check=False,
    )
    assert out.returncode == 1
    lines = out.stderr.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("tfdis_train: error:"))
    assert (
        lines[start] == "tfdis_train: error: vae.beta must be a finite number >= 0, got 'abc' (str)"
    )
    assert len(lines[start:]) <= 2
    assert "Traceback" not in out.stderr
    assert not os.path.exists(tmp_path / "m")
