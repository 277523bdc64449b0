"""Weight constraints (``keras.constraints``): MaxNorm, MinMaxNorm, NonNeg
and UnitNorm.

A Dense layer's ``kernel_constraint`` / ``bias_constraint`` projects the
weight after every optimizer step, as Keras 3's optimizer does (only while
the layer trains). The C++ engine applies them inside `fit`'s epoch loop,
with Keras's formulas in float32 (the sums of squares in double, rounded
once):

- ``MaxNorm(max_value=2, axis=0)``: ``w * clip(n, 0, max_value) / (1e-7 + n)``
- ``MinMaxNorm(min_value=0, max_value=1, rate=1, axis=0)``:
  ``w * (rate * clip(n, min_value, max_value) + (1 - rate) * n) / (1e-7 + n)``
- ``UnitNorm(axis=0)``: ``w / (1e-7 + n)``
- ``NonNeg()``: ``maximum(w, 0)``

where ``n = sqrt(sum(w**2, axis, keepdims=True))``. `axis` 0 of a kernel
``(in, units)`` gives one norm per unit (Keras's default), 1 (or -1) one per
input, ``[0, 1]`` one for the whole kernel; a bias has axis 0 only.

String ids follow Keras 3: ``"max_norm"``, ``"min_max_norm"``, ``"non_neg"``,
``"unit_norm"`` and the class names; ``max_norm`` etc. are also the classes.

>>> MaxNorm(1.0)(np.array([[3.0], [4.0]], np.float32)).ravel()
array([0.6, 0.8], dtype=float32)
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from fastnn import _absent

__all__ = [
    "Constraint",
    "MaxNorm",
    "MinMaxNorm",
    "NonNeg",
    "UnitNorm",
    "deserialize",
    "get",
    "max_norm",
    "min_max_norm",
    "non_neg",
    "serialize",
    "unit_norm",
]

_EPSILON = np.float32(1e-7)  # keras.config.epsilon()


def _number(value, name: str) -> float:
    """A real number (infinities as Keras takes them: a bound that never
    binds); NaN is refused."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        number = math.inf if value > 0 else -math.inf
    if math.isnan(number):
        raise ValueError(f"{name} must be a number, got NaN")
    return number


def _axis(value):
    """Keras's `axis`: an int, a list or tuple of ints (kept as given), or
    None (every axis: one norm for the whole weight)."""
    if value is None:
        return None
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    if not items or any(
        isinstance(a, (bool, np.bool_)) or not isinstance(a, (int, np.integer)) for a in items
    ):
        raise ValueError(f"axis must be an int, a list of ints or None, got {value!r}")
    if isinstance(value, (list, tuple)):
        return type(value)(int(a) for a in value)
    return int(value)


def _norm_axes(axis, ndim: int, what: str):
    """(over_rows, over_cols) of a weight of `ndim` (1 or 2) axes."""
    if axis is None:
        return True, ndim > 1
    items = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    axes = set()
    for a in items:
        if not -ndim <= a < ndim:
            raise ValueError(
                f"{what}: axis {axis!r} is out of range for a weight of {ndim} "
                f"dimension{'s' if ndim > 1 else ''}"
            )
        axes.add(a % ndim)
    return 0 in axes, 1 in axes


class Constraint:
    """Base class of weight constraints: ``__call__(w)`` returns the
    projected weight. fastnn's layers apply the four built-in ones in C++;
    a subclass of its own can be called but not given to a layer."""

    def __call__(self, w):
        return w

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def _engine_spec(self, ndim: int, what: str):
        """The engine's description of this constraint on a weight of
        `ndim` axes, or None when the engine cannot apply it."""
        return None

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self):
        return hash((type(self).__name__, repr(sorted(self.get_config().items()))))

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _norms(w: np.ndarray, axis) -> np.ndarray:
    w64 = np.asarray(w, np.float64)
    over = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    with np.errstate(over="ignore", invalid="ignore"):
        squares = np.sum(w64 * w64, axis=over, keepdims=True)
        return np.sqrt(squares.astype(np.float32))


def _clip(x, low, high):
    """torch.clamp: min(max(x, low), high), NaN propagated (bounds past
    float32's range become its infinities)."""
    with np.errstate(over="ignore"):
        return np.minimum(np.maximum(x, np.float32(low)), np.float32(high))


class MaxNorm(Constraint):
    """Scales each norm (over `axis`) down to at most `max_value`."""

    def __init__(self, max_value=2, axis=0):
        _number(max_value, "max_value")
        self.max_value = max_value
        self.axis = _axis(axis)

    def __call__(self, w):
        w = np.asarray(w, np.float32)
        norms = _norms(w, self.axis)
        desired = _clip(norms, 0.0, _number(self.max_value, "max_value"))
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return w * (desired / (_EPSILON + norms))

    def get_config(self) -> dict:
        return {"max_value": self.max_value, "axis": self.axis}

    def _engine_spec(self, ndim, what):
        rows, cols = _norm_axes(self.axis, ndim, what)
        return {
            "kind": "max_norm",
            "max_value": _number(self.max_value, "max_value"),
            "rows": rows,
            "cols": cols,
        }


