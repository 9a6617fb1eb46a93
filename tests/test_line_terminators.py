"""Single-line fields: the service's `.*` patterns are Java regular expressions, whose `.` matches
neither CR, LF, NEL, U+2028 nor U+2029. Those fields refuse every line terminator, locally and in
the sandbox; fields without such a pattern stay permissive."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner
from pydantic import ValidationError

from reconciler.cli import cli
from reconciler.errors import ManifestError
from reconciler.manifest import load_manifests
from reconciler.models import Manifest
from reconciler.sandbox import Sandbox
from tests.helpers import manifest_doc

TERMINATORS = {"CR": "\r", "LF": "\n", "NEL": "\x85", "LS": "\u2028", "PS": "\u2029"}

#: Every member of CreateArtifact whose model pattern is `.*`, as (spec, wire) builders.
SINGLE_LINE_FIELDS: dict[str, Callable[[str], dict[str, Any]]] = {
    "SourceUri": lambda v: {"Source": {"SourceUri": f"s3://b/a{v}b"}},
    "property key": lambda v: {"Properties": {f"k{v}x": "v"}},
    "property value": lambda v: {"Properties": {"k": f"a{v}b"}},
    "CommitId": lambda v: {"MetadataProperties": {"CommitId": f"a{v}b"}},
    "ProjectId": lambda v: {"MetadataProperties": {"ProjectId": f"a{v}b"}},
}


def validate(**spec: Any) -> Manifest:
    return Manifest.model_validate(manifest_doc("subject", **spec))


def test_the_fields_with_a_dot_star_pattern_are_those_of_the_model() -> None:
    """SourceUri, property keys and values, MetadataProperties: `.*` in botocore's model
    (sagemaker-lineage-api.md §3). ArtifactType and SourceTypes[].Value have no pattern."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    shapes = {
        name: model.shape_for(name).metadata.get("pattern")
        for name in (
            "SourceUri",
            "StringParameterValue",
            "ArtifactPropertyValue",
            "MetadataPropertyValue",
            "String256",
        )
    }
    assert shapes == {
        "SourceUri": ".*",
        "StringParameterValue": ".*",
        "ArtifactPropertyValue": ".*",
        "MetadataPropertyValue": ".*",
        "String256": None,
    }


@pytest.mark.parametrize("field", sorted(SINGLE_LINE_FIELDS))
@pytest.mark.parametrize("terminator", sorted(TERMINATORS))
def test_single_line_fields_refuse_every_line_terminator(field: str, terminator: str) -> None:
    with pytest.raises(ValidationError, match="should match pattern"):
        validate(**SINGLE_LINE_FIELDS[field](TERMINATORS[terminator]))


@pytest.mark.parametrize("character", ["\x1b", "\t", "\x00", "\x0b", "\x0c", "\x9b"])
def test_other_control_characters_stay_valid(character: str) -> None:
    """Java's `.` matches them (ESC in a value is valid for the API; showing it is the
    renderers' business)."""
    for build in SINGLE_LINE_FIELDS.values():
        validate(**build(character))


@pytest.mark.parametrize("terminator", sorted(TERMINATORS))
def test_fields_without_a_pattern_stay_permissive(terminator: str) -> None:
    character = TERMINATORS[terminator]
    validate(
        ArtifactType=f"a{character}b",
        Source={
            "SourceUri": "s3://b/x",
            "SourceTypes": [{"SourceIdType": "Custom", "Value": f"a{character}b"}],
        },
    )


@pytest.mark.parametrize("separator", ["\u2028", "\u2029"])
def test_tags_keep_their_own_pattern_which_takes_line_and_paragraph_separators(
    separator: str,
) -> None:
    r"""The tag pattern's \p{Z} includes Zl and Zp: U+2028 and U+2029 are valid in a tag."""
    assert validate(Tags=[{"Key": f"a{separator}b", "Value": f"c{separator}d"}]).spec.Tags


def test_a_line_terminator_is_a_positioned_error(tmp_path: Path) -> None:
    directory = tmp_path / "manifests"
    directory.mkdir()
    (directory / "a.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Artifact\nmetadata:\n  name: a\nspec:\n"
        '  ArtifactType: DataSet\n  Source:\n    SourceUri: "s3://b/a\\rb"\n'
        '  Properties:\n    notes: "one\\u2028two"\n',
        encoding="utf-8",
    )
    with pytest.raises(ManifestError) as info:
        load_manifests(directory)
    assert [str(d) for d in info.value.diagnostics] == [
        f"{directory.as_posix()}/a.yaml:8:16: spec.Source.SourceUri must be a single line; "
        "got 's3://b/a\rb'",
        f"{directory.as_posix()}/a.yaml:10:12: spec.Properties.notes must be a single line; "
        "got 'one\u2028two'",
    ]


def test_a_line_terminator_in_a_message_is_shown_escaped(repo: Path) -> None:
    """The message holds the value as written; where it is shown, the terminators are escaped."""
    (repo / "manifests" / "a.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Artifact\nmetadata:\n  name: a\nspec:\n"
        '  ArtifactType: DataSet\n  Source:\n    SourceUri: "s3://b/a\\rb"\n'
        '  Properties:\n    notes: "one\\u2028two"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == 1
    assert result.output.splitlines()[:2] == [
        "manifests/a.yaml:8:16: spec.Source.SourceUri must be a single line; got 's3://b/a\\rb'",
        "manifests/a.yaml:10:12: spec.Properties.notes must be a single line; got 'one\\u2028two'",
    ]


# --- the sandbox --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sm() -> Iterator[Any]:
    with Sandbox() as sandbox:
        yield boto3.client(
            "sagemaker",
            endpoint_url=sandbox.url,
            region_name="eu-west-1",
            aws_access_key_id="any",
            aws_secret_access_key="any",
        )


def _wire(field: str, value: str) -> dict[str, Any]:
    request: dict[str, Any] = {"Source": {"SourceUri": "s3://acme/x"}, "ArtifactType": "DataSet"}
    request.update(SINGLE_LINE_FIELDS[field](value))
    return request


@pytest.mark.parametrize("field", sorted(SINGLE_LINE_FIELDS))
@pytest.mark.parametrize("terminator", sorted(TERMINATORS))
def test_the_sandbox_refuses_line_terminators_as_the_service_does(
    sm: Any, field: str, terminator: str
) -> None:
    with pytest.raises(ClientError) as info:
        sm.create_artifact(**_wire(field, TERMINATORS[terminator]))
    error = info.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert "Member must satisfy regular expression pattern: .*" in error["Message"]


def test_the_sandbox_accepts_what_javas_dot_matches(sm: Any) -> None:
    arn = sm.create_artifact(**_wire("property value", "\x1b[2J\t\x0b"))["ArtifactArn"]
    described = sm.describe_artifact(ArtifactArn=arn)
    assert described["Properties"] == {"k": "a\x1b[2J\t\x0bb"}
    sm.delete_artifact(ArtifactArn=arn)


def test_the_sandbox_keeps_fields_without_a_pattern_and_tags_permissive(sm: Any) -> None:
    arn = sm.create_artifact(
        Source={"SourceUri": "s3://acme/permissive"},
        ArtifactType="multi\nline\u2028type",
        Tags=[{"Key": "a\u2028b", "Value": "c\u2029d"}],
    )["ArtifactArn"]
    assert sm.describe_artifact(ArtifactArn=arn)["ArtifactType"] == "multi\nline\u2028type"
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "a\u2028b", "Value": "c\u2029d"}]
    sm.delete_artifact(ArtifactArn=arn)
