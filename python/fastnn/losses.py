"""Losses (``keras.losses``): each reduces with ``sum_over_batch_size``
(weighted sum over samples divided by the number of samples) and is computed,
with its gradient, by the C++ kernel the models train with.

Models take a loss as a Keras string (``"mse"``,
``"sparse_categorical_crossentropy"``, ...), an instance of a class below, or
one of Keras's loss functions below (``keras.losses.mean_squared_error`` ...),
which trains as its class with the default arguments. Calling an instance on
NumPy arrays returns the loss as a float; calling a function returns the
per-sample losses, as Keras's functions do.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from fastnn import ops as _ops
from fastnn.utils.naming import to_snake_case

__all__ = [
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "CategoricalHinge",
    "CosineSimilarity",
    "Hinge",
    "Huber",
    "KLDivergence",
    "LogCosh",
    "Loss",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Poisson",
    "SparseCategoricalCrossentropy",
    "SquaredHinge",
    "binary_crossentropy",
    "categorical_crossentropy",
    "categorical_hinge",
    "cosine_similarity",
    "get",
    "hinge",
    "huber",
    "kl_divergence",
    "log_cosh",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_error",
    "mean_squared_logarithmic_error",
    "poisson",
    "sparse_categorical_crossentropy",
    "squared_hinge",
]


# Keras loss arguments fastnn has only at their defaults: (accepted values).
_KERAS_ONLY_ARGUMENTS = {
    # None / "none" would return per-sample losses in Keras, "auto" is refused there
    "reduction": ("sum_over_batch_size",),
    "dtype": (None, "float32"),
    "axis": (-1,),
    "ignore_class": (None,),
}


def _check_keras_only(cls_name: str, **arguments) -> None:
    """Keras's loss arguments at values fastnn computes, else a ValueError."""
    for key, value in arguments.items():
        if value not in _KERAS_ONLY_ARGUMENTS[key]:
            why = (
                "losses reduce with the mean over the batch"
                if key == "reduction"
                else "only its Keras default"
            )
            raise ValueError(
                f"{cls_name}: {key}={value!r} is not supported by fastnn ({why}, "
                f"{_KERAS_ONLY_ARGUMENTS[key][0]!r})"
            )


class Loss:
    """Base class: ``kernel`` names the C++ loss; ``from_logits`` and ``delta``
    are passed to it."""

    kernel = ""
    label_smoothing = 0.0  # set by the cross-entropies that take it

    def __init__(self, name: Optional[str] = None, from_logits: bool = False, delta: float = 1.0):
        self.name = name or to_snake_case(type(self).__name__)
        self.from_logits = bool(from_logits)
        self.delta = float(delta)

    @classmethod
    def from_config(cls, config: dict):
        """The loss `get_config()` (or Keras 3's config of it) describes."""
        return cls(**config)

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

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error", dtype=None):
        _check_keras_only(type(self).__name__, reduction=reduction, dtype=dtype)
        super().__init__(name)


class MeanAbsoluteError(Loss):
    """``mean(|y_pred - y_true|, axis=-1)`` per sample."""

    kernel = "mean_absolute_error"

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error", dtype=None):
        _check_keras_only(type(self).__name__, reduction=reduction, dtype=dtype)
        super().__init__(name)


class Huber(Loss):
    """Huber loss, averaged over the last axis.

    Per element ``0.5 e**2`` if ``|e| <= delta`` else ``delta * (|e| - 0.5 delta)``.

    Args:
        delta: the switch point, > 0. Defaults to `1.0`.
    """

    kernel = "huber"

    def __init__(
        self, delta: float = 1.0, reduction="sum_over_batch_size", name="huber_loss", dtype=None
    ):
        _check_keras_only(type(self).__name__, reduction=reduction, dtype=dtype)
        try:
            positive = float(delta) > 0.0
        except OverflowError:  # an int too large for a float
            positive = False
        except (TypeError, ValueError):  # a string, None ...
            raise TypeError(f"delta must be a number > 0, got {delta!r}") from None
        if not positive:
            raise ValueError(f"delta must be > 0, got {delta!r}")
        super().__init__(name, delta=delta)

    def get_config(self) -> dict:
        return {**super().get_config(), "delta": self.delta}


