"""`plan --base-ref REF`: every target's lockfile compared with git's copy at REF, so that a pull
request's plan shows what it did to any lockfile, however many targets reconciler.yaml has."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from reconciler import lockfile
from reconciler.kinds.artifact import canonical_artifact as canonical
from tests.helpers import arn_for, manifest_doc, save_recorded, write_manifests
from tests.hostile import HOSTILE, assert_safe_text
from tests.sandboxed import declare, reconciler
from tests.test_targets import CONFIG, shared


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        timeout=30,
    )


def _commit_all(repo: Path) -> None:
    (repo / ".git").rmdir()  # the fixture's stand-in; a real repository from here on
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "base")


def _specs(*names: str) -> dict[str, dict[str, Any]]:
    return {name: canonical(name, manifest_doc(name)["spec"]) for name in names}


def test_an_arn_edited_since_the_base_revision_is_a_change(repo: Path) -> None:
    declare(repo, manifest_doc("a"))
    base = save_recorded(repo / "artifacts.lock.json", _specs("a"))
    _commit_all(repo)
    clean = reconciler("plan", "--base-ref", "main", "--detailed-exitcode")
    assert clean.code == 0, clean.out + clean.err
    moved = replace(base.artifacts["a"], arn=arn_for("someone-else"))
    lockfile.save(repo / "artifacts.lock.json", replace(base, artifacts={"a": moved}))
    edited = reconciler("plan", "--base-ref", "main", "--detailed-exitcode", "--format", "json")
    assert edited.code == 2, edited.err
    assert json.loads(edited.out)["lockfile_notes"] == [
        "entries whose ARN differs from the base lockfile's: 'a'; "
        "apply would act on another existing artifact"
    ]


def test_a_lockfile_the_base_revision_lacks_is_flagged(repo: Path) -> None:
    declare(repo, manifest_doc("a"))
    _commit_all(repo)
    save_recorded(repo / "artifacts.lock.json", _specs("a"))
    added = reconciler("plan", "--base-ref", "main", "--detailed-exitcode")
    assert added.code == 2
    assert "differs from the base lockfile" in added.out


def test_every_target_is_compared_with_its_own_base(repo: Path) -> None:
    (repo / "reconciler.yaml").write_text(CONFIG)
    write_manifests(repo / "manifests" / "common", shared("data"))
    for name in ("dev", "prod"):
        write_manifests(repo / "manifests" / name, manifest_doc(f"{name}-only"))
    _commit_all(repo)
    (repo / "locks").mkdir()
    save_recorded(repo / "locks" / "prod.lock.json", _specs("prod-only"))
    planned = reconciler("plan", "--base-ref", "main", "--format", "json")
    assert planned.code == 0, planned.err
    document = json.loads(planned.out)
    notes = {t["target"]["name"]: t["plan"]["lockfile_notes"] for t in document["targets"]}
    assert notes["dev"] == []
    assert notes["prod"][0].startswith(
        "entries added that the base lockfile does not have: 'prod-only'"
    ), notes
    assert document["has_changes"] is True


def test_a_revision_that_is_not_there_is_one_sentence(repo: Path) -> None:
    declare(repo, manifest_doc("a"))
    _commit_all(repo)
    for ref, expected in (
        ("origin/nowhere", "fetch it first"),
        ("--output=/tmp/x", "is not a git revision"),
    ):
        refused = reconciler("plan", "--base-ref", ref)
        assert refused.code == 1
        assert expected in refused.err
        assert len(refused.err.strip().splitlines()) == 1, refused.err
        assert "Traceback" not in refused.err


def test_outside_a_git_repository_base_ref_says_so(repo: Path) -> None:
    declare(repo, manifest_doc("a"))
    (repo / ".git").rmdir()
    refused = reconciler("plan", "--base-ref", "main")
    assert refused.code == 1
    assert "needs a git repository" in refused.err


def test_targets_whose_lockfiles_do_not_exist_yet_have_empty_bases(repo: Path) -> None:
    (repo / "reconciler.yaml").write_text(CONFIG)  # locks/ is made by the first apply
    write_manifests(repo / "manifests" / "common", shared("data"))
    for name in ("dev", "prod"):
        write_manifests(repo / "manifests" / name, manifest_doc(f"{name}-only"))
    _commit_all(repo)
    planned = reconciler("plan", "--base-ref", "main", "--format", "json", "--no-cache")
    assert planned.code == 0, planned.err
    document = json.loads(planned.out)
    assert [t["plan"]["lockfile_notes"] for t in document["targets"]] == [[], []]


@pytest.mark.parametrize("ref", [h for h in HOSTILE if not h.startswith("-")])
def test_a_hostile_revision_is_shown_escaped(repo: Path, ref: str) -> None:
    declare(repo, manifest_doc("a"))
    _commit_all(repo)
    refused = reconciler("plan", "--base-ref", ref)
    assert refused.code == 1
    assert refused.err.startswith("error: --base-ref"), refused.err
    assert len(refused.err.splitlines()) == 1, refused.err
    assert_safe_text(refused.out + refused.err)
