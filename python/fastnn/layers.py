"""Layers (``keras.layers``) for :class:`fastnn.models.Sequential`.

A layer describes its part of the network; the model compiles the whole list
into one C++ ``Network``. Once the model is built, a layer's weights are NumPy
views into the network's flat parameter buffer (kernel ``(in, units)``, then
bias ``(units,)``), so ``layer.get_weights()`` copies them and
``layer.set_weights()`` writes them in place.
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from fastnn import activations as _activations
from fastnn import initializers as _initializers
from fastnn import regularizers as _regularizers
from fastnn.utils.seeding import next_seed

__all__ = [
    "ELU",
    "Activation",
    "Dense",
    "Dropout",
    "Flatten",
    "Input",
    "InputLayer",
    "Layer",
    "LeakyReLU",
]

_name_counts: Dict[str, int] = {}


def _unique_name(base: str) -> str:
    n = _name_counts.get(base, 0)
    _name_counts[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def _shape_tuple(shape, what: str) -> Tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        shape = tuple(int(d) for d in shape)
    except TypeError:
        raise TypeError(f"{what} must be a tuple of ints, got {shape!r}") from None
    if not shape or any(d < 1 for d in shape):
        raise ValueError(f"{what} must be a non-empty tuple of positive ints, got {shape!r}")
    return shape


class Layer:
    """Base class: name, the input shape the layer was given (legacy
    ``input_shape=`` / ``input_dim=``) and, once built, views of its weights."""

    def __init__(self, name: Optional[str] = None, input_shape=None, input_dim=None, **kwargs):
        if kwargs:
            raise TypeError(
                f"{type(self).__name__} got unexpected keyword argument(s): "
                + ", ".join(sorted(kwargs))
            )
        if input_dim is not None:
            input_shape = (input_dim,)
        self._input_shape = (
            None if input_shape is None else _shape_tuple(input_shape, "input_shape")
        )
        self.name = name or _unique_name(_snake(type(self).__name__))
        self._weights: List[np.ndarray] = []
        self.built = False

    # -- shapes --------------------------------------------------------------
    def compute_output_shape(self, input_shape: Tuple[int, ...]) -> Tuple[int, ...]:
        """Output shape (without the batch axis) for `input_shape`."""
        return tuple(input_shape)

    # -- weights -------------------------------------------------------------
    @property
    def weights(self) -> List[np.ndarray]:
        """Views into the model's parameter buffer (empty before build)."""
        return list(self._weights)

    def get_weights(self) -> List[np.ndarray]:
        """Copies of the layer's weights (kernel, bias)."""
        return [w.copy() for w in self._weights]

    def set_weights(self, weights: Sequence) -> None:
        """Writes `weights` (same count and shapes as ``get_weights()``) in place."""
        arrays = _checked_weights(self._weights, weights, f"layer {self.name!r}")
        for view, value in zip(self._weights, arrays):
            view[...] = value

    def count_params(self) -> int:
        return int(sum(w.size for w in self._weights))

    def get_config(self) -> dict:
        config = {"name": self.name}
        if self._input_shape is not None:
            config["batch_input_shape"] = (None, *self._input_shape)
        return config

    def _spec(self, input_shape) -> Optional[dict]:
        """The C++ layer description, or None for a pure reshape."""
        raise NotImplementedError

    def _init_weights(self) -> List[np.ndarray]:
        return []

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


class InputLayer(Layer):
    """The model's input: ``shape`` without the batch axis."""

    def __init__(self, shape=None, batch_size=None, name=None, **kwargs):
        if "input_shape" in kwargs:
            shape = kwargs.pop("input_shape")
        if shape is None:
            raise ValueError("Input needs shape=, e.g. Input(shape=(784,))")
        super().__init__(name=name, input_shape=shape, **kwargs)
        self.batch_size = batch_size

    def get_config(self) -> dict:
        return {"name": self.name, "batch_shape": (self.batch_size, *self._input_shape)}


