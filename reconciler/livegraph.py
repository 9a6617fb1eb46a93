"""What the service holds around our entities, as a Drawing (`reconciler graph --live`).

QueryLineage walks the association graph from one start entity (StartArns holds at most one)
both ways, at most MaxDepth (10) edges, IncludeEdges on, 50 vertices a page: one walk, its pages
followed, for each recorded entity chosen. Entities the lockfile records are drawn plainly under
their names, the others (another team's, SageMaker's) faded under the last part of their ARN.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from reconciler.aws import Lineage
from reconciler.drawing import Drawing, Link, Node, Status, arn_node
from reconciler.kinds import ENTITY_KINDS
from reconciler.lockfile import Lockfile

#: QueryLineage's bounds.
MAX_DEPTH = 10
PAGE = 50


def live_drawing(
    service: Lineage, recorded: Lockfile, starts: Iterable[str], depth: int
) -> Drawing:
    """The entities and edges the service holds at most `depth` edges from each recorded entity
    named in `starts` (a name the lockfile does not record has nothing to start from)."""
    names: dict[str, tuple[str, str]] = {
        entry.arn: (name, kind.kind)
        for kind in ENTITY_KINDS.values()
        for name, entry in recorded.entities(kind).items()
    }
    reached: dict[str, None] = {}
    edges: dict[tuple[str, str], str] = {}
    for name in starts:
        arn = recorded.arn_of(name)
        if arn is None:
            continue
        reached.setdefault(arn)
        for page in _walk(service, arn, depth):
            reached.update(dict.fromkeys(vertex["Arn"] for vertex in page.get("Vertices", [])))
            for edge in page.get("Edges", []):
                ends = (str(edge["SourceArn"]), str(edge["DestinationArn"]))
                edges[ends] = str(edge.get("AssociationType") or "")
    for ends in edges:
        reached.update(dict.fromkeys(ends))

    def node_id(arn: str) -> str:
        return names[arn][0] if arn in names else arn

    def node(arn: str) -> Node:
        if arn in names:
            name, kind = names[arn]
            return Node(name, name, kind, Status.DECLARED)
        return arn_node(arn, Status.UNCHANGED)

    links = tuple(
        Link(node_id(source), node_id(destination), label, Status.DECLARED)
        for (source, destination), label in edges.items()
    )
    return Drawing(tuple(node(arn) for arn in reached), links)


def _walk(service: Lineage, arn: str, depth: int) -> Iterator[dict[str, Any]]:
    token: str | None = None
    while True:
        page = service.call(
            "query_lineage",
            StartArns=[arn],
            Direction="Both",
            IncludeEdges=True,
            MaxDepth=depth,
            MaxResults=PAGE,
            **({"NextToken": token} if token else {}),
        )
        yield page
        token = page.get("NextToken")
        if not token:
            return
