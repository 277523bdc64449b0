"""Keras's `get_file`: a file from a URL, cached, checked, and extracted.

The download goes to a temporary file beside its destination and is renamed
into place only when complete (and, with a hash, verified), so an
interrupted or corrupted download never leaves a file the next call would
take from the cache. Archives are extracted with member paths confined to
the extraction directory (no absolute paths, ``..``, links or devices).
"""

from __future__ import annotations

import os

from fastnn.utils.io_utils import print_msg

__all__ = ["get_file", "validate_file"]

_CHUNK = 1 << 16


def default_home() -> str:
    """fastnn's cache root: ``$FASTNN_HOME`` or ``~/.fastnn`` (Keras's is
    ``$KERAS_HOME`` or ``~/.keras``)."""
    return os.environ.get("FASTNN_HOME") or os.path.join(os.path.expanduser("~"), ".fastnn")


def _hasher(algorithm: str, file_hash: str):
    import hashlib

    if algorithm == "sha256" or (algorithm == "auto" and len(file_hash) == 64):
        return hashlib.sha256()
    if algorithm in ("md5", "auto"):
        return hashlib.md5()  # noqa: S324 (Keras's md5_hash: integrity, not security)
    raise ValueError(f"Unsupported hash algorithm {algorithm!r}: use 'sha256', 'md5' or 'auto'")


def validate_file(fpath, file_hash, algorithm="auto", chunk_size=_CHUNK) -> bool:
    """Whether the file at `fpath` has the hash `file_hash` (sha256 or md5;
    ``"auto"`` takes a 64-digit hash for sha256), as Keras's `validate_file`."""
    hasher = _hasher(algorithm, str(file_hash))
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest() == str(file_hash)


def _download(origin: str, target: str) -> None:
    """`origin` to `target`, written atomically (`atomic_write`: nothing is
    left when it fails); Keras's "URL fetch failure" message."""
    import urllib.error
    import urllib.request

    from fastnn.utils.fileio import atomic_write
    from fastnn.utils.progbar import Progbar

    def fetch(out) -> None:
        try:
            with urllib.request.urlopen(origin, timeout=60) as response:
                length = response.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
                bar = Progbar(total)
                done = 0
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    out.write(chunk)
                    done += len(chunk)
                    bar.update(min(done, total) if total is not None else done)
        except urllib.error.HTTPError as e:
            raise OSError(f"URL fetch failure on {origin}: {e.code} -- {e.msg}") from None
        except (urllib.error.URLError, ValueError) as e:
            reason = getattr(e, "reason", e)
            raise OSError(
                f"URL fetch failure on {origin}: {getattr(e, 'errno', None)} -- {reason}"
            ) from None

    atomic_write(target, fetch)


def _inside(root: str, name: str) -> bool:
    target = os.path.realpath(os.path.join(root, name))
    return os.path.commonpath([os.path.realpath(root), target]) == os.path.realpath(root)


def _extract(path: str, to: str, archive_format) -> bool:
    """Extracts a tar or zip archive into `to` (created); False when `path`
    is none of `archive_format`'s kinds. Members that would land outside `to`
    are devices, or links that lead outside `to` raise ValueError, and
    nothing is left. Links inside the archive are extracted where Python's
    tarfile has the "data" filter (3.8.17, 3.11.4, 3.12 and later), which
    resolves them as it extracts; older Pythons refuse every link. A kind
    other than "tar" and "zip" is Keras's NotImplementedError."""
    import shutil
    import tarfile
    import zipfile

    if archive_format is None:
        return False
    existed = os.path.isdir(to)  # a refused archive removes only a directory it made

    def undo() -> None:
        if not existed:
            shutil.rmtree(to, ignore_errors=True)

    kinds = ["tar", "zip"] if archive_format == "auto" else archive_format
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    for kind in kinds:
        if kind not in ("tar", "zip"):
            raise NotImplementedError(kind)
        if kind == "tar" and tarfile.is_tarfile(path):
            try:
                with tarfile.open(path) as archive:
                    links = hasattr(tarfile, "data_filter")  # checked again as extracted
                    for member in archive.getmembers():
                        if member.issym():
                            target = os.path.join(os.path.dirname(member.name), member.linkname)
                            linked = not os.path.isabs(member.linkname) and _inside(to, target)
                        elif member.islnk():
                            linked = _inside(to, member.linkname)
                        else:
                            linked = False
                        kept = member.isfile() or member.isdir() or (links and linked)
                        if not kept or not _inside(to, member.name):
                            raise ValueError(
                                f"{path}: the archive member {member.name!r} is a device, a link "
                                "leading outside the extraction directory, or outside it; not "
                                "extracted"
                            )
                    os.makedirs(to, exist_ok=True)
                    if hasattr(tarfile, "data_filter"):  # Python >= 3.8.17, 3.11.4, 3.12
                        archive.extractall(to, filter="data")
                    else:  # the members were checked above
                        archive.extractall(to)  # noqa: S202
            except BaseException:
                undo()
                raise
            return True
        if kind == "zip" and zipfile.is_zipfile(path):
            try:
                with zipfile.ZipFile(path) as archive:
                    for name in archive.namelist():
                        if os.path.isabs(name) or not _inside(to, name):
                            raise ValueError(
                                f"{path}: the archive member {name!r} is outside the extraction "
                                "directory; not extracted"
                            )
                    os.makedirs(to, exist_ok=True)
                    archive.extractall(to)
            except BaseException:
                undo()
                raise
            return True
    return False


