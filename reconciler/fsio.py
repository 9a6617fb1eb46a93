"""Writing files so that a reader sees the old bytes or the new, never a mix."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomic(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Replace `path` with `data` so that a reader sees the old bytes or the new, never a mix.

    `durable`: the new bytes are on disk (file and directory fsync'd) when this returns; a cache,
    which only saves time and checks its own bytes, can do without."""
    write_atomic_with(path, lambda handle: handle.write(data), durable=durable)


def write_atomic_with(
    path: Path, write: Callable[[BinaryIO], object], *, durable: bool = True
) -> None:
    """write_atomic, the bytes written by `write` into the new file's handle (a large file a
    piece at a time)."""
    import tempfile  # loaded when first written: validate writes nothing but its cache

    directory = path.parent if str(path.parent) else Path(".")
    directory.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        os.fchmod(fd, _mode_for(path))
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    if durable:
        _fsync_directory(directory)


def _mode_for(path: Path) -> int:
    """Keep the file's mode; a new file gets the usual 0666 less the umask (mkstemp uses 0600)."""
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
