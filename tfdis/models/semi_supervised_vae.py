"""Semi-supervised VAEs (S^2-VAEs; Locatello et al., ICLR 2020; issue 16).

Each step sees an unlabelled batch (the run's input, as for any VAE) and a labelled batch of as
many points, drawn uniformly with replacement from the run's labelled set
(`tfdis.data.labelled`, stored in the run directory) with a stateless seed of the step. The
loss is the unsupervised model's, plus `annealer(gamma_sup, step)` x the supervised loss
(`tfdis.models.supervised_losses`) of the labelled batch's posterior means:

| gin name | unsupervised part |
|---|---|
| `s2_vae` | beta KL (`s2_vae.beta`) |
| `s2_beta_tc_vae` | beta-TCVAE (`s2_beta_tc_vae.beta`) |
| `s2_dip_vae` | DIP-VAE (`lambda_od`, `lambda_d_factor`, `dip_type`) |
| `s2_factor_vae` | FactorVAE (`s2_factor_vae.gamma`) |
| `s2_annealed_vae` | AnnealedVAE (`gamma`, `c_max`, `iteration_threshold`; not in dlib) |
| `supervised` | none: the encoder learns from the supervised loss only (weight 1, no annealer), the decoder reconstructs from a stop-gradient sample (dlib's fully supervised baseline) |

Sharded over replicas, every replica draws the same labelled batch and computes the same
supervised loss, so with the 1/n gradient scaling the update equals one device's. Stacked
training is refused (`SemiSupervisedMixin.stacking_unsupported` says why).
"""

from __future__ import annotations

import gin
import tensorflow as tf

from tfdis.data import labelled as labelled_data
from tfdis.models import supervised_losses
from tfdis.models.annealed_vae import AnnealedVAE
from tfdis.models.beta_tc_vae import BetaTCVAE
from tfdis.models.dip_vae import DIPVAE
from tfdis.models.factor_vae import FactorVAE
from tfdis.models.vae import BaseVAE, BetaVAE
from tfdis.runtime import replicas
from tfdis.utils import gin_validation

# Folded into the noise seed of a step to draw its labelled batch.
LABELLED_STREAM = 0x1ABE_11ED


def is_semi_supervised(model) -> bool:
    """Whether `model` trains with a labelled set (`attach_labelled_set`)."""
    return isinstance(model, SemiSupervisedMixin)


