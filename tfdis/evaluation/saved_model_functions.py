"""Numpy functions over exported SavedModels, the only thing metrics see of a model.

Metrics consume SavedModels, never Python model objects (SPEC section 1): a
`representation_function` maps numpy observations `(B, H, W, C)` to codes `(B, d)`, and a
`SavedModelPosterior` gives the posterior (`encode`, `sample`) and reconstructions.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from tfdis.utils.model_metadata import read_model_metadata
from tfdis.utils.saved_models import load_saved_model


def _batched(fn: Callable[[tf.Tensor], dict], observations: np.ndarray, batch_size: int) -> dict:
    """Applies a signature-like `fn` over `observations` in batches, concatenating outputs."""
    observations = np.asarray(observations, dtype=np.float32)
    outputs: dict[str, list[np.ndarray]] = {}
    for start in range(0, len(observations), batch_size):
        for key, value in fn(tf.constant(observations[start : start + batch_size])).items():
            outputs.setdefault(key, []).append(value.numpy())
    return {key: np.concatenate(parts, axis=0) for key, parts in outputs.items()}


def load_representation_function(
    saved_model_dir: str, batch_size: int = 1024
) -> Callable[[np.ndarray], np.ndarray]:
    """The `representation` signature of a postprocessed SavedModel as a numpy function."""
    module = load_saved_model(saved_model_dir)

    def representation_function(observations: np.ndarray) -> np.ndarray:
        return _batched(module.representation, observations, batch_size)["representation"]

    representation_function.module = module  # keeps the loaded graph alive
    return representation_function


class SavedModelPosterior:
    """The posterior of an exported model (tfdis's `PosteriorEncoder` protocol).

    Args:
        saved_model_dir: a trained or postprocessed SavedModel with `encode`, `sample_latent`
            and `reconstruct` signatures.
        batch_size: observations per call into the SavedModel.
    """

    def __init__(self, saved_model_dir: str, batch_size: int = 1024):
        self.module = load_saved_model(saved_model_dir)
        self.batch_size = batch_size
        # The posterior noise correlation s (SPEC section 5), for metrics of the joint posterior.
        metadata = read_model_metadata(saved_model_dir)
        self.correlation = float(metadata.get("posterior_correlation", 0.0))
        # The CascadeVAE score has one discrete dimension (seed supplement C): it is offered for
        # models with exactly one categorical code; the continuous part serves the rest.
        self.discrete_sizes = list(metadata.get("discrete_sizes", []))
        single_code = len(self.discrete_sizes) == 1
        self.discrete_logits = self._discrete_logits if single_code else None
        self.encode_with_discrete_logits = (
            self._encode_with_discrete_logits if single_code else None
        )

    def encode(self, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior means and log-variances, each `(B, d)`."""
        out = _batched(self.module.encode, observations, self.batch_size)
        return out["mean"], out["logvar"]

    def _discrete_logits(self, observations: np.ndarray) -> np.ndarray:
        """Logits `(B, K)` of the single categorical code (argmax gives the category)."""
        return _batched(self.module.encode, observations, self.batch_size)["category_logits"]

    def _encode_with_discrete_logits(self, observations: np.ndarray) -> tuple[np.ndarray, ...]:
        """`(mean, logvar, logits)` from one pass through `encode`."""
        out = _batched(self.module.encode, observations, self.batch_size)
        return out["mean"], out["logvar"], out["category_logits"]

    def sample(self, observations: np.ndarray, seed: int) -> np.ndarray:
        """A posterior sample `(B, d)`, deterministic given `seed` and `batch_size`."""
        observations = np.asarray(observations, dtype=np.float32)
        parts = []
        for chunk, start in enumerate(range(0, len(observations), self.batch_size)):
            # Each chunk gets its own seed so rows `batch_size` apart do not share noise.
            chunk_seed = np.random.RandomState([int(seed) % 2**32, chunk]).randint(2**31 - 1)
            images = tf.constant(observations[start : start + self.batch_size])
            latents = self.module.sample_latent(images, tf.constant(chunk_seed, tf.int32))
            parts.append(latents["latents"].numpy())
        return np.concatenate(parts, axis=0)

    def reconstruct(self, observations: np.ndarray) -> np.ndarray:
        """Reconstructions `(B, H, W, C)` in [0, 1] from the posterior mean."""
        return _batched(self.module.reconstruct, observations, self.batch_size)["images"]
