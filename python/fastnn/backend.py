"""The parts of ``keras.backend`` that Keras scripts call on a CPU MLP:
``clear_session``, ``floatx``/``set_floatx``, ``epsilon``/``set_epsilon``,
``image_data_format``/``set_image_data_format``, ``get_uid``,
``is_keras_tensor``, ``backend`` and the dtype names ``standardize_dtype``,
``is_float_dtype`` and ``is_int_dtype``.

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
    "is_float_dtype",
    "is_int_dtype",
    "is_keras_tensor",
    "set_epsilon",
    "set_floatx",
    "set_image_data_format",
    "set_value",
    "standardize_dtype",
]

# Keras 3's dtype names (keras.backend.standardize_dtype accepts these), and
# what it reads Python's types as (int as int32: every backend but
# TensorFlow's, which fastnn's numerics follow elsewhere too).
_DTYPE_NAMES = frozenset(
    (
        "float16 float32 float64 bfloat16 uint8 uint16 uint32 uint64 int8 int16 int32 int64 "
        "bool string float8_e4m3fn float8_e5m2 complex64 complex128"
    ).split()
)
_PYTHON_DTYPES = {bool: "bool", int: "int32", float: "float32", str: "string", complex: "complex64"}


def standardize_dtype(dtype) -> str:
    """The Keras name of `dtype` (a name, a NumPy dtype or scalar type, a
    torch dtype, Python's bool/int/float/str/complex), as Keras 3's
    ``keras.backend.standardize_dtype``: None is `floatx()`, ``int`` and
    ``"int"`` are ``"int32"``, ``float`` is ``"float32"``. Anything else is
    a ValueError ``Invalid dtype: ...``. (A name, not a dtype fastnn
    computes in: its layers compute in float32.)

    >>> standardize_dtype("float64"), standardize_dtype(int), standardize_dtype(None)
    ('float64', 'int32', 'float32')
    """
    if dtype is None:
        return floatx()
    if isinstance(dtype, str) and dtype == "int":
        return "int32"
    if isinstance(dtype, type) and dtype in _PYTHON_DTYPES:
        return _PYTHON_DTYPES[dtype]
    name = getattr(dtype, "name", None)
    if not isinstance(name, str):
        name = getattr(dtype, "__name__", None)
    if not isinstance(name, str):
        text = str(dtype)
        name = text.split(".")[-1] if text.startswith(("torch.", "jax.numpy.")) else dtype
    if not isinstance(name, str) or name not in _DTYPE_NAMES:
        raise ValueError(f"Invalid dtype: {name}")
    return name


def is_float_dtype(dtype) -> bool:
    """Whether `standardize_dtype(dtype)` is a float type (``float*``, ``bfloat16``)."""
    return standardize_dtype(dtype).startswith(("float", "bfloat"))


def is_int_dtype(dtype) -> bool:
    """Whether `standardize_dtype(dtype)` is an integer type (``int*``, ``uint*``)."""
    return standardize_dtype(dtype).startswith(("int", "uint"))


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
