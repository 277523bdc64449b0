"""Weight regularizers (``keras.regularizers``): L1, L2 and L1L2 penalties.

A Dense layer's ``kernel_regularizer`` / ``bias_regularizer`` adds
``l1 * sum(|w|) + l2 * sum(w**2)`` (no 1/2, as Keras) to the loss and its
gradient ``l1 * sign(w) + 2 * l2 * w`` to the weights' gradient; the C++
engine does both in one pass after the backward pass. As in Keras 3 the
penalty is part of the loss `fit`, `train_on_batch`, `evaluate` and
`test_on_batch` report.

String ids follow Keras 3's table: ``"l1"``, ``"l2"``, ``"L1"``, ``"L2"``,
``"L1L2"``/``"l1l2"`` (the class defaults: ``l1=0.01``, ``l2=0.01``, and
``l1=0.0, l2=0.0`` for L1L2), plus ``"l1_l2"`` as Keras's L1L2 docstring
describes it (``l1=0.01, l2=0.01``). ``l1``, ``l2`` and ``l1_l2`` are also the
classes themselves, as in Keras (``l1_l2(l1=0.0, l2=0.0)``).

>>> L2(0.5)(np.ones((2, 3)))
3.0
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from fastnn import _absent

__all__ = [
    "L1",
    "L1L2",
    "L2",
    "Regularizer",
    "deserialize",
    "get",
    "l1",
    "l1_l2",
    "l2",
    "serialize",
]


def _factor(value, name: str, default: float) -> float:
    """Keras's validate_float_arg: a finite number >= 0 (None -> default)."""
    if value is None:
        return default
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(
            f"Invalid value for argument {name}: expected a non-negative float. "
            f"Received: {name}={value!r}"
        )
    try:
        value = float(value)
    except OverflowError:  # an int too large for a float
        value = math.inf
    if math.isnan(value) or math.isinf(value) or value < 0:
        raise ValueError(
            f"Invalid value for argument {name}: expected a non-negative float. "
            f"Received: {name}={value}"
        )
    return value


class Regularizer:
    """Base class of weight penalties.

    fastnn computes the penalties of `L1`, `L2` and `L1L2` in C++; a
    subclass of its own cannot be used by a layer (its `penalty_factors`
    returns None).
    """

    def __call__(self, x) -> float:
        """The penalty of the array `x`."""
        return 0.0

    def penalty_factors(self):
        """``(l1, l2)`` for the C++ engine, or None when the penalty is not of
        the form ``l1 * sum|w| + l2 * sum w**2``."""
        return None

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def get_config(self) -> dict:
        raise NotImplementedError(f"{self} does not implement get_config()")


class L1L2(Regularizer):
    """Both penalties: ``l1 * sum(|x|) + l2 * sum(x**2)``.

    Args:
        l1: L1 factor, a finite float >= 0. Defaults to `0.0`.
        l2: L2 factor, a finite float >= 0. Defaults to `0.0`.

    >>> Dense(3, kernel_regularizer=L1L2(l1=0.01, l2=0.01))  # doctest: +SKIP
    """

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _factor(l1, "l1", 0.0)
        self.l2 = _factor(l2, "l2", 0.0)

    def __call__(self, x) -> float:
        x = np.asarray(x, dtype=np.float64)
        total = 0.0
        if self.l1:
            total += self.l1 * float(np.sum(np.abs(x)))
        if self.l2:
            total += self.l2 * float(np.sum(np.square(x)))
        return total

    def penalty_factors(self):
        return (self.l1, self.l2)

    def get_config(self) -> dict:
        return {"l1": self.l1, "l2": self.l2}

    def __repr__(self):
        return f"{type(self).__name__}(l1={self.l1}, l2={self.l2})"

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self):
        return hash((type(self).__name__, *sorted(self.get_config().items())))


