"""Losses (``keras.losses``): each reduces with ``sum_over_batch_size``
(weighted sum over samples divided by the number of samples); a model trains
with the loss's C++ kernel, which computes the loss and its gradient.

Models take a loss as a Keras string (``"mse"``,
``"sparse_categorical_crossentropy"``, ...), an instance of a class below, or
one of Keras's loss functions below (``keras.losses.mean_squared_error`` ...),
which trains as its class with the default arguments.

Called on arrays, as in Keras 3, both take what Keras's take: 1-D inputs (one
sample), a label of one rank less than the prediction, shapes that broadcast,
lists. A function returns the per-sample losses (one per position of the
inputs' leading axes), in float64 NumPy. An instance reduces them as its
``reduction`` says (Keras's: the weighted mean by default, as a float), from
its inputs rounded to float32 as Keras's: computed by the C++ kernel where
the inputs are rows of samples, else by reducing its function's values.
:func:`get` returns what ``keras.losses.get`` returns: the function for a
function's name (``"mse"``), an instance for a class name.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from fastnn import _absent
from fastnn import ops as _ops
from fastnn.utils.naming import to_snake_case
from fastnn.utils.tensors import plain_tensor

__all__ = [
    "BinaryCrossentropy",
    "BinaryFocalCrossentropy",
    "CategoricalCrossentropy",
    "CategoricalFocalCrossentropy",
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
    "binary_focal_crossentropy",
    "categorical_crossentropy",
    "categorical_focal_crossentropy",
    "categorical_hinge",
    "cosine_similarity",
    "deserialize",
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
    "serialize",
    "sparse_categorical_crossentropy",
    "squared_hinge",
]


# Keras loss arguments fastnn has only at their defaults: (accepted values).
_KERAS_ONLY_ARGUMENTS = {
    "dtype": (None, "float32"),
    "axis": (-1,),
    "ignore_class": (None,),
}

# Keras 3's reductions (keras/src/losses/loss.py standardize_reduction).
_REDUCTIONS = ("sum_over_batch_size", "sum", None, "none", "mean", "mean_with_sample_weight")


def _check_keras_only(cls_name: str, **arguments) -> None:
    """Keras's loss arguments at values fastnn computes, else a ValueError."""
    for key, value in arguments.items():
        if value not in _KERAS_ONLY_ARGUMENTS[key]:
            raise ValueError(
                f"{cls_name}: {key}={value!r} is not supported by fastnn (only its Keras "
                f"default, {_KERAS_ONLY_ARGUMENTS[key][0]!r})"
            )


def _standardize_reduction(reduction):
    """Keras's `standardize_reduction`: one of its reductions, else a ValueError."""
    if not isinstance(reduction, (str, type(None))) or reduction not in _REDUCTIONS:
        raise ValueError(
            "Invalid value for argument `reduction`. Expected one of "
            f"{set(_REDUCTIONS)}. Received: reduction={reduction!r}"
        )
    return reduction


class Loss:
    """Base class: ``kernel`` names the C++ loss a model trains with, ``fn``
    the per-sample loss function an instance reduces when called (Keras's
    ``LossFunctionWrapper``); ``from_logits`` and ``delta`` go to both.

    A subclass may override `call` instead (per-sample losses from float32
    arrays), as in Keras; such a loss can be called, not trained with.
    """

    kernel = ""
    fn = None  # the per-sample loss function, set by `_tag`
    label_smoothing = 0.0  # set by the cross-entropies that take it
    # the focal cross-entropies' (set by them)
    alpha = 0.25
    gamma = 2.0
    apply_class_balancing = False
    reduction = "sum_over_batch_size"  # (also for instances pickled before it)

    def __init__(
        self,
        name: Optional[str] = None,
        from_logits: bool = False,
        delta: float = 1.0,
        *,
        reduction="sum_over_batch_size",
    ):
        self.name = name or to_snake_case(type(self).__name__)
        self.from_logits = bool(from_logits)
        self.delta = float(delta)
        self.reduction = _standardize_reduction(reduction)

    @classmethod
    def from_config(cls, config: dict):
        """The loss `get_config()` (or Keras 3's config of it) describes."""
        return cls(**config)

    def __call__(self, y_true, y_pred, sample_weight=None) -> float:
        """The loss of `y_pred` against `y_true`, as Keras 3's ``Loss.__call__``.

        Both become float32 arrays; `call` gives the per-sample losses; those
        are multiplied by `sample_weight` (brought to their rank as Keras
        does, then broadcast) and reduced as `reduction` says:
        ``"sum_over_batch_size"`` and ``"mean"`` sum and divide by the number
        of products, ``"sum"`` sums, ``"mean_with_sample_weight"`` divides
        the sum by the sum of `sample_weight` (by the number of products
        without weights; 0 for a zero divisor), `None` and ``"none"`` return
        the weighted per-sample losses. Where the inputs are rows of samples
        (equal shapes, weights per sample), the C++ kernel models train with
        computes the sum; otherwise (shapes that broadcast, weights that add
        axes, no reduction) NumPy does.

        Args:
            y_true: labels, array-like: the shape of `y_pred`, one rank less
                or more (an axis of 1), or one that broadcasts against it.
            y_pred: predictions, array-like, e.g. (samples, outputs), or
                (samples,) for one sample of that many outputs.
            sample_weight: per-sample weights, array-like or a number.
                Defaults to `None` (all 1).

        Returns:
            The loss, a float; with `reduction` `None` or ``"none"`` the
            weighted per-sample losses, a float32 array (0 samples: 0.0, or
            an empty array without reduction).

        >>> MeanSquaredError()([0.0, 1.0, 2.0], [1.0, 1.0, 1.0])
        0.6666666666666666
        >>> MeanSquaredError(reduction=None)([[0.0, 1.0], [2.0, 2.0]], [[1.0, 1.0], [1.0, 1.0]])
        array([0.5, 1. ], dtype=float32)
        """
        reduction = self.reduction
        y_true = _numeric(y_true, "y_true")
        if self.kernel != "sparse_categorical_crossentropy":  # class ids are checked as given
            y_true = y_true.astype(np.float32)
        y_pred = _numeric(y_pred, "y_pred").astype(np.float32)
        if self.kernel and type(self).call is Loss.call and reduction not in (None, "none"):
            y_true, y_pred = _squeeze_or_expand(y_true, y_pred)
            rows = _kernel_rows(self.kernel, y_true, y_pred, sample_weight)
            if rows is not None:  # the kernel models train with computes it
                target, pred, weights = rows
                if self.kernel == "binary_focal_crossentropy" or (
                    self.kernel == "binary_crossentropy" and not self.from_logits
                ):
                    smoothing = self.label_smoothing or 0.0
                    _check_binary_targets(
                        target.astype(np.float64) * (1.0 - smoothing) + 0.5 * smoothing,
                        self.kernel,
                    )
                value, _ = _ops.loss(
                    target, pred, self.kernel, sample_weight=weights, **self._kernel_kwargs()
                )
                count = pred.shape[0]
                if reduction == "sum":
                    return float(value) * count
                if reduction == "mean_with_sample_weight" and sample_weight is not None:
                    divisor = _weight_sum(sample_weight, y_pred.shape[:-1])
                    return float(value) * count / divisor if divisor else 0.0
                return float(value)
        values = self.call(y_true, y_pred)
        return _reduce_weighted(values, sample_weight, reduction, type(self).__name__)

    def _kernel_kwargs(self) -> dict:
        """The C++ loss's arguments (fastnn.ops.loss, Network.set_loss)."""
        return {
            "from_logits": self.from_logits,
            "delta": self.delta,
            "label_smoothing": self.label_smoothing,
            "alpha": _engine_alpha(self.alpha),
            "gamma": self.gamma,
            "apply_class_balancing": self.apply_class_balancing,
        }

    def _engine_kwargs(self) -> dict:
        """`Network.set_loss`'s arguments for training with this loss: the
        kernel's and the reduction (None/"none" refused by `_resolve`)."""
        return {**self._kernel_kwargs(), "reduction": self.reduction or "sum_over_batch_size"}

    def call(self, y_true, y_pred):
        """The per-sample losses: `fn` on `y_true` and `y_pred` brought to
        the same rank (Keras's ``squeeze_or_expand_to_same_rank``)."""
        if self.fn is None:
            raise NotImplementedError(
                f"{type(self).__name__} computes no loss: a subclass of Loss overrides call()"
            )
        y_true, y_pred = _squeeze_or_expand(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs())

    def _fn_kwargs(self) -> dict:
        """The arguments `fn` takes from the instance (Keras's ``_fn_kwargs``)."""
        return {}

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction}


