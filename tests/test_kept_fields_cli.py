"""A field the manifest drops that UpdateX cannot clear (an action's Status), end to end over
HTTP with unmodified boto3: the plan says in every format that it stays and why, apply sends
nothing for it, the lockfile records the value the service keeps, and the next plan, `audit
--live` and `plan --refresh` all agree with the service."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reconciler.sandbox import Sandbox
from tests.helpers import action_doc
from tests.sandboxed import apply, declare, reconciler, recorded, sm

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

    applied = apply()
    assert applied.code == 0, applied.err
    assert '(Status stays "Completed": UpdateAction cannot clear it)' in applied.out
    assert _status(sandbox) == "Completed"
    entry = recorded(repo).actions["approval"]
    assert (entry.spec.get("Status"), entry.kept) == ("Completed", ("Status",))
    _agrees_everywhere()

    # Declared again, it is managed again: changed in place, and no longer marked as kept.
    declare(repo, action_doc("approval", Status="Failed"))
    assert '~ Status: "Completed" → "Failed"' in reconciler("plan").out
    assert apply().code == 0
    assert _status(sandbox) == "Failed"
    entry = recorded(repo).actions["approval"]
    assert (entry.spec.get("Status"), entry.kept) == ("Failed", ())
    _agrees_everywhere()


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
    assert _status(sandbox) == "InProgress"
    entry = recorded(repo).actions["approval"]
    assert (entry.spec.get("Status"), entry.kept) == ("InProgress", ("Status",))
    _agrees_everywhere()
