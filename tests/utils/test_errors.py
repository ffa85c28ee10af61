"""One-line errors: gin's call chain trimmed, bindings checked by one helper, standard JSON."""

from __future__ import annotations

import json

import gin
import numpy as np
import pytest

from tfdis.utils import errors, gin_validation, results


def test_gin_chain_becomes_one_short_where_line():
    @gin.configurable("outer_for_test")
    def outer():
        return inner()

    @gin.configurable("inner_for_test")
    def inner():
        raise TypeError("unsupported operand type(s) for *: 'int' and 'str'")

    with pytest.raises(TypeError) as info:
        outer()
    assert "0x" in str(info.value)  # gin's own text has the function's address
    assert errors.one_line(info.value) == (
        "unsupported operand type(s) for *: 'int' and 'str'\n"
        "  (in gin configurable 'inner_for_test')"
    )


@pytest.mark.parametrize(
    ("value", "rule", "message"),
    [
        ("abc", {"kind": "int", "positive": True}, "must be a positive integer, got 'abc'"),
        (30.5, {"kind": "int", "positive": True}, "must be a positive integer, got 30.5"),
        (64.0, {"kind": "int", "positive": True}, "must be a positive integer, got 64.0"),
        (True, {"kind": "int"}, "must be an integer, got True"),
        (0, {"kind": "int", "positive": True}, "must be a positive integer, got 0"),
        (-1, {"kind": "int", "minimum": 0}, "must be an integer >= 0, got -1"),
        (float("nan"), {"kind": "number"}, "must be a finite number"),
        ("gpu", {"kind": "str", "choices": ("a", "b")}, "must be one of 'a', 'b', got 'gpu'"),
    ],
)
def test_bad_values_name_the_binding(value, rule, message):
    with pytest.raises(errors.ConfigError, match="^model.x " + message.replace("(", r"\(")):
        gin_validation.check_parameter("model.x", value, **rule)


def test_good_values_pass():
    assert gin_validation.check_parameter("model.x", 64, "int", positive=True) == 64
    assert gin_validation.check_parameter("model.x", None, "int", optional=True) is None
    assert gin_validation.check_parameter("model.x", 0.5, "number", minimum=0) == 0.5


def test_results_json_never_holds_nan_or_infinity(tmp_path):
    path = str(tmp_path / "r.json")
    results.atomic_write_json(path, {"a": float("nan"), "b": np.float32(np.inf), "c": [1.5]})
    text = open(path).read()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"a": None, "b": None, "c": [1.5]}


def test_malformed_json_names_the_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{ not json")
    with pytest.raises(ValueError, match="bad.json is not valid JSON"):
        results.read_json(str(path))
