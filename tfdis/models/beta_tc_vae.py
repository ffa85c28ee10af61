"""beta-TCVAE (Chen et al. 2018, paper 004): weighted ELBO decomposition (SPEC section 7).

With z ~ q(z|x) and the minibatch estimates of log q(z) and log prod_j q(z_j) (MWS or MSS),

    KL(q(z|x) || p(z)) = MI + TC + dimension-wise KL, where
    MI = E[log q(z|x) - log q(z)], TC = E[log q(z) - log prod_j q(z_j)],
    dim-KL = E[log prod_j q(z_j) - log p(z)].

The regularizer is alpha MI + beta TC + gamma dim-KL, written as the analytic KL plus
(alpha - 1) MI + (beta - 1) TC + (gamma - 1) dim-KL: with alpha = gamma = 1 this is exactly dlib's
`KL + (beta - 1) TC`, and the analytic KL keeps the variance of the unweighted part low.
"""

from __future__ import annotations

import math

import gin
import tensorflow as tf

from tfdis.estimators import total_correlation
from tfdis.models.vae import BaseVAE
from tfdis.posteriors import make_gaussian_posterior
from tfdis.runtime import replicas
from tfdis.utils import gin_validation

ESTIMATORS = ("mws", "mss")


def standard_normal_log_prob(z: tf.Tensor) -> tf.Tensor:
    """log N(z; 0, I) per row, `[B]`."""
    return -0.5 * tf.reduce_sum(tf.square(z) + math.log(2.0 * math.pi), axis=-1)


def tc_weight(step: tf.Tensor, beta: float, anneal_steps: int) -> tf.Tensor:
    """beta, or beta ramped linearly from 0 over `anneal_steps` (rtqichen's warm-up)."""
    if anneal_steps <= 0:
        return tf.constant(beta, tf.float32)
    return tf.minimum(1.0, tf.cast(step, tf.float32) / float(anneal_steps)) * beta


class BetaTCVAE(BaseVAE):
    """beta-TCVAE.

    Args:
        beta: TC weight (6 on dSprites in the seed studies).
        alpha: index-code MI weight (1).
        gamma: dimension-wise KL weight (1).
        estimator: "mws" (Chen's default, dlib) or "mss".
        anneal_steps: TC-weight warm-up steps; 0 disables it (Chen's code: 7000).
        dataset_size: N for the estimator's constants; None takes the training data's size.
    """

    extra_metrics = ("total_correlation", "mutual_information", "dimension_wise_kl", "tc_weight")

    def __init__(
        self,
        beta: float,
        alpha: float = 1.0,
        gamma: float = 1.0,
        estimator: str = "mws",
        anneal_steps: int = 0,
        dataset_size: int | None = None,
        name: str = "beta_tc_vae",
    ):
        super().__init__(name=name)
        if estimator not in ESTIMATORS:
            raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
        self.beta, self.alpha, self.gamma = float(beta), float(alpha), float(gamma)
        self.estimator = estimator
        self.anneal_steps = int(anneal_steps)
        self.fixed_dataset_size = dataset_size

    def decomposition(self, posterior, z_sampled) -> dict[str, tf.Tensor]:
        """Batch means of MI, TC and dimension-wise KL at the sampled codes (scalars).

        Sharded over replicas, the minibatch is the global batch: codes and posteriors are
        gathered from all replicas and every replica scores all of them, as one device does.
        """
        dataset_size = self.fixed_dataset_size or self.dataset_size
        if not dataset_size:
            raise ValueError("beta-TCVAE needs the dataset size: bind beta_tc_vae.dataset_size")
        if replicas.num_replicas_in_step() > 1:
            z_sampled = replicas.all_gather_batch(z_sampled)
            posterior = make_gaussian_posterior(
                replicas.all_gather_batch(posterior.mean),
                replicas.all_gather_batch(posterior.logvar),
                correlation=self.posterior_correlation,
            )
        estimate_fn = total_correlation.mws if self.estimator == "mws" else total_correlation.mss
        estimate = estimate_fn(
            z_sampled,
            posterior.mean,
            posterior.logvar,
            dataset_size,
            correlation=self.posterior_correlation,
        )
        log_qz_given_x = posterior.log_prob(z_sampled)
        log_pz = standard_normal_log_prob(z_sampled)
        return {
            "mutual_information": tf.reduce_mean(log_qz_given_x - estimate.log_qz),
            "total_correlation": estimate.total_correlation,
            "dimension_wise_kl": tf.reduce_mean(estimate.log_prod_qzj - log_pz),
        }

    def regularizer(self, kl_loss, posterior, z_sampled, step):
        terms = self.decomposition(posterior, z_sampled)
        beta = tc_weight(step, self.beta, self.anneal_steps)
        for key, value in terms.items():
            self.log_scalar(key, value)
        self.log_scalar("tc_weight", beta)
        return (
            kl_loss
            + (self.alpha - 1.0) * terms["mutual_information"]
            + (beta - 1.0) * terms["total_correlation"]
            + (self.gamma - 1.0) * terms["dimension_wise_kl"]
        )


# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "beta_tc_vae": {
            "beta": {"kind": "number", "minimum": 0},
            "alpha": {"kind": "number", "minimum": 0},
            "gamma": {"kind": "number", "minimum": 0},
            "estimator": {"kind": "str", "choices": ("mws", "mss")},
            "anneal_steps": {"kind": "int", "minimum": 0},
            "dataset_size": {"kind": "int", "positive": True, "optional": True},
        }
    },
)


@gin.configurable("beta_tc_vae")
def beta_tc_vae(
    beta: float = gin.REQUIRED,
    alpha: float = 1.0,
    gamma: float = 1.0,
    estimator: str = "mws",
    anneal_steps: int = 0,
    dataset_size: int | None = None,
) -> BetaTCVAE:
    """gin's `@beta_tc_vae()` (dlib's `beta_tc_vae.beta`, plus alpha, gamma, estimator, ...)."""
    gin_validation.check_parameters("beta_tc_vae", locals(), _GIN_RULES["beta_tc_vae"])
    return BetaTCVAE(beta, alpha, gamma, estimator, anneal_steps, dataset_size)
