"""Which devices a run uses: the visible accelerators, the distribution strategy
(`model.distribution`) and the XLA choice (`model.jit_compile`); see `tfdis.training.devices`.
"""

from __future__ import annotations

import tensorflow as tf

DISTRIBUTIONS = ("default", "mirrored", "multi_worker_mirrored")


def accelerators() -> list[str]:
    """Device types of the visible accelerators: "GPU" and/or "TPU" (empty on a CPU machine)."""
    return [kind for kind in ("GPU", "TPU") if tf.config.list_logical_devices(kind)]


_STRATEGIES: dict[str, tf.distribute.Strategy] = {}


def make_strategy(distribution: str) -> tf.distribute.Strategy:
    """The `tf.distribute.Strategy` named by `model.distribution`.

    A process makes one strategy per name and reuses it: strategies made later in the same
    process would reuse the first one's collective keys, which TF's collective runtime rejects.

    Args:
        distribution: "default", "mirrored" or "multi_worker_mirrored".

    Raises:
        ValueError: an unknown name.
    """
    if distribution == "default":
        return tf.distribute.get_strategy()
    if distribution not in DISTRIBUTIONS:
        raise ValueError(
            f"Unknown model.distribution {distribution!r}; choose one of "
            f"{', '.join(DISTRIBUTIONS)}."
        )
    if distribution not in _STRATEGIES:
        if distribution == "mirrored":
            devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
            strategy = tf.distribute.MirroredStrategy(devices=[device.name for device in devices])
        else:
            try:
                strategy = tf.distribute.MultiWorkerMirroredStrategy()
            except RuntimeError as error:
                raise RuntimeError(
                    "model.distribution='multi_worker_mirrored' must create its strategy before "
                    "TensorFlow runs anything else in the process (collective ops are "
                    f"configured at start-up); start training in a fresh process. TensorFlow "
                    f"said: {error}"
                ) from error
        _STRATEGIES[distribution] = strategy
    return _STRATEGIES[distribution]


def resolve_jit_compile(jit_compile: bool | str) -> bool:
    """`model.jit_compile`: "auto" is True when a GPU or TPU is visible, else False."""
    if isinstance(jit_compile, bool):
        return jit_compile
    if jit_compile == "auto":
        return bool(accelerators())
    raise ValueError(f"model.jit_compile must be 'auto', True or False, got {jit_compile!r}")
