"""Saved plans and --deep: a saved plan is the unredacted plan and the mode that made it; apply
checks it again in that mode, and every hint names the command that shows what it saw."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.sandbox import Sandbox
from tests.helpers import manifest_doc
from tests.sandboxed import apply, declare, live, reconciler, sm, uri
from tests.test_live import applied

SECRET = "correct-horse-battery"


def test_changing_only_sensitive_properties_keeps_a_saved_plan(
    repo: Path, sandbox: Sandbox
) -> None:
    applied(repo, manifest_doc("a", Properties={"db-password": "old", "stage": "raw"}))
    declare(repo, manifest_doc("a", Properties={"db-password": SECRET, "stage": "processed"}))
    assert reconciler("plan", "--out", "plan.json").code == 0
    saved = Path("plan.json").read_text()
    assert SECRET not in saved and "processed" not in saved  # names and actions, no values
    (repo / "reconciler.yaml").write_text("sensitive_properties: '^stage$'\n")
    result = reconciler("apply", "plan.json")
    assert result.code == 0, result.err
    assert live(sandbox)[uri("a")]["Properties"] == {"db-password": SECRET, "stage": "processed"}


def test_a_sensitive_value_changed_on_the_service_makes_a_refreshed_plan_stale(
    repo: Path, sandbox: Sandbox
) -> None:
    """The redacted renderings of the two plans are the same; the plans are not."""
    arns = applied(repo, manifest_doc("a", Properties={"db-password": SECRET}))
    client = sm(sandbox)
    client.update_artifact(ArtifactArn=arns["a"], Properties={"db-password": "drifted"})
    assert reconciler("plan", "--refresh", "--out", "plan.json").code == 0
    client.update_artifact(ArtifactArn=arns["a"], Properties={"db-password": "drifted again"})
    stale = reconciler("apply", "plan.json")
    assert stale.code == 1
    assert stale.err == (
        "error: the saved plan plan.json is stale: the service changed since it was made; "
        "run 'reconciler plan --refresh --out plan.json' again\n"
    )


def test_apply_refresh_deep_heals_tag_drift(repo: Path, sandbox: Sandbox) -> None:
    arns = applied(repo, manifest_doc("a", Tags=[{"Key": "team", "Value": "churn"}]))
    sm(sandbox).add_tags(ResourceArn=arns["a"], Tags=[{"Key": "team", "Value": "other"}])
    cheap = apply("--refresh")
    assert cheap.code == 0, cheap.err
    assert "Nothing to apply." in cheap.out  # the tag edit did not move LastModifiedTime
    deep = apply("--refresh", "--deep")
    assert deep.code == 0, deep.err
    assert "1 updated" in deep.out
    assert live(sandbox)[uri("a")]["Tags"]["team"] == "churn"


def test_a_plan_saved_with_refresh_deep_is_checked_again_deep(repo: Path, sandbox: Sandbox) -> None:
    arns = applied(repo, manifest_doc("a", Tags=[{"Key": "team", "Value": "churn"}]))
    sm(sandbox).add_tags(ResourceArn=arns["a"], Tags=[{"Key": "team", "Value": "other"}])
    shown = reconciler("plan", "--refresh", "--deep", "--format", "json", "--out", "plan.json")
    assert [c["action"] for c in json.loads(shown.out)["changes"]] == ["update"]
    result = reconciler("apply", "plan.json")
    assert result.code == 0, result.err
    assert live(sandbox)[uri("a")]["Tags"]["team"] == "churn"


def test_a_stale_plan_names_the_command_that_makes_it_again(repo: Path, sandbox: Sandbox) -> None:
    applied(repo, manifest_doc("a"), manifest_doc("b"))
    declare(repo, manifest_doc("a"))
    assert reconciler("plan", "--prune", "--refresh", "--deep", "--out", "plan.json").code == 0
    declare(repo, manifest_doc("a"), manifest_doc("c"))
    stale = reconciler("apply", "plan.json")
    assert stale.code == 1
    assert stale.err == (
        "error: the saved plan plan.json is stale: the manifests changed since the plan was made; "
        "run 'reconciler plan --prune --refresh --deep --out plan.json' again\n"
    )


def test_a_deep_audit_names_the_deep_refresh(repo: Path, sandbox: Sandbox) -> None:
    arns = applied(repo, manifest_doc("a", Tags=[{"Key": "team", "Value": "churn"}]))
    sm(sandbox).add_tags(ResourceArn=arns["a"], Tags=[{"Key": "team", "Value": "other"}])
    assert reconciler("audit", "--live").code == 0  # the cheap audit cannot see it
    deep = reconciler("audit", "--live", "--deep", "--format", "json")
    assert deep.code == 2
    (finding,) = json.loads(deep.out)["findings"]
    assert finding["kind"] == "drift"
    assert finding["detail"] == (
        "'plan --refresh --deep' shows how 'apply --refresh --deep' would undo it"
    )
    assert reconciler("plan", "--refresh", "--deep", "--detailed-exitcode").code == 2


def test_deep_needs_refresh(repo: Path) -> None:
    for args in (("plan", "--deep"), ("apply", "--deep", "--auto-approve")):
        result = reconciler(*args)
        assert result.code == 2
        assert "--deep reads the service, so it needs --refresh" in result.err
