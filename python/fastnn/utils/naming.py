"""Keras's naming rule, shared by layer and loss names and saved-file paths,
and its checks of the names and `trainable` flags constructors take."""

from __future__ import annotations

import contextlib
import contextvars
import re
import warnings

import numpy as np

# Set while a saved model's config is rebuilt (tolerating_archive_names).
_archive_names = contextvars.ContextVar("fastnn_archive_names", default=False)


def to_snake_case(name: str) -> str:
    """'Dense' -> 'dense', 'InputLayer' -> 'input_layer', 'ReLU' -> 're_lu'
    (keras.src.utils.naming.to_snake_case)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
    return name


def check_name(name, show_type: bool = True) -> str:
    """`name` if Keras 3 takes it as a layer's, model's or optimizer's name
    (a string without ``/``, which separates the parts of weight paths and
    of a saved file's groups), else Keras's ValueError (its message; the
    optimizer's, ``show_type=False``, leaves the type out)."""
    if isinstance(name, str) and "/" in name and _archive_names.get():
        warnings.warn(
            f"the saved name {name!r} holds '/', which Keras 3 refuses in names (fastnn "
            "wrote such names before session 19): it is kept, so get_layer finds it, but "
            "Keras cannot load this model's files; give the layer or model another name "
            "and save it again",
            stacklevel=2,
        )
        return name
    if not isinstance(name, str) or "/" in name:
        kind = f" (of type {type(name)})" if show_type else ""
        raise ValueError(
            "Argument `name` must be a string and cannot contain character `/`. "
            f"Received: name={name}{kind}"
        )
    return name


def check_trainable(trainable) -> bool:
    """`trainable` as given to a layer's or model's constructor: a bool (a
    NumPy bool too), else Keras 3's ValueError (its message)."""
    if not isinstance(trainable, (bool, np.bool_)):
        raise ValueError(
            "Expected `trainable` to be a boolean. "
            f"Received: trainable={trainable} (of type {type(trainable)})"
        )
    return bool(trainable)


@contextlib.contextmanager
def tolerating_archive_names():
    """While a saved model is rebuilt: a name holding ``/`` (which fastnn
    wrote before it refused such names, as Keras does) is kept with a
    warning, so that those files still load."""
    token = _archive_names.set(True)
    try:
        yield
    finally:
        _archive_names.reset(token)
