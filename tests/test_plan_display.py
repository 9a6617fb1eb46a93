"""A plan shows everything a create, replace or delete will do, in text and in markdown, within
markdown's --max-length, with sensitive values still masked."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from reconciler.lockfile import Lockfile
from reconciler.plan import Plan, compute_plan
from reconciler.render import markdown, text
from tests.helpers import arn_for, manifest_doc, recorded, save_recorded, write_manifests
from tests.hostile import assert_safe_markdown
from tests.sandboxed import reconciler


def full_spec(name: str, **changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "ArtifactName": f"{name}-v3",
        "ArtifactType": "DataSet",
        "Source": {
            "SourceUri": f"s3://acme/{name}.csv",
            "SourceTypes": [{"SourceIdType": "MD5Hash", "Value": "0cc175b9c0f1b6a8"}],
        },
        "Properties": {"rows": "1290247", "stage": "processed"},
        "MetadataProperties": {"CommitId": "4d2a9b1e", "ProjectId": "churn"},
        "Tags": [{"Key": "team", "Value": "churn"}],
    }
    spec.update(changes)
    return spec


CREATE_LINES = [
    '+ ArtifactName: "a-v3"',
    '+ ArtifactType: "DataSet"',
    '+ Source.SourceUri: "s3://acme/a.csv"',
    '+ Source.SourceTypes[0]: {"SourceIdType": "MD5Hash", "Value": "0cc175b9c0f1b6a8"}',
    '+ Properties.rows: "1290247"',
    '+ Properties.stage: "processed"',
    '+ MetadataProperties.CommitId: "4d2a9b1e"',
    '+ MetadataProperties.ProjectId: "churn"',
    '+ Tags.team: "churn"',
]


def create_plan() -> Plan:
    return compute_plan({"a": full_spec("a")}, Lockfile())


def test_a_create_shows_every_field_in_text() -> None:
    output = text.render_plan(create_plan())
    lines = [line.strip() for line in output.splitlines()]
    assert lines[0] == "+ artifact a  (create)"
    assert lines[1 : 1 + len(CREATE_LINES)] == CREATE_LINES


def test_a_create_shows_every_field_in_markdown() -> None:
    output = markdown.render_plan(create_plan())
    body = re.search(r"```diff\n(.*?)\n```", output, flags=re.DOTALL)
    assert body is not None
    assert [line.strip() for line in body.group(1).splitlines()] == ["+ artifact a", *CREATE_LINES]


def replace_and_delete_plan() -> Plan:
    lock = recorded({"r": full_spec("r"), "d": full_spec("d")})
    moved = full_spec(
        "r",
        ArtifactName="r-v4",
        Source={"SourceUri": "s3://acme/moved.csv"},
        MetadataProperties={"CommitId": "5e3b"},
    )
    return compute_plan({"r": moved}, lock, prune=True)


def test_a_replace_shows_before_and_after_of_every_changed_field() -> None:
    for output in (
        text.render_plan(replace_and_delete_plan()),
        markdown.render_plan(replace_and_delete_plan()),
    ):
        for line in (
            '~ ArtifactName: "r-v3" → "r-v4"',
            '~ Source.SourceUri: "s3://acme/r.csv" → "s3://acme/moved.csv"',
            '- Source.SourceTypes: [{"SourceIdType": "MD5Hash", "Value": "0cc175b9c0f1b6a8"}]',
            '~ MetadataProperties.CommitId: "4d2a9b1e" → "5e3b"',
            '- MetadataProperties.ProjectId: "churn"',
        ):
            assert line in output, output


def test_a_delete_shows_its_arn_and_source() -> None:
    for output in (
        text.render_plan(replace_and_delete_plan()),
        markdown.render_plan(replace_and_delete_plan()),
    ):
        assert f'- ARN: "{arn_for("d")}"' in output
        assert '- Source.SourceUri: "s3://acme/d.csv"' in output
        assert '- Source.SourceTypes[0]: {"SourceIdType": "MD5Hash"' in output


def test_an_overflowing_plan_collapses_details_never_a_block() -> None:
    properties = {f"key-{i:02d}": "v" * 60 for i in range(30)}
    desired = {f"artifact-{i:03d}": full_spec(f"a{i}", Properties=properties) for i in range(40)}
    plan = compute_plan(desired, Lockfile())
    full = markdown.render_plan(plan, budget=10_000_000)
    output = markdown.render_plan(plan, budget=20_000)
    assert len(full) > 20_000 >= len(output)
    assert_safe_markdown(output)
    assert "shown without their details" in output
    for name in desired:  # every change is still named
        assert re.search(rf"^\+ artifact {name}(  …)?$", output, flags=re.MULTILINE), name
    detailed = re.findall(r"^\+ artifact (artifact-\d+)$", output, flags=re.MULTILINE)
    assert detailed[:3] == ["artifact-000", "artifact-001", "artifact-002"]
    assert output.count('+ Properties.key-29: "' + "v" * 60 + '"') == len(detailed)


def test_sensitive_values_stay_masked_in_the_fields_of_a_create(repo: Path) -> None:
    write_manifests(
        repo / "manifests",
        manifest_doc("a", Properties={"db-password": "hunter2", "stage": "raw"}),
    )
    save_recorded(repo / "artifacts.lock.json", {})
    for output_format in ("text", "markdown"):
        result = reconciler("plan", "--format", output_format)
        assert result.code == 0
        assert "hunter2" not in result.out
        assert 'Properties.db-password: "(sensitive)"' in result.out
        assert 'Properties.stage: "raw"' in result.out
