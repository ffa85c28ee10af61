"""CascadeVAE (Jeong & Song, ICML 2019): information cascading + alternating discrete assignment.

SPEC section 7 and the seed supplement (paper 001, B.1-B.4):

- Continuous code z `[B, d]` with a per-dimension KL weight beta_j(t): every dimension starts at
  beta_h; dimensions are relieved to beta_l one at a time, in index order, every `relief_interval`
  (r) steps (`relief_steps`).
- Discrete one-hot code `[B, K]`, all-zero before step t_d (`discrete_start`). From t_d on, each
  batch: draw eps once, decode [z, e_k] for every k without gradient to get unary costs
  u_ik = reconstruction loss, solve the exact assignment with the lambda' same-category penalty
  (`tfdis.models.assignment`), then take one gradient step with the assignment as a constant.
- Inference: z = mean; category = argmin_k u_ik with z = mean.
- Weight decay 4e-5 (the reference code's L2 on the weights: 4e-5 * sum ||W||^2 / 2 in the loss).

The relief schedule is the reference code's (`run_batch` in snu-mllab/DisentanglementICML19):
with i = step // r, min(i + 1, d) dimensions are relieved before t_d and min(i, d) from t_d on.
So dimension j is relieved at j * r while j * r < t_d and at (j + 1) * r after that: the schedule
pauses for [t_d, t_d + r), letting the discrete code settle before the next dimension is
relieved, and with t_d = 0 (MNIST, FashionMNIST) nothing is relieved before step r. The reference
counts t_d in intervals (`ntime`), so t_d must be a multiple of r. dSprites (6 dims, r = 20k,
supplement B.1's t_d = 100k): 0, 20k, 40k, 60k, 80k, 120k. MNIST (10 dims, r = 10k, t_d = 0):
10k, 20k, ..., 100k. (SPEC's 0, 20k, 40k, 60k, 100k, 120k is this rule with the reference code's
default `ntime = 4`, i.e. t_d = 80k, not the supplement's t_d = 100k.)

Before t_d the model has never used its discrete code (the decoder only saw all-zero codes), so
the exported `decode`, `reconstruct`, `sample` and `encode` gate it as `call` does: a model
exported before t_d decodes with the zero code whatever category it is given, and reports
category 0 with all-zero logits for every image (a constant the metrics score as carrying no
information). The gate reads the optimizer step, which the SavedModel keeps.

Sharded over replicas, the assignment is solved on the unary costs of the global batch
(gathered; every replica solves the same problem and keeps its rows), so the same-category
penalty counts pairs across the whole batch as on one device. The solver runs in
`tf.numpy_function`, which XLA cannot compile: `model.jit_compile` stays off for CascadeVAE.
"""

from __future__ import annotations

import gin
import numpy as np
import tensorflow as tf

from tfdis.models import architectures, assignment, losses
from tfdis.models.vae import BaseVAE
from tfdis.runtime import replicas
from tfdis.utils import gin_validation


def relief_steps(num_latent: int, relief_interval: int, discrete_start: int) -> np.ndarray:
    """Step at which each continuous dimension's KL weight drops from beta_h to beta_l, `[d]`.

    Dimension j is relieved at j * r if j * r < t_d, else at (j + 1) * r (see the module
    docstring): the first step at which the reference's count of relieved dimensions exceeds j.
    """
    if relief_interval < 1:
        raise ValueError(f"relief_interval must be positive, got {relief_interval}")
    if discrete_start < 0 or discrete_start % relief_interval:
        raise ValueError(
            f"cascade_vae.discrete_start ({discrete_start}) must be a non-negative multiple of "
            f"cascade_vae.relief_interval ({relief_interval}): the reference code counts t_d "
            "in relief intervals"
        )
    j = np.arange(num_latent, dtype=np.int64)
    return np.where(j * relief_interval < discrete_start, j, j + 1) * relief_interval