# How to make class ids of text labels (also models' pandas columns; the C++
# bindings' array_utils.cpp says the same for arrays reaching the engine)
ENCODE_LABELS = (
    "encode them as class ids 0..k-1 first (pandas.factorize(labels)[0], or scikit-learn's "
    "LabelEncoder)"
)


def _numeric(value, what: str):
    """`value` as an array of a real numeric dtype, else a TypeError (a
    torch tensor as Keras's torch backend takes it)."""
    if value is None:
        raise TypeError(f"{what} is None: expected an array of numbers")
    array = np.asarray(plain_tensor(value))
    if array.dtype.kind not in "biuf":
        hint = ""
        if array.dtype.kind in "OUS" and what.startswith("y"):
            hint = ": labels that are strings or other objects: " + ENCODE_LABELS
        raise TypeError(
            f"{what} must have a real numeric dtype (bool, int, uint or float), "
            f"got dtype {array.dtype}{hint}"
        )
    return array


def _squeeze_or_expand(x1, x2):
    """Keras's `squeeze_or_expand_to_same_rank`: where one array has one axis
    more than the other and that last axis is 1, a 1-D other gains that axis,
    any other loses it from the larger."""
    if x1.ndim == x2.ndim + 1 and x1.shape[-1] == 1:
        if x2.ndim == 1:
            x2 = x2[..., None]
        else:
            x1 = x1[..., 0]
    elif x2.ndim == x1.ndim + 1 and x2.shape[-1] == 1:
        if x1.ndim == 1:
            x1 = x1[..., None]
        else:
            x2 = x2[..., 0]
    return x1, x2


def _kernel_rows(kernel: str, y_true, y_pred, sample_weight):
    """``(y_true, y_pred, sample_weight)`` laid out as the C++ kernel takes
    them, one row per sample (position of `y_pred`'s leading axes), or
    `None` where Keras's result needs broadcasting (`y_true` of another
    shape, weights with axes of their own)."""
    if y_pred.ndim == 0:
        return None
    samples, outputs = y_pred.shape[:-1], y_pred.shape[-1]
    rows = int(np.prod(samples))
    if kernel == "sparse_categorical_crossentropy":
        if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
            y_true = y_true[..., 0]
        if y_true.shape != samples:
            return None
        target = y_true.reshape(rows)
    elif y_true.shape == y_pred.shape:
        target = y_true.reshape(rows, outputs)
    else:
        return None
    weights = None
    if sample_weight is not None:
        values = np.broadcast_to(np.float32(0.0), samples)  # the per-sample losses' shape
        values, weights = _squeeze_or_expand(values, _numeric(sample_weight, "sample_weight"))
        try:
            weighted = np.broadcast_shapes(values.shape, weights.shape)
        except ValueError:
            return None  # NumPy's path raises as Keras
        if weighted != values.shape:
            return None
        weights = np.broadcast_to(weights, values.shape).reshape(rows)
    return target, y_pred.reshape(rows, outputs), weights


def _weights(sample_weight):
    """`sample_weight` as Keras takes it: float32 values (held in float64)."""
    return _numeric(sample_weight, "sample_weight").astype(np.float32).astype(np.float64)


def _weight_sum(sample_weight, samples) -> float:
    """The divisor of ``mean_with_sample_weight``: the sum of the weights
    after Keras brings them to the per-sample losses' rank (`samples` their
    shape), not of their broadcast."""
    _, weights = _squeeze_or_expand(np.zeros(samples), _weights(sample_weight))
    return float(np.sum(weights))


