"""Reading and writing `.keras` archives, `.weights.npz` and `.weights.h5` files,
and legacy HDF5 models (`.h5`).

The archive has the layout of Keras 3's own (``keras/src/saving/saving_lib.py``):
a zip holding

- ``metadata.json``: ``{"keras_version", "date_saved", "fastnn_version",
  ...}`` (`keras_version`: the Keras whose format this is,
  `KERAS_FORMAT_VERSION`);
- ``config.json``: the Keras-style serialized model (``{"module",
  "class_name", "config", "compile_config", ...}``), see
  `serialize_keras_object`;
- ``model.weights.npz``: every array under a flat key in Keras's naming
  (``layers/dense/vars/0``, ``layers/dense/vars/1``, ``layers/dense_1/vars/0``,
  ``optimizer/vars/0`` ...), see `layer_paths`; this is what fastnn reads;
- ``model.weights.h5`` (models' archives, when h5py is installed): the same
  layer weights and optimizer variables in the HDF5 layout of Keras 3's own
  archives, member for member, which is what Keras's `load_model` reads
  (it cannot read fastnn's npz: Keras's npz store holds pickled dicts).
  fastnn reads the npz whenever the archive has one, so if the two ever
  disagree (an archive edited by hand) fastnn and Keras load different
  weights; an archive Keras wrote (the .h5 only) loads from its .h5.

A Dropout or noise layer built without a seed of its own draws one; the
config keeps ``seed: null`` (Keras takes no 64-bit seed: "Overflow when
unpacking long long") and metadata.json keeps the drawn seeds
(``fastnn_seeds``: ``{layer name: seed}``) so that fastnn resumes their masks
exactly, as legacy HDF5 files keep them in an attribute.

Weights are read with ``allow_pickle=False``: an archive holds data only and
can never run code, and deserialization only instantiates classes from the
table the caller passes (`deserialize_keras_object`). Writes are atomic: the
file is written next to its destination under a temporary name, flushed to
disk, then renamed over it, so a failed save never destroys the previous file.
A missing, truncated or foreign file raises a clear error.

``.weights.h5`` files have the HDF5 layout of Keras 3's ``save_weights``
(``H5IOStore``), so each side loads the other's file for the same
architecture: a ``vars`` group (attribute ``name``: the model's name) at the
root, then ``layers/<path>/vars`` per layer (attribute ``name``: the layer's
name; empty for layers without weights) holding datasets ``0``, ``1`` ...,
and ``optimizer/vars`` (attribute ``name``: the optimizer's name) when the
model is compiled. fastnn adds ``fastnn/network_iterations``, which Keras
never reads. They need the optional h5py package (``pip install h5py``);
without it every other format still works and only ``.weights.h5`` raises.

Legacy HDF5 models (``model.save("m.h5")``; ``.h5`` or ``.hdf5``) have the
layout Keras 3.15 writes and reads there (``legacy_h5_format.py``); see the
section "legacy HDF5 model files" below. They need h5py too.

It is also ``keras.saving``'s public API: `load_model`, `save_model`,
`load_weights`, `save_weights`.

This module is imported lazily: nothing here runs at ``import fastnn``.
"""

from __future__ import annotations

import io
import math
import os

import numpy as np

from fastnn import _absent
from fastnn.utils.fileio import atomic_write
from fastnn.utils.naming import to_snake_case, tolerating_archive_names
from fastnn.utils.registry import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
    registered_for,
    scoped_custom_objects,
)

__all__ = [
    "ArchiveContents",
    "CustomObjectScope",
    "custom_object_scope",
    "deserialize_function",
    "deserialize_keras_object",
    "get_custom_objects",
    "get_registered_name",
    "get_registered_object",
    "register_keras_serializable",
    "h5_group_names",
    "layer_paths",
    "pack_weights",
    "read_archive",
    "read_weights",
    "serialize_function",
    "serialize_keras_object",
    "to_snake_case",
    "unpack_weights",
    "write_archive",
    "write_weights",
]

CONFIG_FILENAME = "config.json"
METADATA_FILENAME = "metadata.json"
WEIGHTS_FILENAME = "model.weights.npz"
H5_WEIGHTS_FILENAME = "model.weights.h5"  # what Keras writes in its archives
ARCHIVE_SUFFIX = ".keras"
WEIGHTS_SUFFIX = ".weights.npz"
H5_WEIGHTS_SUFFIX = ".weights.h5"
# The Keras whose formats fastnn writes: metadata.json's and legacy HDF5
# files' ``keras_version`` (the archives' layout is Keras 3.15's).
KERAS_FORMAT_VERSION = "3.15.1"
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# Keras's guard against HDF5 "shape bombs": a dataset declaring more than this
# many bytes must store at least 1/_H5_MAX_EXPANSION of them on disk.
_H5_BOMB_FLOOR_BYTES = 1 << 32
_H5_MAX_EXPANSION = 1000
# The same guard for the members of a .keras zip (and of its .npz): a member
# that declares more than the floor must not expand more than that ratio;
# config.json and metadata.json (kilobytes when fastnn or Keras writes them)
# may not declare more than _JSON_MAX_BYTES.
_JSON_MAX_BYTES = 64 << 20


class ModelFileNotFoundError(FileNotFoundError, ValueError):
    """`load_model` on a missing file: a `FileNotFoundError`, and the
    `ValueError` Keras 3 raises there, so either ``except`` catches it."""


class ArchiveContents(tuple):
    """What `read_archive` returns: `(config, weights, metadata)`."""

    __slots__ = ()

    def __new__(cls, config, weights, metadata):
        return super().__new__(cls, (config, weights, metadata))

    config = property(lambda self: self[0], doc="The decoded config.json (a dict).")
    weights = property(lambda self: self[1], doc="Flat dict: key -> NumPy array.")
    metadata = property(lambda self: self[2], doc="The decoded metadata.json (a dict).")


# -- names ---------------------------------------------------------------------


def layer_paths(class_names) -> list:
    """Keras's weight-file path of each layer, from the layers' class names.

    Layers are named by class in snake case with a counter per class, as
    Keras's saver names them (not by the layers' own names, which vary):

    >>> layer_paths(["Dense", "Dropout", "Dense"])
    ['layers/dense', 'layers/dropout', 'layers/dense_1']

    A layer's arrays go under ``<path>/vars/0``, ``<path>/vars/1`` ... in the
    order of its weights (kernel then bias for Dense).
    """
    used = {}
    paths = []
    for class_name in class_names:
        name = to_snake_case(class_name)
        if name in used:
            used[name] += 1
            name = f"{name}_{used[name]}"
        else:
            used[name] = 0
        paths.append(f"layers/{name}")
    return paths


def h5_group_names(model_name, layers, optimizer_name=None) -> dict:
    """The ``name`` attribute of each ``vars`` group of a `.weights.h5` file.

    Keras 3 creates ``<path>/vars`` with ``attrs["name"]`` for the model
    (path ``""``), for every layer (even one without weights) and for the
    optimizer; `write_weights` writes the same groups from this dict.

    Args:
        model_name: the model's name.
        layers: list of `(class_name, layer_name)`, one per layer in order.
        optimizer_name: the optimizer's name, or None when not compiled.

    >>> h5_group_names("sequential", [("Dense", "d1"), ("Dropout", "drop")], "adam")
    {'': 'sequential', 'layers/dense': 'd1', 'layers/dropout': 'drop', 'optimizer': 'adam'}
    """
    names = {"": str(model_name)}
    paths = layer_paths([class_name for class_name, _ in layers])
    for path, (_, layer_name) in zip(paths, layers):
        names[path] = str(layer_name)
    if optimizer_name is not None:
        names["optimizer"] = str(optimizer_name)
    return names


def pack_weights(layers, optimizer_variables=None) -> dict:
    """The flat weights dict of a model, in Keras's naming.

    Args:
        layers: list of `(class_name, [arrays])`, one per layer in order
            (layers without weights may be listed with `[]`; they still take
            their place in the per-class counter, as in Keras).
        optimizer_variables: list of arrays (Keras: iterations, learning rate,
            then each variable's slots), or None.

    Returns:
        `{"layers/dense/vars/0": kernel, "layers/dense/vars/1": bias, ...,
        "optimizer/vars/0": ...}` (arrays as given, not copied).

    >>> sorted(pack_weights([("Dense", [np.zeros((2, 3)), np.zeros(3)])]))
    ['layers/dense/vars/0', 'layers/dense/vars/1']
    """
    out = {}
    class_names = [class_name for class_name, _ in layers]
    for path, (_, arrays) in zip(layer_paths(class_names), layers):
        for i, arr in enumerate(arrays):
            out[f"{path}/vars/{i}"] = arr
    for i, arr in enumerate(optimizer_variables or ()):
        out[f"optimizer/vars/{i}"] = arr
    return out


def unpack_weights(weights, layers):
    """Splits a flat weights dict back per layer, checking every shape.

    Args:
        weights: the dict `read_archive`/`read_weights` returned.
        layers: list of `(class_name, [expected shapes])`, one per layer of the
            model being loaded, in order.

    Returns:
        `(per_layer, optimizer_variables)`: a list (one list of arrays per
        layer, in `vars/0, vars/1 ...` order) and the list of
        `optimizer/vars/i` arrays (empty when the file has none).

    Raises:
        ValueError: a layer's array is missing, has another shape, or the file
            holds layer arrays the model does not have; the message names the
            key and both shapes, so a file from another architecture is a clear
            error and nothing is half-loaded.
    """
    class_names = [class_name for class_name, _ in layers]
    per_layer = []
    used = set()
    problems = []
    for path, (class_name, shapes) in zip(layer_paths(class_names), layers):
        arrays = []
        for i, shape in enumerate(shapes):
            key = f"{path}/vars/{i}"
            if key not in weights:
                problems.append(f"{key} ({class_name}) is missing; expected shape {tuple(shape)}")
                continue
            arr = np.asarray(weights[key])
            used.add(key)
            if tuple(arr.shape) != tuple(shape):
                problems.append(
                    f"{key} ({class_name}) has shape {tuple(arr.shape)}; the model expects "
                    f"{tuple(shape)}"
                )
            arrays.append(arr)
        per_layer.append(arrays)
    extra = sorted(k for k in weights if k.startswith("layers/") and k not in used)
    if extra:
        problems.append(f"the file has weights the model lacks: {', '.join(extra[:8])}")
    if problems:
        raise ValueError(
            "The weights do not match the model's architecture:\n  " + "\n  ".join(problems)
        )
    return per_layer, _optimizer_arrays(weights)


