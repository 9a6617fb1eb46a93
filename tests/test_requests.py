"""The pure decisions behind every write: create and update requests, tag changes, live specs."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.kinds import ACTION, ARTIFACT, CONTEXT
from reconciler.kinds.context import canonical_context
from reconciler.limits import LINEAGE_TAG_KEY, OWNERSHIP_TAG_KEY
from reconciler.requests import (
    TagChanges,
    association_request,
    create_request,
    live_spec_of,
    shows_update,
    tag_changes,
    update_request,
)
from tests.helpers import ACCOUNT, REGION

OWNED = [
    {"Key": OWNERSHIP_TAG_KEY, "Value": "endpoint"},
    {"Key": LINEAGE_TAG_KEY, "Value": "lineage-1"},
]
ENDPOINT = canonical_context(
    "endpoint",
    {
        "ContextType": "Endpoint",
        "Source": {"SourceUri": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/churn"},
        "Description": "Production endpoint",
        "Properties": {"stage": "prod", "owner": "ml"},
        "Tags": [{"Key": "team", "Value": "ml"}],
    },
)


def test_a_context_create_carries_every_declared_field_and_the_ownership_tags() -> None:
    assert create_request(CONTEXT, ENDPOINT, "endpoint", "lineage-1") == {
        "ContextName": "endpoint",
        "ContextType": "Endpoint",
        "Source": ENDPOINT["Source"],
        "Description": "Production endpoint",
        "Properties": {"owner": "ml", "stage": "prod"},
        "Tags": [{"Key": "team", "Value": "ml"}, *OWNED],
    }


def test_a_create_sends_no_empty_map_and_no_field_its_kind_does_not_have() -> None:
    spec = {
        "ActionName": "approve",
        "ActionType": "ModelApproval",
        "Source": {"SourceUri": "s3://a"},
        "Status": "Completed",
        "Properties": {},
        "ArtifactType": "stray",
    }
    assert create_request(ACTION, spec, "approve", "l") == {
        "ActionName": "approve",
        "ActionType": "ModelApproval",
        "Source": {"SourceUri": "s3://a"},
        "Status": "Completed",
        "Tags": [
            {"Key": OWNERSHIP_TAG_KEY, "Value": "approve"},
            {"Key": LINEAGE_TAG_KEY, "Value": "l"},
        ],
    }


def test_an_artifact_create_is_what_it_always_was() -> None:
    spec = {
        "ArtifactName": "a",
        "ArtifactType": "DataSet",
        "Source": {"SourceUri": "s3://a"},
        "MetadataProperties": {"CommitId": "c"},
    }
    request = create_request(ARTIFACT, spec, "a", "l")
    assert request["MetadataProperties"] == {"CommitId": "c"}
    assert set(request) == {"ArtifactName", "ArtifactType", "Source", "MetadataProperties", "Tags"}


def test_an_update_sends_only_the_updatable_fields_that_differ() -> None:
    after = {**ENDPOINT, "Description": "Moved", "ContextType": "Other"}
    assert update_request(CONTEXT, ENDPOINT, after) == {"Description": "Moved"}
    assert update_request(CONTEXT, ENDPOINT, dict(ENDPOINT)) == {}


def test_properties_go_whole_with_the_keys_dropped_named() -> None:
    before = {**ENDPOINT, "Properties": {"stage": "prod", "owner": "ml", "b": "1"}}
    after = {**ENDPOINT, "Properties": {"stage": "dev", "c": "2"}}
    assert update_request(CONTEXT, before, after) == {
        "Properties": {"stage": "dev", "c": "2"},
        "PropertiesToRemove": ["b", "owner"],
    }
    without = {k: v for k, v in ENDPOINT.items() if k != "Properties"}
    assert update_request(CONTEXT, ENDPOINT, without) == {
        "Properties": {},
        "PropertiesToRemove": ["owner", "stage"],
    }


def test_a_dropped_description_is_cleared_and_a_dropped_status_left_alone() -> None:
    before = {"ActionName": "a", "Description": "d", "Status": "Completed"}
    after = {"ActionName": "a"}
    assert update_request(ACTION, before, after) == {"Description": ""}
    assert ACTION.kept_fields(before, after) == ("Status",)
    assert ACTION.with_kept(before, after, ("Status",)) == {
        "ActionName": "a",
        "Status": "Completed",
    }
    assert ACTION.kept_fields(before, {**after, "Status": "Failed"}) == ()
    assert update_request(ACTION, after, {**after, "Status": "Failed"}) == {"Status": "Failed"}
    # A Description is kept only where the service was seen to keep it.
    assert CONTEXT.kept_fields(before, after) == ()
    assert CONTEXT.kept_fields(before, after, ("Description",)) == ("Description",)


def test_an_artifact_update_renames_it() -> None:
    before = {"ArtifactName": "a", "Properties": {"k": "1"}}
    assert update_request(ARTIFACT, before, {"ArtifactName": "b", "Properties": {"k": "1"}}) == {
        "ArtifactName": "b"
    }


@pytest.mark.parametrize(
    ("described", "shows"),
    [
        ({"Description": "new", "Properties": {"k": "2"}}, True),
        ({"Description": "old", "Properties": {"k": "2"}}, False),
        ({"Description": "new", "Properties": {"k": "2", "gone": "x"}}, False),
        (None, True),
    ],
)
def test_shows_update(described: dict[str, Any] | None, shows: bool) -> None:
    request = {"Description": "new", "Properties": {"k": "2"}, "PropertiesToRemove": ["gone"]}
    assert shows_update(described, request) is shows


def test_a_cleared_description_shows_as_an_absent_one() -> None:
    assert shows_update({"ContextName": "c"}, {"Description": ""})
    assert not shows_update({"Description": "still"}, {"Description": ""})


def test_tag_changes_keep_the_ownership_tags_and_add_the_lineage_tag() -> None:
    live = {OWNERSHIP_TAG_KEY: "endpoint", "team": "data", "old": "x"}
    changes = tag_changes(live, ENDPOINT, "lineage-1")
    assert changes == TagChanges(
        add=[{"Key": "team", "Value": "ml"}, {"Key": LINEAGE_TAG_KEY, "Value": "lineage-1"}],
        remove=["old"],
    )
    owned = {tag["Key"]: tag["Value"] for tag in [*ENDPOINT["Tags"], *OWNED]}
    assert not tag_changes(owned, ENDPOINT, "lineage-1")


def test_the_live_spec_of_a_context_is_its_canonical_spec() -> None:
    described = {
        "ContextName": "endpoint",
        "ContextArn": "arn:aws:sagemaker:eu-west-1:123456789012:context/endpoint",
        "ContextType": "Endpoint",
        "Source": ENDPOINT["Source"],
        "Description": "Production endpoint",
        "Properties": {"stage": "prod", "owner": "ml"},
        "CreationTime": "t",
        "LineageGroupArn": "x",
    }
    tags = {"team": "ml", OWNERSHIP_TAG_KEY: "endpoint", LINEAGE_TAG_KEY: "l"}
    assert live_spec_of(CONTEXT, described, tags) == ENDPOINT
    cleared = {**described, "Description": "", "Properties": {}}
    assert live_spec_of(CONTEXT, cleared, {}) == {
        "ContextName": "endpoint",
        "ContextType": "Endpoint",
        "Source": ENDPOINT["Source"],
    }


def test_the_live_spec_of_an_action_keeps_status_and_metadata() -> None:
    described = {
        "ActionName": "approve",
        "ActionType": "ModelApproval",
        "Source": {"SourceUri": "s3://a", "SourceType": "S3"},
        "Status": "Completed",
        "MetadataProperties": {"CommitId": "c"},
        "Properties": {},
    }
    assert live_spec_of(ACTION, described, {}) == {
        "ActionName": "approve",
        "ActionType": "ModelApproval",
        "Source": {"SourceUri": "s3://a", "SourceType": "S3"},
        "Status": "Completed",
        "MetadataProperties": {"CommitId": "c"},
    }


def test_an_association_request_has_its_type_only_when_declared() -> None:
    spec = {"Source": "data", "Destination": "model", "AssociationType": "ContributedTo"}
    assert association_request(spec, "arn:s", "arn:d") == {
        "SourceArn": "arn:s",
        "DestinationArn": "arn:d",
        "AssociationType": "ContributedTo",
    }
    untyped = {"Source": "data", "Destination": "model"}
    assert association_request(untyped, "arn:s", "arn:d") == {
        "SourceArn": "arn:s",
        "DestinationArn": "arn:d",
    }
