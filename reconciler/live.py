"""Reading the live state of what a lockfile records, cheaply: entities of every kind, and edges.

The cheap strategy reads each kind's list pages (ListArtifacts, ListContexts, ListActions: 100 a
call, filtered by type) and describes only the entities whose list entry shows a change:
LastModifiedTime later than when reconciler last wrote it. When the account holds far more of a
kind than ours, listing would cost more than asking for ours one by one, so the reader switches
to per-entity reads part way. Edges are read the same way: ListAssociations pages (every edge of
the account, 100 a call), never one call per entity; past a budget, the recorded edges not yet
seen are asked for one by one.
`deep` reads every recorded entity fully (Describe and ListTags), lists the tags of every other
entity of its kind too, to find owned ones the lockfile lost, and lists every edge.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from reconciler.aws import Lineage, timestamp_text
from reconciler.errors import ReconcilerError
from reconciler.kinds import ARTIFACT, ENTITY_KINDS, EntityKind
from reconciler.lockfile import Edge, Entry, Lockfile, edge_foreign_reason, foreign_reason
from reconciler.ownership import Claim, Owner, not_ours
from reconciler.requests import live_spec_of
from reconciler.words import counted

T = TypeVar("T")
R = TypeVar("R")

#: Items a list call returns at most (the API's MaxResults limit).
PAGE = 100


@dataclass(frozen=True)
class LiveEntity:
    """What was read of one entity. `spec` and `tags` are None when only its list entry was."""

    arn: str
    summary: dict[str, Any] | None = None
    spec: dict[str, Any] | None = None
    tags: dict[str, str] | None = None
    #: Its LastModifiedTime (ISO 8601), when it was read fully.
    modified: str | None = None
    #: Its manifest kind ("Artifact", "Context", "Action").
    kind: str = ARTIFACT.kind

    @property
    def owner(self) -> str | None:
        """The name its ownership tag gives it."""
        return None if self.tags is None else Owner.of(self.tags).name

    def claim(self, name: str, lineage: str | None) -> Claim | None:
        """Whose it is, when its tags were read."""
        return None if self.tags is None else Owner.of(self.tags).claim(name, lineage)


#: The name this had when artifacts were the only kind.
LiveArtifact = LiveEntity


@dataclass(frozen=True)
class LiveEdge:
    """An association as the service holds it."""

    source_arn: str
    destination_arn: str
    association_type: str | None = None

    @classmethod
    def of(cls, summary: dict[str, Any]) -> LiveEdge:
        return cls(summary["SourceArn"], summary["DestinationArn"], summary.get("AssociationType"))

    @property
    def ends(self) -> tuple[str, str]:
        return (self.source_arn, self.destination_arn)


@dataclass
class LiveState:
    """The service's side of an audit or a refresh."""

    strategy: str
    #: By kind, then by recorded name: what the service holds under the recorded ARN; None if
    #: it is gone. Only kinds that were read appear.
    entities: dict[str, dict[str, LiveEntity | None]] = field(default_factory=dict)
    #: Entities on the service owned by this lockfile (or carrying only a name tag, from before
    #: lineage tags) that the lockfile does not know, by ARN.
    unrecorded: dict[str, LiveEntity] = field(default_factory=dict)
    #: By recorded edge name: the service's edge between the recorded ends; None if it has none.
    edges: dict[str, LiveEdge | None] = field(default_factory=dict)
    #: Edges between two recorded entities that the lockfile does not record (made by hand).
    unmanaged_edges: list[LiveEdge] = field(default_factory=list)
    calls: int = 0
    #: Read deep: every entity fully, tags included; every edge listed.
    deep: bool = False

    @property
    def recorded(self) -> dict[str, LiveEntity | None]:
        """The artifacts read, by recorded name."""
        return self.entities.get(ARTIFACT.kind, {})


def type_field(kind: EntityKind) -> str:
    """The field holding an entity's type ("ArtifactType")."""
    return f"{kind.kind}Type"


def _identity(kind: EntityKind, item: dict[str, Any]) -> str | None:
    """How a declared entity not yet recorded is recognised in a list: an artifact by its
    SourceUri (the whole Source is compared on import), a context or an action by its name,
    which is unique in an account and region."""
    if kind is ARTIFACT:
        return str(item["Source"]["SourceUri"])
    name = item.get(kind.name_field)
    return None if name is None else str(name)


def _unchanged_since_written(summary: dict[str, Any], entry: Entry) -> bool:
    """True when the list entry shows no write since reconciler's own last one."""
    modified = summary.get("LastModifiedTime")
    if modified is None:
        return False
    if entry.last_modified_time is not None:
        return bool(modified <= dt.datetime.fromisoformat(entry.last_modified_time))
    # Never updated by us since it was created: the service sets both times at creation.
    return bool(modified == summary.get("CreationTime"))


