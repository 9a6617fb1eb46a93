"""What an apply has done so far, every change written to the journal before it is taken as done.

Entities of every kind by name, the edges, and the associations detached around a replace. A
metadata.name names one thing: recording it as one kind drops it from every other map (as the
journal's replay does).
"""

from __future__ import annotations

import threading
from dataclasses import replace

from reconciler.journal import EDGE_KIND, Journal
from reconciler.kinds import ARTIFACT, ENTITY_KINDS
from reconciler.lockfile import Detached, Edge, Entry, Lockfile


class Recorder:
    """The entries as they stand now; every change goes to the journal first."""

    def __init__(self, journal: Journal, base: Lockfile) -> None:
        self._journal = journal
        #: Held for every change (reentrant: readers may hold it).
        self.lock = threading.RLock()
        #: kind ("Artifact", "Context", "Action") -> name -> entry.
        self.entities: dict[str, dict[str, Entry]] = {
            kind.kind: dict(base.entities(kind)) for kind in ENTITY_KINDS.values()
        }
        self.edges: dict[str, Edge] = dict(base.associations)
        self.detached: dict[str, Detached] = dict(base.detached)

    @property
    def entries(self) -> dict[str, Entry]:
        """The artifacts."""
        return self.entities[ARTIFACT.kind]

    def entry(self, name: str) -> Entry | None:
        """The entity recorded as `name`, of whichever kind."""
        with self.lock:
            for entries in self.entities.values():
                if name in entries:
                    return entries[name]
        return None

    def kind_of(self, name: str) -> str:
        """The kind `name` is recorded as (an artifact if it is not recorded)."""
        with self.lock:
            for kind, entries in self.entities.items():
                if name in entries:
                    return kind
        return ARTIFACT.kind

    def arn_of(self, name: str) -> str | None:
        entry = self.entry(name)
        return entry.arn if entry is not None else None

    def every_entry(self) -> dict[str, Entry]:
        """Every entity of every kind, by name (names are unique across kinds)."""
        with self.lock:
            return {n: e for entries in self.entities.values() for n, e in entries.items()}

    def put(self, name: str, entry: Entry, kind: str = ARTIFACT.kind) -> None:
        with self.lock:
            self._journal.put(name, entry, kind)
            self._drop(name)
            self.entities[kind][name] = entry

    def remove(self, name: str, kind: str = ARTIFACT.kind) -> None:
        with self.lock:
            self._journal.remove(name, kind)
            self.entities[kind].pop(name, None)

    def intend(self, name: str, kind: str = ARTIFACT.kind) -> None:
        """Before a write whose outcome may never be known: until the next put or remove,
        the entry counts as uncertain (see journal.replay)."""
        with self.lock:
            self._journal.intend(name, kind)

    def put_edge(self, name: str, edge: Edge) -> None:
        with self.lock:
            self._journal.put_edge(name, edge)
            self._drop(name)
            self.edges[name] = edge

    def remove_edge(self, name: str) -> None:
        with self.lock:
            self._journal.remove_edge(name)
            self.edges.pop(name, None)

    def move_edges(self, ends: tuple[str, str], to: tuple[str, str]) -> None:
        """The recorded edges between `ends` now join `to` (an end replaced, the edge put back
        on its successor)."""
        with self.lock:
            for name, edge in list(self.edges.items()):
                if edge.ends == ends and ends != to:
                    self.put_edge(name, replace(edge, source_arn=to[0], destination_arn=to[1]))

    def intend_edge(self, name: str) -> None:
        with self.lock:
            self._journal.intend(name, EDGE_KIND)

    def detach(self, name: str, arn: str, associations: list[dict[str, str]]) -> None:
        with self.lock:
            self._journal.detach(name, arn, associations)
            start = self.detached.get(name, Detached((), ()))
            self.detached[name] = start.joined(arn, associations)

    def reattached(self, name: str) -> None:
        with self.lock:
            self._journal.reattached(name)
            self.detached.pop(name, None)

    def _drop(self, name: str) -> None:
        for entries in self.entities.values():
            entries.pop(name, None)
        self.edges.pop(name, None)
