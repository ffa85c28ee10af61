"""S copies of one Keras network with their weights stacked along a leading axis (issue 8).

`StackedNetwork` runs S models of one architecture (different seeds or hyperparameters) as one
computation: a dense layer is one batched matmul (`einsum('sbi,sio->sbo')`), a convolution or
transposed convolution one grouped convolution whose S groups are the S models (their channels
side by side). Every weight is a `keras.Variable` of shape `[S, *shape]`, so an optimizer keeps
each model's state in its own slice, and slice s holds exactly the weights of model s.

Tensors travel between layers in one of two layouts: stacked `[S, B, ...]` (dense layers,
reshapes) or grouped `[B, H, W, S * C]` (convolutions; model s owns channels `s*C .. s*C+C-1`).
Each layer converts its input to the layout it needs, so a model's flatten order is that of the
single network.

Supported layers: `Conv2D` and `Conv2DTranspose` (channels_last, no dilation, one group),
`Dense`, `Flatten`, `Reshape`, and elementwise layers (`Activation`, `ReLU`, `LeakyReLU`,
`Lambda`). That covers every architecture of SPEC section 4; another layer is refused by name.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import layers

ELEMENTWISE_LAYERS = (layers.Activation, layers.ReLU, layers.LeakyReLU, layers.Lambda)


class _Grouped:
    """A grouped tensor `[B, H, W, S * C]` of S models with `channels` = C each."""

    def __init__(self, tensor: tf.Tensor, channels: int):
        self.tensor = tensor
        self.channels = channels


def _to_grouped(x, num_models: int) -> _Grouped:
    if isinstance(x, _Grouped):
        return x
    if x.shape.rank != 5:
        raise ValueError(f"a convolution needs stacked images [S, B, H, W, C], got {x.shape}")
    _, batch, height, width, channels = x.shape
    if batch is None:
        batch = tf.shape(x)[1]
    grouped = tf.transpose(x, [1, 2, 3, 0, 4])  # [B, H, W, S, C]
    return _Grouped(tf.reshape(grouped, [batch, height, width, num_models * channels]), channels)


def _to_stacked(x, num_models: int) -> tf.Tensor:
    if not isinstance(x, _Grouped):
        return x
    batch, height, width, _ = x.tensor.shape
    if batch is None:
        batch = tf.shape(x.tensor)[0]
    split = tf.reshape(x.tensor, [batch, height, width, num_models, x.channels])
    return tf.transpose(split, [3, 0, 1, 2, 4])  # [S, B, H, W, C]


class StackedNetwork:
    """S Keras functional models of one architecture, run as one network on `[S, B, ...]`.

    Args:
        models: S built `keras.Model`s with identical layer configurations; their current
            weights initialize the slices.
        name: prefix of the stacked variables' names.

    Raises:
        ValueError: the models differ in architecture, or use a layer this module cannot stack.
    """

    def __init__(self, models: Sequence[keras.Model], name: str = "stacked"):
        if not models:
            raise ValueError("StackedNetwork needs at least one model")
        self.template = models[0]
        self.num_models = len(models)
        reference = _architecture(self.template)
        for index, model in enumerate(models[1:], start=1):
            if _architecture(model) != reference:
                raise ValueError(
                    f"model {index} has another architecture than model 0 "
                    f"({model.name} vs {self.template.name}); only one architecture can be stacked"
                )
        # One [S, *shape] variable per weight of the template, in the template's weight order.
        self._weights: dict[int, list[keras.Variable]] = {}
        self._positions: dict[int, tuple[int, int]] = {}  # layer -> its range in `variables`
        self.variables: list[keras.Variable] = []
        layers_of = [list(model.layers) for model in models]
        for position, layer in enumerate(self.template.layers):
            _check_supported(layer)
            stacked = []
            for w in range(len(layer.weights)):
                values = np.stack([np.asarray(m[position].weights[w].numpy()) for m in layers_of])
                variable = keras.Variable(values, name=f"{name}_{layer.name}_{w}", trainable=True)
                stacked.append(variable)
                self.variables.append(variable)
            self._weights[id(layer)] = stacked
            self._positions[id(layer)] = (len(self.variables) - len(stacked), len(self.variables))

    def __call__(self, inputs: tf.Tensor, weights: Sequence[tf.Tensor] | None = None):
        """Runs the models on stacked inputs `[S', B, *input_shape]`.

        Args:
            inputs: one batch per model.
            weights: the weights to use, in `variables` order, each `[S', ...]` (a slice of
                the models, e.g. from `slice_weights`); None uses all S models' variables.

        Returns:
            The template's output structure with every tensor stacked `[S', B, ...]`.
        """
        weights = list(self.variables if weights is None else weights)
        num_models = int(weights[0].shape[0])
        if inputs.shape[0] is not None and inputs.shape[0] != num_models:
            raise ValueError(
                f"stacked inputs must have leading axis S={num_models}, got {inputs.shape}"
            )
        by_layer = {key: weights[start:stop] for key, (start, stop) in self._positions.items()}
        outputs = self.template._run_through_graph(
            inputs, operation_fn=lambda layer: self._stacked_layer(layer, by_layer, num_models)
        )
        return tf.nest.map_structure(lambda x: _to_stacked(x, num_models), outputs)

    def slice_weights(self, start: int, stop: int) -> list[tf.Tensor]:
        """Models `start..stop-1`'s weights, `[stop - start, ...]` each, in `variables` order."""
        return [variable[start:stop] for variable in self.variables]

    def _stacked_layer(self, layer, by_layer: dict, s: int):
        weights = by_layer[id(layer)]
        if isinstance(layer, layers.Conv2D):
            return lambda x, **_: _conv(layer, weights, _to_grouped(x, s), s)
        if isinstance(layer, layers.Conv2DTranspose):
            return lambda x, **_: _conv_transpose(layer, weights, _to_grouped(x, s), s)
        if isinstance(layer, layers.Dense):
            return lambda x, **_: _dense(layer, weights, _to_stacked(x, s))
        if isinstance(layer, layers.Flatten):
            return lambda x, **_: _reshape_per_model(_to_stacked(x, s), [-1])
        if isinstance(layer, layers.Reshape):
            return lambda x, **_: _reshape_per_model(_to_stacked(x, s), list(layer.target_shape))
        # Elementwise: the layout does not matter. Keras passes masks and flags we do not need.

        def elementwise(x, **_):
            if isinstance(x, _Grouped):
                return _Grouped(layer(x.tensor), x.channels)
            return layer(x)

        return elementwise

    def assign_to(self, models: Sequence[keras.Model]) -> None:
        """Copies slice s of every weight into `models[s]` (same architecture)."""
        for position, layer in enumerate(self.template.layers):
            for w, variable in enumerate(self._weights[id(layer)]):
                values = variable.numpy()
                for s, model in enumerate(models):
                    model.layers[position].weights[w].assign(values[s])

    def assign_from(self, models: Sequence[keras.Model]) -> None:
        """Sets slice s of every weight from `models[s]`."""
        for position, layer in enumerate(self.template.layers):
            for w, variable in enumerate(self._weights[id(layer)]):
                variable.assign(np.stack([m.layers[position].weights[w].numpy() for m in models]))


def _architecture(model: keras.Model) -> list:
    """Layer classes and configurations without names (what must agree to stack)."""
    described = []
    for layer in model.layers:
        config = {k: v for k, v in layer.get_config().items() if k != "name"}
        shapes = [tuple(w.shape) for w in layer.weights]
        if isinstance(layer, layers.Lambda):
            config = {"function": layer.function.__code__.co_code}
        described.append((type(layer).__name__, repr(sorted(config.items())), shapes))
    return described


def _check_supported(layer) -> None:
    if isinstance(layer, layers.InputLayer | layers.Flatten | layers.Reshape | layers.Dense):
        return
    if isinstance(layer, ELEMENTWISE_LAYERS):
        return
    if isinstance(layer, layers.Conv2D | layers.Conv2DTranspose):
        if layer.data_format != "channels_last" or tuple(layer.dilation_rate) != (1, 1):
            raise ValueError(f"cannot stack {layer.name}: needs channels_last without dilation")
        if getattr(layer, "groups", 1) != 1:
            raise ValueError(f"cannot stack {layer.name}: it is already a grouped convolution")
        if isinstance(layer, layers.Conv2DTranspose) and layer.output_padding is not None:
            raise ValueError(f"cannot stack {layer.name}: output_padding is not supported")
        return
    raise ValueError(
        f"cannot stack layer {layer.name} of type {type(layer).__name__}; stacked training "
        "supports Conv2D, Conv2DTranspose, Dense, Flatten, Reshape and elementwise layers"
    )


def _grouped_bias(layer, bias: keras.Variable) -> tf.Tensor:
    # [S, F] -> [S * F], model-major like the grouped channels.
    return tf.cast(tf.reshape(bias, [-1]), layer.compute_dtype)


def _conv(layer, weights, x: _Grouped, num_models: int) -> _Grouped:
    # Weights stay float32 and compute in the layer's dtype, as Keras mixed precision does.
    kernel = tf.cast(weights[0], layer.compute_dtype)  # [S, kh, kw, C, F]
    kh, kw, c, f = (int(d) for d in kernel.shape[1:])
    filters = tf.reshape(tf.transpose(kernel, [1, 2, 3, 0, 4]), [kh, kw, c, num_models * f])
    inputs = tf.cast(x.tensor, layer.compute_dtype)
    y = tf.nn.conv2d(inputs, filters, layer.strides, layer.padding.upper())
    if layer.use_bias:
        # bias_add, not +: grappler fuses Conv + BiasAdd + ReLU, and BiasAddGrad is one op.
        y = tf.nn.bias_add(y, _grouped_bias(layer, weights[1]))
    return _Grouped(layer.activation(y), f)


def _conv_transpose(layer, weights, x: _Grouped, num_models: int) -> _Grouped:
    kernel = tf.cast(weights[0], layer.compute_dtype)  # [S, kh, kw, F_out, C_in]
    kh, kw, f, c = (int(d) for d in kernel.shape[1:])
    filters = tf.reshape(tf.transpose(kernel, [1, 2, 3, 0, 4]), [kh, kw, f, num_models * c])
    height, width = (int(d) for d in layer.output.shape[1:3])
    # A static output shape where the batch is known lets the kernel pick its plan ahead.
    batch = x.tensor.shape[0] if x.tensor.shape[0] is not None else tf.shape(x.tensor)[0]
    y = tf.nn.conv2d_transpose(
        tf.cast(x.tensor, layer.compute_dtype),
        filters,
        [batch, height, width, num_models * f],
        layer.strides,
        layer.padding.upper(),
    )
    if layer.use_bias:
        # bias_add, not +: grappler fuses Conv + BiasAdd + ReLU, and BiasAddGrad is one op.
        y = tf.nn.bias_add(y, _grouped_bias(layer, weights[1]))
    return _Grouped(layer.activation(y), f)


def _dense(layer, weights, x: tf.Tensor) -> tf.Tensor:
    if x.shape.rank != 3:
        raise ValueError(f"stacked Dense {layer.name} needs [S, B, features], got {x.shape}")
    dtype = layer.compute_dtype
    y = tf.einsum("sbi,sio->sbo", tf.cast(x, dtype), tf.cast(weights[0], dtype))
    if layer.use_bias:
        y = y + tf.cast(weights[1], dtype)[:, None, :]
    return layer.activation(y)


def _reshape_per_model(x: tf.Tensor, target: list[int]) -> tf.Tensor:
    """Reshapes each model's `[B, ...]` to `[B, *target]`; static sizes kept where known."""
    if target == [-1]:
        target = [int(np.prod(x.shape[2:]))]
    batch = x.shape[1] if x.shape[1] is not None else tf.shape(x)[1]
    return tf.reshape(x, [x.shape[0], batch, *target])
