"""A field the manifest drops that UpdateX cannot clear (an action's Status), end to end over
HTTP with unmodified boto3: the plan says in every format that it stays and why, apply sends
nothing for it, the lockfile records the value the service keeps, and the next plan, `audit
--live` and `plan --refresh` all agree with the service."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from reconciler.kinds import ACTION, ARTIFACT, CONTEXT, EntityKind
from reconciler.kinds.context import canonical_context
from reconciler.limits import LINEAGE_TAG_KEY, OWNERSHIP_TAG_KEY
from reconciler.live import LiveEntity, LiveState, refreshed
from reconciler.lockfile import Entry
from reconciler.sandbox import Sandbox, SandboxConfig
from tests.helpers import action_doc, arn_for, context_doc, manifest_doc
from tests.helpers import recorded as helpers_recorded
from tests.hostile import SINGLE_LINE, assert_safe_json, assert_safe_text
from tests.sandboxed import apply, declare, reconciler, recorded, sm, use

STAYS = (
    '= Status: "Completed"  (stays: UpdateAction cannot clear it; declare another Status to '
    "change it)"
)


def _status(sandbox: Sandbox) -> str | None:
    described: dict[str, Any] = sm(sandbox).describe_action(ActionName="approval")
    return described.get("Status")


def _agrees_everywhere() -> None:
    """The next plan, a live audit (cheap and deep) and a refreshed plan: nothing to do."""
    for args in (
        ("plan", "--detailed-exitcode"),
        ("audit", "--live"),
        ("audit", "--live", "--deep"),
        ("plan", "--refresh", "--detailed-exitcode"),
        ("plan", "--refresh", "--deep", "--detailed-exitcode"),
    ):
        run = reconciler(*args)
        assert run.code == 0, (args, run.out, run.err)


def _kept_everywhere(repo: Path, sandbox: Sandbox, status: str) -> None:
    """The service holds `status`, the lockfile records it as kept, and all agree."""
    assert _status(sandbox) == status
    entry = recorded(repo).actions["approval"]
    assert (entry.spec.get("Status"), entry.kept) == (status, ("Status",))
    _agrees_everywhere()


def _declared_again(repo: Path, sandbox: Sandbox, before: str, after: str) -> None:
    """A Status declared again is managed again: changed in place, no longer kept."""
    declare(repo, action_doc("approval", Status=after))
    assert f'~ Status: "{before}" → "{after}"' in reconciler("plan").out
    assert apply().code == 0
    assert _status(sandbox) == after
    entry = recorded(repo).actions["approval"]
    assert (entry.spec.get("Status"), entry.kept) == (after, ())
    _agrees_everywhere()


def test_a_dropped_status_stays_in_the_plan_the_lockfile_and_the_audit(
    repo: Path, sandbox: Sandbox
) -> None:
    declare(repo, action_doc("approval", Status="Completed"))
    assert apply().code == 0

    declare(repo, action_doc("approval"))
    text = reconciler("plan", "--detailed-exitcode")
    assert text.code == 2, text.err
    assert f"  ~ action approval  (update)\n      {STAYS}\n" in text.out
    assert "- Status" not in text.out
    markdown = reconciler("plan", "--format", "markdown").out
    assert f"~ action approval\n    {STAYS}\n" in markdown
    [change] = json.loads(reconciler("plan", "--format", "json").out)["changes"]
    assert change["kept"] == [{"path": "Status", "value": "Completed"}]
    assert (change["fields"], change["after"]["Status"]) == ([], "Completed")
    audit = reconciler("audit")
    assert audit.code == 2
    assert 'apply would update it (Status stays "Completed": UpdateAction cannot clear it' in (
        audit.out
    )

    applied = apply()
    assert applied.code == 0, applied.err
    assert '(Status stays "Completed": UpdateAction cannot clear it)' in applied.out
    _kept_everywhere(repo, sandbox, "Completed")

    # Changed by hand while kept: drift, which a refresh records as kept (nothing declares it).
    sm(sandbox).update_action(ActionName="approval", Status="Stopped")
    audit = reconciler("audit", "--live")
    assert (audit.code, '~ Status: "Completed" → "Stopped"' in audit.out) == (2, True)
    assert (
        "'plan --refresh' shows how 'apply --refresh' would record it: no manifest declares "
        "Status, which UpdateAction cannot clear" in audit.out
    )
    refreshed_plan = reconciler("plan", "--refresh", "--detailed-exitcode")
    assert refreshed_plan.code == 2
    assert '= Status: "Stopped"  (stays: UpdateAction cannot clear it' in refreshed_plan.out
    assert apply("--refresh").code == 0
    _kept_everywhere(repo, sandbox, "Stopped")
    _declared_again(repo, sandbox, "Stopped", "Failed")


def test_a_status_set_by_hand_on_an_action_declared_without_one_is_recorded_as_kept(
    repo: Path, sandbox: Sandbox
) -> None:
    declare(repo, action_doc("approval", Description="Approval"))
    assert apply().code == 0
    sm(sandbox).update_action(ActionName="approval", Status="InProgress")

    audit = reconciler("audit", "--live")
    assert audit.code == 2
    assert '+ Status: "InProgress"' in audit.out
    refreshed = reconciler("plan", "--refresh", "--detailed-exitcode")
    assert refreshed.code == 2
    assert '= Status: "InProgress"  (stays: UpdateAction cannot clear it' in refreshed.out
    assert "- Status" not in refreshed.out

    assert apply("--refresh").code == 0
    _kept_everywhere(repo, sandbox, "InProgress")


@pytest.mark.parametrize("mode", ["clear", "store", "ignore"])
def test_the_sandbox_does_with_an_empty_description_what_it_is_told(
    monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    with Sandbox(SandboxConfig(empty_description=mode)) as sandbox:
        client = sm(sandbox)
        client.create_context(
            ContextName="endpoint",
            ContextType="Endpoint",
            Source={"SourceUri": "s3://a"},
            Description="Prod",
        )
        client.update_context(ContextName="endpoint", Description="")
        described = client.describe_context(ContextName="endpoint")
        shown = {"clear": None, "store": "", "ignore": "Prod"}[mode]
        assert described.get("Description") == shown


@pytest.mark.parametrize("mode", ["clear", "store", "ignore"])
def test_a_dropped_description_round_trips_whatever_an_empty_one_does_on_the_service(
    repo: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """The API does not say what UpdateContext/UpdateAction do with Description "": under
    each possibility (and reads that lag), the lockfile ends holding what the service holds."""
    hostile = "Prod \x1b[31m"
    with Sandbox(SandboxConfig(empty_description=mode, write_lag_ms=300)) as sandbox:
        use(sandbox, monkeypatch)
        declare(repo, context_doc("endpoint", Description=hostile), action_doc("approval"))
        assert apply().code == 0
        declare(repo, context_doc("endpoint"), action_doc("approval"))
        sandbox.reset_counters()
        applied = apply()
        assert applied.code == 0, applied.err
        # It waited for reads to show the update, not for the 30 s a clear that never shows takes.
        assert sandbox.counters().get("DescribeContext", 0) < 10
        described = sm(sandbox).describe_context(ContextName="endpoint")
        entry = recorded(repo).contexts["endpoint"]
        if mode == "ignore":
            assert described["Description"] == hostile
            assert (entry.spec["Description"], entry.kept) == (hostile, ("Description",))
            assert 'Description stays "Prod \\u001b[31m": UpdateContext cannot clear it' in (
                applied.out
            )
        else:
            assert described.get("Description") == ("" if mode == "store" else None)
            assert ("Description" not in entry.spec, entry.kept) == (True, ())
        assert "\x1b" not in applied.out
        _agrees_everywhere()
        # An empty Description declared is none, whatever the service made of it.
        declare(repo, context_doc("endpoint", Description=""), action_doc("approval"))
        assert reconciler("plan", "--detailed-exitcode").code == 0


def test_a_status_the_service_gives_an_action_created_without_one_is_recorded(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API does not say whether CreateAction gives an action a Status of its own: should
    it, the lockfile records it (kept), so that a live audit right after apply finds no drift."""
    with Sandbox(SandboxConfig(default_action_status="Unknown")) as sandbox:
        use(sandbox, monkeypatch)
        declare(repo, action_doc("approval"))
        applied = apply()
        assert applied.code == 0, applied.err
        assert 'the service gave it Status "Unknown", which UpdateAction cannot clear' in (
            applied.out
        )
        _kept_everywhere(repo, sandbox, "Unknown")
        _declared_again(repo, sandbox, "Unknown", "Completed")


