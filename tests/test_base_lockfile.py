"""`plan --base-lockfile`: every way a pull request's lockfile differs from the base branch's is
shown to the reviewer, in every format, and counts as a change for --detailed-exitcode.

The lineage id is public (it is in every artifact's tags), so a lockfile that copies it claims the
artifacts it names: the review of the plan is the defence, not the id."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from reconciler import lockfile
from reconciler.kinds.artifact import canonical_artifact as canonical
from reconciler.lockfile import Lockfile, Target
from tests.helpers import arn_for, manifest_doc, save_recorded
from tests.sandboxed import declare, reconciler

FORMATS = ("text", "markdown", "json")


def _specs(*names: str) -> dict[str, dict[str, Any]]:
    return {name: canonical(name, manifest_doc(name)["spec"]) for name in names}


def _planned(fmt: str) -> tuple[int, str]:
    run = reconciler("plan", "--base-lockfile", "base.json", "--detailed-exitcode", "--format", fmt)
    return run.code, run.out


def _notes(fmt: str) -> str:
    code, out = _planned(fmt)
    assert code == 2, out
    if fmt == "json":
        document = json.loads(out)
        assert document["has_changes"] is True
        return "\n".join(document["lockfile_notes"])
    assert "differs from the base lockfile" in out
    return out


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_lockfile_added_where_the_base_has_none_is_flagged(repo: Path, fmt: str) -> None:
    declare(repo, manifest_doc("shared"))
    copied = save_recorded(repo / "artifacts.lock.json", _specs("shared"))
    # base.json does not exist: the base branch has no lockfile, an empty one.
    assert reconciler("plan", "--detailed-exitcode").code == 0  # the lockfile alone cannot tell
    notes = _notes(fmt)
    assert "entries added" in notes and "'shared'" in notes
    assert f"has lineage {copied.lineage}" in notes


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_entry_the_pull_request_dropped_is_flagged(repo: Path, fmt: str) -> None:
    declare(repo, manifest_doc("a"), manifest_doc("b"))
    base = save_recorded(repo / "base.json", _specs("a", "b", "gone"))
    dropped = {n: e for n, e in base.artifacts.items() if n not in ("b", "gone")}
    lockfile.save(repo / "artifacts.lock.json", replace(base, artifacts=dropped))
    notes = _notes(fmt)
    assert "entries removed" in notes and "'b'" in notes and "'gone'" in notes
    assert base.artifacts["b"].arn in _planned(fmt)[1]  # the create shows the ARN it drops


def test_a_dropped_entry_makes_the_create_say_so_in_json(repo: Path) -> None:
    declare(repo, manifest_doc("a"))
    base = save_recorded(repo / "base.json", _specs("a"))
    lockfile.save(repo / "artifacts.lock.json", replace(base, artifacts={}))
    document = json.loads(_planned("json")[1])
    (change,) = document["changes"]
    assert change["action"] == "create"
    assert change["fields"][0] == {"path": "arn", "before": base.artifacts["a"].arn, "after": None}
    assert any("leaves what the base recorded behind" in n for n in change["notes"])


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_serial_moved_backwards_is_flagged(repo: Path, fmt: str) -> None:
    declare(repo, manifest_doc("a"))
    base = save_recorded(repo / "base.json", _specs("a"), serial=4)
    lockfile.save(repo / "artifacts.lock.json", replace(base, serial=1))
    assert "serial moved backwards, from 4 to 1" in _notes(fmt)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_changed_target_is_flagged(repo: Path, fmt: str) -> None:
    declare(repo)
    base = lockfile.save(
        repo / "base.json", Lockfile("l-1", 2, Target("111111111111", "eu-west-1"))
    )
    lockfile.save(
        repo / "artifacts.lock.json", replace(base, target=Target("222222222222", "eu-west-1"))
    )
    notes = _notes(fmt)
    assert "target changed" in notes and "222222222222" in notes


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_changed_arn_is_flagged_at_the_top(repo: Path, fmt: str) -> None:
    declare(repo, manifest_doc("a"))
    base = save_recorded(repo / "base.json", _specs("a"))
    moved = replace(base.artifacts["a"], arn=arn_for("someone-else"))
    lockfile.save(repo / "artifacts.lock.json", replace(base, artifacts={"a": moved}))
    assert "entries whose ARN differs" in _notes(fmt)


def test_a_lockfile_the_pull_request_deleted_is_refused_by_name(repo: Path) -> None:
    declare(repo, manifest_doc("a"))
    save_recorded(repo / "base.json", _specs("a"))
    refused = reconciler("plan", "--base-lockfile", "base.json")
    assert refused.code == 1
    assert "the lockfile is missing, but the base branch has one" in refused.err


def test_the_same_lockfile_as_the_base_has_no_note(repo: Path) -> None:
    declare(repo, manifest_doc("a"))
    save_recorded(repo / "base.json", _specs("a"))
    shutil.copy(repo / "base.json", repo / "artifacts.lock.json")
    code, out = _planned("json")
    assert code == 0, out
    assert json.loads(out)["lockfile_notes"] == []
