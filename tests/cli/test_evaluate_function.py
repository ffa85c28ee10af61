"""`tfdis_evaluate --representation_fn=module:function`: any numpy encoder, as dlib's API takes."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from tfdis.evaluation.metrics.mig import compute_mig
from tfdis.evaluation.metrics.sap_score import compute_sap
from tfdis.evaluation.runs import evaluate_function
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


def _linear_onnx_model(path: str, weights: np.ndarray) -> None:
    """An ONNX encoder built by hand: images [B, 64, 64, 1] -> flatten -> @ weights."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [
            helper.make_node("Flatten", ["images"], ["flat"], axis=1),
            helper.make_node("MatMul", ["flat", "weights"], ["representation"]),
        ],
        "linear_encoder",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [None, 64, 64, 1])],
        [helper.make_tensor_value_info("representation", TensorProto.FLOAT, [None, 3])],
        [numpy_helper.from_array(weights.astype(np.float32), "weights")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def test_an_onnx_encoder_is_scored_through_onnxruntime(tmp_path):
    pytest.importorskip("onnxruntime")
    from tfdis.evaluation.onnx_functions import load_onnx_representation

    weights = np.random.RandomState(0).normal(size=(64 * 64, 3)) / 64.0
    path = str(tmp_path / "linear.onnx")
    _linear_onnx_model(path, weights)
    encode = load_onnx_representation(path, batch_size=7)
    images = TinySquares().sample_observations(20, np.random.RandomState(1))
    np.testing.assert_allclose(
        encode(images), images.reshape(20, -1) @ weights.astype(np.float32), rtol=1e-4, atol=1e-5
    )
    out = str(tmp_path / "scores")
    results = evaluate_function(encode, out, ["mig"], gin_bindings=[*DATASET, *SMALL])
    expected = compute_mig(TinySquares(), encode, np.random.RandomState(0), num_train=200)
    assert results["mig"]["discrete_mig"] == expected["discrete_mig"]
    assert os.path.isdir(layout.metric_dir(out, "linear", "mig"))
    with pytest.raises(ValueError, match="has no output 'codes'"):
        load_onnx_representation(path, output_name="codes")
    (tmp_path / "broken.onnx").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a loadable ONNX model"):
        load_onnx_representation(str(tmp_path / "broken.onnx"))


def _tiny_hub_module(path: str, weights: np.ndarray, signature: str = "gaussian_encoder") -> None:
    """A module in dlib's TF-Hub layout: `gaussian_encoder(images) -> {mean, logvar}`."""
    import tensorflow as tf

    module = tf.Module()
    module.weights = tf.Variable(weights.astype(np.float32))

    @tf.function(input_signature=[tf.TensorSpec([None, 64, 64, 1], tf.float32, name="images")])
    def gaussian_encoder(images):
        mean = tf.reshape(images, [-1, 64 * 64]) @ module.weights
        return {"mean": mean, "logvar": tf.zeros_like(mean) - 2.0}

    tf.saved_model.save(module, path, signatures={signature: gaussian_encoder})


def test_a_dlib_tfhub_module_is_scored_through_gaussian_encoder(tmp_path):
    from tfdis.evaluation.tfhub_functions import load_tfhub_representation

    weights = np.random.RandomState(0).normal(size=(64 * 64, 3)) / 64.0
    hub_dir = str(tmp_path / "model" / "tfhub")
    _tiny_hub_module(hub_dir, weights)
    encode = load_tfhub_representation(hub_dir, batch_size=7)
    images = TinySquares().sample_observations(20, np.random.RandomState(1))
    expected_codes = images.reshape(20, -1) @ weights.astype(np.float32)
    np.testing.assert_allclose(encode(images), expected_codes, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(load_tfhub_representation(hub_dir, "logvar")(images), -2.0)
    out = str(tmp_path / "scores")
    results = evaluate_function(encode, out, ["mig"], gin_bindings=[*DATASET, *SMALL])
    expected = compute_mig(TinySquares(), encode, np.random.RandomState(0), num_train=200)
    assert results["mig"]["discrete_mig"] == expected["discrete_mig"]
    assert os.path.isdir(layout.metric_dir(out, "tfhub", "mig"))

    other = str(tmp_path / "other")
    _tiny_hub_module(other, weights, signature="serving_default")
    with pytest.raises(ValueError, match="no 'gaussian_encoder' signature"):
        load_tfhub_representation(other)
    with pytest.raises(ValueError, match="no output 'codes'"):
        load_tfhub_representation(hub_dir, "codes")
    with pytest.raises(FileNotFoundError, match="not found"):
        load_tfhub_representation(str(tmp_path / "missing"))