def _reduce_weighted(values, sample_weight, reduction="sum_over_batch_size", what="Loss"):
    """Keras's `reduce_weighted_values`: the per-sample `values` times the
    weights; `None`/"none": those as float32; else summed, over the number
    of products (``sum_over_batch_size``, ``mean``) or the weights' sum
    (``mean_with_sample_weight``), 0.0 for none. Weights that do not
    broadcast to the values are a ValueError naming both shapes (`what`
    the loss)."""
    values = np.asarray(values, dtype=np.float64)
    weights = None
    if sample_weight is not None:
        given = _weights(sample_weight)
        values, weights = _squeeze_or_expand(values, given)
        try:
            np.broadcast_shapes(values.shape, weights.shape)
        except ValueError:
            raise ValueError(
                f"{what}: sample_weight of shape {given.shape} does not fit the per-sample "
                f"losses of shape {values.shape}: expected a number, one weight per sample "
                f"(shape {values.shape}) or a shape that broadcasts to it"
            ) from None
        values = values * weights
    if reduction is None or reduction == "none":
        return values.astype(np.float32)
    if values.size == 0:
        return 0.0
    total = float(np.sum(values))
    if reduction == "sum":
        return total
    divisor = (
        float(np.sum(weights))
        if reduction == "mean_with_sample_weight" and weights is not None
        else values.size
    )
    return total / divisor if divisor else 0.0


class MeanSquaredError(Loss):
    """``mean((y_pred - y_true)**2, axis=-1)`` per sample.

    >>> MeanSquaredError()([[0.0, 1.0]], [[1.0, 1.0]])
    0.5
    """

    kernel = "mean_squared_error"

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error", dtype=None):
        _check_keras_only(type(self).__name__, dtype=dtype)
        super().__init__(name, reduction=reduction)


class MeanAbsoluteError(Loss):
    """``mean(|y_pred - y_true|, axis=-1)`` per sample."""

    kernel = "mean_absolute_error"

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error", dtype=None):
        _check_keras_only(type(self).__name__, dtype=dtype)
        super().__init__(name, reduction=reduction)


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
        _check_keras_only(type(self).__name__, dtype=dtype)
        try:
            positive = float(delta) > 0.0
        except OverflowError:  # an int too large for a float
            positive = False
        except (TypeError, ValueError):  # a string, None ...
            raise TypeError(f"delta must be a number > 0, got {delta!r}") from None
        if not positive:
            raise ValueError(f"delta must be > 0, got {delta!r}")
        super().__init__(name, delta=delta, reduction=reduction)

    def _fn_kwargs(self) -> dict:
        return {"delta": self.delta}

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
    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        name: str = "",
        reduction="sum_over_batch_size",
    ):
        label_smoothing = _label_smoothing(label_smoothing)
        super().__init__(name, from_logits=from_logits, reduction=reduction)
        self.label_smoothing = label_smoothing

    def _fn_kwargs(self) -> dict:
        return {
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            **self._own_parameters(),
        }

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "axis": -1,
            **self._own_parameters(),
        }

    def _own_parameters(self) -> dict:
        """A subclass's further arguments, both to its function and in its
        config (the focal losses' alpha, gamma, ...)."""
        return {}


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
        _check_keras_only(type(self).__name__, axis=axis, dtype=dtype)
        super().__init__(from_logits, label_smoothing, name, reduction)


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
        _check_keras_only(type(self).__name__, axis=axis, dtype=dtype)
        super().__init__(from_logits, label_smoothing, name, reduction)


class SparseCategoricalCrossentropy(Loss):
    """Cross-entropy against integer class ids.

    Args:
        from_logits: whether `y_pred` holds logits. Defaults to `False`.
        ignore_class, axis, dtype: Keras's, accepted at their defaults
            (`None`, `-1`, `None`).

    >>> SparseCategoricalCrossentropy()([1], [[0.5, 0.5]])  # doctest: +ELLIPSIS
    0.693...
    """

    kernel = "sparse_categorical_crossentropy"

    def __init__(
        self,
        from_logits: bool = False,
        ignore_class=None,
        reduction="sum_over_batch_size",
        axis=-1,
        name: str = "sparse_categorical_crossentropy",
        dtype=None,
    ):
        _check_keras_only(type(self).__name__, ignore_class=ignore_class, dtype=dtype, axis=axis)
        super().__init__(name, from_logits=from_logits, reduction=reduction)

    def _fn_kwargs(self) -> dict:
        return {"from_logits": self.from_logits}

    def get_config(self) -> dict:
        return {**super().get_config(), "from_logits": self.from_logits, "ignore_class": None}


def _focal_number(value, what: str, hint: str = "") -> float:
    """A focal cross-entropy's alpha or gamma: a finite real number."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise ValueError(f"{what} must be a finite number, got {value!r}{hint}")
    number = float(value)
    if not np.isfinite(number):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return number


def _class_alpha(value):
    """CategoricalFocalCrossentropy's alpha: a finite number, or (Keras's
    per-class weights) a list, tuple or 1-D array of them, kept as a list of
    floats."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if not isinstance(value, (list, tuple, np.ndarray)):
        return _focal_number(value, "alpha", " (or a list of one number per class)")
    if isinstance(value, np.ndarray):
        entries = list(value) if value.ndim == 1 else []
    else:
        entries = list(value)
    if not entries:
        raise ValueError(f"alpha must be a number or a list of one number per class, got {value!r}")
    return [_focal_number(a, f"alpha[{i}]") for i, a in enumerate(entries)]


def _engine_alpha(alpha):
    """alpha as the C++ kernel takes it: a number, or one per class (a list
    of one is that number for every class, as Keras broadcasts it)."""
    return alpha[0] if isinstance(alpha, list) and len(alpha) == 1 else alpha


