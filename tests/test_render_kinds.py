"""Plans of every kind in text, markdown and JSON: each change names its kind, an edge shows its
ends (and the recorded ARNs when it goes), hostile text stays escaped, --max-length holds."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from reconciler import planfile
from reconciler.lockfile import Edge, Lockfile
from reconciler.plan import Action, Change, Plan, compute_plan
from reconciler.planfile import Mode, plan_digest
from reconciler.render import jsondoc, markdown, text
from tests.hostile import HOSTILE, assert_safe_json, assert_safe_markdown, assert_safe_text
from tests.test_plan_kinds import GRAPH, TRIAL, applied, artifact, context, edge_spec


def _pruned() -> Plan:
    """A context updated, an artifact replaced (so its edges), an edge and an action deleted."""
    lock = applied(GRAPH)
    now = {
        "Artifact": {"data": artifact("data"), "model": artifact("model", ArtifactType="X")},
        "Context": {"endpoint": context("endpoint", Description="new")},
        "Action": {},
        "Association": {
            "data-to-model": GRAPH["Association"]["data-to-model"],
            "job-to-model": GRAPH["Association"]["job-to-model"],
        },
    }
    return compute_plan(now, lock, prune=True)


def test_text_names_the_kind_of_every_change_and_draws_edges() -> None:
    lock = applied(GRAPH)
    output = text.render_plan(_pruned())
    lines = output.splitlines()
    assert lines[0] == (
        "-/+ association data-to-model: data --ContributedTo--> model  "
        "(replace: an association cannot change in place (Destination))"
    )
    note = "its Destination 'model' is replaced or created again: the edge is added to the new one"
    assert f"      note: {note}" in lines
    deleted = lines.index(
        "  - association approval-to-endpoint: approval --AssociatedWith--> endpoint  (delete)"
    )
    assert lines[deleted + 1 : deleted + 3] == [
        f'      - source_arn: "{lock.arn_of("approval")}"',
        f'      - destination_arn: "{lock.arn_of("endpoint")}"',
    ]
    assert "  - association model-to-approval: model --> approval  (delete)" in lines
    assert (
        f"-/+ association job-to-model: {TRIAL} --Produced--> model  (replace: an association cannot change in place (Destination))"
        in lines
    )
    assert "-/+ artifact model  (replace: ArtifactType cannot change in place)" in lines
    assert "  - action approval  (delete)" in lines
    assert "  ~ context endpoint  (update)" in lines
    assert lines[-1] == "Plan: 0 to create, 1 to update, 3 to replace, 3 to delete; 1 unchanged."
    assert_safe_text(output)


def test_no_changes_counts_every_kind() -> None:
    plan = compute_plan(GRAPH, applied(GRAPH))
    expected = "(2 artifacts, 1 context, 1 action, 4 associations)"
    assert text.render_plan(plan) == f"No changes: the lockfile matches the manifests {expected}.\n"
    assert expected in markdown.render_plan(plan)
    assert "(0 artifacts)" in text.render_plan(compute_plan({}, Lockfile()))


def test_markdown_names_kinds_and_edges_inside_its_code_blocks() -> None:
    output = markdown.render_plan(_pruned())
    assert_safe_markdown(output)
    assert (
        "\n-/+ association data-to-model: data --ContributedTo--> model  (an association cannot change in place (Destination))\n"
        in output
    )
    assert "\n- association model-to-approval: model --> approval\n" in output
    assert "\n- action approval\n" in output
    assert "\n~ context endpoint\n" in output


def test_json_gives_every_change_its_kind_and_every_edge_its_ends() -> None:
    plan = _pruned()
    document = assert_safe_json(jsondoc.render_plan(plan))
    kinds = {(c["kind"], c["name"]) for c in document["changes"]}
    assert ("Association", "data-to-model") in kinds and ("Context", "endpoint") in kinds
    assert all(set(c) >= {"kind", "ends"} for c in document["changes"])
    edge = next(c for c in document["changes"] if c["name"] == "model-to-approval")
    lock = applied(GRAPH)
    assert edge["ends"] == [lock.arn_of("model"), lock.arn_of("approval")]
    assert edge["arn"] is None
    assert edge["before"] == {"Destination": "approval", "Source": "model"}
    context_change = next(c for c in document["changes"] if c["name"] == "endpoint")
    assert context_change["ends"] is None
    assert document["summary"]["replace"] == 3
    assert document["summary_by_kind"]["Association"] == {
        "create": 0,
        "update": 0,
        "replace": 2,
        "delete": 2,
        "orphan": 0,
        "unchanged": 0,
    }
    assert document["summary_by_kind"]["Artifact"]["unchanged"] == 1
    assert sum(k["replace"] for k in document["summary_by_kind"].values()) == 3
    # The order is the plan's: edges removed first.
    assert document["changes"][0]["kind"] == "Association"


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_hostile_edge_end_stays_escaped_in_every_format(hostile: str) -> None:
    """An end given as an ARN can hold any character but a line break after its resource."""
    end = TRIAL + hostile.replace("\n", "").replace("\r", "")
    edge = Edge(
        end,
        "arn:aws:sagemaker:eu-west-1:123456789012:artifact/m",
        {"Source": end, "Destination": "model", "AssociationType": "Produced"},
    )
    plan = Plan(
        (
            Change("e", Action.DELETE, before=edge.spec, kind="Association", ends=edge.ends),
            Change(
                "f",
                Action.CREATE,
                after={"Source": "model", "Destination": end},
                kind="Association",
            ),
        ),
        0,
        prune=True,
    )
    assert_safe_text(text.render_plan(plan))
    assert_safe_markdown(markdown.render_plan(plan))
    document = assert_safe_json(jsondoc.render_plan(plan))
    assert document["changes"][0]["ends"][0] == end


def test_max_length_holds_for_a_plan_of_many_edges() -> None:
    edges = {f"edge-{i:04d}": edge_spec(TRIAL + "x" * 150, "model", "Produced") for i in range(600)}
    plan = compute_plan({**GRAPH, "Association": edges}, Lockfile())
    for budget in (2_000, 20_000):
        output = markdown.render_plan(plan, budget=budget)
        assert len(output) <= budget
        assert_safe_markdown(output)
    assert re.search(r"… and \d+ more", markdown.render_plan(plan, budget=2_000))


def test_the_saved_plan_digest_covers_kinds_and_ends() -> None:
    plan = _pruned()
    digest = plan_digest(plan, Mode(prune=True))
    first = plan.changes[0]
    assert first.ends is not None
    other_ends = replace(
        plan, changes=(replace(first, ends=(first.ends[1], first.ends[0])), *plan.changes[1:])
    )
    assert plan_digest(other_ends, Mode(prune=True)) != digest
    other_kind = replace(plan, changes=(replace(first, kind="Context"), *plan.changes[1:]))
    assert plan_digest(other_kind, Mode(prune=True)) != digest
    assert plan_digest(_pruned(), Mode(prune=True)) == digest


def test_a_plan_of_artifacts_keeps_the_digest_it_had_before_other_kinds() -> None:
    plan = compute_plan({"a": artifact("a")}, Lockfile())
    before_kinds = {
        "mode": {"prune": False, "refresh": False, "deep": False},
        "unchanged": 0,
        "changes": [
            {"name": "a", "action": "create", "arn": None, "before": None, "after": artifact("a")}
        ],
    }
    digest_text = json.dumps(before_kinds, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    assert plan_digest(plan, Mode()) == hashlib.sha256(digest_text.encode()).hexdigest()


def test_a_saved_plan_lists_each_change_with_its_kind(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    planfile.save(path, _pruned(), applied(GRAPH), "digest", Mode(prune=True))
    saved = json.loads(path.read_text())
    assert {"name": "endpoint", "action": "update", "kind": "Context"} in saved["changes"]
    assert planfile.load(path).mode == Mode(prune=True)
