"""The colours and symbols of a status, the same in every drawing (Mermaid, DOT): readable on
GitHub's light and dark themes alike, and never the only sign (each label carries the symbol,
and removed things are dashed)."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.drawing import Status


@dataclass(frozen=True)
class Colours:
    fill: str
    stroke: str
    text: str
    #: The colour of a link with this status, and of its label.
    link: str


COLOURS: dict[Status, Colours] = {
    Status.CREATED: Colours("#dafbe1", "#1a7f37", "#0f5323", "#1a7f37"),
    Status.UPDATED: Colours("#fff8c5", "#9a6700", "#4d2d00", "#9a6700"),
    Status.REPLACED: Colours("#fff1e5", "#bc4c00", "#762c00", "#bc4c00"),
    Status.DELETED: Colours("#ffebe9", "#cf222e", "#82071e", "#cf222e"),
    Status.ORPHAN: Colours("#ffffff", "#8c959f", "#57606a", "#8c959f"),
    Status.UNCHANGED: Colours("#f6f8fa", "#d0d7de", "#8c959f", "#afb8c1"),
    Status.DECLARED: Colours("#ffffff", "#57606a", "#24292f", "#57606a"),
}
#: Before each label, as in a plan's listing.
SYMBOLS: dict[Status, str] = {
    Status.CREATED: "+ ",
    Status.UPDATED: "~ ",
    Status.REPLACED: "-/+ ",
    Status.DELETED: "- ",
    Status.ORPHAN: "! ",
    Status.UNCHANGED: "",
    Status.DECLARED: "",
}
#: Drawn with a thick line (what a plan adds), or a dashed one (what it removes or leaves).
THICK = frozenset({Status.CREATED, Status.UPDATED, Status.REPLACED, Status.DELETED})
DASHED = frozenset({Status.DELETED, Status.ORPHAN})