def _summary_agrees(kind: EntityKind, summary: dict[str, Any], spec: dict[str, Any]) -> bool:
    """What the list entry shows of the entity is what the lockfile records."""
    shown = (kind.name_field, type_field(kind), *(("Status",) if "Status" in summary else ()))
    return all(summary.get(key) == spec.get(key) for key in shown) and bool(
        summary["Source"]["SourceUri"] == spec["Source"]["SourceUri"]
    )


def _parallel(function: Callable[[T], R], items: Iterable[T], workers: int = 8) -> list[R]:
    items = list(items)
    if len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(function, items))


@dataclass
class _KindRead:
    """One kind's part of a cheap read."""

    phrase: str
    #: Whether it switched to per-entity reads part way.
    switched: bool
    seen: dict[str, dict[str, Any]]
    candidates: list[dict[str, Any]]


class LiveReader:
    def __init__(
        self,
        service: Lineage,
        recorded: Lockfile,
        declared: Mapping[str, Mapping[str, dict[str, Any]]],
    ) -> None:
        """`declared`: the manifests' canonical specs by kind, then by name."""
        self.service = service
        self.lockfile = recorded
        self.declared = declared
        # Entries that belong elsewhere are reported offline; they are not read here.
        self.entries = {
            kind.kind: {
                name: entry
                for name, entry in recorded.entities(kind).items()
                if foreign_reason(entry, service.target) is None
            }
            for kind in ENTITY_KINDS.values()
        }
        self.edges = {
            name: edge
            for name, edge in recorded.associations.items()
            if edge_foreign_reason(edge, service.target) is None
        }

    def read(self, *, deep: bool = False) -> LiveState:
        before = self.service.stats.total
        state = self._deep() if deep else self._cheap()
        state.calls = self.service.stats.total - before
        return state

    def _full(self, kind: EntityKind, arn: str) -> LiveEntity | None:
        described = self.service.describe(kind, arn)
        if described is None:
            return None
        tags = self.service.tags(arn)
        if tags is None:
            return None
        modified = timestamp_text(described.get("LastModifiedTime"))
        spec = live_spec_of(kind, described, tags)
        return LiveEntity(arn, None, spec, tags, modified, kind.kind)

    def _read_fully(self, kind: EntityKind, names: list[str]) -> dict[str, LiveEntity | None]:
        entries = self.entries[kind.kind]
        read = _parallel(lambda name: self._full(kind, entries[name].arn), names)
        return dict(zip(names, read, strict=True))

    def _edge(self, ends: tuple[str, str]) -> LiveEdge | None:
        """The service's edge between two ends (one ListAssociations call), or None."""
        summary = self.service.association(*ends)
        return None if summary is None else LiveEdge.of(summary)

    def _read_edges(self, names: list[str]) -> dict[str, LiveEdge | None]:
        read = _parallel(lambda name: self._edge(self._ends(name)), names)
        return dict(zip(names, read, strict=True))

    def _ends(self, name: str) -> tuple[str, str]:
        return self.edges[name].ends

    def read_back(self) -> LiveState:
        """Only the entries whose last write has an unknown outcome, fully."""
        before = self.service.stats.total
        state = LiveState("read back: Describe and ListTags for uncertain entries")
        for kind in ENTITY_KINDS.values():
            names = [n for n, e in self.entries[kind.kind].items() if e.uncertain]
            if names:
                state.entities[kind.kind] = self._read_fully(kind, names)
        edges = [n for n, e in self.edges.items() if e.uncertain]
        state.edges = self._read_edges(edges)
        state.calls = self.service.stats.total - before
        return state

    # --- deep ----------------------------------------------------------------------------------

    def _deep(self) -> LiveState:
        state = LiveState("", deep=True)
        phrases = []
        for kind in ENTITY_KINDS.values():
            entries = self.entries[kind.kind]
            if kind is not ARTIFACT and not entries and not self.declared.get(kind.kind):
                continue  # a kind this repository does not manage is not scanned
            state.entities[kind.kind] = self._read_fully(kind, list(entries))
            ours = {entry.arn for entry in entries.values()}
            listed = self.service.entity_pages(kind)
            others = [s for page in listed for s in page if s[kind.arn_field] not in ours]
            state.unrecorded.update(self._owned_among(kind, others))
            phrases.append(f"Describe{kind.kind} and ListTags for every {kind.kind.lower()}")
        phrase, state.edges, state.unmanaged_edges = self._list_edges(complete=True)
        if phrase:
            phrases.append(phrase)
        state.strategy = "deep: " + "; ".join(phrases)
        return state

    # --- cheap ---------------------------------------------------------------------------------

    def _cheap(self) -> LiveState:
        phrases: list[str] = []
        listed_only = False
        state = LiveState("")
        for kind in ENTITY_KINDS.values():
            read = self._cheap_kind(kind)
            if read is None:
                continue
            phrases.append(read.phrase)
            listed_only = listed_only or not read.switched
            state.entities[kind.kind] = self._resolve(kind, read.seen)
            state.unrecorded.update(self._owned_among(kind, read.candidates))
        if listed_only:
            phrases.append("describing only what changed")
        phrase, state.edges, state.unmanaged_edges = self._list_edges(complete=False)
        if phrase:
            phrases.append(phrase)
        state.strategy = "; ".join(phrases) or "nothing recorded or declared to read"
        return state

    def _cheap_kind(self, kind: EntityKind) -> _KindRead | None:
        """List pages of one kind, by type; None when nothing of it is recorded or wanted."""
        entries = self.entries[kind.kind]
        declared = self.declared.get(kind.kind, {})
        every_recorded = self.lockfile.entities(kind)
        by_arn = {entry.arn: name for name, entry in entries.items()}
        wanted = {
            identity: name
            for name, spec in declared.items()
            if name not in every_recorded and (identity := _identity(kind, spec)) is not None
        }
        field_name = type_field(kind)
        types = sorted(
            {e.spec[field_name] for e in entries.values()}
            | {declared[n][field_name] for n in wanted.values()}
        )
        if not types:
            return None
        seen: dict[str, dict[str, Any]] = {}
        candidates: list[dict[str, Any]] = []
        pages = listed = 0
        switched = False
        for entity_type in types:
            for page in self.service.entity_pages(kind, **{field_name: entity_type}):
                pages += 1
                listed += len(page)
                for summary in page:
                    arn = summary[kind.arn_field]
                    if arn in by_arn:
                        seen[by_arn[arn]] = summary
                    elif _identity(kind, summary) in wanted:
                        candidates.append(summary)
                # Listing on costs a call a page; reading the rest of ours costs one each.
                if pages >= len(entries) - len(seen) and len(entries) > len(seen):
                    switched = True
                    break
            if switched:
                break
        noun = kind.kind.lower()
        call = kind.operations.list.title().replace("_", "")
        listing = f"list pages ({counted(pages, call + ' call')}"
        listing += f", {counted(listed, noun)} listed, {len(seen)} of ours)"
        unseen = counted(len(entries) - len(seen), f"recorded {noun}")
        phrase = f"{listing}, then per-{noun} reads of {unseen} not listed" if switched else listing
        return _KindRead(phrase, switched, seen, candidates)

    def _resolve(
        self, kind: EntityKind, seen: dict[str, dict[str, Any]]
    ) -> dict[str, LiveEntity | None]:
        out: dict[str, LiveEntity | None] = {}
        to_read: list[str] = []
        for name, entry in self.entries[kind.kind].items():
            summary = seen.get(name)
            if (
                summary is not None
                and not entry.uncertain  # its last write may not be what the lockfile says
                and _unchanged_since_written(summary, entry)
                and _summary_agrees(kind, summary, entry.spec)
            ):
                out[name] = LiveEntity(entry.arn, summary, kind=kind.kind)
            else:
                to_read.append(name)  # changed, or not seen (gone, or beyond the pages read)
        out.update(self._read_fully(kind, to_read))
        return out

    def _owned_among(
        self, kind: EntityKind, summaries: list[dict[str, Any]]
    ) -> dict[str, LiveEntity]:
        tags = _parallel(lambda s: self.service.tags(s[kind.arn_field]), summaries)
        found: dict[str, LiveEntity] = {}
        for summary, entity_tags in zip(summaries, tags, strict=True):
            owner = Owner.of(entity_tags or {})
            if owner.name is not None and owner.lineage in (None, self.lockfile.lineage):
                arn = summary[kind.arn_field]
                found[arn] = LiveEntity(arn, summary, None, entity_tags, kind=kind.kind)
        return found

    # --- edges ---------------------------------------------------------------------------------

    def _list_edges(
        self, *, complete: bool
    ) -> tuple[str, dict[str, LiveEdge | None], list[LiveEdge]]:
        """Every recorded edge found (or not) and the edges between two recorded entities that
        no entry records, from ListAssociations pages.

        Unless `complete`, listing stops once it would cost more than asking for the recorded
        edges not yet seen one by one, plus a page per 100 recorded entities spent looking for
        edges made by hand between them."""
        ours = {e.arn for entries in self.entries.values() for e in entries.values()}
        if not self.edges and not (self.declared.get("Association") and ours):
            return "", {}, []  # a lockfile without edges is not looked at for them
        by_ends = {self._ends(name): name for name in self.edges}
        allowance = math.ceil(len(ours) / PAGE)
        seen: dict[str, LiveEdge] = {}
        unmanaged: list[LiveEdge] = []
        pages = listed = 0
        cut = False
        token: str | None = None
        while True:
            more = {"NextToken": token} if token else {}
            response = self.service.call("list_associations", MaxResults=PAGE, **more)
            page = response.get("AssociationSummaries", [])
            pages += 1
            listed += len(page)
            for summary in page:
                edge = LiveEdge.of(summary)
                name = by_ends.get(edge.ends)
                if name is not None:
                    seen[name] = edge
                elif edge.source_arn in ours and edge.destination_arn in ours:
                    unmanaged.append(edge)
            token = response.get("NextToken")
            if not token:
                break
            if not complete and pages >= len(self.edges) - len(seen) + allowance:
                cut = True  # listing on would cost more than asking for the rest of ours
                break
        found: dict[str, LiveEdge | None] = {name: seen.get(name) for name in self.edges}
        unseen = [name for name in self.edges if name not in seen]
        phrase = f"list pages ({counted(pages, 'ListAssociations call')}, {counted(listed, 'edge')}"
        phrase += f" listed, {len(seen)} of ours)"
        if cut:
            found.update(self._read_edges(unseen))
            phrase += (
                f", then per-edge reads of {counted(len(unseen), 'recorded edge')} not listed; "
                f"edges made by hand looked for in those {counted(pages, 'page')} only"
            )
        unmanaged.sort(key=lambda e: e.ends)
        return phrase, found, unmanaged