def _optimizer_arrays(weights) -> list:
    """The ``optimizer/vars/i`` arrays of a flat weights dict, in order."""
    optimizer = []
    while f"optimizer/vars/{len(optimizer)}" in weights:
        optimizer.append(np.asarray(weights[f"optimizer/vars/{len(optimizer)}"]))
    return optimizer


def _fitting_weights(weights, layers) -> tuple:
    """The layers' part of Keras's ``load_weights(..., skip_mismatch=True)``
    (saving_lib.load_weights_only, Layer.load_own_variables): each layer
    takes its arrays (``<path>/vars/0``, ``1`` ...) when the file holds as
    many as it has weights, assigned in order up to the first whose shape
    differs; a layer that does not take them all keeps the rest of its own
    and is reported. Arrays of layers the model lacks are ignored, as Keras
    ignores them.

    Args:
        weights: the flat dict `read_weights` returned.
        layers: the model's layers, in order (`layer.weights`: its Variables).

    Returns:
        `(per_layer, failures)`: for each layer the arrays to write into its
        first weights, and a list of ``(layer, message)`` with Keras's
        message for each layer not loaded whole.
    """
    paths = layer_paths([type(layer).__name__ for layer in layers])
    per_layer, failures = [], []
    for path, layer in zip(paths, layers):
        prefix = f"{path}/vars/"
        stored = sum(1 for k in weights if k.startswith(prefix) and "/" not in k[len(prefix) :])
        variables = layer.weights
        arrays = []
        if stored != len(variables):
            failures.append(
                (
                    layer,
                    f"Layer '{layer.name}' expected {len(variables)} variables, but received "
                    f"{stored} variables during loading. Expected: {[v.name for v in variables]}",
                )
            )
            variables = []
        for i, variable in enumerate(variables):
            value = weights.get(f"{prefix}{i}")
            value = None if value is None else np.asarray(value)
            if value is None or value.shape != variable.shape:
                failures.append((layer, _assign_mismatch(variable, value, f"{prefix}{i}")))
                break
            arrays.append(value)
        per_layer.append(arrays)
    return per_layer, failures


def _assign_mismatch(variable, value, key: str, shape=None) -> str:
    """Keras's error for ``variable.assign(value)`` with another shape (the
    `Variable`, or None and its `shape`), or for a `value` the file lacks."""
    if value is None:
        return f"The file has no {key} for {variable.path}"
    target = "" if variable is None else f" Target variable: {variable!r}"
    return (
        "The shape of the target variable and the shape of the target value in "
        "`variable.assign(value)` must match. variable.shape="
        f"{shape if variable is None else variable.shape}, Received: "
        f"value.shape={value.shape}.{target}"
    )


def _loading_failures_message(failures) -> str:
    """Keras's message (saving_lib._raise_loading_failure) for the objects
    that `load_weights` could not load: a list of ``(object, message)``, the
    first message as the example (one per object, as Keras keeps them)."""
    first = {}
    for obj, message in failures:
        first.setdefault(id(obj), (obj, message))
    example, error = next(iter(first.values()))
    return (
        f"A total of {len(first)} objects could not be loaded. Example error message for "
        f"object {example}:\n\n{error}\n\nList of objects that could not be loaded:\n"
        f"{[obj for obj, _ in first.values()]}"
    )


# -- serialization -------------------------------------------------------------


def serialize_keras_object(obj, module=None):
    """A Keras-style description of `obj`, made of JSON types only.

    Objects with a `get_config()` become ``{"module", "class_name", "config",
    "registered_name"}``: for one of fastnn's classes ``module`` is `module`
    or Keras's module and ``registered_name`` None; for a user's class (a
    subclass of fastnn's `Metric`, `Loss`, `Layer`, ...) its own module and
    its registered name (``"package>name"`` when registered with
    `register_keras_serializable`, else its class name), as Keras writes
    them, so that loading finds it again; a model becomes its
    `.keras` archive's config (with ``build_config`` and ``compile_config``);
    lists, tuples and dicts are serialized item by item; strings, numbers,
    booleans and None stay as they are; NumPy scalars and arrays become Python
    numbers and lists.

    Raises:
        TypeError: for anything else (e.g. a lambda), naming its type.
    """
    if obj is None or isinstance(obj, (str, bool, int, float)):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): serialize_keras_object(v) for k, v in obj.items()}
    if _is_plain_function(obj):
        return serialize_function(obj)
    serialized = getattr(obj, "_serialized", None)
    if callable(serialized):  # a model: as its .keras archive's config.json
        return serialized()
    get_config = getattr(obj, "get_config", None)
    if callable(get_config):
        return _class_entry(type(obj), serialize_keras_object(get_config()), module)
    raise TypeError(
        f"Cannot serialize an object of type {type(obj).__name__} ({obj!r}): it has no get_config()"
    )


def _class_entry(cls, config, module=None) -> dict:
    """``{"module", "class_name", "config", "registered_name"}`` for an
    object of class `cls` whose (serialized) config is `config`, as Keras's
    ``serialize_keras_object`` writes them: one of fastnn's classes under
    `module` (default: Keras's module for it, ``keras.layers`` ...) with
    ``registered_name`` None; a user's class (a subclass of fastnn's `Layer`,
    `Metric`, `Loss` ...) under its own module (None for ``__main__``, as
    Keras) with its registered name
    (``"package>name"`` when registered with `register_keras_serializable`,
    else its class name), by which loading finds it again.

    >>> _class_entry(type("MyM", (), {"__module__": "__main__"}), {})
    {'module': None, 'class_name': 'MyM', 'config': {}, 'registered_name': 'MyM'}
    """
    if cls.__module__.split(".")[0] != "fastnn":
        # (Keras writes no module for a class of __main__)
        module = None if cls.__module__ == "__main__" else cls.__module__
        registered = get_registered_name(cls)
    else:
        module, registered = module or _keras_module(cls.__module__), None
    return {
        "module": module,
        "class_name": cls.__name__,
        "config": config,
        "registered_name": registered,
    }


def _keras_module(module: str) -> str:
    """Keras's module for one of fastnn's (``fastnn.optimizers.base`` ->
    ``keras.optimizers``), so Keras finds the class; a user's stays."""
    parts = module.split(".")
    if parts[0] != "fastnn" or len(parts) < 2:
        return module
    if parts[1] == "optimizers" and "schedules" in parts:
        return "keras.optimizers.schedules"
    if parts[1] == "mixed_precision":
        return "keras"  # (keras.DTypePolicy)
    return f"keras.{parts[1]}"


def _is_plain_function(obj) -> bool:
    import types

    return isinstance(obj, (types.FunctionType, types.BuiltinFunctionType))


def serialize_function(fn) -> dict:
    """A function as Keras 3 serializes one: by its registered name
    (``"package>name"``) or `__name__`, to be found again by name
    (`custom_objects`, a `custom_object_scope`, or the registry); its code is
    never saved, so a lambda is saved as ``"<lambda>"`` and cannot load."""
    return {
        "module": "builtins",
        "class_name": "function",
        "config": get_registered_name(fn),
        "registered_name": "function",
    }


def _builtin_function(name: str):
    """One of fastnn's metric, loss or activation functions by its Keras
    name (Keras finds its own built-in functions without custom_objects)."""
    import importlib
    import types

    for module in ("fastnn.metrics", "fastnn.losses", "fastnn.activations"):
        fn = getattr(importlib.import_module(module), name, None)
        if isinstance(fn, types.FunctionType) and name in getattr(
            importlib.import_module(module), "__all__", ()
        ):
            return fn
    return None


def deserialize_function(config, custom_objects=None):
    """The function `serialize_function` described (a dict, or its name),
    found in `custom_objects`, the `custom_object_scope`s entered, or the
    registry: a file never makes code run that the caller did not list.

    Raises:
        TypeError: a function not found there (Keras's error), or a config that
            does not describe a function.
    """
    if isinstance(config, dict):
        if config.get("class_name") != "function":
            raise TypeError(f"Expected a function config, got {config!r:.200}")
        config = config.get("config")
    if not isinstance(config, str):
        raise TypeError(f"Expected a function name, got {config!r:.200}")
    fn = get_registered_object(config, custom_objects)
    if fn is None:
        fn = _builtin_function(config)
    if fn is None or not callable(fn):
        hint = (
            " A lambda is saved without its code: give it as custom_objects={'<lambda>': fn}."
            if config == "<lambda>"
            else ""
        )
        raise TypeError(
            f"Could not locate function {config!r}. Make sure custom classes and functions "
            "are decorated with `@fastnn.saving.register_keras_serializable()`, or pass them "
            "as `custom_objects`. If they are already decorated, make sure they are all "
            f"imported so that the decorator is run before trying to load them.{hint}"
        )
    return fn