class CascadeVAE(BaseVAE):
    """CascadeVAE: Gaussian continuous code plus a K-way code found by exact assignment.

    Args:
        num_categories: K, the size of the discrete code.
        beta_h: KL weight of the dimensions not yet relieved (10).
        beta_l: KL weight after relief (the reference code's 0.1).
        relief_interval: r, steps between reliefs.
        discrete_start: t_d, the first step with a discrete code.
        pair_penalty: lambda', the cost of each same-category pair in a batch.
        weight_decay: L2 coefficient on the encoder and decoder kernels.
    """

    extra_metrics = ("assignment_balance", "num_relieved", "weight_decay_loss")
    xla_unsupported = (
        "its discrete step solves the category assignment in scipy through tf.numpy_function, "
        "which XLA cannot compile."
    )

    def __init__(
        self,
        num_categories: int,
        beta_h: float = 10.0,
        beta_l: float = 0.1,
        relief_interval: int = 20000,
        discrete_start: int = 100000,
        pair_penalty: float = 0.001,
        weight_decay: float = 4e-5,
        name: str = "cascade_vae",
    ):
        super().__init__(name=name)
        if num_categories < 2:
            raise ValueError(f"cascade_vae.num_categories must be at least 2, got {num_categories}")
        relief_steps(1, relief_interval, discrete_start)  # validates r and t_d
        if discrete_start < 0 or pair_penalty < 0 or weight_decay < 0:
            raise ValueError(
                "cascade_vae.discrete_start, pair_penalty and weight_decay must be non-negative"
            )
        self.num_categories = int(num_categories)
        self.beta_h = float(beta_h)
        self.beta_l = float(beta_l)
        self.relief_interval = int(relief_interval)
        self.discrete_start = int(discrete_start)
        self.pair_penalty = float(pair_penalty)
        self.weight_decay = float(weight_decay)
        self.discrete_sizes = [self.num_categories]

    def build_networks(self, observation_shape, noise_seed=0, dataset_size=None) -> None:
        super().build_networks(observation_shape, noise_seed, dataset_size)
        # The decoder reads [z, one-hot code].
        self.decoder = architectures.make_decoder(
            self.num_latent + self.num_categories, self.observation_shape
        )
        self.relief = tf.constant(
            relief_steps(self.num_latent, self.relief_interval, self.discrete_start)
        )

    # --- schedule -------------------------------------------------------------------------------

    def beta_per_dimension(self, step: tf.Tensor) -> tf.Tensor:
        """KL weights `[d]` at `step`: beta_l for relieved dimensions, beta_h for the others."""
        relieved = tf.cast(step, tf.int64) >= self.relief
        return tf.where(relieved, self.beta_l, self.beta_h)

    def discrete_active(self, step: tf.Tensor) -> tf.Tensor:
        """Whether the discrete code is in use at `step` (bool scalar)."""
        return tf.cast(step, tf.int64) >= self.discrete_start

    def code_in_use(self) -> tf.Tensor:
        """Whether the model as trained so far uses its discrete code (step >= t_d), bool scalar."""
        return self.discrete_active(self.optimizer.iterations)

    def export_variables(self) -> list:
        """Variables the exported signatures read besides the networks' (the step of the gate)."""
        return [self.optimizer.iterations]

    # --- the discrete code ----------------------------------------------------------------------

    def decode_with_categories(
        self, latents: tf.Tensor, categories: tf.Tensor, training: bool = False
    ) -> tf.Tensor:
        """Logits `[B, H, W, C]` of latents `[B, d]` with int categories `[B, 1]` (-1: no code).

        Before t_d (`code_in_use` false) the code is all-zero whatever the categories.
        """
        one_hot = tf.one_hot(categories[:, 0], self.num_categories, dtype=latents.dtype)
        one_hot *= tf.cast(self.code_in_use(), latents.dtype)
        return self.decoder(tf.concat([latents, one_hot], axis=1), training=training)

    def unary_costs(self, observations: tf.Tensor, latents: tf.Tensor) -> tf.Tensor:
        """u_ik `[B, K]`: reconstruction loss of x_i decoded from [z_i, e_k], no gradient.

        The K decodes run as one batch of K * B rows.
        """
        batch = tf.shape(latents)[0]
        k = self.num_categories
        tiled = tf.tile(latents, [k, 1])  # row k * B + i is z_i
        codes = tf.repeat(tf.eye(k, dtype=latents.dtype), batch, axis=0)  # row k * B + i is e_k
        logits = self.decoder(tf.concat([tiled, codes], axis=1), training=False)
        targets = tf.tile(observations, [k, 1, 1, 1])
        costs = losses.make_reconstruction_loss(targets, logits)
        return tf.stop_gradient(tf.transpose(tf.reshape(costs, [k, batch])))

    def assign(self, unary_costs: tf.Tensor) -> tf.Tensor:
        """The exact lambda'-penalized assignment of a batch, int32 `[B]` (runs scipy)."""
        categories = tf.numpy_function(
            lambda u: assignment.assign_categories(u, self.pair_penalty),
            [unary_costs],
            tf.int32,
            stateful=False,
        )
        return tf.reshape(categories, [-1])

    def infer_categories(self, observations: tf.Tensor, means: tf.Tensor) -> tuple:
        """Inference: (categories int32 `[B, 1]`, costs `[B, K]`) with argmin_k u_ik at z = mean."""
        costs = self.unary_costs(observations, means)
        return tf.argmin(costs, axis=1, output_type=tf.int32)[:, None], costs

    def encode_discrete(self, observations: tf.Tensor) -> dict[str, tf.Tensor]:
        """The export encoder: mean, logvar `[B, d]`, category `[B, 1]`, category_logits `[B, K]`.

        `category_logits` are the negative costs -u_ik, so argmax gives the category. Before t_d
        (`code_in_use` false) the category is 0 and the logits are 0 for every image.
        """
        mean, logvar = (tf.cast(t, tf.float32) for t in self.encoder(observations, training=False))
        categories, costs = self.infer_categories(observations, mean)
        in_use = self.code_in_use()
        return {
            "mean": mean,
            "logvar": logvar,
            "category": tf.where(in_use, categories, tf.zeros_like(categories)),
            "category_logits": tf.where(in_use, -costs, tf.zeros_like(costs)),
        }

    # --- training -------------------------------------------------------------------------------

    def weight_decay_loss(self) -> tf.Tensor:
        kernels = [v for v in self.vae_variables if "kernel" in v.path]
        return self.weight_decay * tf.add_n([tf.nn.l2_loss(k) for k in kernels])

    def regularizer(self, kl_loss, posterior, z_sampled, step):
        kl_per_dim = tf.reduce_mean(posterior.kl_per_dim(), axis=0)
        beta = self.beta_per_dimension(step)
        self.log_scalar("num_relieved", tf.reduce_sum(tf.cast(beta == self.beta_l, tf.float32)))
        return tf.reduce_sum(tf.cast(beta, kl_per_dim.dtype) * kl_per_dim)

    def decoder_input(self, observations, z_sampled, step, training):
        """[z, one-hot code]: the assignment in training, argmin costs at evaluation, zeros
        before t_d. The code uses the same sample z (eps drawn once) as the gradient step."""
        active = self.discrete_active(step)
        batch, k = tf.shape(z_sampled)[0], self.num_categories
        costs = tf.cond(
            active,
            lambda: self.unary_costs(observations, z_sampled),
            lambda: tf.zeros([batch, k], z_sampled.dtype),
        )
        if training:
            # Sharded over replicas, the assignment is the global batch's. The gather stays out
            # of the conditionals: a cross-replica merge cannot sit inside one.
            all_costs = replicas.all_gather_batch(costs)
            categories = tf.cond(
                active,
                lambda: replicas.local_rows(self.assign(all_costs), batch),
                lambda: tf.zeros([batch], tf.int32),
            )
        else:  # evaluation uses the inference rule
            categories = tf.argmin(costs, axis=1, output_type=tf.int32)
        code = tf.cond(
            active,
            lambda: tf.one_hot(categories, k, dtype=z_sampled.dtype),
            lambda: tf.zeros([batch, k], z_sampled.dtype),
        )
        counts = replicas.cross_replica_mean(tf.reduce_sum(code, axis=0))  # global balance
        frequencies = counts / tf.maximum(tf.reduce_sum(counts), 1.0)
        entropy = -tf.reduce_sum(
            tf.where(frequencies > 0, frequencies * tf.math.log(frequencies + 1e-30), 0.0)
        )
        self.log_scalar("assignment_balance", entropy / np.log(self.num_categories))
        return tf.concat([z_sampled, code], axis=1)

    def compute_loss_terms(self, observations, seed, step, training):
        terms = super().compute_loss_terms(observations, seed, step, training)
        decay = self.weight_decay_loss()
        self.log_scalar("weight_decay_loss", decay)
        return {**terms, "loss": terms["loss"] + decay}

    def call(self, observations: tf.Tensor, training: bool = False) -> tf.Tensor:
        """Reconstruction logits from the mean and the inferred category (zero code before t_d)."""
        mean = self.posterior(observations).mean
        categories, _ = self.infer_categories(observations, mean)
        active = tf.cast(self.code_in_use(), mean.dtype)
        code = active * tf.one_hot(categories[:, 0], self.num_categories, dtype=mean.dtype)
        return self.decoder(tf.concat([mean, code], axis=1), training=training)


# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "cascade_vae": {
            "num_categories": {"kind": "int", "minimum": 2},
            "beta_h": {"kind": "number", "minimum": 0},
            "beta_l": {"kind": "number", "minimum": 0},
            "relief_interval": {"kind": "int", "positive": True},
            "discrete_start": {"kind": "int", "minimum": 0},
            "pair_penalty": {"kind": "number", "minimum": 0},
            "weight_decay": {"kind": "number", "minimum": 0},
        }
    },
)


@gin.configurable("cascade_vae")
def cascade_vae(
    num_categories: int = gin.REQUIRED,
    beta_h: float = 10.0,
    beta_l: float = 0.1,
    relief_interval: int = 20000,
    discrete_start: int = 100000,
    pair_penalty: float = 0.001,
    weight_decay: float = 4e-5,
) -> CascadeVAE:
    """gin's `@cascade_vae()`; defaults are the dSprites constants of the supplement (B.1)."""
    gin_validation.check_parameters("cascade_vae", locals(), _GIN_RULES["cascade_vae"])
    return CascadeVAE(
        num_categories,
        beta_h=beta_h,
        beta_l=beta_l,
        relief_interval=relief_interval,
        discrete_start=discrete_start,
        pair_penalty=pair_penalty,
        weight_decay=weight_decay,
    )
