"""SavedModel export of a trained VAE (SPEC section 1).

The exported `tf.Module` holds the Keras encoder and decoder and exposes signatures that reload
in a process that never imports tfdis or Keras:

- `encode`: images `[B, H, W, C]` -> `mean`, `logvar` `[B, d]`.
- `decode`: latents `[B, d]` -> `images` `[B, H, W, C]` in [0, 1].
- `reconstruct`: images -> `images`, the decoded posterior mean.
- `sample`: `num_samples` (int32 scalar), `seed` (int32 scalar) -> `images` from the prior.
- `sample_latent`: images, `seed` -> `latents`, a posterior sample (correlated noise included).

Models with categorical codes (CascadeVAE, JointVAE, InfoGAN; `model.discrete_sizes` = [K_1..K_C])
export `DiscreteCodeExportModule` instead, whose signatures carry the code:

- `encode`: images -> `mean`, `logvar` `[B, d]`, `category` int32 `[B, C]`, `category_logits`
  `[B, sum K]` (argmax within each code's block gives its category).
- `decode`: `latents` `[B, d]`, `category` int32 `[B, C]` -> `images`.
- `reconstruct`: decoded (mean, category); `sample`: prior latents (N(0, I); InfoGAN's
  Unif(-1, 1)) with uniform categories;
  `sample_latent`: `latents` (a posterior sample) and `category`.
- `generate` (InfoGAN): `latents`, `category`, `noise` -> `images`.

Every floating input and output is float32, also for networks trained under a mixed-precision
policy (`model.mixed_precision`); their outputs are cast.
"""

from __future__ import annotations

import tensorflow as tf

from tfdis.models.vae import BaseVAE
from tfdis.posteriors import make_gaussian_posterior
from tfdis.utils.saved_models import save_module_atomically


def _empty_batch_safe(fn, images: tf.Tensor, *args) -> dict[str, tf.Tensor]:
    """`fn(images, *args)` that also takes an empty batch (some CPU kernels reject one).

    An empty batch runs on one zero image and the outputs are cut back to zero rows.
    """
    size = tf.shape(images)[0]
    padded = tf.cond(
        size > 0,
        lambda: images,
        lambda: tf.zeros(tf.concat([[1], tf.shape(images)[1:]], 0), images.dtype),
    )
    return {key: value[:size] for key, value in fn(padded, *args).items()}


def _float32(outputs: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    """Floating outputs as float32: signatures stay float32 for mixed-precision models."""
    return {
        key: tf.cast(value, tf.float32) if value.dtype.is_floating else value
        for key, value in outputs.items()
    }


class VAEExportModule(tf.Module):
    """The serving module of a Gaussian VAE.

    Args:
        model: a trained `BaseVAE` with built networks.
    """

    def __init__(self, model: BaseVAE):
        super().__init__(name="tfdis_vae")
        self.encoder = model.encoder
        self.decoder = model.decoder
        # Track the raw tf.Variables too: without this, TF1-style loaders (saved_model_cli run,
        # TF Serving) cannot find the Keras 3 variables the signatures read.
        self.tf_variables = [v.value for v in model.encoder.variables + model.decoder.variables]
        self.correlation = model.posterior_correlation
        shape = [None, *model.observation_shape]
        d = model.num_latent
        self.encode = tf.function(
            lambda images: _empty_batch_safe(self._encode, images),
            input_signature=[tf.TensorSpec(shape, tf.float32)],
        )
        self.decode = tf.function(
            self._decode, input_signature=[tf.TensorSpec([None, d], tf.float32)]
        )
        self.reconstruct = tf.function(
            lambda images: _empty_batch_safe(self._reconstruct, images),
            input_signature=[tf.TensorSpec(shape, tf.float32)],
        )
        self.sample = tf.function(
            self._sample,
            input_signature=[tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.int32)],
        )
        self.sample_latent = tf.function(
            lambda images, seed: _empty_batch_safe(self._sample_latent, images, seed),
            input_signature=[tf.TensorSpec(shape, tf.float32), tf.TensorSpec([], tf.int32)],
        )
        self._num_latent = d

    def _encode(self, images):
        mean, logvar = self.encoder(images, training=False)
        return _float32({"mean": mean, "logvar": logvar})

    def _decode(self, latents):
        return {"images": tf.sigmoid(tf.cast(self.decoder(latents, training=False), tf.float32))}

    def _reconstruct(self, images):
        return self._decode(self._encode(images)["mean"])

    def _sample(self, num_samples, seed):
        latents = tf.random.stateless_normal(
            tf.stack([num_samples, self._num_latent]), seed=tf.stack([seed, 0])
        )
        return self._decode(latents)

    def _sample_latent(self, images, seed):
        encoded = self._encode(images)
        posterior = make_gaussian_posterior(encoded["mean"], encoded["logvar"], self.correlation)
        return {"latents": posterior.sample(tf.stack([seed, 1]))}

    def signatures(self) -> dict[str, tf.types.experimental.ConcreteFunction]:
        return {
            name: getattr(self, name).get_concrete_function()
            for name in ("encode", "decode", "reconstruct", "sample", "sample_latent")
        }