class SemiSupervisedMixin:
    """Adds `gamma_sup` x a supervised loss on a labelled batch to a VAE's regularizer.

    Call `attach_labelled_set` before `build_networks`.
    """

    stacking_unsupported = (
        "its step draws a labelled batch, which stacked training does not: the stacked step "
        "(tfdis.training.stacked) makes one encoder pass over each member's unlabelled batch, "
        "and its one optimizer updates only the stacked encoder and decoder weights, not the "
        "supervised loss's own parameters (l2's scale, embed's embeddings)."
    )
    supervised_metrics = ("supervised_loss", "gamma_sup")
    # gamma_sup; None for the fully supervised baseline (weight 1, no annealer)
    gamma_sup: float | None = None

    def attach_labelled_set(self, labelled: labelled_data.LabelledSet) -> None:
        """Keeps the labelled training points as tensors (`[n, H, W, C]` and `[n, F']`)."""
        self.labelled = labelled
        self.labelled_observations = tf.constant(labelled.observations, tf.float32)
        self.labelled_labels = tf.constant(labelled.labels, tf.float32)

    def build_networks(self, observation_shape, noise_seed=0, dataset_size=None) -> None:
        if getattr(self, "labelled", None) is None:
            raise ValueError(
                f"{type(self).__name__} needs its labelled set (attach_labelled_set) before "
                "its networks are built; train it with tfdis_train"
            )
        super().build_networks(observation_shape, noise_seed, dataset_size)
        self.supervised_loss = supervised_losses.make_supervised_loss(self.labelled.factor_sizes)
        self.supervised_loss.check_latents(self.num_latent)

    @property
    def vae_variables(self) -> list[tf.Variable]:
        return super().vae_variables + list(self.supervised_loss.trainable_variables)

    def labelled_batch(self, num: tf.Tensor, step: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """`num` labelled points drawn uniformly with replacement for `step` (same on every
        replica): observations `[num, H, W, C]`, labels `[num, F']`."""
        seed = tf.random.experimental.stateless_fold_in(
            self.noise_seed_for_step(step), tf.constant(LABELLED_STREAM, tf.int64)
        )
        indices = tf.random.stateless_uniform(
            [num],
            seed,
            minval=0,
            maxval=int(self.labelled_observations.shape[0]),
            dtype=tf.int64,
            alg="philox",
        )
        return (
            tf.gather(self.labelled_observations, indices),
            tf.gather(self.labelled_labels, indices),
        )

    def supervised_term(self, batch_size: tf.Tensor, step: tf.Tensor) -> tf.Tensor:
        """The supervised loss of the step's labelled batch (`batch_size` global points)."""
        observations, labels = self.labelled_batch(batch_size, step)
        mean, _ = self.encoder(observations, training=True)
        value = self.supervised_loss(tf.cast(mean, tf.float32), labels)
        self.log_scalar("supervised_loss", value)
        return value

    def regularizer(self, kl_loss, posterior, z_sampled, step):
        unsupervised = super().regularizer(kl_loss, posterior, z_sampled, step)
        batch_size = tf.shape(posterior.mean)[0] * replicas.num_replicas_in_step()
        gamma = supervised_losses.make_annealer(self.gamma_sup, step)
        self.log_scalar("gamma_sup", gamma)
        return unsupervised + gamma * self.supervised_term(batch_size, step)


def _with_supervised_metrics(cls):
    cls.extra_metrics = (*cls.__mro__[2].extra_metrics, *SemiSupervisedMixin.supervised_metrics)
    return cls


@_with_supervised_metrics
class S2BetaVAE(SemiSupervisedMixin, BetaVAE):
    def __init__(self, beta: float, gamma_sup: float):
        super().__init__(beta=beta, name="s2_vae")
        self.gamma_sup = float(gamma_sup)


@_with_supervised_metrics
class S2BetaTCVAE(SemiSupervisedMixin, BetaTCVAE):
    def __init__(self, beta: float, gamma_sup: float):
        super().__init__(beta=beta, name="s2_beta_tc_vae")
        self.gamma_sup = float(gamma_sup)


@_with_supervised_metrics
class S2DIPVAE(SemiSupervisedMixin, DIPVAE):
    def __init__(self, lambda_od, lambda_d_factor, dip_type, gamma_sup):
        super().__init__(lambda_od, lambda_d_factor, dip_type, name="s2_dip_vae")
        self.gamma_sup = float(gamma_sup)


@_with_supervised_metrics
class S2FactorVAE(SemiSupervisedMixin, FactorVAE):
    def __init__(self, gamma: float, gamma_sup: float):
        super().__init__(gamma, name="s2_factor_vae")
        self.gamma_sup = float(gamma_sup)


@_with_supervised_metrics
class S2AnnealedVAE(SemiSupervisedMixin, AnnealedVAE):
    def __init__(self, gamma, c_max, iteration_threshold, gamma_sup):
        super().__init__(gamma, c_max, iteration_threshold, name="s2_annealed_vae")
        self.gamma_sup = float(gamma_sup)


class SupervisedVAE(SemiSupervisedMixin, BaseVAE):
    """dlib's fully supervised baseline (see the module docstring)."""

    extra_metrics = ("supervised_loss",)

    def __init__(self):
        super().__init__(name="supervised")

    def decoder_input(self, observations, z_sampled, step, training):
        return tf.stop_gradient(z_sampled)

    def regularizer(self, kl_loss, posterior, z_sampled, step):
        batch_size = tf.shape(posterior.mean)[0] * replicas.num_replicas_in_step()
        return self.supervised_term(batch_size, step)


# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "s2_vae": {
            "beta": {"kind": "number", "minimum": 0},
            "gamma_sup": {"kind": "number", "minimum": 0},
        },
        "s2_beta_tc_vae": {
            "beta": {"kind": "number", "minimum": 0},
            "gamma_sup": {"kind": "number", "minimum": 0},
        },
        "s2_dip_vae": {
            "lambda_od": {"kind": "number", "minimum": 0},
            "lambda_d_factor": {"kind": "number", "minimum": 0},
            "gamma_sup": {"kind": "number", "minimum": 0},
            "dip_type": {"kind": "str", "choices": ("i", "ii")},
        },
        "s2_factor_vae": {
            "gamma": {"kind": "number", "minimum": 0},
            "gamma_sup": {"kind": "number", "minimum": 0},
        },
        "s2_annealed_vae": {
            "gamma": {"kind": "number", "minimum": 0},
            "c_max": {"kind": "number", "minimum": 0},
            "iteration_threshold": {"kind": "int", "positive": True},
            "gamma_sup": {"kind": "number", "minimum": 0},
        },
    },
)