def Input(shape=None, batch_size=None, name=None, **kwargs) -> InputLayer:
    """The input of a Sequential model: ``Input(shape=(784,))``."""
    return InputLayer(shape=shape, batch_size=batch_size, name=name, **kwargs)


class Dense(Layer):
    """``activation(x @ kernel + bias)``: kernel ``(in, units)``, bias ``(units,)``.

    Args:
        units: output width, a positive int.
        activation: None (linear), a Keras string id or a function of
            ``fastnn.activations``. Defaults to `None`.
        use_bias: whether to add a bias. Defaults to `True`.
        kernel_initializer: Defaults to `"glorot_uniform"`.
        bias_initializer: Defaults to `"zeros"`.
        kernel_regularizer: None, a ``fastnn.regularizers`` L1, L2 or L1L2
            (or its id, e.g. ``"l2"``): its penalty joins the loss and its
            gradient the kernel's. Defaults to `None`.
        bias_regularizer: the same for the bias. Defaults to `None`.

    Input shape ``(batch, in)``; output shape ``(batch, units)``.

    >>> layer = Dense(10, activation="softmax")
    """

    def __init__(
        self,
        units,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"Dense units must be a positive int, got {units!r}")
        self.units = int(units)
        self.activation = _activations.serialize(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = _initializers.get(kernel_initializer)
        self.bias_initializer = _initializers.get(bias_initializer)
        self.kernel_regularizer = _regularizers.get(kernel_regularizer)
        self.bias_regularizer = _regularizers.get(bias_regularizer)
        self._kernel_penalty = _regularizers.penalty_factors(
            self.kernel_regularizer, f"Dense {self.name!r} kernel_regularizer"
        )
        self._bias_penalty = _regularizers.penalty_factors(
            self.bias_regularizer, f"Dense {self.name!r} bias_regularizer"
        )
        self._in = None

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 1:
            raise ValueError(
                f"Dense layer {self.name!r} takes 1-D features per sample, got input shape "
                f"{tuple(input_shape)}: add a Flatten layer before it"
            )
        return (self.units,)

    def _spec(self, input_shape):
        self._in = input_shape[0]
        return {
            "type": "dense",
            "units": self.units,
            "activation": _activations.get(self.activation),
            "use_bias": self.use_bias,
            "kernel_l1": self._kernel_penalty[0],
            "kernel_l2": self._kernel_penalty[1],
            "bias_l1": self._bias_penalty[0],
            "bias_l2": self._bias_penalty[1],
        }

    def _init_weights(self):
        values = [self.kernel_initializer((self._in, self.units))]
        if self.use_bias:
            values.append(self.bias_initializer((self.units,)))
        return values

    @property
    def kernel(self) -> np.ndarray:
        return self._weights[0]

    @property
    def bias(self) -> Optional[np.ndarray]:
        return self._weights[1] if self.use_bias and len(self._weights) > 1 else None

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": self.activation,
            "use_bias": self.use_bias,
            "kernel_initializer": type(self.kernel_initializer).__name__,
            "bias_initializer": type(self.bias_initializer).__name__,
            "kernel_regularizer": _serialize_regularizer(self.kernel_regularizer),
            "bias_regularizer": _serialize_regularizer(self.bias_regularizer),
        }


