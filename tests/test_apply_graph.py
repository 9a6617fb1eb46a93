"""The executor on a whole lineage graph (artifacts, contexts, actions, edges), on the sandbox over
HTTP: plan → execute → journal → lockfile, as apply runs them, from canonical specs."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from reconciler import journal, lockfile
from reconciler.apply import ApplyOptions, execute
from reconciler.aws import Connection, Lineage, RetryPolicy, connect
from reconciler.kinds import ACTION, ARTIFACT, CONTEXT
from reconciler.kinds.association import canonical_association
from reconciler.limits import LINEAGE_TAG_KEY, OWNERSHIP_TAG_KEY
from reconciler.lockfile import Lockfile, Target, new_lineage
from reconciler.outcomes import ApplyResult, Outcome, OutcomeKind
from reconciler.plan import compute_plan
from reconciler.sandbox import Sandbox, SandboxConfig
from tests.sandboxed import ACCOUNT, REGION, sm, use

TRAINING = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:experiment-trial-component/churn-train-job"
Desired = dict[str, dict[str, dict[str, Any]]]


def artifact(name: str, **extra: Any) -> dict[str, Any]:
    spec = {"ArtifactType": "DataSet", "Source": {"SourceUri": f"s3://acme/{name}"}, **extra}
    return ARTIFACT.canonical(name, spec)


def context(name: str, **extra: Any) -> dict[str, Any]:
    source = {"SourceUri": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{name}"}
    return CONTEXT.canonical(name, {"ContextType": "Endpoint", "Source": source, **extra})


def action(name: str, **extra: Any) -> dict[str, Any]:
    spec = {"ActionType": "ModelApproval", "Source": {"SourceUri": f"s3://acme/ok/{name}"}}
    return ACTION.canonical(name, {**spec, **extra})


def edge(source: str, destination: str, kind: str | None = None) -> dict[str, Any]:
    spec = {"Source": source, "Destination": destination}
    return canonical_association("", spec | ({"AssociationType": kind} if kind else {}))


def graph() -> Desired:
    """data -> model -> approval -> endpoint, and SageMaker's training job -> model."""
    return {
        "Artifact": {"data": artifact("data"), "model": artifact("model", ArtifactType="Model")},
        "Context": {"endpoint": context("endpoint", Description="Prod", Properties={"a": "1"})},
        "Action": {"approval": action("approval", Status="InProgress")},
        "Association": {
            "data-to-model": edge("data", "model", "ContributedTo"),
            "model-to-approval": edge("model", "approval"),
            "approval-to-endpoint": edge("approval", "endpoint", "AssociatedWith"),
            "training-to-model": edge(TRAINING, "model", "Produced"),
        },
    }


class Applier:
    """Runs plan and execute as `reconciler apply` does, against one lockfile."""

    def __init__(self, path: Path, service: Lineage) -> None:
        self.path = path
        self.service = service
        self.outcomes: list[Outcome] = []
        self.errors: list[str] = []

    def __call__(self, desired: Desired, *, prune: bool = False) -> ApplyResult:
        recorded = journal.fold(self.path)
        plan = compute_plan(desired, recorded, prune=prune)
        log = journal.Journal(journal.journal_path(self.path), recorded.lineage or new_lineage())
        self.outcomes = []
        try:
            options = ApplyOptions(parallelism=4, lookup_timeout=2.0)
            result = execute(plan, recorded, self.service, log, options, self.outcomes.append)
            self.errors = result.errors
            return result
        finally:
            log.close()
            journal.fold(self.path)

    @property
    def lockfile(self) -> Lockfile:
        return journal.fold(self.path)

    def results(self) -> dict[str, str]:
        return {o.name: o.result.value for o in self.outcomes if o.result.finishes_a_change}

    def pending(self, desired: Desired, *, prune: bool = False) -> list[tuple[str, str]]:
        plan = compute_plan(desired, self.lockfile, prune=prune)
        return [(c.name, c.action.value) for c in plan.actionable]


@pytest.fixture
def preload(tmp_path: Path) -> Path:
    path = tmp_path / "sagemaker-made.json"
    path.write_text(json.dumps([{"Kind": "TrialComponent", "Arn": TRAINING, "Type": "Training"}]))
    return path


@pytest.fixture
def lineage_sandbox(preload: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(preload=preload)) as running:
        use(running, monkeypatch)
        yield running