@gin.configurable("s2_vae")
def s2_vae(beta: float = gin.REQUIRED, gamma_sup: float = gin.REQUIRED) -> S2BetaVAE:
    """gin's `@s2_vae()` (dlib's `s2_vae.beta`, `s2_vae.gamma_sup`)."""
    gin_validation.check_parameters("s2_vae", locals(), _GIN_RULES["s2_vae"])
    return S2BetaVAE(beta, gamma_sup)


@gin.configurable("s2_beta_tc_vae")
def s2_beta_tc_vae(beta: float = gin.REQUIRED, gamma_sup: float = gin.REQUIRED) -> S2BetaTCVAE:
    """gin's `@s2_beta_tc_vae()` (dlib's `beta`, `gamma_sup`)."""
    gin_validation.check_parameters("s2_beta_tc_vae", locals(), _GIN_RULES["s2_beta_tc_vae"])
    return S2BetaTCVAE(beta, gamma_sup)


@gin.configurable("s2_dip_vae")
def s2_dip_vae(
    lambda_od: float = gin.REQUIRED,
    lambda_d_factor: float = gin.REQUIRED,
    gamma_sup: float = gin.REQUIRED,
    dip_type: str = "i",
) -> S2DIPVAE:
    """gin's `@s2_dip_vae()` (dlib's `lambda_od`, `lambda_d_factor`, `gamma_sup`, `dip_type`)."""
    gin_validation.check_parameters("s2_dip_vae", locals(), _GIN_RULES["s2_dip_vae"])
    return S2DIPVAE(lambda_od, lambda_d_factor, dip_type, gamma_sup)


@gin.configurable("s2_factor_vae")
def s2_factor_vae(gamma: float = gin.REQUIRED, gamma_sup: float = gin.REQUIRED) -> S2FactorVAE:
    """gin's `@s2_factor_vae()` (dlib's `gamma`, `gamma_sup`)."""
    gin_validation.check_parameters("s2_factor_vae", locals(), _GIN_RULES["s2_factor_vae"])
    return S2FactorVAE(gamma, gamma_sup)


@gin.configurable("s2_annealed_vae")
def s2_annealed_vae(
    gamma: float = gin.REQUIRED,
    c_max: float = gin.REQUIRED,
    iteration_threshold: int = gin.REQUIRED,
    gamma_sup: float = gin.REQUIRED,
) -> S2AnnealedVAE:
    """gin's `@s2_annealed_vae()`: AnnealedVAE's `gamma`, `c_max`, `iteration_threshold`."""
    gin_validation.check_parameters("s2_annealed_vae", locals(), _GIN_RULES["s2_annealed_vae"])
    return S2AnnealedVAE(gamma, c_max, iteration_threshold, gamma_sup)


@gin.configurable("supervised")
def supervised() -> SupervisedVAE:
    """gin's `@supervised()`: dlib's fully supervised baseline."""
    return SupervisedVAE()
