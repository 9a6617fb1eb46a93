"""Live audit, drift healing, import and forget, against the sandbox over HTTP."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from reconciler import lockfile
from reconciler.limits import OWNERSHIP_TAG_KEY
from reconciler.sandbox import Sandbox
from tests.helpers import manifest_doc
from tests.sandboxed import apply, declare, live, reconciler, recorded, sm, uri


def applied(repo: Path, *documents: dict[str, object]) -> dict[str, str]:
    declare(repo, *documents)
    result = apply()
    assert result.code == 0, result.err
    return {name: entry.arn for name, entry in recorded(repo).artifacts.items()}


def audit_live(*args: str) -> tuple[int, dict[str, Any]]:
    result = reconciler("audit", "--live", "--format", "json", *args)
    document: dict[str, Any] = json.loads(result.out)
    return result.code, document


def findings(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(f["name"], f["kind"]) for f in document["findings"]}


def test_a_clean_account_audits_clean(repo: Path, sandbox: Sandbox) -> None:
    applied(repo, manifest_doc("a"), manifest_doc("b"))
    code, document = audit_live()
    assert code == 0
    assert document["clean"] is True
    assert document["mode"] == "live"
    assert "list pages" in str(document["strategy"])
    text = reconciler("audit", "--live")
    assert text.code == 0
    assert text.out.startswith("Audit clean: 2 artifacts")
    assert "Read the service by list pages" in text.out


def test_deleted_out_of_band_is_reported_planned_and_restored(repo: Path, sandbox: Sandbox) -> None:
    arns = applied(repo, manifest_doc("a"), manifest_doc("b"))
    sm(sandbox).delete_artifact(ArtifactArn=arns["a"])
    code, document = audit_live()
    assert code == 2
    assert findings(document) == {("a", "missing")}
    offline = reconciler("plan", "--detailed-exitcode")
    assert offline.code == 0  # the lockfile alone cannot know
    refreshed = reconciler("plan", "--refresh", "--format", "json", "--detailed-exitcode")
    assert refreshed.code == 2
    assert [(c["name"], c["action"]) for c in json.loads(refreshed.out)["changes"]] == [
        ("a", "create")
    ]
    healed = apply("--refresh")
    assert healed.code == 0, healed.err
    assert "1 created" in healed.out
    assert set(live(sandbox)) == {uri("a"), uri("b")}
    assert audit_live()[0] == 0


def test_edits_out_of_band_are_reported_field_by_field_and_healed(
    repo: Path, sandbox: Sandbox
) -> None:
    arns = applied(
        repo,
        manifest_doc("a", Properties={"stage": "raw"}, Tags=[{"Key": "team", "Value": "churn"}]),
    )
    client = sm(sandbox)
    client.update_artifact(ArtifactArn=arns["a"], Properties={"stage": "hacked", "extra": "1"})
    client.add_tags(ResourceArn=arns["a"], Tags=[{"Key": "team", "Value": "other"}])
    code, document = audit_live()
    assert code == 2
    (drift,) = document["findings"]
    assert (drift["name"], drift["kind"]) == ("a", "drift")
    assert drift["fields"] == [
        {"path": "Properties.extra", "before": None, "after": "1"},
        {"path": "Properties.stage", "before": "raw", "after": "hacked"},
        {"path": "Tags.team", "before": "churn", "after": "other"},
    ]
    plan = json.loads(reconciler("plan", "--refresh", "--format", "json").out)
    assert [(c["name"], c["action"]) for c in plan["changes"]] == [("a", "update")]
    healed = apply("--refresh")
    assert healed.code == 0, healed.err
    state = live(sandbox)[uri("a")]
    assert state["Properties"] == {"stage": "raw"}
    assert state["Tags"] == {
        "team": "churn",
        OWNERSHIP_TAG_KEY: "a",
        "reconciler:lineage": recorded(repo).lineage,
    }
    assert audit_live()[0] == 0
    assert audit_live("--deep")[0] == 0


def test_tag_only_edits_need_deep_mode(repo: Path, sandbox: Sandbox) -> None:
    # The sandbox, like (as far as is documented) the service, does not move LastModifiedTime
    # on tag changes, so the cheap strategy cannot see them; --deep reads every artifact's tags.
    arns = applied(repo, manifest_doc("a", Tags=[{"Key": "team", "Value": "churn"}]))
    sm(sandbox).add_tags(ResourceArn=arns["a"], Tags=[{"Key": "team", "Value": "other"}])
    assert audit_live()[0] == 0
    code, document = audit_live("--deep")
    assert code == 2
    assert findings(document) == {("a", "drift")}
    assert document["strategy"] == "deep: DescribeArtifact and ListTags for every artifact"


def test_a_removed_ownership_tag_is_reported(repo: Path, sandbox: Sandbox) -> None:
    arns = applied(repo, manifest_doc("a"))
    sm(sandbox).delete_tags(ResourceArn=arns["a"], TagKeys=[OWNERSHIP_TAG_KEY])
    code, document = audit_live("--deep")
    assert code == 2
    assert findings(document) == {("a", "not-owned")}


def test_owned_artifacts_of_a_lost_lockfile_are_found_and_imported(
    repo: Path, sandbox: Sandbox
) -> None:
    arns = applied(repo, manifest_doc("a"), manifest_doc("b"))
    # Entries lost (an older lockfile of the same lineage restored, say).
    lockfile.save(repo / "artifacts.lock.json", replace(recorded(repo), artifacts={}))
    code, document = audit_live()
    assert code == 2
    assert findings(document) == {
        ("a", "not-applied"),
        ("b", "not-applied"),
        ("a", "unrecorded"),
        ("b", "unrecorded"),
    }
    imported = reconciler("import", "--all")
    assert imported.code == 0, imported.err
    assert "2 imported" in imported.out
    assert {n: e.arn for n, e in recorded(repo).artifacts.items()} == arns
    assert reconciler("plan", "--detailed-exitcode").code == 0
    assert audit_live()[0] == 0


def test_import_one_artifact_shows_what_the_next_apply_changes(
    repo: Path, sandbox: Sandbox
) -> None:
    arn = sm(sandbox).create_artifact(
        Source={"SourceUri": uri("a")},
        ArtifactType="DataSet",
        ArtifactName="legacy",
        Properties={"old": "1"},
    )["ArtifactArn"]
    declare(repo, manifest_doc("a", Properties={"new": "2"}))
    result = reconciler("import", "a", arn)
    assert result.code == 0, result.err
    assert f"= a: imported {arn}" in result.out
    assert "the next apply will update it:" in result.out
    assert '~ ArtifactName: "legacy" → "a"' in result.out
    assert '- Properties.old: "1"' in result.out
    lock = recorded(repo)
    assert {t["Key"]: t["Value"] for t in sm(sandbox).list_tags(ResourceArn=arn)["Tags"]} == {
        OWNERSHIP_TAG_KEY: "a",
        "reconciler:lineage": lock.lineage,
    }
    assert lock.artifacts["a"].arn == arn
    assert lock.target.account == "123456789012"
    assert apply().code == 0
    assert live(sandbox)[uri("a")]["Properties"] == {"new": "2"}


def test_import_refuses_an_artifact_owned_by_another_name(repo: Path, sandbox: Sandbox) -> None:
    arns = applied(repo, manifest_doc("a"))
    declare(repo, manifest_doc("a"), manifest_doc("b"))
    result = reconciler("import", "b", arns["a"])
    assert result.code == 1
    assert f"error: refusing to import {arns['a']} as 'b': it belongs to 'a'" in result.err
    assert "b" not in recorded(repo).artifacts


def test_import_needs_a_declared_name_and_an_existing_arn(repo: Path, sandbox: Sandbox) -> None:
    declare(repo, manifest_doc("a"))
    missing = "arn:aws:sagemaker:eu-west-1:123456789012:artifact/00000000000000000000000000000000"
    assert reconciler("import", "nope", missing).err.startswith("error: 'nope' is not declared")
    assert reconciler("import", "a", missing).err == f"error: {missing} does not exist\n"
    assert reconciler("import").code == 2  # usage: NAME and ARN, or --all
    assert not (repo / "artifacts.lock.json").exists()


def test_forget_hands_the_artifact_over(repo: Path, sandbox: Sandbox) -> None:
    arns = applied(repo, manifest_doc("a"), manifest_doc("b"))
    result = reconciler("forget", "a")
    assert result.code == 0, result.err
    assert (
        f"{arns['a']} is left in place, without the {OWNERSHIP_TAG_KEY} and reconciler:lineage "
        "tags" in result.out
    )
    assert "'a' is still declared" in result.err
    assert sm(sandbox).list_tags(ResourceArn=arns["a"])["Tags"] == []
    assert list(recorded(repo).artifacts) == ["b"]
    assert uri("a") in live(sandbox)
    assert reconciler("forget", "a").err.startswith("error: 'a' is not in the lockfile ")


def test_auditing_2000_unchanged_artifacts_takes_at_most_40_calls(
    repo: Path, sandbox: Sandbox
) -> None:
    applied(repo, *(manifest_doc(f"a{i:04d}") for i in range(2000)))
    sandbox.reset_counters()
    code, document = audit_live()
    assert code == 0, document
    calls = sum(sandbox.counters().values())
    assert calls <= 40, sandbox.counters()
    assert document["api_calls"] == calls - 1  # all but STS GetCallerIdentity


def test_an_account_full_of_other_artifacts_switches_to_per_artifact_reads(
    repo: Path, sandbox: Sandbox
) -> None:
    applied(repo, manifest_doc("a"), manifest_doc("b"))
    client = sm(sandbox)
    for i in range(600):
        client.create_artifact(Source={"SourceUri": f"s3://other-team/{i}"}, ArtifactType="DataSet")
    sandbox.reset_counters()
    code, document = audit_live()
    assert code == 0, document
    assert "per-artifact reads" in str(document["strategy"])
    assert sum(sandbox.counters().values()) <= 1 + 2 + 2 * 2  # STS, 2 pages, then 2 reads each


def test_live_audit_refuses_another_account(repo: Path, sandbox: Sandbox) -> None:
    declare(repo, manifest_doc("a"))
    lockfile.save(
        repo / "artifacts.lock.json",
        lockfile.Lockfile(target=lockfile.Target("999999999999", "eu-west-1")),
    )
    result = reconciler("audit", "--live")
    assert result.code == 1
    assert "the lockfile targets account 999999999999" in result.err


def test_a_refreshed_saved_plan_is_refused_once_the_service_moved(
    repo: Path, sandbox: Sandbox
) -> None:
    arns = applied(repo, manifest_doc("a"), manifest_doc("b"))
    sm(sandbox).delete_artifact(ArtifactArn=arns["a"])
    assert reconciler("plan", "--refresh", "--out", "plan.json").code == 0
    sm(sandbox).delete_artifact(ArtifactArn=arns["b"])
    stale = reconciler("apply", "plan.json")
    assert stale.code == 1
    assert (
        "the service changed since it was made; run 'reconciler plan --refresh --out plan.json' again"
        in stale.err
    )
    assert reconciler("plan", "--refresh", "--out", "plan.json").code == 0
    assert reconciler("apply", "plan.json").code == 0
    assert set(live(sandbox)) == {uri("a"), uri("b")}


def test_an_artifact_made_without_a_name_is_imported_and_then_named(
    repo: Path, sandbox: Sandbox
) -> None:
    arn = sm(sandbox).create_artifact(Source={"SourceUri": uri("a")}, ArtifactType="DataSet")[
        "ArtifactArn"
    ]
    declare(repo, manifest_doc("a"))
    imported = reconciler("import", "--all")
    assert imported.code == 0, imported.err
    entry = recorded(repo).artifacts["a"]
    assert entry.arn == arn
    assert "ArtifactName" not in entry.spec
    offline = json.loads(reconciler("audit", "--format", "json").out)
    assert {f["kind"] for f in offline["findings"]} == {"differs"}
    plan = reconciler("plan")
    assert '  ~ artifact a  (update)\n      + ArtifactName: "a"\n' in plan.out, plan.out
    assert apply().code == 0
    assert sm(sandbox).describe_artifact(ArtifactArn=arn)["ArtifactName"] == "a"
    assert audit_live()[0] == 0
