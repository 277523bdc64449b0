"""The parts of ``keras.config`` (Keras 3) that a CPU MLP script calls:
``backend``, ``floatx`` / ``set_floatx``, ``epsilon`` / ``set_epsilon``,
``image_data_format`` / ``set_image_data_format``,
``dtype_policy`` / ``set_dtype_policy``, ``enable_unsafe_deserialization``
and the traceback-filtering switches.

fastnn computes in float32 only: setting another float type or dtype policy
is a ValueError. Archives never hold code, so unsafe deserialization has
nothing to enable, and fastnn does not filter tracebacks.
"""

from __future__ import annotations

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

__all__ = [
    "backend",
    "disable_traceback_filtering",
    "dtype_policy",
    "enable_traceback_filtering",
    "enable_unsafe_deserialization",
    "epsilon",
    "floatx",
    "image_data_format",
    "is_traceback_filtering_enabled",
    "set_dtype_policy",
    "set_epsilon",
    "set_floatx",
    "set_image_data_format",
]


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