def _label_smoothing(value) -> float:
    """A cross-entropy's label_smoothing (loss or metric): a float in [0, 1]."""
    if isinstance(value, bool):
        raise ValueError(f"label_smoothing must be a float in [0, 1], got {value!r}")
    try:
        smoothing = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"label_smoothing must be a float in [0, 1], got {value!r}") from None
    if not 0.0 <= smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be a float in [0, 1], got {smoothing}")
    return smoothing


class _Crossentropy(Loss):
    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, name: str = ""):
        label_smoothing = _label_smoothing(label_smoothing)
        super().__init__(name, from_logits=from_logits)
        self.label_smoothing = label_smoothing

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "axis": -1,
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

    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="binary_crossentropy",
        dtype=None,
    ):
        _check_keras_only(type(self).__name__, axis=axis, reduction=reduction, dtype=dtype)
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

    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="categorical_crossentropy",
        dtype=None,
    ):
        _check_keras_only(type(self).__name__, axis=axis, reduction=reduction, dtype=dtype)
        super().__init__(from_logits, label_smoothing, name)


class SparseCategoricalCrossentropy(Loss):
    """Cross-entropy against integer class ids.

    Args:
        from_logits: whether `y_pred` holds logits. Defaults to `False`.

    >>> SparseCategoricalCrossentropy()([1], [[0.5, 0.5]])  # doctest: +ELLIPSIS
    0.693...
    """

    kernel = "sparse_categorical_crossentropy"

    def __init__(
        self,
        from_logits: bool = False,
        ignore_class=None,
        reduction="sum_over_batch_size",
        name: str = "sparse_categorical_crossentropy",
        dtype=None,
    ):
        _check_keras_only(
            type(self).__name__, ignore_class=ignore_class, reduction=reduction, dtype=dtype
        )
        super().__init__(name, from_logits=from_logits)

    def get_config(self) -> dict:
        return {**super().get_config(), "from_logits": self.from_logits, "ignore_class": None}


class _KerasLoss(Loss):
    """A loss whose only Keras arguments are `reduction`, `name` and `dtype`
    (the kernel's name is its default name)."""

    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None):
        _check_keras_only(type(self).__name__, reduction=reduction, dtype=dtype)
        super().__init__(name or self.kernel)


class MeanAbsolutePercentageError(_KerasLoss):
    """``100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7), axis=-1)`` per sample.

    Args:
        name: defaults to `"mean_absolute_percentage_error"`.

    >>> loss = MeanAbsolutePercentageError()
    >>> round(loss([[100.0, 200.0, 300.0]], [[90.0, 210.0, 310.0]]), 4)
    6.1111
    """

    kernel = "mean_absolute_percentage_error"


class MeanSquaredLogarithmicError(_KerasLoss):
    """``mean((log(max(y_pred, 1e-7) + 1) - log(max(y_true, 1e-7) + 1))**2,
    axis=-1)`` per sample.

    Args:
        name: defaults to `"mean_squared_logarithmic_error"`.
    """

    kernel = "mean_squared_logarithmic_error"


class LogCosh(_KerasLoss):
    """``mean(log(cosh(y_pred - y_true)), axis=-1)`` per sample, computed as
    Keras does as ``x + softplus(-2x) - log(2)`` (no overflow).

    Args:
        name: defaults to `"log_cosh"`.
    """

    kernel = "log_cosh"


class KLDivergence(_KerasLoss):
    """``sum(y_true * log(y_true / y_pred), axis=-1)`` per sample, both
    clipped to ``[1e-7, 1]`` first.

    Args:
        name: defaults to `"kl_divergence"`.
    """

    kernel = "kl_divergence"


class Poisson(_KerasLoss):
    """``mean(y_pred - y_true * log(y_pred + 1e-7), axis=-1)`` per sample.

    Args:
        name: defaults to `"poisson"`.
    """

    kernel = "poisson"


class Hinge(_KerasLoss):
    """``mean(max(1 - y_true * y_pred, 0), axis=-1)`` per sample; labels
    that are all 0 or 1 become -1 or 1 first (as Keras, per call or batch).

    Args:
        name: defaults to `"hinge"`.
    """

    kernel = "hinge"


class SquaredHinge(_KerasLoss):
    """``mean(max(1 - y_true * y_pred, 0)**2, axis=-1)`` per sample; labels
    that are all 0 or 1 become -1 or 1 first (as Keras, per call or batch).

    Args:
        name: defaults to `"squared_hinge"`.
    """

    kernel = "squared_hinge"


