"""A Drawing as Graphviz DOT (`dot -Tsvg`), for pictures larger than a comment holds.

Node identifiers are generated (`n0`, `n1`, ...). Every label is a double-quoted DOT string in
which `\\` and `"` are escaped with a backslash (so no escString such as `\\N`, `\\G` or `\\l`
can be formed) and `&` is written `&amp;` (Graphviz decodes HTML entities in every label);
control characters and line terminators are first shown as escapes (`textsafe.visible`).
"""

from __future__ import annotations

from reconciler.drawing import Drawing, Link, Node, fit, shown_label
from reconciler.render.palette import COLOURS, DASHED, SYMBOLS, THICK

SHAPES: dict[str, tuple[str, str]] = {
    "Artifact": ("box", ""),
    "Context": ("hexagon", ""),
    "Action": ("box", "rounded"),
    "TrialComponent": ("component", ""),
    "Experiment": ("circle", ""),
    "External": ("parallelogram", ""),
}
_NOTE_ID = "omitted"


def render(drawing: Drawing, *, budget: int | None = None) -> str:
    """The digraph of `drawing`; with a `budget`, of as much of it as fits in that many
    characters (the changed part first) and a note saying what was left out."""
    if budget is None:
        return digraph(drawing)
    return digraph(fit(drawing, lambda part: len(digraph(part)) <= budget))


def digraph(drawing: Drawing) -> str:
    ids = {node.id: f"n{index}" for index, node in enumerate(drawing.nodes)}
    lines = [
        "digraph lineage {",
        "  rankdir=LR;",
        '  node [fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    lines += [f"  {ids[node.id]} [{_node_attributes(node)}];" for node in drawing.nodes]
    lines += [f"  {_link_statement(link, ids)};" for link in drawing.links]
    if drawing.left_out:
        sentence = quoted(drawing.left_out.sentence())
        lines.append(f'  {_NOTE_ID} [label={sentence}, shape=note, style=dashed, color="#8c959f"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def quoted(text: str) -> str:
    """`text` as a DOT string that Graphviz shows as exactly `text`."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("&", "&amp;")
    return f'"{escaped}"'


def _node_attributes(node: Node) -> str:
    shape, extra = SHAPES[node.kind]
    colours = COLOURS[node.status]
    style = ",".join(
        part
        for part in (
            "filled",
            extra,
            "dashed" if node.status in DASHED else "",
            "bold" if node.status in THICK and node.status not in DASHED else "",
        )
        if part
    )
    label = quoted(SYMBOLS[node.status] + shown_label(node.label))
    return (
        f'label={label}, shape={shape}, style="{style}", fillcolor="{colours.fill}", '
        f'color="{colours.stroke}", fontcolor="{colours.text}"'
    )


def _link_statement(link: Link, ids: dict[str, str]) -> str:
    colour = COLOURS[link.status].link
    attributes = [f'color="{colour}"', f'fontcolor="{colour}"']
    if link.label:
        attributes.insert(0, f"label={quoted(shown_label(link.label))}")
    if link.status in DASHED:
        attributes.append("style=dashed")
    elif link.status in THICK:
        attributes.append("penwidth=2")
    return f"{ids[link.source]} -> {ids[link.destination]} [{', '.join(attributes)}]"
