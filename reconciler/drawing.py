"""A picture of (part of) the lineage graph, neutral of any drawing language.

A `Drawing` is what the Mermaid, DOT and JSON renderers draw: entities (`Node`), the edges between
them (`Link`), each with a status (what a plan does to it, or unchanged), and what was left out to
stay within a size (`LeftOut`). Pure: no I/O, no rendering. Builders make drawings from a plan or
from the declared graph; `fit` keeps the part of a drawing that a renderer can show within its
limits, the changed part first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from reconciler.kinds import ENTITY_KINDS, kind_of_arn
from reconciler.kinds.association import is_arn
from reconciler.lockfile import Lockfile
from reconciler.plan import Change, Plan
from reconciler.textsafe import visible
from reconciler.words import counted

#: The longest label drawn, in characters; a longer one is cut and ends with an ellipsis.
LABEL_LIMIT = 64


class Status(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    REPLACED = "replaced"
    DELETED = "deleted"
    #: Recorded, no longer declared, left alone (a plan without --prune).
    ORPHAN = "orphan"
    #: Drawn for context (a neighbour of what changes, an entity reconciler does not manage):
    #: faded.
    UNCHANGED = "unchanged"
    #: As declared, no plan involved (`reconciler graph`): drawn plainly.
    DECLARED = "declared"


#: The statuses of what a plan changes (or reports, for orphans).
CHANGES = frozenset(
    {Status.CREATED, Status.UPDATED, Status.REPLACED, Status.DELETED, Status.ORPHAN}
)


#: What a node can be: the kinds reconciler manages, and what an edge may reach beyond them.
NODE_KINDS: tuple[str, ...] = (
    "Artifact",
    "Context",
    "Action",
    "TrialComponent",
    "Experiment",
    "External",
)


@dataclass(frozen=True)
class Node:
    #: The entity's identity within the drawing (its metadata.name, or an ARN): never drawn as
    #: syntax, renderers make their own identifiers.
    id: str
    label: str
    kind: str
    status: Status = Status.UNCHANGED

    def __post_init__(self) -> None:
        if self.kind not in NODE_KINDS:
            raise ValueError(f"a node's kind is one of {', '.join(NODE_KINDS)}, not {self.kind!r}")


@dataclass(frozen=True)
class Link:
    #: The ids of the nodes it joins.
    source: str
    destination: str
    #: The association type ("ContributedTo"), or "" for none.
    label: str = ""
    status: Status = Status.UNCHANGED
    #: The Association's metadata.name, or "" for an edge no manifest declares.
    name: str = ""


@dataclass(frozen=True)
class LeftOut:
    """How much of a drawing was not drawn, to stay within a size or a renderer's limits."""

    nodes: int = 0
    links: int = 0
    #: Of those, how many a plan changes (the rest are unchanged, drawn for context).
    changed_nodes: int = 0
    changed_links: int = 0

    def __bool__(self) -> bool:
        return bool(self.nodes or self.links)

    def __add__(self, other: LeftOut) -> LeftOut:
        return LeftOut(
            self.nodes + other.nodes,
            self.links + other.links,
            self.changed_nodes + other.changed_nodes,
            self.changed_links + other.changed_links,
        )

    def sentence(self) -> str:
        """'Left out of the picture: 3 entities (1 changed) and 2 edges.'"""
        parts = [
            _part(self.nodes, self.changed_nodes, "entity", "entities"),
            _part(self.links, self.changed_links, "edge", None),
        ]
        shown = " and ".join(part for part in parts if part)
        return f"Left out of the picture: {shown or 'nothing'}."

    def to_json(self) -> dict[str, int]:
        return {
            "nodes": self.nodes,
            "links": self.links,
            "changed_nodes": self.changed_nodes,
            "changed_links": self.changed_links,
        }


def _part(count: int, changed: int, noun: str, plural: str | None) -> str:
    if not count:
        return ""
    if not changed:
        return counted(count, noun, plural)
    return f"{counted(count, noun, plural)} ({'all' if changed == count else changed} changed)"


@dataclass(frozen=True)
class Drawing:
    nodes: tuple[Node, ...] = ()
    links: tuple[Link, ...] = ()
    left_out: LeftOut = field(default_factory=LeftOut)

    def __post_init__(self) -> None:
        ids = [node.id for node in self.nodes]
        if len(set(ids)) != len(ids):
            raise ValueError("two nodes of a drawing have the same id")
        known = set(ids)
        for link in self.links:
            if link.source not in known or link.destination not in known:
                raise ValueError("a link of a drawing joins a node the drawing does not have")

    def to_json(self) -> dict[str, Any]:
        return {
            "nodes": [
                {"id": n.id, "label": n.label, "kind": n.kind, "status": n.status.value}
                for n in self.nodes
            ],
            "links": [
                {
                    "source": link.source,
                    "destination": link.destination,
                    "label": link.label,
                    "status": link.status.value,
                    "name": link.name,
                }
                for link in self.links
            ],
            "left_out": self.left_out.to_json(),
        }


