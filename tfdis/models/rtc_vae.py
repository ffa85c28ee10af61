"""RTC-VAE (paper 003): a TC-penalized VAE plus an adaptive penalty on posterior variances.

The added term is eta * mean_x sum_j sigma_j(x)^2 (SPEC section 7). eta starts at
eta_0 = max(10, strength), where strength is beta for beta-TCVAE and gamma for FactorVAE, and
after every step it follows `update_eta`, which keeps the term inside (lower, upper) =
(0.01, 0.04). The paper leaves the restart from eta = 0 implicit; SPEC's reading (back to eta_0)
is the one that keeps the rule working, and is what `update_eta` does.
"""

from __future__ import annotations

import threading

import gin
import keras
import tensorflow as tf

from tfdis.models.beta_tc_vae import BetaTCVAE
from tfdis.models.factor_vae import FactorVAE
from tfdis.runtime import replicas
from tfdis.utils import gin_validation


def update_eta(
    eta: tf.Tensor,
    term: tf.Tensor,
    eta_0: float,
    lower: float = 0.01,
    upper: float = 0.04,
    growth: float = 1.2,
) -> tf.Tensor:
    """The eta after a step whose variance term was `term`.

    term > upper: eta * growth (eta_0 if eta is 0); term < lower: 0; otherwise unchanged.
    """
    eta = tf.convert_to_tensor(eta, tf.float32)
    term = tf.cast(term, tf.float32)
    grown = tf.where(eta > 0.0, eta * growth, tf.constant(eta_0, tf.float32))
    return tf.where(term > upper, grown, tf.where(term < lower, tf.zeros_like(eta), eta))


class VariancePenaltyMixin:
    """Adds the RTC variance penalty and its eta schedule to a TC-penalized VAE."""

    variance_metrics = ("variance_penalty", "eta")

    def init_variance_penalty(
        self, eta_0: float, lower: float, upper: float, growth: float
    ) -> None:
        if not 0.0 <= lower < upper:
            raise ValueError(f"need 0 <= lower < upper, got lower={lower}, upper={upper}")
        self.eta_0, self.lower, self.upper, self.growth = float(eta_0), lower, upper, growth
        # A model weight, so checkpoints keep it and a resumed run continues the schedule.
        self.eta = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(self.eta_0),
            trainable=False,
            name="eta",
        )
        # Per-thread: replicas of a MirroredStrategy step trace train_step in their own threads.
        self._variance_step = threading.local()

    def regularizer(self, kl_loss, posterior, z_sampled, step):
        base = super().regularizer(kl_loss, posterior, z_sampled, step)
        term = tf.reduce_mean(tf.reduce_sum(tf.exp(posterior.logvar), axis=-1))
        self._variance_step.term = term
        eta = tf.cast(tf.convert_to_tensor(self.eta), term.dtype)
        self._variance_step.eta = eta  # the step's eta, the base of its update
        self.log_scalar("variance_penalty", term)
        self.log_scalar("eta", eta)
        return base + eta * term

    def after_update(self):
        """eta for the next step, from this step's variance term (the `after_update` hook).

        The hook, not an own `train_step`, so a stacked group can update each member's eta: the
        model only changes the regularizer and its per-model state, and stacks (on beta-TCVAE).
        eta is read once, in `regularizer`, and the new value is computed from that read.
        Sharded over replicas, every replica then writes the same new eta (from the global
        batch's term) after the cross-replica mean, which every replica's read precedes
        (stateful ops keep program order), so no replica reads a value already updated in this
        step.
        """
        super().after_update()
        term = replicas.cross_replica_mean(self._variance_step.term)
        eta = self._variance_step.eta
        self._variance_step.term = self._variance_step.eta = None
        # From the eta this step read, not a fresh read: under a mirrored step another replica
        # may already have written the new value.
        self.eta.assign(update_eta(eta, term, self.eta_0, self.lower, self.upper, self.growth))