class MinMaxNorm(Constraint):
    """Moves each norm (over `axis`) into ``[min_value, max_value]``, a
    fraction `rate` of the way."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        for name, value in (("min_value", min_value), ("max_value", max_value), ("rate", rate)):
            _number(value, name)
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = _axis(axis)

    def __call__(self, w):
        w = np.asarray(w, np.float32)
        norms = _norms(w, self.axis)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            rate = np.float32(_number(self.rate, "rate"))
            clipped = _clip(
                norms, _number(self.min_value, "min_value"), _number(self.max_value, "max_value")
            )
            desired = rate * clipped + (np.float32(1) - rate) * norms
            return w * (desired / (_EPSILON + norms))

    def get_config(self) -> dict:
        return {
            "min_value": self.min_value,
            "max_value": self.max_value,
            "rate": self.rate,
            "axis": self.axis,
        }

    def _engine_spec(self, ndim, what):
        rows, cols = _norm_axes(self.axis, ndim, what)
        return {
            "kind": "min_max_norm",
            "min_value": _number(self.min_value, "min_value"),
            "max_value": _number(self.max_value, "max_value"),
            "rate": _number(self.rate, "rate"),
            "rows": rows,
            "cols": cols,
        }


class NonNeg(Constraint):
    """``maximum(w, 0)``: negative weights become 0 (-0.0 and NaN stay)."""

    def __call__(self, w):
        w = np.asarray(w, np.float32)
        return np.where(w < 0, np.float32(0), w)

    def _engine_spec(self, ndim, what):
        return {"kind": "non_neg"}


class UnitNorm(Constraint):
    """Divides by each norm (over `axis`)."""

    def __init__(self, axis=0):
        self.axis = _axis(axis)

    def __call__(self, w):
        w = np.asarray(w, np.float32)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return w / (_EPSILON + _norms(w, self.axis))

    def get_config(self) -> dict:
        return {"axis": self.axis}

    def _engine_spec(self, ndim, what):
        rows, cols = _norm_axes(self.axis, ndim, what)
        return {"kind": "unit_norm", "rows": rows, "cols": cols}


# Keras exports the classes under these names too.
max_norm = MaxNorm
min_max_norm = MinMaxNorm
non_neg = NonNeg
unit_norm = UnitNorm

_CLASSES = {
    "Constraint": Constraint,
    "MaxNorm": MaxNorm,
    "MinMaxNorm": MinMaxNorm,
    "NonNeg": NonNeg,
    "UnitNorm": UnitNorm,
}
# Keras 3's ALL_OBJECTS_DICT: class names and their snake case.
_BY_NAME = {
    **_CLASSES,
    "constraint": Constraint,
    "max_norm": MaxNorm,
    "min_max_norm": MinMaxNorm,
    "non_neg": NonNeg,
    "unit_norm": UnitNorm,
}


def serialize(constraint):
    """``{"module": "keras.constraints", "class_name", "config", "registered_name"}``
    (None for None, as Keras)."""
    if constraint is None:
        return None
    if not isinstance(constraint, Constraint):
        raise TypeError(f"Expected a fastnn.constraints.Constraint, got {constraint!r}")
    from fastnn.saving import serialize_keras_object

    return serialize_keras_object(constraint, module="keras.constraints")


def deserialize(config, custom_objects=None):
    """Rebuilds a constraint from `serialize`'s output (or a name)."""
    from fastnn.saving import deserialize_from_table

    return deserialize_from_table(config, _BY_NAME, custom_objects)


def get(identifier):
    """A constraint from an identifier, as ``keras.constraints.get``: None, a
    Constraint instance or class, a name (``"max_norm"``, ``"NonNeg"`` ...),
    a config dict, or any other callable (returned as is).

    Raises:
        ValueError: an unknown name, or anything else.
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = _BY_NAME.get(identifier)
        if obj is None:
            raise ValueError(
                f"Could not interpret constraint identifier: {identifier!r}; expected one of: "
                + ", ".join(sorted(_BY_NAME))
            )
    else:
        obj = identifier
    if isinstance(obj, type):
        obj = obj()
    if callable(obj):
        return obj
    raise ValueError(f"Could not interpret constraint identifier: {identifier!r}")


def engine_spec(constraint, ndim: int, what: str):
    """The engine's description of a layer's constraint (None -> None).

    Raises:
        ValueError: a constraint the C++ engine cannot apply, or an axis the
            weight does not have.
    """
    if constraint is None:
        return None
    spec = constraint._engine_spec(ndim, what) if isinstance(constraint, Constraint) else None
    if spec is None:
        raise ValueError(
            f"{what}: fastnn applies the MaxNorm, MinMaxNorm, NonNeg and UnitNorm constraints "
            f"in C++ and cannot use {constraint!r}; pass one of fastnn.constraints' classes "
            "(or 'max_norm', 'min_max_norm', 'non_neg', 'unit_norm')"
        )
    return spec


# Keras's names this module lacks say what they are and why (fastnn._absent).
__getattr__ = _absent.module_getattr(__name__)
