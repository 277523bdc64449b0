"""Keras's functional API for the networks fastnn runs: a single chain of
layers from one `Input` to one output.

    inputs = fastnn.Input(shape=(784,))
    x = layers.Dense(64, activation="relu")(inputs)
    outputs = layers.Dense(10, activation="softmax")(x)
    model = fastnn.Model(inputs=inputs, outputs=outputs, name="mnist_model")

Calling a layer on `Input(...)` (or on what such a call returned) gives a
`SymbolicTensor`: the per-sample shape and the layer that produced it, checked
as the layer is called (e.g. Dense on images says to add Flatten), as Keras's
KerasTensor is. `Model(inputs, outputs)` follows the calls back from
`outputs` to `inputs` and builds the chain as a Sequential model, which is
what it is to the C++ engine; a model called on a symbolic tensor calls its
layers in turn, and layers of another model keep sharing their weights with
it (``Model(inputs=model.inputs, outputs=model.layers[-2].output)``). Graphs
that are not one chain (several inputs or outputs, merges, a layer used twice
in one model) raise ValueError naming what fastnn supports.
"""

from __future__ import annotations

from typing import List, Tuple


class SymbolicTensor:
    """The output of a layer called on `Input(...)`: its shape
    ``(None, *per_sample)`` and dtype, and the call that produced it."""

    def __init__(self, per_sample: Tuple[int, ...], layer, parent):
        self._called_models = ()  # the models called on the way here (Model(...) nests them)
        self._per_sample = tuple(per_sample)
        self._layer = layer
        self._parent = parent  # a SymbolicTensor or the InputLayer

    @property
    def shape(self) -> Tuple:
        return (None, *self._per_sample)

    @property
    def dtype(self) -> str:
        return "float32"

    @property
    def ndim(self) -> int:
        return 1 + len(self._per_sample)

    def __repr__(self) -> str:
        return f"<SymbolicTensor shape={self.shape}, dtype=float32, from={self._layer.name}>"


def _per_sample_shape(inputs) -> Tuple[int, ...]:
    from fastnn.layers import InputLayer

    if isinstance(inputs, SymbolicTensor):
        return inputs._per_sample
    if isinstance(inputs, InputLayer):
        return inputs._input_shape
    raise AssertionError(inputs)


def is_symbolic(value) -> bool:
    from fastnn.layers import InputLayer

    return isinstance(value, (SymbolicTensor, InputLayer))


def call_layer(layer, inputs, args: tuple, kwargs: dict) -> SymbolicTensor:
    """``layer(inputs)``: a SymbolicTensor when `inputs` is symbolic."""
    if isinstance(inputs, (list, tuple)) and len(inputs) == 1 and is_symbolic(inputs[0]):
        inputs = inputs[0]
    if not is_symbolic(inputs):
        if isinstance(inputs, (list, tuple)) and any(is_symbolic(i) for i in inputs):
            raise ValueError(
                f"Layer {layer.name!r} was called on {len(inputs)} inputs; fastnn's layers "
                "take one (models are a single chain of layers)"
            )
        kind = type(inputs).__name__
        raise TypeError(
            f"Layer {layer.name!r} was called on a {kind}: fastnn's layers are called on "
            "`fastnn.Input(shape=...)` (or on what such a call returned) to build a "
            "functional Model. To compute outputs, put the layer in a model and call "
            "`model.predict(x)` or `model(x)`."
        )
    from fastnn.layers import _custom_layer_message, _is_custom_layer

    if _is_custom_layer(layer):
        raise NotImplementedError(_custom_layer_message(layer))
    extra = set(kwargs) - {"training", "mask"}
    if args or extra:
        names = ", ".join(sorted(extra)) or f"{len(args)} positional argument(s)"
        raise TypeError(f"Layer {layer.name!r} called with unsupported argument(s): {names}")
    if kwargs.get("mask") is not None:
        raise ValueError(f"Layer {layer.name!r}: masks are not supported by fastnn")
    shape = _per_sample_shape(inputs)
    if layer._input_shape is not None and tuple(layer._input_shape) != tuple(shape):
        raise ValueError(
            f"Layer {layer.name!r} was given input_shape={layer._input_shape} but is called "
            f"on an input of shape {(None, *shape)}"
        )
    output = SymbolicTensor(layer._sample_output_shape(shape), layer, inputs)
    output._called_models = getattr(inputs, "_called_models", ())  # models called on the way
    if "_call_output" not in layer.__dict__:  # Keras's layer.input/output: the first call's
        layer._call_input, layer._call_output = inputs, output
    return output


def _single(value, what: str):
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise ValueError(
                f"fastnn models have one input and one output; `{what}` holds {len(value)}"
            )
        value = value[0]
    return value


def chain(inputs, outputs) -> List:
    """The layers from `inputs` (an InputLayer) to `outputs`, in call order,
    the InputLayer first."""
    from fastnn.layers import InputLayer

    inputs = _single(inputs, "inputs")
    outputs = _single(outputs, "outputs")
    if not isinstance(inputs, InputLayer):
        raise ValueError(
            f"`inputs` must be the result of fastnn.Input(shape=...), got {type(inputs).__name__}"
        )
    if not isinstance(outputs, SymbolicTensor):
        if outputs is inputs:
            raise ValueError("`outputs` is the input itself: call at least one layer on it")
        raise ValueError(
            "`outputs` must be what calling a layer on the input returned, got "
            f"{type(outputs).__name__}"
        )
    layers = []
    node = outputs
    while isinstance(node, SymbolicTensor):
        layers.append(node._layer)
        node = node._parent
    if node is not inputs:
        raise ValueError(
            f"`outputs` {outputs!r} is not computed from `inputs` {inputs.name!r} (it comes "
            f"from the input {getattr(node, 'name', node)!r})"
        )
    layers.reverse()
    seen = set()
    for layer in layers:
        if id(layer) in seen:
            raise ValueError(
                f"Layer {layer.name!r} is used twice; fastnn models are a chain of distinct "
                "layers (no shared weights). Create a second layer instead."
            )
        seen.add(id(layer))
    return [inputs, *layers]
