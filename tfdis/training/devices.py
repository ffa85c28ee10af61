"""Devices of a training run: distribution strategy, XLA and mixed precision (issue 8, item 4).

Three gin switches of `train` (`model.*`) choose how a step runs:

- `model.distribution`: `"default"` (one device, TF's default strategy: the plain step),
  `"mirrored"` (`tf.distribute.MirroredStrategy` over all local GPUs, or over the logical CPU
  devices of a machine without GPUs) or `"multi_worker_mirrored"`
  (`tf.distribute.MultiWorkerMirroredStrategy`, hosts from `TF_CONFIG`).
- `model.jit_compile`: `"auto"` (XLA when a GPU or TPU is visible; SPEC section 2 measured XLA
  2.4-3.3x slower for a conv VAE step on the target CPU), `True` or `False`.
- `model.mixed_precision`: `"auto"`, `"float32"` or `"mixed_bfloat16"` (Keras dtype policy
  applied while the networks are built). `"auto"` is mixed_bfloat16 on TPUs and on GPUs of
  compute capability 8.0 or more, float32 on older GPUs, and `CPU_DEFAULT_PRECISION` on CPUs
  with bfloat16 instructions (measured by `benchmarks/bench_precision.py`), float32 on other
  CPUs. Losses, KL, TC estimators and posteriors stay float32 (the models cast the networks'
  outputs) and exported SavedModels keep float32 signatures. `"mixed_float16"` is refused: it
  needs a loss-scale optimizer, which the NaN guard and the two-optimizer models do not support.

Random draws name the Philox generator (TF's CPU default), so XLA-compiled steps, whose default
generator differs, draw the same noise. XLA's CPU log1p/exp still differ from TF's kernels by
about 3e-5 relative, so compiled and plain loss curves agree to about 1e-4, not bit for bit.

The modules of a run's devices: `strategies` (accelerators, strategy, XLA), `dtype_policy`
(precision), this module (the resolved `DeviceSetup`, what a model can run as chosen, building
under the strategy and the policy), `step_functions` (the train and test steps, sharded input)
and, below the models, `tfdis.runtime` (what a loss needs inside a replica step).
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf
from absl import logging

from tfdis.training import dtype_policy, strategies
from tfdis.training.strategies import accelerators


@dataclasses.dataclass
class DeviceSetup:
    """The resolved device choices of a run.

    Attributes:
        distribution: the `model.distribution` name.
        strategy: the `tf.distribute.Strategy` (TF's default strategy for "default").
        jit_compile: whether train steps are XLA-compiled.
        precision: the Keras dtype policy of the networks.
    """

    distribution: str
    strategy: tf.distribute.Strategy
    jit_compile: bool
    precision: str

    @property
    def distributed(self) -> bool:
        """Whether steps run through `strategy.run` (any strategy but the default one)."""
        return self.distribution != "default"

    @property
    def num_replicas(self) -> int:
        return int(self.strategy.num_replicas_in_sync)

    @property
    def devices(self) -> list[str]:
        if not self.distributed:
            kinds = accelerators()
            return [tf.config.list_logical_devices(kinds[0] if kinds else "CPU")[0].name]
        return list(self.strategy.extended.worker_devices)

    @property
    def is_chief(self) -> bool:
        """False on the non-chief workers of a multi-worker run (they write nothing to keep)."""
        resolver = getattr(self.strategy, "cluster_resolver", None)
        if self.distribution != "multi_worker_mirrored" or resolver is None:
            return True
        task_type, task_id = resolver.task_type, resolver.task_id
        if task_type in (None, "chief"):
            return True
        return (
            task_type == "worker"
            and task_id == 0
            and "chief" not in resolver.cluster_spec().as_dict()
        )

    def describe(self) -> dict[str, Any]:
        """The choices as flat JSON-ready values (recorded in the log and the train results)."""
        return {
            "distribution": self.distribution,
            "num_replicas": self.num_replicas,
            "devices": ",".join(self.devices),
            "jit_compile": self.jit_compile,
            "mixed_precision": self.precision,
        }


def configure(
    distribution: str = "default",
    jit_compile: bool | str = "auto",
    mixed_precision: str = "auto",
) -> DeviceSetup:
    """Resolves the three switches (the strategy is created first, see `make_strategy`)."""
    strategy = strategies.make_strategy(distribution)
    return DeviceSetup(
        distribution=distribution,
        strategy=strategy,
        jit_compile=strategies.resolve_jit_compile(jit_compile),
        precision=dtype_policy.resolve_precision(mixed_precision),
    )


def check_run(setup: DeviceSetup, model: Any, batch_size: int, jit_compile: bool | str) -> None:
    """Refuses what cannot run as chosen, with the reason; may turn an "auto" XLA off.

    Args:
        setup: the resolved choices (its `jit_compile` may be set to False here).
        model: the model to train (its class attributes `distribution_unsupported` and
            `xla_unsupported` give the reasons a model cannot run sharded or under XLA).
        batch_size: the global batch (`model.batch_size`).
        jit_compile: the `model.jit_compile` value as given, to tell "auto" from True.

    Raises:
        ValueError: a batch not divisible by the replicas, a model that cannot run sharded, XLA
            for a model with host callbacks or for a multi-replica step on CPUs.
    """
    name = type(model).__name__
    n = setup.num_replicas
    if n > 1:
        reason = getattr(model, "distribution_unsupported", None)
        if reason:
            raise ValueError(
                f"{name} cannot train with model.distribution={setup.distribution!r} over {n} "
                f"replicas: {reason} Use model.distribution='default'."
            )
        if batch_size % n:
            raise ValueError(
                f"model.batch_size={batch_size} is not divisible by the {n} replicas of "
                f"model.distribution={setup.distribution!r}: the global batch is split evenly "
                f"across replicas; choose a multiple of {n}."
            )
    if setup.jit_compile:
        reason = getattr(model, "xla_unsupported", None)
        if not reason and setup.distributed and n > 1 and not accelerators():
            reason = (
                "XLA under a multi-replica strategy needs GPUs or TPUs (on CPU devices the "
                "compiled replica step cannot reach the other replicas' variables)."
            )
        if reason:
            if jit_compile == "auto":
                logging.info("XLA off for %s: %s", name, reason)
                setup.jit_compile = False
            else:
                raise ValueError(
                    f"model.jit_compile=True is not possible for {name}: {reason} Set "
                    "model.jit_compile=False (or 'auto')."
                )


def worker_model_dir(setup: DeviceSetup, model_dir: str) -> str:
    """Where this worker writes: `model_dir`, or a fresh temporary directory on a non-chief
    worker of a multi-worker run (every worker saves checkpoints, only the chief's are kept)."""
    if setup.is_chief:
        return model_dir
    return tempfile.mkdtemp(prefix="tfdis_worker_")


def build_model(
    model: Any,
    setup: DeviceSetup,
    observation_shape: Sequence[int],
    noise_seed: int,
    dataset_size: int | None,
) -> None:
    """Builds networks and optimizers under the strategy and the dtype policy.

    Under a strategy the metric trackers (created with the model, outside the strategy) are
    made again inside it, so replicas accumulate them locally and a read sums them.
    """
    with setup.strategy.scope(), dtype_policy.precision_policy(setup.precision):
        model.build_networks(observation_shape, noise_seed=noise_seed, dataset_size=dataset_size)
        model.configure_optimizers()
        if setup.distributed:
            model.trackers = {name: keras.metrics.Mean(name=name) for name in model.trackers}