def deserialize_from_table(config, module_objects, custom_objects=None):
    """Rebuilds an object from `serialize_keras_object`'s output.

    Only classes (or functions) found by name in `custom_objects` or
    `module_objects` are used: a file can name a class, never make code run
    that the caller did not list.

    Args:
        config: a dict with ``class_name`` and ``config``, or a string naming
            an entry of the tables (e.g. ``"relu"``), or None.
        module_objects: dict of allowed names -> class or function.
        custom_objects: extra names -> class or function, searched first.

    Returns:
        `cls.from_config(config["config"])` when the class has `from_config`,
        else `cls(**config["config"])`; for a string, the table's entry
        (instantiated if it is a class).

    Raises:
        ValueError: for an unknown name or a malformed description.
    """
    if config is None:
        return None
    table = dict(module_objects)
    table.update(get_custom_objects())  # register_keras_serializable's, by "package>name"
    table.update(scoped_custom_objects())
    if custom_objects:
        table.update(custom_objects)
    if isinstance(config, str):
        if config not in table:
            raise ValueError(
                f"Unknown object {config!r}. Known: {', '.join(sorted(table)) or 'none'}"
            )
        obj = table[config]
        return obj() if isinstance(obj, type) else obj
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            "Expected a dict with 'class_name' and 'config' (or a name); got "
            f"{type(config).__name__}: {config!r:.200}"
        )
    class_name = config["class_name"]
    registered = config.get("registered_name")
    if class_name not in table and isinstance(registered, str) and registered in table:
        class_name = registered  # a registered custom class, found by the name it was saved with
    inner = config.get("config", {})
    if inner is None:
        inner = {}
    if not isinstance(inner, dict):
        raise ValueError(f"The 'config' of {class_name!r} must be a dict, got {inner!r:.200}")
    cls = table.get(class_name)
    if cls is None:
        raise ValueError(
            f"Unknown class_name {class_name!r}. Known: {', '.join(sorted(table)) or 'none'}"
        )
    # what from_config deserializes inside (a metric's function) sees custom_objects too
    with CustomObjectScope(custom_objects):
        from_config = getattr(cls, "from_config", None)
        if callable(from_config):
            return from_config(inner)
        return cls(**inner)


# The families of Keras objects, by a part of a config's "module"
# ("keras.layers", "keras.src.optimizers.adam", "fastnn.metrics", ...).
_FAMILIES = (
    "schedules",
    "layers",
    "optimizers",
    "losses",
    "metrics",
    "regularizers",
    "constraints",
    "initializers",
    "activations",
    "random",  # (SeedGenerator)
)


def _family_table(family: str) -> dict:
    """Public classes and functions of fastnn's module for `family`."""
    import importlib
    import types

    name = "fastnn.optimizers.schedules" if family == "schedules" else f"fastnn.{family}"
    module = importlib.import_module(name)
    table = {}
    for n in getattr(module, "__all__", ()):
        obj = getattr(module, n, None)
        if isinstance(obj, type):
            table[n] = obj
        elif (
            isinstance(obj, types.FunctionType)
            and family in ("activations", "losses", "metrics")
            and n not in ("get", "serialize", "deserialize")
            and not n.startswith(("is_", "resolve"))
        ):
            table[n] = obj  # Keras's functions of these families, by name
    return table


def deserialize_keras_object(config, custom_objects=None, safe_mode=True, **kwargs):
    """Keras's ``saving.deserialize_keras_object``: rebuilds a layer, model,
    optimizer, schedule, loss, metric, regularizer, constraint, initializer,
    seed generator or function from its serialized form (`serialize_keras_object`'s or
    Keras's own), choosing fastnn's class by the config's ``module`` (or any
    family, without one) and ``class_name``; `custom_objects` (and the
    registry, the `custom_object_scope`s) are searched first.

    Args:
        config: a dict with ``class_name`` and ``config``; a function's dict
            or name; or None.
        custom_objects: names -> classes or functions.
        safe_mode: accepted for Keras compatibility (fastnn never runs code
            from a config).

    Raises:
        ValueError: an unknown class or a malformed config. TypeError: a
            function not found.

    A layer comes back built from its ``build_config``, as Keras's.
    """
    found = _deserialize_keras_object(config, custom_objects, safe_mode, **kwargs)
    from fastnn import layers

    if (
        isinstance(found, layers.Layer)
        and isinstance(config, dict)
        and isinstance(config.get("build_config"), dict)
    ):
        found.build_from_config(config["build_config"])
    return found


def _deserialize_keras_object(config, custom_objects=None, safe_mode=True, **kwargs):
    """`deserialize_keras_object` before a layer's build."""
    if config is None:
        return None
    if isinstance(config, dict) and config.get("class_name") == "function":
        return deserialize_function(config, custom_objects)
    if isinstance(config, dict) and config.get("class_name") in ("DTypePolicy", "FloatDTypePolicy"):
        from fastnn import mixed_precision

        return mixed_precision.DTypePolicy.from_config(config.get("config") or {})
    if isinstance(config, dict) and config.get("class_name") in ("Sequential", "Functional"):
        from fastnn import models

        kind = models.Model if config["class_name"] == "Functional" else models.Sequential
        with CustomObjectScope(custom_objects):
            model = kind.from_config(config.get("config") or {}, custom_objects)
            build_config = config.get("build_config") or {}
            if build_config.get("input_shape") and not model.built:
                model.build(build_config["input_shape"])
            if config.get("compile_config"):  # as Keras: built and compiled alike
                models._compile_loaded(model, config["compile_config"])
        return model
    if isinstance(config, dict) and registered_for(config, custom_objects) is not None:
        # a user's class, given or registered: whatever its family
        return deserialize_from_table(config, {}, custom_objects)
    module = config.get("module") if isinstance(config, dict) else None
    parts = str(module).split(".") if module else ()
    families = [f for f in _FAMILIES if f in parts] or list(_FAMILIES)
    if len(families) == 1:  # the family's own deserialize knows its specifics
        import importlib
        import inspect

        name = "fastnn.optimizers.schedules" if families[0] == "schedules" else families[0]
        own = getattr(
            importlib.import_module(name if "." in name else f"fastnn.{name}"), "deserialize", None
        )
        if callable(own):
            with CustomObjectScope(custom_objects):
                if "custom_objects" in inspect.signature(own).parameters:
                    return own(config, custom_objects=custom_objects)
                return own(config)
    table: dict = {}
    for family in reversed(families):  # the first family wins a shared name
        table.update(_family_table(family))
    if isinstance(config, str) and config not in table and config not in (custom_objects or {}):
        found = get_registered_object(config, custom_objects) or _builtin_function(config)
        if found is not None:
            return found
    return deserialize_from_table(config, table, custom_objects)


# -- drawn seeds -----------------------------------------------------------------

# metadata.json's key (and legacy HDF5 files' attribute) for the seeds that
# fastnn's Dropout and noise layers drew: ``{layer name: seed}``.
_SEEDS_KEY = "fastnn_seeds"


def _config_with_seeds(model_config, seeds):
    """`model_config` (a model's config dict with ``layers``, or Keras 2's
    list of layer entries) with each drawn seed in `seeds` (``{layer name:
    seed}``, kept apart from the config because Keras takes no 64-bit seed)
    put back into the layer of that name whose config says ``seed: null``,
    so that the loaded layers draw the same masks. `seeds` None changes
    nothing; the given config is not modified.

    Raises:
        ValueError: `seeds` is not a dict of seeds (integers in [0, 2**64)).
    """
    if seeds is None:
        return model_config
    if not isinstance(seeds, dict) or not all(
        isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 1 << 64 for v in seeds.values()
    ):
        raise ValueError(
            f"{_SEEDS_KEY} must map layer names to seeds (integers in [0, 2**64)); "
            f"got {seeds!r:.200}"
        )
    entries = model_config if isinstance(model_config, list) else model_config.get("layers")
    if not isinstance(entries, list):
        return model_config
    out = []
    for entry in entries:
        config = entry.get("config") if isinstance(entry, dict) else None
        name = config.get("name") if isinstance(config, dict) else None
        if isinstance(name, str) and name in seeds and config.get("seed") is None:
            entry = {**entry, "config": {**config, "seed": seeds[name]}}
        out.append(entry)
    return out if isinstance(model_config, list) else {**model_config, "layers": out}


def _keep_seeds_drawn(model, seeds) -> None:
    """After `model` was built from `_config_with_seeds`' config: each layer
    that took a seed from `seeds` runs on with it as a drawn seed again
    (``seed`` None, the engine keeping the seed it was built with), as in
    the model that was saved, so that saving the loaded model keeps the seed
    out of its config again (where Keras could not read it)."""
    from fastnn import layers

    for layer in model._layers:
        seed = (seeds or {}).get(layer.name)
        if (
            isinstance(layer, layers._RandomLayer)
            and seed is not None
            and layer.seed == seed
            and getattr(layer, "_built_seed", None) == seed
        ):
            # (not `layer.seed = None`: that re-describes the layer to the
            # engine, which already runs the right seed)
            layer.__dict__["seed"] = None


# -- files ---------------------------------------------------------------------


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable: {obj!r:.200}")


def _check_weights(weights) -> dict:
    if not isinstance(weights, dict):
        raise TypeError(f"weights must be a dict of name -> array, got {type(weights).__name__}")
    out = {}
    for key, value in weights.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"weight keys must be non-empty strings, got {key!r}")
        arr = np.asarray(value)
        if arr.dtype.hasobject or arr.dtype.kind not in "biufc":
            raise TypeError(
                f"weight {key!r} must be a numeric array, got dtype {arr.dtype} "
                "(objects cannot be stored: files are loaded with allow_pickle=False)"
            )
        out[key] = arr
    return out


def _npz_bytes(weights: dict) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **weights)
    return buffer.getvalue()


def _default_metadata(extra) -> dict:
    import datetime

    from fastnn import _core

    metadata = {  # Keras's two entries, then fastnn's version
        "keras_version": KERAS_FORMAT_VERSION,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
        "fastnn_version": _core.__version__,
    }
    if extra:
        metadata.update(extra)
    return metadata