def get_file(
    fname=None,
    origin=None,
    untar=False,
    md5_hash=None,
    file_hash=None,
    cache_subdir="datasets",
    hash_algorithm="auto",
    extract=False,
    archive_format="auto",
    cache_dir=None,
    force_download=False,
):
    """Downloads a file from a URL if it is not already in the cache (Keras
    3's `keras.utils.get_file`: the same arguments, file names, messages and
    return values).

    The file goes to ``cache_dir/cache_subdir/fname``; `cache_dir` defaults
    to ``$FASTNN_HOME`` or ``~/.fastnn`` (``/tmp/.fastnn`` when that is not
    writable). A cached file is used as is, or, with a hash that it does not
    match, downloaded again. With `extract` (or `untar`), a tar or zip archive
    is extracted and the extraction directory returned.

    Args:
        fname: the local file name; defaults to the last part of `origin`'s
            path. A name without an extension names the extraction directory.
        origin: the URL.
        untar: deprecated: `extract` for tar archives.
        md5_hash: deprecated: `file_hash`.
        file_hash: the expected sha256 or md5 hash of the file.
        cache_subdir: the subdirectory of `cache_dir` (an absolute path is
            used as it is). Defaults to `"datasets"`.
        hash_algorithm: `"sha256"`, `"md5"` or `"auto"`. Defaults to `"auto"`.
        extract: whether to extract the archive. Defaults to `False`.
        archive_format: `"auto"`, `"tar"`, `"zip"`, or None.
        cache_dir: where to cache; see above.
        force_download: download even when the file is cached.

    Returns:
        The path of the file, or of the extraction directory with `extract`.

    Raises:
        ValueError: no `origin`, a path as `fname`, or a download whose hash
            does not match `file_hash` (nothing is left in the cache).
        OSError: the download failed (Keras's "URL fetch failure" message).
    """
    if origin is None:
        raise ValueError('Please specify the "origin" argument (URL of the file to download).')
    if cache_dir is None:
        cache_dir = default_home()
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    base = os.path.expanduser(os.fspath(cache_dir))
    try:
        os.makedirs(base, exist_ok=True)
    except OSError:
        pass  # not writable: the fallback below
    if not os.access(base, os.W_OK):
        base = os.path.join("/tmp" if os.path.isdir("/tmp") else os.getcwd(), ".fastnn")
    datadir = os.path.join(base, cache_subdir)
    os.makedirs(datadir, exist_ok=True)

    provided = fname
    if fname is not None:
        fname = os.fspath(fname)
    if not fname:
        import urllib.parse

        fname = os.path.basename(urllib.parse.urlsplit(origin).path)
        if not fname:
            raise ValueError(
                f"Can't parse the file name from the origin provided: '{origin}'."
                "Please specify the `fname` argument."
            )
    elif os.sep in fname:
        raise ValueError(
            "Paths are no longer accepted as the `fname` argument. To specify the file's "
            f"parent directory, use the `cache_dir` argument. Received: fname={fname}"
        )

    extraction_dir = None
    if extract or untar:
        if provided and "." in fname:
            target = os.path.join(datadir, fname)
            extraction_dir = os.path.join(datadir, f"{fname[: fname.find('.')]}_extracted")
        else:
            extraction_dir = os.path.join(datadir, fname)
            target = os.path.join(datadir, f"{fname}_archive")
    else:
        target = os.path.join(datadir, fname)

    download = force_download or not os.path.exists(target)
    if not download and file_hash is not None:
        if not validate_file(target, file_hash, algorithm=hash_algorithm):
            print_msg(
                "A local file was found, but it seems to be incomplete or outdated because the "
                f"{hash_algorithm} file hash does not match the original value of {file_hash} "
                "so we will re-download the data."
            )
            download = True
    if download:
        print_msg(f"Downloading data from {origin}")
        _download(origin, target)
        if file_hash is not None and not validate_file(target, file_hash, hash_algorithm):
            os.unlink(target)
            raise ValueError(
                f"Incomplete or corrupted file detected. The {hash_algorithm} file hash does "
                f"not match the provided value of {file_hash}."
            )
    if extraction_dir is not None:
        if untar:
            archive_format = "tar"
        if not _extract(target, extraction_dir, archive_format):
            import warnings

            warnings.warn("Could not extract archive.", stacklevel=2)
        return extraction_dir
    return target