class Activation(Layer):
    """Applies an activation: ``Activation("relu")``."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = _activations.serialize(activation)

    def _spec(self, input_shape):
        if len(input_shape) != 1:
            raise ValueError(
                f"Activation layer {self.name!r} takes 1-D features per sample, got "
                f"{tuple(input_shape)}: add a Flatten layer before it"
            )
        return {"type": "activation", "activation": _activations.get(self.activation)}

    def get_config(self) -> dict:
        return {**super().get_config(), "activation": self.activation}


class LeakyReLU(Activation):
    """``x`` if ``x > 0`` else ``negative_slope * x`` (keras.layers.LeakyReLU).

    Args:
        negative_slope: a finite float >= 0. Defaults to `0.3` (the Keras
            layer's default; the function ``activations.leaky_relu`` uses
            0.2). The legacy name ``alpha`` is accepted with a warning.
    """

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            import warnings

            negative_slope = kwargs.pop("alpha")
            warnings.warn(
                "Argument `alpha` is deprecated. Use `negative_slope` instead.", stacklevel=2
            )
        super().__init__("leaky_relu", **kwargs)
        self.negative_slope = _activation_param(
            negative_slope,
            "The negative_slope value of a Leaky ReLU layer cannot be None or negative value. "
            f"Expected a float. Received: negative_slope={negative_slope!r}",
        )

    def _spec(self, input_shape):
        return {**super()._spec(input_shape), "activation_param": self.negative_slope}

    def get_config(self) -> dict:
        config = super().get_config()
        del config["activation"]
        return {**config, "negative_slope": self.negative_slope}


class ELU(Activation):
    """``x`` if ``x > 0`` else ``alpha * (exp(x) - 1)`` (keras.layers.ELU).

    Args:
        alpha: a finite float >= 0 (the gradient is computed from the
            output, which needs alpha >= 0). Defaults to `1.0`.
    """

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__("elu", **kwargs)
        self.alpha = _activation_param(
            alpha, f"ELU alpha must be a finite float >= 0, got {alpha!r}"
        )

    def _spec(self, input_shape):
        return {**super()._spec(input_shape), "activation_param": self.alpha}

    def get_config(self) -> dict:
        config = super().get_config()
        del config["activation"]
        return {**config, "alpha": self.alpha}


def _activation_param(value, message: str) -> float:
    if value is None or isinstance(value, (bool, np.bool_)):
        raise ValueError(message)
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(message) from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(message)
    return value


class Dropout(Layer):
    """Inverted dropout while training: zeroes a fraction `rate` of the
    inputs and scales the rest by ``1 / (1 - rate)``; identity in inference.

    Args:
        rate: in [0, 1).
        noise_shape: must be None (per-element masks).
        seed: the mask stream's seed; None draws one. Masks are a function of
            (seed, training step, element), independent of thread count.
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        try:
            rate = float(rate)
        except (TypeError, ValueError):
            raise TypeError(f"Dropout rate must be a float, got {rate!r}") from None
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout rate must be in [0, 1), got {rate}")
        if noise_shape is not None:
            raise ValueError("Dropout noise_shape is not supported; use None")
        self.rate = rate
        self.seed = seed

    def _spec(self, input_shape):
        if len(input_shape) != 1:
            raise ValueError(
                f"Dropout layer {self.name!r} takes 1-D features per sample, got "
                f"{tuple(input_shape)}: add a Flatten layer before it"
            )
        seed = self.seed
        if seed is None:
            seed = next_seed()
        return {"type": "dropout", "rate": self.rate, "seed": int(seed) & ((1 << 64) - 1)}

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class Flatten(Layer):
    """Flattens each sample to 1-D (a reshape, no copy)."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format

    def compute_output_shape(self, input_shape):
        return (math.prod(input_shape),)

    def _spec(self, input_shape):
        return None


def _serialize_regularizer(regularizer):
    return None if regularizer is None else _regularizers.serialize(regularizer)


def _snake(name: str) -> str:
    return "".join(
        ("_" + c.lower()) if c.isupper() and i else c.lower() for i, c in enumerate(name)
    )


def _checked_weights(views: List[np.ndarray], weights: Sequence, what: str) -> List[np.ndarray]:
    """Validates every array against `views` before anything is written."""
    weights = list(weights)
    if len(weights) != len(views):
        raise ValueError(f"{what} expects {len(views)} weight arrays, got {len(weights)}")
    arrays = []
    for i, (view, w) in enumerate(zip(views, weights)):
        a = np.asarray(w)
        if a.dtype.kind not in "biuf":
            raise TypeError(f"{what}: weight {i} must be numeric, got dtype {a.dtype}")
        if a.shape != view.shape:
            raise ValueError(f"{what}: weight {i} must have shape {view.shape}, got {a.shape}")
        a = a.astype(np.float32, copy=False)
        if not np.isfinite(a).all():
            raise ValueError(f"{what}: weight {i} contains NaN or Inf")
        arrays.append(a)
    return arrays
