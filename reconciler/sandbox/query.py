"""QueryLineage: a walk of the association graph from a start entity, as the API reference
describes it.

- Direction `Descendants` follows edges from source to destination, `Ascendants` against them,
  `Both` (the default) does each walk and joins them (it does not turn around midway, so a
  sibling is not a relative). MaxDepth (default 10) bounds the associations walked.
- Filters choose the vertices answered (the start entity included, when it matches): Types (the
  entity's type, e.g. `DataSet`), LineageTypes, CreatedBefore/After and ModifiedBefore/After
  (strictly), Properties (every pair must be among the entity's properties).
- IncludeEdges (default false): also the entities and associations on the path from the start to
  each vertex answered, along the walk's first (shortest) path.
- Vertices come nearest first (then by ARN), MaxResults (default 10, at most 50) a page; each
  edge comes once, on the page of the first vertex whose path needs it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from reconciler.sandbox import paging

DEFAULT_DEPTH = 10
DEFAULT_PAGE = 10


@dataclass(frozen=True)
class Vertex:
    arn: str
    type: str
    lineage_type: str
    creation_time: float
    last_modified_time: float
    properties: dict[str, str]

    def answer(self) -> dict[str, Any]:
        return {"Arn": self.arn, "Type": self.type, "LineageType": self.lineage_type}


@dataclass(frozen=True)
class Edge:
    source: str
    destination: str
    association_type: str | None

    def answer(self) -> dict[str, Any]:
        out: dict[str, Any] = {"SourceArn": self.source, "DestinationArn": self.destination}
        if self.association_type is not None:
            out["AssociationType"] = self.association_type
        return out


#: An entity's edges: (outgoing, incoming).
EdgesOf = Callable[[str], tuple[Iterable[Edge], Iterable[Edge]]]
VertexOf = Callable[[str], Vertex | None]


@dataclass
class _Reached:
    depth: int
    via: Edge | None  # the edge the walk first reached it by (None: the start)
    parent: str | None


def _walk(start: str, descending: bool, max_depth: int, edges_of: EdgesOf) -> dict[str, _Reached]:
    reached = {start: _Reached(0, None, None)}
    frontier = [start]
    for depth in range(1, max_depth + 1):
        following: list[str] = []
        for arn in frontier:
            outgoing, incoming = edges_of(arn)
            steps = outgoing if descending else incoming
            for edge in sorted(steps, key=lambda e: (e.source, e.destination)):
                other = edge.destination if descending else edge.source
                if other not in reached:
                    reached[other] = _Reached(depth, edge, arn)
                    following.append(other)
        frontier = following
        if not frontier:
            break
    return reached


def _matches(vertex: Vertex, filters: dict[str, Any]) -> bool:
    created, modified = vertex.creation_time, vertex.last_modified_time
    checks = (
        not filters.get("Types") or vertex.type in filters["Types"],
        not filters.get("LineageTypes") or vertex.lineage_type in filters["LineageTypes"],
        filters.get("CreatedBefore") is None or created < filters["CreatedBefore"],
        filters.get("CreatedAfter") is None or created > filters["CreatedAfter"],
        filters.get("ModifiedBefore") is None or modified < filters["ModifiedBefore"],
        filters.get("ModifiedAfter") is None or modified > filters["ModifiedAfter"],
        all(vertex.properties.get(k) == v for k, v in (filters.get("Properties") or {}).items()),
    )
    return all(checks)


def _path(arn: str, walks: list[dict[str, _Reached]]) -> tuple[list[str], list[Edge]]:
    """The vertices and edges from the start to `arn` along the walk that reached it first."""
    walk = min((w for w in walks if arn in w), key=lambda w: w[arn].depth)
    vertices: list[str] = []
    edges: list[Edge] = []
    current: str | None = arn
    while current is not None:
        vertices.append(current)
        step = walk[current]
        if step.via is not None:
            edges.append(step.via)
        current = step.parent
    return vertices, edges


def query(
    params: dict[str, Any], vertex_of: VertexOf, edges_of: EdgesOf, nonce: int, empty: bool
) -> dict[str, Any]:
    """The QueryLineage answer for `params`; `vertex_of` is None for an ARN the service does not
    hold (a ResourceNotFound for a start ARN is the caller's to raise, before this)."""
    direction = params.get("Direction") or "Both"
    max_depth = DEFAULT_DEPTH if params.get("MaxDepth") is None else params["MaxDepth"]
    walks = [
        _walk(start, descending, max_depth, edges_of)
        for start in params.get("StartArns") or []
        for descending in (True, False)
        if direction == "Both" or descending == (direction == "Descendants")
    ]
    depth: dict[str, int] = {}
    for walk in walks:
        for arn, step in walk.items():
            depth[arn] = min(depth.get(arn, step.depth), step.depth)
    vertices = {arn: v for arn in depth if (v := vertex_of(arn)) is not None}
    filters = params.get("Filters") or {}
    chosen = {arn for arn, v in vertices.items() if _matches(v, filters)}
    edges_for: dict[str, list[Edge]] = {}
    if params.get("IncludeEdges"):
        paths = {arn: _path(arn, walks) for arn in sorted(chosen, key=lambda a: (depth[a], a))}
        chosen |= {v for on_path, _ in paths.values() for v in on_path if v in vertices}
        given: set[Edge] = set()
        for arn, (_, path_edges) in paths.items():
            edges_for[arn] = [e for e in reversed(path_edges) if e not in given]
            given.update(path_edges)
    how = paging.PageRequest(
        "QueryLineage", lambda a: [depth[a], a], (int, str), False, default=DEFAULT_PAGE
    )
    shown, token = paging.page(chosen, how, params, nonce, empty)
    out: dict[str, Any] = {"Vertices": [vertices[arn].answer() for arn in shown]}
    if params.get("IncludeEdges"):
        out["Edges"] = [e.answer() for arn in shown for e in edges_for.get(arn, [])]
    if token:
        out["NextToken"] = token
    return out
