"""The parts of ``keras.backend`` that Keras scripts call on a CPU MLP:
``clear_session``, ``floatx``/``set_floatx``, ``epsilon``,
``image_data_format`` and ``backend``.

fastnn computes in float32 only, so ``set_floatx`` accepts ``"float32"`` and
rejects the others with a ValueError. There is no ``set_epsilon``: fastnn's
losses clip probabilities at Keras's default 1e-7, fixed in the C++ kernels.
"""

from __future__ import annotations

__all__ = [
    "backend",
    "clear_session",
    "epsilon",
    "floatx",
    "image_data_format",
    "set_floatx",
]


def clear_session(free_memory: bool = True) -> None:
    """Resets the automatic layer and model names (``dense``, ``dense_1``, ...),
    as Keras's does. Models already built keep working."""
    from fastnn import layers

    layers._name_counts.clear()


def backend() -> str:
    """The name of the backend: ``"fastnn"``."""
    return "fastnn"


def floatx() -> str:
    """The default float type: ``"float32"``, the only one fastnn computes in."""
    return "float32"


def set_floatx(value: str) -> None:
    """Accepts ``"float32"``; any other type is a ValueError (fastnn's kernels are float32)."""
    if value != "float32":
        raise ValueError(f"fastnn computes in float32 only; set_floatx got {value!r}")


def epsilon() -> float:
    """The fuzz factor of Keras's numeric code, 1e-7 (the losses' clipping)."""
    return 1e-7


def image_data_format() -> str:
    """``"channels_last"``, Keras's default (Flatten reads samples in C order)."""
    return "channels_last"