class BinaryFocalCrossentropy(_Crossentropy):
    """Keras 3's binary focal cross-entropy (Lin et al., 2018), averaged over
    the last axis: per element ``b * (1 - p_t)**gamma * bce(y, p)`` with
    ``p_t = y p + (1 - y)(1 - p)``, the binary cross-entropy on ``p``
    clipped to ``[1e-7, 1 - 1e-7]`` (``p_t`` on ``p`` itself, as Keras),
    ``b = y alpha + (1 - y)(1 - alpha)`` with class balancing, else 1.
    ``gamma = 0`` without balancing is plain binary cross-entropy on
    probabilities (with `from_logits`, of ``sigmoid(y_pred)`` clipped, as
    Keras: not the logits form of `BinaryCrossentropy`).

    Args:
        apply_class_balancing: whether to weight class 1 by `alpha` and
            class 0 by ``1 - alpha``. Defaults to `False`.
        alpha: the balancing weight of class 1. Defaults to `0.25`.
        gamma: the focusing exponent. Defaults to `2.0`.
        from_logits: whether `y_pred` holds logits. Defaults to `False`.
        label_smoothing: in [0, 1]; targets become
            ``y * (1 - label_smoothing) + 0.5 * label_smoothing``. Defaults
            to `0.0`.
        axis: `-1` only. Defaults to `-1`.
        reduction: Keras's (see `Loss.__call__`). Defaults to
            `"sum_over_batch_size"`.
        name: defaults to `"binary_focal_crossentropy"`.
        dtype: `None` or `"float32"`. Defaults to `None`.

    >>> loss = BinaryFocalCrossentropy(gamma=2.0)
    >>> round(loss([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]), 4)
    0.2678
    """

    kernel = "binary_focal_crossentropy"

    def __init__(
        self,
        apply_class_balancing=False,
        alpha=0.25,
        gamma=2.0,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="binary_focal_crossentropy",
        dtype=None,
    ):
        _check_keras_only(type(self).__name__, axis=axis, dtype=dtype)
        alpha = _focal_number(alpha, "alpha", " (BinaryFocalCrossentropy takes one alpha)")
        gamma = _focal_number(gamma, "gamma")
        super().__init__(from_logits, label_smoothing, name, reduction)
        self.apply_class_balancing = bool(apply_class_balancing)
        self.alpha, self.gamma = alpha, gamma

    def _own_parameters(self) -> dict:
        return {
            "apply_class_balancing": self.apply_class_balancing,
            "alpha": self.alpha,
            "gamma": self.gamma,
        }


class CategoricalFocalCrossentropy(_Crossentropy):
    """Keras 3's categorical focal cross-entropy: per sample
    ``-sum(alpha_j * (1 - c_j)**gamma * y_j * log(c_j), axis=-1)``, ``c`` the
    probabilities renormalised to sum to 1 and clipped to ``[1e-7, 1 -
    1e-7]`` (after a softmax with `from_logits`). ``gamma = 0`` is `alpha`
    times categorical cross-entropy.

    Args:
        alpha: the weight of every class, a number, or a list of one weight
            per class (``alpha_j`` for class j; as Keras, it multiplies the
            last axis, so it needs as many values as the predictions have
            classes, or one). Defaults to `0.25`.
        gamma: the focusing exponent. Defaults to `2.0`.
        from_logits: whether `y_pred` holds logits. Defaults to `False`.
        label_smoothing: in [0, 1]; targets become
            ``y * (1 - label_smoothing) + label_smoothing / classes``.
            Defaults to `0.0`.
        axis: `-1` only. Defaults to `-1`.
        reduction: Keras's (see `Loss.__call__`). Defaults to
            `"sum_over_batch_size"`.
        name: defaults to `"categorical_focal_crossentropy"`.
        dtype: `None` or `"float32"`. Defaults to `None`.

    >>> loss = CategoricalFocalCrossentropy()
    >>> round(loss([[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]), 4)
    0.2332
    """

    kernel = "categorical_focal_crossentropy"

    def __init__(
        self,
        alpha=0.25,
        gamma=2.0,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="categorical_focal_crossentropy",
        dtype=None,
    ):
        if isinstance(axis, bool):  # (Keras's message)
            raise ValueError(
                f"`axis` must be of type `int`. Received: axis={axis} of type {type(axis)}"
            )
        _check_keras_only(type(self).__name__, axis=axis, dtype=dtype)
        alpha, gamma = _class_alpha(alpha), _focal_number(gamma, "gamma")
        super().__init__(from_logits, label_smoothing, name, reduction)
        self.alpha, self.gamma = alpha, gamma

    def _own_parameters(self) -> dict:
        return {"alpha": self.alpha, "gamma": self.gamma}


class _KerasLoss(Loss):
    """A loss whose only Keras arguments are `reduction`, `name` and `dtype`
    (the kernel's name is its default name)."""

    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None):
        _check_keras_only(type(self).__name__, dtype=dtype)
        super().__init__(name or self.kernel, reduction=reduction)


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
        reduction: Keras's (see `Loss.__call__`). Defaults to
            `"sum_over_batch_size"`.
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
# Per-sample losses, in float64 NumPy, vectorized, taking the shapes Keras's
# take: the ones Keras brings to the same rank first (`_float64` below) and
# the ones it only broadcasts (kl_divergence, poisson and the hinges), as
# Keras. `compile(loss=<function>)` trains with the class the function is
# tagged with (`_loss_class`), whose C++ kernel computes the same values;
# an instance of the class reduces the function's values when called (`fn`).

_EPSILON = 1e-7  # keras.config.epsilon()


def _same_rank(y_true, y_pred):
    """Float64 arrays; a label of one rank less gets a last axis of 1 (or a
    prediction one); then equal shapes, else a ValueError (the metrics'
    rule)."""
    y_true = _numeric(y_true, "y_true").astype(np.float64)
    y_pred = _numeric(y_pred, "y_pred").astype(np.float64)
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