class RTCBetaTCVAE(VariancePenaltyMixin, BetaTCVAE):
    """beta-TCVAE with the RTC variance penalty."""

    extra_metrics = (*BetaTCVAE.extra_metrics, *VariancePenaltyMixin.variance_metrics)

    def __init__(self, beta, eta_0=None, lower=0.01, upper=0.04, growth=1.2, **kwargs):
        super().__init__(beta, name="rtc_beta_tc_vae", **kwargs)
        self.init_variance_penalty(
            max(10.0, beta) if eta_0 is None else eta_0, lower, upper, growth
        )


class RTCFactorVAE(VariancePenaltyMixin, FactorVAE):
    """FactorVAE with the RTC variance penalty."""

    extra_metrics = (*FactorVAE.extra_metrics, *VariancePenaltyMixin.variance_metrics)

    def __init__(self, gamma, eta_0=None, lower=0.01, upper=0.04, growth=1.2, **kwargs):
        super().__init__(gamma, name="rtc_factor_vae", **kwargs)
        self.init_variance_penalty(
            max(10.0, gamma) if eta_0 is None else eta_0, lower, upper, growth
        )


# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "rtc_beta_tc_vae": {
            "beta": {"kind": "number", "minimum": 0},
            "alpha": {"kind": "number", "minimum": 0},
            "gamma": {"kind": "number", "minimum": 0},
            "estimator": {"kind": "str", "choices": ("mws", "mss")},
            "anneal_steps": {"kind": "int", "minimum": 0},
            "dataset_size": {"kind": "int", "positive": True, "optional": True},
            "eta_0": {"kind": "number", "minimum": 0, "optional": True},
            "lower": {"kind": "number", "minimum": 0},
            "upper": {"kind": "number", "minimum": 0},
            "growth": {"kind": "number", "positive": True},
        },
        "rtc_factor_vae": {
            "gamma": {"kind": "number", "minimum": 0},
            "two_batch": {"kind": "bool"},
            "eta_0": {"kind": "number", "minimum": 0, "optional": True},
            "lower": {"kind": "number", "minimum": 0},
            "upper": {"kind": "number", "minimum": 0},
            "growth": {"kind": "number", "positive": True},
        },
    },
)


@gin.configurable("rtc_beta_tc_vae")
def rtc_beta_tc_vae(
    beta: float = gin.REQUIRED,
    alpha: float = 1.0,
    gamma: float = 1.0,
    estimator: str = "mws",
    anneal_steps: int = 0,
    dataset_size: int | None = None,
    eta_0: float | None = None,
    lower: float = 0.01,
    upper: float = 0.04,
    growth: float = 1.2,
) -> RTCBetaTCVAE:
    """gin's `@rtc_beta_tc_vae()`: beta-TCVAE's parameters plus the eta schedule's."""
    gin_validation.check_parameters("rtc_beta_tc_vae", locals(), _GIN_RULES["rtc_beta_tc_vae"])
    gin_validation.check_less("rtc_beta_tc_vae", "lower", "upper", locals())
    return RTCBetaTCVAE(
        beta,
        eta_0,
        lower,
        upper,
        growth,
        alpha=alpha,
        gamma=gamma,
        estimator=estimator,
        anneal_steps=anneal_steps,
        dataset_size=dataset_size,
    )


@gin.configurable("rtc_factor_vae")
def rtc_factor_vae(
    gamma: float = gin.REQUIRED,
    two_batch: bool = False,
    eta_0: float | None = None,
    lower: float = 0.01,
    upper: float = 0.04,
    growth: float = 1.2,
) -> RTCFactorVAE:
    """gin's `@rtc_factor_vae()`: FactorVAE's parameters plus the eta schedule's."""
    gin_validation.check_parameters("rtc_factor_vae", locals(), _GIN_RULES["rtc_factor_vae"])
    gin_validation.check_less("rtc_factor_vae", "lower", "upper", locals())
    return RTCFactorVAE(gamma, eta_0, lower, upper, growth, two_batch=two_batch)
