"""ONNX encoders as representation functions (optional extra `onnxruntime`).

`tfdis_evaluate --onnx=encoder.onnx` scores an encoder exported to ONNX from any framework: the
model takes float32 images `[B, H, W, C]` in [0, 1] (its first input) and returns codes `[B, D]`
(the output named `representation`, else `mean`, else its first output).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

PREFERRED_OUTPUTS = ("representation", "mean")


def load_onnx_representation(
    path: str, output_name: str | None = None, batch_size: int = 1024
) -> Callable[[np.ndarray], np.ndarray]:
    """The ONNX model at `path` as a numpy representation function.

    Args:
        path: an `.onnx` file.
        output_name: the output holding the codes (default: see the module docstring).
        batch_size: observations per inference call.

    Raises:
        ValueError: onnxruntime is missing, the file is not a valid model, or it has no such
            output.
        FileNotFoundError: `path` does not exist.
    """
    try:
        import onnxruntime
    except ImportError as error:
        raise ValueError(
            "--onnx needs onnxruntime: pip install 'tfdis[onnx]' (or onnxruntime)."
        ) from error
    if not os.path.isfile(path):
        raise FileNotFoundError(f"ONNX model {path!r} not found.")
    try:
        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own exception types
        raise ValueError(f"{path} is not a loadable ONNX model: {error}") from error
    input_name = session.get_inputs()[0].name
    outputs = [output.name for output in session.get_outputs()]
    if output_name is None:
        output_name = next((name for name in PREFERRED_OUTPUTS if name in outputs), outputs[0])
    if output_name not in outputs:
        raise ValueError(f"{path} has no output {output_name!r}; it has {outputs}.")

    def representation_function(observations: np.ndarray) -> np.ndarray:
        observations = np.asarray(observations, dtype=np.float32)
        parts = [
            session.run([output_name], {input_name: observations[start : start + batch_size]})[0]
            for start in range(0, len(observations), batch_size)
        ]
        return np.concatenate(parts, axis=0)

    representation_function.__name__ = os.path.splitext(os.path.basename(path))[0]
    return representation_function
