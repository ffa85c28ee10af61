"""One check for the type and range of a gin parameter, naming the binding on failure.

Gin passes bound values through unchanged, so `model.batch_size = 'abc'` or `= 64.0` would
reach TensorFlow and fail deep inside with a traceback. Configurables check their public
parameters first with `check_parameters`, which raises `ConfigError` (a `ValueError`) such as
`model.batch_size must be a positive integer, got 'abc' (str)`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

from tfdis.utils.errors import ConfigError

# kind -> (accepts, description)
_KINDS = {
    "int": (lambda v: isinstance(v, numbers.Integral) and not isinstance(v, bool), "an integer"),
    "number": (
        lambda v: isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v),
        "a finite number",
    ),
    "bool": (lambda v: isinstance(v, bool), "True or False"),
    "str": (lambda v: isinstance(v, str), "a string"),
}


def check_parameter(
    binding: str,
    value: Any,
    kind: str,
    minimum: float | None = None,
    maximum: float | None = None,
    below: float | None = None,
    positive: bool = False,
    choices: tuple | None = None,
    optional: bool = False,
) -> Any:
    """Returns `value` if it has the `kind` ("int", "number", "bool", "str") and range.

    Args:
        binding: the gin name, e.g. "model.batch_size".
        value: the bound value.
        kind: the expected type; an "int" rejects floats such as 64.0 and booleans.
        minimum, maximum: inclusive bounds.
        below: exclusive upper bound (e.g. 1 for a correlation in [0, 1)).
        positive: the value must be > 0.
        choices: the allowed values (checked after the type).
        optional: None is allowed.

    Raises:
        ConfigError: naming the binding, the expectation and the value.
    """
    if value is None and optional:
        return value
    accepts, description = _KINDS[kind]
    if positive:
        description = "a positive " + description.split(" ", 1)[1]
    if minimum is not None:
        description += f" >= {minimum:g}"
    if maximum is not None:
        description += f" <= {maximum:g}"
    if below is not None:
        description += f" < {below:g}"
    ok = accepts(value)
    if ok and positive and value <= 0:
        ok = False
    if ok and minimum is not None and value < minimum:
        ok = False
    if ok and maximum is not None and value > maximum:
        ok = False
    if ok and below is not None and value >= below:
        ok = False
    if ok and choices is not None and value not in choices:
        ok = False
        description = "one of " + ", ".join(repr(c) for c in choices)
    if not ok:
        if optional:
            description += " or None"
        raise ConfigError(
            f"{binding} must be {description}, got {value!r} ({type(value).__name__})"
        )
    return value


def check_parameters(
    configurable: str, values: Mapping[str, Any], rules: Mapping[str, dict]
) -> None:
    """Checks every `values[name]` against `rules[name]` (keyword arguments of `check_parameter`)."""
    for name, rule in rules.items():
        check_parameter(f"{configurable}.{name}", values[name], **rule)
