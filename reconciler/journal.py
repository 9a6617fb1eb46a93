"""The apply journal: every finished operation, on disk before the next one is reported.

Rewriting the whole lockfile per operation is quadratic, so apply appends one fsync'd JSON line
per operation to `.reconciler/<lockfile>.journal` and folds the journal into the lockfile at the
end of the run, or at the start of the next one after a crash. Plan and audit read the lockfile
with the journal replayed in memory, so a crashed apply is never forgotten.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from reconciler import lockfile
from reconciler.errors import LockfileError
from reconciler.lockfile import Detached, Entry, Lockfile, Target, parse_entries
from reconciler.runlock import state_directory

FORMAT_VERSION = 1


def journal_path(lockfile_path: Path) -> Path:
    return state_directory(lockfile_path) / f"{lockfile_path.name}.journal"


class Journal:
    """Appends records; each is durable (written and fsync'd) when the call returns."""

    def __init__(self, path: Path, lineage: str) -> None:
        self.path = path
        self.lineage = lineage
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not path.exists() or path.stat().st_size == 0
        self._handle: IO[bytes] = path.open("ab")
        if fresh:
            self._append({"journal": FORMAT_VERSION, "lineage": lineage})

    def target(self, target: Target) -> None:
        self._append({"op": "target", "account": target.account, "region": target.region})

    def put(self, name: str, entry: Entry) -> None:
        self._append({"op": "put", "name": name, "entry": entry.to_json()})

    def remove(self, name: str) -> None:
        self._append({"op": "remove", "name": name})

    def detach(self, name: str, arn: str, associations: list[dict[str, str]]) -> None:
        """Associations of `name`'s artifact at `arn`, about to be removed for a replace."""
        self._append({"op": "detach", "name": name, "arn": arn, "associations": associations})

    def reattached(self, name: str) -> None:
        """Every association detached from `name` is back (or its other end is gone)."""
        self._append({"op": "reattached", "name": name})

    def intend(self, name: str) -> None:
        """A write to `name`'s artifact is about to be sent. Until a put or remove for `name`
        follows, its outcome is unknown: replay marks the entry uncertain."""
        self._append({"op": "intent", "name": name})

    def _append(self, record: dict[str, Any]) -> None:
        self._handle.write(json.dumps(record, sort_keys=True).encode() + b"\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()


def read_records(path: Path) -> tuple[str | None, list[dict[str, Any]]]:
    """The journal's lineage and records. A torn last line (a crash mid-write) is ignored."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, []
    lines = data.split(b"\n")
    complete = lines[:-1]  # whatever follows the last newline was never finished
    records = []
    for number, line in enumerate(complete, start=1):
        try:
            records.append(json.loads(line))
        except (ValueError, RecursionError):
            raise LockfileError(
                f"the apply journal {path} is damaged at line {number}; move it away and run "
                "'reconciler audit' to see what the lockfile is missing"
            ) from None
    if not records:
        return None, []
    header = records[0]
    version = header.get("journal")
    readable = lockfile.is_integer(version) and version == FORMAT_VERSION
    if not readable or not isinstance(header.get("lineage"), str):
        raise LockfileError(
            f"{path} is not an apply journal this reconciler can read; move it away"
        )
    return header["lineage"], records[1:]


def replay(base: Lockfile, path: Path) -> Lockfile:
    """The lockfile with the journal's records applied (in memory)."""
    lineage, records = read_records(path)
    if lineage is None:
        return base
    if base.lineage is not None and base.lineage != lineage:
        raise LockfileError(
            f"the apply journal {path} belongs to another lockfile (lineage {lineage}); "
            "move it away if that lockfile is gone"
        )
    artifacts = dict(base.artifacts)
    malformed = dict(base.malformed)
    target = base.target
    unsettled: set[str] = set()
    detached = dict(base.detached)
    for record in records:
        op = record.get("op")
        if op == "target":
            target = Target(record.get("account"), record.get("region"))
        elif op == "put":
            good, bad = parse_entries({record["name"]: record["entry"]})
            artifacts.update(good)
            malformed.update(bad)
            if record["name"] in good:
                malformed.pop(record["name"], None)
            unsettled.discard(record["name"])
        elif op == "remove":
            artifacts.pop(record["name"], None)
            malformed.pop(record["name"], None)
            unsettled.discard(record["name"])
        elif op == "intent":
            unsettled.add(record["name"])
        elif op == "detach":
            name = record["name"]
            start = detached.get(name, Detached((), ()))
            detached[name] = start.joined(record["arn"], record["associations"])
        elif op == "reattached":
            detached.pop(record["name"], None)
    for name in unsettled & set(artifacts):
        artifacts[name] = replace(artifacts[name], uncertain=True)
    return replace(
        base,
        lineage=lineage,
        target=target,
        artifacts=artifacts,
        malformed=malformed,
        detached=detached,
    )


def load_with_journal(
    lockfile_path: Path, declared: Mapping[str, dict[str, Any]] | None = None
) -> Lockfile:
    """The lockfile as the last apply left it, crashed or not. Writes nothing. `declared`: the
    manifests' validated specs, if known (see lockfile.parse_entries)."""
    return replay(lockfile.load(lockfile_path, declared), journal_path(lockfile_path))


def fold(lockfile_path: Path) -> Lockfile:
    """Write the journal into the lockfile (one atomic replacement), then delete the journal.

    Call it holding the apply lock. Records are idempotent, so a crash between the two steps
    only replays them once more.
    """
    path = journal_path(lockfile_path)
    base = lockfile.load(lockfile_path)
    if not path.exists():
        return base
    folded = replay(base, path)
    if folded != base:
        folded = lockfile.save(lockfile_path, replace(folded, serial=base.serial + 1))
    path.unlink()
    return folded