def test_a_refresh_keeps_only_what_the_service_still_holds() -> None:
    """A description recorded as kept that the service no longer holds is not kept any more:
    the refreshed entry could not be written back otherwise (kept names what its spec holds)."""
    spec = {"ContextName": "endpoint", "ContextType": "Endpoint", "Source": {"SourceUri": "s3://a"}}
    arn = arn_for("endpoint", resource="context")
    entry = Entry(arn, {**spec, "Description": "Prod"}, kept=("Description",))
    lock = replace(helpers_recorded({}), contexts={"endpoint": entry})
    tags = {OWNERSHIP_TAG_KEY: "endpoint", LINEAGE_TAG_KEY: str(lock.lineage)}
    live = LiveState("", entities={"Context": {"endpoint": LiveEntity(arn, None, spec, tags)}})
    assert refreshed(lock, live).contexts["endpoint"] == Entry(arn, spec)


#: Every field an Update call sets, as a manifest gives it, by kind; the name fields aside (a
#: name is never dropped: it defaults to metadata.name).
UPDATED: dict[EntityKind, dict[str, Any]] = {
    ARTIFACT: {"Properties": {"a": "1", "b": "2"}},
    CONTEXT: {"Description": "Prod", "Properties": {"a": "1"}},
    ACTION: {"Description": "ok", "Status": "Completed", "Properties": {"a": "1"}},
}