class CategoricalHinge(_KerasLoss):
    """``max(neg - pos + 1, 0)`` per sample, ``pos = sum(y_true * y_pred)``,
    ``neg = max((1 - y_true) * y_pred)``, against one-hot labels.

    Args:
        name: defaults to `"categorical_hinge"`.
    """

    kernel = "categorical_hinge"


class CosineSimilarity(_KerasLoss):
    """``-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis=-1)`` per
    sample, Keras 3's ``CosineSimilarity`` loss (keras/src/losses/losses.py):
    ``l2_normalize(x) = x * min(1 / |x|, 1e7)``, so a zero vector gives 0;
    -1 where the vectors point the same way.

    The gradient is the derivative of that formula; where the ``1e7`` cap
    holds (``|y_pred| <= 1e-7``, a zero prediction included) it is
    ``-1e7 * l2_normalize(y_true)`` (the cap's own derivative is 0, as a
    clamp's), where autograd through Keras's ``rsqrt`` gives NaN.

    Args:
        axis: the axis of the vectors: `-1` only. Defaults to `-1`.
        reduction: `"sum_over_batch_size"` only. Defaults to it.
        name: defaults to `"cosine_similarity"`.
        dtype: `None` or `"float32"`. Defaults to `None`.

    >>> round(CosineSimilarity()([[0.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0]]), 4)
    -0.5
    """

    kernel = "cosine_similarity"

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name=None, dtype=None):
        _check_keras_only(type(self).__name__, axis=axis)
        super().__init__(reduction=reduction, name=name, dtype=dtype)


# -- Keras's loss functions (keras/src/losses/losses.py, torch backend's nn.py) --------
#
# Per-sample losses, in float64 NumPy, vectorized. `compile(loss=<function>)`
# trains with the class the function is tagged with (`_loss_class`), whose
# C++ kernel computes the same values.

_EPSILON = 1e-7  # keras.config.epsilon()


def _same_rank(y_true, y_pred):
    """Float64 arrays; a label of one rank less gets a last axis of 1 (or a
    prediction one), as Keras's `squeeze_or_expand_to_same_rank`."""
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.ndim == y_pred.ndim - 1 and y_pred.shape[-1] == 1:
        y_true = y_true[..., None]
    elif y_pred.ndim == y_true.ndim - 1 and y_true.shape[-1] == 1:
        y_pred = y_pred[..., None]
    if y_true.shape != y_pred.shape:
        raise ValueError(
            "Arguments `target` and `output` must have the same shape. "
            f"Received: target.shape={y_true.shape}, output.shape={y_pred.shape}"
        )
    return y_true, y_pred


def _log_softmax(z, axis):
    z = z - np.max(z, axis=axis, keepdims=True)
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def _tag(cls):
    def tag(function):
        function._loss_class = cls
        return function

    return tag


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
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mape": MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "msle": MeanSquaredLogarithmicError,
    "log_cosh": LogCosh,
    "logcosh": LogCosh,
    "kl_divergence": KLDivergence,
    "kld": KLDivergence,
    "kullback_leibler_divergence": KLDivergence,
    "poisson": Poisson,
    "hinge": Hinge,
    "squared_hinge": SquaredHinge,
    "categorical_hinge": CategoricalHinge,
    "cosine_similarity": CosineSimilarity,
}


def get(identifier) -> Loss:
    """A loss instance from a Keras string id, a class name, an instance or
    one of Keras's loss functions (`mean_squared_error` ...).

    Raises:
        ValueError: for an unknown name. TypeError: for another object.
    """
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss) and identifier.kernel:
        return identifier()
    if callable(identifier) and getattr(identifier, "_loss_class", None) is not None:
        return identifier._loss_class()  # Keras's loss function: its class, defaults
    if isinstance(identifier, str):
        cls = _ALIASES.get(identifier) or _ALIASES.get(to_snake_case(identifier))
        if cls is None:
            raise ValueError(
                f"Unknown loss {identifier!r}; expected one of: " + ", ".join(sorted(_ALIASES))
            )
        return cls()
    raise TypeError(f"loss must be a string or a fastnn.losses.Loss, got {identifier!r}")