@pytest.fixture
def applier(lineage_sandbox: Sandbox, tmp_path: Path) -> Applier:
    return Applier(tmp_path / "lineage.lock.json", connect(Connection()))


def edges_on(sandbox: Sandbox) -> set[tuple[str, str, str | None]]:
    pages = sm(sandbox).get_paginator("list_associations").paginate()
    return {
        (e["SourceArn"], e["DestinationArn"], e.get("AssociationType"))
        for page in pages
        for e in page["AssociationSummaries"]
    }


def tags_of(sandbox: Sandbox, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in sm(sandbox).list_tags(ResourceArn=arn)["Tags"]}


def arns(lock: Lockfile) -> dict[str, str]:
    return {
        name: entry.arn
        for kind in (ARTIFACT, CONTEXT, ACTION)
        for name, entry in lock.entities(kind).items()
    }


# --- creating a graph ----------------------------------------------------------------------------


def test_a_whole_graph_is_created_with_its_edges_after_their_ends(
    applier: Applier, lineage_sandbox: Sandbox
) -> None:
    result = applier(graph())
    assert result.ok, result.errors
    assert applier.results() == {
        name: "created"
        for name in (
            "data",
            "model",
            "endpoint",
            "approval",
            "data-to-model",
            "model-to-approval",
            "approval-to-endpoint",
            "training-to-model",
        )
    }
    lock = applier.lockfile
    ids = arns(lock)
    assert ids["endpoint"] == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:context/endpoint"
    assert ids["approval"] == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:action/approval"
    for name in ("endpoint", "approval", "data"):
        tags = tags_of(lineage_sandbox, ids[name])
        assert tags[OWNERSHIP_TAG_KEY] == name and tags[LINEAGE_TAG_KEY] == lock.lineage
    assert edges_on(lineage_sandbox) == {
        (ids["data"], ids["model"], "ContributedTo"),
        (ids["model"], ids["approval"], None),
        (ids["approval"], ids["endpoint"], "AssociatedWith"),
        (TRAINING, ids["model"], "Produced"),
    }
    recorded = lock.associations["training-to-model"]
    assert (recorded.source_arn, recorded.destination_arn) == (TRAINING, ids["model"])
    assert not recorded.adopted and not recorded.uncertain
    assert applier.pending(graph()) == []
    assert not journal.journal_path(applier.path).exists()


def test_every_updatable_field_is_updated_in_place(
    applier: Applier, lineage_sandbox: Sandbox
) -> None:
    desired = graph()
    desired["Context"]["endpoint"] = context(
        "endpoint", Description="Prod", Properties={"a": "1", "b": "2"}, Tags=[_tag("t", "1")]
    )
    assert applier(desired).ok
    ids = arns(applier.lockfile)
    updated = graph()
    updated["Context"]["endpoint"] = context(
        "endpoint", Properties={"b": "3", "c": "4"}, Tags=[_tag("u", "2")]
    )
    updated["Action"]["approval"] = action(
        "approval", Status="Completed", Description="Approved", Properties={"by": "ana"}
    )
    result = applier(updated)
    assert result.ok, result.errors
    assert applier.results() == {"endpoint": "updated", "approval": "updated"}
    client = sm(lineage_sandbox)
    endpoint = client.describe_context(ContextName="endpoint")
    assert "Description" not in endpoint
    assert endpoint["Properties"] == {"b": "3", "c": "4"}
    tags = tags_of(lineage_sandbox, ids["endpoint"])
    assert {k: v for k, v in tags.items() if not k.startswith("reconciler:")} == {"u": "2"}
    approval = client.describe_action(ActionName="approval")
    assert (approval["Status"], approval["Description"]) == ("Completed", "Approved")
    assert approval["Properties"] == {"by": "ana"}
    assert arns(applier.lockfile) == ids  # in place: the same entities
    assert len(edges_on(lineage_sandbox)) == 4
    assert applier.pending(updated) == []


def _tag(key: str, value: str) -> dict[str, str]:
    return {"Key": key, "Value": value}


# --- replacing an entity with edges --------------------------------------------------------------