def test_every_update_field_of_every_kind_dropped_leaves_the_lockfile_as_the_service(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for kind, fields in UPDATED.items():
        assert set(fields) == set(kind.update_fields) - {kind.name_field}, kind.kind
    with Sandbox(SandboxConfig(write_lag_ms=200)) as sandbox:
        use(sandbox, monkeypatch)
        declare(
            repo,
            manifest_doc("data", **UPDATED[ARTIFACT]),
            context_doc("endpoint", **UPDATED[CONTEXT]),
            action_doc("approval", **UPDATED[ACTION]),
        )
        assert apply().code == 0
        declare(repo, manifest_doc("data"), context_doc("endpoint"), action_doc("approval"))
        assert apply().code == 0
        client = sm(sandbox)
        lock = recorded(repo)
        artifact = client.describe_artifact(ArtifactArn=lock.artifacts["data"].arn)
        endpoint = client.describe_context(ContextName="endpoint")
        approval = client.describe_action(ActionName="approval")
        assert [artifact.get("Properties"), endpoint.get("Properties")] == [{}, {}]
        assert "Description" not in endpoint and "Description" not in approval
        assert (approval.get("Properties"), approval["Status"]) == ({}, "Completed")
        assert "Properties" not in lock.artifacts["data"].spec
        declared = canonical_context("endpoint", context_doc("endpoint")["spec"])
        assert (lock.contexts["endpoint"].spec, lock.contexts["endpoint"].kept) == (declared, ())
        _kept_everywhere(repo, sandbox, "Completed")


def test_a_hostile_description_the_service_keeps_is_shown_safely(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = [f"c{i}" for i in range(len(SINGLE_LINE))]

    def described(prefix: str) -> list[dict[str, Any]]:
        return [
            context_doc(n, Description=prefix + text)
            for n, text in zip(names, SINGLE_LINE, strict=True)
        ]

    with Sandbox(SandboxConfig(empty_description="ignore")) as sandbox:
        use(sandbox, monkeypatch)
        for prefix, output_format in (("T", "text"), ("J", "json")):
            declare(repo, *described(prefix))
            assert apply().code == 0
            declare(repo, *(context_doc(n) for n in names))
            result = apply("--format", output_format)
            assert result.code == 0, result.err
            assert_safe_text(result.err)
            if output_format == "text":
                assert_safe_text(result.out)
                assert result.out.count("Description stays") == len(names)
            else:
                details = {o["detail"] for o in assert_safe_json(result.out)["outcomes"]}
                assert details == {
                    f"Description stays {json.dumps(prefix + t, ensure_ascii=False)}: "
                    "UpdateContext cannot clear it"
                    for t in SINGLE_LINE
                }
            kept = recorded(repo).contexts
            assert {kept[n].spec["Description"] for n in names} == {prefix + t for t in SINGLE_LINE}


def test_an_action_deleted_by_hand_is_created_again_as_declared_not_with_what_was_kept(
    repo: Path, sandbox: Sandbox
) -> None:
    declare(repo, action_doc("approval", Status="Completed"))
    assert apply().code == 0
    declare(repo, action_doc("approval"))
    assert apply().code == 0
    sm(sandbox).delete_action(ActionName="approval")

    declare(repo, action_doc("approval", Description="Approved"))
    recreated = apply()
    assert recreated.code == 0, recreated.err
    assert "action approval: recreated" in recreated.out
    assert _status(sandbox) is None
    entry = recorded(repo).actions["approval"]
    assert (entry.spec.get("Status"), entry.spec["Description"], entry.kept) == (
        None,
        "Approved",
        (),
    )
    _agrees_everywhere()
