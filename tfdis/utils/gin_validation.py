"""One check for the type and range of a gin parameter, naming the binding on failure.

Gin passes bound values through unchanged, so `model.batch_size = 'abc'` or `= 64.0` would
reach TensorFlow and fail deep inside with a traceback. Each module declares the types and
ranges of its configurables' public parameters in one table,

    _GIN_RULES = gin_validation.register(__name__, {"vae": {"beta": {"kind": "number", "minimum": 0}}})

and its configurables check their arguments with `check_parameters`, which raises `ConfigError`
(a `ValueError`) such as `model.batch_size must be a positive integer, got 'abc' (str)`.
`check_bindings` applies the same tables to the literal values in the parsed gin config, so a
bad binding is refused when the config is parsed, before any file is touched, even when its
configurable would only be called deep inside training or evaluation.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

import gin
import numpy as np

from tfdis.utils.errors import ConfigError


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def _is_sequence(v: Any) -> bool:
    return isinstance(v, list | tuple) or (isinstance(v, np.ndarray) and v.ndim == 1)


def _elements(v: Any) -> list | None:
    return list(v) if _is_sequence(v) and len(v) > 0 else None


# kind -> (the values it accepts, the elements the range applies to, description)
_KINDS: dict[str, tuple[Callable[[Any], bool], Callable[[Any], list], str]] = {
    "int": (_is_int, lambda v: [v], "an integer"),
    "number": (_is_number, lambda v: [v], "a finite number"),
    "bool": (lambda v: isinstance(v, bool), lambda v: [], "True or False"),
    "str": (lambda v: isinstance(v, str), lambda v: [], "a string"),
    "callable": (callable, lambda v: [], "a configurable such as @name"),
    "ints": (
        lambda v: _elements(v) is not None and all(map(_is_int, v)),
        list,
        "a non-empty list of integers",
    ),
    "int_or_ints": (
        lambda v: _is_int(v) or (_elements(v) is not None and all(map(_is_int, v))),
        lambda v: list(v) if _is_sequence(v) else [v],
        "an integer or a non-empty list of integers",
    ),
}

# module -> {configurable: {parameter: rule}}, filled by `register`.
_REGISTRY: dict[str, dict[str, dict[str, dict]]] = {}


def _describe(kind: str, minimum, maximum, below, positive, also, optional) -> str:
    description = _KINDS[kind][2]
    if positive:
        description = description.replace("an integer", "a positive integer").replace(
            "a finite number", "a positive finite number"
        )
        description = description.replace("of integers", "of positive integers")
    if minimum is not None:
        description += f" >= {minimum:g}"
    if maximum is not None:
        description += f" <= {maximum:g}"
    if below is not None:
        description += f" < {below:g}"
    for value in also:
        description += f" or {value!r}"
    if optional:
        description += " or None"
    return description


def check_parameter(
    binding: str,
    value: Any,
    kind: str,
    minimum: float | None = None,
    maximum: float | None = None,
    below: float | None = None,
    positive: bool = False,
    choices: tuple | None = None,
    also: tuple = (),
    optional: bool = False,
) -> Any:
    """Returns `value` if it has the `kind` and lies in the range; else raises `ConfigError`.

    Args:
        binding: the gin name, e.g. "model.batch_size".
        value: the bound value.
        kind: "int" (rejects floats such as 64.0 and booleans), "number" (finite int or float),
            "bool", "str", "callable" (a gin reference such as `@xent`), "ints" (a non-empty
            list or tuple of integers) or "int_or_ints"; the range applies to each integer.
        minimum, maximum: inclusive bounds.
        below: exclusive upper bound (e.g. 1 for a correlation in [0, 1)).
        positive: the value must be > 0.
        choices: the allowed values (checked after the type).
        also: values accepted besides the kind and range (e.g. "learn", or -1 for "random").
        optional: None is allowed.

    Raises:
        ConfigError: naming the binding, the expectation and the value.
    """
    if (value is None and optional) or any(_same(value, v) for v in also):
        return value
    accepts, elements, description = _KINDS[kind]
    ok = accepts(value)
    if ok:
        for element in elements(value):
            if (
                (positive and element <= 0)
                or (minimum is not None and element < minimum)
                or (maximum is not None and element > maximum)
                or (below is not None and element >= below)
            ):
                ok = False
    if choices is not None:
        description = "one of " + ", ".join(repr(c) for c in choices)
        ok = ok and value in choices
        if optional:
            description += " or None"
    else:
        description = _describe(kind, minimum, maximum, below, positive, also, optional)
    if not ok:
        raise ConfigError(
            f"{binding} must be {description}, got {_show(value)} ({type(value).__name__})"
        )
    return value


def _show(value: Any) -> str:
    # One line, however large the value (an array, a long list).
    text = " ".join(repr(value).split())
    return text if len(text) <= 80 else text[:77] + "..."


def _same(value: Any, special: Any) -> bool:
    # `also` values match by kind and value: True must not pass as 1, nor 1.0 as 1.
    if isinstance(special, bool) or isinstance(value, bool):
        return value is special
    if isinstance(special, str):
        return isinstance(value, str) and value == special
    return _is_int(special) and _is_int(value) and value == special


def check_parameters(
    configurable: str, values: Mapping[str, Any], rules: Mapping[str, dict]
) -> None:
    """Checks every `values[name]` against `rules[name]` (keyword arguments of `check_parameter`)."""
    for name, rule in rules.items():
        check_parameter(f"{configurable}.{name}", values[name], **rule)


def check_less(configurable: str, low: str, high: str, values: Mapping[str, Any]) -> None:
    """Raises `ConfigError` unless `values[low] < values[high]` (two bounds of one range)."""
    if not values[low] < values[high]:
        raise ConfigError(
            f"{configurable}.{low} must be < {configurable}.{high}, got {values[low]!r} and "
            f"{values[high]!r}"
        )


def register(module: str, rules: dict[str, dict[str, dict]]) -> dict[str, dict[str, dict]]:
    """Records a module's rule table for `check_bindings` and returns it.

    Args:
        module: the module defining the configurables (`__name__`), so that two configurables
            of the same name in different modules stay apart.
        rules: `{configurable name: {parameter: keyword arguments of check_parameter}}`.
    """
    _REGISTRY.setdefault(module, {}).update(rules)
    return rules


def registered_rules() -> dict[str, dict[str, dict[str, dict]]]:
    """Every registered table: `{module: {configurable: {parameter: rule}}}`."""
    return {module: dict(rules) for module, rules in _REGISTRY.items()}


def _is_literal(value: Any) -> bool:
    # References (@f, @f()) and macros (%X) are resolved only when called: checked then.
    if isinstance(value, gin.config.ConfigurableReference):
        return False
    if isinstance(value, list | tuple):
        return all(map(_is_literal, value))
    if isinstance(value, dict):
        return all(map(_is_literal, value.values()))
    return True


def check_bindings() -> None:
    """Checks the literal value of every registered parameter bound in the current gin config.

    Unscoped bindings only (`vae.beta`, not `train/vae.beta`): the configurables check scoped
    and referenced values when they are called.

    Raises:
        ConfigError: the first bad binding, by name.
    """
    for module, tables in _REGISTRY.items():
        for configurable, rules in tables.items():
            for name, rule in rules.items():
                try:
                    value = gin.query_parameter(f"{module}.{configurable}.{name}")
                except ValueError:  # not bound
                    continue
                if _is_literal(value):
                    check_parameter(f"{configurable}.{name}", value, **rule)
