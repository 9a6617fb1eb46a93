"""Drawings built from a plan and from the declared graph, and the graph in the markdown plan."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli
from reconciler.drawing import (
    Drawing,
    Link,
    Node,
    Status,
    from_declared,
    from_plan,
)
from reconciler.lockfile import Edge, Entry, Lockfile
from reconciler.manifest import load_target_manifests
from reconciler.plan import compute_plan
from reconciler.render import markdown, mermaid
from reconciler.render import targets as multi
from reconciler.targets import TargetContext
from tests.helpers import arn_for, association_doc, manifest_doc, recorded, write_manifests
from tests.hostile import HOSTILE, assert_safe_markdown
from tests.test_plan import spec

TRIAL = (
    "arn:aws:sagemaker:eu-west-1:123456789012:experiment-trial-component/"
    "churn-train-2026-11-aws-training-job"
)


def _edge(source: str, destination: str, kind: str = "ContributedTo") -> dict[str, Any]:
    return {"Source": source, "Destination": destination, "AssociationType": kind}


def _by_kind(
    artifacts: dict[str, dict[str, Any]],
    edges: dict[str, dict[str, Any]] | None = None,
    contexts: dict[str, dict[str, Any]] | None = None,
    actions: dict[str, dict[str, Any]] | None = None,
) -> dict[str, dict[str, dict[str, Any]]]:
    return {
        "Artifact": artifacts,
        "Context": contexts or {},
        "Action": actions or {},
        "Association": edges or {},
    }


DEMO = _by_kind(
    {"data": spec("data"), "image": spec("image"), "model": spec("model")},
    {
        "data-to-model": _edge("data", "model"),
        "image-to-model": _edge("image", "model"),
        "model-to-approval": _edge("model", "approval", "AssociatedWith"),
        "approval-to-endpoint": _edge("approval", "endpoint"),
        "training-to-model": _edge(TRIAL, "model", "Produced"),
    },
    contexts={"endpoint": {"ContextName": "endpoint", "ContextType": "Endpoint"}},
    actions={"approval": {"ActionName": "approval", "ActionType": "ModelApproval"}},
)


def _nodes(drawing: Drawing) -> dict[str, tuple[str, Status]]:
    return {node.id: (node.kind, node.status) for node in drawing.nodes}


def _links(drawing: Drawing) -> set[tuple[str, str, str, Status]]:
    return {(lk.source, lk.destination, lk.label, lk.status) for lk in drawing.links}


# --- from_declared ------------------------------------------------------------------------------


def test_the_declared_graph_draws_every_entity_and_edge() -> None:
    drawing = from_declared(DEMO)
    assert _nodes(drawing) == {
        "data": ("Artifact", Status.DECLARED),
        "image": ("Artifact", Status.DECLARED),
        "model": ("Artifact", Status.DECLARED),
        "endpoint": ("Context", Status.DECLARED),
        "approval": ("Action", Status.DECLARED),
        TRIAL: ("TrialComponent", Status.UNCHANGED),
    }
    assert ("model", "approval", "AssociatedWith", Status.DECLARED) in _links(drawing)
    assert len(drawing.links) == 5
    assert [n.label for n in drawing.nodes if n.id == TRIAL] == [
        "churn-train-2026-11-aws-training-job"
    ]


@pytest.mark.parametrize(
    ("depth", "expected"),
    [
        (0, {"approval"}),
        (1, {"approval", "model", "endpoint"}),
        (2, {"approval", "model", "endpoint", "data", "image", TRIAL}),
    ],
)
def test_around_a_name_draws_what_is_within_depth_edges_either_way(
    depth: int, expected: set[str]
) -> None:
    drawing = from_declared(DEMO, around="approval", depth=depth)
    assert set(_nodes(drawing)) == expected
    assert all({lk.source, lk.destination} <= expected for lk in drawing.links)


def test_around_an_undeclared_name_is_refused() -> None:
    with pytest.raises(KeyError):
        from_declared(DEMO, around="modle")


# --- from_plan ----------------------------------------------------------------------------------


def test_a_plan_draws_what_changes_and_its_unchanged_neighbours() -> None:
    lock = recorded({"data": spec("data"), "image": spec("image"), "model": spec("model")})
    desired = dict(DEMO)
    desired["Artifact"] = {**DEMO["Artifact"], "model": spec("model", Properties={"v": "2"})}
    plan = compute_plan(desired["Artifact"], lock)
    drawing = from_plan(plan, desired, lock)
    assert _nodes(drawing) == {
        "model": ("Artifact", Status.UPDATED),
        "data": ("Artifact", Status.UNCHANGED),
        "image": ("Artifact", Status.UNCHANGED),
        "approval": ("Action", Status.UNCHANGED),
        TRIAL: ("TrialComponent", Status.UNCHANGED),
    }
    assert ("data", "model", "ContributedTo", Status.UNCHANGED) in _links(drawing)
    assert len(drawing.links) == 4  # approval -> endpoint is two hops away
    assert drawing.nodes[0].id == "model"  # what changes comes first


def test_a_recorded_arn_end_is_drawn_as_the_entity_it_names() -> None:
    lock = recorded({"data": spec("data"), "model": spec("model")})
    desired = _by_kind(
        {"data": spec("data", Properties={"v": "2"}), "model": spec("model")},
        {"e": _edge(arn_for("data"), "model")},
    )
    drawing = from_plan(compute_plan(desired["Artifact"], lock), desired, lock)
    assert _links(drawing) == {("data", "model", "ContributedTo", Status.UNCHANGED)}
    assert _nodes(drawing)["data"] == ("Artifact", Status.UPDATED)


def test_a_plan_with_no_changes_draws_nothing() -> None:
    lock = recorded({"data": spec("data")})
    desired = _by_kind({"data": spec("data")})
    assert from_plan(compute_plan(desired["Artifact"], lock), desired, lock) == Drawing()


# --- the graph in the markdown plan -------------------------------------------------------------


def _changed_graph(size: int = 3, names: tuple[str, ...] = ()) -> tuple[Drawing, Any]:
    labels = list(names) or [f"churn-dataset-{i:04d}" for i in range(size)]
    nodes = tuple(
        Node(f"id{i}", label, "Artifact", Status.CREATED if i % 2 else Status.UNCHANGED)
        for i, label in enumerate(labels)
    )
    links = tuple(
        Link(f"id{i}", f"id{i + 1}", "ContributedTo", Status.CREATED) for i in range(len(nodes) - 1)
    )
    desired = {label: spec(label) for label in labels}
    plan = compute_plan(desired, recorded({}))
    return Drawing(nodes, links), plan


def _mermaid_blocks(output: str) -> list[str]:
    return re.findall(r"```mermaid\n(.*?)```\n", output, re.DOTALL)


def test_the_markdown_plan_draws_the_graph_first() -> None:
    drawing, plan = _changed_graph()
    output = markdown.render_plan(plan, drawing=drawing)
    assert _mermaid_blocks(output) == [mermaid.render(drawing)]
    assert output.index("```mermaid") < output.index("<b>+ create</b>")
    assert markdown.GRAPH_LEGEND in output
    assert_safe_markdown(output)


def test_a_drawing_without_edges_is_not_drawn() -> None:
    drawing, plan = _changed_graph()
    output = markdown.render_plan(plan, drawing=Drawing(drawing.nodes))
    assert "```mermaid" not in output
    assert output == markdown.render_plan(plan)


@pytest.mark.parametrize("budget", [4_000, 8_000, 20_000, 60_000])
def test_the_graph_takes_at_most_a_third_of_the_budget(budget: int) -> None:
    drawing, plan = _changed_graph(600)
    output = markdown.render_plan(plan, budget=budget, drawing=drawing)
    assert len(output) <= budget
    section = output[output.index("<details open>") : output.index("</details>")]
    assert len(section) <= budget // 3
    (chart,) = _mermaid_blocks(output)
    assert '  omitted["Left out of the picture#58; ' in chart
    assert_safe_markdown(output)


def test_a_graph_too_large_for_its_share_is_replaced_by_a_sentence() -> None:
    drawing, plan = _changed_graph(50)
    output = markdown.render_plan(plan, budget=1_500, drawing=drawing)
    assert "```mermaid" not in output
    assert "too large to draw here" in output
    assert len(output) <= 1_500


def test_hostile_names_in_the_graph_leave_the_markdown_safe() -> None:
    drawing, plan = _changed_graph(names=HOSTILE)
    output = markdown.render_plan(plan, drawing=drawing)
    assert_safe_markdown(output)
    (chart,) = _mermaid_blocks(output)
    assert chart.isascii() and "`" not in chart


def _target(name: str) -> TargetContext:
    return TargetContext(name, "123456789012", "eu-west-1", (Path("manifests"),), Path(name))


def test_each_target_of_a_multi_target_plan_gets_its_graph() -> None:
    drawing, plan = _changed_graph()
    plans = [(_target("staging"), plan), (_target("prod"), plan)]
    output = multi.render_plans_markdown(plans, drawings={"prod": drawing})
    assert len(_mermaid_blocks(output)) == 1
    assert output.index("```mermaid") > output.index("prod</code> (account")
    assert_safe_markdown(output)


# --- reconciler graph ---------------------------------------------------------------------------


def _graph(*args: str) -> Result:
    return CliRunner().invoke(cli, ["graph", *args], catch_exceptions=False)


def test_graph_draws_the_declared_manifests_in_each_format(repo: Path) -> None:
    write_manifests(repo / "manifests", manifest_doc("churn-data"), manifest_doc("churn-model"))
    result = _graph()
    assert result.exit_code == 0, result.output
    assert result.output.startswith("flowchart LR\n")
    assert '  n0["churn-data"]' in result.output and '  n1["churn-model"]' in result.output
    document = json.loads(_graph("--format", "json").output)
    assert document["kind"] == "reconciler-graph"
    assert [node["id"] for node in document["nodes"]] == ["churn-data", "churn-model"]
    assert {node["status"] for node in document["nodes"]} == {"declared"}
    assert _graph("--format", "dot").output.startswith("digraph lineage {\n")


def test_graph_around_an_undeclared_name_says_which_it_may_be(repo: Path) -> None:
    write_manifests(repo / "manifests", manifest_doc("churn-model"))
    result = CliRunner().invoke(cli, ["graph", "--around", "churn-modle\x1b[2J"])
    assert result.exit_code == 2
    assert "is not a declared entity; did you mean 'churn-model'?" in result.output
    assert "\x1b" not in result.output


def test_graph_around_an_edge_names_its_ends(repo: Path) -> None:
    write_manifests(
        repo / "manifests",
        manifest_doc("churn-data"),
        manifest_doc("churn-model"),
        association_doc("data-to-model", "churn-data", "churn-model"),
    )
    result = CliRunner().invoke(cli, ["graph", "--around", "data-to-model"])
    assert result.exit_code == 2
    assert (
        "'data-to-model' is an Association, an edge: draw around one of its ends, "
        "'churn-data' or 'churn-model'"
    ) in " ".join(result.output.split())


def test_graph_of_invalid_manifests_reports_them(repo: Path) -> None:
    (repo / "manifests" / "bad.yaml").write_text("kind: Artifact\nmetadata: [\n", "utf-8")
    result = CliRunner().invoke(cli, ["graph"])
    assert result.exit_code == 1
    assert "manifests/bad.yaml:" in result.output


def _lock_with_edges(
    artifacts: dict[str, dict[str, Any]], edges: dict[str, dict[str, Any]]
) -> Lockfile:
    lock = recorded(artifacts)
    recorded_edges = {
        name: Edge(arn_for(spec["Source"]), arn_for(spec["Destination"]), spec)
        for name, spec in edges.items()
    }
    return replace(lock, associations=recorded_edges)


def test_a_plan_draws_created_deleted_and_replaced_edges() -> None:
    artifacts = {name: spec(name) for name in ("data", "image", "model", "old")}
    lock = _lock_with_edges(
        artifacts,
        {
            "kept": _edge("data", "model"),
            "retyped": _edge("image", "model"),
            "moved": _edge("old", "model"),
            "dropped": _edge("old", "image"),
        },
    )
    desired = _by_kind(
        artifacts,
        {
            "kept": _edge("data", "model"),
            "retyped": _edge("image", "model", "DerivedFrom"),
            "moved": _edge("data", "image"),
            "added": _edge("model", "data", "AssociatedWith"),
        },
    )
    plan = compute_plan(desired, lock, prune=True)
    drawing = from_plan(plan, desired, lock)
    assert _links(drawing) == {
        ("image", "model", "DerivedFrom", Status.REPLACED),
        ("old", "model", "ContributedTo", Status.DELETED),  # moved: the old edge goes
        ("data", "image", "ContributedTo", Status.CREATED),  # and the new one comes
        ("old", "image", "ContributedTo", Status.DELETED),
        ("model", "data", "AssociatedWith", Status.CREATED),
    }
    assert {n.id: n.status for n in drawing.nodes} == dict.fromkeys(
        ("data", "image", "model", "old"), Status.UNCHANGED
    )


def test_a_replaced_entity_draws_its_edges_replaced_and_its_neighbours() -> None:
    artifacts = {name: spec(name) for name in ("data", "model", "report")}
    edges = {"d": _edge("data", "model"), "r": _edge("model", "report")}
    lock = _lock_with_edges(artifacts, edges)
    moved = {**artifacts, "model": spec("model", Source={"SourceUri": "s3://acme/moved"})}
    desired = _by_kind(moved, edges)
    drawing = from_plan(compute_plan(desired, lock), desired, lock)
    assert _nodes(drawing)["model"] == ("Artifact", Status.REPLACED)
    assert _links(drawing) == {
        ("data", "model", "ContributedTo", Status.REPLACED),
        ("model", "report", "ContributedTo", Status.REPLACED),
    }


ROOT = Path(__file__).parent.parent
#: The demo: the artifacts of manifests/ and the lineage around them (manifests/churn/lineage/).
DEMO_DIRECTORIES = (ROOT / "manifests",)


def demo_declared() -> dict[str, dict[str, dict[str, Any]]]:
    return load_target_manifests(list(DEMO_DIRECTORIES), {}).by_kind()


def demo_repo(repo: Path) -> None:
    """The demo's manifests in `repo`'s manifests/, both directories in it."""
    for directory in DEMO_DIRECTORIES:
        shutil.copytree(directory, repo / "manifests" / directory.name, dirs_exist_ok=True)


def readme_charts() -> list[str]:
    """The Mermaid blocks of the README, as GitHub shows them."""
    return _mermaid_blocks((ROOT / "README.md").read_text(encoding="utf-8"))


def test_the_readmes_picture_is_what_graph_draws_of_the_demo(repo: Path) -> None:
    demo_repo(repo)
    result = CliRunner().invoke(cli, ["graph"])
    assert result.exit_code == 0, result.output
    assert readme_charts()[0] == result.output == mermaid.render(from_declared(demo_declared()))
    assert '{{"churn-endpoint"}}' in result.output  # a context
    assert '(["churn-model-approval"])' in result.output  # an action
    assert '[["churn-xgboost-v3-2026-11-02-10-14-03-aws-training-job"]]' in result.output
    assert result.output.count("-->|") == len(demo_declared()["Association"])


def _applied(desired: Mapping[str, Mapping[str, dict[str, Any]]]) -> Lockfile:
    """A lockfile recording every entity and edge of `desired` as applied."""
    arns = {
        name: arn_for(name, resource=kind.lower())
        for kind in ("Artifact", "Context", "Action")
        for name in desired[kind]
    }

    def entries(kind: str) -> dict[str, Entry]:
        return {name: Entry(arns[name], dict(spec)) for name, spec in desired[kind].items()}

    edges = {
        name: Edge(arns.get(s["Source"], s["Source"]), arns[s["Destination"]], dict(s))
        for name, s in desired["Association"].items()
    }
    return replace(
        recorded({}),
        artifacts=entries("Artifact"),
        contexts=entries("Context"),
        actions=entries("Action"),
        associations=edges,
    )


def example_plan_chart() -> str:
    """The flowchart a pull request's comment shows for a change to the demo: the model
    retrained (a new Source: replaced), and a model card added below it."""
    desired = demo_declared()
    lock = _applied(desired)
    model = {**desired["Artifact"]["churn-model"], "Source": {"SourceUri": "s3://acme/v4.tar.gz"}}
    card = spec("churn-model-card", ArtifactType="Report")
    desired["Artifact"] |= {"churn-model": model, "churn-model-card": card}
    desired["Association"]["model-to-card"] = _edge("churn-model", "churn-model-card")
    plan = compute_plan(desired, lock)
    return mermaid.render(from_plan(plan, desired, lock))


def test_the_readmes_second_picture_is_the_comment_of_a_change_to_the_demo() -> None:
    chart = example_plan_chart()
    assert readme_charts()[1] == chart
    assert '["-/#43; churn-model"]' in chart and '["#43; churn-model-card"]' in chart
    assert "churn-raw-events" not in chart  # two edges away from what changes


def example_created() -> Drawing:
    """The drawing of a plan of the demo with nothing applied yet."""
    desired = demo_declared()
    return from_plan(compute_plan(desired, recorded({})), desired, recorded({}))


def plan_comment_of_the_example(repo: Path) -> str:
    """`plan --format markdown` of the demo with nothing applied yet."""
    demo_repo(repo)
    result = CliRunner().invoke(cli, ["plan", "--format", "markdown"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_plan_comment_draws_the_graph_it_creates(repo: Path) -> None:
    output = plan_comment_of_the_example(repo)
    (chart,) = _mermaid_blocks(output)
    expected = example_created()
    assert chart == mermaid.render(expected)
    assert {node.status for node in expected.nodes} == {Status.CREATED, Status.UNCHANGED}
    assert len(expected.links) == len(demo_declared()["Association"])
    assert '["#43; churn-train-data"]' in chart
    assert_safe_markdown(output)
