"""`to_categorical` and `normalize`, as ``keras/src/utils/numerical_utils.py``."""

from __future__ import annotations

import operator

import numpy as np

__all__ = ["normalize", "to_categorical"]


def to_categorical(x, num_classes=None):
    """Converts a class vector (integers) to a one-hot class matrix.

    Like Keras: a trailing axis of size 1 is dropped first (`(n, 1)` gives
    `(n, num_classes)`), the class axis goes last, the result is float64.

    Args:
        x: array-like of class indices, integers in `[0, num_classes)`.
        num_classes: number of classes. `None` means `max(x) + 1`.
            Defaults to `None`.

    Returns:
        A NumPy array of shape `x.shape + (num_classes,)`.

    Raises:
        ValueError: when `x` holds non-integer values, negative values or values
            `>= num_classes`, or when `num_classes` is not a positive integer.

    >>> to_categorical([0, 2, 1], num_classes=3)
    array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 1., 0.]])
    """
    arr = np.asarray(x)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.integer)
        or np.issubdtype(arr.dtype, np.bool_)
        or np.issubdtype(arr.dtype, np.floating)
    ):
        raise ValueError(f"to_categorical expects integer class indices, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise ValueError(
                "to_categorical expects integer class indices; got non-integer or non-finite "
                f"values such as {arr[(~np.isfinite(arr)) | (arr != np.round(arr))].flat[0]!r}"
            )
    if arr.size:  # int64 would wrap these (2**64 - 1 read as -1, 1e30 as -2**63)
        for bad in (arr.min(), arr.max()):
            if not -(2**62) <= bad <= 2**62:
                raise ValueError(f"to_categorical: class index {bad} is out of range")
    labels = arr.astype(np.int64)
    input_shape = labels.shape
    if input_shape and input_shape[-1] == 1 and len(input_shape) > 1:
        input_shape = tuple(input_shape[:-1])
    labels = labels.reshape(-1)
    if num_classes is None or num_classes == 0 and not isinstance(num_classes, bool):
        if labels.size == 0:
            raise ValueError("to_categorical cannot infer num_classes from an empty array")
        num_classes = int(labels.max()) + 1
    else:
        if isinstance(num_classes, bool):
            raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
        try:
            num_classes = operator.index(num_classes)
        except TypeError:
            raise ValueError(
                f"num_classes must be a positive integer, got {num_classes!r}"
            ) from None
        if num_classes < 1:
            raise ValueError(f"num_classes must be a positive integer, got {num_classes}")
    if labels.size:
        lo, hi = int(labels.min()), int(labels.max())
        if lo < 0 or hi >= num_classes:
            bad = lo if lo < 0 else hi
            raise ValueError(
                f"to_categorical: class index {bad} is out of range for "
                f"num_classes={num_classes} (valid: 0 to {num_classes - 1})"
            )
    categorical = np.zeros((labels.shape[0], num_classes))
    categorical[np.arange(labels.shape[0]), labels] = 1
    return categorical.reshape(input_shape + (num_classes,))


def normalize(x, axis=-1, order=2):
    """Normalizes an array along `axis` to unit `order`-norm (zero rows stay zero).

    Args:
        x: array-like.
        axis: the axis to normalize along. Defaults to `-1`.
        order: the norm's order (`2` for Euclidean). Defaults to `2`.

    Returns:
        A normalized float copy of `x`.
    """
    arr = np.asarray(x)
    norm = np.atleast_1d(np.linalg.norm(arr, order, axis))
    norm[norm == 0] = 1
    # Keras writes `axis or -1` here, which turns axis=0 into -1; the axis given is used.
    return arr / np.expand_dims(norm, axis)