@_tag(MeanSquaredError)
def mean_squared_error(y_true, y_pred):
    """``mean((y_true - y_pred) ** 2, axis=-1)``, per sample."""
    y_true, y_pred = _same_rank(y_true, y_pred)
    return np.mean(np.square(y_true - y_pred), axis=-1)


@_tag(MeanAbsoluteError)
def mean_absolute_error(y_true, y_pred):
    """``mean(|y_true - y_pred|, axis=-1)``, per sample."""
    y_true, y_pred = _same_rank(y_true, y_pred)
    return np.mean(np.abs(y_true - y_pred), axis=-1)


@_tag(Huber)
def huber(y_true, y_pred, delta=1.0):
    """Huber loss per sample: ``0.5 e**2`` where ``|e| <= delta`` else
    ``delta |e| - 0.5 delta**2``, averaged over the last axis."""
    y_true, y_pred = _same_rank(y_true, y_pred)
    error = np.abs(y_pred - y_true)
    delta = float(delta)
    elementwise = np.where(error <= delta, 0.5 * error**2, delta * error - 0.5 * delta**2)
    return np.mean(elementwise, axis=-1)


@_tag(BinaryCrossentropy)
def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Binary cross-entropy per sample, averaged over `axis`; probabilities
    are clipped to ``[1e-7, 1 - 1e-7]``."""
    y_true, y_pred = _same_rank(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:  # max(z, 0) - z y + log(1 + exp(-|z|))
        z = y_pred
        elementwise = np.maximum(z, 0.0) - z * y_true + np.log1p(np.exp(-np.abs(z)))
    else:
        p = np.clip(y_pred, _EPSILON, 1.0 - _EPSILON)
        elementwise = -(y_true * np.log(p) + (1.0 - y_true) * np.log(1.0 - p))
    return np.mean(elementwise, axis=axis)


@_tag(CategoricalCrossentropy)
def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Cross-entropy per sample against one-hot (or soft) targets;
    probabilities are renormalised to sum to 1 and clipped to
    ``[1e-7, 1 - 1e-7]``."""
    y_true, y_pred = _same_rank(y_true, y_pred)
    if label_smoothing:
        classes = y_true.shape[axis]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / classes
    if from_logits:
        log_p = _log_softmax(y_pred, axis)
    else:
        p = y_pred / np.sum(y_pred, axis=axis, keepdims=True)
        log_p = np.log(np.clip(p, _EPSILON, 1.0 - _EPSILON))
    return -np.sum(y_true * log_p, axis=axis)


