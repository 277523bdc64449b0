"""``model.export(path, format="onnx")``: the model's inference pass as an
ONNX graph, for ONNX Runtime and the other ONNX tools, as Keras 3's
`Model.export` writes one.

The graph computes what `predict` computes, layer by layer: the input
(``batch`` rows of the model's input shape, float32) is flattened to rows
as the engine flattens it, then Normalization and Rescaling, then each
layer the engine runs, in inference mode (Dropout and the noise layers are
the identity, BatchNormalization uses its moving statistics), then the
output is reshaped to the model's output shape. Dense is a `Gemm` (a
`MatMul` without a bias); each activation is its ONNX operator, or a few
elementary ones where ONNX has none (swish, log_sigmoid, tanh_shrink,
squareplus, sparse_plus, sparse_sigmoid, ReLU with a threshold). The
weights are the graph's initializers. ONNX opset 20, IR version 9.

Writing needs the `onnx` package (``pip install onnx``), as Keras's export
does; fastnn itself does not import it otherwise.
"""

from __future__ import annotations

import math
import os
import tempfile
from typing import Optional

import numpy as np

from fastnn.ops import _SELU_ALPHA, _SELU_SCALE

__all__ = ["export_onnx"]

_OPSET = 20  # Gelu (20), Mish (18), ReduceSumSquare with axes as an input (18)
_IR_VERSION = 9
_FORMATS = ("tf_saved_model", "onnx", "openvino", "litert", "torch")
# The engine's defaults of the parametrized activations (ops/activations.cpp).
_DEFAULT_PARAM = {
    "leaky_relu": 0.2,
    "elu": 1.0,
    "celu": 1.0,
    "soft_shrink": 0.5,
    "hard_shrink": 0.5,
    "squareplus": 4.0,
}


def check_format(format) -> None:
    """Keras's error for an unknown format; fastnn's for the ones it cannot write."""
    if format not in _FORMATS:
        raise ValueError(f"Unrecognized format={format}. Supported formats are: {list(_FORMATS)}.")
    if format != "onnx":
        raise ValueError(
            f"fastnn exports format='onnx' only: format={format!r} needs "
            f"{'TensorFlow' if format in ('tf_saved_model', 'litert') else 'another backend'}. "
            "Call model.export(filepath, format='onnx') and run the file with ONNX Runtime."
        )


