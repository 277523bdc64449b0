"""The parts of ``keras.config`` (Keras 3) that a CPU MLP script calls:
``backend``, ``floatx`` / ``set_floatx``, ``epsilon`` / ``set_epsilon``,
``image_data_format`` / ``set_image_data_format``,
``dtype_policy`` / ``set_dtype_policy``, ``enable_unsafe_deserialization``,
the traceback-filtering switches, and the debugging caps ``max_epochs`` /
``set_max_epochs`` and ``max_steps_per_epoch`` / ``set_max_steps_per_epoch``
(also read, as Keras reads them, from the ``KERAS_MAX_EPOCHS`` and
``KERAS_MAX_STEPS_PER_EPOCH`` environment variables when fastnn is imported).

fastnn computes in float32 only: setting another float type or dtype policy
is a ValueError. Archives never hold code, so unsafe deserialization has
nothing to enable, and fastnn does not filter tracebacks.
"""

from __future__ import annotations

import numbers
import os
from typing import Optional

import numpy as np

from fastnn import _absent
from fastnn.backend import (
    backend,
    epsilon,
    floatx,
    image_data_format,
    set_epsilon,
    set_floatx,
    set_image_data_format,
)
from fastnn.utils.io_utils import (
    disable_interactive_logging,
    enable_interactive_logging,
    is_interactive_logging_enabled,
)

__all__ = [
    "backend",
    "disable_interactive_logging",
    "disable_traceback_filtering",
    "dtype_policy",
    "enable_traceback_filtering",
    "enable_interactive_logging",
    "enable_unsafe_deserialization",
    "epsilon",
    "floatx",
    "image_data_format",
    "is_interactive_logging_enabled",
    "is_traceback_filtering_enabled",
    "max_epochs",
    "max_steps_per_epoch",
    "set_dtype_policy",
    "set_epsilon",
    "set_floatx",
    "set_image_data_format",
    "set_max_epochs",
    "set_max_steps_per_epoch",
]


def _limit(value, what: str) -> Optional[int]:
    """A cap as the setters take it: None (or 0, as Keras reads it: no cap)
    or an integer >= 0. Keras stores anything; a negative or non-integer cap
    would make its `fit` run no epoch or fail later, so fastnn says so here."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{what} must be None or an integer >= 0, got {value!r}")
    return int(value) or None


def _limit_from_env(name: str) -> Optional[int]:
    text = os.environ.get(name)
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        raise ValueError(
            f"the environment variable {name} must be an integer (the cap Keras's "
            f"keras.config.set_{name[6:].lower()} sets), got {text!r}"
        ) from None
    return _limit(value, name)


_max_epochs: Optional[int] = _limit_from_env("KERAS_MAX_EPOCHS")
_max_steps_per_epoch: Optional[int] = _limit_from_env("KERAS_MAX_STEPS_PER_EPOCH")


def set_max_epochs(max_epochs) -> None:
    """Caps the epochs of every `fit`, for debugging, as Keras 3's
    ``keras.config.set_max_epochs``: a `fit` asked for more warns
    ``Limiting epochs to N`` and runs epochs ``initial_epoch .. N - 1``.
    None (or 0) removes the cap. The ``KERAS_MAX_EPOCHS`` environment
    variable sets it when fastnn is imported."""
    global _max_epochs
    _max_epochs = _limit(max_epochs, "max_epochs")


def max_epochs() -> Optional[int]:
    """The cap `set_max_epochs` set (or ``KERAS_MAX_EPOCHS``), None when none."""
    return _max_epochs


def set_max_steps_per_epoch(max_steps_per_epoch) -> None:
    """Caps the steps (batches) of each epoch of `fit` and of each `evaluate`
    and `predict`, for debugging, as Keras 3's
    ``keras.config.set_max_steps_per_epoch``: a call that asks for more
    steps, or gives no `steps_per_epoch` / `validation_steps` / `steps`,
    warns ``Limiting steps_per_epoch to N`` and runs as if given N (so with no
    `batch_size` either, the batch size becomes ``ceil(n / N)``, as Keras's).
    None (or 0) removes the cap. The ``KERAS_MAX_STEPS_PER_EPOCH``
    environment variable sets it when fastnn is imported."""
    global _max_steps_per_epoch
    _max_steps_per_epoch = _limit(max_steps_per_epoch, "max_steps_per_epoch")


def max_steps_per_epoch() -> Optional[int]:
    """The cap `set_max_steps_per_epoch` set (or ``KERAS_MAX_STEPS_PER_EPOCH``),
    None when none."""
    return _max_steps_per_epoch


def dtype_policy():
    """The global dtype policy: ``DTypePolicy("float32")``, the only one fastnn
    runs (`fastnn.mixed_precision`)."""
    from fastnn import mixed_precision

    return mixed_precision.global_policy()


def set_dtype_policy(policy) -> None:
    """Accepts ``"float32"`` (or a policy named so); mixed precision
    (``"mixed_float16"`` ...) is a ValueError: fastnn's kernels are float32."""
    from fastnn import mixed_precision

    mixed_precision.set_global_policy(policy)


def enable_unsafe_deserialization() -> None:
    """Accepted for Keras scripts: fastnn's archives hold arrays and
    configs only (no code, no pickles), so loading is always safe."""


def enable_traceback_filtering() -> None:
    """Accepted for Keras scripts; fastnn shows tracebacks unfiltered."""


def disable_traceback_filtering() -> None:
    """Accepted for Keras scripts; fastnn shows tracebacks unfiltered."""


def is_traceback_filtering_enabled() -> bool:
    """False: fastnn does not filter tracebacks."""
    return False


# Keras's names this module lacks say what they are and why (fastnn._absent).
__getattr__ = _absent.module_getattr(__name__)
