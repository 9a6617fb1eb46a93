"""One apply at a time per lockfile on a machine: an OS file lock, released even on SIGKILL."""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from pathlib import Path
from types import TracebackType

from reconciler.errors import ReconcilerError


def state_directory(lockfile_path: Path) -> Path:
    """Where the apply lock and the journal live: `.reconciler/` beside the lockfile."""
    return lockfile_path.parent / ".reconciler"


def refuse_state_links(path: Path) -> None:
    """`path`, the apply lock or the journal in .reconciler/ beside the lockfile, is reconciler's
    own file: a pull request could commit it, or .reconciler, as a symbolic link, and make plan
    read, and apply truncate or append to, another file (the lockfile, or one of the machine that
    runs it). Refused, before anything is read or written."""
    directory = path.parent
    why = "its apply lock and journal in .reconciler/ itself: remove the link"
    try:
        target = directory.resolve()
        out = not target.is_relative_to(directory.parent.resolve())
    except (OSError, RuntimeError):  # a loop of links
        target, out = directory, True
    if out:
        raise ReconcilerError(
            f"{directory} is a symbolic link to {target}, out of the lockfile's directory; "
            f"reconciler keeps {why}"
        )
    if path.is_symlink():
        raise ReconcilerError(f"{path} is a symbolic link; reconciler keeps {why}")


class ApplyLock:
    def __init__(self, lockfile_path: Path) -> None:
        self.lockfile_path = lockfile_path
        self.path = state_directory(lockfile_path) / f"{lockfile_path.name}.apply-lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        refuse_state_links(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise ReconcilerError(
                f"{self.path.parent} is not a directory, and reconciler keeps the apply lock and "
                f"the journal of {self.lockfile_path.name} there; remove it or move it away"
            ) from None
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise ReconcilerError(
                f"another apply is running on {self.lockfile_path} ({holder}); "
                "wait for it to finish"
            ) from None
        info = {
            "pid": os.getpid(),
            "host": os.uname().nodename,  # gethostname(2), without loading socket
            "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> ApplyLock:
        self.acquire()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f"pid {info['pid']} on {info['host']}, started {info['started']}"
    except (ValueError, KeyError, OSError):
        return "holder unknown"
