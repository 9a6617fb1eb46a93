"""Sensitive property values never show, in any format; the lockfile keeps them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler import lockfile
from reconciler.manifest import load_manifests
from tests.helpers import manifest_doc, save_recorded, write_manifests
from tests.sandboxed import reconciler

SECRET = "hunter2-do-not-show"


@pytest.fixture
def changed(repo: Path) -> Path:
    """A lockfile holding old secret values and manifests with new ones: every format shows both."""
    old = manifest_doc(
        "a", Properties={"db-password": "old-" + SECRET, "API_Token": "t-" + SECRET, "stage": "raw"}
    )
    write_manifests(repo / "manifests", old)
    save_recorded(repo / "artifacts.lock.json", load_manifests(Path("manifests")).specs())
    new = manifest_doc(
        "a", Properties={"db-password": SECRET, "API_Token": "t-" + SECRET, "stage": "processed"}
    )
    write_manifests(
        repo / "manifests", new, manifest_doc("b", Properties={"client-secret": SECRET})
    )
    return repo


@pytest.mark.parametrize("output_format", ["text", "markdown", "json"])
def test_plan_hides_sensitive_values_in_every_format(changed: Path, output_format: str) -> None:
    result = reconciler("plan", "--format", output_format)
    assert result.code == 0
    assert SECRET not in result.out
    assert "(sensitive)" in result.out
    assert "processed" in result.out  # other values still show


def test_the_json_plan_masks_fields_and_specs(changed: Path) -> None:
    document = json.loads(reconciler("plan", "--format", "json").out)
    update = next(c for c in document["changes"] if c["name"] == "a")
    assert {
        "path": "Properties.db-password",
        "before": "(sensitive)",
        "after": "(sensitive)",
    } in update["fields"]
    assert update["before"]["Properties"]["API_Token"] == "(sensitive)"
    assert update["after"]["Properties"]["stage"] == "processed"


@pytest.mark.parametrize("output_format", ["text", "markdown", "json"])
def test_audit_hides_sensitive_values_in_every_format(changed: Path, output_format: str) -> None:
    result = reconciler("audit", "--format", output_format)
    assert result.code == 2
    assert SECRET not in result.out
    assert "(sensitive)" in result.out


def test_saved_plans_are_masked_and_the_lockfile_keeps_real_values(changed: Path) -> None:
    assert reconciler("plan", "--out", "plan.json").code == 0
    assert SECRET not in Path("plan.json").read_text()
    recorded = lockfile.load(changed / "artifacts.lock.json")
    assert recorded.artifacts["a"].spec["Properties"]["db-password"] == "old-" + SECRET


def test_the_pattern_is_configurable(changed: Path) -> None:
    (changed / "reconciler.yaml").write_text("sensitive_properties: '^stage$'\n")
    result = reconciler("plan")
    assert "processed" not in result.out
    assert SECRET in result.out  # the default pattern no longer applies


def test_an_invalid_pattern_is_a_positioned_error(changed: Path) -> None:
    (changed / "reconciler.yaml").write_text("sensitive_properties: '(unclosed'\n")
    result = reconciler("plan")
    assert result.code == 1
    assert result.err.startswith(
        "reconciler.yaml:1:23: sensitive_properties: '(unclosed' is not a pattern reconciler can match (missing )"
    )
