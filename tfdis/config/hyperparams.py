"""dlib's sweep algebra (`utils/hyperparams.py`): lists of binding dicts, combined in order.

A sweep is a list of `{gin parameter: value}` dicts, one per configuration. `sweep` and `fixed`
make one-parameter lists; `zipit` merges lists element by element (a length-1 list is repeated
to the others' length), `chainit` concatenates them and `product` takes the nested outer product
(the first list outermost, the last varying fastest). Dicts keep the insertion order of their
keys, so `to_bindings` lists the bindings in the order dlib prints them. Values are rendered as
dlib does: strings quoted unless they are references (`@...`), everything else with `str`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

Config = dict[str, Any]


def sweep(name: str, values: Iterable[Any]) -> list[Config]:
    """One configuration per value of `name`."""
    return [{name: value} for value in values]


def fixed(name: str, value: Any, length: int = 1) -> list[Config]:
    """`length` configurations binding `name` to `value`."""
    return [{name: value} for _ in range(length)]


def zipit(sweeps: Sequence[list[Config]]) -> list[Config]:
    """Merges the i-th configurations of each sweep (later sweeps' keys go after earlier ones').

    Raises:
        ValueError: two sweeps of lengths other than 1 differ in length.
    """
    lengths = {len(items) for items in sweeps if len(items) != 1}
    if len(lengths) > 1:
        raise ValueError(f"cannot zip sweeps of different lengths {sorted(lengths)}")
    length = lengths.pop() if lengths else 1
    merged = []
    for i in range(length):
        config: Config = {}
        for items in sweeps:
            config.update(items[0] if len(items) == 1 else items[i])
        merged.append(config)
    return merged


def chainit(sweeps: Sequence[list[Config]]) -> list[Config]:
    """The sweeps one after another."""
    return [dict(config) for items in sweeps for config in items]


def product(sweeps: Sequence[list[Config]]) -> list[Config]:
    """Nested outer product: the first sweep outermost, the last one varying fastest."""
    result: list[Config] = [{}]
    for items in sweeps:
        result = [{**outer, **inner} for outer in result for inner in items]
    return result


def escape_value(value: Any) -> str:
    """`value` as dlib writes it into a binding: `'name'`, `@ref()`, `1.0`, `100000`."""
    if isinstance(value, str) and not value.startswith("@"):
        return f"'{value}'"
    return str(value)


def to_bindings(config: Config) -> list[str]:
    """`["name = value", ...]` in the configuration's key order."""
    return [f"{name} = {escape_value(value)}" for name, value in config.items()]
