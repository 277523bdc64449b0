"""Activation functions (``keras.activations``) on NumPy arrays.

Each function runs the same C++ kernel the layers use and returns float32.
Layers take an activation as a string (``"relu"``), one of these functions,
or ``None`` (linear); :func:`get` resolves any of them to the kernel name.

Keras 3 defaults are kept: ``"gelu"`` is the exact (erf) form
(``approximate=False``), ``leaky_relu`` has ``negative_slope=0.2`` and ``elu``
``alpha=1.0``; the layers ``fastnn.layers.LeakyReLU(negative_slope)`` and
``ELU(alpha)`` train with other values. ``relu`` takes Keras 3's
``negative_slope``, ``max_value`` and ``threshold`` (the layer
``fastnn.layers.ReLU`` trains with them), ``relu6`` is ``relu(x, max_value=6)``.
``celu`` (``alpha``), ``soft_shrink`` and ``hard_shrink`` (``threshold``) and
``squareplus`` (``b``) take Keras's parameters on arrays; by name, a layer uses
Keras's defaults (1.0, 0.5, 0.5, 4). ``softmax`` and ``log_softmax`` take
any axis, as Keras's (a layer applies them over the last).
"""

from __future__ import annotations

import math
from typing import Callable, Union

from fastnn import _absent
from fastnn import ops as _ops

__all__ = [
    "celu",
    "deserialize",
    "elu",
    "exponential",
    "gelu",
    "get",
    "hard_shrink",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "leaky_relu",
    "linear",
    "log_sigmoid",
    "log_softmax",
    "mish",
    "relu",
    "relu6",
    "selu",
    "serialize",
    "sigmoid",
    "silu",
    "soft_shrink",
    "softmax",
    "softplus",
    "softsign",
    "sparse_plus",
    "sparse_sigmoid",
    "squareplus",
    "swish",
    "tanh",
    "tanh_shrink",
]


