"""Reading and writing `.keras` archives, `.weights.npz` and `.weights.h5` files.

The archive has the layout of Keras 3's own (``keras/src/saving/saving_lib.py``):
a zip holding

- ``metadata.json``: ``{"fastnn_version", "date_saved", ...}``;
- ``config.json``: the Keras-style serialized model (``{"module",
  "class_name", "config", "compile_config", ...}``), see
  `serialize_keras_object`;
- ``model.weights.npz``: every array under a flat key in Keras's naming
  (``layers/dense/vars/0``, ``layers/dense/vars/1``, ``layers/dense_1/vars/0``,
  ``optimizer/vars/0`` ...), see `layer_paths`.

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

It is also ``keras.saving``'s public API: `load_model`, `save_model`,
`load_weights`, `save_weights`.

This module is imported lazily: nothing here runs at ``import fastnn``.
"""

from __future__ import annotations

import io
import math
import os

import numpy as np

from fastnn.utils.fileio import atomic_write
from fastnn.utils.naming import to_snake_case
from fastnn.utils.registry import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
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
    optimizer = []
    while f"optimizer/vars/{len(optimizer)}" in weights:
        optimizer.append(np.asarray(weights[f"optimizer/vars/{len(optimizer)}"]))
    return per_layer, optimizer


# -- serialization -------------------------------------------------------------


def serialize_keras_object(obj, module=None):
    """A Keras-style description of `obj`, made of JSON types only.

    Objects with a `get_config()` become ``{"module", "class_name", "config",
    "registered_name"}`` (``module`` is `module`, or Keras's module for one of
    fastnn's classes, or the class's own module); a model becomes its
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
        cls = type(obj)
        return {
            "module": module or _keras_module(cls.__module__),
            "class_name": cls.__name__,
            "config": serialize_keras_object(get_config()),
            "registered_name": None,
        }
    raise TypeError(
        f"Cannot serialize an object of type {type(obj).__name__} ({obj!r}): it has no get_config()"
    )


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
            f"as `custom_objects`.{hint}"
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
    optimizer, schedule, loss, metric, regularizer, constraint, initializer
    or function from its serialized form (`serialize_keras_object`'s or
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
    """
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
                model.compile_from_config(config["compile_config"])
        return model
    if isinstance(config, dict) and any(
        isinstance(n, str) and get_registered_object(n, custom_objects) is not None
        for n in (config.get("class_name"), config.get("registered_name"))
    ):  # a user's class, given or registered: whatever its family
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

    metadata = {
        "fastnn_version": _core.__version__,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
    }
    if extra:
        metadata.update(extra)
    return metadata


def write_archive(path, config, weights, metadata=None, *, overwrite=True) -> None:
    """Writes a `.keras` archive atomically.

    Args:
        path: destination; must end in `.keras`.
        config: the model's serialized config (a dict of JSON types; NumPy
            scalars and arrays are converted).
        weights: flat dict: key (e.g. ``layers/dense/vars/0``) -> array.
        metadata: extra entries for metadata.json (`fastnn_version` and
            `date_saved` are always written).
        overwrite: replace an existing file. Defaults to `True`.

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
    npz = _npz_bytes(_check_weights(weights))

    def write(f):
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as zf:
            zf.writestr(METADATA_FILENAME, metadata_json)
            zf.writestr(CONFIG_FILENAME, config_json)
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


def _import_h5py(action: str):
    """h5py, or an ImportError that says how to get it and what works without it."""
    try:
        import h5py
    except ImportError:
        raise ImportError(
            f"{action} `.weights.h5` files needs the optional h5py package, which is not "
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
            if key == "optimizer/vars/0" and arr.shape == () and arr.dtype.kind in "iu":
                # Keras's iterations variable is int32; keep int64 past its range.
                if np.iinfo(np.int32).min <= int(arr) <= np.iinfo(np.int32).max:
                    arr = arr.astype(np.int32)
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
        link = group.get(name, getlink=True)
        if isinstance(link, (h5py.SoftLink, h5py.ExternalLink)):
            raise ValueError(
                f"{source} has a {type(link).__name__} at {prefix}{name}; links are not allowed "
                "in weights files"
            )
        obj = group[name]
        key = f"{prefix}{name}"
        if isinstance(obj, h5py.Group):
            _h5_arrays(obj, h5py, key + "/", out, source, seen)
            continue
        if obj.id in seen:
            raise ValueError(f"{source}: {key} is reached twice (a hard-link alias)")
        seen.add(obj.id)
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
        if (
            declared > _H5_BOMB_FLOOR_BYTES
            and declared > _H5_MAX_EXPANSION * obj.id.get_storage_size()
        ):
            raise ValueError(
                f"{source}: {key} declares {declared} bytes but stores almost nothing; "
                "refusing a possible decompression/shape bomb"
            )
        arr = np.asarray(obj[()])
        if bfloat16:  # raw bfloat16 bits are the upper half of a float32
            arr = (arr.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
        out[key] = arr


_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _read_h5(path: str) -> dict:
    h5py = _import_h5py("Reading")
    source = repr(path)
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(b"PK"):
        raise ValueError(
            f"{source} is a zip file (a NumPy .npz or a .keras archive?), not an HDF5 "
            "`.weights.h5` file; name .npz weights `*.weights.npz`"
        )
    if not h5py.is_hdf5(path):
        raise ValueError(f"{source} is not an HDF5 weights file (foreign, empty or truncated file)")
    return _read_h5_file(h5py, path, source)


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
                        " (it is a legacy Keras 2 HDF5 model or weights file, which fastnn "
                        "does not read)"
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
            "Keras 2's legacy HDF5 layout, which fastnn does not write or read."
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
