"""Finding, downloading and reading the IDX files of MNIST-like datasets.

Where a dataset ``<name>`` ("mnist", "fashion-mnist") is looked for, in order:

1. ``$FASTNN_DATA/<name>/`` when the ``FASTNN_DATA`` environment variable is set;
2. the cache, ``~/.fastnn/datasets/<name>/`` (or the `cache_dir` argument);
3. ``/usr/share/datasets/<name>/`` (Debian's ``dataset-fashion-mnist`` package
   installs Fashion-MNIST there);
4. otherwise the files are downloaded from the mirror Keras uses (or
   ``$FASTNN_DATASETS_URL`` / the `base_url` argument), each checked against
   its SHA-256 before it is renamed into the cache: a corrupted or partial
   download never lands there.

A directory counts only when it holds the whole set of files, each either
gzip-compressed (``.gz``) or raw. Files found locally are validated by
structure (IDX header, sizes, gzip CRC), not by checksum, since distributions
recompress them.
"""

from __future__ import annotations

import math
import os

import numpy as np

from fastnn.utils.fileio import open_temp_beside

__all__ = ["DatasetError", "DEFAULT_BASE_URL", "read_idx"]

# The mirror Keras's own loaders download from.
DEFAULT_BASE_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
SYSTEM_DIR = "/usr/share/datasets"

_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CHUNK = 1 << 20
# MNIST's largest IDX file is 47 MB decompressed: more is refused, not expanded.
_MAX_IDX_BYTES = 1 << 30


class DatasetError(OSError):
    """A dataset could not be found, downloaded, verified or read."""