def shown_label(text: str) -> str:
    """A label as a reader sees it in any rendering: control characters and line terminators
    shown as escapes, and cut to LABEL_LIMIT characters."""
    shown = visible(text)
    if len(shown) <= LABEL_LIMIT:
        return shown
    return shown[: LABEL_LIMIT - 1] + "…"


def changed(status: Status) -> bool:
    return status in CHANGES


def fit(
    drawing: Drawing, fits: Callable[[Drawing], bool], *, max_links: int | None = None
) -> Drawing:
    """The largest part of `drawing` that `fits` and has at most `max_links` links.

    Nodes are kept in this order: changed ones, then the ends of changed links, then the others
    (each in the drawing's order); a link is kept when both its ends are, changed links first.
    What is not kept is counted in `left_out`. `fits` must be monotonic (a part of a drawing that
    fits fits when made smaller): the largest fitting number of nodes is found by bisection.
    """
    if (max_links is None or len(drawing.links) <= max_links) and fits(drawing):
        return drawing
    order = _by_priority(drawing)
    low, high = 0, len(order)  # part(low) is the answer while nothing larger is known to fit
    while low < high:
        middle = (low + high + 1) // 2
        if fits(_part_of(drawing, order[:middle], max_links)):
            low = middle
        else:
            high = middle - 1
    return _part_of(drawing, order[:low], max_links)


def _by_priority(drawing: Drawing) -> list[str]:
    ends = {end for link in drawing.links if changed(link.status) for end in _ends(link)}

    def rank(node: Node) -> int:
        return 0 if changed(node.status) else 1 if node.id in ends else 2

    return [node.id for node in sorted(drawing.nodes, key=rank)]  # sorted() is stable


def _ends(link: Link) -> tuple[str, str]:
    return link.source, link.destination


def _part_of(drawing: Drawing, kept_ids: Iterable[str], max_links: int | None) -> Drawing:
    kept = set(kept_ids)
    nodes = tuple(node for node in drawing.nodes if node.id in kept)
    candidates = [
        link for link in drawing.links if link.source in kept and link.destination in kept
    ]
    if max_links is not None and len(candidates) > max_links:
        first = sorted(candidates, key=lambda link: not changed(link.status))[:max_links]
        chosen = {id(link) for link in first}
        candidates = [link for link in candidates if id(link) in chosen]
    kept_links = {id(link) for link in candidates}
    dropped_nodes = [node for node in drawing.nodes if node.id not in kept]
    dropped_links = [link for link in drawing.links if id(link) not in kept_links]
    left_out = drawing.left_out + LeftOut(
        nodes=len(dropped_nodes),
        links=len(dropped_links),
        changed_nodes=sum(changed(node.status) for node in dropped_nodes),
        changed_links=sum(changed(link.status) for link in dropped_links),
    )
    return replace(drawing, nodes=nodes, links=tuple(candidates), left_out=left_out)


# --- builders -----------------------------------------------------------------------------------

#: desired state by kind: kind -> metadata.name -> canonical spec (DesiredState.by_kind()).
ByKind = Mapping[str, Mapping[str, Mapping[str, Any]]]

_ASSOCIATION = "Association"
_STATUS_OF_ACTION = {
    "create": Status.CREATED,
    "update": Status.UPDATED,
    "replace": Status.REPLACED,
    "delete": Status.DELETED,
    "orphan": Status.ORPHAN,
}
#: ARN resource types of the lineage entities reconciler does not manage.
_FOREIGN_KINDS = {"experiment-trial-component": "TrialComponent", "experiment": "Experiment"}