def _float64(y_true, y_pred, same_rank: bool = True):
    """Both as float64 arrays, brought to the same rank as Keras's
    `squeeze_or_expand_to_same_rank` where `same_rank`; shapes that do not
    broadcast raise a ValueError."""
    y_pred = _numeric(y_pred, "y_pred").astype(np.float64)
    y_true = _numeric(y_true, "y_true").astype(np.float64)
    if same_rank:
        y_true, y_pred = _squeeze_or_expand(y_true, y_pred)
    try:
        np.broadcast_shapes(y_true.shape, y_pred.shape)
    except ValueError:
        raise ValueError(
            "Arguments `target` and `output` must have the same shape, or shapes that "
            f"broadcast. Received: target.shape={y_true.shape}, output.shape={y_pred.shape}"
        ) from None
    return y_true, y_pred


def _mean(x, axis=-1):
    """`np.mean` over `axis`; a 0-d array is its own mean (as torch's)."""
    return np.mean(x, axis=axis) if x.ndim else x


def _sum(x, axis=-1):
    return np.sum(x, axis=axis) if x.ndim else x


def _same_shape(y_true, y_pred) -> None:
    """The torch backend's check of the cross-entropies (no broadcasting)."""
    if y_true.shape != y_pred.shape:
        raise ValueError(
            "Arguments `target` and `output` must have the same shape. "
            f"Received: target.shape={y_true.shape}, output.shape={y_pred.shape}"
        )


def _log_softmax(z, axis):
    z = z - np.max(z, axis=axis, keepdims=True)
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def _tag(cls):
    """Pairs a Keras loss function with its class: `compile(loss=function)`
    trains as the class; an instance of the class reduces the function."""

    def tag(function):
        function._loss_class = cls
        cls.fn = staticmethod(function)
        return function

    return tag


@_tag(MeanSquaredError)
def mean_squared_error(y_true, y_pred):
    """``mean((y_true - y_pred) ** 2, axis=-1)``, per sample.

    >>> mean_squared_error([[0.0, 1.0], [1.0, 1.0]], [[1.0, 1.0], [1.0, 1.0]])
    array([0.5, 0. ])
    """
    y_true, y_pred = _float64(y_true, y_pred)
    return _mean(np.square(y_true - y_pred))


@_tag(MeanAbsoluteError)
def mean_absolute_error(y_true, y_pred):
    """``mean(|y_true - y_pred|, axis=-1)``, per sample."""
    y_true, y_pred = _float64(y_true, y_pred)
    return _mean(np.abs(y_true - y_pred))


@_tag(Huber)
def huber(y_true, y_pred, delta=1.0):
    """Huber loss per sample: ``0.5 e**2`` where ``|e| <= delta`` else
    ``delta |e| - 0.5 delta**2``, averaged over the last axis."""
    y_true, y_pred = _float64(y_true, y_pred)
    error = np.abs(y_pred - y_true)
    delta = float(delta)
    return _mean(np.where(error <= delta, 0.5 * error**2, delta * error - 0.5 * delta**2))


def _check_binary_targets(targets: np.ndarray, what: str) -> None:
    """Keras's torch backend refuses probability targets outside [0, 1] (after
    label smoothing) in its binary cross-entropy ("all elements of target
    should be between 0 and 1"), as fastnn's training does: a ValueError
    naming the first one."""
    outside = ~((targets >= 0) & (targets <= 1))
    if outside.any():
        index = tuple(int(i) for i in np.argwhere(outside)[0])
        raise ValueError(
            f"{what} takes labels in [0, 1] (after label smoothing), got "
            f"{float(targets[index])!r} at index {index if len(index) > 1 else index[0]}; "
            "labels of several classes: use sparse_categorical_crossentropy with a softmax "
            "output of one unit per class"
        )


@_tag(BinaryCrossentropy)
def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Binary cross-entropy per sample, averaged over `axis`; probabilities
    are clipped to ``[1e-7, 1 - 1e-7]``. `y_true` and `y_pred` have one
    shape (the classes bring a label of one rank less to it)."""
    y_true, y_pred = _float64(y_true, y_pred, same_rank=False)
    _same_shape(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if not from_logits:
        _check_binary_targets(y_true, "binary_crossentropy")
    if from_logits:  # max(z, 0) - z y + log(1 + exp(-|z|))
        z = y_pred
        elementwise = np.maximum(z, 0.0) - z * y_true + np.log1p(np.exp(-np.abs(z)))
    else:
        p = np.clip(y_pred, _EPSILON, 1.0 - _EPSILON)
        elementwise = -(y_true * np.log(p) + (1.0 - y_true) * np.log(1.0 - p))
    return _mean(elementwise, axis)


def _categorical_inputs(y_true, y_pred, label_smoothing, axis):
    """The categorical cross-entropies' checks (Keras's messages) and
    smoothed targets ``y (1 - ls) + ls / classes``, as float64 arrays."""
    if isinstance(axis, bool):
        raise ValueError(
            f"`axis` must be of type `int`. Received: axis={axis} of type {type(axis)}"
        )
    y_true, y_pred = _float64(y_true, y_pred, same_rank=False)
    _same_shape(y_true, y_pred)
    if y_pred.ndim < 1:
        raise ValueError(
            "Arguments `target` and `output` must be at least rank 1. "
            f"Received: target.shape={y_true.shape}, output.shape={y_pred.shape}"
        )
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[-1]
    return y_true, y_pred


@_tag(CategoricalCrossentropy)
def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Cross-entropy per sample against one-hot (or soft) targets of the
    shape of `y_pred`; probabilities are renormalised to sum to 1 and
    clipped to ``[1e-7, 1 - 1e-7]``."""
    y_true, y_pred = _categorical_inputs(y_true, y_pred, label_smoothing, axis)
    if from_logits:
        log_p = _log_softmax(y_pred, axis)
    else:
        p = _renormalized(y_pred, axis)
        log_p = np.log(np.clip(p, _EPSILON, 1.0 - _EPSILON))
    return -np.sum(y_true * log_p, axis=axis)


# Keras clips at 1 - epsilon held in float32 (0.99999988), as the kernels.
_ONE_MINUS_EPSILON = float(np.float32(1.0 - _EPSILON))


