"""What we draw is checked by Mermaid itself: every diagram here is rendered by Mermaid (pinned in
tests/js/package-lock.json) in Debian's chromium, all in one browser, and the rendered SVG is read
back: a diagram Mermaid refuses fails, and each label must come out as the text it stands for."""

from __future__ import annotations

import re
from itertools import pairwise

import pytest

from reconciler.drawing import NODE_KINDS, Drawing, LeftOut, Link, Node, Status
from reconciler.plan import compute_plan
from reconciler.render import markdown, mermaid
from reconciler.render.palette import SYMBOLS
from tests.helpers import recorded
from tests.hostile import HOSTILE
from tests.jsdeps import Rendered, render_mermaid
from tests.test_graph import example_created, readme_charts
from tests.test_plan import spec

#: Names that Mermaid would read as syntax, or that its renderer would change, were they raw.
MERMAID_HOSTILE: tuple[str, ...] = (
    'say "hi"',
    "it's",
    "a[b]{c}(d)>e<f",
    "[[sub]]",
    "{{hex}}",
    "([stadium])",
    "((circle))",
    ">flag]",
    "%% a comment",
    '%%{init: {"theme": "dark", "securityLevel": "loose"}}%%',
    "x --> y",
    "x -.-> y ==> z --- w",
    "a --o b --x c",
    "|edge label|",
    "end",
    "graph",
    "flowchart LR",
    "subgraph",
    "click",
    'click n0 call alert("x")',
    "style",
    "classDef",
    "linkStyle 0 stroke:red",
    "n0",
    "default",
    "#quot;",
    "#35;",
    "#lt;script#gt;",
    "#9829;",
    "\ufb02\u00b0\u00b035\u00b6\u00df",
    "\ufb02\u00b0lt\u00b6\u00df",
    "a;b; c",
    "<b>bold</b> &amp; <i>it</i>",
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "**bold** _it_ ~~struck~~ [link](https://example.com)",
    "# heading",
    "- item",
    "1. item",
    "`code`",
    "naïve café ✓ 日本語 😀",
    "\u05e2\u05d1\u05e8\u05d9\u05ea",
    "  leading and  double  spaces ",
    " ",
    "\\backslash\\n",
    "x" * 300,
    "é" * 100,
    "line\nbreak",
    "tab\there",
    "a\u2028b",
)
CORPUS: tuple[str, ...] = HOSTILE + MERMAID_HOSTILE


def _hostile_drawing() -> Drawing:
    """Every hostile name as a node (each kind and status in turn), joined in a chain whose edges
    are labelled with the names too."""
    kinds, statuses = NODE_KINDS, list(Status)
    nodes = tuple(
        Node(f"node {name}", name, kinds[i % len(kinds)], statuses[i % len(statuses)])
        for i, name in enumerate(CORPUS)
    )
    links = tuple(
        Link(a.id, b.id, label=CORPUS[i], status=statuses[i % len(statuses)])
        for i, (a, b) in enumerate(pairwise(nodes))
    )
    return Drawing(nodes, links)


def _every_kind_and_status() -> Drawing:
    """One node of each kind, unchanged; one of each status, artifacts; one link of each status."""
    kinds = tuple(Node(f"k-{kind}", kind, kind) for kind in NODE_KINDS)
    statuses = tuple(Node(f"s-{status}", status.value, "Artifact", status) for status in Status)
    links = tuple(
        Link(f"k-{NODE_KINDS[0]}", node.id, "ContributedTo", node.status) for node in statuses
    )
    return Drawing(kinds + statuses, links)