class DiscreteCodeExportModule(tf.Module):
    """The serving module of a model with categorical codes (see the module docstring).

    Args:
        model: a trained model with `encoder`, `decoder`, `discrete_sizes`, `num_latent`,
            `observation_shape`, `encode_discrete(images) -> dict` and
            `decode_with_categories(latents, categories) -> logits`; optionally
            `generate(latents, categories, noise) -> logits` and `num_noise`, and
            `export_variables() -> list` of further variables the signatures read (CascadeVAE's
            optimizer step, which gates its discrete code before t_d).
    """

    def __init__(self, model):
        super().__init__(name="tfdis_discrete_code")
        self.encoder = model.encoder
        self.decoder = model.decoder
        extra = model.export_variables() if hasattr(model, "export_variables") else []
        self.tf_variables = [
            v.value for v in model.encoder.variables + model.decoder.variables + extra
        ]
        self.correlation = float(getattr(model, "posterior_correlation", 0.0))
        self._sizes = list(model.discrete_sizes)
        self._num_latent = d = model.num_latent
        self._prior = getattr(model, "continuous_prior", "normal")  # InfoGAN: "uniform"
        self._encode_fn = model.encode_discrete
        self._decode_fn = model.decode_with_categories
        images = tf.TensorSpec([None, *model.observation_shape], tf.float32)
        latents = tf.TensorSpec([None, d], tf.float32)
        categories = tf.TensorSpec([None, len(self._sizes)], tf.int32)
        scalar = tf.TensorSpec([], tf.int32)
        self.encode = tf.function(
            lambda x: _empty_batch_safe(self._encode, x), input_signature=[images]
        )
        self.decode = tf.function(self._decode, input_signature=[latents, categories])
        self.reconstruct = tf.function(
            lambda x: _empty_batch_safe(self._reconstruct, x), input_signature=[images]
        )
        self.sample = tf.function(self._sample, input_signature=[scalar, scalar])
        self.sample_latent = tf.function(
            lambda x, seed: _empty_batch_safe(self._sample_latent, x, seed),
            input_signature=[images, scalar],
        )
        self._names = ["encode", "decode", "reconstruct", "sample", "sample_latent"]
        if hasattr(model, "generate"):
            self._generate_fn = model.generate
            noise = tf.TensorSpec([None, model.num_noise], tf.float32)
            self.generate = tf.function(
                self._generate, input_signature=[latents, categories, noise]
            )
            self._names.append("generate")

    def _encode(self, images):
        return _float32(self._encode_fn(images))

    def _decode(self, latents, category):
        logits = self._decode_fn(latents, category, training=False)
        return {"images": tf.sigmoid(tf.cast(logits, tf.float32))}

    def _generate(self, latents, category, noise):
        logits = self._generate_fn(latents, category, noise, training=False)
        return {"images": tf.sigmoid(tf.cast(logits, tf.float32))}

    def _reconstruct(self, images):
        encoded = self._encode(images)
        return self._decode(encoded["mean"], encoded["category"])

    def _sample(self, num_samples, seed):
        shape, latent_seed = tf.stack([num_samples, self._num_latent]), tf.stack([seed, 0])
        if self._prior == "uniform":
            latents = tf.random.stateless_uniform(shape, latent_seed, minval=-1.0, maxval=1.0)
        else:
            latents = tf.random.stateless_normal(shape, seed=latent_seed)
        categories = [
            tf.random.stateless_uniform(
                tf.stack([num_samples]), seed=tf.stack([seed, c + 1]), maxval=k, dtype=tf.int32
            )
            for c, k in enumerate(self._sizes)
        ]
        return self._decode(latents, tf.stack(categories, axis=1))

    def _sample_latent(self, images, seed):
        encoded = self._encode(images)
        posterior = make_gaussian_posterior(encoded["mean"], encoded["logvar"], self.correlation)
        return {"latents": posterior.sample(tf.stack([seed, 1])), "category": encoded["category"]}

    def signatures(self) -> dict[str, tf.types.experimental.ConcreteFunction]:
        return {name: getattr(self, name).get_concrete_function() for name in self._names}


def export_vae(model: BaseVAE, export_dir: str, metadata: dict | None = None) -> None:
    """Exports `model` as a SavedModel with the signatures listed in this module's docstring."""
    discrete_sizes = list(getattr(model, "discrete_sizes", []))
    module = DiscreteCodeExportModule(model) if discrete_sizes else VAEExportModule(model)
    info = {
        "model_class": type(model).__name__,
        "num_latent": model.num_latent,
        "discrete_sizes": discrete_sizes,
        "observation_shape": list(model.observation_shape),
        "posterior_correlation": float(getattr(model, "posterior_correlation", 0.0)),
        "signatures": sorted(module.signatures()),
    }
    info.update(metadata or {})
    save_module_atomically(module, module.signatures(), export_dir, info)
