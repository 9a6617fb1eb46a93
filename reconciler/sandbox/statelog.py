"""The sandbox's state on disk (`--state FILE`): an append-only log with periodic compaction.

The file is JSON lines. The first line is a snapshot of every entity (artifacts, and in
`entities` contexts, actions and trial components) and association (written
whole and atomically: temporary file, fsync, rename); every line after it is one write request's
changes, appended and flushed to the operating system before the request is answered, so a killed
sandbox loses nothing it answered. The log is fsync'd at most a second after a write (and on
stop), so a machine crash loses at most the last second. When the log outgrows the state it
describes, the whole is compacted back into one snapshot; the cost of writing the state once is
spread over as many writes as the state holds, so a write costs the same whatever the size.

Loading replays the log over the snapshot. A torn last line (a crash inside a write) is ignored;
a damaged line anywhere else is an error, as is a damaged snapshot.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from reconciler.fsio import write_atomic

FORMAT_VERSION = 3
#: The log is compacted when it holds more records than this, or than the state has entries.
COMPACT_AFTER = 1_000
SYNC_INTERVAL = 1.0


class StateError(ValueError):
    """The state file cannot be read; the message says which file and what to do."""


class Loaded:
    """What a state file holds: the snapshot's documents, then each logged change in order."""

    def __init__(self, snapshot: dict[str, Any], changes: list[dict[str, Any]]) -> None:
        self.snapshot = snapshot
        self.changes = changes


def read(path: Path) -> Loaded | None:
    """The snapshot and the changes logged after it; None when there is no file yet."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _unreadable(path, exc.strerror or str(exc)) from None
    lines = data.split(b"\n")
    try:
        snapshot = json.loads(lines[0])
        if not isinstance(snapshot, dict) or snapshot.get("format_version") not in (1, 2, 3):
            raise ValueError("not a sandbox state snapshot")
        if not isinstance(snapshot.get("artifacts"), list) or not isinstance(
            snapshot.get("associations"), list
        ):
            raise ValueError("the snapshot lacks its artifacts or associations")
    except (ValueError, RecursionError) as exc:
        raise _unreadable(path, str(exc)) from None
    changes: list[dict[str, Any]] = []
    records = lines[1:]
    for number, line in enumerate(records, start=2):
        if not line.strip():
            continue
        try:
            change = json.loads(line)
            if not isinstance(change, dict):
                raise ValueError("a log record is not an object")
        except (ValueError, RecursionError) as exc:
            if not any(rest.strip() for rest in records[number - 1 :]):
                break  # the last record, torn by a crash while it was written: never answered
            raise _unreadable(path, f"line {number}: {exc}") from None
        changes.append(change)
    return Loaded(snapshot, changes)


def _unreadable(path: Path, reason: str) -> StateError:
    return StateError(
        f"cannot read the sandbox state {path} ({reason}); move it away to start afresh"
    )


class StateLog:
    """Appends change records to the state file and compacts it; fsyncs in the background.

    Not thread-safe by itself: the service calls it under its own lock, and passes the same lock
    so that the background sync never races a compaction."""

    def __init__(self, path: Path, lock: threading.RLock) -> None:
        self.path = path
        self._lock = lock
        self._handle: IO[bytes] | None = None
        self._records = 0
        self._unsynced = False
        self._stopping = threading.Event()
        self._syncer: threading.Thread | None = None

    def compact(self, snapshot: dict[str, Any]) -> None:
        """Replace the file with one snapshot of the whole state, and log after it."""
        document = {"format_version": FORMAT_VERSION, **snapshot}
        self._close_handle()
        write_atomic(self.path, (json.dumps(document, separators=(",", ":")) + "\n").encode())
        self._handle = open(self.path, "ab")  # noqa: SIM115 (kept open: appended on every write)
        self._records = 0
        self._unsynced = False
        if self._syncer is None:
            self._syncer = threading.Thread(target=self._sync_loop, daemon=True, name="statelog")
            self._syncer.start()

    def append(
        self, change: dict[str, Any], entries: int, snapshot: Callable[[], dict[str, Any]]
    ) -> None:
        """Log one write's changes; compact once the log outgrows the `entries` it describes."""
        assert self._handle is not None, "compact() first"
        self._handle.write((json.dumps(change, separators=(",", ":")) + "\n").encode())
        self._handle.flush()
        self._records += 1
        self._unsynced = True
        if self._records > max(COMPACT_AFTER, entries):
            self.compact(snapshot())

    def close(self) -> None:
        self._stopping.set()
        if self._syncer is not None:
            self._syncer.join(timeout=5)
            self._syncer = None
        with self._lock:
            self._close_handle()

    def _sync_loop(self) -> None:
        while not self._stopping.wait(SYNC_INTERVAL):
            with self._lock:
                self._sync()

    def _sync(self) -> None:
        if self._handle is not None and self._unsynced:
            os.fsync(self._handle.fileno())
            self._unsynced = False

    def _close_handle(self) -> None:
        if self._handle is not None:
            self._sync()
            self._handle.close()
            self._handle = None
