"""One-line error messages: gin's call chain trimmed to one short "where" line.

Gin appends `In call to configurable 'name' (<function f at 0x...>)` to an exception for every
configurable it unwinds through. `one_line` keeps the message and at most one short where-line,
the innermost configurable, without object addresses; `--verbose` prints the full chain.
"""

from __future__ import annotations

import re

_GIN_CALL = re.compile(r"^\s*In call to configurable '([^']+)'")


class ConfigError(ValueError):
    """A gin binding has a wrong type or is out of range; the message names the binding."""


def gin_configurables(message: str) -> list[str]:
    """The configurables gin appended to `message`, innermost first."""
    return [m.group(1) for m in map(_GIN_CALL.match, message.splitlines()) if m]


def one_line(error: BaseException) -> str:
    """The error's message without gin's call chain, plus `(in gin configurable 'x')`.

    The message is the text before gin's chain, joined into one line.
    """
    lines = str(error).splitlines()
    text = " ".join(line.strip() for line in lines if line.strip() and not _GIN_CALL.match(line))
    if not text:
        text = type(error).__name__
    configurables = gin_configurables(str(error))
    if configurables and f"{configurables[0]}." not in text:
        text += f"\n  (in gin configurable '{configurables[0]}')"
    return text
