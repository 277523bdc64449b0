"""Activation functions (``keras.activations``) on NumPy arrays.

Each function runs the same C++ kernel the layers use and returns float32.
Layers take an activation as a string (``"relu"``), one of these functions,
or ``None`` (linear); :func:`get` resolves any of them to the kernel name.

Keras 3 defaults are kept: ``"gelu"`` is the exact (erf) form
(``approximate=False``), ``leaky_relu`` has ``negative_slope=0.2`` and ``elu``
``alpha=1.0``; the layers ``fastnn.layers.LeakyReLU(negative_slope)`` and
``ELU(alpha)`` train with other values.
"""

from __future__ import annotations

from typing import Callable, Union

from fastnn import ops as _ops

__all__ = [
    "elu",
    "exponential",
    "gelu",
    "get",
    "hard_sigmoid",
    "leaky_relu",
    "linear",
    "relu",
    "selu",
    "serialize",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "softsign",
    "swish",
    "tanh",
]


def linear(x):
    """Identity: ``x`` as float32."""
    return _ops.activation(x, "linear")


def relu(x):
    """``max(x, 0)``."""
    return _ops.activation(x, "relu")


def sigmoid(x):
    """``1 / (1 + exp(-x))``, stable for any ``x``."""
    return _ops.activation(x, "sigmoid")


def tanh(x):
    """Hyperbolic tangent."""
    return _ops.activation(x, "tanh")


def softmax(x, axis=-1):
    """``exp(x - max) / sum(exp(x - max))`` over the last axis (only ``axis=-1``)."""
    if axis != -1:
        raise ValueError(f"softmax supports axis=-1 only, got axis={axis!r}")
    return _ops.activation(x, "softmax")


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


# Keras id -> C++ kernel name.
_KERNELS = {
    "linear": "linear",
    "relu": "relu",
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
}
_FUNCTIONS = {
    linear: "linear",
    relu: "relu",
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
}


def _keras_name(identifier: Union[str, Callable, None]) -> str:
    if identifier is None:
        return "linear"
    if isinstance(identifier, str):
        if identifier not in _KERNELS:
            raise ValueError(
                f"Unknown activation {identifier!r}; expected None or one of: "
                + ", ".join(sorted(_KERNELS))
            )
        return "silu" if identifier == "swish" else identifier  # Keras 3's name for both
    if callable(identifier) and identifier in _FUNCTIONS:
        return _FUNCTIONS[identifier]
    raise TypeError(
        f"activation must be None, a string or a function of fastnn.activations, got {identifier!r}"
    )


def get(identifier: Union[str, Callable, None]) -> str:
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
