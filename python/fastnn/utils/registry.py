"""Keras's registry of custom objects (`register_keras_serializable`).

A class registered here is found by name when a model, layer, initializer
or regularizer config is deserialized (`load_model`, `model_from_json`,
`from_config`), as Keras finds it: by its registered name
``"package>name"`` or by the ``registered_name`` a config carries.
"""

from __future__ import annotations

import threading
from typing import Optional

_GLOBAL_CUSTOM_OBJECTS: dict = {}
_GLOBAL_CUSTOM_NAMES: dict = {}
_SCOPES = threading.local()  # .stack: the dicts of the custom_object_scopes entered


class CustomObjectScope:
    """Exposes custom objects to deserialization inside a `with` block, as
    Keras 3's ``custom_object_scope``: `load_model`, `from_config` and the
    `deserialize` functions find them by name, as if passed as
    `custom_objects`. Scopes nest; each thread has its own.

    >>> def my_metric(y_true, y_pred):
    ...     return abs(y_true - y_pred)
    >>> with custom_object_scope({"my_metric": my_metric}):
    ...     scoped_custom_objects()["my_metric"] is my_metric
    True
    """

    def __init__(self, custom_objects=None):
        if custom_objects is not None and not isinstance(custom_objects, dict):
            raise TypeError(
                f"custom_objects must be a dict of name -> object, got {custom_objects!r:.80}"
            )
        self.custom_objects = dict(custom_objects or {})

    def __enter__(self):
        if not hasattr(_SCOPES, "stack"):
            _SCOPES.stack = []
        _SCOPES.stack.append(self.custom_objects)
        return self

    def __exit__(self, *exc_info):
        _SCOPES.stack.pop()


custom_object_scope = CustomObjectScope


def scoped_custom_objects() -> dict:
    """The objects of the `custom_object_scope`s entered in this thread
    (inner scopes win)."""
    merged: dict = {}
    for scope in getattr(_SCOPES, "stack", ()):
        merged.update(scope)
    return merged


def register_keras_serializable(package: str = "Custom", name: Optional[str] = None):
    """Registers a class or function with the serialization framework
    (Keras 3's decorator, same arguments and errors).

    Args:
        package: the package the object belongs to. Defaults to `"Custom"`.
        name: the name to serialize it under. Defaults to its `__name__`.

    Raises:
        ValueError: a class without `get_config`, a `package` containing
            ``">"``, or a name already registered.

    >>> @register_keras_serializable(package="my_package")
    ... def my_activation(x):
    ...     return x
    >>> get_registered_name(my_activation)
    'my_package>my_activation'
    """
    if not isinstance(package, str) or ">" in package:
        raise ValueError(
            "The package name must be a string without the '>' character. "
            f"Received: package={package!r}"
        )

    def decorator(arg):
        class_name = name if name is not None else arg.__name__
        registered_name = package + ">" + class_name
        if isinstance(arg, type) and not hasattr(arg, "get_config"):
            raise ValueError("Cannot register a class that does not have a get_config() method.")
        if registered_name in _GLOBAL_CUSTOM_OBJECTS:
            raise ValueError(
                f"{registered_name} has already been registered to "
                f"{_GLOBAL_CUSTOM_OBJECTS[registered_name]}"
            )
        _GLOBAL_CUSTOM_OBJECTS[registered_name] = arg
        _GLOBAL_CUSTOM_NAMES[arg] = registered_name
        return arg

    return decorator


def get_registered_name(obj) -> str:
    """The name `obj` is registered under (``"package>name"``), else its
    `__name__`."""
    if obj in _GLOBAL_CUSTOM_NAMES:
        return _GLOBAL_CUSTOM_NAMES[obj]
    return obj.__name__


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The object registered as `name`: searched in `custom_objects`, then
    the `custom_object_scope`s entered, then the global registry, then
    `module_objects`; None if absent."""
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    scoped = scoped_custom_objects()
    if name in scoped:
        return scoped[name]
    if name in _GLOBAL_CUSTOM_OBJECTS:
        return _GLOBAL_CUSTOM_OBJECTS[name]
    if module_objects and name in module_objects:
        return module_objects[name]
    return None


def registered_for(config, custom_objects=None):
    """The user's class (or function) a serialized config names, found as
    Keras finds it: by its ``registered_name``, then its ``class_name``, in
    `custom_objects`, the scopes entered and the registry; None if absent."""
    for key in (config.get("registered_name"), config.get("class_name")):
        found = get_registered_object(key, custom_objects) if isinstance(key, str) else None
        if found is not None:
            return found
    return None


def get_custom_objects() -> dict:
    """The global registry (a live dict, as in Keras): registered name ->
    object."""
    return _GLOBAL_CUSTOM_OBJECTS
