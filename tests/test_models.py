from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from reconciler.kinds.artifact import canonical_artifact as canonical
from reconciler.models import Manifest, canonical_spec
from tests.helpers import manifest_doc
from tests.strategies import manifests


def validate(**spec: Any) -> Manifest:
    return Manifest.model_validate(manifest_doc("subject", **spec))


@pytest.mark.parametrize("key", ["équipe", "チーム", "cost center", "a.b:c/d=e+f-g@h_i", "x" * 128])
def test_tag_keys_take_unicode_letters_and_the_listed_symbols(key: str) -> None:
    assert validate(Tags=[{"Key": key, "Value": "v"}]).spec.Tags


@pytest.mark.parametrize("key", ["team!", "a#b", "", "x" * 129, "AWS:thing", "aws:x"])
def test_tag_keys_outside_the_rules_are_refused(key: str) -> None:
    with pytest.raises(ValidationError):
        validate(Tags=[{"Key": key, "Value": "v"}])


@pytest.mark.parametrize("name", ["a", "a-b", "a--b", "A1" * 60, "a" + "-" * 50 + "b"])
def test_names_follow_the_service_pattern(name: str) -> None:
    assert validate(ArtifactName=name).spec.ArtifactName == name


@pytest.mark.parametrize("name", ["-a", "a-", "a_b", "a.b", "a" * 121, "", "a b"])
def test_names_outside_the_pattern_are_refused(name: str) -> None:
    with pytest.raises(ValidationError):
        validate(ArtifactName=name)


def test_limits_are_inclusive() -> None:
    validate(Properties={f"k{i}": "v" * 4096 for i in range(30)})
    validate(Tags=[{"Key": f"k{i}", "Value": "v" * 256} for i in range(48)])
    validate(MetadataProperties={"CommitId": "c" * 1024})
    validate(
        Source={
            "SourceUri": "s" * 2048,
            "SourceTypes": [{"SourceIdType": "Custom", "Value": "v" * 256}],
        }
    )
    with pytest.raises(ValidationError):
        validate(Properties={"k": "v" * 4097})
    with pytest.raises(ValidationError):
        validate(Source={"SourceUri": "s" * 2049})


def test_values_must_be_one_line_like_the_service_pattern() -> None:
    with pytest.raises(ValidationError):
        validate(Properties={"notes": "two\nlines"})
    assert validate(ArtifactType="multi\nline").spec.ArtifactType  # String256 has no pattern


def test_canonical_spec_sorts_and_drops_what_the_service_does_not_keep() -> None:
    manifest = validate(
        Tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "1"}],
        Properties={},
        MetadataProperties={},
        Source={
            "SourceUri": "s3://x",
            "SourceTypes": [
                {"SourceIdType": "S3Version", "Value": "v"},
                {"SourceIdType": "MD5Hash", "Value": "m"},
            ],
        },
    )
    assert canonical_spec(manifest) == {
        "ArtifactName": "subject",
        "ArtifactType": "DataSet",
        "Source": {
            "SourceUri": "s3://x",
            "SourceTypes": [
                {"SourceIdType": "MD5Hash", "Value": "m"},
                {"SourceIdType": "S3Version", "Value": "v"},
            ],
        },
        "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}],
    }


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_the_loaders_canonical_form_from_parsed_data_matches_the_models(
    data: st.DataObject,
) -> None:
    document = data.draw(manifests("subject"))
    spec = dict(document["spec"])
    if data.draw(st.booleans()):  # `Properties:` and `MetadataProperties:` left empty parse as null
        spec.setdefault("Properties", None)
        spec.setdefault("MetadataProperties", None)
    manifest = Manifest.model_validate({**document, "spec": spec})
    assert canonical("subject", spec) == canonical_spec(manifest)
