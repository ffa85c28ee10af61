"""dlib's exported TF-Hub encoders as representation functions.

Every dlib model directory holds `tfhub/`, a module whose `gaussian_encoder` signature maps
`images` (float32 `[B, 64, 64, C]` in [0, 1]) to `mean` and `logvar` `[B, D]`; dlib's mean
representation is `mean`. `load_tfhub_representation` loads such a directory with
`tf.saved_model.load` (TF1 Hub modules are SavedModels with an empty tag set) and returns the
`mean` (or `logvar`) output as a numpy function.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

SIGNATURE = "gaussian_encoder"


def _load(path: str):
    import tensorflow as tf

    errors = []
    for tags in (None, []):  # TF2 exports use the serve tag; TF1 Hub modules the empty set
        try:
            return tf.saved_model.load(path, tags=tags)
        except (ValueError, RuntimeError, OSError) as error:
            errors.append(str(error).splitlines()[0])
    raise ValueError(f"{path} is not a loadable TF-Hub module: {'; '.join(errors)}")


def load_tfhub_representation(
    path: str, output: str = "mean", batch_size: int = 1024
) -> Callable[[np.ndarray], np.ndarray]:
    """The `gaussian_encoder` signature of the module at `path` as a numpy function.

    Raises:
        FileNotFoundError: `path` is not a directory.
        ValueError: not a loadable module, no `gaussian_encoder` signature, or no `output`.
    """
    import tensorflow as tf

    if not os.path.isdir(path):
        raise FileNotFoundError(f"TF-Hub module directory {path!r} not found.")
    module = _load(path)
    signatures = getattr(module, "signatures", {})
    if SIGNATURE not in signatures:
        raise ValueError(
            f"{path} has no {SIGNATURE!r} signature (it has {sorted(signatures)}); dlib's "
            "modules are in <model_dir>/tfhub."
        )
    encoder = signatures[SIGNATURE]
    (input_name,) = encoder.structured_input_signature[1]
    outputs = sorted(encoder.structured_outputs)
    if output not in outputs:
        raise ValueError(f"{path}'s {SIGNATURE} has no output {output!r}; it has {outputs}.")

    def representation_function(observations: np.ndarray) -> np.ndarray:
        observations = np.asarray(observations, dtype=np.float32)
        parts = [
            encoder(**{input_name: tf.constant(observations[start : start + batch_size])})[
                output
            ].numpy()
            for start in range(0, len(observations), batch_size)
        ]
        return np.concatenate(parts, axis=0)

    representation_function.module = module  # keeps the loaded graph alive
    representation_function.__name__ = os.path.basename(os.path.normpath(path))
    return representation_function
