"""Atomic file writes: a temporary file beside the destination, then a rename."""

from __future__ import annotations

import os

__all__ = ["atomic_write", "open_temp_beside"]


def open_temp_beside(path: str, suffix: str = ".tmp"):
    """Creates a new, empty file in `path`'s directory, named after it.

    Unlike `tempfile.mkstemp` (mode 0600), the file gets the usual permissions
    (0666 less the umask), so the file it later replaces by a rename is
    readable as a plain `open(path, "wb")` would have left it.

    Returns:
        `(file object opened "wb", temporary path)`.

    Raises:
        OSError: the directory takes no new file (read-only, /proc, no
            permission): its subclass, naming `path`.
    """
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = os.path.join(directory, f".{base}.{os.getpid()}.{os.urandom(4).hex()}{suffix}")
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        except OSError as e:  # named after the destination, not the hidden file
            raise type(e)(
                e.errno,
                f"Cannot save to {path!r}: no file can be made in {directory!r} ({e.strerror})",
            ) from None
        return os.fdopen(fd, "wb"), tmp
    raise FileExistsError(f"could not create a temporary file beside {path!r}")


def atomic_write(path: str, write_fn, overwrite: bool = True) -> None:
    """Writes `path` via `write_fn(fileobj)` so that it is never half-written.

    The data go to a temporary file in the same directory, are flushed and
    fsynced, and the file is renamed over `path` (`os.replace`, atomic on
    POSIX and Windows). On any error the temporary file is removed and `path`
    keeps its previous content. A symbolic link is written through: its
    target is replaced and the link kept.

    Raises:
        IsADirectoryError: `path` is a directory.
        FileExistsError: `path` exists and `overwrite` is False.
        FileNotFoundError: `path`'s directory does not exist.
        NotADirectoryError: `path`'s directory is a file.
        OSError: as `open_temp_beside`.
    """
    if os.path.islink(path):
        # through the link, as open(path, "wb") writes: the rename would
        # replace the link itself with a file and leave its target stale
        path = os.path.realpath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"Cannot save to {path!r}: it is a directory")
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path!r} already exists; pass overwrite=True to replace it")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        if os.path.exists(directory):
            raise NotADirectoryError(f"Cannot save to {path!r}: {directory!r} is a file")
        raise FileNotFoundError(f"Cannot save to {path!r}: directory {directory!r} does not exist")
    f, tmp = open_temp_beside(path)
    try:
        with f:
            write_fn(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
