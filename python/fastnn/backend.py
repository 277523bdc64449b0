"""The parts of ``keras.backend`` that Keras scripts call on a CPU MLP:
``clear_session``, ``floatx``/``set_floatx``, ``epsilon``/``set_epsilon``,
``image_data_format``/``set_image_data_format``, ``get_uid``,
``is_keras_tensor`` and ``backend``.

fastnn computes in float32 only, so ``set_floatx`` accepts ``"float32"`` and
rejects the others with a ValueError; likewise ``set_epsilon`` accepts only
Keras's default 1e-7, at which fastnn's C++ kernels clip probabilities, and
``set_image_data_format`` only ``"channels_last"``, the order `Flatten` reads.
"""

from __future__ import annotations

from fastnn import _absent

__all__ = [
    "backend",
    "clear_session",
    "epsilon",
    "floatx",
    "get_uid",
    "get_value",
    "image_data_format",
    "is_keras_tensor",
    "set_epsilon",
    "set_floatx",
    "set_image_data_format",
    "set_value",
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


_EPSILON = 1e-7


def epsilon() -> float:
    """The fuzz factor of Keras's numeric code, 1e-7 (the losses' clipping)."""
    return _EPSILON


def set_epsilon(value) -> None:
    """Accepts 1e-7, Keras's default and the value fastnn's C++ losses and
    metrics clip probabilities at (fixed in the kernels); any other value is
    a ValueError."""
    import numpy as np

    try:
        number = float(value)
    except (TypeError, ValueError):
        number = None
    # (also the float32 rounding of 1e-7, the value the kernels hold)
    accepted = number in (_EPSILON, float(np.float32(_EPSILON)))
    if not accepted:
        raise ValueError(
            f"fastnn's C++ losses and metrics use epsilon=1e-07 (Keras's default), fixed in "
            f"the kernels; set_epsilon accepts that value only, got {value!r}"
        )


def image_data_format() -> str:
    """``"channels_last"``, Keras's default (Flatten reads samples in C order)."""
    return "channels_last"


def set_image_data_format(data_format) -> None:
    """Accepts ``"channels_last"`` (any case), the order fastnn's `Flatten`
    reads samples in; ``"channels_first"`` is a ValueError, and so is any
    other value, with Keras's message."""
    value = str(data_format).lower()
    if value not in {"channels_first", "channels_last"}:
        raise ValueError(
            "The `data_format` argument must be one of {'channels_first', 'channels_last'}. "
            f"Received: data_format={value}"
        )
    if value != "channels_last":
        raise ValueError(
            "fastnn reads images in 'channels_last' order only (its Flatten flattens each "
            "sample in C order, as Keras's does for channels_last); set_image_data_format "
            f"got {data_format!r}"
        )


def get_uid(prefix: str = "") -> int:
    """The next number of `prefix`'s counter, as Keras's: 1, 2, ... The
    counters are those of the automatic names (``get_uid("dense")`` after
    one ``Dense()`` gives 2, and the next ``Dense()`` is named ``dense_2``);
    `clear_session` resets them.

    >>> clear_session(); get_uid("block"), get_uid("block")
    (1, 2)
    """
    from fastnn import layers

    count = layers._name_counts.get(prefix, 0) + 1
    layers._name_counts[prefix] = count
    return count


def is_keras_tensor(x) -> bool:
    """Whether `x` is symbolic, as Keras's: what `Input(...)` returns (for
    fastnn, its input layer) or a layer called on it gives; False for
    arrays and anything else."""
    from fastnn.functional import is_symbolic

    return is_symbolic(x)


def get_value(x):
    """tf.keras 2's ``K.get_value(x)``, kept for copied learning-rate code
    (``K.get_value(model.optimizer.learning_rate)``): `x` as NumPy gives it
    (`x.numpy()` where `x` has it, e.g. a learning rate: a float32 0-d
    array). Keras 3 removed it."""
    numpy = getattr(x, "numpy", None)
    import numpy as np

    return numpy() if callable(numpy) else np.asarray(x)


def set_value(x, value) -> None:
    """tf.keras 2's ``K.set_value(x, value)``: ``x.assign(value)``, e.g.
    ``K.set_value(model.optimizer.learning_rate, 0.01)`` (or ``.lr``, Keras
    2's name) sets the optimizer's rate. Keras 3 removed it.

    Raises:
        TypeError: `x` cannot be assigned (a plain number or array: its new
            value would go nowhere).
    """
    assign = getattr(x, "assign", None)
    if not callable(assign):
        raise TypeError(
            f"set_value assigns to a variable (e.g. an optimizer's learning_rate); "
            f"got {type(x).__name__}, which has no assign()"
        )
    assign(value)


# Keras's names this module lacks say what they are and why (fastnn._absent).
__getattr__ = _absent.module_getattr(__name__)
