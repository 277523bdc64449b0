"""Reading the CIFAR-10 and CIFAR-100 archives (Keras's ``cifar10`` and
``cifar100``) without running code from them.

Each archive (``cifar-10-python.tar.gz``, ``cifar-100-python.tar.gz``) holds
one folder of batch files, each a Python 2 pickle of a dict: ``data``, a
uint8 array of one image a row (the 1024 red values, then the green, then
the blue, each plane row by row), and the labels, a list of ints. They are
read as Keras reads them (``encoding="bytes"``), with the unpickler of
`fastnn.datasets._npz`, which rebuilds NumPy arrays and refuses every other
global: a crafted file raises `DatasetError` and runs nothing.

The archive is read in memory, never extracted: only the regular files of
its one folder are accepted (a member outside it, a path with ``..``, a link
or a device is refused as a foreign or crafted archive), and only the batch
files are read. A folder holding the extracted batches (Keras's layout) is
read as well.
"""

from __future__ import annotations

import io
import os

import numpy as np

from fastnn.datasets import _common
from fastnn.datasets._common import DatasetError

IMAGE_BYTES = 3 * 32 * 32
# The largest batch file (CIFAR-100's train) is 155 MB; the archives hold
# 180 MB uncompressed. More is refused, not expanded (a damaged file or a
# gzip bomb).
_MAX_MEMBER_BYTES = 256 << 20
_MAX_ARCHIVE_BYTES = 1 << 30


def load_batches(spec: dict, base_url=None, cache_dir=None) -> dict:
    """`{batch file name: (where, its dict)}` of a CIFAR dataset, from the
    first searched directory holding its extracted folder or its archive,
    else from the archive downloaded into the cache.

    `spec`: ``name`` (the dataset's folder), ``archive`` (the tar.gz's name),
    ``digest`` (its SHA-256), ``origin`` (the folder Keras downloads it from),
    ``folder`` (the archive's one folder) and ``batches`` (the files read).
    """
    name, archive, folder = spec["name"], spec["archive"], spec["folder"]
    for directory in _common.search_dirs(name, cache_dir):
        extracted = os.path.join(directory, folder)
        paths = [os.path.join(extracted, batch) for batch in spec["batches"]]
        if all(os.path.isfile(path) for path in paths):
            return {
                batch: (path, _unpickle(name, _read_file(path), path))
                for batch, path in zip(spec["batches"], paths)
            }
        packed = os.path.join(directory, archive)
        if os.path.isfile(packed):
            return _read_archive(name, packed, folder, spec["batches"])
    fetched = _common.fetch(
        name,
        {archive: spec["digest"]},
        base_url=base_url,
        cache_dir=cache_dir,
        default_url=spec["origin"],
        looked_for=f"{archive} or its extracted {folder}/ folder",
    )
    return _read_archive(name, fetched[archive], folder, spec["batches"])


def _read_file(path: str) -> bytes:
    size = os.path.getsize(path)
    if size > _MAX_MEMBER_BYTES:
        raise DatasetError(
            f"{path}: {size} bytes, more than any CIFAR batch file ({_MAX_MEMBER_BYTES})"
        )
    with open(path, "rb") as f:
        return f.read()