def _sigmoid(z):
    """Logistic sigmoid without overflow."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


@_tag(BinaryFocalCrossentropy)
def binary_focal_crossentropy(
    y_true,
    y_pred,
    apply_class_balancing=False,
    alpha=0.25,
    gamma=2.0,
    from_logits=False,
    label_smoothing=0.0,
    axis=-1,
):
    """Keras 3's binary focal cross-entropy per sample: ``b * (1 -
    p_t)**gamma * bce`` averaged over `axis` (see `BinaryFocalCrossentropy`).

    >>> binary_focal_crossentropy([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]).round(3)
    array([0.33 , 0.206])
    """
    y_true, y_pred = _float64(y_true, y_pred, same_rank=False)
    _same_shape(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    _check_binary_targets(y_true, "binary_focal_crossentropy")
    if from_logits:
        y_pred = _sigmoid(y_pred)
    p = np.clip(y_pred, _EPSILON, _ONE_MINUS_EPSILON)
    bce = -(y_true * np.log(p) + (1.0 - y_true) * np.log(1.0 - p))
    p_t = y_true * y_pred + (1.0 - y_true) * (1.0 - y_pred)
    focal = np.power(1.0 - p_t, gamma) * bce
    if apply_class_balancing:
        focal = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * focal
    return _mean(focal, axis)


@_tag(CategoricalFocalCrossentropy)
def categorical_focal_crossentropy(
    y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1
):
    """Keras 3's categorical focal cross-entropy per sample: ``-sum(alpha *
    (1 - c)**gamma * y * log(c), axis)``, ``c`` the renormalised, clipped
    probabilities (see `CategoricalFocalCrossentropy`); `alpha` a number or
    a list of one weight per class (the last axis).

    >>> categorical_focal_crossentropy([[0, 1, 0], [0, 0, 1]],
    ...                                [[0.05, 0.9, 0.05], [0.1, 0.85, 0.05]]).round(6).tolist()
    [0.000263, 0.675912]
    """
    alpha = _engine_alpha(_class_alpha(alpha))
    y_true, y_pred = _categorical_inputs(y_true, y_pred, label_smoothing, axis)
    if isinstance(alpha, list):
        _check_alpha_length(alpha, y_pred.shape[-1])
        alpha = np.asarray(alpha, np.float32).astype(np.float64)  # Keras's float32 tensor
    if from_logits:
        y_pred = np.exp(_log_softmax(y_pred, axis))
    c = np.clip(_renormalized(y_pred, axis), _EPSILON, _ONE_MINUS_EPSILON)
    return np.sum(alpha * np.power(1.0 - c, gamma) * (-y_true * np.log(c)), axis=axis)


def _renormalized(y_pred: np.ndarray, axis: int) -> np.ndarray:
    """`y_pred` over its sum along `axis`: NaN for a row summing to 0 (a
    ReLU output), without NumPy's warning (Keras is silent there)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return y_pred / np.sum(y_pred, axis=axis, keepdims=True)


def _check_alpha_length(alpha: list, classes: int) -> None:
    """One alpha per class (or one for all), as Keras's product broadcasts."""
    if len(alpha) not in (1, classes):
        raise ValueError(
            f"categorical_focal_crossentropy: alpha has {len(alpha)} values (one per class) "
            f"but the predictions have {classes} classes"
        )


@_tag(SparseCategoricalCrossentropy)
def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Cross-entropy per sample against integer class ids: `y_true` has the
    shape of `y_pred` without its class `axis` (or with an axis of 1 there);
    probabilities are renormalised and clipped as in
    `categorical_crossentropy`. `ignore_class` is not supported."""
    if ignore_class is not None:
        raise ValueError("fastnn does not support `ignore_class`; pass None")
    y_pred = _numeric(y_pred, "y_pred").astype(np.float64)
    labels = _numeric(y_true, "y_true")
    if y_pred.ndim < 1:
        raise ValueError(f"Argument `output` must be at least rank 1. Received: {y_pred.shape}")
    if labels.ndim == y_pred.ndim and labels.shape[axis] == 1:
        labels = np.squeeze(labels, axis=axis)
    y_pred = np.moveaxis(y_pred, axis, -1)
    if labels.shape != y_pred.shape[:-1]:
        raise ValueError(
            "Arguments `target` and `output` must have the same shape up until the last "
            f"dimension: target.shape={labels.shape}, output.shape={y_pred.shape}. y_pred "
            "must be (batch, classes), each sample's class scores on its last axis, and "
            "y_true one class id per sample, (batch,) or (batch, 1)"
            + (
                f"; a 1-D y_pred is one sample of {y_pred.shape[0]} classes"
                if y_pred.ndim == 1
                else ""
            )
        )
    classes = labels.astype(np.int64)
    if np.any(classes != labels) or np.any(classes < 0) or np.any(classes >= y_pred.shape[-1]):
        raise ValueError(
            f"sparse_categorical_crossentropy takes class ids in [0, {y_pred.shape[-1]})"
        )
    if from_logits:
        log_p = _log_softmax(y_pred, -1)
    else:
        p = _renormalized(y_pred, -1)
        log_p = np.log(np.clip(p, _EPSILON, 1.0 - _EPSILON))
    return -np.take_along_axis(log_p, classes[..., None], axis=-1)[..., 0]


@_tag(MeanAbsolutePercentageError)
def mean_absolute_percentage_error(y_true, y_pred):
    """``100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7), axis=-1)``, per sample."""
    y_true, y_pred = _float64(y_true, y_pred)
    return 100.0 * _mean(np.abs((y_true - y_pred) / np.maximum(np.abs(y_true), _EPSILON)))


@_tag(MeanSquaredLogarithmicError)
def mean_squared_logarithmic_error(y_true, y_pred):
    """``mean((log(max(y_pred, 1e-7) + 1) - log(max(y_true, 1e-7) + 1))**2,
    axis=-1)``, per sample."""
    y_true, y_pred = _float64(y_true, y_pred)
    first_log = np.log(np.maximum(y_pred, _EPSILON) + 1.0)
    second_log = np.log(np.maximum(y_true, _EPSILON) + 1.0)
    return _mean(np.square(first_log - second_log))


@_tag(LogCosh)
def log_cosh(y_true, y_pred):
    """``mean(log(cosh(y_pred - y_true)), axis=-1)`` per sample, as
    ``x + softplus(-2x) - log(2)``."""
    y_true, y_pred = _float64(y_true, y_pred)
    x = y_pred - y_true
    return _mean(x + np.logaddexp(0.0, -2.0 * x) - np.log(2.0))


@_tag(KLDivergence)
def kl_divergence(y_true, y_pred):
    """``sum(y_true * log(y_true / y_pred), axis=-1)`` per sample, both
    clipped to ``[1e-7, 1]`` (broadcast, not brought to one rank, as Keras)."""
    y_true, y_pred = _float64(y_true, y_pred, same_rank=False)
    y_true = np.clip(y_true, _EPSILON, 1.0)
    y_pred = np.clip(y_pred, _EPSILON, 1.0)
    return _sum(y_true * np.log(y_true / y_pred))


@_tag(Poisson)
def poisson(y_true, y_pred):
    """``mean(y_pred - y_true * log(y_pred + 1e-7), axis=-1)`` per sample."""
    y_true, y_pred = _float64(y_true, y_pred, same_rank=False)
    with np.errstate(invalid="ignore", divide="ignore"):  # NaN / -inf as Keras
        return _mean(y_pred - y_true * np.log(y_pred + _EPSILON))


def _hinge_labels(y_true):
    """Keras's convert_binary_labels_to_hinge: all 0/1 labels become -1/1."""
    return 2.0 * y_true - 1.0 if np.all((y_true == 0) | (y_true == 1)) else y_true