class _Graph:
    """What is known of the graph: kinds of names (declared or recorded), ARNs of recorded names,
    and the declared edges with their ends resolved to node ids (a name, or an ARN reconciler does
    not manage)."""

    def __init__(self, desired: ByKind, lockfile: Lockfile | None) -> None:
        self.kinds: dict[str, str] = {}
        self.name_of_arn: dict[str, str] = {}
        if lockfile is not None:
            for entity_kind in ENTITY_KINDS.values():
                for name, entry in lockfile.entities(entity_kind).items():
                    self.kinds[name] = entity_kind.kind
                    self.name_of_arn[entry.arn] = name
        for kind in ENTITY_KINDS:
            self.kinds.update(dict.fromkeys(desired.get(kind, {}), kind))
        self.edges = {
            name: self.link(spec, Status.UNCHANGED, name)
            for name, spec in desired.get(_ASSOCIATION, {}).items()
        }

    def node_id(self, reference: str) -> str:
        """An edge end's node: the entity it names, the recorded entity its ARN is, or the ARN."""
        if is_arn(reference):
            return self.name_of_arn.get(reference, reference)
        return reference

    def link(self, spec: Mapping[str, Any], status: Status, name: str) -> Link:
        source, destination = (self.node_id(str(spec[end])) for end in ("Source", "Destination"))
        return Link(source, destination, str(spec.get("AssociationType") or ""), status, name)

    def node(self, node_id: str, status: Status) -> Node:
        kind = self.kinds.get(node_id)
        if kind is not None:
            return Node(node_id, node_id, kind, status)
        if not is_arn(node_id):  # a name neither declared nor recorded: nothing more is known
            return Node(node_id, node_id, "External", status)
        return arn_node(node_id, status)


def arn_node(arn: str, status: Status) -> Node:
    """An entity known by its ARN only: labelled with its resource name, of the kind its resource
    type says (an artifact, a trial component...; else External)."""
    resource = arn.split(":", 5)[-1]
    resource_type, _, resource_name = resource.partition("/")
    entity = kind_of_arn(arn)
    shown_kind = entity.kind if entity else _FOREIGN_KINDS.get(resource_type, "External")
    return Node(arn, resource_name or arn, shown_kind, status)


def from_plan(plan: Plan, desired: ByKind, lockfile: Lockfile | None = None) -> Drawing:
    """What `plan` changes: its entities and edges, each with its status, and the unchanged
    entities one declared edge away from a changed one, with those edges (faded). An edge whose
    replacement moves an end is drawn as the old one deleted and the new one created."""
    graph = _Graph(desired, lockfile)
    statuses: dict[str, Status] = {}
    links: list[Link] = []
    for change in plan.changes:
        status = _STATUS_OF_ACTION[change.action.value]
        if change.is_edge:
            links += _changed_links(graph, change, status)
        else:
            statuses[change.name] = status
    drawn_edges = {link.name for link in links}
    links += [
        link
        for name, link in graph.edges.items()
        if name not in drawn_edges and (link.source in statuses or link.destination in statuses)
    ]
    order = dict.fromkeys([*statuses, *(end for link in links for end in _ends(link))])
    nodes = tuple(graph.node(node_id, statuses.get(node_id, Status.UNCHANGED)) for node_id in order)
    return Drawing(nodes, tuple(links))


def _changed_links(graph: _Graph, change: Change, status: Status) -> list[Link]:
    before = graph.link(change.before, Status.DELETED, change.name) if change.before else None
    after = graph.link(change.after, Status.CREATED, change.name) if change.after else None
    if before is not None and after is not None:
        if _ends(before) != _ends(after):
            return [before, after]
        return [replace(after, status=status)]
    drawn = after or before
    return [] if drawn is None else [replace(drawn, status=status)]


def from_declared(desired: ByKind, around: str | None = None, depth: int = 1) -> Drawing:
    """The declared graph: every declared entity (plain) and edge, and the entities reconciler does
    not manage that edges reach (faded). With `around` (a declared entity's name), only what is
    at most `depth` edges away from it, whichever way they point."""
    graph = _Graph(desired, None)
    links = [replace(link, status=Status.DECLARED) for link in graph.edges.values()]
    declared = [name for kind in ENTITY_KINDS for name in desired.get(kind, {})]
    order = list(dict.fromkeys([*declared, *(end for link in links for end in _ends(link))]))
    if around is not None:
        if around not in graph.kinds:
            raise KeyError(around)
        near = _within(around, depth, links)
        order = [node_id for node_id in order if node_id in near]
        links = [link for link in links if set(_ends(link)) <= near]
    nodes = tuple(
        graph.node(node_id, Status.DECLARED if node_id in graph.kinds else Status.UNCHANGED)
        for node_id in order
    )
    return Drawing(nodes, tuple(links))


def _within(start: str, depth: int, links: Iterable[Link]) -> set[str]:
    neighbours: dict[str, set[str]] = {}
    for link in links:
        neighbours.setdefault(link.source, set()).add(link.destination)
        neighbours.setdefault(link.destination, set()).add(link.source)
    reached, frontier = {start}, {start}
    for _ in range(depth):
        frontier = {n for node in frontier for n in neighbours.get(node, ())} - reached
        reached |= frontier
    return reached
