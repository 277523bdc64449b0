"""Losses (``keras.losses``): each reduces with ``sum_over_batch_size``
(weighted sum over samples divided by the number of samples) and is computed,
with its gradient, by the C++ kernel the models train with.

Models take a loss as a Keras string (``"mse"``,
``"sparse_categorical_crossentropy"``, ...) or an instance of a class below.
Calling an instance on NumPy arrays returns the loss as a float.
"""

from __future__ import annotations

from typing import Optional

from fastnn import ops as _ops
from fastnn.utils.naming import to_snake_case

__all__ = [
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "Huber",
    "Loss",
    "MeanAbsoluteError",
    "MeanSquaredError",
    "SparseCategoricalCrossentropy",
    "get",
]


class Loss:
    """Base class: ``kernel`` names the C++ loss; ``from_logits`` and ``delta``
    are passed to it."""

    kernel = ""
    label_smoothing = 0.0  # set by the cross-entropies that take it

    def __init__(self, name: Optional[str] = None, from_logits: bool = False, delta: float = 1.0):
        self.name = name or to_snake_case(type(self).__name__)
        self.from_logits = bool(from_logits)
        self.delta = float(delta)

    def __call__(self, y_true, y_pred, sample_weight=None) -> float:
        """The loss of `y_pred` (samples, outputs) against `y_true`."""
        value, _ = _ops.loss(
            y_true,
            y_pred,
            self.kernel,
            from_logits=self.from_logits,
            delta=self.delta,
            sample_weight=sample_weight,
            label_smoothing=self.label_smoothing,
        )
        return float(value)

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": "sum_over_batch_size"}


class MeanSquaredError(Loss):
    """``mean((y_pred - y_true)**2, axis=-1)`` per sample.

    >>> MeanSquaredError()([[0.0, 1.0]], [[1.0, 1.0]])
    0.5
    """

    kernel = "mean_squared_error"

    def __init__(self, name: str = "mean_squared_error"):
        super().__init__(name)


class MeanAbsoluteError(Loss):
    """``mean(|y_pred - y_true|, axis=-1)`` per sample."""

    kernel = "mean_absolute_error"

    def __init__(self, name: str = "mean_absolute_error"):
        super().__init__(name)


class Huber(Loss):
    """Huber loss, averaged over the last axis.

    Per element ``0.5 e**2`` if ``|e| <= delta`` else ``delta * (|e| - 0.5 delta)``.

    Args:
        delta: the switch point, > 0. Defaults to `1.0`.
    """

    kernel = "huber"

    def __init__(self, delta: float = 1.0, name: str = "huber_loss"):
        try:
            positive = float(delta) > 0.0
        except OverflowError:  # an int too large for a float
            positive = False
        if not positive:
            raise ValueError(f"delta must be > 0, got {delta!r}")
        super().__init__(name, delta=delta)

    def get_config(self) -> dict:
        return {**super().get_config(), "delta": self.delta}


class _Crossentropy(Loss):
    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, name: str = ""):
        if isinstance(label_smoothing, bool):
            raise ValueError(f"label_smoothing must be a float in [0, 1], got {label_smoothing!r}")
        try:
            label_smoothing = float(label_smoothing)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(
                f"label_smoothing must be a float in [0, 1], got {label_smoothing!r}"
            ) from None
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"label_smoothing must be a float in [0, 1], got {label_smoothing}")
        super().__init__(name, from_logits=from_logits)
        self.label_smoothing = label_smoothing

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
        }


class BinaryCrossentropy(_Crossentropy):
    """Binary cross-entropy on probabilities (clipped to [1e-7, 1 - 1e-7]) or logits.

    Args:
        from_logits: whether `y_pred` holds logits. Defaults to `False`.
        label_smoothing: in [0, 1]; targets become
            ``y * (1 - label_smoothing) + 0.5 * label_smoothing``. Defaults
            to `0.0`.
    """

    kernel = "binary_crossentropy"

    def __init__(self, from_logits=False, label_smoothing=0.0, name="binary_crossentropy"):
        super().__init__(from_logits, label_smoothing, name)


class CategoricalCrossentropy(_Crossentropy):
    """Cross-entropy against one-hot (or soft) targets; probabilities are
    renormalised and clipped as Keras does.

    Args:
        from_logits: whether `y_pred` holds logits. Defaults to `False`.
        label_smoothing: in [0, 1]; targets become
            ``y * (1 - label_smoothing) + label_smoothing / classes``.
            Defaults to `0.0`.
    """

    kernel = "categorical_crossentropy"

    def __init__(self, from_logits=False, label_smoothing=0.0, name="categorical_crossentropy"):
        super().__init__(from_logits, label_smoothing, name)


class SparseCategoricalCrossentropy(Loss):
    """Cross-entropy against integer class ids.

    Args:
        from_logits: whether `y_pred` holds logits. Defaults to `False`.

    >>> SparseCategoricalCrossentropy()([1], [[0.5, 0.5]])  # doctest: +ELLIPSIS
    0.693...
    """

    kernel = "sparse_categorical_crossentropy"

    def __init__(self, from_logits: bool = False, name: str = "sparse_categorical_crossentropy"):
        super().__init__(name, from_logits=from_logits)

    def get_config(self) -> dict:
        return {**super().get_config(), "from_logits": self.from_logits}


_ALIASES = {
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError,
    "mae": MeanAbsoluteError,
    "huber": Huber,
    "huber_loss": Huber,
    "binary_crossentropy": BinaryCrossentropy,
    "bce": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "cce": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "scce": SparseCategoricalCrossentropy,
}


def get(identifier) -> Loss:
    """A loss instance from a Keras string id, a class name or an instance.

    Raises:
        ValueError: for an unknown name. TypeError: for another object.
    """
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss) and identifier.kernel:
        return identifier()
    if isinstance(identifier, str):
        cls = _ALIASES.get(identifier) or _ALIASES.get(to_snake_case(identifier))
        if cls is None:
            raise ValueError(
                f"Unknown loss {identifier!r}; expected one of: " + ", ".join(sorted(_ALIASES))
            )
        return cls()
    raise TypeError(f"loss must be a string or a fastnn.losses.Loss, got {identifier!r}")
