"""MNIST: 70,000 28x28 grayscale images of handwritten digits.

Yann LeCun and Corinna Cortes hold the copyright of MNIST, a derivative work
of NIST's datasets, available under CC BY-SA 3.0.
"""

from __future__ import annotations

import io
import os

import numpy as np

from fastnn.datasets import _common

__all__ = ["load_data"]

NAME = "mnist"

# The four IDX files, read when found locally (order: train labels, train
# images, test labels, test images).
IDX_FILES = (
    "train-labels-idx1-ubyte.gz",
    "train-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
)

# What Keras downloads: one .npz of the four arrays, and its SHA-256.
NPZ_FILE = "mnist.npz"
NPZ_HASH = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"


def load_data(path="mnist.npz", *, cache_dir=None, base_url=None):
    """Loads the MNIST dataset.

    Looks in ``$FASTNN_DATA/mnist/``, ``~/.fastnn/datasets/mnist/`` and
    ``/usr/share/datasets/mnist/`` for the four IDX files (gzipped or raw) or
    Keras's ``mnist.npz``; otherwise downloads ``mnist.npz`` from the mirror
    Keras uses into the cache, checking its SHA-256. The `.npz` is read with
    ``allow_pickle=False``.

    Args:
        path: the name of the `.npz` file in those directories. Defaults to
            `"mnist.npz"` (Keras's argument).
        cache_dir: the cache's root instead of ``~/.fastnn/datasets``.
        base_url: the mirror to download from instead of Keras's
            (``$FASTNN_DATASETS_URL`` when set).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 arrays of shapes
        `(60000, 28, 28)`, `(60000,)`, `(10000, 28, 28)`, `(10000,)`.

    Raises:
        fastnn.datasets.DatasetError: the data is neither found nor
            downloadable (offline, checksum mismatch), or is damaged.
    """
    if not isinstance(path, str) or not path or os.path.basename(path) != path:
        raise ValueError(f"path must be a plain file name such as 'mnist.npz', got {path!r}")
    for directory in _common.search_dirs(NAME, cache_dir):
        paths = {f: _common._locate(directory, f) for f in IDX_FILES}
        if all(paths.values()):
            return _common.load_idx_set(NAME, paths, IDX_FILES)
        npz = os.path.join(directory, path)
        if os.path.isfile(npz):
            return _load_npz(npz)
    fetched = _common.fetch(NAME, {NPZ_FILE: NPZ_HASH}, base_url=base_url, cache_dir=cache_dir)
    return _load_npz(fetched[NPZ_FILE])


def _load_npz(path):
    with open(path, "rb") as fh:  # np.load leaks its handle when the zip is damaged
        data = fh.read()
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as f:
            missing = {"x_train", "y_train", "x_test", "y_test"} - set(f.files)
            if missing:
                raise _common.DatasetError(f"{path}: not an MNIST .npz (missing {sorted(missing)})")
            x_train, y_train = f["x_train"], f["y_train"]
            x_test, y_test = f["x_test"], f["y_test"]
    except _common.DatasetError:
        raise
    except Exception as e:  # truncated zip, pickled objects, not an npz
        raise _common.DatasetError(
            f"{path}: damaged or not an MNIST .npz ({type(e).__name__}: {e}). Delete it "
            "and load again."
        ) from None
    for x, y, split in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        _common._check_split(NAME, x, y, split, path)
    return (x_train, y_train), (x_test, y_test)
