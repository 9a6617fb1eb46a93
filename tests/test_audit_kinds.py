"""Live audit, --refresh, import and forget of contexts, actions and associations, through the
CLI against the sandbox over HTTP (a trial component preloaded as SageMaker's own)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.limits import LINEAGE_TAG_KEY, OWNERSHIP_TAG_KEY
from reconciler.sandbox import Sandbox, SandboxConfig
from tests.helpers import action_doc, association_doc, context_doc, manifest_doc
from tests.hostile import (
    SINGLE_LINE,
    TAG_VALUES,
    assert_safe_json,
    assert_safe_markdown,
    assert_safe_text,
)
from tests.sandboxed import ACCOUNT, REGION, apply, declare, reconciler, recorded, sm, use

TRAINING = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:experiment-trial-component/churn-train-job"


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """A sandbox holding one training job SageMaker made, the environment pointing at it."""
    preload = tmp_path / "sagemaker-made.json"
    preload.write_text(
        json.dumps([{"Kind": "TrialComponent", "Arn": TRAINING, "Type": "TrainingJob"}])
    )
    with Sandbox(SandboxConfig(preload=preload)) as running:
        use(running, monkeypatch)
        yield running


def audit_live(*args: str) -> tuple[int, dict[str, Any]]:
    result = reconciler("audit", "--live", "--format", "json", *args)
    document: dict[str, Any] = json.loads(result.out)
    return result.code, document


def findings(document: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(f["manifest_kind"], f["name"], f["kind"]) for f in document["findings"]}


def test_import_takes_the_kind_from_the_arn(repo: Path, sandbox: Sandbox) -> None:
    client = sm(sandbox)
    context_arn = client.create_context(
        ContextName="endpoint",
        ContextType="Endpoint",
        Source={"SourceUri": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/endpoint"},
        Properties={"stage": "staging"},
    )["ContextArn"]
    action_arn = client.create_action(
        ActionName="approval",
        ActionType="ModelApproval",
        Source={"SourceUri": "s3://acme-ml/approvals/approval"},
    )["ActionArn"]
    declare(
        repo,
        context_doc("endpoint", Properties={"stage": "prod"}),
        action_doc("approval"),
        manifest_doc("data"),
        association_doc("approval-to-endpoint", "approval", "endpoint", "Produced"),
    )
    wrong = reconciler("import", "data", context_arn)
    assert wrong.code == 1
    assert "is the ARN of a Context, but 'data' is declared as an Artifact" in wrong.err
    edge = reconciler("import", "approval-to-endpoint", context_arn)
    assert edge.code == 1
    assert "an association has no ARN and cannot be imported" in edge.err
    one = reconciler("import", "endpoint", context_arn)
    assert one.code == 0, one.err
    assert "context endpoint: the next apply will update it:" in one.out
    assert '~ Properties.stage: "staging" → "prod"' in one.out
    lock = recorded(repo)
    assert lock.contexts["endpoint"].arn == context_arn
    tags = {t["Key"]: t["Value"] for t in client.list_tags(ResourceArn=context_arn)["Tags"]}
    assert tags[OWNERSHIP_TAG_KEY] == "endpoint" and tags[LINEAGE_TAG_KEY] == lock.lineage
    every = reconciler("import", "--all")
    assert every.code == 0, every.err
    assert "action approval: it matches the manifest" in every.out
    assert "data: nothing on the service has its Source" in every.out
    assert "associations are not imported; apply records those that already exist" in every.out
    assert recorded(repo).actions["approval"].arn == action_arn


def imported(repo: Path, sandbox: Sandbox) -> dict[str, str]:
    """A context and an action made outside reconciler, declared as they are and imported."""
    client = sm(sandbox)
    arns = {
        "endpoint": client.create_context(
            ContextName="endpoint",
            ContextType="Endpoint",
            Source={"SourceUri": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/endpoint"},
            Properties={"stage": "prod"},
        )["ContextArn"],
        "approval": client.create_action(
            ActionName="approval",
            ActionType="ModelApproval",
            Source={"SourceUri": "s3://acme-ml/approvals/approval"},
            Status="Completed",
        )["ActionArn"],
    }
    declare(
        repo,
        context_doc("endpoint", Properties={"stage": "prod"}),
        action_doc("approval", Status="Completed"),
    )
    for name, arn in arns.items():
        result = reconciler("import", name, arn)
        assert result.code == 0, result.err
        assert "it matches the manifest" in result.out
    return arns


def test_imported_contexts_and_actions_audit_clean_then_drift_and_go_missing(
    repo: Path, sandbox: Sandbox
) -> None:
    imported(repo, sandbox)
    sandbox.reset_counters()
    code, document = audit_live()
    assert (code, document["clean"]) == (0, True), document
    assert document["checked_by_kind"] == {"Context": 1, "Action": 1}
    # The list pages show both unchanged: nothing described, no edge read (none declared).
    assert set(sandbox.counters()) == {"ListContexts", "ListActions", "sts:GetCallerIdentity"}
    client = sm(sandbox)
    client.update_context(ContextName="endpoint", Description="edited by hand")
    client.update_action(ActionName="approval", Status="Failed")
    code, document = audit_live()
    assert code == 2
    assert findings(document) == {("Context", "endpoint", "drift"), ("Action", "approval", "drift")}
    fields = {f["name"]: f["fields"] for f in document["findings"]}
    assert fields == {
        "endpoint": [{"path": "Description", "before": None, "after": "edited by hand"}],
        "approval": [{"path": "Status", "before": "Completed", "after": "Failed"}],
    }
    text = reconciler("audit", "--live")
    assert "! context endpoint: changed on the service since it was applied" in text.out
    assert "! action approval: changed on the service since it was applied" in text.out
    assert text.out.count('+ Description: "edited by hand"') == 1
    client.delete_action(ActionName="approval")
    code, document = audit_live()
    assert ("Action", "approval", "missing") in findings(document)
    offline = reconciler("audit", "--format", "json")
    assert offline.code == 0  # the lockfile alone cannot know
    # The ownership tags taken off by hand (the drifted context is read fully, tags too).
    client.delete_tags(
        ResourceArn=recorded(repo).contexts["endpoint"].arn,
        TagKeys=[OWNERSHIP_TAG_KEY, LINEAGE_TAG_KEY],
    )
    assert ("Context", "endpoint", "not-owned") in findings(audit_live()[1])
    refused = reconciler("plan", "--refresh", "--deep")
    assert refused.code == 1
    assert "'endpoint'" in refused.err and "not its own" in refused.err


def test_an_owned_context_the_lockfile_lost_is_found_by_name(repo: Path, sandbox: Sandbox) -> None:
    imported(repo, sandbox)
    lost = recorded(repo)
    (repo / "artifacts.lock.json").write_text(
        json.dumps(
            {
                **json.loads((repo / "artifacts.lock.json").read_text()),
                "contexts": {},
            }
        )
    )
    code, document = audit_live()
    assert code == 2
    assert ("Context", "endpoint", "unrecorded") in findings(document)
    assert ("Context", "endpoint", "not-applied") in findings(document)
    (unrecorded,) = [f for f in document["findings"] if f["kind"] == "unrecorded"]
    assert unrecorded["arn"] == lost.contexts["endpoint"].arn
    assert "'reconciler import --all' adopts it" in unrecorded["detail"]
    again = reconciler("import", "--all")
    assert again.code == 0, again.err
    assert recorded(repo).contexts["endpoint"].arn == lost.contexts["endpoint"].arn
    assert audit_live()[0] == 0


def test_forget_takes_the_tags_off_a_context_and_leaves_it(repo: Path, sandbox: Sandbox) -> None:
    arns = imported(repo, sandbox)
    result = reconciler("forget", "endpoint")
    assert result.code == 0, result.err
    assert f"Forgot 'endpoint': {arns['endpoint']} is left in place, without the" in result.out
    assert "still declared" in result.err and "find the context unowned and stop" in result.err
    assert "endpoint" not in recorded(repo).contexts
    assert "approval" in recorded(repo).actions
    client = sm(sandbox)
    assert client.list_tags(ResourceArn=arns["endpoint"])["Tags"] == []
    assert client.describe_context(ContextName="endpoint")["ContextArn"] == arns["endpoint"]
    missing = reconciler("forget", "endpoint")
    assert missing.code == 1
    assert "'endpoint' is not in the lockfile" in missing.err


def test_hostile_values_on_the_service_are_shown_safely(repo: Path, sandbox: Sandbox) -> None:
    imported(repo, sandbox)
    client = sm(sandbox)
    client.update_context(
        ContextName="endpoint",
        Description=SINGLE_LINE[3],
        Properties={text: text for text in SINGLE_LINE[:10]},
    )
    for index, value in enumerate(TAG_VALUES):
        client.create_context(
            ContextName=f"stray-{index}",
            ContextType="Endpoint",
            Source={"SourceUri": f"s3://elsewhere/{index}"},
            Tags=[{"Key": OWNERSHIP_TAG_KEY, "Value": value}],
        )
    for output_format in ("text", "markdown", "json"):
        result = reconciler("audit", "--live", "--deep", "--format", output_format)
        assert result.code == 2, result.out
        {"text": assert_safe_text, "markdown": assert_safe_markdown, "json": assert_safe_json}[
            output_format
        ](result.out)
        assert_safe_text(result.err)
    document = json.loads(reconciler("audit", "--live", "--deep", "--format", "json").out)
    kinds = {(f["manifest_kind"], f["kind"]) for f in document["findings"]}
    assert kinds == {("Context", "drift"), ("Context", "unrecorded")}


# --- a graph applied by reconciler ----------------------------------------------------


GRAPH = (
    manifest_doc("data"),
    manifest_doc("model"),  # one artifact type: one list page reads both
    action_doc("approval", Status="Completed", Description="approved by the board"),
    context_doc("endpoint", Properties={"stage": "prod"}),
    association_doc("data-to-model", "data", "model", "ContributedTo"),
    association_doc("model-to-approval", "model", "approval", "AssociatedWith"),
    association_doc("approval-to-endpoint", "approval", "endpoint", "Produced"),
    association_doc("job-to-model", TRAINING, "model", "Produced"),
)


def applied(repo: Path, *documents: dict[str, Any]) -> None:
    declare(repo, *documents)
    result = apply()
    assert result.code == 0, result.err


def changes(*args: str) -> list[tuple[str, str, str]]:
    result = reconciler("plan", "--format", "json", *args)
    assert result.code == 0, result.err
    return sorted((c["kind"], c["name"], c["action"]) for c in json.loads(result.out)["changes"])


def test_an_unchanged_graph_audits_clean_reading_lists_and_edge_pages(
    repo: Path, sandbox: Sandbox
) -> None:
    applied(repo, *GRAPH)
    sandbox.reset_counters()
    code, document = audit_live()
    assert code == 0, document
    assert document["clean"] is True
    assert document["checked_by_kind"] == {
        "Artifact": 2,
        "Context": 1,
        "Action": 1,
        "Association": 4,
    }
    calls = sandbox.counters()
    # Lists and edge pages only: nothing read one entity or one edge at a time.
    assert set(calls) == {
        "ListArtifacts",
        "ListContexts",
        "ListActions",
        "ListAssociations",
        "sts:GetCallerIdentity",
    }, calls
    assert calls["ListAssociations"] == 1
    strategy = str(document["strategy"])
    assert "1 ListAssociations call, 4 edges listed, 4 of ours" in strategy
    text = reconciler("audit", "--live")
    assert text.code == 0
    assert text.out.startswith(
        "Audit clean: 2 artifacts, 1 context, 1 action, 4 associations, nothing to report."
    )
    deep_code, deep = audit_live("--deep")
    assert (deep_code, deep["clean"]) == (0, True), deep


def test_context_and_action_drift_missing_and_owner_are_found_and_healed(
    repo: Path, sandbox: Sandbox
) -> None:
    applied(repo, *GRAPH)
    client = sm(sandbox)
    client.update_context(ContextName="endpoint", Description="edited by hand")
    lock = recorded(repo)
    approval = lock.actions["approval"].arn
    for source, destination in (
        (approval, lock.contexts["endpoint"].arn),
        (lock.artifacts["model"].arn, approval),
    ):  # the sandbox, as the service, refuses to delete an action with edges
        client.delete_association(SourceArn=source, DestinationArn=destination)
    client.delete_action(ActionName="approval")
    code, document = audit_live()
    assert code == 2
    assert findings(document) == {
        ("Context", "endpoint", "drift"),
        ("Action", "approval", "missing"),
        ("Association", "approval-to-endpoint", "missing"),
        ("Association", "model-to-approval", "missing"),
    }
    (drift,) = [f for f in document["findings"] if f["kind"] == "drift"]
    assert drift["fields"] == [{"path": "Description", "before": None, "after": "edited by hand"}]
    text = reconciler("audit", "--live")
    assert "! context endpoint: changed on the service since it was applied" in text.out
    assert "! action approval: recorded, but missing on the service" in text.out
    assert changes("--refresh") == [
        ("Action", "approval", "create"),
        ("Association", "approval-to-endpoint", "create"),
        ("Association", "model-to-approval", "create"),
        ("Context", "endpoint", "update"),
    ]
    healed = apply("--refresh")
    assert healed.code == 0, healed.err
    assert audit_live()[0] == 0
    assert "Description" not in client.describe_context(ContextName="endpoint")
    # The ownership tags taken off by hand: only a deep read sees it, and it stops a refresh.
    context_arn = recorded(repo).contexts["endpoint"].arn
    client.delete_tags(ResourceArn=context_arn, TagKeys=[OWNERSHIP_TAG_KEY, LINEAGE_TAG_KEY])
    assert audit_live()[0] == 0
    code, document = audit_live("--deep")
    assert code == 2
    assert findings(document) == {("Context", "endpoint", "not-owned")}
    refused = reconciler("plan", "--refresh", "--deep")
    assert refused.code == 1
    assert "'endpoint'" in refused.err and "not its own" in refused.err


def test_an_edge_retyped_by_hand_is_drift_and_apply_refresh_puts_it_back(
    repo: Path, sandbox: Sandbox
) -> None:
    applied(repo, *GRAPH)
    edge = recorded(repo).associations["data-to-model"]
    client = sm(sandbox)
    client.delete_association(SourceArn=edge.source_arn, DestinationArn=edge.destination_arn)
    client.add_association(
        SourceArn=edge.source_arn, DestinationArn=edge.destination_arn, AssociationType="SameAs"
    )
    code, document = audit_live()
    assert code == 2
    (drift,) = document["findings"]
    assert (drift["manifest_kind"], drift["name"], drift["kind"]) == (
        "Association",
        "data-to-model",
        "drift",
    )
    assert drift["fields"] == [
        {"path": "AssociationType", "before": "ContributedTo", "after": "SameAs"}
    ]
    assert changes("--refresh") == [("Association", "data-to-model", "replace")]
    assert apply("--refresh").code == 0
    (summary,) = client.list_associations(
        SourceArn=edge.source_arn, DestinationArn=edge.destination_arn
    )["AssociationSummaries"]
    assert summary["AssociationType"] == "ContributedTo"
    assert audit_live()[0] == 0


def test_an_edge_made_by_hand_between_our_entities_is_information_only(
    repo: Path, sandbox: Sandbox
) -> None:
    applied(repo, *GRAPH)
    lock = recorded(repo)
    client = sm(sandbox)
    client.add_association(
        SourceArn=lock.artifacts["data"].arn,
        DestinationArn=lock.contexts["endpoint"].arn,
        AssociationType="AssociatedWith",
    )
    # An edge by hand to something not ours (SageMaker's training job) is none of our business.
    client.add_association(SourceArn=TRAINING, DestinationArn=lock.artifacts["data"].arn)
    code, document = audit_live()
    assert code == 0
    assert document["clean"] is True
    assert findings(document) == {("Association", "data -> endpoint", "unmanaged-edge")}
    (note,) = document["findings"]
    assert note["informational"] is True
    assert "AssociatedWith" in note["detail"]
    text = reconciler("audit", "--live")
    assert text.code == 0
    assert "i association data -> endpoint: an edge between two recorded entities" in text.out
    markdown = reconciler("audit", "--live", "--format", "markdown")
    assert markdown.out.startswith("**Audit clean.**")
    assert "\ni association data -> endpoint  (AssociatedWith; declare it" in markdown.out
    # Declared, apply records it as adopted, and the note goes.
    declare(repo, *GRAPH, association_doc("data-to-endpoint", "data", "endpoint", "AssociatedWith"))
    assert apply().code == 0
    assert recorded(repo).associations["data-to-endpoint"].adopted is True
    assert audit_live()[1]["findings"] == []


def test_forgetting_an_entity_forgets_the_edges_that_touch_it(repo: Path, sandbox: Sandbox) -> None:
    applied(repo, *GRAPH)
    client = sm(sandbox)
    lock = recorded(repo)
    approval = lock.actions["approval"].arn
    result = reconciler("forget", "approval")
    assert result.code == 0, result.err
    assert (
        "its recorded edges 'approval-to-endpoint', 'model-to-approval' are forgotten too"
        in result.out
    )
    assert "still declared" in result.err and "find the action unowned" in result.err
    after = recorded(repo)
    assert "approval" not in after.actions
    assert set(after.associations) == {"data-to-model", "job-to-model"}
    tags = {t["Key"] for t in client.list_tags(ResourceArn=approval)["Tags"]}
    assert not tags & {OWNERSHIP_TAG_KEY, LINEAGE_TAG_KEY}
    left = client.list_associations(SourceArn=approval)["AssociationSummaries"]
    assert [s["DestinationArn"] for s in left] == [lock.contexts["endpoint"].arn]
    edge = reconciler("forget", "job-to-model")
    assert edge.code == 0, edge.err
    assert f"the edge {TRAINING} -> {lock.artifacts['model'].arn} is left in place" in edge.out
    assert "records it again, as adopted" in edge.err
    assert "job-to-model" not in recorded(repo).associations
    assert client.list_associations(SourceArn=TRAINING)["AssociationSummaries"]


def test_among_many_edges_not_ours_the_audit_stops_listing_and_asks_for_ours(
    repo: Path, sandbox: Sandbox
) -> None:
    applied(repo, *GRAPH)
    client = sm(sandbox)
    others = [
        client.create_artifact(Source={"SourceUri": f"s3://elsewhere/{i}"}, ArtifactType="DataSet")[
            "ArtifactArn"
        ]
        for i in range(25)
    ]
    for source in others:  # 600 edges made after ours: listed first (newest first)
        for destination in others:
            if source != destination:
                client.add_association(SourceArn=source, DestinationArn=destination)
    lock = recorded(repo)
    gone = lock.associations["data-to-model"]
    client.delete_association(SourceArn=gone.source_arn, DestinationArn=gone.destination_arn)
    sandbox.reset_counters()
    code, document = audit_live()
    assert code == 2
    assert findings(document) == {("Association", "data-to-model", "missing")}
    # 4 recorded edges, 4 recorded entities: at most 4 + 1 pages, then one call per edge unseen.
    assert sandbox.counters()["ListAssociations"] == 5 + 4
    assert (
        "list pages (5 ListAssociations calls, 500 edges listed, 0 of ours), then per-edge reads "
        "of 4 recorded edges not listed; edges made by hand looked for in those 5 pages only"
    ) in str(document["strategy"])
    deep_code, deep = audit_live("--deep")
    assert deep_code == 2 and findings(deep) == findings(document)


def test_a_tag_edited_on_a_context_needs_deep_and_apply_refresh_deep_heals_it(
    repo: Path, sandbox: Sandbox
) -> None:
    tagged = context_doc("endpoint", Tags=[{"Key": "team", "Value": "ml"}])
    applied(repo, manifest_doc("data"), tagged, association_doc("e", "data", "endpoint"))
    arn = recorded(repo).contexts["endpoint"].arn
    client = sm(sandbox)
    client.add_tags(ResourceArn=arn, Tags=[{"Key": "team", "Value": "someone-else"}])
    assert audit_live()[0] == 0  # a tag edit does not move LastModifiedTime
    code, document = audit_live("--deep")
    assert code == 2
    (drift,) = document["findings"]
    assert (drift["manifest_kind"], drift["name"], drift["kind"]) == (
        "Context",
        "endpoint",
        "drift",
    )
    assert "'plan --refresh --deep'" in drift["detail"]
    assert changes("--refresh", "--deep") == [("Context", "endpoint", "update")]
    healed = apply("--refresh", "--deep")
    assert healed.code == 0, healed.err
    tags = {t["Key"]: t["Value"] for t in client.list_tags(ResourceArn=arn)["Tags"]}
    assert tags["team"] == "ml"
    assert audit_live("--deep")[0] == 0
