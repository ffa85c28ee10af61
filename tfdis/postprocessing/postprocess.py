"""Postprocessing: a representation SavedModel from a trained one (dlib's postprocess step).

The output SavedModel is self-contained for evaluation. Signatures:
- `representation`: images `[B, H, W, C]` -> `representation` `[B, d]` (`mean` or `sampled`).
  Models with categorical codes append each code's category as one more (float) dimension,
  `[B, d + C]`, so every metric scores the discrete code too.
- `encode`, `sample_latent`, `reconstruct`: re-exported from the trained model, so metrics that
  need the posterior or reconstructions (SPEC section 8) read this directory only.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable

import gin
import tensorflow as tf
from absl import logging

from tfdis.utils import gin_utils, gin_validation, layout, results
from tfdis.utils.model_metadata import read_model_metadata
from tfdis.utils.saved_models import load_saved_model, save_module_atomically


class RepresentationModule(tf.Module):
    """Wraps a trained SavedModel and adds a `representation` signature.

    Args:
        trained: the loaded trained SavedModel (`tf.saved_model.load`).
        representation_fn: maps (trained, images, seed) to codes `[B, d]`.
        random_seed: initial seed of the stateful counter used by sampled representations.
    """

    def __init__(self, trained, representation_fn: Callable, random_seed: int):
        super().__init__(name="tfdis_representation")
        self.trained = trained
        self.seed_counter = tf.Variable(int(random_seed), dtype=tf.int32, trainable=False)
        encode_spec = trained.signatures["encode"].structured_input_signature[1]
        image_spec = next(iter(encode_spec.values()))
        self.images_spec = tf.TensorSpec(image_spec.shape, tf.float32)
        self._representation_fn = representation_fn

        @tf.function(input_signature=[self.images_spec])
        def representation(images):
            seed = self.seed_counter.assign_add(1)
            return {"representation": self._representation_fn(self.trained, images, seed)}

        @tf.function(input_signature=[self.images_spec])
        def encode(images):
            return self.trained.encode(images)

        @tf.function(input_signature=[self.images_spec, tf.TensorSpec([], tf.int32)])
        def sample_latent(images, seed):
            return self.trained.sample_latent(images, seed)

        @tf.function(input_signature=[self.images_spec])
        def reconstruct(images):
            return self.trained.reconstruct(images)

        self.representation = representation
        self.encode = encode
        self.sample_latent = sample_latent
        self.reconstruct = reconstruct

    def signatures(self) -> dict:
        return {
            name: getattr(self, name).get_concrete_function()
            for name in ("representation", "encode", "sample_latent", "reconstruct")
        }


def _with_categories(latents: tf.Tensor, outputs: dict) -> tf.Tensor:
    """`[B, d]` latents with the categories `[B, C]` of a discrete-code model appended."""
    if "category" not in outputs:
        return latents
    return tf.concat([latents, tf.cast(outputs["category"], latents.dtype)], axis=1)


# Types and ranges of the public gin parameters (see tfdis.utils.gin_validation).
_GIN_RULES = gin_validation.register(
    __name__,
    {
        "postprocess": {
            "postprocess_fn": {"kind": "callable"},
            "random_seed": {"kind": "int", "minimum": 0},
            "name": {"kind": "str"},
        }
    },
)


@gin.configurable("mean_representation", allowlist=[])
def mean_representation(trained, images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """The posterior mean as the representation (dlib's default), plus any categories."""
    del seed
    encoded = trained.encode(images)
    return _with_categories(encoded["mean"], encoded)


@gin.configurable("sampled_representation", allowlist=[])
def sampled_representation(trained, images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """A posterior sample as the representation (correlated noise included), plus categories."""
    sampled = trained.sample_latent(images, seed)
    return _with_categories(sampled["latents"], sampled)


@gin.configurable("postprocess", denylist=["model_dir", "output_dir"])
def postprocess(
    model_dir: str,
    output_dir: str,
    postprocess_fn: Callable = gin.REQUIRED,
    random_seed: int = gin.REQUIRED,
    name: str = "",
) -> dict:
    """Writes the representation SavedModel of the trained run `model_dir` to `output_dir`.

    Args:
        model_dir: a finished training run (holds `saved_model/` and `results/`).
        output_dir: where to write (`<model_dir>/postprocessed/<name>` by the CLI).
        postprocess_fn: `@mean_representation` or `@sampled_representation`.
        random_seed: seed of sampled representations.
        name: label recorded in the results.
    """
    gin_validation.check_parameters("postprocess", locals(), _GIN_RULES["postprocess"])
    del name
    start = time.time()
    trained_dir = layout.saved_model_dir(model_dir)
    if not os.path.isdir(trained_dir):
        raise FileNotFoundError(
            f"no exported model at {trained_dir}: train first (tfdis_train --model_dir={model_dir})."
        )
    trained = load_saved_model(trained_dir)
    module = RepresentationModule(trained, postprocess_fn, random_seed)
    # Carry the trained model's facts (dataset, posterior correlation, ...) to the metrics.
    metadata = read_model_metadata(trained_dir)
    metadata.update(
        postprocess_fn=postprocess_fn.__name__, trained_model=os.path.abspath(trained_dir)
    )
    save_module_atomically(
        module, module.signatures(), layout.saved_model_dir(output_dir), metadata=metadata
    )
    result_dir = layout.results_dir(output_dir)
    results.save_gin_config(result_dir, "postprocess", gin_utils.operative_config())
    outputs = {"elapsed_time": time.time() - start, "uuid": str(uuid.uuid4())}
    results.update_result_directory(
        result_dir, "postprocess", outputs, previous_result_dir=layout.results_dir(model_dir)
    )
    logging.info("Wrote the %s representation to %s.", postprocess_fn.__name__, output_dir)
    return outputs


def postprocess_with_gin(
    model_dir: str,
    output_dir: str,
    overwrite: bool = False,
    gin_config_files: list[str] | tuple[str, ...] = (),
    gin_bindings: list[str] | tuple[str, ...] = (),
) -> dict:
    """Parses gin, refuses an existing `output_dir` unless `overwrite`, and postprocesses."""
    return gin_utils.run_step_with_gin(
        postprocess,
        model_dir,
        output_dir,
        overwrite,
        "Postprocessing output",
        gin_config_files,
        gin_bindings,
    )
