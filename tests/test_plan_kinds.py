"""Plans over every kind: contexts and actions compare with their own replace fields; edges are
replaced by any change, by a replaced or re-created end, or by an end whose ARN moved; orphans
and --prune for every kind; the plan lists its changes in level order."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from reconciler.errors import ReconcilerError
from reconciler.graph import (
    EDGES_ADDED,
    EDGES_REMOVED,
    ENTITIES_REMOVED,
    ENTITIES_WRITTEN,
    levels,
)
from reconciler.guards import refuse_emptying
from reconciler.kinds.action import canonical_action
from reconciler.kinds.artifact import canonical_artifact as canonical
from reconciler.kinds.context import canonical_context
from reconciler.lockfile import Edge, Entry, Lockfile
from reconciler.plan import (
    EDGE_ADOPTED_NOTE,
    EDGE_ENDS_NOTE,
    EDGE_UNCERTAIN_NOTE,
    KIND_CHANGED_NOTE,
    UNCERTAIN_NOTE,
    Action,
    Change,
    Plan,
    compute_plan,
)
from tests.helpers import arn_for, recorded

TRIAL = arn_for("job", resource="experiment-trial-component")


def artifact(name: str, **extra: Any) -> dict[str, Any]:
    return canonical(
        name, {"ArtifactType": "Model", "Source": {"SourceUri": f"s3://m/{name}"}, **extra}
    )


def context(name: str, **extra: Any) -> dict[str, Any]:
    return canonical_context(
        name, {"ContextType": "Endpoint", "Source": {"SourceUri": f"s3://e/{name}"}, **extra}
    )


def action(name: str, **extra: Any) -> dict[str, Any]:
    return canonical_action(
        name, {"ActionType": "ModelApproval", "Source": {"SourceUri": f"s3://a/{name}"}, **extra}
    )


def edge_spec(source: str, destination: str, kind: str | None = None) -> dict[str, Any]:
    spec = {"Source": source, "Destination": destination}
    return spec | ({"AssociationType": kind} if kind else {})


def desired(
    artifacts: dict[str, dict[str, Any]] | None = None,
    contexts: dict[str, dict[str, Any]] | None = None,
    actions: dict[str, dict[str, Any]] | None = None,
    edges: dict[str, dict[str, Any]] | None = None,
) -> dict[str, dict[str, dict[str, Any]]]:
    return {
        "Artifact": artifacts or {},
        "Context": contexts or {},
        "Action": actions or {},
        "Association": edges or {},
    }


def ctx_arn(name: str) -> str:
    return arn_for(name, resource="context")


def act_arn(name: str) -> str:
    return arn_for(name, resource="action")


def applied(state: dict[str, dict[str, dict[str, Any]]]) -> Lockfile:
    """The lockfile an apply of `state` leaves (ends resolved to the recorded ARNs)."""
    base = recorded(state["Artifact"])
    contexts = {n: Entry(ctx_arn(s["ContextName"]), s) for n, s in state["Context"].items()}
    actions = {n: Entry(act_arn(s["ActionName"]), s) for n, s in state["Action"].items()}
    lock = replace(base, contexts=contexts, actions=actions)

    def resolve(reference: str) -> str:
        return reference if reference.startswith("arn:") else lock.arn_of(reference) or "?"

    edges = {
        name: Edge(resolve(spec["Source"]), resolve(spec["Destination"]), spec)
        for name, spec in state["Association"].items()
    }
    return replace(lock, associations=edges)


GRAPH = desired(
    artifacts={"data": artifact("data"), "model": artifact("model")},
    contexts={"endpoint": context("endpoint", Description="prod")},
    actions={"approval": action("approval", Status="Completed")},
    edges={
        "data-to-model": edge_spec("data", "model", "ContributedTo"),
        "model-to-approval": edge_spec("model", "approval"),
        "approval-to-endpoint": edge_spec("approval", "endpoint", "AssociatedWith"),
        "job-to-model": edge_spec(TRIAL, "model", "Produced"),
    },
)


def by_name(plan: Plan) -> dict[str, Change]:
    return {change.name: change for change in plan.changes}


def test_a_first_plan_creates_every_kind_and_edges_after_entities() -> None:
    plan = compute_plan(GRAPH, Lockfile())
    assert [(c.kind, c.name, c.action.value) for c in plan.changes] == [
        ("Artifact", "data", "create"),
        ("Artifact", "model", "create"),
        ("Context", "endpoint", "create"),
        ("Action", "approval", "create"),
        ("Association", "approval-to-endpoint", "create"),
        ("Association", "data-to-model", "create"),
        ("Association", "job-to-model", "create"),
        ("Association", "model-to-approval", "create"),
    ]
    assert all(c.ends is None and c.arn is None for c in plan.changes)
    assert plan.summary() == {
        "create": 8,
        "update": 0,
        "replace": 0,
        "delete": 0,
        "orphan": 0,
        "unchanged": 0,
    }
    assert plan.summary_by_kind()["Association"]["create"] == 4
    assert plan.summary_by_kind()["Context"] == {
        "create": 1,
        "update": 0,
        "replace": 0,
        "delete": 0,
        "orphan": 0,
        "unchanged": 0,
    }


def test_an_applied_graph_is_unchanged_and_counted_by_kind() -> None:
    plan = compute_plan(GRAPH, applied(GRAPH))
    assert plan.changes == ()
    assert plan.unchanged == 8
    assert {k: s["unchanged"] for k, s in plan.summary_by_kind().items()} == {
        "Artifact": 2,
        "Context": 1,
        "Action": 1,
        "Association": 4,
    }


@pytest.mark.parametrize(
    ("kind", "name", "changed", "expected", "because"),
    [
        ("Context", "endpoint", {"Description": "staging"}, Action.UPDATE, ()),
        ("Context", "endpoint", {"Properties": {"stage": "prod"}}, Action.UPDATE, ()),
        ("Context", "endpoint", {"ContextType": "Project"}, Action.REPLACE, ("ContextType",)),
        ("Context", "endpoint", {"ContextName": "ep-2"}, Action.REPLACE, ("ContextName",)),
        ("Context", "endpoint", {"Source": {"SourceUri": "s3://x"}}, Action.REPLACE, ("Source",)),
        ("Action", "approval", {"Status": "Failed"}, Action.UPDATE, ()),
        ("Action", "approval", {"Description": "why"}, Action.UPDATE, ()),
        ("Action", "approval", {"ActionType": "Deploy"}, Action.REPLACE, ("ActionType",)),
        (
            "Action",
            "approval",
            {"MetadataProperties": {"Repository": "r"}},
            Action.REPLACE,
            ("MetadataProperties",),
        ),
        ("Action", "approval", {"ActionName": "ok-2"}, Action.REPLACE, ("ActionName",)),
    ],
)
def test_contexts_and_actions_compare_with_their_own_replace_fields(
    kind: str, name: str, changed: dict[str, Any], expected: Action, because: tuple[str, ...]
) -> None:
    new = {**GRAPH[kind][name], **changed}
    plan = compute_plan({**GRAPH, kind: {**GRAPH[kind], name: new}}, applied(GRAPH))
    change = by_name(plan)[name]
    assert (change.kind, change.action, change.replace_because) == (kind, expected, because)
    assert change.arn == applied(GRAPH).arn_of(name)
    assert change.fields  # what differs is shown


def test_an_artifacts_replace_fields_are_its_own() -> None:
    """ArtifactName updates in place for an artifact; ContextName replaces a context."""
    renamed = {**GRAPH["Artifact"]["data"], "ArtifactName": "data-2"}
    plan = compute_plan(
        {**GRAPH, "Artifact": {**GRAPH["Artifact"], "data": renamed}}, applied(GRAPH)
    )
    assert by_name(plan)["data"].action is Action.UPDATE
    assert "data-to-model" not in by_name(plan)  # an update keeps the ARN: the edge stays


def test_any_change_to_an_edge_replaces_it() -> None:
    lock = applied(GRAPH)
    for changed in (
        edge_spec("data", "model", "DerivedFrom"),  # its type
        edge_spec("data", "model"),  # its type removed
        edge_spec("approval", "model", "ContributedTo"),  # its source
    ):
        plan = compute_plan(
            {**GRAPH, "Association": {**GRAPH["Association"], "data-to-model": changed}}, lock
        )
        change = by_name(plan)["data-to-model"]
        assert change.action is Action.REPLACE
        assert change.kind == "Association"
        assert change.ends == lock.associations["data-to-model"].ends
        assert change.before == GRAPH["Association"]["data-to-model"]
        assert change.after == changed
        assert change.arn is None
    assert by_name(plan)["data-to-model"].replace_because == ("Source",)


def test_an_edge_to_a_replaced_entity_is_replaced_and_the_others_stay() -> None:
    new_model = artifact("model", ArtifactType="Checkpoint")  # a replace field
    plan = compute_plan(
        {**GRAPH, "Artifact": {**GRAPH["Artifact"], "model": new_model}}, applied(GRAPH)
    )
    changes = by_name(plan)
    assert changes["model"].action is Action.REPLACE
    for name, end in (
        ("data-to-model", "Destination"),
        ("model-to-approval", "Source"),
        ("job-to-model", "Destination"),
    ):
        assert changes[name].action is Action.REPLACE, name
        assert changes[name].replace_because == (end,)
        assert changes[name].notes == (
            f"its {end} 'model' is replaced or created again: the edge is added to the new one",
        )
        assert changes[name].fields == ()  # the spec is the same
    assert "approval-to-endpoint" not in changes
    assert plan.unchanged_by_kind["Association"] == 1


def test_an_edge_to_a_replaced_context_or_action_is_replaced() -> None:
    new_endpoint = context("endpoint", ContextType="Project", Description="prod")
    plan = compute_plan({**GRAPH, "Context": {"endpoint": new_endpoint}}, applied(GRAPH))
    assert by_name(plan)["approval-to-endpoint"].replace_because == ("Destination",)
    new_approval = action("approval", ActionType="Deploy", Status="Completed")
    plan = compute_plan({**GRAPH, "Action": {"approval": new_approval}}, applied(GRAPH))
    changes = by_name(plan)
    assert changes["approval-to-endpoint"].replace_because == ("Source",)
    assert changes["model-to-approval"].replace_because == ("Destination",)


def test_an_update_of_an_end_leaves_the_edge_alone() -> None:
    plan = compute_plan(
        {**GRAPH, "Context": {"endpoint": context("endpoint", Description="new")}},
        applied(GRAPH),
    )
    assert [c.name for c in plan.changes] == ["endpoint"]


def test_an_edge_to_a_re_created_entity_is_replaced() -> None:
    """An entity no longer recorded (forgotten, or found gone by --refresh) is created again,
    with a new ARN: the recorded edge to the old one is replaced."""
    lock = applied(GRAPH)
    lock = replace(lock, contexts={})
    change = by_name(compute_plan(GRAPH, lock))["approval-to-endpoint"]
    assert change.action is Action.REPLACE
    assert change.replace_because == ("Destination",)


def test_an_end_whose_recorded_arn_moved_replaces_the_edge() -> None:
    lock = applied(GRAPH)
    moved = Entry(arn_for("another-data"), lock.artifacts["data"].spec)
    lock = replace(lock, artifacts={**lock.artifacts, "data": moved})
    change = by_name(compute_plan(GRAPH, lock))["data-to-model"]
    assert change.action is Action.REPLACE
    assert change.replace_because == ("Source",)
    assert "recorded with another ARN" in change.notes[0]


def test_an_edge_given_by_arn_depends_on_nothing_we_manage() -> None:
    lock = applied(GRAPH)
    plan = compute_plan(GRAPH, replace(lock, associations={**lock.associations}))
    assert "job-to-model" not in by_name(plan)


def test_the_same_pair_by_name_and_by_the_recorded_arn_is_refused() -> None:
    """An artifact's ARN holds a hash, so validate cannot tell that an edge given by it joins
    the same two as one given by name; the lockfile records the ARN, so the plan can."""
    lock = applied(GRAPH)
    model = lock.artifacts["model"].arn
    twice = {**GRAPH, "Association": {**GRAPH["Association"], "by-arn": edge_spec("data", model)}}
    with pytest.raises(ReconcilerError) as info:
        compute_plan(twice, lock)
    assert str(info.value) == (
        "the Associations 'by-arn' and 'data-to-model' join the same two entities "
        f"({lock.artifacts['data'].arn} -> {model}) once names are read as the ARNs the "
        "lockfile records; the service keeps one edge per pair of ends, so declare it once, by "
        "name"
    )
    # Once the model is replaced, the name follows the new one and the ARN stays: two pairs.
    renewed = {
        **twice,
        "Artifact": {**GRAPH["Artifact"], "model": artifact("model", ArtifactType="X")},
    }
    assert by_name(compute_plan(renewed, lock))["by-arn"].action is Action.CREATE


def test_undeclared_edges_are_orphans_or_deleted_with_prune() -> None:
    lock = applied(GRAPH)
    smaller = {**GRAPH, "Association": {"data-to-model": GRAPH["Association"]["data-to-model"]}}
    orphans = by_name(compute_plan(smaller, lock))
    assert {n: c.action for n, c in orphans.items()} == {
        "approval-to-endpoint": Action.ORPHAN,
        "job-to-model": Action.ORPHAN,
        "model-to-approval": Action.ORPHAN,
    }
    assert orphans["job-to-model"].ends == (TRIAL, lock.arn_of("model"))
    assert orphans["job-to-model"].before == GRAPH["Association"]["job-to-model"]
    pruned = compute_plan(smaller, lock, prune=True)
    assert {c.action for c in pruned.changes} == {Action.DELETE}
    assert pruned.actionable == pruned.changes


def test_prune_deletes_edges_before_the_entities_they_touch() -> None:
    plan = compute_plan(desired(artifacts=GRAPH["Artifact"]), applied(GRAPH), prune=True)
    assert [(c.kind, c.name) for c in plan.changes] == [
        ("Association", "approval-to-endpoint"),
        ("Association", "data-to-model"),
        ("Association", "job-to-model"),
        ("Association", "model-to-approval"),
        ("Context", "endpoint"),
        ("Action", "approval"),
    ]
    steps = levels(plan)
    assert [c.name for c in steps[EDGES_REMOVED]][:1] == ["approval-to-endpoint"]
    assert [c.name for c in steps[ENTITIES_REMOVED]] == ["endpoint", "approval"]
    assert steps[ENTITIES_WRITTEN] == steps[EDGES_ADDED] == []


def test_undeclared_contexts_and_actions_are_orphans_without_prune() -> None:
    plan = compute_plan(desired(artifacts=GRAPH["Artifact"]), applied(GRAPH))
    assert {c.action for c in plan.changes} == {Action.ORPHAN}
    assert by_name(plan)["endpoint"].arn == ctx_arn("endpoint")
    assert levels(plan) == [[], [], [], []]
    assert not plan.has_changes


def test_an_adopted_edge_is_deleted_only_in_the_lockfile() -> None:
    lock = applied(GRAPH)
    adopted = replace(lock.associations["job-to-model"], adopted=True)
    lock = replace(lock, associations={**lock.associations, "job-to-model": adopted})
    without = {
        **GRAPH,
        "Association": {n: s for n, s in GRAPH["Association"].items() if n != "job-to-model"},
    }
    change = by_name(compute_plan(without, lock, prune=True))["job-to-model"]
    assert change.action is Action.DELETE
    assert change.notes == (EDGE_ADOPTED_NOTE,)
    orphan = by_name(compute_plan(without, lock))["job-to-model"]
    assert orphan.notes == ()  # nothing happens to an orphan
    changed = {**GRAPH["Association"], "job-to-model": edge_spec(TRIAL, "model", "DerivedFrom")}
    replaced = by_name(compute_plan({**GRAPH, "Association": changed}, lock))["job-to-model"]
    assert replaced.notes == (EDGE_ADOPTED_NOTE,)


def test_an_uncertain_edge_is_replaced_with_a_note() -> None:
    lock = applied(GRAPH)
    uncertain = replace(lock.associations["data-to-model"], uncertain=True)
    lock = replace(lock, associations={**lock.associations, "data-to-model": uncertain})
    change = by_name(compute_plan(GRAPH, lock))["data-to-model"]
    assert (change.action, change.replace_because, change.notes) == (
        Action.REPLACE,
        (),
        (EDGE_UNCERTAIN_NOTE,),
    )


def test_an_uncertain_context_is_an_update_with_a_note() -> None:
    lock = applied(GRAPH)
    entry = replace(lock.contexts["endpoint"], uncertain=True)
    lock = replace(lock, contexts={"endpoint": entry})
    change = by_name(compute_plan(GRAPH, lock))["endpoint"]
    assert (change.kind, change.action, change.notes) == (
        "Context",
        Action.UPDATE,
        (UNCERTAIN_NOTE,),
    )


def test_a_name_declared_as_another_kind_deletes_the_old_one_first() -> None:
    """'endpoint' was a context and is now an artifact: the context is deleted (even without
    --prune: a name names one entity) before the artifact is created, and its edges go too."""
    now = desired(
        artifacts={**GRAPH["Artifact"], "endpoint": artifact("endpoint")},
        actions=GRAPH["Action"],
        edges={"approval-to-endpoint": GRAPH["Association"]["approval-to-endpoint"]},
    )
    plan = compute_plan(now, applied(GRAPH))
    changes = [(c.kind, c.name, c.action.value) for c in plan.changes if c.name == "endpoint"]
    assert changes == [("Context", "endpoint", "delete"), ("Artifact", "endpoint", "create")]
    assert by_name(plan)["approval-to-endpoint"].action is Action.REPLACE
    deleted = next(c for c in plan.changes if c.kind == "Context")
    assert deleted.notes == (KIND_CHANGED_NOTE,)
    steps = levels(plan)
    assert ("Context", "endpoint") in [(c.kind, c.name) for c in steps[ENTITIES_REMOVED]]
    assert ("Artifact", "endpoint") in [(c.kind, c.name) for c in steps[ENTITIES_WRITTEN]]


def test_an_edge_name_declared_as_an_entity_deletes_the_edge() -> None:
    now = {**GRAPH, "Artifact": {**GRAPH["Artifact"], "data-to-model": artifact("x")}}
    now["Association"] = {n: s for n, s in GRAPH["Association"].items() if n != "data-to-model"}
    plan = compute_plan(now, applied(GRAPH))
    edge = next(c for c in plan.changes if c.name == "data-to-model" and c.kind == "Association")
    assert (edge.action, edge.notes) == (Action.DELETE, (KIND_CHANGED_NOTE,))


def test_levels_put_every_half_in_its_place() -> None:
    lock = applied(GRAPH)
    now = {
        **GRAPH,
        "Artifact": {"data": artifact("data"), "model": artifact("model", ArtifactType="X")},
        "Context": {"endpoint": context("endpoint", Description="changed")},
        "Action": {"approval": GRAPH["Action"]["approval"], "deploy": action("deploy")},
        "Association": {
            **GRAPH["Association"],
            "approval-to-endpoint": edge_spec("approval", "endpoint", "Produced"),
            "deploy-to-endpoint": edge_spec("deploy", "endpoint"),
        },
    }
    plan = compute_plan(now, lock)
    names = [[f"{c.action.value} {c.name}" for c in level] for level in levels(plan)]
    assert names == [
        [
            "replace approval-to-endpoint",
            "replace data-to-model",
            "replace job-to-model",
            "replace model-to-approval",
        ],
        ["replace model"],
        ["replace model", "create deploy", "update endpoint"],
        [
            "replace approval-to-endpoint",
            "replace data-to-model",
            "replace job-to-model",
            "replace model-to-approval",
            "create deploy-to-endpoint",
        ],
    ]
    # The plan lists each change once, at its first level.
    assert [c.name for c in plan.changes] == [
        "approval-to-endpoint",
        "data-to-model",
        "job-to-model",
        "model-to-approval",
        "model",
        "deploy",
        "endpoint",
        "deploy-to-endpoint",
    ]


def test_an_edge_whose_ends_differ_from_the_base_lockfile_is_shown() -> None:
    base = applied(GRAPH)
    edge = base.associations["data-to-model"]
    edited = replace(
        base,
        associations={**base.associations, "data-to-model": replace(edge, source_arn=arn_for("x"))},
    )
    change = by_name(compute_plan(GRAPH, edited, base=base))["data-to-model"]
    assert change.action is Action.REPLACE
    assert change.fields[0].path == "source_arn"
    assert (change.fields[0].before, change.fields[0].after) == (edge.source_arn, arn_for("x"))
    assert EDGE_ENDS_NOTE in change.notes
    dropped = replace(base, associations={})
    create = by_name(compute_plan(GRAPH, dropped, base=base))["data-to-model"]
    assert create.action is Action.CREATE
    assert [f.path for f in create.fields] == ["source_arn", "destination_arn"]


def test_a_context_whose_arn_differs_from_the_base_lockfile_is_shown() -> None:
    base = applied(GRAPH)
    moved = replace(base.contexts["endpoint"], arn=ctx_arn("someone-elses"))
    edited = replace(base, contexts={"endpoint": moved})
    change = by_name(compute_plan(GRAPH, edited, base=base))["endpoint"]
    assert change.kind == "Context"
    assert change.fields[0].path == "arn"
    assert change.fields[0].after == ctx_arn("someone-elses")


def test_foreign_contexts_and_edges_stop_the_plan() -> None:
    lock = applied(GRAPH)
    moved = replace(
        lock.contexts["endpoint"], arn=arn_for("ep", region="us-east-1", resource="context")
    )
    with pytest.raises(ReconcilerError, match="'endpoint': its ARN is in region us-east-1"):
        compute_plan(GRAPH, replace(lock, contexts={"endpoint": moved}))
    edge = replace(
        lock.associations["data-to-model"],
        source_arn=arn_for("data", account="999999999999"),
    )
    with pytest.raises(ReconcilerError, match="'data-to-model': its Source ARN is in account"):
        compute_plan(GRAPH, replace(lock, associations={"data-to-model": edge}))


def test_malformed_entries_of_any_section_stop_the_plan() -> None:
    lock = replace(
        applied(GRAPH),
        malformed={"broken": ("spec: Field required", {})},
        malformed_sections={"broken": "associations"},
    )
    with pytest.raises(ReconcilerError, match="'broken': spec: Field required"):
        compute_plan(GRAPH, lock)


def test_a_plain_map_of_specs_is_read_as_artifacts() -> None:
    specs = {"Artifact": artifact("Artifact"), "Context": artifact("Context")}
    plan = compute_plan(specs, Lockfile())
    assert [(c.kind, c.name) for c in plan.changes] == [
        ("Artifact", "Artifact"),
        ("Artifact", "Context"),
    ]


def test_a_plan_that_deletes_every_entity_and_edge_is_refused_without_allow_empty() -> None:
    lock = applied(GRAPH)
    everything = compute_plan(desired(), lock, prune=True)
    with pytest.raises(ReconcilerError, match=r"every recorded entity and association \(8\)"):
        refuse_emptying(everything, lock, allow_empty=False)
    refuse_emptying(everything, lock, allow_empty=True)
    # Keeping one edge is not emptying.
    one_edge = desired(
        artifacts=GRAPH["Artifact"],
        edges={"data-to-model": GRAPH["Association"]["data-to-model"]},
    )
    refuse_emptying(compute_plan(one_edge, lock, prune=True), lock, allow_empty=False)