@_tag(SparseCategoricalCrossentropy)
def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Cross-entropy per sample against integer class ids (`y_true` of shape
    ``(n,)`` or ``(n, 1)``); probabilities are renormalised and clipped as in
    `categorical_crossentropy`. `ignore_class` is not supported."""
    if ignore_class is not None:
        raise ValueError("fastnn does not support `ignore_class`; pass None")
    y_pred = np.asarray(y_pred, dtype=np.float64)
    labels = np.asarray(y_true)
    if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.shape != y_pred.shape[:-1]:
        raise ValueError(
            "Arguments `target` and `output` must have the same shape up until the last "
            f"dimension: target.shape={labels.shape}, output.shape={y_pred.shape}"
        )
    classes = labels.astype(np.int64)
    if np.any(classes != labels) or np.any(classes < 0) or np.any(classes >= y_pred.shape[-1]):
        raise ValueError(
            f"sparse_categorical_crossentropy takes class ids in [0, {y_pred.shape[-1]})"
        )
    if from_logits:
        log_p = _log_softmax(y_pred, axis)
    else:
        p = y_pred / np.sum(y_pred, axis=axis, keepdims=True)
        log_p = np.log(np.clip(p, _EPSILON, 1.0 - _EPSILON))
    return -np.take_along_axis(log_p, classes[..., None], axis=-1)[..., 0]


@_tag(MeanAbsolutePercentageError)
def mean_absolute_percentage_error(y_true, y_pred):
    """``100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7), axis=-1)``, per sample."""
    y_true, y_pred = _same_rank(y_true, y_pred)
    return 100.0 * np.mean(np.abs((y_true - y_pred) / np.maximum(np.abs(y_true), _EPSILON)), -1)


@_tag(MeanSquaredLogarithmicError)
def mean_squared_logarithmic_error(y_true, y_pred):
    """``mean((log(max(y_pred, 1e-7) + 1) - log(max(y_true, 1e-7) + 1))**2,
    axis=-1)``, per sample."""
    y_true, y_pred = _same_rank(y_true, y_pred)
    first_log = np.log(np.maximum(y_pred, _EPSILON) + 1.0)
    second_log = np.log(np.maximum(y_true, _EPSILON) + 1.0)
    return np.mean(np.square(first_log - second_log), axis=-1)


@_tag(LogCosh)
def log_cosh(y_true, y_pred):
    """``mean(log(cosh(y_pred - y_true)), axis=-1)`` per sample, as
    ``x + softplus(-2x) - log(2)``."""
    y_true, y_pred = _same_rank(y_true, y_pred)
    x = y_pred - y_true
    return np.mean(x + np.logaddexp(0.0, -2.0 * x) - np.log(2.0), axis=-1)


@_tag(KLDivergence)
def kl_divergence(y_true, y_pred):
    """``sum(y_true * log(y_true / y_pred), axis=-1)`` per sample, both
    clipped to ``[1e-7, 1]``."""
    y_pred = np.asarray(y_pred, dtype=np.float64)
    y_true = np.clip(np.asarray(y_true, dtype=np.float64), _EPSILON, 1.0)
    y_pred = np.clip(y_pred, _EPSILON, 1.0)
    return np.sum(y_true * np.log(y_true / y_pred), axis=-1)


@_tag(Poisson)
def poisson(y_true, y_pred):
    """``mean(y_pred - y_true * log(y_pred + 1e-7), axis=-1)`` per sample."""
    y_pred = np.asarray(y_pred, dtype=np.float64)
    y_true = np.asarray(y_true, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):  # NaN / -inf as Keras
        return np.mean(y_pred - y_true * np.log(y_pred + _EPSILON), axis=-1)


def _hinge_labels(y_true):
    """Keras's convert_binary_labels_to_hinge: all 0/1 labels become -1/1."""
    y_true = np.asarray(y_true, dtype=np.float64)
    return 2.0 * y_true - 1.0 if np.all((y_true == 0) | (y_true == 1)) else y_true


@_tag(Hinge)
def hinge(y_true, y_pred):
    """``mean(max(1 - y_true * y_pred, 0), axis=-1)`` per sample (0/1 labels
    as -1/1)."""
    y_pred = np.asarray(y_pred, dtype=np.float64)
    return np.mean(np.maximum(1.0 - _hinge_labels(y_true) * y_pred, 0.0), axis=-1)


@_tag(SquaredHinge)
def squared_hinge(y_true, y_pred):
    """``mean(max(1 - y_true * y_pred, 0)**2, axis=-1)`` per sample (0/1
    labels as -1/1)."""
    y_pred = np.asarray(y_pred, dtype=np.float64)
    return np.mean(np.square(np.maximum(1.0 - _hinge_labels(y_true) * y_pred, 0.0)), axis=-1)


@_tag(CategoricalHinge)
def categorical_hinge(y_true, y_pred):
    """``max(neg - pos + 1, 0)`` per sample, ``pos = sum(y_true * y_pred)``,
    ``neg = max((1 - y_true) * y_pred)``."""
    y_pred = np.asarray(y_pred, dtype=np.float64)
    y_true = np.asarray(y_true, dtype=np.float64)
    pos = np.sum(y_true * y_pred, axis=-1)
    neg = np.max((1.0 - y_true) * y_pred, axis=-1)
    return np.maximum(neg - pos + 1.0, 0.0)


def _l2_normalize(x, axis=-1):
    """Keras's ``ops.normalize(x, order=2)``: ``x * min(rsqrt(sum x**2), 1e7)``."""
    with np.errstate(divide="ignore"):
        inv = 1.0 / np.sqrt(np.sum(np.square(x), axis=axis, keepdims=True))
    return x * np.minimum(inv, 1.0 / _EPSILON)


@_tag(CosineSimilarity)
def cosine_similarity(y_true, y_pred, axis=-1):
    """``-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis=axis)`` per
    sample, as Keras's `losses.cosine_similarity` (the metric
    `metrics.CosineSimilarity` averages its negation)."""
    y_true, y_pred = _same_rank(y_true, y_pred)
    return -np.sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis=axis)
