"""A Drawing as a Mermaid `flowchart LR`, as GitHub renders it in a comment or a README.

Nothing a user wrote becomes Mermaid syntax. Node identifiers are generated (`n0`, `n1`, ...).
Every label is a quoted string in which each character other than ASCII letters, digits, single
spaces and `-./` is written as a numeric entity (`#34;` for `"`), which Mermaid turns back into
the character only after parsing and sanitising: quotes, brackets, `%%` (comments and `%%{init}%%`
directives), `-->`, `#`, `;`, `<`, `>`, `&`, backticks and markdown cannot be read as syntax, and
non-ASCII text cannot be mistaken for Mermaid's own entity markers (`ﬂ°`, `¶ß`). Control
characters and line terminators are first shown as escapes (`textsafe.visible`).

Mermaid refuses a diagram longer than `maxTextSize` (50,000 characters by default, as GitHub runs
it) or with more than `maxEdges` (500) links: a drawing is cut down to fit those and the caller's
budget (`drawing.fit`: the changed part first), and what was left out is said in a note.
"""

from __future__ import annotations

from reconciler.drawing import Drawing, Link, Node, Status, fit, shown_label
from reconciler.render.palette import COLOURS, DASHED, SYMBOLS, THICK

#: Mermaid's defaults, which GitHub keeps.
MAX_TEXT_SIZE = 50_000
MAX_EDGES = 500

#: Each kind's shape: the brackets around a node's quoted label.
SHAPES: dict[str, tuple[str, str]] = {
    "Artifact": ("[", "]"),  # rectangle
    "Context": ("{{", "}}"),  # hexagon
    "Action": ("([", "])"),  # stadium
    "TrialComponent": ("[[", "]]"),  # subroutine
    "Experiment": ("((", "))"),  # circle
    "External": ("[/", "/]"),  # parallelogram: an entity reconciler does not manage
}


def _class_def(status: Status) -> str:
    colours = COLOURS[status]
    style = f"fill:{colours.fill},stroke:{colours.stroke},color:{colours.text}"
    if status in THICK:
        style += ",stroke-width:2px"
    if status in DASHED:
        style += ",stroke-dasharray:5 3"
    if status is Status.DELETED:
        style += ",text-decoration:line-through"
    return style


def _link_style(status: Status) -> str:
    colour = COLOURS[status].link
    return f"stroke:{colour},color:{colour}" + (",stroke-width:2px" if status in THICK else "")


def _arrow(status: Status) -> str:
    """Dashed for what a plan removes or leaves, thick for what it adds."""
    if status in DASHED:
        return "-.->"
    return "==>" if status in (Status.CREATED, Status.REPLACED) else "-->"


_NOTE_ID = "omitted"
_NOTE_STYLE = "fill:#ffffff,stroke:#8c959f,stroke-dasharray:4 4,color:#57606a"
#: What a label may hold as itself; everything else is written as an entity.
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-./")


def render(drawing: Drawing, *, budget: int = MAX_TEXT_SIZE) -> str:
    """The flowchart of as much of `drawing` as fits in `budget` characters and Mermaid's limits.
    Past them, the changed part first, and a note saying what was left out. Only when even an
    empty drawing's note does not fit is the text longer than `budget`."""
    limit = min(budget, MAX_TEXT_SIZE)
    fitted = fit(drawing, lambda part: len(flowchart(part)) <= limit, max_links=MAX_EDGES)
    return flowchart(fitted)


def flowchart(drawing: Drawing) -> str:
    """The whole of `drawing`, whatever its size."""
    ids = {node.id: f"n{index}" for index, node in enumerate(drawing.nodes)}
    lines = ["flowchart LR"]
    lines += [f"  {ids[node.id]}{_node_shape(node)}" for node in drawing.nodes]
    lines += [_link_line(link, ids) for link in drawing.links]
    if drawing.left_out:
        lines.append(f'  {_NOTE_ID}["{_entities(drawing.left_out.sentence())}"]')
    lines += _node_styles(drawing, ids)
    lines += _link_styles(drawing.links)
    if drawing.left_out:
        lines.append(f"  style {_NOTE_ID} {_NOTE_STYLE}")
    return "\n".join(lines) + "\n"


def shown(text: str) -> str:
    """`text` as a reader sees it in the rendered diagram: as `shown_label` shows it, with
    Mermaid's own entity markers (`ﬂ°`, `¶ß`, which Mermaid would decode even in text it has
    already decoded) shown as escapes."""
    return (
        shown_label(text)
        .replace("\ufb02\u00b0", "\\ufb02\u00b0")
        .replace("\u00b6\u00df", "\\u00b6\u00df")
    )


def label(text: str) -> str:
    """`text` as it goes between the quotes of a Mermaid label: as `shown` shows it, with every
    character that is not plain written as a numeric entity (see `_entities`)."""
    return _entities(shown(text))


def _entities(text: str) -> str:
    """`text` with every character that is not plain written as a numeric entity, which Mermaid
    decodes only after parsing. A space is plain between two other characters, not at either end
    or beside another space (which HTML would collapse or trim)."""
    out: list[str] = []
    for index, char in enumerate(text):
        if char in _PLAIN or (char == " " and _inner_space(text, index)):
            out.append(char)
        else:
            out.append(f"#{ord(char)};")
    return "".join(out)


def _inner_space(text: str, index: int) -> bool:
    return 0 < index < len(text) - 1 and text[index - 1] != " " and text[index + 1] != " "


def _node_shape(node: Node) -> str:
    opening, closing = SHAPES[node.kind]
    return f'{opening}"{_entities(SYMBOLS[node.status] + shown(node.label))}"{closing}'


def _link_line(link: Link, ids: dict[str, str]) -> str:
    arrow = _arrow(link.status)
    text = f'|"{label(link.label)}"|' if link.label else ""
    return f"  {ids[link.source]} {arrow}{text} {ids[link.destination]}"


def _node_styles(drawing: Drawing, ids: dict[str, str]) -> list[str]:
    lines: list[str] = []
    for status in Status:
        members = [ids[node.id] for node in drawing.nodes if node.status is status]
        if members:
            lines.append(f"  classDef {status.value} {_class_def(status)}")
            lines.append(f"  class {','.join(members)} {status.value}")
    return lines


def _link_styles(links: tuple[Link, ...]) -> list[str]:
    lines: list[str] = []
    for status in Status:
        indices = [str(index) for index, link in enumerate(links) if link.status is status]
        if indices:
            lines.append(f"  linkStyle {','.join(indices)} {_link_style(status)}")
    return lines