def write_archive(
    path, config, weights, metadata=None, *, overwrite=True, h5_group_names=None
) -> None:
    """Writes a `.keras` archive atomically.

    Args:
        path: destination; must end in `.keras`.
        config: the model's serialized config (a dict of JSON types; NumPy
            scalars and arrays are converted).
        weights: flat dict: key (e.g. ``layers/dense/vars/0``) -> array.
        metadata: extra entries for metadata.json (`keras_version`,
            `date_saved` and `fastnn_version` are always written).
        overwrite: replace an existing file. Defaults to `True`.
        h5_group_names: when given (`h5_group_names`) and h5py is
            installed, the archive also holds ``model.weights.h5``: the
            ``layers/`` and ``optimizer/`` arrays of `weights` in the layout
            of Keras 3's archives, so that Keras loads the archive too.
            Without h5py it is left out, silently. Defaults to `None`.

    Raises:
        ValueError: `path` does not end in `.keras`.
        TypeError: a config value is not JSON-serializable or a weight is not
            a numeric array.
        FileExistsError: the file exists and `overwrite` is False.
    """
    import json
    import zipfile

    path = os.fspath(path)
    if not isinstance(path, str) or not path.endswith(ARCHIVE_SUFFIX):
        raise ValueError(
            f"Invalid `filepath` argument: expected a `.keras` extension. Received: filepath={path}"
        )
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict, got {type(config).__name__}")
    config_json = json.dumps(config, default=_json_default)
    metadata_json = json.dumps(_default_metadata(metadata), default=_json_default)
    weights = _check_weights(weights)
    npz = _npz_bytes(weights)
    h5 = None
    if h5_group_names is not None and _h5py_or_none() is not None:
        h5 = _h5_bytes(_keras_weights(weights), h5_group_names)

    def write(f):
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as zf:
            zf.writestr(METADATA_FILENAME, metadata_json)
            zf.writestr(CONFIG_FILENAME, config_json)
            if h5 is not None:
                zf.writestr(H5_WEIGHTS_FILENAME, h5)
            zf.writestr(WEIGHTS_FILENAME, npz)

    atomic_write(path, write, overwrite)


def _check_zip_sizes(zf, source: str, json_names=()) -> None:
    """Refuses a zip bomb before any member is read: a member declaring more
    than _H5_BOMB_FLOOR_BYTES with a ratio above _H5_MAX_EXPANSION, or a JSON
    member declaring more than _JSON_MAX_BYTES."""
    for info in zf.infolist():
        if info.filename in json_names and info.file_size > _JSON_MAX_BYTES:
            raise ValueError(
                f"{source}: {info.filename} declares {info.file_size} bytes (at most "
                f"{_JSON_MAX_BYTES}); refusing to read it (a damaged file or a zip bomb)"
            )
        if info.file_size > _H5_BOMB_FLOOR_BYTES and info.file_size > _H5_MAX_EXPANSION * max(
            1, info.compress_size
        ):
            raise ValueError(
                f"{source}: member {info.filename!r} declares {info.file_size} bytes from "
                f"{info.compress_size} compressed (more than {_H5_MAX_EXPANSION}x); refusing "
                "to expand it (a damaged file or a zip bomb)"
            )


def _load_npz(data: bytes, source: str) -> dict:
    import zipfile

    if not data.startswith(b"PK"):  # a zip: local header, or end record when empty
        raise ValueError(f"{source} is not a NumPy .npz weights file (foreign or empty file)")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            _check_zip_sizes(zf, source)
    except zipfile.BadZipFile as e:
        raise ValueError(f"{source} is truncated or corrupted (BadZipFile: {e})") from None
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except ValueError as e:
        if "pickle" in str(e).lower():
            raise ValueError(
                f"{source} holds Python objects (pickled data); fastnn never loads those. "
                "Only numeric arrays can be read."
            ) from None
        raise ValueError(f"{source} is not a valid NumPy .npz weights file: {e}") from None
    except Exception as e:  # BadZipFile, EOFError, OSError from a damaged file
        raise ValueError(f"{source} is truncated or corrupted ({type(e).__name__}: {e})") from None


def _check_readable(path: str) -> None:
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such file: {path!r}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path!r} is a directory, not a file")


