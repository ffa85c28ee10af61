"""Mixed precision (`model.mixed_precision`): the Keras dtype policy of a run's networks.

`"auto"` is mixed_bfloat16 on TPUs and on GPUs of compute capability 8.0 or more, float32 on
older GPUs, and `CPU_DEFAULT_PRECISION` on CPUs with bfloat16 instructions (measured by
`benchmarks/bench_precision.py`), float32 on other CPUs. `"mixed_float16"` is refused (see
`resolve_precision`). Losses, KL, TC estimators and posteriors stay float32 (the models cast the
networks' outputs) and exported SavedModels keep float32 signatures.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import keras
import tensorflow as tf

from tfdis.training.strategies import accelerators

PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
# Mixed precision on CPUs under "auto" (used only on CPUs with bfloat16 instructions, see
# `cpu_supports_bfloat16`). benchmarks/bench_precision.py measures the choice; the rule
# is mixed_bfloat16 when > 1.1x faster at batch 64 and 256 with agreeing losses.
CPU_DEFAULT_PRECISION = "mixed_bfloat16"


def _gpus_support_bfloat16() -> bool:
    for gpu in tf.config.list_physical_devices("GPU"):
        capability = tf.config.experimental.get_device_details(gpu).get("compute_capability")
        if not capability or tuple(capability) < (8, 0):
            return False
    return True


def cpu_supports_bfloat16() -> bool:
    """Whether the CPU has bfloat16 instructions (AVX512-BF16 or AMX-BF16; Linux's flags)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(mixed_precision: str) -> str:
    """`model.mixed_precision` as a Keras dtype policy name ("float32" or "mixed_bfloat16").

    Raises:
        ValueError: an unknown name, or "mixed_float16" (see the module docstring).
    """
    if mixed_precision not in PRECISIONS:
        raise ValueError(
            f"Unknown model.mixed_precision {mixed_precision!r}; choose one of "
            f"{', '.join(PRECISIONS)}."
        )
    if mixed_precision == "mixed_float16":
        raise ValueError(
            "model.mixed_precision='mixed_float16' is not supported: float16 needs a loss-scale "
            "optimizer, which the NaN guard and the two-optimizer models (FactorVAE, InfoGAN) "
            "do not use. Use 'mixed_bfloat16' (same speed on GPUs of compute capability 8.0+, "
            "no loss scaling needed) or 'float32'."
        )
    if mixed_precision != "auto":
        return mixed_precision
    kinds = accelerators()
    if "TPU" in kinds:
        return "mixed_bfloat16"
    if "GPU" in kinds:
        return "mixed_bfloat16" if _gpus_support_bfloat16() else "float32"
    if CPU_DEFAULT_PRECISION == "mixed_bfloat16" and not cpu_supports_bfloat16():
        return "float32"  # emulated bfloat16 is slower than float32
    return CPU_DEFAULT_PRECISION


@contextlib.contextmanager
def precision_policy(precision: str) -> Iterator[None]:
    """Sets the global Keras dtype policy to `precision` and restores the previous one after."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