def test_a_replaced_context_gets_its_edges_back_ours_and_foreign(
    applier: Applier, lineage_sandbox: Sandbox
) -> None:
    assert applier(graph()).ok
    ids = arns(applier.lockfile)
    client = sm(lineage_sandbox)
    client.add_association(SourceArn=TRAINING, DestinationArn=ids["endpoint"])  # by hand
    replaced = graph()
    replaced["Context"]["endpoint"] = context("endpoint", ContextType="ModelDeployment")
    result = applier(replaced)
    assert result.ok, result.errors
    results = applier.results()
    assert results["endpoint"] == "replaced"
    assert results["approval-to-endpoint"] == "replaced"
    assert client.describe_context(ContextName="endpoint")["ContextType"] == "ModelDeployment"
    assert (TRAINING, ids["endpoint"], None) in edges_on(lineage_sandbox)  # put back
    assert (ids["approval"], ids["endpoint"], "AssociatedWith") in edges_on(lineage_sandbox)
    assert not applier.lockfile.detached
    assert applier.pending(replaced) == []


def test_a_renamed_action_moves_its_edges_to_the_new_one(
    applier: Applier, lineage_sandbox: Sandbox
) -> None:
    assert applier(graph()).ok
    ids = arns(applier.lockfile)
    renamed = graph()
    renamed["Action"]["approval"] = action("approval", ActionName="approval-v2", Status="Completed")
    result = applier(renamed)
    assert result.ok, result.errors
    new = arns(applier.lockfile)["approval"]
    assert new.endswith(":action/approval-v2")
    assert edges_on(lineage_sandbox) == {
        (ids["data"], ids["model"], "ContributedTo"),
        (ids["model"], new, None),
        (new, ids["endpoint"], "AssociatedWith"),
        (TRAINING, ids["model"], "Produced"),
    }
    edge_record = applier.lockfile.associations["model-to-approval"]
    assert edge_record.destination_arn == new
    assert applier.pending(renamed) == []


def test_a_rename_onto_a_taken_name_deletes_nothing(
    applier: Applier, lineage_sandbox: Sandbox
) -> None:
    assert applier(graph()).ok
    sm(lineage_sandbox).create_action(
        ActionName="someone-elses", Source={"SourceUri": "s3://x"}, ActionType="Other"
    )
    renamed = graph()
    renamed["Action"]["approval"] = action("approval", ActionName="someone-elses")
    result = applier(renamed)
    assert not result.ok
    assert "cannot replace it, so nothing was deleted" in result.errors[0]
    assert "not managed by reconciler" in result.errors[0]
    assert result.skipped == 3  # the action and its two edges, each counted once
    assert sm(lineage_sandbox).describe_action(ActionName="approval")["ActionArn"]
    assert len(edges_on(lineage_sandbox)) == 4


# --- pruning -------------------------------------------------------------------------------------


def test_prune_removes_edges_before_the_entities_they_touch(
    applier: Applier, lineage_sandbox: Sandbox
) -> None:
    assert applier(graph()).ok
    ids = arns(applier.lockfile)
    smaller = graph()
    del smaller["Action"]["approval"]
    del smaller["Association"]["model-to-approval"]
    del smaller["Association"]["approval-to-endpoint"]
    del smaller["Association"]["training-to-model"]
    assert applier(smaller).ok  # without --prune: orphans, left alone
    assert applier.results() == {}
    assert len(edges_on(lineage_sandbox)) == 4
    result = applier(smaller, prune=True)
    assert result.ok, result.errors
    assert applier.results() == {
        "approval": "deleted",
        "model-to-approval": "deleted",
        "approval-to-endpoint": "deleted",
        "training-to-model": "deleted",
    }
    assert edges_on(lineage_sandbox) == {(ids["data"], ids["model"], "ContributedTo")}
    client = sm(lineage_sandbox)
    with pytest.raises(client.exceptions.ResourceNotFound):
        client.describe_action(ActionName="approval")
    lock = applier.lockfile
    assert set(lock.associations) == {"data-to-model"} and not lock.actions
    assert applier.pending(smaller, prune=True) == []


