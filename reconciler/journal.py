"""The apply journal: every finished operation, on disk before the next one is reported.

Rewriting the whole lockfile per operation is quadratic, so apply appends one fsync'd JSON line
per operation to `.reconciler/<lockfile>.journal` and folds the journal into the lockfile at the
end of the run, or at the start of the next one after a crash. Plan and audit read the lockfile
with the journal replayed in memory, so a crashed apply is never forgotten.

Records of entities carry their `kind` ("Context", "Action"; absent for an artifact, so a
journal written before contexts existed replays as it did). Associations have records of their
own: `put-edge` and `remove-edge` (and `intent` with kind "Association").
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
from reconciler.kinds import ARTIFACT, ENTITY_KINDS
from reconciler.lockfile import (
    Detached,
    Edge,
    Entry,
    Lockfile,
    Target,
    parse_edges,
    parse_entries,
)
from reconciler.runlock import refuse_state_links, state_directory

FORMAT_VERSION = 1
#: The kind of an intent about an association.
EDGE_KIND = "Association"


def journal_path(lockfile_path: Path) -> Path:
    return state_directory(lockfile_path) / f"{lockfile_path.name}.journal"


class Journal:
    """Appends records; each is durable (written and fsync'd) when the call returns."""

    def __init__(self, path: Path, lineage: str) -> None:
        self.path = path
        self.lineage = lineage
        refuse_state_links(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not path.exists() or path.stat().st_size == 0
        self._handle: IO[bytes] = path.open("ab")
        if fresh:
            self._append({"journal": FORMAT_VERSION, "lineage": lineage})

    def target(self, target: Target) -> None:
        self._append({"op": "target", "account": target.account, "region": target.region})

    def put(self, name: str, entry: Entry, kind: str = ARTIFACT.kind) -> None:
        """`name` is recorded as `entry`, an entity of `kind` ("Artifact", "Context", "Action")."""
        self._append(_kinded({"op": "put", "name": name, "entry": entry.to_json()}, kind))

    def remove(self, name: str, kind: str = ARTIFACT.kind) -> None:
        self._append(_kinded({"op": "remove", "name": name}, kind))

    def put_edge(self, name: str, edge: Edge) -> None:
        """The association `name` is recorded as `edge`."""
        self._append({"op": "put-edge", "name": name, "edge": edge.to_json()})

    def remove_edge(self, name: str) -> None:
        self._append({"op": "remove-edge", "name": name})

    def detach(self, name: str, arn: str, associations: list[dict[str, str]]) -> None:
        """Associations of `name`'s artifact at `arn`, about to be removed for a replace."""
        self._append({"op": "detach", "name": name, "arn": arn, "associations": associations})

    def reattached(self, name: str) -> None:
        """Every association detached from `name` is back (or its other end is gone)."""
        self._append({"op": "reattached", "name": name})

    def intend(self, name: str, kind: str = ARTIFACT.kind) -> None:
        """A write to `name` (an entity of `kind`, or an association with kind "Association")
        is about to be sent. Until a put or remove for `name` follows, its outcome is unknown:
        replay marks the entry uncertain."""
        self._append(_kinded({"op": "intent", "name": name}, kind))

    def _append(self, record: dict[str, Any]) -> None:
        self._handle.write(json.dumps(record, sort_keys=True).encode() + b"\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()


def _kinded(record: dict[str, Any], kind: str) -> dict[str, Any]:
    """The record with its kind; an artifact's has none (as journals before other kinds)."""
    if kind != ARTIFACT.kind:
        if kind != EDGE_KIND and kind not in ENTITY_KINDS:
            raise ValueError(f"no such kind: {kind!r}")
        record["kind"] = kind
    return record


def read_records(path: Path) -> tuple[str | None, list[dict[str, Any]]]:
    """The journal's lineage and records. A torn last line (a crash mid-write) is ignored."""
    refuse_state_links(path)
    try:
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):  # none (.reconciler is a file: apply says so)
        return None, []
    except OSError as exc:
        raise LockfileError(
            f"cannot read the apply journal {path} ({exc.strerror}); move it away and run "
            "'reconciler audit' to see what the lockfile is missing"
        ) from None
    lines = data.split(b"\n")
    complete = lines[:-1]  # whatever follows the last newline was never finished
    records = []
    for number, line in enumerate(complete, start=1):
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            raise _damaged(path, number) from None
        if not isinstance(record, dict):
            raise _damaged(path, number)
        records.append(record)
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


def _damaged(path: Path, number: int) -> LockfileError:
    return LockfileError(
        f"the apply journal {path} is damaged at line {number}; move it away and run "
        "'reconciler audit' to see what the lockfile is missing"
    )


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
    unknown = sorted(
        {
            str(r["kind"])
            for r in records
            if r.get("kind", EDGE_KIND) not in (*ENTITY_KINDS, EDGE_KIND)
        }
    )
    if unknown:
        raise LockfileError(
            f"the apply journal {path} records entities of a kind this reconciler does not know "
            f"({', '.join(unknown)}); upgrade reconciler"
        )
    return _Replay(base).run(lineage, records, path)


class _Replay:
    """The lockfile's maps, changed record by record."""

    def __init__(self, base: Lockfile) -> None:
        self.base = base
        self.entities = {k.section: dict(base.entities(k)) for k in ENTITY_KINDS.values()}
        self.edges = dict(base.associations)
        self.malformed = dict(base.malformed)
        self.malformed_sections = dict(base.malformed_sections)
        self.target = base.target
        self.detached = dict(base.detached)
        #: (kind, name) of writes sent whose outcome no record gave yet.
        self.unsettled: set[tuple[str, str]] = set()

    def run(self, lineage: str, records: list[dict[str, Any]], path: Path) -> Lockfile:
        for number, record in enumerate(records, start=2):  # line 1 is the header
            try:
                self.apply(record)
            except (KeyError, TypeError, AttributeError, ValueError):
                raise _damaged(path, number) from None
        for kind_name, name in self.unsettled:
            self._mark_uncertain(kind_name, name)
        return replace(
            self.base,
            lineage=lineage,
            target=self.target,
            artifacts=self.entities[ARTIFACT.section],
            contexts=self.entities["contexts"],
            actions=self.entities["actions"],
            associations=self.edges,
            malformed=self.malformed,
            malformed_sections=self.malformed_sections,
            detached=self.detached,
        )

    def apply(self, record: dict[str, Any]) -> None:
        op = record.get("op")
        kind_name = record.get("kind", ARTIFACT.kind)
        if op == "target":
            self.target = Target(record.get("account"), record.get("region"))
        elif op == "put":
            kind = ENTITY_KINDS[kind_name]
            good, bad = parse_entries({record["name"]: record["entry"]}, kind=kind)
            self._forget(record["name"])
            self.entities[kind.section].update(good)
            self._keep_malformed(bad, kind.section)
        elif op == "remove":
            self._forget(record["name"], ENTITY_KINDS[kind_name].section)
        elif op == "put-edge":
            edges, bad = parse_edges({record["name"]: record["edge"]})
            self._forget(record["name"])
            self.edges.update(edges)
            self._keep_malformed(bad, "associations")
            kind_name = EDGE_KIND
        elif op == "remove-edge":
            self._forget(record["name"], "associations")
            kind_name = EDGE_KIND
        elif op == "intent":
            self.unsettled.add((kind_name, record["name"]))
        elif op == "detach":
            name = record["name"]
            start = self.detached.get(name, Detached((), ()))
            self.detached[name] = start.joined(record["arn"], record["associations"])
        elif op == "reattached":
            self.detached.pop(record["name"], None)
        if op in ("put", "remove", "put-edge", "remove-edge"):
            self.unsettled.discard((kind_name, record["name"]))

    def _forget(self, name: str, section: str | None = None) -> None:
        """`name` no longer recorded in `section` (None: in any section: a put records a name
        in one section only, so a name recorded as another kind before is that kind no more)."""
        for entries_section, entries in self.entities.items():
            if section in (None, entries_section):
                entries.pop(name, None)
        if section in (None, "associations"):
            self.edges.pop(name, None)
        if name in self.malformed and section in (None, self._section_of_malformed(name)):
            del self.malformed[name]
            self.malformed_sections.pop(name, None)

    def _section_of_malformed(self, name: str) -> str:
        return self.malformed_sections.get(name, ARTIFACT.section)

    def _keep_malformed(self, bad: dict[str, tuple[str, Any]], section: str) -> None:
        self.malformed.update(bad)
        if section != ARTIFACT.section:
            self.malformed_sections.update(dict.fromkeys(bad, section))

    def _mark_uncertain(self, kind_name: str, name: str) -> None:
        if kind_name == EDGE_KIND:
            if name in self.edges:
                self.edges[name] = replace(self.edges[name], uncertain=True)
            return
        entries = self.entities[ENTITY_KINDS[kind_name].section]
        if name in entries:
            entries[name] = replace(entries[name], uncertain=True)


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