class L1(L1L2):
    """L1 penalty: ``l1 * sum(|x|)``.

    Args:
        l1: a finite float >= 0. Defaults to `0.01`.
    """

    def __init__(self, l1=0.01):
        super().__init__(l1=_factor(l1, "l1", 0.01), l2=0.0)

    def get_config(self) -> dict:
        # Keras 3's L1 holds its factor as a float32 tensor: the config has its float32 value
        return {"l1": float(np.float32(self.l1))}

    def __repr__(self):
        return f"L1(l1={self.l1})"


class L2(L1L2):
    """L2 penalty: ``l2 * sum(x**2)`` (no 1/2).

    Args:
        l2: a finite float >= 0. Defaults to `0.01`.
    """

    def __init__(self, l2=0.01):
        super().__init__(l1=0.0, l2=_factor(l2, "l2", 0.01))

    def get_config(self) -> dict:
        return {"l2": self.l2}

    def __repr__(self):
        return f"L2(l2={self.l2})"


# Keras exports the classes under these names too.
l1 = L1
l2 = L2
l1_l2 = L1L2

_CLASSES = {"Regularizer": Regularizer, "L1": L1, "L2": L2, "L1L2": L1L2}
# Keras 3's ALL_OBJECTS_DICT: class names and their snake case.
_BY_NAME = {**_CLASSES, "regularizer": Regularizer, "l1": L1, "l2": L2, "l1l2": L1L2}


def serialize(regularizer) -> dict:
    """``{"module": "keras.regularizers", "class_name", "config", "registered_name"}``."""
    if not isinstance(regularizer, Regularizer):
        raise TypeError(f"Expected a fastnn.regularizers.Regularizer, got {regularizer!r}")
    from fastnn.saving import serialize_keras_object

    return serialize_keras_object(regularizer, module="keras.regularizers")


def deserialize(config, custom_objects=None):
    """Rebuilds a regularizer from `serialize`'s output (or a name)."""
    from fastnn.saving import deserialize_from_table

    return deserialize_from_table(config, _BY_NAME, custom_objects)


def get(identifier):
    """A regularizer from an identifier, as ``keras.regularizers.get``.

    Args:
        identifier: None, a Regularizer instance or class, a name (``"l1"``,
            ``"l2"``, ``"l1_l2"``, ``"L1L2"`` ...), a config dict, or any
            other callable (returned as is; fastnn layers only take the
            built-in classes).

    Raises:
        ValueError: an unknown name, or anything else.
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        if identifier == "l1_l2":
            return L1L2(l1=0.01, l2=0.01)
        obj = _BY_NAME.get(identifier)
        if obj is None:
            hint = (
                " (fastnn does not provide OrthogonalRegularizer)"
                if "orthogonal" in identifier.lower()
                else f"; expected one of: {', '.join(sorted(_BY_NAME))}, l1_l2"
            )
            raise ValueError(f"Could not interpret regularizer identifier: {identifier!r}{hint}")
    else:
        obj = identifier
    if isinstance(obj, type):
        obj = obj()
    if callable(obj):
        return obj
    raise ValueError(f"Could not interpret regularizer identifier: {identifier!r}")


def penalty_factors(regularizer, what: str):
    """``(l1, l2)`` of a regularizer a layer can use (None -> ``(0.0, 0.0)``).

    Raises:
        ValueError: for a regularizer the C++ engine cannot compute.
    """
    if regularizer is None:
        return (0.0, 0.0)
    factors = None
    if isinstance(regularizer, Regularizer):
        factors = regularizer.penalty_factors()
    if factors is None:
        raise ValueError(
            f"{what}: fastnn computes the L1, L2 and L1L2 penalties in C++ and cannot use "
            f"{regularizer!r}; pass fastnn.regularizers.L1, L2 or L1L2 (or 'l1', 'l2', "
            "'l1_l2')"
        )
    return factors


# Keras's names this module lacks say what they are and why (fastnn._absent).
__getattr__ = _absent.module_getattr(__name__)
