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

How a multi-replica step works (`make_train_function`): the global batch of `model.batch_size`
observations is cut into one contiguous shard per replica (`shard_batch`; replica r gets rows
[r B/n, (r+1) B/n) of each of the step's batches). Each replica runs the model's own
`train_step` on its shard with the optimizer updates deferred (`apply_updates_if_finite`
records them instead of applying them); its gradients are divided by the number of replicas n,
because Keras 3's TF optimizer SUMs gradients across replicas (keras/src/backend/tensorflow/
optimizer.py, `_all_reduce_sum_gradients`), so the update is the gradient of the mean over
replicas of the shard losses. The NaN guard is global: the updates run, for every replica and
optimizer, only if every replica's loss and gradients are finite (a `tf.cond` in cross-replica
context around a second `strategy.run`, since a cross-replica merge cannot sit inside a
conditional within a replica), and the step then raises like the single-device one. Metric
trackers are rebuilt under the strategy (on-read variables) and read in cross-replica context,
so the logs are the global values.

Which models give the single-device update of the global batch (up to float rounding):

- Exactly, per-example losses: beta-VAE/VAE, CascadeVAE before its discrete code starts.
- Exactly, with what needs the whole batch gathered or averaged across replicas
  (`all_gather_batch`, `cross_replica_mean`, both differentiable): AnnealedVAE and JointVAE
  (|KL - C| of the global batch-mean KL), DIP-VAE I/II (covariance of the gathered means),
  beta-TCVAE and RTC-beta-TCVAE (MWS/MSS over the gathered batch: every replica scores all B
  codes against all B posteriors, as one device does), FactorVAE and RTC-FactorVAE
  (`permute_dims` of the gathered codes; each replica keeps its rows), CascadeVAE's discrete step
  (the assignment is solved on the gathered B x K costs, so the same-category penalty counts
  pairs of the whole batch), RTC's eta schedule (the variance term averaged across replicas).
- The reparameterization, Gumbel and permutation noise is drawn for the global batch and sliced
  (`stateless_normal`, `stateless_uniform`), so a replica sees the noise its rows get on one
  device.
- Refused: InfoGAN (its generator's BatchNormalization would normalize each shard with its own
  statistics and its moving averages have no cross-replica aggregation).

tests/training/test_distribute.py checks this on two logical CPU devices against one device,
step by step (losses, every logged term, weights and optimizer slots) for beta-VAE (Adam and
SGD), FactorVAE (two-batch), RTC-FactorVAE and CascadeVAE (discrete step on), and with
`-m slow` for AnnealedVAE, beta-TCVAE (MWS and MSS), DIP-VAE I/II, FactorVAE and JointVAE.
"""

from __future__ import annotations

import contextlib
import dataclasses
import tempfile
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import keras
import tensorflow as tf
from absl import logging

from tfdis.runtime import deferred_updates

DISTRIBUTIONS = ("default", "mirrored", "multi_worker_mirrored")
PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
# Mixed precision on CPUs under "auto" (used only on CPUs with bfloat16 instructions, see
# `cpu_supports_bfloat16`). benchmarks/bench_precision.py measures the choice; the rule
# is mixed_bfloat16 when > 1.1x faster at batch 64 and 256 with agreeing losses.
CPU_DEFAULT_PRECISION = "mixed_bfloat16"

# --- choosing the devices -------------------------------------------------------------------


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
    strategy = make_strategy(distribution)
    return DeviceSetup(
        distribution=distribution,
        strategy=strategy,
        jit_compile=resolve_jit_compile(jit_compile),
        precision=resolve_precision(mixed_precision),
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


@contextlib.contextmanager
def precision_policy(precision: str) -> Iterator[None]:
    """Sets the global Keras dtype policy to `precision` and restores the previous one after."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


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
    with setup.strategy.scope(), precision_policy(setup.precision):
        model.build_networks(observation_shape, noise_seed=noise_seed, dataset_size=dataset_size)
        model.configure_optimizers()
        if setup.distributed:
            model.trackers = {name: keras.metrics.Mean(name=name) for name in model.trackers}


# --- deferred updates and the step functions --------------------------------------------------


def _run_deferred(model: Any, batch: tf.Tensor) -> tuple[tf.Tensor, list]:
    """Runs `model.train_step(batch)` with its updates deferred: (loss, updates)."""
    with deferred_updates.deferring_updates() as pending:
        model.train_step(batch)
    if not pending:
        raise RuntimeError(
            f"{type(model).__name__}.train_step applied no updates through "
            "apply_updates_if_finite; it cannot run under a distribution strategy or XLA."
        )
    loss = tf.add_n([tf.cast(loss, tf.float32) for loss, _ in pending])
    updates = [update for _, group in pending for update in group]
    return loss, updates


def _finite(loss: tf.Tensor, gradients: list) -> tf.Tensor:
    gradients = [g for g in gradients if g is not None]
    return tf.logical_and(
        tf.reduce_all(tf.math.is_finite(loss)),
        tf.math.is_finite(tf.linalg.global_norm(gradients)),
    )