@pytest.mark.parametrize("delete_associated", ["refuse", "cascade"])
def test_a_pruned_context_with_edges_made_by_hand_goes_with_them(
    preload: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, delete_associated: str
) -> None:
    config = SandboxConfig(preload=preload, delete_associated=delete_associated)
    with Sandbox(config) as sandbox:
        use(sandbox, monkeypatch)
        apply_graph = Applier(tmp_path / "l.lock.json", connect(Connection()))
        desired: Desired = {"Context": {"endpoint": context("endpoint")}}
        assert apply_graph(desired).ok
        arn = arns(apply_graph.lockfile)["endpoint"]
        sm(sandbox).add_association(SourceArn=TRAINING, DestinationArn=arn)
        result = apply_graph({"Context": {}}, prune=True)
        assert result.ok, result.errors
        assert [o.result for o in apply_graph.outcomes] == [
            OutcomeKind.ASSOCIATION_REMOVED,
            OutcomeKind.DELETED,
        ]
        assert edges_on(sandbox) == set()


# --- edges reconciler did not add -----------------------------------------------------------------


def entities_then_a_hand_made_edge(
    applier: Applier, sandbox: Sandbox, edge_type: str
) -> tuple[Desired, dict[str, dict[str, Any]], dict[str, str]]:
    """The graph's entities applied, its edges not, and data -> model added by hand."""
    desired = graph()
    edges = desired.pop("Association")
    assert applier(desired).ok
    ids = arns(applier.lockfile)
    sm(sandbox).add_association(
        SourceArn=ids["data"], DestinationArn=ids["model"], AssociationType=edge_type
    )
    return desired, edges, ids


def test_an_edge_that_exists_already_is_adopted_and_only_forgotten(
    applier: Applier, lineage_sandbox: Sandbox
) -> None:
    desired, edges, ids = entities_then_a_hand_made_edge(applier, lineage_sandbox, "ContributedTo")
    desired["Association"] = edges
    result = applier(desired)
    assert result.ok, result.errors
    assert applier.results()["data-to-model"] == "adopted"
    lock = applier.lockfile
    assert lock.associations["data-to-model"].adopted
    assert not lock.associations["model-to-approval"].adopted
    assert applier.pending(desired) == []

    del desired["Association"]["data-to-model"]
    result = applier(desired, prune=True)
    assert result.ok, result.errors
    assert applier.results() == {"data-to-model": "forgotten"}
    assert (ids["data"], ids["model"], "ContributedTo") in edges_on(lineage_sandbox)
    assert "data-to-model" not in applier.lockfile.associations


def test_an_existing_edge_of_another_type_is_refused(
    applier: Applier, lineage_sandbox: Sandbox
) -> None:
    desired, edges, ids = entities_then_a_hand_made_edge(applier, lineage_sandbox, "DerivedFrom")
    desired["Association"] = {"data-to-model": edges["data-to-model"]}
    result = applier(desired)
    assert not result.ok
    assert "already exists with type DerivedFrom, not ContributedTo" in result.errors[0]
    assert "declare AssociationType: DerivedFrom" in result.errors[0]
    assert "data-to-model" not in applier.lockfile.associations
    assert (ids["data"], ids["model"], "DerivedFrom") in edges_on(lineage_sandbox)


# --- names taken, quotas, lost answers -----------------------------------------------------------


def test_a_context_name_held_by_no_one_is_refused_naming_it(
    applier: Applier, lineage_sandbox: Sandbox
) -> None:
    sm(lineage_sandbox).create_context(
        ContextName="endpoint", Source={"SourceUri": "s3://x"}, ContextType="Endpoint"
    )
    result = applier({"Context": {"endpoint": context("endpoint")}})
    assert not result.ok
    assert "a context named endpoint already exists and is not this one's" in result.errors[0]
    assert "reconciler import endpoint" in result.errors[0]
    assert not applier.lockfile.contexts


def test_a_context_created_by_a_run_whose_record_was_lost_is_adopted(
    applier: Applier, lineage_sandbox: Sandbox
) -> None:
    desired: Desired = {"Action": {"approval": action("approval", Status="InProgress")}}
    assert applier(desired).ok
    lockfile.save(applier.path, replace(applier.lockfile, actions={}))  # its record is lost
    desired["Action"]["approval"] = action("approval", Status="Completed")
    result = applier(desired)
    assert result.ok, result.errors
    assert applier.results() == {"approval": "adopted"}
    assert "then updated" in applier.outcomes[-1].detail
    client = sm(lineage_sandbox)
    assert client.describe_action(ActionName="approval")["Status"] == "Completed"
    assert applier.pending(desired) == []


