"""Reading the `.npz` files of Keras's text and tabular datasets without
running code from them.

Numeric arrays are read with pickling disabled. The ragged word-index
sequences of IMDB and Reuters are object arrays, which NumPy can only store
pickled: they are read with an unpickler that rebuilds NumPy arrays, dtypes,
lists and numbers and refuses every other global (a crafted file raises
`DatasetError` instead of importing anything). The CIFAR batch files,
pickles of dicts of arrays, are read with the same unpickler
(`fastnn.datasets._cifar`).
"""

from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np

from fastnn.datasets._common import DatasetError

_ALLOWED_GLOBALS = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
    }
)


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"refusing to load {module}.{name}: a dataset file needs nothing but NumPy's "
            "array reconstruction"
        )


def _read_member(stream: io.BytesIO) -> np.ndarray:
    try:
        return np.lib.format.read_array(stream, allow_pickle=False)
    except ValueError:  # an object array: pickled
        stream.seek(0)
        version = np.lib.format.read_magic(stream)
        if version[0] == 1:
            np.lib.format.read_array_header_1_0(stream)
        elif version[0] in (2, 3):
            np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"unsupported .npy version {version}") from None
        array = _ArrayUnpickler(stream).load()
        if not isinstance(array, np.ndarray):
            raise ValueError(f"a member holds {type(array).__name__}, not an array") from None
        return array


def load_npz(path: str, name: str, keys) -> dict:
    """`{key: array}` for `keys` of the `.npz` archive at `path`.

    Raises:
        DatasetError: not a readable `.npz`, a key missing, or a member that
            is not an array (or would need a global other than NumPy's
            array reconstruction to unpickle).
    """
    arrays = {}
    try:
        with zipfile.ZipFile(path) as archive:
            members = set(archive.namelist())
            for key in keys:
                if key + ".npy" not in members:
                    raise ValueError(f"no array {key!r} in it")
                arrays[key] = _read_member(io.BytesIO(archive.read(key + ".npy")))
    except (
        OSError,
        ValueError,
        TypeError,
        AttributeError,
        IndexError,
        KeyError,
        EOFError,
        zipfile.BadZipFile,
        pickle.UnpicklingError,
    ) as e:  # whatever a damaged or crafted member makes the reader raise
        raise DatasetError(
            f"{name}: {path} is not a valid dataset file ({e}). Delete or replace it (fastnn "
            "downloads a fresh copy when none is found)."
        ) from None
    return arrays


def load_dataset_file(name: str, path, hashes: dict, keys, base_url=None, cache_dir=None) -> dict:
    """The arrays `keys` of dataset `name`'s one `.npz` file (`hashes`:
    its default name -> digest), found by `path` or fetched."""
    from fastnn.datasets._common import fetch_named

    ((filename, digest),) = hashes.items()
    file = fetch_named(name, path, filename, digest, base_url=base_url, cache_dir=cache_dir)
    return load_npz(file, name, keys)