def refreshed(recorded: Lockfile, live: LiveState) -> Lockfile:
    """The lockfile as the service has it: entries of vanished entities and edges dropped,
    drifted ones holding the live spec, so that a plan against it heals the drift.

    Refuses when a recorded entity that was read is owned by another lockfile or by no one:
    a plan must not make healing someone else's entity look like ours."""
    foreign = [
        f"'{name}': {not_ours(entity.arn, name, Owner.of(entity.tags), recorded.lineage)}"
        for by_name in live.entities.values()
        for name, entity in sorted(by_name.items())
        if entity is not None
        and entity.tags is not None
        and entity.claim(name, recorded.lineage) not in (Claim.OURS, Claim.LEGACY)
    ]
    if foreign:
        raise ReconcilerError(
            "the lockfile records entities that are not its own, so it cannot be refreshed: "
            + "; ".join(sorted(foreign))
            + ". If the lockfile was edited, restore it from git"
        )
    out = recorded
    for kind in ENTITY_KINDS.values():
        read = live.entities.get(kind.kind)
        if read:
            out = out.with_entities(kind, _refreshed_entries(recorded.entities(kind), read))
    if live.edges:
        out = replace(out, associations=_refreshed_edges(recorded.associations, live.edges))
    return out


def _refreshed_entries(
    entries: dict[str, Entry], read: dict[str, LiveEntity | None]
) -> dict[str, Entry]:
    out = dict(entries)
    # A name read but no longer recorded was settled already (apply journals what a read back
    # found before it plans): nothing left to refresh.
    for name, entity in read.items():
        if name not in out:
            continue
        if entity is None:
            del out[name]
        elif entity.spec is not None and out[name].uncertain:
            # Read back: now known, and known as of this modification time.
            out[name] = replace(
                out[name],
                spec=entity.spec,
                last_modified_time=entity.modified,
                uncertain=False,
                kept=tuple(f for f in out[name].kept if entity.spec.get(f) is not None),
            )
        elif entity.spec is not None and entity.spec != out[name].spec:
            # A kept field changed by hand is kept anew: the plan shows it, apply records it.
            recorded_spec = out[name].spec
            kept = tuple(
                f
                for f in out[name].kept
                if entity.spec.get(f) is not None and entity.spec.get(f) == recorded_spec.get(f)
            )
            out[name] = replace(out[name], spec=entity.spec, kept=kept)
    return out


def _refreshed_edges(edges: dict[str, Edge], read: dict[str, LiveEdge | None]) -> dict[str, Edge]:
    """Vanished edges dropped (a plan adds them again); an edge whose type was changed by hand
    records the live type (a plan replaces it); an edge read back is certain again."""
    out = dict(edges)
    for name, edge in read.items():
        if name not in out:
            continue  # settled already, as for entries
        if edge is None:
            del out[name]
            continue
        spec = {k: v for k, v in out[name].spec.items() if k != "AssociationType"}
        if edge.association_type is not None:
            spec["AssociationType"] = edge.association_type
        out[name] = replace(out[name], spec=spec, uncertain=False)
    return out