def test_the_context_quota_stops_the_run_with_a_clear_message(
    preload: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Sandbox(SandboxConfig(context_quota=1)) as small:
        use(small, monkeypatch)
        apply_graph = Applier(tmp_path / "l.lock.json", connect(Connection()))
        contexts = {name: context(name) for name in ("a", "b")}
        result = apply_graph({"Context": contexts})
        assert not result.ok
        assert "the account's context quota is reached" in result.errors[0]
        assert len(apply_graph.lockfile.contexts) == 1


def test_lost_answers_are_read_back_never_doubled(
    preload: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = SandboxConfig(preload=preload, lost_response_rate=1.0)
    with Sandbox(config) as lossy:
        use(lossy, monkeypatch)
        apply_graph = Applier(tmp_path / "l.lock.json", connect(Connection()))
        result = apply_graph(graph())
        assert result.ok, result.errors
        results = apply_graph.results()
        assert {results[n] for n in ("data", "model", "endpoint", "approval")} == {"adopted"}
        lock = apply_graph.lockfile
        # Whether this run added an edge whose answer was lost cannot be told: never deleted.
        assert all(e.adopted and not e.uncertain for e in lock.associations.values())
        assert len(edges_on(lossy)) == 4
        assert apply_graph.pending(graph()) == []


def test_updates_wait_for_lagging_reads(
    preload: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Sandbox(SandboxConfig(preload=preload, write_lag_ms=300)) as lagging:
        use(lagging, monkeypatch)
        apply_graph = Applier(tmp_path / "l.lock.json", connect(Connection()))
        assert apply_graph(graph()).ok
        updated = graph()
        updated["Context"]["endpoint"] = context("endpoint", Description="Moved")
        assert apply_graph(updated).ok
        # What the lockfile records is what reads show now, LastModifiedTime included.
        described = sm(lagging).describe_context(ContextName="endpoint")
        assert described["Description"] == "Moved"
        entry = apply_graph.lockfile.contexts["endpoint"]
        assert entry.last_modified_time == described["LastModifiedTime"].isoformat()


def test_an_uncertain_context_is_read_back_before_it_is_updated(
    applier: Applier, lineage_sandbox: Sandbox
) -> None:
    desired: Desired = {"Context": {"endpoint": context("endpoint", Description="A")}}
    assert applier(desired).ok
    # An update to "B" was sent, and the run died before its answer was recorded.
    sm(lineage_sandbox).update_context(ContextName="endpoint", Description="B")
    log = journal.Journal(journal.journal_path(applier.path), str(applier.lockfile.lineage))
    log.intend("endpoint", CONTEXT.kind)
    log.close()
    assert applier.lockfile.contexts["endpoint"].uncertain
    assert applier.pending(desired) == [("endpoint", "update")]
    result = applier(desired)
    assert result.ok, result.errors
    assert sm(lineage_sandbox).describe_context(ContextName="endpoint")["Description"] == "A"
    assert not applier.lockfile.contexts["endpoint"].uncertain


# --- answers the sandbox never gives, at the boto3 boundary (botocore's Stubber) -----------------

OTHER = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:context/someone-elses"


def stubbed_run(tmp_path: Path, desired: Desired, script: Callable[[Stubber], None]) -> Applier:
    client = boto3.client(
        "sagemaker", region_name=REGION, aws_access_key_id="AKID", aws_secret_access_key="s"
    )
    service = Lineage(client, Target(ACCOUNT, REGION), RetryPolicy(base_delay=0, max_delay=0))
    path = tmp_path / "stubbed.lock.json"
    lockfile.save(path, Lockfile(new_lineage(), 1, Target(ACCOUNT, REGION)))
    run = Applier(path, service)
    with Stubber(client) as stubber:
        script(stubber)
        run(desired)
        stubber.assert_no_pending_responses()
    return run


def test_an_edge_add_answered_with_a_5xx_and_absent_is_sent_again_and_ours(
    tmp_path: Path,
) -> None:
    request = {"SourceArn": TRAINING, "DestinationArn": OTHER, "AssociationType": "Produced"}
    lookup = {"SourceArn": TRAINING, "DestinationArn": OTHER, "MaxResults": 100}

    def script(stubber: Stubber) -> None:
        stubber.add_client_error("add_association", "InternalFailure", "x", 500, request)
        stubber.add_response("list_associations", {"AssociationSummaries": []}, lookup)
        stubber.add_response("add_association", {"SourceArn": TRAINING}, request)

    run = stubbed_run(
        tmp_path, {"Association": {"job-to-other": edge(TRAINING, OTHER, "Produced")}}, script
    )
    assert run.results() == {"job-to-other": "created"}
    recorded = run.lockfile.associations["job-to-other"]
    assert not recorded.adopted and not recorded.uncertain


def test_a_create_refused_for_another_reason_is_an_error_after_one_look(
    tmp_path: Path,
) -> None:
    def script(stubber: Stubber) -> None:
        stubber.add_client_error("create_context", "ValidationException", "Source is bad", 400)
        stubber.add_client_error(
            "describe_context", "ResourceNotFound", "no", 400, {"ContextName": "endpoint"}
        )

    run = stubbed_run(tmp_path, {"Context": {"endpoint": context("endpoint")}}, script)
    assert run.errors == ["endpoint: create_context failed: ValidationException: Source is bad"]
    assert run.outcomes == []
    assert not run.lockfile.contexts


def test_an_orphan_edge_of_a_replaced_entity_is_put_back_and_still_ours(
    applier: Applier, lineage_sandbox: Sandbox
) -> None:
    assert applier(graph()).ok
    ids = arns(applier.lockfile)
    renamed = graph()
    renamed["Action"]["approval"] = action("approval", ActionName="approval-v2")
    del renamed["Association"]["model-to-approval"]  # undeclared: an orphan, not pruned
    assert applier(renamed).ok
    new = arns(applier.lockfile)["approval"]
    assert (ids["model"], new, None) in edges_on(lineage_sandbox)
    assert applier.lockfile.associations["model-to-approval"].destination_arn == new
    result = applier(renamed, prune=True)
    assert result.ok, result.errors
    assert applier.results() == {"model-to-approval": "deleted"}
    assert (ids["model"], new, None) not in edges_on(lineage_sandbox)


def test_the_association_quota_stops_the_run_with_a_clear_message(
    preload: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Sandbox(SandboxConfig(preload=preload, association_quota=2)) as small:
        use(small, monkeypatch)
        apply_graph = Applier(tmp_path / "l.lock.json", connect(Connection()))
        result = apply_graph(graph())
        assert not result.ok
        assert any("the account's association quota is reached" in e for e in result.errors)
        assert len(apply_graph.lockfile.associations) == 2
        assert len(edges_on(small)) == 2


def test_a_dropped_status_is_left_as_the_service_has_it_and_said(
    applier: Applier, lineage_sandbox: Sandbox
) -> None:
    desired: Desired = {"Action": {"approval": action("approval", Status="Completed")}}
    assert applier(desired).ok
    desired["Action"]["approval"] = action("approval", Description="No status declared")
    result = applier(desired)
    assert result.ok, result.errors
    [updated] = applier.outcomes
    assert updated.detail == 'Status stays "Completed": UpdateAction cannot clear it'
    described = sm(lineage_sandbox).describe_action(ActionName="approval")
    assert (described["Status"], described["Description"]) == ("Completed", "No status declared")
    entry = applier.lockfile.actions["approval"]
    assert (entry.spec["Status"], entry.kept) == ("Completed", ("Status",))
    assert applier.pending(desired) == []


def test_a_renamed_edge_applied_without_prune_stays_ours_and_survives_the_prune(
    applier: Applier, lineage_sandbox: Sandbox
) -> None:
    """Renaming an edge without --prune leaves the old name an orphan holding the same ends; the
    new name finds the edge there. It is the edge reconciler added, so it stays ours under the
    new name, and pruning the old name must only forget it, not delete the declared edge."""
    desired = graph()
    assert applier(desired).ok
    ids = arns(applier.lockfile)
    desired["Association"]["data-feeds-model"] = desired["Association"].pop("data-to-model")
    result = applier(desired)
    assert result.ok, result.errors
    lock = applier.lockfile
    assert not lock.associations["data-feeds-model"].adopted
    assert lock.associations["data-to-model"].adopted

    result = applier(desired, prune=True)
    assert result.ok, result.errors
    assert applier.results() == {"data-to-model": "forgotten"}
    assert (ids["data"], ids["model"], "ContributedTo") in edges_on(lineage_sandbox)
    assert set(applier.lockfile.associations) == {
        "data-feeds-model",
        "model-to-approval",
        "approval-to-endpoint",
        "training-to-model",
    }