@_tag(Hinge)
def hinge(y_true, y_pred):
    """``mean(max(1 - y_true * y_pred, 0), axis=-1)`` per sample (0/1 labels
    as -1/1)."""
    y_true, y_pred = _float64(y_true, y_pred, same_rank=False)
    return _mean(np.maximum(1.0 - _hinge_labels(y_true) * y_pred, 0.0))


@_tag(SquaredHinge)
def squared_hinge(y_true, y_pred):
    """``mean(max(1 - y_true * y_pred, 0)**2, axis=-1)`` per sample (0/1
    labels as -1/1)."""
    y_true, y_pred = _float64(y_true, y_pred, same_rank=False)
    return _mean(np.square(np.maximum(1.0 - _hinge_labels(y_true) * y_pred, 0.0)))


@_tag(CategoricalHinge)
def categorical_hinge(y_true, y_pred):
    """``max(neg - pos + 1, 0)`` per sample, ``pos = sum(y_true * y_pred)``,
    ``neg = max((1 - y_true) * y_pred)``."""
    y_true, y_pred = _float64(y_true, y_pred, same_rank=False)
    pos = _sum(y_true * y_pred)
    product = (1.0 - y_true) * y_pred
    neg = np.max(product, axis=-1) if product.ndim else product
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
    y_true, y_pred = _float64(y_true, y_pred)
    return -np.sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis=axis)


# -- resolving identifiers ---------------------------------------------------------------

# Keras 3's string ids of its loss functions (`keras.losses.get` returns these).
_FUNCTION_IDS = {
    **dict.fromkeys(["mean_squared_error", "mse", "MSE"], mean_squared_error),
    **dict.fromkeys(["mean_absolute_error", "mae", "MAE"], mean_absolute_error),
    **dict.fromkeys(
        ["mean_absolute_percentage_error", "mape", "MAPE"], mean_absolute_percentage_error
    ),
    **dict.fromkeys(
        ["mean_squared_logarithmic_error", "msle", "MSLE"], mean_squared_logarithmic_error
    ),
    **dict.fromkeys(["kl_divergence", "kld", "KLD"], kl_divergence),
    **dict.fromkeys(["binary_crossentropy", "bce", "BCE"], binary_crossentropy),
    "binary_focal_crossentropy": binary_focal_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "categorical_focal_crossentropy": categorical_focal_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "huber": huber,
    "log_cosh": log_cosh,
    "poisson": poisson,
    "hinge": hinge,
    "squared_hinge": squared_hinge,
    "categorical_hinge": categorical_hinge,
    "cosine_similarity": cosine_similarity,
}
# Ids Keras 3 dropped (tf.keras had them), kept by fastnn.
_LEGACY_FUNCTION_IDS = {
    "logcosh": log_cosh,
    "huber_loss": huber,
    "kullback_leibler_divergence": kl_divergence,
    "cce": categorical_crossentropy,
    "scce": sparse_categorical_crossentropy,
}
_CLASS_IDS = {
    cls.__name__: cls
    for cls in (Loss, *(function._loss_class for function in _FUNCTION_IDS.values()))
}
# What compile takes: every id above, and snake_case class names.
_ALIASES = {
    name: function._loss_class
    for name, function in {**_FUNCTION_IDS, **_LEGACY_FUNCTION_IDS}.items()
    if name.islower()
}


def _deserialize(config: dict):
    """The loss a Keras config dict describes: a class's
    (``{"class_name": "Huber", "config": {...}}``) or a function's
    (``{"class_name": "function", "config": "mean_squared_error"}``, or the
    function's name as `class_name`)."""
    name = config.get("class_name")
    if name == "function":
        name = config.get("config")
    if isinstance(name, str) and name in _CLASS_IDS:
        return _CLASS_IDS[name].from_config(config.get("config") or {})
    function = _FUNCTION_IDS.get(name) if isinstance(name, str) else None
    if function is None:
        raise ValueError(f"Could not interpret loss identifier: {config}")
    return function