class _Graph:
    """The nodes and initializers of the graph being written."""

    def __init__(self, helper, numpy_helper):
        self.helper = helper
        self.numpy_helper = numpy_helper
        self.nodes: list = []
        self.initializers: list = []
        self._count = 0

    def _name(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def const(self, values, stem: str = "const", dtype=np.float32) -> str:
        name = self._name(stem)
        array = np.ascontiguousarray(np.asarray(values, dtype=dtype))
        self.initializers.append(self.numpy_helper.from_array(array, name))
        return name

    def op(self, op_type: str, *inputs: str, stem: Optional[str] = None, **attributes) -> str:
        out = self._name(stem or op_type.lower())
        self.nodes.append(self.helper.make_node(op_type, list(inputs), [out], **attributes))
        return out


def _activation(g: _Graph, x: str, spec: dict, where: str) -> str:
    """`spec`'s activation (the engine's kind and parameters) applied to x."""
    kind = spec.get("activation", "linear")
    a = float(spec.get("activation_param", _DEFAULT_PARAM.get(kind, 0.0)))
    simple = {
        "relu": "Relu",
        "sigmoid": "Sigmoid",
        "tanh": "Tanh",
        "softplus": "Softplus",
        "softsign": "Softsign",
        "exponential": "Exp",
        "mish": "Mish",
        "hard_silu": "HardSwish",
    }
    if kind == "linear":
        return x
    if kind in simple:
        return g.op(simple[kind], x)
    if kind == "softmax":
        return g.op("Softmax", x, axis=-1)
    if kind == "log_softmax":
        return g.op("LogSoftmax", x, axis=-1)
    if kind == "leaky_relu":
        return g.op("LeakyRelu", x, alpha=a)
    if kind == "elu":
        return g.op("Elu", x, alpha=a)
    if kind == "celu":
        return g.op("Celu", x, alpha=a)
    if kind == "selu":
        return g.op("Selu", x, alpha=_SELU_ALPHA, gamma=_SELU_SCALE)
    if kind == "gelu":
        return g.op("Gelu", x, approximate="tanh")
    if kind == "gelu_exact":
        return g.op("Gelu", x, approximate="none")
    if kind == "silu":
        return g.op("Mul", x, g.op("Sigmoid", x))
    if kind == "hard_sigmoid":  # Keras 3: relu6(x + 3) / 6
        return g.op("HardSigmoid", x, alpha=1.0 / 6.0, beta=0.5)
    if kind == "hard_tanh":
        return g.op("Clip", x, g.const(-1.0), g.const(1.0))
    if kind == "log_sigmoid":
        return g.op("Neg", g.op("Softplus", g.op("Neg", x)))
    if kind == "soft_shrink":
        return g.op("Shrink", x, lambd=a, bias=a)
    if kind == "hard_shrink":
        return g.op("Shrink", x, lambd=a, bias=0.0)
    if kind == "tanh_shrink":
        return g.op("Sub", x, g.op("Tanh", x))
    if kind == "squareplus":  # (x + sqrt(x^2 + b)) / 2
        root = g.op("Sqrt", g.op("Add", g.op("Mul", x, x), g.const(a)))
        return g.op("Mul", g.op("Add", x, root), g.const(0.5))
    if kind == "sparse_plus":  # 0, (x + 1)^2 / 4, x
        shifted = g.op("Add", g.op("Clip", x, g.const(-1.0), g.const(1.0)), g.const(1.0))
        inside = g.op("Mul", g.op("Mul", shifted, shifted), g.const(0.25))
        return g.op("Where", g.op("GreaterOrEqual", x, g.const(1.0)), x, inside)
    if kind == "sparse_sigmoid":  # 0, (x + 1) / 2, 1
        half = g.op("Mul", g.const(0.5), g.op("Add", x, g.const(1.0)))
        return g.op("Clip", half, g.const(0.0), g.const(1.0))
    if kind == "relu_clipped":  # x > t ? min(x, max) : slope * (x - t) + 0
        t = float(spec.get("activation_threshold", 0.0))
        top = spec.get("activation_max_value")
        top = math.inf if top is None else float(top)
        above = g.op("Min", x, g.const(top))
        below = g.op(
            "Add", g.op("Mul", g.const(a), g.op("Sub", x, g.const(t))), g.const(0.0)
        )  # (+ 0: Keras's +0 below the threshold)
        return g.op("Where", g.op("Greater", x, g.const(t)), above, below)
    raise NotImplementedError(f"{where}: fastnn cannot export the activation {kind!r} to ONNX")


def _batch_norm(g: _Graph, x: str, layer, spec: dict) -> str:
    """The engine's inference formula: (x - mean) * (gamma / sqrt(var + eps)) + beta."""
    weights = layer.get_weights()
    gamma = weights.pop(0) if spec.get("scale", True) else None
    beta = weights.pop(0) if spec.get("center", True) else None
    mean, variance = (np.asarray(w, np.float32) for w in weights[-2:])
    eps = np.float32(spec["epsilon"])
    inv = np.float32(1.0) / np.sqrt(variance + eps)
    factor = inv * np.asarray(gamma, np.float32) if gamma is not None else inv
    y = g.op("Mul", g.op("Sub", x, g.const(mean)), g.const(factor))
    return g.op("Add", y, g.const(beta)) if beta is not None else y


def _layer_norm(g: _Graph, x: str, layer, spec: dict, width: int) -> str:
    weights = layer.get_weights()
    gamma = weights.pop(0) if spec.get("scale", True) else np.ones(width, np.float32)
    inputs = [x, g.const(gamma)]
    if spec.get("center", True):
        inputs.append(g.const(weights.pop(0)))
    return g.op("LayerNormalization", *inputs, axis=-1, epsilon=float(spec["epsilon"]))


def _unit_norm(g: _Graph, x: str) -> str:
    """x * min(1 / |x|_2, 1e12) per row (a zero row stays zero)."""
    squares = g.op("ReduceSumSquare", x, g.const([1], dtype=np.int64), keepdims=1)
    inverse = g.op("Reciprocal", g.op("Sqrt", squares))
    return g.op("Mul", x, g.op("Min", inverse, g.const(1e12)))


def _normalizer(g: _Graph, x: str, layer, width: int) -> str:
    """A Normalization or Rescaling layer on the flat rows, as `_normalize`."""
    from fastnn.layers import Normalization

    if isinstance(layer, Normalization):
        stats = layer._statistics()
        if stats is None:
            return x
        mean, variance = (np.asarray(s, np.float32).reshape(-1) for s in stats)
        scale = np.maximum(np.sqrt(variance), np.float32(1e-7))
        if layer.invert:
            return g.op("Add", g.op("Mul", x, g.const(scale)), g.const(mean))
        return g.op("Div", g.op("Sub", x, g.const(mean)), g.const(scale))
    scale, offset = layer._flat_factors.get(width, layer._factors)
    y = g.op("Mul", x, g.const(np.asarray(scale, np.float32)))
    return g.op("Add", y, g.const(np.asarray(offset, np.float32)))


def _input_name(model) -> str:
    try:
        name = model.inputs[0].name
    except (AttributeError, IndexError, TypeError, ValueError):
        name = None
    return str(name) if name else "input"


def _graph_nodes(model, g: _Graph, x: str) -> str:
    """The nodes from the flat input rows `x` to the output rows."""
    from fastnn import layers as _layers

    width = math.prod(model._input_shape)
    for layer in model._normalizers:
        x = _normalizer(g, x, layer, width)
    for layer in model._spec_layers:
        where = f"layer {layer.name!r} ({type(layer).__name__})"
        if isinstance(layer, _layers._RandomLayer):
            continue  # the identity in inference
        spec = layer._spec((width,))
        kind = spec["type"]
        if kind == "dense":
            weights = layer.get_weights()
            kernel = g.const(weights[0], "kernel")
            if len(weights) > 1:
                x = g.op("Gemm", x, kernel, g.const(weights[1], "bias"))
            else:
                x = g.op("MatMul", x, kernel)
            x = _activation(g, x, spec, where)
            width = int(weights[0].shape[1])
        elif kind == "activation":
            x = _activation(g, x, spec, where)
        elif kind == "batch_norm":
            x = _batch_norm(g, x, layer, spec)
        elif kind == "layer_norm":
            x = _layer_norm(g, x, layer, spec, width)
        elif kind == "prelu":
            x = g.op("PRelu", x, g.const(layer.get_weights()[0], "alpha"))
        elif kind == "unit_norm":
            x = _unit_norm(g, x)
        elif kind == "activity_regularization":
            continue  # the identity (its penalty is a training loss)
        else:
            raise NotImplementedError(f"{where}: fastnn cannot export it to ONNX")
    return x


def export_onnx(model, filepath, verbose=None, input_signature=None, opset_version=None) -> None:
    """Writes `model`'s inference pass to `filepath` as an ONNX model (see
    the module's docstring); the file is replaced atomically. Prints Keras's
    "Saved artifact at ..." unless `verbose` is False."""
    if input_signature is not None:
        raise ValueError(
            "fastnn's ONNX export takes the model's own input shape: pass input_signature=None "
            f"(got {input_signature!r:.80})"
        )
    if opset_version is None:
        opset_version = _OPSET
    if isinstance(opset_version, bool) or not isinstance(opset_version, int):
        raise ValueError(f"opset_version must be an integer, got {opset_version!r}")
    if opset_version < _OPSET:
        raise ValueError(
            f"fastnn writes ONNX opset {_OPSET} or newer (Gelu, Mish); got opset_version="
            f"{opset_version}"
        )
    if model._net is None or model._input_shape is None:
        raise ValueError(
            f"The model {model.name!r} is not built yet: give it an Input(shape=...), call "
            "build() or call it on data before exporting it"
        )
    if model._output_structure is not None:
        raise NotImplementedError(
            f"model {model.name!r} has several outputs; fastnn exports models with one output"
        )
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        raise ImportError(
            "model.export(format='onnx') needs the onnx package: pip install onnx"
        ) from None

    g = _Graph(helper, numpy_helper)
    name = _input_name(model)
    input_shape = tuple(int(d) for d in model._input_shape)
    x = name
    if len(input_shape) != 1:
        x = g.op("Flatten", x, axis=1)
    x = _graph_nodes(model, g, x)
    output_shape = tuple(int(d) for d in model._output_shape)
    if len(output_shape) != 1:
        x = g.op("Reshape", x, g.const([-1, *output_shape], dtype=np.int64))
    g.nodes.append(helper.make_node("Identity", [x], ["output_0"]))
    graph = helper.make_graph(
        g.nodes,
        model.name,
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", *input_shape])],
        [helper.make_tensor_value_info("output_0", TensorProto.FLOAT, ["batch", *output_shape])],
        initializer=g.initializers,
    )
    proto = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", opset_version)],
        producer_name="fastnn",
    )
    proto.ir_version = _IR_VERSION
    onnx.checker.check_model(proto)
    _write_atomically(os.fspath(filepath), proto.SerializeToString())
    if verbose is None or verbose:
        print(f"Saved artifact at '{os.fspath(filepath)}'.")


def _write_atomically(path: str, data: bytes) -> None:
    """`data` to `path` through a temporary file in the same folder and a
    rename: an interrupted export leaves the previous file."""
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".fastnn-export-", suffix=".onnx")
    try:
        with os.fdopen(handle, "wb") as f:
            f.write(data)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
