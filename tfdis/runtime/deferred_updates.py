"""Deferred optimizer updates: how a model's train step hands its updates to a built step.

A model applies its `(optimizer, gradients, variables)` updates through
`BaseVAE.apply_updates_if_finite`, which first offers them to `defer_updates`. While a step built
by `tfdis.training.steps` (several replicas, or XLA) traces the model's `train_step` inside
`deferring_updates`, the updates are recorded instead of applied, and the built step applies
them under the global NaN guard; everywhere else `defer_updates` returns False and the model
applies them itself.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence

import tensorflow as tf

NON_FINITE_MESSAGE = "non-finite training loss or gradient"

_state = threading.local()


def defer_updates(loss: tf.Tensor, updates: Sequence[tuple]) -> bool:
    """Records a step's `(optimizer, gradients, variables)` updates if a step built here is
    tracing the model's `train_step`; returns whether it did (then the caller applies nothing).
    """
    pending = getattr(_state, "pending", None)
    if pending is None:
        return False
    pending.append((loss, list(updates)))
    return True


@contextlib.contextmanager
def deferring_updates() -> Iterator[list]:
    """Within: `defer_updates` records into the yielded list of `(loss, updates)` pairs."""
    _state.pending = pending = []
    try:
        yield pending
    finally:
        _state.pending = None