def _read_bytes(path: str) -> bytes:
    """The file's content, gunzipped when it starts with the gzip magic.
    A gzipped file is inflated only as far as its IDX header says (plus one
    byte, to see trailing data), at most _MAX_IDX_BYTES: a gzip bomb is
    refused, not expanded."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] != b"\x1f\x8b":
        return data
    import gzip
    import io
    import zlib

    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as g:
            head = g.read(4)
            ndim = head[3] if len(head) == 4 else 0
            if head[:2] != b"\x00\x00" or head[2] not in _IDX_DTYPES or not 0 < ndim <= 32:
                return head  # not IDX: read_idx says why
            head += g.read(4 * ndim)
            if len(head) < 4 + 4 * ndim:
                return head  # a truncated header
            shape = np.frombuffer(head, dtype=">u4", count=ndim, offset=4)
            size = len(head) + math.prod(int(d) for d in shape) * _IDX_DTYPES[head[2]].itemsize
            if size > _MAX_IDX_BYTES:
                raise DatasetError(
                    f"{path}: decompresses to more than {_MAX_IDX_BYTES} bytes (its IDX header "
                    f"says {size}); the IDX files of these datasets are far smaller (a damaged "
                    "file or a gzip bomb)"
                )
            # one byte more than the header says: fewer bytes read means the end
            # of the stream was reached, and its CRC checked
            return head + g.read(size - len(head) + 1)
    except (OSError, EOFError, zlib.error) as e:
        if isinstance(e, DatasetError):
            raise
        raise DatasetError(f"{path}: damaged gzip file ({e})") from None


def read_idx(path) -> np.ndarray:
    """Reads an IDX file (the MNIST format), gzip-compressed or raw.

    The header is two zero bytes, a type code (0x08 unsigned byte ... 0x0E
    float64), the number of dimensions, then each dimension as a big-endian
    uint32; the data follow, C-ordered, big-endian.

    Returns:
        An array of the file's shape, in native byte order.

    Raises:
        DatasetError: the file is not IDX (bad magic or type code), or its size
            does not match its header (truncated or trailing bytes).
    """
    path = os.fspath(path)
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DatasetError(f"{path}: not an IDX file (bad magic number)")
    code, ndim = data[2], data[3]
    if code not in _IDX_DTYPES:
        raise DatasetError(f"{path}: not an IDX file (unknown type code 0x{code:02x})")
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise DatasetError(f"{path}: truncated IDX header")
    if ndim > 32:  # NumPy's arrays have at most 64 axes; IDX files 1 to 3
        raise DatasetError(f"{path}: not an IDX file ({ndim} dimensions)")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[code]
    # Python ints: an int64 product of the dimensions can wrap to the file's size
    expected = header + math.prod(shape) * dtype.itemsize
    if len(data) != expected:
        raise DatasetError(
            f"{path}: IDX size mismatch: header says shape {shape} ({expected} bytes), "
            f"file has {len(data)} bytes "
            f"({'truncated' if len(data) < expected else 'trailing data'})"
        )
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="), copy=True)


def default_cache_dir() -> str:
    return os.path.join(os.path.expanduser("~"), ".fastnn", "datasets")


def search_dirs(name: str, cache_dir=None) -> list:
    """The directories looked in for dataset `name`, in order."""
    dirs = []
    env = os.environ.get("FASTNN_DATA")
    if env:
        dirs.append(os.path.join(env, name))
    dirs.append(os.path.join(cache_dir or default_cache_dir(), name))
    dirs.append(os.path.join(SYSTEM_DIR, name))
    return dirs


def _locate(directory: str, filename: str):
    """The path of `filename` (a `.gz` name) or of its raw twin in `directory`."""
    candidates = (filename, filename[:-3]) if filename.endswith(".gz") else (filename,)
    for candidate in candidates:
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    return None


def find_local(name: str, filenames, cache_dir=None):
    """The first searched directory holding every file; `{filename: path}` or None."""
    for directory in search_dirs(name, cache_dir):
        paths = {f: _locate(directory, f) for f in filenames}
        if all(paths.values()):
            return paths
    return None


def _hasher(expected: str):
    """The hash `expected` is written in, as Keras's `get_file` tells them
    apart: 32 hex digits MD5 (Keras's word-index files), else SHA-256."""
    import hashlib

    return hashlib.md5(usedforsecurity=False) if len(expected) == 32 else hashlib.sha256()


def _algorithm(expected: str) -> str:
    return "MD5" if len(expected) == 32 else "SHA-256"


def _download(url: str, dest: str, sha256: str) -> None:
    """Downloads `url` to `dest` through a temporary file in dest's directory,
    renamed into place only when its SHA-256 (or, 32 hex digits, MD5) matches."""
    import urllib.error
    import urllib.request

    out, tmp = open_temp_beside(dest, suffix=".part")
    try:
        digest = _hasher(sha256)
        with out:
            try:
                with urllib.request.urlopen(url, timeout=60) as response:
                    while True:
                        chunk = response.read(_CHUNK)
                        if not chunk:
                            break
                        digest.update(chunk)
                        out.write(chunk)
            except urllib.error.HTTPError as e:
                raise DatasetError(f"download of {url} failed: HTTP {e.code} {e.reason}") from None
            except (urllib.error.URLError, OSError, ValueError) as e:
                reason = getattr(e, "reason", e)
                raise DatasetError(f"download of {url} failed: {reason}") from None
            out.flush()
            os.fsync(out.fileno())
        got = digest.hexdigest()
        if got != sha256:
            raise DatasetError(
                f"checksum mismatch for {url}: expected {_algorithm(sha256)} {sha256}, got {got}. "
                "The download is corrupted or the mirror serves a different file; "
                "nothing was stored."
            )
        os.replace(tmp, dest)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def fetch(
    name: str,
    files: dict,
    base_url=None,
    cache_dir=None,
    *,
    default_url=DEFAULT_BASE_URL,
    looked_for=None,
) -> dict:
    """Paths of `files` (filename -> SHA-256, or MD5) for dataset `name`:
    found locally or downloaded, verified, into the cache.

    `base_url`, else ``$FASTNN_DATASETS_URL``, else `default_url` (where
    Keras downloads the dataset from) is the folder the files are downloaded
    from. `looked_for` replaces the list of file names in the error message
    when the caller also looked for something else.

    Raises:
        DatasetError: a download failed (offline, HTTP error) or a checksum
            did not match; the message says where fastnn looked and what to do.
    """
    if base_url is not None and not isinstance(base_url, str):
        raise TypeError(f"base_url must be a URL string (or None), got {base_url!r}")
    found = find_local(name, list(files), cache_dir)
    if found is not None:
        return found
    base = base_url or os.environ.get("FASTNN_DATASETS_URL") or default_url
    if not base.endswith("/"):
        base += "/"
    target = os.path.join(cache_dir or default_cache_dir(), name)
    created = []  # the folders makedirs creates, deepest first (~/.fastnn/datasets/<name> ...)
    folder = os.path.abspath(target)
    while not os.path.isdir(folder) and os.path.dirname(folder) != folder:
        created.append(folder)
        folder = os.path.dirname(folder)
    try:
        os.makedirs(target, exist_ok=True)
    except OSError as e:
        raise DatasetError(f"cannot create the dataset cache {target}: {e}") from None
    paths = {}
    try:
        for filename, sha256 in files.items():
            dest = os.path.join(target, filename)
            if not (os.path.isfile(dest) and _digest_of(dest, sha256) == sha256):
                _download(base + filename, dest, sha256)
            paths[filename] = dest
    except DatasetError as e:
        for folder in created:  # a failed fetch leaves no folder it created
            try:
                os.rmdir(folder)  # only when nothing was stored in it
            except OSError:
                break
        looked = "\n  ".join(search_dirs(name, cache_dir))
        hint = (
            "\nOn Debian or Ubuntu, `apt-get install dataset-fashion-mnist` provides it."
            if name == "fashion-mnist"
            else ""
        )
        if looked_for is None:
            gzipped = " (gzipped or not)" if all(f.endswith(".gz") for f in files) else ""
            looked_for = ", ".join(files) + gzipped
        raise DatasetError(
            f"{name}: {e}\nfastnn looked for {looked_for} in:\n  "
            f"{looked}\nand then tried to download them from {base}.\n"
            f"Copy the files into one of those directories (or set FASTNN_DATA to a directory "
            f"holding a {name}/ folder), or set FASTNN_DATASETS_URL to a reachable mirror."
            f"{hint}"
        ) from None
    return paths


def fetch_named(name: str, path, filename: str, digest: str, base_url=None, cache_dir=None):
    """The path of a one-file dataset: `path` (a plain file name, Keras's
    argument) found in the searched directories, else `filename` fetched
    (found or downloaded, checked against `digest`).

    Raises:
        ValueError: `path` is not a plain file name.
        DatasetError: as `fetch`.
    """
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if (
        not isinstance(path, str)
        or not path
        or os.path.basename(path) != path
        or path in (".", "..")
    ):
        raise ValueError(f"path must be a plain file name such as {filename!r}, got {path!r}")
    if path != filename:
        for directory in search_dirs(name, cache_dir):
            candidate = os.path.join(directory, path)
            if os.path.isfile(candidate):
                return candidate
    return fetch(name, {filename: digest}, base_url=base_url, cache_dir=cache_dir)[filename]


def _digest_of(path: str, like: str = "0" * 64) -> str:
    """The file's SHA-256 (its MD5 when `like` is an MD5)."""
    digest = _hasher(like)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_idx_set(name: str, paths: dict, names: tuple) -> tuple:
    """Reads and checks the four IDX files of an MNIST-like dataset.

    `names` is (train labels, train images, test labels, test images).
    Returns `((x_train, y_train), (x_test, y_test))`, uint8.
    """
    arrays = []
    for filename in names:
        path = paths[filename]
        try:
            arrays.append(read_idx(path))
        except DatasetError as e:
            raise DatasetError(
                f"{name}: {e}. Delete or replace the damaged file (fastnn will download "
                "a fresh copy when none is found)."
            ) from None
    y_train, x_train, y_test, x_test = arrays
    for x, y, split in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        _check_split(name, x, y, split, paths)
    return (x_train, y_train), (x_test, y_test)


def _check_split(name, x, y, split, where) -> None:
    if x.dtype != np.uint8 or y.dtype != np.uint8:
        raise DatasetError(f"{name} {split}: expected uint8 IDX files, got {x.dtype} and {y.dtype}")
    if x.ndim != 3 or y.ndim != 1:
        raise DatasetError(
            f"{name} {split}: expected images of shape (n, rows, cols) and labels of shape "
            f"(n,), got {x.shape} and {y.shape} (files: {where})"
        )
    if x.shape[0] != y.shape[0]:
        raise DatasetError(
            f"{name} {split}: {x.shape[0]} images but {y.shape[0]} labels (files: {where})"
        )
    if y.size and int(y.max()) > 9:
        raise DatasetError(f"{name} {split}: label {int(y.max())} is outside 0-9 (files: {where})")
