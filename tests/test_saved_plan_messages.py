"""Saved plans and import say what holds: options a saved plan cannot take are refused, a stale
plan's hint names the paths it was made with, a damaged mode is damaged, and a refused import
fails the command (attack finding 12)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.sandbox import Sandbox
from tests.helpers import manifest_doc, write_manifests
from tests.sandboxed import apply, declare, reconciler, sm, uri


@pytest.mark.parametrize("flags", [["--prune"], ["--refresh"], ["--refresh", "--deep"]])
def test_apply_of_a_saved_plan_refuses_options_that_shape_a_plan(
    repo: Path, flags: list[str]
) -> None:
    declare(repo, manifest_doc("a"))
    assert reconciler("plan", "--out", "p.json").code == 0
    refused = reconciler("apply", "p.json", *flags)
    assert refused.code == 2, refused.err
    assert "cannot be given with a saved plan: the mode it was saved with applies" in refused.err
    assert not (repo / "artifacts.lock.json").exists()


def test_a_stale_plan_names_the_paths_it_was_made_with(repo: Path) -> None:
    write_manifests(repo / "m", manifest_doc("a"))
    made = reconciler("plan", "--manifests", "m", "--lockfile", "A.lock", "--out", "p.json")
    assert made.code == 0, made.err
    write_manifests(repo / "m", manifest_doc("a"), manifest_doc("b"))
    stale = reconciler("apply", "p.json", "--manifests", "m", "--lockfile", "A.lock")
    assert stale.code == 1
    assert "run 'reconciler plan --manifests m --lockfile A.lock --out p.json' again" in stale.err


@pytest.mark.parametrize("value", ['"yes"', "1", "null"])
def test_a_saved_plan_whose_mode_is_not_a_boolean_is_damaged(repo: Path, value: str) -> None:
    declare(repo, manifest_doc("a"))
    assert reconciler("plan", "--out", "p.json").code == 0
    document = json.loads((repo / "p.json").read_text())
    document["mode"]["prune"] = json.loads(value)
    (repo / "p.json").write_text(json.dumps(document))
    refused = reconciler("apply", "p.json")
    assert refused.code == 1
    assert "the saved plan p.json is damaged" in refused.err


def test_an_empty_lineage_tag_is_named_as_such(repo: Path, sandbox: Sandbox) -> None:
    sm(sandbox).create_artifact(
        ArtifactName="a",
        Source={"SourceUri": uri("a")},
        ArtifactType="DataSet",
        Tags=[
            {"Key": "reconciler:name", "Value": "a"},
            {"Key": "reconciler:lineage", "Value": ""},
        ],
    )
    declare(repo, manifest_doc("a"))
    refused = apply()
    assert refused.code == 1
    assert "lineage '' (an empty lineage tag)" in refused.err
    assert "lineage ;" not in refused.err
    assert "no lockfile can hand an empty lineage over" in refused.err
