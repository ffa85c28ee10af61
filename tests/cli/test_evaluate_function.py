"""`tfdis_evaluate --representation_fn=module:function`: any numpy encoder, as dlib's API takes."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from tfdis.cli.evaluate import evaluate_function
from tfdis.evaluation.metrics.mig import compute_mig
from tfdis.evaluation.metrics.sap_score import compute_sap
from tfdis.testing import TinySquares
from tfdis.utils import layout

ENCODER = '''
import numpy as np

def encode(images):
    """Centroid x, centroid y and mass of each square, plus a constant code."""
    x = np.asarray(images).reshape(len(images), 64, 64)
    mass = x.sum(axis=(1, 2)) + 1e-6
    cols = (x.sum(axis=1) * np.arange(64)).sum(axis=1) / mass
    rows = (x.sum(axis=2) * np.arange(64)).sum(axis=1) / mass
    return np.stack([cols, rows, mass, np.zeros(len(x))], axis=1)
'''
DATASET = ["dataset.name = 'test_squares'"]
SMALL = ["mig.num_train = 200", "sap_score.num_train = 200", "sap_score.num_test = 100"]


@pytest.fixture
def encoder_module(tmp_path, monkeypatch):
    (tmp_path / "my_encoder.py").write_text(ENCODER)
    monkeypatch.chdir(tmp_path)
    yield "my_encoder"
    sys.modules.pop("my_encoder", None)


def test_a_python_function_is_scored_like_dlibs_metric_api(encoder_module, tmp_path):
    out = str(tmp_path / "scores")
    results = evaluate_function(
        f"{encoder_module}:encode", out, ["mig", "sap_score"], gin_bindings=[*DATASET, *SMALL]
    )
    from my_encoder import encode

    mig = compute_mig(TinySquares(), encode, np.random.RandomState(0), num_train=200)
    sap = compute_sap(TinySquares(), encode, np.random.RandomState(0), num_train=200, num_test=100)
    assert results["mig"]["discrete_mig"] == mig["discrete_mig"] > 0.5
    assert results["sap_score"]["SAP_score"] == sap["SAP_score"]
    aggregate = os.path.join(
        layout.results_dir(layout.metric_dir(out, "encode", "mig")), "aggregate", "evaluation.json"
    )
    assert os.path.exists(aggregate)


def test_bad_functions_and_configs_are_clear_errors(encoder_module, tmp_path):
    out = str(tmp_path / "scores")
    with pytest.raises(ValueError, match="must be 'module:function'"):
        evaluate_function("my_encoder", out, ["mig"], gin_bindings=DATASET)
    with pytest.raises(ValueError, match="cannot import 'no_such_module'"):
        evaluate_function("no_such_module:f", out, ["mig"], gin_bindings=DATASET)
    with pytest.raises(ValueError, match="names nothing callable"):
        evaluate_function(f"{encoder_module}:missing", out, ["mig"], gin_bindings=DATASET)
    with pytest.raises(ValueError, match="bind dataset.name"):
        evaluate_function(f"{encoder_module}:encode", out, ["mig"], gin_bindings=SMALL)
    with pytest.raises(ValueError, match="scores a model's posterior"):
        evaluate_function(f"{encoder_module}:encode", out, ["tc_mean_sample"], gin_bindings=DATASET)
    assert not os.path.exists(layout.metric_dir(out, "encode", "mig") + "/results/aggregate")
