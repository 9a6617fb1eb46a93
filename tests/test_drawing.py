"""The neutral drawing model, fitting a drawing within limits, and its renderings as Mermaid text,
Graphviz DOT (checked by Graphviz itself) and JSON. The Mermaid text is checked by Mermaid itself
in tests/test_mermaid_render.py."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.drawing import (
    NODE_KINDS,
    Drawing,
    LeftOut,
    Link,
    Node,
    Status,
    fit,
    shown_label,
)
from reconciler.render import dot, graphjson, mermaid
from reconciler.render.palette import SYMBOLS
from tests.hostile import HOSTILE, assert_safe_text
from tests.test_mermaid_render import CORPUS, LARGE


def _chain(names: list[str], statuses: list[Status] | None = None) -> Drawing:
    given_statuses = statuses or [Status.UNCHANGED] * len(names)
    nodes = tuple(
        Node(name, name, "Artifact", status)
        for name, status in zip(names, given_statuses, strict=True)
    )
    links = tuple(Link(a.id, b.id, "ContributedTo") for a, b in pairwise(nodes))
    return Drawing(nodes, links)


# --- the model ----------------------------------------------------------------------------------


def test_a_drawing_refuses_a_link_to_a_node_it_does_not_have() -> None:
    with pytest.raises(ValueError, match="joins a node the drawing does not have"):
        Drawing((Node("a", "a", "Artifact"),), (Link("a", "b"),))


def test_a_drawing_refuses_two_nodes_with_one_id() -> None:
    with pytest.raises(ValueError, match="same id"):
        Drawing((Node("a", "a", "Artifact"), Node("a", "b", "Context")))


def test_a_node_of_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="Artifact, Context, Action"):
        Node("a", "a", "Association")


def test_left_out_says_what_and_how_much() -> None:
    assert LeftOut().sentence() == "Left out of the picture: nothing."
    assert not LeftOut()
    assert (
        LeftOut(nodes=3, links=1, changed_nodes=1, changed_links=1).sentence()
        == "Left out of the picture: 3 entities (1 changed) and 1 edge (all changed)."
    )
    assert LeftOut(links=2).sentence() == "Left out of the picture: 2 edges."
    assert LeftOut(1, 2, 0, 1) + LeftOut(1, 0, 1, 0) == LeftOut(2, 2, 1, 1)


# --- fitting ------------------------------------------------------------------------------------


def test_fit_returns_the_whole_drawing_when_it_fits() -> None:
    drawing = _chain(["a", "b", "c"])
    assert fit(drawing, lambda part: True) is drawing


def test_fit_keeps_changed_nodes_then_the_ends_of_changed_links_then_the_rest() -> None:
    nodes = tuple(Node(name, name, "Artifact") for name in "abcdef")
    nodes = (*nodes[:4], Node("e", "e", "Artifact", Status.DELETED), nodes[5])
    links = (
        Link("a", "b"),
        Link("c", "d", status=Status.CREATED),
        Link("d", "e"),
    )
    drawing = Drawing(nodes, links)
    kept = fit(drawing, lambda part: len(part.nodes) <= 3)
    assert [node.id for node in kept.nodes] == ["c", "d", "e"]  # in the drawing's order
    assert kept.links == (links[1], links[2])
    assert kept.left_out == LeftOut(nodes=3, links=1)
    only = fit(drawing, lambda part: len(part.nodes) <= 1)
    assert [node.id for node in only.nodes] == ["e"]
    assert only.left_out == LeftOut(nodes=5, links=3, changed_links=1)


def test_fit_keeps_changed_links_first_within_a_number_of_links() -> None:
    names = [f"x{i}" for i in range(6)]
    nodes = tuple(Node(name, name, "Artifact") for name in names)
    links = tuple(
        Link(a, b, status=Status.CREATED if i == 4 else Status.UNCHANGED)
        for i, (a, b) in enumerate(pairwise(names))
    )
    kept = fit(Drawing(nodes, links), lambda part: True, max_links=2)
    assert len(kept.nodes) == 6
    assert kept.links == (links[0], links[4])
    assert kept.left_out == LeftOut(links=3)


def test_fit_adds_to_what_a_drawing_already_left_out() -> None:
    drawing = Drawing(_chain(["a", "b"]).nodes, left_out=LeftOut(nodes=7))
    assert fit(drawing, lambda part: len(part.nodes) <= 1).left_out == LeftOut(nodes=8)


def test_fit_may_keep_nothing() -> None:
    kept = fit(_chain(["a", "b"]), lambda part: False)
    assert kept.nodes == () and kept.links == ()
    assert kept.left_out == LeftOut(nodes=2, links=1)


# --- Mermaid text -------------------------------------------------------------------------------


#: A node line: a generated id, an opening bracket, a quoted label of plain characters and
#: entities, the closing bracket; and so on for the other lines we write.
_LABEL = r'"(?:[A-Za-z0-9./-]| (?! )|#\d+;)*"'
_SHAPES = "|".join(
    re.escape(opening) + _LABEL + re.escape(closing) for opening, closing in mermaid.SHAPES.values()
)
_LINE = re.compile(
    rf"flowchart LR|  n\d+(?:{_SHAPES})"
    rf"|  n\d+ (?:-->|==>|-\.->)(?:\|{_LABEL}\|)? n\d+"
    rf"|  omitted\[{_LABEL}\]"
    r"|  classDef [a-z]+ [a-z0-9:#,. -]+|  class n\d+(?:,n\d+)* [a-z]+"
    r"|  linkStyle \d+(?:,\d+)* [a-z0-9:#,-]+|  style omitted [a-z0-9:#,. -]+"
)


def test_every_line_of_mermaid_is_ours_whatever_the_names() -> None:
    """No name reaches the diagram but as plain characters and numeric entities in a quoted label:
    every line matches what we write."""
    nodes = tuple(
        Node(f"id {name}", name, NODE_KINDS[i % 6], list(Status)[i % 6])
        for i, name in enumerate(CORPUS)
    )
    links = tuple(Link(a.id, b.id, b.label, b.status, a.label) for a, b in pairwise(nodes))
    text = mermaid.render(Drawing(nodes, links, LeftOut(nodes=1)))
    assert text.isascii()
    for line in text.splitlines():
        assert _LINE.fullmatch(line), line


def test_node_ids_are_generated_never_taken_from_names() -> None:
    drawing = Drawing((Node("end", "end", "Artifact"), Node("n0", "graph", "Context")))
    text = mermaid.render(drawing)
    assert '  n0["end"]' in text and '  n1{{"graph"}}' in text
    assert "end[" not in text and "n0{{" not in text


def test_a_label_is_shown_with_its_status_symbol() -> None:
    drawing = Drawing((Node("a", "churn-model", "Artifact", Status.REPLACED),))
    assert '  n0["-/#43; churn-model"]' in mermaid.render(drawing)
    assert SYMBOLS[Status.REPLACED] == "-/+ "


@settings(max_examples=40, deadline=None)
@given(budget=st.integers(min_value=400, max_value=60_000))
def test_mermaid_stays_within_any_budget_and_mermaids_limits(budget: int) -> None:
    text = mermaid.render(LARGE, budget=budget)
    assert len(text) <= min(budget, mermaid.MAX_TEXT_SIZE)
    assert len(re.findall(r" (?:-->|==>|-\.->)", text)) <= mermaid.MAX_EDGES
    assert "n0" in text or "omitted" in text


def test_mermaid_may_exceed_a_budget_only_for_its_note() -> None:
    text = mermaid.render(LARGE, budget=10)
    assert text.startswith("flowchart LR\n  omitted[")
    assert ' n0["' not in text


# --- DOT, as Graphviz reads it ------------------------------------------------------------------


def _graphviz_svg(source: str) -> ET.Element:
    binary = shutil.which("dot")
    assert binary, "Graphviz renders the DOT tests: apt-get install graphviz (.ci/run does)"
    result = subprocess.run(
        [binary, "-Tsvg"], input=source, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and not result.stderr, result.stderr
    return ET.fromstring(result.stdout)


_SVG = "{http://www.w3.org/2000/svg}"


def _spaces(text: str) -> str:
    return text.replace("\u00a0", " ")


def _dot_texts(svg: ET.Element, group_class: str) -> dict[str, str]:
    """Each node's (or edge's) title (`n0`, `n0->n1`) -> its label's text (with no-break
    spaces as spaces: Graphviz writes a run of spaces with them, to keep it)."""
    found: dict[str, str] = {}
    for group in svg.iter(f"{_SVG}g"):
        if group.get("class") == group_class:
            title = group.find(f"{_SVG}title")
            texts = ["".join(t.itertext()) for t in group.iter(f"{_SVG}text")]
            assert title is not None and title.text is not None
            found[title.text] = _spaces("".join(texts))
    return found


def test_dot_labels_come_out_as_their_text_in_graphviz() -> None:
    nodes = tuple(
        Node(f"id {name}", name, NODE_KINDS[i % 6], list(Status)[i % 6])
        for i, name in enumerate(CORPUS)
    )
    links = tuple(Link(a.id, b.id, b.label, b.status) for a, b in pairwise(nodes))
    svg = _graphviz_svg(dot.render(Drawing(nodes, links)))
    assert _dot_texts(svg, "node") == {
        f"n{i}": _spaces(SYMBOLS[node.status] + shown_label(node.label))
        for i, node in enumerate(nodes)
    }
    assert _dot_texts(svg, "edge") == {
        f"n{i}->n{i + 1}": _spaces(shown_label(link.label)) for i, link in enumerate(links)
    }


def test_dot_quotes_what_graphviz_would_read_as_syntax_or_escapes() -> None:
    assert dot.quoted('a "b" \\N \\l &amp; c') == '"a \\"b\\" \\\\N \\\\l &amp;amp; c"'


def test_dot_with_a_budget_keeps_the_changed_part_and_a_note() -> None:
    source = dot.render(LARGE, budget=4_000)
    assert len(source) <= 4_000
    svg = _graphviz_svg(source)
    labels = _dot_texts(svg, "node")
    assert "+ churn-dataset-00003" in labels.values()
    assert labels["omitted"].startswith("Left out of the picture: ")


# --- JSON ---------------------------------------------------------------------------------------


def test_json_form_of_a_drawing() -> None:
    drawing = Drawing(
        (Node("a", HOSTILE[0], "Artifact", Status.CREATED), Node("b", "b", "External")),
        (Link("a", "b", "Produced", Status.DELETED, "edge"),),
        LeftOut(nodes=2),
    )
    text = graphjson.render(drawing)
    assert_safe_text(text)
    assert json.loads(text) == {
        "format_version": "1.0",
        "kind": "reconciler-graph",
        "nodes": [
            {"id": "a", "label": HOSTILE[0], "kind": "Artifact", "status": "created"},
            {"id": "b", "label": "b", "kind": "External", "status": "unchanged"},
        ],
        "links": [
            {
                "source": "a",
                "destination": "b",
                "label": "Produced",
                "status": "deleted",
                "name": "edge",
            }
        ],
        "left_out": {"nodes": 2, "links": 0, "changed_nodes": 0, "changed_links": 0},
    }