def _large_drawing(size: int) -> Drawing:
    """`size` unchanged artifacts in a chain, with a few created, deleted and replaced ones and a
    created edge joining two unchanged ones (the edge and its two ends are the changed part)."""
    nodes = [Node(f"a{i}", f"churn-dataset-{i:05d}", "Artifact") for i in range(size)]
    for i, status in (
        (3, Status.CREATED),
        (size // 2, Status.DELETED),
        (size - 1, Status.REPLACED),
    ):
        nodes[i] = Node(nodes[i].id, nodes[i].label, "Artifact", status)
    links = [Link(f"a{i}", f"a{i + 1}", "ContributedTo") for i in range(size - 1)]
    links.append(Link("a10", "a20", "DerivedFrom", Status.CREATED, name="new-edge"))
    return Drawing(tuple(nodes), tuple(links))


LARGE = _large_drawing(1_200)
BROKEN = 'flowchart LR\n  n0[["unclosed"]\n'
TOO_MANY_EDGES = "flowchart LR\n" + "".join(f"  n{i} --> n{i + 1}\n" for i in range(501))
TOO_LONG = "flowchart LR\n" + "".join(f"  n{i}[{'x' * 40}]\n" for i in range(1_300))


def _chart_in_a_markdown_plan() -> str:
    """The flowchart of a markdown plan (a pull-request comment) of a budget too small for all."""
    plan = compute_plan({"churn-dataset-00003": spec("churn-dataset-00003")}, recorded({}))
    output = markdown.render_plan(plan, budget=12_000, drawing=LARGE)
    (chart,) = re.findall(r"```mermaid\n(.*?)```\n", output, re.DOTALL)
    return str(chart)


@pytest.fixture(scope="module")
def rendered() -> dict[str, Rendered]:
    diagrams = {
        "hostile": mermaid.render(_hostile_drawing()),
        "kinds": mermaid.render(_every_kind_and_status()),
        "large": mermaid.render(LARGE),
        "small budget": mermaid.render(LARGE, budget=3_000),
        "in a comment": _chart_in_a_markdown_plan(),
        "example created": mermaid.render(example_created()),
        **{f"readme {i}": chart for i, chart in enumerate(readme_charts())},
        "broken": BROKEN,
        "too many edges": TOO_MANY_EDGES,
        "too long": TOO_LONG,
    }
    version, results = render_mermaid(list(diagrams.values()))
    assert version.startswith("11."), version  # GitHub renders with Mermaid 11
    return dict(zip(diagrams, results, strict=True))


def _ids(drawing: Drawing) -> dict[str, str]:
    return {node.id: f"n{index}" for index, node in enumerate(drawing.nodes)}


# --- what Mermaid refuses, we see ---------------------------------------------------------------


def test_a_diagram_mermaid_cannot_parse_is_detected(rendered: dict[str, Rendered]) -> None:
    assert rendered["broken"].svg is None
    assert "Parse error" in str(rendered["broken"].error)


def test_mermaids_own_limits_are_detected(rendered: dict[str, Rendered]) -> None:
    assert len(TOO_MANY_EDGES) < mermaid.MAX_TEXT_SIZE < len(TOO_LONG)
    assert "Edge limit exceeded" in str(rendered["too many edges"].error)
    assert "Maximum text size" in str(rendered["too long"].error)


# --- labels come out as the text ----------------------------------------------------------------


def test_every_hostile_label_comes_out_as_its_text(rendered: dict[str, Rendered]) -> None:
    drawing = _hostile_drawing()
    ids = _ids(drawing)
    nodes = rendered["hostile"].node_labels()
    assert nodes == {
        ids[node.id]: SYMBOLS[node.status] + mermaid.shown(node.label) for node in drawing.nodes
    }
    edges = rendered["hostile"].edge_labels()
    assert edges == {
        (ids[link.source], ids[link.destination]): mermaid.shown(link.label)
        for link in drawing.links
    }


#: The hostile names a reader sees otherwise than as themselves (see the test below).
SHOWN_OTHERWISE = {
    "\ufb02\u00b0\u00b035\u00b6\u00df",
    "\ufb02\u00b0lt\u00b6\u00df",
    "x" * 300,
    "é" * 100,
    "line\nbreak",
    "tab\there",
    "a\u2028b",
}


def test_shown_text_is_the_text_but_for_what_cannot_be_shown_as_itself() -> None:
    """The comparison above is not vacuous: what a reader sees is the name itself, but for
    control characters, Mermaid's entity markers, and long names cut short."""
    assert set(MERMAID_HOSTILE) >= SHOWN_OTHERWISE
    for name in MERMAID_HOSTILE:
        assert (mermaid.shown(name) == name) is (name not in SHOWN_OTHERWISE), name
    assert mermaid.shown("x" * 300) == "x" * 63 + "\u2026"
    assert mermaid.shown("a\u2028b") == "a\\u2028b"
    assert mermaid.shown("\ufb02\u00b0lt\u00b6\u00df") == "\\ufb02\u00b0lt\\u00b6\u00df"


# --- kinds and statuses drawn apart -------------------------------------------------------------


def _shape(rendered: Rendered, node_id: str) -> str:
    """What a node is drawn with: the tag of its first drawn element, and a polygon's corners."""
    for group in rendered.root().iter("{http://www.w3.org/2000/svg}g"):
        if group.get("id", "").endswith(f"-flowchart-{node_id}-{node_id[1:]}"):
            first = group[0]
            points = len(first.get("points", "").split())
            return f"{first.tag.rsplit('}', 1)[1]}/{points}/{first.get('class', '')}"
    raise AssertionError(f"no node {node_id}")


def test_each_kind_has_its_own_shape(rendered: dict[str, Rendered]) -> None:
    shapes = [_shape(rendered["kinds"], f"n{index}") for index in range(len(NODE_KINDS))]
    assert len(set(shapes)) == len(NODE_KINDS), shapes


def test_each_status_has_its_own_class_and_link_style(rendered: dict[str, Rendered]) -> None:
    drawing = _every_kind_and_status()
    ids = _ids(drawing)
    classes = rendered["kinds"].node_classes()
    for node in drawing.nodes:
        assert node.status.value in classes[ids[node.id]]
    edges = rendered["kinds"].edge_classes()
    pattern = {(ids[link.source], ids[link.destination]): link.status for link in drawing.links}
    dotted = {key for key, value in edges.items() if "edge-pattern-dotted" in value}
    thick = {key for key, value in edges.items() if "edge-thickness-thick" in value}
    assert {pattern[key] for key in dotted} == {Status.DELETED, Status.ORPHAN}
    assert {pattern[key] for key in thick} == {Status.CREATED, Status.REPLACED}


# --- within Mermaid's limits and a budget -------------------------------------------------------


def test_a_large_drawing_keeps_the_changed_part_within_mermaids_limits(
    rendered: dict[str, Rendered],
) -> None:
    text = mermaid.render(LARGE)
    assert len(text) <= mermaid.MAX_TEXT_SIZE
    assert text.count(" --> ") + text.count(" ==>") + text.count(" -.->") <= mermaid.MAX_EDGES
    nodes = rendered["large"].node_labels()
    for label in ("+ churn-dataset-00003", "- churn-dataset-00600", "-/+ churn-dataset-01199"):
        assert label in nodes.values()
    assert {"churn-dataset-00010", "churn-dataset-00020"} <= set(nodes.values())
    assert nodes["omitted"].startswith("Left out of the picture: ")
    assert "DerivedFrom" in rendered["large"].edge_labels().values()


def test_a_small_budget_keeps_the_changed_part_and_says_what_was_left_out(
    rendered: dict[str, Rendered],
) -> None:
    text = mermaid.render(LARGE, budget=3_000)
    assert len(text) <= 3_000
    nodes = rendered["small budget"].node_labels()
    changed = {"+ churn-dataset-00003", "- churn-dataset-00600", "-/+ churn-dataset-01199"}
    assert changed <= set(nodes.values())
    edges = rendered["small budget"].edge_labels()
    left_out = LeftOut(
        nodes=len(LARGE.nodes) - (len(nodes) - 1),  # the note is a node too
        links=len(LARGE.links) - len(edges),
        changed_links=0 if "DerivedFrom" in edges.values() else 1,
    )
    assert nodes["omitted"] == left_out.sentence()
    assert left_out.nodes > 1_000


def test_the_chart_of_a_markdown_plan_renders_with_the_changed_part(
    rendered: dict[str, Rendered],
) -> None:
    nodes = rendered["in a comment"].node_labels()
    assert {"+ churn-dataset-00003", "- churn-dataset-00600"} <= set(nodes.values())
    assert nodes["omitted"].startswith("Left out of the picture: ")


def test_the_readmes_pictures_render(rendered: dict[str, Rendered]) -> None:
    charts = [value for key, value in rendered.items() if key.startswith("readme ")]
    assert charts
    for chart in charts:
        assert chart.svg is not None, chart.error
    declared = charts[0].node_labels()
    assert declared["n7"] == "churn-model"
    assert declared["n11"] == "churn-xgboost-v3-2026-11-02-10-14-03-aws-training-job"
    assert set(charts[0].edge_labels().values()) == {"ContributedTo", "Produced"}


def test_the_plan_of_the_example_renders_every_kind(rendered: dict[str, Rendered]) -> None:
    drawing = example_created()
    ids = _ids(drawing)
    assert rendered["example created"].node_labels() == {
        ids[node.id]: SYMBOLS[node.status] + node.label for node in drawing.nodes
    }