def get(identifier):
    """The loss an identifier names, as Keras 3's ``keras.losses.get``.

    Args:
        identifier: a function's name (``"mse"``, ``"binary_crossentropy"``
            ...: that function, which returns per-sample losses), a class
            name (``"MeanSquaredError"``: an instance with the default
            arguments), a config dict (``{"class_name": "Huber", "config":
            {"delta": 2.0}}``), a class (an instance), any callable (itself)
            or `None` (`None`).

    Returns:
        A loss function or a `Loss` instance, or `None`.

    Raises:
        ValueError: for a name or object that is none of these.

    >>> get("mse") is mean_squared_error
    True
    >>> type(get("MeanSquaredError")).__name__
    'MeanSquaredError'
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        found = _deserialize(identifier)
    elif isinstance(identifier, str):
        found = (
            _FUNCTION_IDS.get(identifier)
            or _LEGACY_FUNCTION_IDS.get(identifier)
            or _CLASS_IDS.get(identifier)
        )
    else:
        found = identifier
    if not callable(found):
        hint = ""
        if identifier == "cosine_proximity":  # tf.keras 2's name (its value: -cosine)
            hint = " (tf.keras 2's 'cosine_proximity' is 'cosine_similarity' in Keras 3)"
        raise ValueError(f"Could not interpret loss identifier: {identifier}{hint}")
    return found() if isinstance(found, type) else found


def _python_loss_refused(what: str, still: str) -> NotImplementedError:
    """The one refusal of a loss Keras would train by differentiating Python
    code (a function, a Loss subclass with its own `call`): the same type as
    a custom layer's, the reason, and what fastnn supports instead."""
    return NotImplementedError(
        f"fastnn cannot train with {what}: fastnn has no automatic differentiation of Python "
        "code; it trains with its C++ losses and their exact gradients. Use a built-in loss "
        "instead: a Keras name ('mse', 'sparse_categorical_crossentropy', ...), a "
        "fastnn.losses class with its arguments (from_logits, label_smoothing, delta, ...) or "
        f"a Keras loss function (fastnn.losses.huber, ...); {still}"
    )


def _check_trainable(cls) -> None:
    """Refuses a Loss class fastnn cannot train with: one computing no C++
    loss (a direct subclass of Loss), or one overriding `call` (Keras
    differentiates `call` with its backend; fastnn's gradients are its C++
    kernels', and training with the parent's kernel would silently train
    another loss). Such a loss can still be called."""
    if not cls.kernel or cls.call is not Loss.call:
        raise _python_loss_refused(
            f"the Loss subclass {cls.__name__} (its own call(), or no built-in loss)",
            "the subclass can still be called on arrays or reported as a metric: "
            "compile(metrics=[...]).",
        )


def _is_crossentropy_alias(identifier) -> bool:
    """Whether `compile`'s loss is ``"crossentropy"`` or ``"ce"`` (any case),
    which Keras 3 decides from the labels' and predictions' shapes (binary,
    categorical or sparse categorical cross-entropy) when training starts."""
    return isinstance(identifier, str) and identifier.lower() in ("crossentropy", "ce")


def _resolve(identifier) -> Loss:
    """The `Loss` instance a model trains with: from a Keras string id or
    class name, an instance, a class, one of Keras's loss functions (its
    class, default arguments) or a config dict.

    Raises:
        ValueError: for an unknown name. TypeError: for another object.
        NotImplementedError: for a Python loss function or a Loss subclass
            with its own `call` (no automatic differentiation).
    """
    if isinstance(identifier, dict):
        identifier = get(identifier)
    if isinstance(identifier, Loss) or (
        isinstance(identifier, type) and issubclass(identifier, Loss)
    ):
        _check_trainable(identifier if isinstance(identifier, type) else type(identifier))
    if isinstance(identifier, Loss):
        if identifier.reduction is None or identifier.reduction == "none":
            raise ValueError(
                f"{type(identifier).__name__}(reduction={identifier.reduction!r}) returns "
                "per-sample losses, which a model cannot train with (Keras's torch backend "
                "fails on them too); compile with 'sum_over_batch_size' (the default), 'mean', "
                "'sum' or 'mean_with_sample_weight'"
            )
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
    if callable(identifier) and not isinstance(identifier, type):
        # a custom loss function, or a user's Loss-like class instance
        raise _python_loss_refused(
            f"the Python loss function {getattr(identifier, '__name__', identifier)!r:.80}",
            "the function can still be reported as a metric: compile(metrics=[fn]).",
        )
    raise TypeError(f"loss must be a string or a fastnn.losses.Loss, got {identifier!r}")


def serialize(loss):
    """Keras 3's ``losses.serialize``: a `Loss` as ``{"module": "keras.losses",
    "class_name", "config", "registered_name"}``, a loss function as
    ``{"module": "builtins", "class_name": "function", "config": its name,
    "registered_name": "function"}``; None, strings and numbers as they are.

    >>> serialize(Huber(delta=2.0))["config"]["delta"]
    2.0
    """
    from fastnn.saving import serialize_keras_object

    return serialize_keras_object(loss)


def deserialize(name, custom_objects=None):
    """Keras 3's ``losses.deserialize``: the loss `serialize` (or Keras)
    described, a function's name (``"mean_squared_error"``, ``"mse"``: the
    function), a class name (``"Huber"``: an instance with its defaults);
    `custom_objects` and registered classes are searched first. None gives
    None. Where Keras returns an unknown name as it is, this raises.

    Raises:
        ValueError: an unknown name or class, or a malformed config.
        TypeError: a function config naming no known function.
    """
    from fastnn.saving import deserialize_from_table, deserialize_function

    if isinstance(name, dict) and name.get("class_name") == "function":
        return deserialize_function(name, custom_objects)
    classes = {n: obj for n, obj in globals().items() if n in __all__ and isinstance(obj, type)}
    if isinstance(name, dict):
        function = _FUNCTION_IDS.get(name.get("class_name"))
        if function is not None and name["class_name"] not in (custom_objects or {}):
            return function  # (a function's name as class_name, as `get` takes it)
        return deserialize_from_table(name, classes, custom_objects)
    return deserialize_from_table(
        name, {**_LEGACY_FUNCTION_IDS, **_FUNCTION_IDS, **classes}, custom_objects
    )


# Keras's names this module lacks say what they are and why (fastnn._absent).
__getattr__ = _absent.module_getattr(__name__)