def read_archive(path) -> ArchiveContents:
    """Reads a `.keras` archive written by `write_archive`.

    Returns:
        `ArchiveContents(config, weights, metadata)`.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the name does not end in `.keras`; the file is not a zip
            (a foreign file), is truncated or corrupted, lacks config.json or
            its weights (model.weights.npz, or the model.weights.h5 Keras
            writes, read with h5py), or holds pickled objects.
    """
    import json
    import zipfile

    path = os.fspath(path)
    if not isinstance(path, str) or not path.endswith(ARCHIVE_SUFFIX):
        raise ValueError(
            f"Invalid filename: expected a `.keras` extension. Received: filepath={path}"
        )
    _check_readable(path)
    if not zipfile.is_zipfile(path):
        raise ValueError(
            f"{path!r} is not a .keras archive: it is not a zip file (foreign or truncated file)"
        )
    try:
        with zipfile.ZipFile(path, "r") as zf:
            names = set(zf.namelist())
            _check_zip_sizes(zf, repr(path), (CONFIG_FILENAME, METADATA_FILENAME))
            if CONFIG_FILENAME not in names:
                raise ValueError(
                    f"{path!r} is not a .keras archive: it has no {CONFIG_FILENAME} "
                    f"(members: {sorted(names)[:10]})"
                )
            h5_weights = WEIGHTS_FILENAME not in names and H5_WEIGHTS_FILENAME in names
            if WEIGHTS_FILENAME not in names and not h5_weights:
                raise ValueError(f"{path!r} is not a .keras archive: it has no {WEIGHTS_FILENAME}")
            config_bytes = zf.read(CONFIG_FILENAME)
            metadata_bytes = zf.read(METADATA_FILENAME) if METADATA_FILENAME in names else b"{}"
            weights_bytes = zf.read(H5_WEIGHTS_FILENAME if h5_weights else WEIGHTS_FILENAME)
    except zipfile.BadZipFile as e:
        raise ValueError(f"{path!r} is truncated or corrupted: {e}") from None
    except (EOFError, OSError) as e:
        if isinstance(e, (FileNotFoundError, IsADirectoryError, PermissionError)):
            raise
        raise ValueError(f"{path!r} is truncated or corrupted: {e}") from None
    try:
        config = json.loads(config_bytes.decode("utf-8"))
        metadata = json.loads(metadata_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise ValueError(
            f"{path!r} has a damaged {CONFIG_FILENAME} or {METADATA_FILENAME}: {e}"
        ) from None
    if not isinstance(config, dict):
        raise ValueError(f"{path!r}: {CONFIG_FILENAME} must hold a JSON object")
    if not isinstance(metadata, dict):
        metadata = {}
    if h5_weights:  # an archive Keras wrote: its HDF5 weights, in the same layout
        weights = _read_h5_bytes(weights_bytes, f"{path!r} ({H5_WEIGHTS_FILENAME})")
    else:
        weights = _load_npz(weights_bytes, f"{path!r} ({WEIGHTS_FILENAME})")
    return ArchiveContents(config, weights, metadata)


def _keras_weights(weights: dict) -> dict:
    """The entries of a flat weights dict that Keras's weights files hold
    (``layers/...`` and ``optimizer/...``), without fastnn's own
    (``fastnn/network_iterations``)."""
    return {k: v for k, v in weights.items() if k.startswith(("layers/", "optimizer/"))}


def _h5py_or_none():
    """h5py, or None where it cannot be imported."""
    try:
        import h5py
    except ImportError:
        return None
    return h5py


def _import_h5py(action: str, what: str = "`.weights.h5` files"):
    """h5py, or an ImportError that says how to get it and what works without it."""
    try:
        import h5py
    except ImportError:
        raise ImportError(
            f"{action} {what} needs the optional h5py package, which is not "
            "installed: `pip install h5py` (or `pip install fastnn[h5]`). `.weights.npz` "
            "files and `.keras` archives work without it."
        ) from None
    return h5py


def _h5_bytes(weights: dict, group_names) -> bytes:
    """A `.weights.h5` file's bytes in Keras 3's layout (see the module doc)."""
    h5py = _import_h5py("Writing")
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f.require_group("vars")  # Keras always writes the model's own group
        for path, name in (group_names or {}).items():
            group = f.require_group(f"{path}/vars" if path else "vars")
            group.attrs["name"] = name
        for key, arr in weights.items():
            if key == "optimizer/vars/0":
                arr = _keras_iterations(arr)
            parent, _, leaf = key.rpartition("/")
            group = f.require_group(parent) if parent else f
            group.create_dataset(leaf, data=arr)
    return buffer.getvalue()


def _h5_arrays(group, h5py, prefix: str, out: dict, source: str, seen=None) -> None:
    """Every dataset under `group` into `out` (key: its path), refusing links,
    external or virtual data and shape bombs, as Keras's `safe_get_h5_*`, and
    an object reached twice (hard links: a cycle, or one group linked many
    times to make the walk explode)."""
    seen = set() if seen is None else seen
    if group.id in seen:
        raise ValueError(f"{source}: {prefix or '/'} is reached twice (a hard-link cycle or alias)")
    seen.add(group.id)
    for name in group:
        _refuse_link(group, name, h5py, source, "weights files")
        obj = group[name]
        key = f"{prefix}{name}"
        if isinstance(obj, h5py.Group):
            _h5_arrays(obj, h5py, key + "/", out, source, seen)
            continue
        if obj.id in seen:
            raise ValueError(f"{source}: {key} is reached twice (a hard-link alias)")
        seen.add(obj.id)
        out[key] = _dataset_array(obj, h5py, key, source)


def _refuse_link(group, name: str, h5py, source: str, files: str) -> None:
    """Refuses a soft or external link at ``group[name]``, as Keras does."""
    link = group.get(name, getlink=True)
    if isinstance(link, (h5py.SoftLink, h5py.ExternalLink)):
        where = f"{group.name.rstrip('/')}/{name}"
        raise ValueError(
            f"{source} has a {type(link).__name__} at {where}; links are not allowed in {files}"
        )


def _dataset_array(obj, h5py, key: str, source: str) -> np.ndarray:
    """A dataset's array, refusing what Keras's `safe_get_h5_dataset` refuses
    (external or virtual data, shape bombs) and non-numeric data; bfloat16
    datasets (raw bits, attribute ``dtype``) become float32."""
    if not isinstance(obj, h5py.Dataset):
        raise ValueError(f"{source}: {key} is neither a group nor a dataset")
    if obj.external or obj.is_virtual:
        raise ValueError(f"{source}: {key} keeps its data outside the file; not allowed")
    bfloat16 = obj.attrs.get("dtype") == "bfloat16" and obj.dtype.itemsize == 2
    if not bfloat16 and obj.dtype.kind not in "biuf":
        raise ValueError(
            f"{source}: {key} has dtype {obj.dtype}; weights files hold numeric arrays only"
        )
    declared = math.prod(obj.shape or ()) * obj.dtype.itemsize
    if declared > _H5_BOMB_FLOOR_BYTES and declared > _H5_MAX_EXPANSION * obj.id.get_storage_size():
        raise ValueError(
            f"{source}: {key} declares {declared} bytes but stores almost nothing; "
            "refusing a possible decompression/shape bomb"
        )
    arr = np.asarray(obj[()])
    if bfloat16:  # raw bfloat16 bits are the upper half of a float32
        arr = (arr.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
    return arr


def _read_h5(path: str) -> dict:
    h5py = _import_h5py("Reading")
    source = repr(path)
    _check_hdf5(
        path,
        h5py,
        "`.weights.h5` file",
        "a NumPy .npz or a .keras archive? name .npz weights `*.weights.npz`",
        "weights file",
    )
    return _read_h5_file(h5py, path, source)


def _check_hdf5(path: str, h5py, what: str, zip_guess: str, kind: str) -> None:
    """Refuses a zip (`zip_guess` says what it may be) or another non-HDF5
    file named as an HDF5 `what`, before h5py opens it."""
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(b"PK"):
        raise ValueError(f"{path!r} is a zip file ({zip_guess}), not an HDF5 {what}")
    if not h5py.is_hdf5(path):
        raise ValueError(f"{path!r} is not an HDF5 {kind} (foreign, empty or truncated file)")


def _read_h5_bytes(data: bytes, source: str) -> dict:
    """The `model.weights.h5` of a `.keras` archive Keras wrote."""
    import io

    h5py = _import_h5py("Reading the HDF5 weights of")
    if not data.startswith(_HDF5_SIGNATURE):
        raise ValueError(f"{source} is not HDF5 (truncated or corrupted)")
    return _read_h5_file(h5py, io.BytesIO(data), source)


def _read_h5_file(h5py, file, source: str) -> dict:
    out = {}
    try:
        with h5py.File(file, "r") as f:
            if "layers" not in f and "vars" not in f:
                legacy = "layer_names" in f.attrs or "model_weights" in f
                raise ValueError(
                    f"{source} is not a Keras 3 `.weights.h5` file: it has no `layers` or `vars` "
                    "group"
                    + (
                        " (it is a legacy Keras 2 HDF5 model or weights file: under a `.h5` "
                        "name, load_model or load_weights reads it)"
                        if legacy
                        else ""
                    )
                )
            _h5_arrays(f, h5py, "", out, source)
    except (OSError, RuntimeError, KeyError) as e:
        if isinstance(e, (FileNotFoundError, IsADirectoryError, PermissionError)):
            raise
        raise ValueError(f"{source} is truncated or corrupted ({type(e).__name__}: {e})") from None
    return out


def _weights_suffix_error(path, verb: str, extra: str = "") -> ValueError:
    hint = ""
    if isinstance(path, str) and path.endswith((".h5", ".hdf5")):
        hint = (
            " Keras 3 requires `.weights.h5` for weights files too; a plain `.h5` name is "
            "the legacy HDF5 layout, which `model.save('<name>.h5')` writes for a whole model "
            "and load_model/load_weights read."
        )
    return ValueError(
        f"Invalid `filepath` argument: expected a `.weights.h5` or `.weights.npz`{extra} "
        f"extension to {verb}. Received: filepath={path}.{hint}"
    )


def write_weights(path, weights, *, overwrite=True, group_names=None) -> None:
    """Writes a flat weights dict to a `.weights.npz` or `.weights.h5` file atomically.

    Args:
        path: ends in `.weights.npz` (NumPy) or `.weights.h5` (Keras 3's
            HDF5 layout; needs h5py).
        weights: flat dict: key (e.g. ``layers/dense/vars/0``) -> array.
        overwrite: replace an existing file. Defaults to `True`.
        group_names: for `.weights.h5`, the ``name`` attribute of each
            ``vars`` group (`h5_group_names`); ignored for `.weights.npz`.

    Raises:
        ValueError: another extension.
        ImportError: `.weights.h5` without h5py installed.
        FileExistsError: the file exists and `overwrite` is False.
    """
    path = os.fspath(path)
    if isinstance(path, str) and path.endswith(H5_WEIGHTS_SUFFIX):
        data = _h5_bytes(_check_weights(weights), group_names)
    elif isinstance(path, str) and path.endswith(WEIGHTS_SUFFIX):
        data = _npz_bytes(_check_weights(weights))
    else:
        raise _weights_suffix_error(path, "save weights")
    atomic_write(path, lambda f: f.write(data), overwrite)


def read_weights(path) -> dict:
    """Reads the weights of a `.weights.npz` or `.weights.h5` file or of a `.keras` archive.

    Returns:
        Flat dict: key -> NumPy array (for `.weights.h5`, each dataset under
        its path, e.g. ``layers/dense/vars/0``).

    Raises:
        FileNotFoundError, ValueError: as `read_archive`; a `.weights.h5`
            file that is not HDF5 or not in Keras 3's layout is a ValueError.
        ImportError: `.weights.h5` without h5py installed.
    """
    path = os.fspath(path)
    if isinstance(path, str) and path.endswith(ARCHIVE_SUFFIX):
        return read_archive(path).weights
    if not isinstance(path, str) or not path.endswith((WEIGHTS_SUFFIX, H5_WEIGHTS_SUFFIX)):
        raise _weights_suffix_error(path, "load weights", " or `.keras`")
    _check_readable(path)
    if path.endswith(H5_WEIGHTS_SUFFIX):
        return _read_h5(path)
    with open(path, "rb") as f:
        data = f.read()
    return _load_npz(data, repr(path))


# -- legacy HDF5 model files (`model.save("x.h5")`) -------------------------------------
#
# Keras 2's whole-model format, which Keras 3 still reads and writes
# (keras/src/legacy/saving/legacy_h5_format.py) when a name ends in `.h5` or
# `.hdf5`. Root attributes ``keras_version``, ``backend``, ``model_config``
# (JSON: ``{"class_name", "config"}``, layers as ``{"class_name", "config"}``)
# and, when compiled, ``training_config`` (JSON: the compile arguments with
# ``optimizer_config``); a ``model_weights`` group (attribute ``layer_names``)
# with one group per layer (attribute ``weight_names``: the layer's trainable
# then non-trainable weights, each a dataset at that path); an
# ``optimizer_weights`` group (attribute ``weight_names``: the optimizer's
# variables in order). Keras 2 (tf.keras) wrote the same layout with Keras 2
# configs (``batch_input_shape``, ``lr``, ``"reduction": "auto"`` ...) and
# names such as ``dense/kernel:0``; weights are matched by position, never by
# name, as Keras matches them.

LEGACY_H5_SUFFIXES = (".h5", ".hdf5")
# The Keras whose legacy layout fastnn writes: the files' ``keras_version``.
LEGACY_H5_KERAS_VERSION = KERAS_FORMAT_VERSION
# Keras's limit on one attribute holding a list of names
# (legacy_h5_format.HDF5_OBJECT_HEADER_LIMIT): a longer list is split over
# attributes ``<name>0``, ``<name>1`` ...
_HDF5_OBJECT_HEADER_LIMIT = 64512
_LEGACY_H5_FILES = "legacy HDF5 model files (`.h5`)"
# Keras 3's words (saving_api.save_model, which logs them on every such save).
LEGACY_H5_SAVE_WARNING = (
    "You are saving your model as an HDF5 file via `model.save()` or "
    "`keras.saving.save_model(model)`. This file format is considered legacy. "
    "We recommend using instead the native Keras format, e.g. "
    "`model.save('my_model.keras')` or `keras.saving.save_model(model, 'my_model.keras')`. "
)
_NO_TRAINING_CONFIG_WARNING = (
    "No training configuration found in the save file, so the model was *not* compiled. "
    "Compile it manually."
)
_OPTIMIZER_STATE_WARNING = (
    "Error in loading the saved optimizer state. As a result, your model is starting with "
    "a freshly initialized optimizer."
)
# Keras 2 optimizer arguments Keras 3 has no use for (TF 2.11+'s optimizers).
_KERAS2_OPTIMIZER_FLAGS = ("jit_compile", "is_legacy_optimizer")
_NETWORK_ITERATIONS_ATTR = "fastnn_network_iterations"


def is_legacy_h5_path(path) -> bool:
    """Whether Keras 3 saves and loads `path` as a legacy HDF5 model: a name
    ending in `.h5` or `.hdf5`."""
    return isinstance(path, str) and path.endswith(LEGACY_H5_SUFFIXES)


class LegacyH5Contents:
    """What `_read_legacy_h5` found: the decoded ``model_config`` and
    ``training_config`` (None when absent), `layers` (``(layer name, weight
    names, arrays)`` in ``layer_names`` order, arrays in the file's order),
    `optimizer` (``(name, array)`` pairs, or None), the ``keras_version``
    that wrote it (``"1"`` when unsaid, as Keras reads it), and what fastnn
    adds (None in other files): the network's iteration count and the seeds
    its random layers drew (``{layer name: seed}``)."""

    def __init__(self, layers, **fields):
        self.layers = layers
        self.model_config = fields.get("model_config")
        self.training_config = fields.get("training_config")
        self.optimizer = fields.get("optimizer")
        self.keras_version = fields.get("keras_version", "1")
        self.network_iterations = fields.get("network_iterations")
        self.seeds = fields.get("seeds")


def _legacy_json(raw, what: str, source: str) -> dict:
    """A JSON attribute (bytes or str) as a dict; Keras's ``__tuple__`` and
    ``TensorShape`` encodings become lists."""
    import json

    if isinstance(raw, np.ndarray) and raw.shape == ():
        raw = raw[()]
    if isinstance(raw, (bytes, np.bytes_)):
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValueError(f"{source} has a damaged {what} attribute: {e}") from None
    if not isinstance(raw, str):
        raise ValueError(f"{source}: the {what} attribute is not JSON text ({type(raw).__name__})")
    if len(raw) > _JSON_MAX_BYTES:
        raise ValueError(f"{source}: the {what} attribute is larger than {_JSON_MAX_BYTES} bytes")

    def hook(obj):
        if obj.get("class_name") in ("__tuple__", "TensorShape") and "items" in obj:
            return list(obj["items"])
        return obj

    try:
        value = json.loads(raw, object_hook=hook)
    except (json.JSONDecodeError, RecursionError) as e:
        raise ValueError(f"{source} has a damaged {what} attribute: {e}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{source}: the {what} attribute must hold a JSON object")
    return value


def _legacy_names(group, name: str, source: str) -> list:
    """A list-of-names attribute (``layer_names``, ``weight_names``), whole or
    split into ``<name>0``, ``<name>1`` ..., as Keras reads it."""
    if name in group.attrs:
        chunks = [group.attrs[name]]
    else:
        chunks = []
        while f"{name}{len(chunks)}" in group.attrs:
            chunks.append(group.attrs[f"{name}{len(chunks)}"])
    out = []
    for chunk in chunks:
        values = np.asarray(chunk)
        if values.size == 0:
            continue
        if values.ndim != 1:
            raise ValueError(f"{source}: the {name} attribute of {group.name} is not a list")
        for value in values.tolist():
            if isinstance(value, bytes):
                try:
                    value = value.decode("utf-8")
                except UnicodeDecodeError:
                    pass
            if not isinstance(value, str) or not value:
                raise ValueError(
                    f"{source}: the {name} attribute of {group.name} holds {value!r:.80}, "
                    "not a name"
                )
            out.append(value)
    return out


def _legacy_child(parent, name: str, h5py, source: str):
    """``parent[name]`` walked part by part, refusing links, as Keras's
    `safe_get_h5_group`; a missing part is a clear error."""
    current = parent
    for part in name.split("/"):
        if not part or not isinstance(current, h5py.Group):
            raise ValueError(f"{source}: invalid path {name!r} in the file")
        if part not in current:
            raise ValueError(
                f"{source}: the file lists {name!r} under {parent.name} but holds no such "
                "object (a truncated or damaged file)"
            )
        _refuse_link(current, part, h5py, source, "model files")
        current = current[part]
    return current


def _legacy_group(parent, name: str, h5py, source: str):
    group = _legacy_child(parent, name, h5py, source)
    if not isinstance(group, h5py.Group):
        raise ValueError(f"{source}: {group.name} is not a group")
    return group


def _read_legacy_h5(path: str, weights_only: bool = False, optimizer: bool = True):
    """Reads a legacy HDF5 model file (or, with `weights_only`, Keras 2's
    weights file: ``layer_names`` at the root) into a `LegacyH5Contents`,
    checking every name, group and dataset; `optimizer`: read
    ``optimizer_weights`` too.

    Raises:
        ImportError: h5py is not installed.
        FileNotFoundError: no such file.
        ValueError: a foreign, truncated or damaged file, or one without a
            model config ("No model config found", as Keras says).
    """
    h5py = _import_h5py("Reading", _LEGACY_H5_FILES)
    _check_readable(path)
    _check_hdf5(
        path,
        h5py,
        "legacy model file",
        "a `.keras` archive or `.npz` weights under a `.h5` name?",
        "model file",
    )
    source = repr(path)
    try:
        with h5py.File(path, "r") as f:
            return _read_legacy(f, h5py, path, weights_only, optimizer)
    except (OSError, RuntimeError, KeyError) as e:
        if isinstance(e, (FileNotFoundError, IsADirectoryError, PermissionError)):
            raise
        raise ValueError(f"{source} is truncated or corrupted ({type(e).__name__}: {e})") from None


def _read_legacy(f, h5py, path: str, weights_only: bool, optimizer: bool) -> LegacyH5Contents:
    source = repr(path)
    keras3_weights = "layers" in f or "vars" in f
    model_config = training_config = None
    if weights_only:
        if "layer_names" in f.attrs:
            group = f
        elif "model_weights" in f:
            group = _legacy_group(f, "model_weights", h5py, source)
        else:
            raise ValueError(
                f"{source} is not a legacy HDF5 weights file: it has no `layer_names` "
                "attribute or `model_weights` group"
                + (
                    " (it is a Keras 3 weights file: name it `*.weights.h5`)"
                    if keras3_weights
                    else ""
                )
            )
    else:
        if "model_config" not in f.attrs:
            hint = ""
            if keras3_weights:
                hint = (
                    " It is a Keras 3 weights file (`.weights.h5` layout): build the model, "
                    "then model.load_weights('<name>.weights.h5')."
                )
            elif "layer_names" in f.attrs:
                hint = (
                    " It holds weights only (Keras 2's save_weights): build the model, then "
                    "model.load_weights(...)."
                )
            raise ValueError(f"No model config found in the file at {path}.{hint}")
        model_config = _legacy_json(f.attrs["model_config"], "model_config", source)
        if "training_config" in f.attrs:
            training_config = _legacy_json(f.attrs["training_config"], "training_config", source)
        if "model_weights" not in f:
            raise ValueError(f"{source} has a model config but no `model_weights` group")
        group = _legacy_group(f, "model_weights", h5py, source)
    layers = []
    for name in _legacy_names(group, "layer_names", source):
        layer_group = _legacy_group(group, name, h5py, source)
        names = _legacy_names(layer_group, "weight_names", source)
        arrays = [_legacy_array(layer_group, n, h5py, source) for n in names]
        layers.append((name, names, arrays))
    if "top_level_model_weights" in group:
        top = _legacy_group(group, "top_level_model_weights", h5py, source)
        if _legacy_names(top, "weight_names", source):
            raise ValueError(
                f"{source} holds top-level weights of the model itself (a subclassed model's "
                "own variables); fastnn's models keep all their weights in layers"
            )
    optimizer_weights = None
    if optimizer and training_config is not None and "optimizer_weights" in f:
        og = _legacy_group(f, "optimizer_weights", h5py, source)
        optimizer_weights = [
            (n, _legacy_array(og, n, h5py, source))
            for n in _legacy_names(og, "weight_names", source)
        ]
    if weights_only:
        return LegacyH5Contents(layers)
    version = f.attrs.get("keras_version", "1")
    seeds = f.attrs.get(_SEEDS_KEY)
    return LegacyH5Contents(
        layers,
        model_config=model_config,
        training_config=training_config,
        optimizer=optimizer_weights,
        keras_version=version.decode("utf-8", "replace") if isinstance(version, bytes) else version,
        network_iterations=f.attrs.get(_NETWORK_ITERATIONS_ATTR),
        seeds=None if seeds is None else _legacy_json(seeds, _SEEDS_KEY, source),
    )


def _legacy_array(group, name: str, h5py, source: str) -> np.ndarray:
    obj = _legacy_child(group, name, h5py, source)
    return _dataset_array(obj, h5py, f"{group.name}/{name}", source)


# -- legacy configs: Keras 2's spellings in Keras 3's words


def _legacy_model_kind(model_config, source: str, custom_objects=None):
    """``(fastnn model class, config for its from_config)`` of a legacy
    ``model_config``, Keras 2's layer and node spellings translated."""
    from fastnn import models

    class_name = model_config.get("class_name")
    config = model_config.get("config")
    if class_name == "Sequential":
        kind = models.Sequential
        entries = config if isinstance(config, list) else (config or {}).get("layers")
    elif class_name in ("Functional", "Model"):  # "Model": Keras 2 before TF 2.4
        kind = models.Model
        entries = (config or {}).get("layers") if isinstance(config, dict) else None
    else:
        raise ValueError(
            f"{source} holds a {class_name!r} model; fastnn loads Sequential models and "
            "functional models that are one chain of layers"
        )
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ValueError(f"{source}: the model config has no list of layer configs")
    entries = [_legacy_layer_entry(e) for e in entries]
    _refuse_unknown_layers(entries, source, custom_objects)
    if isinstance(config, list):
        return kind, entries
    return kind, {**config, "layers": entries}


def _legacy_layer_entry(entry: dict) -> dict:
    """One layer's legacy config in the form fastnn's layers read: Keras 2's
    one-element ``axis`` list (BatchNormalization after build) an int,
    LeakyReLU's ``alpha`` its ``negative_slope``, a ``Policy`` dtype its
    name, and Keras 2's ``inbound_nodes`` (``[[["dense", 0, 0, {}]]]``)
    Keras 3's."""
    entry = dict(entry)
    config = entry.get("config")
    if isinstance(config, dict):
        config = dict(config)
        axis = config.get("axis")
        if isinstance(axis, list) and len(axis) == 1 and isinstance(axis[0], int):
            config["axis"] = axis[0]
        if entry.get("class_name") == "LeakyReLU" and "alpha" in config:
            config.setdefault("negative_slope", config.pop("alpha"))
        dtype = config.get("dtype")
        if isinstance(dtype, dict) and dtype.get("class_name") == "Policy":
            config["dtype"] = (dtype.get("config") or {}).get("name")
        entry["config"] = config
    nodes = entry.get("inbound_nodes")
    if isinstance(nodes, list) and nodes and isinstance(nodes[0], list):
        entry["inbound_nodes"] = [_keras3_node(node) for node in nodes]
    return entry


def _keras3_node(node: list) -> dict:
    """A Keras 2 inbound node (``[[layer, node index, tensor index, kwargs], ...]``)
    in Keras 3's form."""
    args, kwargs = [], {}
    for tensor in node:
        if not isinstance(tensor, list) or len(tensor) < 3:
            raise ValueError(f"an inbound node fastnn cannot read: {node!r:.200}")
        history = list(tensor[:3])
        args.append({"class_name": "__keras_tensor__", "config": {"keras_history": history}})
        if len(tensor) > 3 and isinstance(tensor[3], dict):
            kwargs.update(tensor[3])
    return {"args": args, "kwargs": kwargs}


def _refuse_unknown_layers(entries, source: str, custom_objects) -> None:
    """Names every layer class fastnn lacks (Conv2D, LSTM ...) at once."""
    known = set(_family_table("layers")) | set(custom_objects or {})
    unknown = []
    for entry in entries:
        class_name = entry.get("class_name")
        if class_name in known or get_registered_object(str(class_name), custom_objects):
            continue
        name = (
            (entry.get("config") or {}).get("name")
            if isinstance(entry.get("config"), dict)
            else None
        )
        unknown.append(f"{class_name} {name!r}" if name else str(class_name))
    if unknown:
        raise ValueError(
            f"{source} holds layers fastnn lacks: {', '.join(unknown[:10])}"
            + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else "")
            + ". fastnn builds multilayer perceptrons from "
            + ", ".join(sorted(known - {"InputLayer"}))
            + " (custom layers: pass them as custom_objects)"
        )


def _legacy_compile_config(training_config: dict, source: str, custom_objects=None) -> dict:
    """``compile_from_config``'s arguments from a legacy ``training_config``
    (Keras passes only these five to compile), Keras 2's spellings read as
    Keras 2 meant them: ``Custom>Adam`` (TF 2.11+) as Adam with its saved
    arguments, ``lr`` as ``learning_rate``, ``jit_compile`` and
    ``is_legacy_optimizer`` dropped, a loss's ``"reduction": "auto"`` as
    ``"sum_over_batch_size"``. (Keras 3.15 refuses the last three spellings,
    and loads ``Custom>Adam`` as a default Adam, its learning rate lost.)"""
    optimizer = training_config.get("optimizer_config")
    if not isinstance(optimizer, dict) or "class_name" not in optimizer:
        raise ValueError(f"{source}: the training config has no optimizer_config")
    return {
        "optimizer": _legacy_optimizer_config(optimizer),
        "loss": _legacy_compiled(training_config.get("loss")),
        "loss_weights": training_config.get("loss_weights"),
        "metrics": _legacy_metrics(training_config.get("metrics"), custom_objects),
        "weighted_metrics": _legacy_metrics(
            training_config.get("weighted_metrics"), custom_objects
        ),
    }


def _unknown_metric(compile_config: dict):
    """The first metric name of a legacy file's compile arguments that
    resolves to nothing (a user's function saved by name, e.g. Stack
    Overflow's ``f1_m``, loaded without `custom_objects`), or None."""
    from fastnn import metrics

    pending = [compile_config.get("metrics"), compile_config.get("weighted_metrics")]
    while pending:
        value = pending.pop()
        if isinstance(value, (list, tuple)):
            pending.extend(value)
        elif isinstance(value, dict) and "class_name" not in value:  # per output
            pending.extend(value.values())
        elif isinstance(value, str) and not metrics._is_accuracy_alias(value):
            try:
                metrics.get(value)
            except ValueError:
                return value
    return None


def _legacy_metrics(value, custom_objects):
    """A training config's metrics: a name `custom_objects` (or a scope, or
    the registry) holds is that function, as Keras's legacy loader
    deserializes metric names; other names stay names."""
    value = _legacy_compiled(value)
    if isinstance(value, list):
        return [_legacy_metrics(v, custom_objects) for v in value]
    if isinstance(value, dict) and "class_name" not in value:  # per output
        return {k: _legacy_metrics(v, custom_objects) for k, v in value.items()}
    if isinstance(value, str) and get_registered_object(value, custom_objects) is not None:
        return {"class_name": "function", "config": value}
    return value


def _legacy_optimizer_config(optimizer: dict) -> dict:
    from fastnn import optimizers

    class_name = str(optimizer["class_name"])
    if class_name.startswith("Custom>"):
        base = class_name[len("Custom>") :]
        if base.lower() in {n.lower() for n in optimizers.__all__}:
            class_name = base
    config = dict(optimizer.get("config") or {})
    if "lr" in config and "learning_rate" not in config:
        config["learning_rate"] = config.pop("lr")
    for flag in _KERAS2_OPTIMIZER_FLAGS:
        config.pop(flag, None)
    return {"class_name": class_name, "config": config}


def _legacy_compiled(value):
    """A loss or metrics entry of a training config, each Keras 2 loss
    ``"reduction": "auto"`` read as ``"sum_over_batch_size"``."""
    if isinstance(value, list):
        return [_legacy_compiled(v) for v in value]
    if isinstance(value, dict) and "class_name" not in value:  # per output
        return {k: _legacy_compiled(v) for k, v in value.items()}
    if isinstance(value, dict) and isinstance(value.get("config"), dict):
        config = value["config"]
        if config.get("reduction") == "auto":
            config = {**config, "reduction": "sum_over_batch_size"}
        return {**value, "config": config}
    return value


def _legacy_weight_order(layer) -> list:
    """Indices into `layer.weights` in the legacy files' order: trainable
    weights, then non-trainable ones (legacy_h5_format._legacy_weights)."""
    weights = layer.weights
    return [i for i, w in enumerate(weights) if w.trainable] + [
        i for i, w in enumerate(weights) if not w.trainable
    ]


def _legacy_state(
    model, contents: LegacyH5Contents, source: str, skip_mismatch=False, numbers=None
) -> dict:
    """The file's layer weights as `pack_weights`' flat dict for `model`,
    matched by position among the layers that have weights (as Keras
    matches them), with Keras's errors for a count or shape mismatch; with
    `skip_mismatch`, a weight of another shape keeps its value, with Keras's
    warning (legacy_h5_format._set_weights), while a count mismatch still
    raises, as in Keras. `numbers`: the layers' numbers in those messages
    (Keras's ``layer #k``; default: their positions)."""
    import warnings

    saved = [(name, names, arrays) for name, names, arrays in contents.layers if names]
    layers = [layer for layer in model._layers if layer.weights]
    if len(saved) != len(layers):
        raise ValueError(
            f"Cannot load {source}: Layer count mismatch when loading weights from file. "
            f"Model expected {len(layers)} layers, found {len(saved)} saved layers."
        )
    numbers = list(range(len(layers))) if numbers is None else numbers
    per_layer = {}
    for k, layer, (name, _, arrays) in zip(numbers, layers, saved):
        order = _legacy_weight_order(layer)
        if len(arrays) != len(order):
            raise ValueError(
                f"Cannot load {source}: Weight count mismatch for layer #{k} (named "
                f"{layer.name} in the current model, {name} in the save file). Layer expects "
                f"{len(order)} weight(s). Received {len(arrays)} saved weight(s)"
            )
        values = [None] * len(order)
        for index, array in zip(order, arrays):
            weight = layer.weights[index]
            expected = tuple(weight.shape)
            if tuple(array.shape) != expected:
                where = f"layer #{k} (named {layer.name})"
                detail = (
                    f"weight {weight.path}. Weight expects shape {expected}. Received saved "
                    f"weight with shape {tuple(array.shape)}"
                )
                # (Keras's words, without a space after `where`)
                if not skip_mismatch:
                    raise ValueError(f"Cannot load {source}: Shape mismatch in {where}for {detail}")
                warnings.warn(
                    f"Skipping loading weights for {where}due to mismatch in shape for {detail}",
                    stacklevel=4,
                )
                array = np.array(weight)
            values[index] = array
        per_layer[id(layer)] = values
    return pack_weights(
        [(type(layer).__name__, per_layer.get(id(layer), [])) for layer in model._layers]
    )


def _legacy_optimizer_values(model, contents: LegacyH5Contents, source: str):
    """The optimizer variables to restore from a legacy file's
    ``optimizer_weights``, or None.

    Keras 3.15 assigns the saved values in order to its optimizer's
    variables, iterations then learning rate (a loaded optimizer has no
    others yet), stopping at the first whose shape differs with a warning
    ("Error in loading the saved optimizer state ..."): a Keras 2 file gives
    its iteration count. fastnn does the same, and when a file Keras 3 (or
    fastnn) wrote holds the whole state in Keras 3's order restores the
    slots too, so training resumes where it stopped (Keras's loaded model
    cannot train on: its optimizer was built without variables). Keras 2
    ordered its slots otherwise (TF 2.0-2.10: every ``m``, then every ``v``).
    """
    import warnings

    saved = contents.optimizer
    if not saved or not model.compiled:
        return None
    values = [np.asarray(array) for _, array in saved]
    if not str(contents.keras_version).startswith(("1", "2")):
        try:
            plan = model._optimizer_restore_plan(values, source)
        except ValueError:
            plan = None
        if isinstance(plan, dict):
            return values
    opt = model.optimizer
    has_lr = not callable(opt._learning_rate)
    taken = []
    for value in values[: 2 if has_lr else 1]:
        if value.shape != ():
            warnings.warn(_OPTIMIZER_STATE_WARNING, stacklevel=4)
            break
        taken.append(value)
    if not taken:
        return None
    if has_lr and len(taken) == 1:
        taken.append(np.array(opt._learning_rate, np.float32))  # the config's, unchanged
    return taken


def _load_legacy_h5_model(path, custom_objects=None, compile=True):
    """`load_model` of a legacy HDF5 file: the model rebuilt from
    ``model_config``, its weights, and with `compile` (when the file has a
    ``training_config``) compiled as saved with the optimizer state
    `_legacy_optimizer_values` chooses. Nothing is returned half-loaded."""
    import warnings

    from fastnn import models

    path = os.fspath(path)
    source = repr(path)
    contents = _read_legacy_h5(path, optimizer=bool(compile))
    kind, config = _legacy_model_kind(contents.model_config, source, custom_objects)
    try:
        config = _config_with_seeds(config, contents.seeds)
    except ValueError as e:
        raise ValueError(f"{source}: {e}") from None
    compile_config = None
    if compile and contents.training_config is not None:
        compile_config = _legacy_compile_config(contents.training_config, source, custom_objects)
    unknown = None
    try:
        with CustomObjectScope(custom_objects), tolerating_archive_names():
            model = kind.from_config(config, custom_objects)
            _keep_seeds_drawn(model, contents.seeds)
            if compile_config is not None:
                unknown = _unknown_metric(compile_config)
                if unknown is None:
                    models._compile_file_model(model, compile_config)
    except (ValueError, TypeError) as e:
        raise models._rebuild_error(e, source) from None
    if unknown is not None:
        # Keras's legacy loader leaves metric names to be resolved by the first
        # evaluate or fit, so such a file loads for predict: so it does here.
        warnings.warn(
            f"{source} was compiled with the metric {unknown!r}, which is neither fastnn's "
            "nor among custom_objects or the registered objects: the model is returned "
            f"uncompiled (predict works). Pass custom_objects={{{unknown!r}: {unknown}}} to "
            "load it compiled, or compile it again.",
            stacklevel=3,
        )
    if compile and contents.training_config is None:
        warnings.warn(_NO_TRAINING_CONFIG_WARNING, stacklevel=3)
    weights = _legacy_state(model, contents, source)
    optimizer = _legacy_optimizer_values(model, contents, source)
    for i, value in enumerate(optimizer or ()):
        weights[f"optimizer/vars/{i}"] = value
    if contents.network_iterations is not None:
        weights[models._NETWORK_ITERATIONS_KEY] = np.asarray(contents.network_iterations)
    if model._net is not None:
        model._load_state(weights, source, load_optimizer=optimizer is not None)
    elif any(k.startswith("layers/") for k in weights):
        raise ValueError(f"{source}: the model config gives no input shape to build the model")
    return model


def _load_legacy_h5_weights(model, path, by_name=False, skip_mismatch=False) -> None:
    """`model.load_weights` of a legacy HDF5 file (a model file's
    ``model_weights``, or Keras 2's ``save_weights`` file): by position among
    the layers with weights, or with `by_name` into the layers of the same
    name (others keep theirs); with `skip_mismatch`, weights of another shape
    (and by name, layers with another number of weights) keep theirs, with
    Keras's warnings; the optimizer's state is not read, as Keras."""
    path = os.fspath(path)
    source = repr(path)
    contents = _read_legacy_h5(path, weights_only=True)
    numbers = None
    if by_name:
        contents.layers, numbers = _layers_by_name(model, contents.layers, source, skip_mismatch)
    weights = _legacy_state(model, contents, source, skip_mismatch, numbers)
    model._load_state(weights, source, load_optimizer=False)


def _layers_by_name(model, saved, source: str, skip_mismatch=False) -> tuple:
    """`saved` reordered as `model`'s layers with weights: each takes the
    saved layer of its name, or its own weights when the file has none (or,
    with `skip_mismatch`, another number of weights: Keras's warning); and
    each one's number in Keras's messages (its place in the file)."""
    import warnings

    by_name = {name: (k, (name, names, arrays)) for k, (name, names, arrays) in enumerate(saved)}
    out, numbers = [], []
    for own_k, layer in enumerate(each for each in model._layers if each.weights):
        k, entry = by_name.get(layer.name, (own_k, None))
        if entry is not None and len(entry[1]) != len(layer.weights):
            counts = (
                f"Layer expects {len(layer.weights)} weight(s). Received {len(entry[1])} saved "
                "weight(s)"
            )
            if not skip_mismatch:
                raise ValueError(
                    f"Cannot load {source}: Weight count mismatch for layer #{k} (named "
                    f"{layer.name}). {counts}"
                )
            warnings.warn(
                f"Skipping loading of weights for layer #{k} (named {layer.name}) due to "
                f"mismatch in number of weights. {counts}",
                stacklevel=4,
            )
            entry = None
        if entry is None:
            order = _legacy_weight_order(layer)
            own = [np.array(layer.weights[i]) for i in order]
            entry = (layer.name, [layer.weights[i].path for i in order], own)
        out.append(entry)
        numbers.append(k)
    return out, numbers


# -- writing


def _save_legacy_h5(model, path, overwrite=True, include_optimizer=True) -> None:
    """Writes `model` as a legacy HDF5 file in Keras 3.15's layout (Keras's
    `load_model` reads it), atomically."""
    import json

    from fastnn import _core

    h5py = _import_h5py("Writing", _LEGACY_H5_FILES)
    path = os.fspath(path)
    names = [layer.name for layer in model.layers]
    clash = sorted({n for n in names if names.count(n) > 1 or "/" in n or not n})
    if clash:
        raise ValueError(
            f"Cannot save {model.name!r} as a legacy HDF5 file: its layer names must be unique, "
            f"non-empty and without '/' (they name the file's groups); got {clash}"
        )
    identity = model._class_identity(model.get_config())
    config = dict(identity["config"])
    # The seeds fastnn's Dropout and noise layers drew, so that a fastnn load
    # resumes their masks exactly; Keras's config keeps `seed` None (Keras
    # takes no 64-bit seed there).
    seeds = model._drawn_seeds()
    config["layers"] = [
        {k: v for k, v in entry.items() if k not in ("module", "registered_name", "build_config")}
        for entry in config["layers"]
    ]
    attrs = {
        "keras_version": LEGACY_H5_KERAS_VERSION,
        "backend": "fastnn",
        "model_config": {"class_name": identity["class_name"], "config": config},
    }
    optimizer = None
    if include_optimizer and model.compiled:
        compile_config = model.get_compile_config()
        serialized = compile_config.pop("optimizer")
        training = {k: _legacy_serialized(v) for k, v in compile_config.items()}
        training["optimizer_config"] = {
            "class_name": serialized["class_name"],
            "config": serialized["config"],
        }
        attrs["training_config"] = training
        optimizer = _legacy_optimizer_entries(model)
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        for key, value in attrs.items():
            if isinstance(value, dict):
                value = json.dumps(value, default=_json_default).encode("utf8")
            f.attrs[key] = value
        f.attrs["fastnn_version"] = _core.__version__
        if seeds:
            f.attrs[_SEEDS_KEY] = json.dumps(seeds).encode("utf8")
        if model._net is not None:
            f.attrs[_NETWORK_ITERATIONS_ATTR] = np.int64(model._net.iterations)
        group = f.create_group("model_weights")
        _name_list_attr(group, "layer_names", names)
        group.attrs["backend"] = b"fastnn"
        group.attrs["keras_version"] = LEGACY_H5_KERAS_VERSION.encode("utf8")
        for layer in sorted(model.layers, key=lambda layer: layer.name):
            weights = [layer.weights[i] for i in _legacy_weight_order(layer)]
            _write_named_arrays(
                group.create_group(layer.name), [(w.path, np.asarray(w)) for w in weights]
            )
        _write_named_arrays(group.create_group("top_level_model_weights"), [])
        if optimizer:
            _write_named_arrays(f.create_group("optimizer_weights"), optimizer)
    data = buffer.getvalue()
    atomic_write(path, lambda out: out.write(data), overwrite)


def _legacy_serialized(value):
    """A compile-config entry as Keras's legacy serialization writes it:
    objects as ``{"class_name", "config"}``, functions by name."""
    if isinstance(value, list):
        return [_legacy_serialized(v) for v in value]
    if isinstance(value, dict) and "class_name" not in value:  # per output
        return {k: _legacy_serialized(v) for k, v in value.items()}
    if isinstance(value, dict):
        if value["class_name"] == "function":
            return value.get("config")
        return {"class_name": value["class_name"], "config": value.get("config")}
    return value


def _legacy_optimizer_entries(model) -> list:
    """``(path, value)`` of each optimizer variable in Keras's order, named
    as Keras names them (``adam/iteration``, ``adam/learning_rate``,
    ``adam/sequential_dense_kernel_momentum`` ...)."""
    opt = model.optimizer
    out = []
    for i, value in enumerate(opt.variables):
        path = getattr(value, "path", None) or f"{opt.name}/{('iteration', 'learning_rate')[i]}"
        out.append((path, _keras_iterations(np.array(value)) if i == 0 else np.array(value)))
    return out


def _keras_iterations(arr: np.ndarray) -> np.ndarray:
    """The iteration count as Keras stores it (int32), int64 past its range."""
    if arr.shape == () and arr.dtype.kind in "iu":
        if np.iinfo(np.int32).min <= int(arr) <= np.iinfo(np.int32).max:
            return arr.astype(np.int32)
    return arr


def _name_list_attr(group, name: str, values: list) -> None:
    """A list of names as Keras writes one (save_attributes_to_hdf5_group):
    UTF-8 bytes, split over ``<name>0``, ``<name>1`` ... when one attribute
    would pass _HDF5_OBJECT_HEADER_LIMIT bytes."""
    data = [v.encode("utf8") for v in values]
    too_long = [v for v in data if len(v) > _HDF5_OBJECT_HEADER_LIMIT]
    if too_long:
        raise ValueError(
            f"Cannot save names longer than {_HDF5_OBJECT_HEADER_LIMIT} bytes in an HDF5 "
            f"attribute: {too_long[0][:80]!r}..."
        )
    array = np.asarray(data)
    chunks = 1
    while any(c.nbytes > _HDF5_OBJECT_HEADER_LIMIT for c in np.array_split(array, chunks)):
        chunks += 1
    if chunks == 1:
        group.attrs[name] = data
    else:
        for i, chunk in enumerate(np.array_split(array, chunks)):
            group.attrs[f"{name}{i}"] = chunk


def _write_named_arrays(group, entries) -> None:
    """``weight_names`` and one dataset per ``(path, array)``, as Keras's
    `save_subset_weights_to_hdf5_group`."""
    _name_list_attr(group, "weight_names", [path for path, _ in entries])
    for path, array in entries:
        group.create_dataset(path, data=array)


# -- keras.saving's functions ----------------------------------------------------------


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """`fastnn.models.load_model`, as Keras 3's `keras.saving.load_model`."""
    from fastnn import models

    return models.load_model(
        filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode
    )


def save_model(model, filepath, overwrite=True, zipped=None, **kwargs):
    """`model.save(filepath, overwrite, zipped)`, as Keras 3's
    `keras.saving.save_model`."""
    from fastnn import models

    models.save_model(model, filepath, overwrite=overwrite, zipped=zipped, **kwargs)


def save_weights(model, filepath, overwrite=True, max_shard_size=None, **kwargs):
    """`model.save_weights(...)`, as Keras 3's `keras.saving.save_weights`."""
    if kwargs:
        raise ValueError(f"Invalid keyword arguments: {kwargs}")
    model.save_weights(filepath, overwrite=overwrite, max_shard_size=max_shard_size)


def load_weights(model, filepath, skip_mismatch=False, **kwargs):
    """`model.load_weights(...)`, as Keras 3's `keras.saving.load_weights`."""
    model.load_weights(filepath, skip_mismatch=skip_mismatch, **kwargs)


# Keras's names this module lacks say what they are and why (fastnn._absent).
__getattr__ = _absent.module_getattr(__name__)