def _apply(updates: Sequence[tuple]) -> tf.Tensor:
    for optimizer, gradients, variables in updates:
        optimizer.apply_gradients(zip(gradients, variables, strict=True))
    return tf.constant(True)


def tracker_results(model: Any) -> dict[str, tf.Tensor]:
    """The running means of the model's trackers (global values in cross-replica context)."""
    return {name: tracker.result() for name, tracker in model.trackers.items()}


def make_train_function(model: Any, setup: DeviceSetup) -> Callable[[Any], dict]:
    """The step function `batch -> logs` for `setup` (see the module docstring).

    With the default strategy and no XLA this is `tf.function(model.train_step)`. The batch of
    a multi-replica step is the output of `shard_batch`.
    """
    if not setup.distributed and not setup.jit_compile:
        return tf.function(model.train_step)
    if not setup.distributed:
        return _make_compiled_step(model)
    return _make_distributed_step(model, setup)


def _make_compiled_step(model: Any) -> Callable:
    # tf.debugging.Assert is dropped by XLA: the compiled part returns the finite flag and the
    # outer (uncompiled) function asserts on it.
    @tf.function(jit_compile=True)
    def compiled(batch):
        loss, updates = _run_deferred(model, batch)
        finite = _finite(loss, [g for _, gradients, _ in updates for g in gradients])
        tf.cond(finite, lambda: _apply(updates), lambda: tf.constant(False))
        return finite

    @tf.function
    def step(batch):
        finite = compiled(batch)
        tf.debugging.Assert(finite, [deferred_updates.NON_FINITE_MESSAGE])
        return tracker_results(model)

    return step


def _make_distributed_step(model: Any, setup: DeviceSetup) -> Callable:
    strategy, n = setup.strategy, setup.num_replicas
    plan: dict[str, list] = {}  # (optimizer, variables, has_gradient) per update, from tracing

    def compute(shard):
        loss, updates = _run_deferred(model, shard)
        plan["updates"] = [
            (optimizer, variables, [g is not None for g in gradients])
            for optimizer, gradients, variables in updates
        ]
        all_gradients = [g for _, gradients, _ in updates for g in gradients]
        bad = tf.cast(tf.logical_not(_finite(loss, all_gradients)), tf.int32)
        # Keras SUMs gradients across replicas: 1/n makes the update the global mean's.
        scaled = [[g / n for g in gradients if g is not None] for _, gradients, _ in updates]
        return scaled, bad

    if setup.jit_compile:
        compute = tf.function(compute, jit_compile=True)

    def apply(gradients):
        for (optimizer, variables, has_gradient), group in zip(
            plan["updates"], gradients, strict=True
        ):
            kept = [v for v, has in zip(variables, has_gradient, strict=True) if has]
            optimizer.apply_gradients(zip(group, kept, strict=True))

    @tf.function
    def step(distributed_batch):
        gradients, bad = strategy.run(compute, (distributed_batch,))
        finite = tf.equal(strategy.reduce(tf.distribute.ReduceOp.SUM, bad, axis=None), 0)

        def apply_all():
            strategy.run(apply, (gradients,))
            return tf.constant(True)

        tf.cond(finite, apply_all, lambda: tf.constant(False))
        tf.debugging.Assert(finite, [deferred_updates.NON_FINITE_MESSAGE])
        return tracker_results(model)

    return step


def make_test_function(model: Any, setup: DeviceSetup) -> Callable[[Any], dict]:
    """The evaluation step `batch -> logs` (`model.test_step`, sharded like training)."""
    if not setup.distributed:
        return tf.function(model.test_step)

    @tf.function
    def step(distributed_batch):
        setup.strategy.run(model.test_step, (distributed_batch,))
        return tracker_results(model)

    return step


def shard_batch(setup: DeviceSetup, batch: tf.Tensor, batches_per_step: int = 1) -> Any:
    """The per-replica input of a step: replica r gets rows [r b, (r + 1) b) of each of the
    `batches_per_step` consecutive batches of the global input, b = batch / n (`batch` itself
    without a strategy).

    Every worker of a multi-worker run reads the same global batches (the pipeline is a pure
    function of the step) and keeps its replicas' rows.
    """
    if not setup.distributed:
        return batch
    n = setup.num_replicas

    def shard(tensor: tf.Tensor, r: int) -> tf.Tensor:
        parts = tf.split(tensor, batches_per_step, axis=0)
        local = int(parts[0].shape[0]) // n
        return tf.concat([part[r * local : (r + 1) * local] for part in parts], axis=0)

    def value_fn(context: tf.distribute.experimental.ValueContext) -> Any:
        # A nest of tensors (pairs: observations and labels) is cut tensor by tensor.
        r = context.replica_id_in_sync_group
        return tf.nest.map_structure(lambda tensor: shard(tensor, r), batch)

    return setup.strategy.experimental_distribute_values_from_function(value_fn)
