"""Small things Keras scripts use: the progress bar, seeds, one-hot labels.

Mirrors ``keras.utils``: `Progbar`, `set_random_seed`, `to_categorical`, plus
the seed state fastnn's layers and `fit` read (`get_random_seed`,
`next_seed`).
"""

from __future__ import annotations

from fastnn import _absent
from fastnn.backend import (  # (Keras 3 has them in keras.utils too)
    is_keras_tensor,
    standardize_dtype,
)
from fastnn.utils.file_utils import get_file
from fastnn.utils.io_utils import (
    disable_interactive_logging,
    enable_interactive_logging,
    is_interactive_logging_enabled,
)
from fastnn.utils.model_visualization import model_to_dot, plot_model
from fastnn.utils.numerical import normalize, to_categorical
from fastnn.utils.progbar import Progbar
from fastnn.utils.py_dataset import PyDataset, Sequence
from fastnn.utils.registry import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from fastnn.utils.seeding import get_random_seed, next_seed, set_random_seed
from fastnn.utils.sequences import pad_sequences


def clear_session(free_memory: bool = True) -> None:
    """`fastnn.backend.clear_session` (Keras 3 has it in `keras.utils` too)."""
    from fastnn.backend import clear_session as _clear_session

    _clear_session(free_memory)


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """Keras's ``pack_x_y_sample_weight``: `x` alone (a tuple or list ``x``
    as ``(x,)``), ``(x, y)``, or ``(x, y, sample_weight)``, the forms `fit`
    reads from a generator or a `PyDataset`.

    >>> pack_x_y_sample_weight([1, 2], 3)
    ([1, 2], 3)
    """
    if y is None:
        return (x,) if isinstance(x, (tuple, list)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def unpack_x_y_sample_weight(data):
    """Keras's ``unpack_x_y_sample_weight``: ``(x, y, sample_weight)`` from
    `x`, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)`` (a list as a tuple),
    None for what is not there; a longer tuple is a ValueError.

    >>> unpack_x_y_sample_weight(("x", "y"))
    ('x', 'y', None)
    """
    from fastnn._batch_sources import unpack

    return unpack(data)


def serialize_keras_object(obj):
    """`fastnn.saving.serialize_keras_object` (also in Keras 3's `keras.utils`)."""
    from fastnn import saving

    return saving.serialize_keras_object(obj)


def deserialize_keras_object(config, custom_objects=None, safe_mode=True, **kwargs):
    """`fastnn.saving.deserialize_keras_object` (also in Keras 3's `keras.utils`)."""
    from fastnn import saving

    return saving.deserialize_keras_object(config, custom_objects, safe_mode, **kwargs)


__all__ = [
    "CustomObjectScope",
    "Progbar",
    "PyDataset",
    "Sequence",
    "clear_session",
    "custom_object_scope",
    "deserialize_keras_object",
    "disable_interactive_logging",
    "enable_interactive_logging",
    "get_custom_objects",
    "get_file",
    "get_random_seed",
    "get_registered_name",
    "get_registered_object",
    "is_interactive_logging_enabled",
    "is_keras_tensor",
    "model_to_dot",
    "next_seed",
    "normalize",
    "pack_x_y_sample_weight",
    "pad_sequences",
    "plot_model",
    "register_keras_serializable",
    "serialize_keras_object",
    "set_random_seed",
    "standardize_dtype",
    "to_categorical",
    "unpack_x_y_sample_weight",
]

# Keras's names this module lacks say what they are and why (fastnn._absent).
__getattr__ = _absent.module_getattr(__name__)
