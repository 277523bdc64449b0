"""Keras's functional API for the networks fastnn runs: a single chain of
layers from one `Input`, with one output or several along the chain.

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
it (``Model(inputs=model.inputs, outputs=model.layers[-2].output)``).
`outputs` may be a list, tuple or dict (nested as Keras allows) of tensors
that all lie on that one chain (Keras's feature extractor,
``outputs=[layer.output for layer in model.layers]``): the chain runs to the
furthest of them, and predict returns each one's values in that structure.
Graphs that are not one chain (several inputs, outputs on two branches,
merges, a layer used twice in one model) raise ValueError naming what fastnn
supports.
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
    from fastnn.layers import _custom_layer_message, _incompatible_width, _is_custom_layer

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
    error = _incompatible_width(layer, shape)
    if error is not None:
        raise error
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
            raise ValueError(f"fastnn models have one input; `{what}` holds {len(value)}")
        value = value[0]
    return value


def _keras_ordered(structure):
    """`structure` with its dicts in the order Keras 3.15's tree (torch
    backend, keras/src/tree/torchtree_impl.py _dict_to_ordered_dict) gives
    them: a plain dict's keys sorted, the containers inside lists and tuples
    ordered alike, but the values of a dict as they are (a dict directly in
    a dict keeps its own order)."""
    if type(structure) is dict:
        return {key: structure[key] for key in sorted(structure)}
    if isinstance(structure, tuple):
        return tuple(_keras_ordered(item) for item in structure)
    if isinstance(structure, list):
        return [_keras_ordered(item) for item in structure]
    return structure


def _flatten(structure, path: str = "") -> List[Tuple[str, object]]:
    if isinstance(structure, dict):
        items = list(structure.items())
    elif isinstance(structure, (list, tuple)):
        items = list(enumerate(structure))
    else:
        return [(path, structure)]
    flat = []
    for key, value in items:
        flat += _flatten(value, f"{path}, {key}" if path else f"{key}")
    return flat


def flatten_outputs(structure) -> List[Tuple[str, object]]:
    """``(path, leaf)`` of a list / tuple / dict structure, nested, in Keras's
    order (`_keras_ordered`: as Keras's `model.outputs`); `path` reads as
    Keras's ``Output with path `...` ``."""
    return _flatten(_keras_ordered(structure))


def pack_outputs(structure, values: list):
    """`values` (one per leaf of `structure`, in `flatten_outputs`' order)
    in the shape of `structure` as Keras's tree.pack_sequence_as makes it:
    lists as lists, tuples as tuples, dicts in `_keras_ordered`'s order."""
    values = iter(values)

    def pack(node):
        if isinstance(node, dict):
            return {key: pack(value) for key, value in node.items()}
        if isinstance(node, tuple):
            return tuple(pack(item) for item in node)
        if isinstance(node, list):
            return [pack(item) for item in node]
        return next(values)

    return pack(_keras_ordered(structure))


def map_outputs(structure, fn, is_leaf=None):
    """`structure` with `fn(leaf)` for each leaf, its lists, tuples and dicts
    (in their own key order) kept, as Keras's tree.map_structure; `is_leaf`
    may declare a container a leaf."""
    if is_leaf is not None and is_leaf(structure):
        return fn(structure)
    if isinstance(structure, dict):
        return {key: map_outputs(value, fn, is_leaf) for key, value in structure.items()}
    if isinstance(structure, tuple):
        return tuple(map_outputs(item, fn, is_leaf) for item in structure)
    if isinstance(structure, list):
        return [map_outputs(item, fn, is_leaf) for item in structure]
    return fn(structure)


def unpack_singleton(structure):
    """Keras's functional models return a list or tuple of one output as
    that output (keras/src/models/functional.py unpack_singleton)."""
    if isinstance(structure, (list, tuple)) and len(structure) == 1:
        return structure[0]
    return structure


def _path_from(inputs, leaf, where: str) -> list:
    """The layers from `inputs` to the output `leaf`, in call order (empty
    for the input itself)."""
    from fastnn.layers import InputLayer

    if leaf is inputs:
        return []
    if isinstance(leaf, InputLayer):
        raise ValueError(
            f"Output{where} is the input {leaf.name!r}, not `inputs` {inputs.name!r}: it is not "
            "connected to `inputs`"
        )
    if not isinstance(leaf, SymbolicTensor):
        raise ValueError(
            f"`outputs`{where} must be what calling a layer on the input returned (or the input), "
            f"got {type(leaf).__name__}"
        )
    path = []
    node = leaf
    while isinstance(node, SymbolicTensor):
        path.append(node._layer)
        node = node._parent
    if node is not inputs:
        raise ValueError(
            f"`outputs`{where} {leaf!r} is not computed from `inputs` {inputs.name!r} (it comes "
            f"from the input {getattr(node, 'name', node)!r})"
        )
    path.reverse()
    return path


def chain(inputs, outputs) -> Tuple[List, List[int]]:
    """The layers from `inputs` (an InputLayer) to the furthest of `outputs`,
    in call order, the InputLayer first; and per output (in
    `flatten_outputs`' order) its place on that chain: 0 for the input
    itself, ``i`` for the output of the chain's i-th layer.

    Raises:
        ValueError: several inputs, an output that is not on the chain (on
            another branch, from another input, not a tensor), a layer used
            twice.
    """
    from fastnn.layers import InputLayer

    inputs = _single(inputs, "inputs")
    if not isinstance(inputs, InputLayer):
        raise ValueError(
            f"`inputs` must be the result of fastnn.Input(shape=...), got {type(inputs).__name__}"
        )
    leaves = flatten_outputs(outputs)
    if not leaves:
        raise ValueError(f"`outputs` argument cannot be empty. Received: outputs={outputs!r}")
    several = len(leaves) > 1 or leaves[0][0] != ""
    paths = []
    for path, leaf in leaves:
        where = f" with path `{path}`" if several else ""
        paths.append(_path_from(inputs, leaf, where))
    longest = max(paths, key=len)
    for (path, leaf), layers in zip(leaves, paths):
        if any(a is not b for a, b in zip(layers, longest)):
            raise ValueError(
                f"Output with path `{path}` ({leaf!r}) is not on the chain of layers to the "
                f"furthest output ({longest[-1].name!r}): fastnn models are one chain of layers, "
                "so every output must be the input or the output of a layer on it (no branches)"
            )
    seen = set()
    for layer in longest:
        if id(layer) in seen:
            raise ValueError(
                f"Layer {layer.name!r} is used twice; fastnn models are a chain of distinct "
                "layers (no shared weights). Create a second layer instead."
            )
        seen.add(id(layer))
    return [inputs, *longest], [len(layers) for layers in paths]