def linear(x):
    """Identity: ``x`` as float32."""
    return _ops.activation(x, "linear")


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Rectified linear unit, ``max(x, 0)`` with Keras 3's defaults.

    With the parameters, as ``keras.activations.relu`` computes it:
    ``min(x, max_value)`` for ``x > threshold``, else
    ``negative_slope * (x - threshold)``.

    Args:
        negative_slope: the slope below the threshold, a finite float >= 0.
            Defaults to `0.0`.
        max_value: the cap, a float >= 0, or `None` (no cap). Defaults to
            `None`.
        threshold: a finite float; a negative one computes as Keras's
            function does (``x`` for ``x > threshold``, so values between
            the threshold and 0 pass, unless `max_value` clips to
            ``[0, max_value]``). Defaults to `0.0`.

    Raises:
        ValueError: a negative slope or cap, or a non-finite argument
            (Keras's function computes with negative slopes and caps; its
            `ReLU` layer refuses them, and a negative threshold).

    >>> relu([-10.0, -5.0, 0.0, 5.0, 10.0], max_value=5.0)
    array([0., 0., 0., 5., 5.], dtype=float32)
    """
    limit = None if threshold is None else _float(threshold, "threshold")
    if limit is not None and -math.inf < limit < 0.0:
        relu_kernel(negative_slope, max_value, 0.0)  # the checks of the slope and the cap
        slope = _float(negative_slope, "negative_slope")
        cap = None if max_value is None else _float(max_value, "max_value")
        return _relu_below_zero(x, slope, cap, limit)
    kernel, param = relu_kernel(negative_slope, max_value, threshold)
    return _ops.activation(x, kernel, param)


def _relu_below_zero(x, slope: float, cap, threshold: float):
    """Keras's ``relu`` with a negative `threshold` (which the C++ kernel,
    made for the ReLU layer, does not take), in float32 as Keras's
    ``static_call``: ``x`` where ``x > threshold`` else 0, clipped to
    ``[0, cap]`` when there is a cap, minus ``slope * relu(threshold - x)``."""
    import numpy as np

    x = np.asarray(_ops.activation(x, "linear"), dtype=np.float32)  # float32, as the kernels
    t = np.float32(threshold)
    y = np.where(x > t, x, np.float32(0.0))
    if cap is not None:
        y = np.clip(y, np.float32(0.0), np.float32(cap))
    if slope != 0.0:
        y = y - np.float32(slope) * np.maximum(t - x, np.float32(0.0))
    return np.asarray(y, dtype=np.float32)


def relu6(x):
    """``min(max(x, 0), 6)`` (Keras 3's ``relu6``)."""
    return _ops.activation(x, *relu_kernel(0.0, 6.0, 0.0))


def relu_kernel(negative_slope=0.0, max_value=None, threshold=0.0):
    """The C++ kernel and its parameter for ``relu(x, negative_slope,
    max_value, threshold)``: ``("relu", None)`` for the defaults,
    ``("leaky_relu", slope)`` for a slope alone (what Keras computes then),
    else ``("relu_clipped", (slope, max_value or None, threshold))``.

    Raises:
        ValueError: in Keras's words (keras.layers.ReLU) for a negative or
            missing argument; also for a non-finite slope or threshold and a
            NaN cap.
    """
    cap = None if max_value is None else _float(max_value, "max_value")
    if cap is not None and not cap >= 0.0:
        raise ValueError(
            f"max_value of a ReLU layer cannot be a negative value. Received: max_value={max_value}"
        )
    slope = None if negative_slope is None else _float(negative_slope, "negative_slope")
    if slope is None or not 0.0 <= slope < math.inf:
        raise ValueError(
            "negative_slope of a ReLU layer cannot be None or a negative value. "
            f"Received: negative_slope={negative_slope}"
        )
    limit = None if threshold is None else _float(threshold, "threshold")
    if limit is None or not 0.0 <= limit < math.inf:
        raise ValueError(
            "threshold of a ReLU layer cannot be None or a negative value. "
            f"Received: threshold={threshold}"
        )
    if cap == math.inf:
        cap = None
    if cap is None and limit == 0.0:
        return ("relu", None) if slope == 0.0 else ("leaky_relu", slope)
    return "relu_clipped", (slope, cap, limit)


def sigmoid(x):
    """``1 / (1 + exp(-x))``, stable for any ``x``."""
    return _ops.activation(x, "sigmoid")


def tanh(x):
    """Hyperbolic tangent."""
    return _ops.activation(x, "tanh")


def softmax(x, axis=-1):
    """``exp(x - max) / sum(exp(x - max))`` over `axis` (an int, a tuple
    taken together, or None for all), in float32.

    Args:
        axis: the axis to normalize over, as ``keras.activations.softmax``.
            Defaults to `-1` (the C++ kernel; other axes compute as
            ``fastnn.ops.softmax``).
    """
    return _over_axis(x, "softmax", axis)


def _over_axis(x, kernel: str, axis):
    """The row-wise `kernel` (softmax, log_softmax) of `x` over `axis`: the
    C++ kernel for the last axis, `fastnn.ops`'s function for others."""
    import numpy as np

    x = _ops.activation(x, "linear")  # float32, as every function here
    if axis == -1 or (isinstance(axis, int) and x.ndim and axis == x.ndim - 1):
        return _ops.activation(x, kernel)
    function = _ops.softmax if kernel == "softmax" else _ops.log_softmax
    return np.asarray(function(x, axis=axis), dtype=np.float32)


def leaky_relu(x, negative_slope=0.2):
    """``x`` if ``x > 0`` else ``negative_slope * x``.

    Args:
        negative_slope: a finite float. Defaults to `0.2`.
    """
    return _ops.activation(x, "leaky_relu", _float(negative_slope, "negative_slope"))


def elu(x, alpha=1.0):
    """``x`` if ``x > 0`` else ``alpha * (exp(x) - 1)``.

    Args:
        alpha: a finite float >= 0. Defaults to `1.0`.
    """
    return _ops.activation(x, "elu", _float(alpha, "alpha"))


def _float(value, name: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a float, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be a float, got {value!r}") from None


def selu(x):
    """Scaled ELU with Keras's constants (alpha 1.67326324, scale 1.05070098)."""
    return _ops.activation(x, "selu")


def gelu(x, approximate=False):
    """Gaussian error linear unit; ``approximate=True`` uses the tanh form.

    Defaults to the exact form, ``0.5 x (1 + erf(x / sqrt(2)))``, as Keras 3.
    """
    return _ops.activation(x, "gelu" if approximate else "gelu_exact")


def silu(x):
    """``x * sigmoid(x)`` (a.k.a. swish)."""
    return _ops.activation(x, "silu")


swish = silu


def softplus(x):
    """``log(1 + exp(x))``, stable for any ``x``."""
    return _ops.activation(x, "softplus")


def softsign(x):
    """``x / (1 + |x|)``."""
    return _ops.activation(x, "softsign")


def hard_sigmoid(x):
    """``clip(x / 6 + 1/2, 0, 1)`` (Keras 3)."""
    return _ops.activation(x, "hard_sigmoid")


def exponential(x):
    """``exp(x)``."""
    return _ops.activation(x, "exponential")


def mish(x):
    """``x * tanh(softplus(x))`` (Misra, 2019; Keras 3's ``mish``)."""
    return _ops.activation(x, "mish")


def hard_silu(x):
    """``x * hard_sigmoid(x)`` (a.k.a. hard swish; Keras 3's ``hard_silu``)."""
    return _ops.activation(x, "hard_silu")


hard_swish = hard_silu


def celu(x, alpha=1.0):
    """``x`` if ``x >= 0`` else ``alpha * (exp(x / alpha) - 1)`` (Keras 3's ``celu``).

    Args:
        alpha: a finite nonzero float. Defaults to `1.0`.
    """
    return _ops.activation(x, "celu", _float(alpha, "alpha"))


def hard_tanh(x):
    """``clip(x, -1, 1)`` (Keras 3's ``hard_tanh``)."""
    return _ops.activation(x, "hard_tanh")


def log_sigmoid(x):
    """``log(sigmoid(x)) = -softplus(-x)``, stable for any ``x``."""
    return _ops.activation(x, "log_sigmoid")


def soft_shrink(x, threshold=0.5):
    """``x - threshold`` above `threshold`, ``x + threshold`` below
    ``-threshold``, 0 between (both ends included).

    Args:
        threshold: a finite float >= 0. Defaults to `0.5`.
    """
    return _ops.activation(x, "soft_shrink", _float(threshold, "threshold"))


def hard_shrink(x, threshold=0.5):
    """``x`` where ``|x| > threshold``, else 0.

    Args:
        threshold: a finite float. Defaults to `0.5`.
    """
    return _ops.activation(x, "hard_shrink", _float(threshold, "threshold"))


def tanh_shrink(x):
    """``x - tanh(x)``, accurate near 0 (where the float32 subtraction cancels)."""
    return _ops.activation(x, "tanh_shrink")


def squareplus(x, b=4):
    """``(x + sqrt(x**2 + b)) / 2`` (Ramachandran et al., 2021), computed
    without cancellation as ``x -> -inf``.

    Args:
        b: the smoothness, a finite float >= 0. Defaults to `4`.
    """
    return _ops.activation(x, "squareplus", _float(b, "b"))


def sparse_plus(x):
    """0 for ``x <= -1``, ``(x + 1)**2 / 4`` for ``-1 < x < 1``, ``x`` for ``x >= 1``."""
    return _ops.activation(x, "sparse_plus")


def sparse_sigmoid(x):
    """0 for ``x <= -1``, ``(x + 1) / 2`` for ``-1 < x < 1``, 1 for ``x >= 1``."""
    return _ops.activation(x, "sparse_sigmoid")


def log_softmax(x, axis=-1):
    """``x - max - log(sum(exp(x - max)))`` over `axis` (as `softmax`)."""
    return _over_axis(x, "log_softmax", axis)


# Keras id -> C++ kernel name.
_KERNELS = {
    "linear": "linear",
    "relu": "relu",
    "relu6": "relu_clipped",
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "softmax": "softmax",
    "leaky_relu": "leaky_relu",
    "elu": "elu",
    "selu": "selu",
    "gelu": "gelu_exact",
    "gelu_approximate": "gelu",
    "silu": "silu",
    "swish": "silu",
    "softplus": "softplus",
    "softsign": "softsign",
    "hard_sigmoid": "hard_sigmoid",
    "exponential": "exponential",
    "mish": "mish",
    "hard_silu": "hard_silu",
    "hard_swish": "hard_silu",
    "celu": "celu",
    "hard_tanh": "hard_tanh",
    "log_sigmoid": "log_sigmoid",
    "soft_shrink": "soft_shrink",
    "hard_shrink": "hard_shrink",
    "tanh_shrink": "tanh_shrink",
    "squareplus": "squareplus",
    "sparse_plus": "sparse_plus",
    "sparse_sigmoid": "sparse_sigmoid",
    "log_softmax": "log_softmax",
}
_FUNCTIONS = {
    linear: "linear",
    relu: "relu",
    relu6: "relu6",
    sigmoid: "sigmoid",
    tanh: "tanh",
    softmax: "softmax",
    leaky_relu: "leaky_relu",
    elu: "elu",
    selu: "selu",
    gelu: "gelu",
    silu: "silu",
    softplus: "softplus",
    softsign: "softsign",
    hard_sigmoid: "hard_sigmoid",
    exponential: "exponential",
    mish: "mish",
    hard_silu: "hard_silu",
    celu: "celu",
    hard_tanh: "hard_tanh",
    log_sigmoid: "log_sigmoid",
    soft_shrink: "soft_shrink",
    hard_shrink: "hard_shrink",
    tanh_shrink: "tanh_shrink",
    squareplus: "squareplus",
    sparse_plus: "sparse_plus",
    sparse_sigmoid: "sparse_sigmoid",
    log_softmax: "log_softmax",
}
_BY_NAME = {name: function for function, name in _FUNCTIONS.items()}


def _unknown_activation_message(name: str) -> str:
    """Why `name` is no activation here: a Keras 3.15 activation fastnn's
    engine does not compute yet (said so, not taken for a typo), or an
    unknown name; both list what fastnn supports."""
    supported = "None or one of: " + ", ".join(sorted(_KERNELS))
    from fastnn import _absent

    found = _absent.explanation("fastnn.activations", name)
    if found is not None:
        return (
            f"Unknown activation {name!r}: keras.activations.{name} is a Keras 3 activation "
            f"that fastnn does not support yet ({found[1]}). Supported: {supported}"
        )
    return f"Unknown activation {name!r}; expected {supported}"


def _keras_name(identifier: Union[str, Callable, dict, None]) -> str:
    if identifier is None:
        return "linear"
    if isinstance(identifier, dict):  # a serialized function, as Keras writes one
        identifier = deserialize(identifier)
    if isinstance(identifier, str):
        if identifier not in _KERNELS:
            raise ValueError(_unknown_activation_message(identifier))
        # Keras 3's names for both
        return {"swish": "silu", "hard_swish": "hard_silu"}.get(identifier, identifier)
    if callable(identifier) and identifier in _FUNCTIONS:
        return _FUNCTIONS[identifier]
    message = (
        "activation must be None, a string, a function of fastnn.activations or its "
        f"serialized dict, got {identifier!r}"
    )
    if callable(identifier):  # a Python function: refused as Python losses and layers are
        raise _PythonActivationRefused(
            message + ": the engine computes each activation and its gradient in C++, and "
            "fastnn has no automatic differentiation of Python code. Use a built-in activation "
            "(its name, e.g. 'gelu', or an activation layer such as LeakyReLU(0.2))"
        )
    raise TypeError(message)


class _PythonActivationRefused(NotImplementedError, TypeError):
    """A Python function as an activation: NotImplementedError, as fastnn's
    other refusals of Python code it would have to differentiate (a custom
    layer, a Python loss, ``add_loss``), and the TypeError this check raised
    before."""


def kernel_name(identifier: Union[str, Callable, None]) -> str:
    """Resolves an activation to the name of its C++ kernel.

    Args:
        identifier: ``None`` (linear), a Keras string id, or a function of
            this module.

    Returns:
        The kernel name (``"gelu"`` resolves to ``"gelu_exact"``).

    Raises:
        ValueError: for an unknown name. TypeError: for another object.
    """
    return _KERNELS[_keras_name(identifier)]


def get(identifier):
    """Keras's ``activations.get``: the activation function for `identifier`.

    Args:
        identifier: ``None`` (``linear``), a Keras string id (``"relu"``,
            ``"swish"``, ...), a serialized function (a dict, as Keras saves
            it), or a callable (returned as it is).

    Raises:
        ValueError: an unknown name, or an identifier of another kind.
    """
    if identifier is None:
        return linear
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return _BY_NAME[_keras_name(identifier)]
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation function identifier: {identifier}")


def deserialize(config, custom_objects=None):
    """Keras's ``activations.deserialize``: the function named by `config`
    (a string id, or Keras's dict of a serialized function), looked up in
    `custom_objects` first."""
    name = config
    if isinstance(config, dict):
        name = config.get("config", config.get("class_name"))
    if not isinstance(name, str):
        raise ValueError(f"Could not interpret activation function identifier: {config}")
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    return _BY_NAME[_keras_name(name)]


def spec(identifier: Union[str, Callable, None]) -> dict:
    """The activation's part of a layer spec: the kernel name, plus the
    parameters of ``"relu6"`` (the C++ relu_clipped with max_value 6)."""
    name = _keras_name(identifier)
    if name == "relu6":
        return {
            "activation": "relu_clipped",
            "activation_param": 0.0,
            "activation_max_value": 6.0,
            "activation_threshold": 0.0,
        }
    return {"activation": _KERNELS[name]}


class NamedActivation(str):
    """What ``layer.activation`` holds: the Keras name (it is that string, so
    configs and comparisons see "relu") that is also callable as the
    function of this module, with its ``__name__``, as Keras's layers hold
    the function itself (``layer.activation.__name__``, ``layer.activation(x)``)."""

    @property
    def __name__(self) -> str:  # noqa: PLW3201 (Keras's function attribute)
        return str(self)

    def __call__(self, x, *args, **kwargs):
        return globals()[str(self)](x, *args, **kwargs)


def named(identifier: Union[str, Callable, None]) -> NamedActivation:
    """`serialize`'s name as a `NamedActivation`."""
    return NamedActivation(serialize(identifier))


def serialize(identifier: Union[str, Callable, None]) -> str:
    """The Keras string id of an activation (``None`` -> ``"linear"``)."""
    return _keras_name(identifier)


# Keras's names this module lacks say what they are and why (fastnn._absent).
__getattr__ = _absent.module_getattr(__name__)