def _read_archive(name: str, path: str, folder: str, batches) -> dict:
    """The batch files of the tar.gz at `path`, read in memory."""
    import tarfile
    import zlib

    wanted = {f"{folder}/{batch}": batch for batch in batches}
    found = {}
    total = 0
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                if member.name.rstrip("/") == folder and member.isdir():
                    continue
                top, _, leaf = member.name.partition("/")
                if top != folder or leaf in ("", ".", "..") or "/" in leaf:
                    raise DatasetError(
                        f"unexpected member {member.name!r} (the {name} archive holds only "
                        f"the files of its {folder}/ folder)"
                    )
                if not member.isreg():
                    raise DatasetError(
                        f"member {member.name!r} is a {_kind(member)}, not a regular file"
                    )
                total += member.size
                if member.size > _MAX_MEMBER_BYTES or total > _MAX_ARCHIVE_BYTES:
                    raise DatasetError(
                        f"member {member.name!r} would expand the archive past "
                        f"{_MAX_ARCHIVE_BYTES} bytes or itself past {_MAX_MEMBER_BYTES} "
                        "(a damaged file or a gzip bomb)"
                    )
                if member.name in wanted:
                    if wanted[member.name] in found:
                        raise DatasetError(f"member {member.name!r} stands twice")
                    found[wanted[member.name]] = tar.extractfile(member).read()
    except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
        reason = e if isinstance(e, DatasetError) else f"damaged or not a tar.gz archive: {e}"
        raise DatasetError(
            f"{name}: {path}: {reason}. This is not the {name} archive: delete or replace it "
            "(fastnn downloads a fresh copy when none is found)."
        ) from None
    missing = [f"{folder}/{batch}" for batch in batches if batch not in found]
    if missing:
        raise DatasetError(
            f"{name}: {path} lacks {', '.join(missing)}: a truncated or foreign archive. "
            "Delete or replace it (fastnn downloads a fresh copy when none is found)."
        )
    return {
        batch: (f"{path}:{folder}/{batch}", _unpickle(name, found[batch], f"{path}:{batch}"))
        for batch in batches
    }


def _kind(member) -> str:
    if member.issym():
        return "symbolic link"
    if member.islnk():
        return "hard link"
    if member.isdir():
        return "folder"
    return "device or FIFO"


def _unpickle(name: str, data: bytes, where: str) -> dict:
    """A batch file's dict, its keys decoded as Keras decodes them."""
    from fastnn.datasets._npz import _ArrayUnpickler

    try:
        batch = _ArrayUnpickler(io.BytesIO(data), encoding="bytes").load()
    except Exception as e:  # whatever a damaged or crafted pickle makes the reader raise
        raise DatasetError(
            f"{name}: {where} is not a CIFAR batch file ({type(e).__name__}: {e}). Delete or "
            "replace it (fastnn downloads a fresh copy when none is found)."
        ) from None
    if not isinstance(batch, dict):
        raise DatasetError(f"{name}: {where} holds a {type(batch).__name__}, not a CIFAR batch")
    return {k.decode("utf8") if isinstance(k, bytes) else k: v for k, v in batch.items()}


def images_and_labels(name: str, loaded, label_key: str, classes: int):
    """The images `(n, 3, 32, 32)` uint8 and the labels `(n,)` of a batch
    file's dict, checked (`loaded` is `(where, dict)`)."""
    where, batch = loaded
    data = batch.get("data")
    if label_key not in batch or not isinstance(data, np.ndarray):
        raise DatasetError(
            f"{name}: {where} is not a CIFAR batch file (it needs an array 'data' and "
            f"'{label_key}')"
        )
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != IMAGE_BYTES:
        raise DatasetError(
            f"{name}: {where}: expected uint8 images of shape (n, {IMAGE_BYTES}), got "
            f"{data.dtype} {data.shape}"
        )
    labels = np.asarray(batch[label_key])
    if labels.shape != (len(data),) or (labels.size and labels.dtype.kind not in "iu"):
        raise DatasetError(
            f"{name}: {where}: expected {len(data)} integer labels in '{label_key}', got "
            f"{labels.dtype} {labels.shape}"
        )
    if labels.size and not (0 <= labels.min() and labels.max() < classes):
        raise DatasetError(
            f"{name}: {where}: label {int(labels.min() if labels.min() < 0 else labels.max())} "
            f"is outside 0-{classes - 1}"
        )
    return data.reshape(len(data), 3, 32, 32), labels


def as_keras_returns(x: np.ndarray, y: np.ndarray):
    """`x` channels-last when `image_data_format()` says so (Keras's
    transpose, as one C-ordered array) and `y` as a column, Keras's
    ``(n, 1)``."""
    from fastnn.backend import image_data_format

    if image_data_format() == "channels_last":
        x = x.transpose(0, 2, 3, 1)
    return np.ascontiguousarray(x), y.reshape(len(y), 1)
