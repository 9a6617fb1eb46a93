"""The kinds as tables: canonical forms (what plans compare), the limits of each spec model, the
ARNs an edge may name, and which kind an ARN is."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from reconciler.kinds import ACTION, ARTIFACT, CONTEXT, ENTITY_KINDS, kind_of_arn
from reconciler.kinds.action import canonical_action
from reconciler.kinds.association import (
    ENTITY_ARN_MAX,
    canonical_association,
    is_entity_arn,
    resource_of,
)
from reconciler.kinds.context import canonical_context
from reconciler.kinds.manifests import MANIFEST_KINDS
from reconciler.models import AssociationSpec, ContextSpec
from reconciler.redact import SENSITIVE, redact_spec
from reconciler.sensitive import compile_pattern

PREFIX = "arn:aws:sagemaker:eu-west-1:123456789012"


def full_context() -> dict[str, Any]:
    return {
        "ContextName": None,
        "ContextType": "Endpoint",
        "Source": {"SourceUri": "arn:aws:sagemaker:eu-west-1:1:endpoint/x", "SourceType": None},
        "Description": None,
        "Properties": {"zeta": "1", "alpha": "2"},
        "Tags": [{"Key": "team", "Value": "ml"}, {"Key": "cost", "Value": "42"}],
    }


# --- canonical forms ----------------------------------------------------------------------------


def test_a_context_is_canonical_with_its_name_defaulted_and_absent_values_dropped() -> None:
    assert canonical_context("churn-endpoint", full_context()) == {
        "ContextName": "churn-endpoint",
        "ContextType": "Endpoint",
        "Properties": {"alpha": "2", "zeta": "1"},
        "Source": {"SourceUri": "arn:aws:sagemaker:eu-west-1:1:endpoint/x"},
        "Tags": [{"Key": "cost", "Value": "42"}, {"Key": "team", "Value": "ml"}],
    }
    named = {**full_context(), "ContextName": "prod_endpoint", "Properties": {}, "Tags": []}
    assert canonical_context("churn-endpoint", named) == {
        "ContextName": "prod_endpoint",
        "ContextType": "Endpoint",
        "Source": {"SourceUri": "arn:aws:sagemaker:eu-west-1:1:endpoint/x"},
    }


def test_an_action_keeps_its_status_and_metadata_without_empty_members() -> None:
    spec = {
        "ActionType": "ModelApproval",
        "Source": {"SourceUri": "s3://a", "SourceId": "v3"},
        "Status": "Completed",
        "Description": "approved",
        "MetadataProperties": {"CommitId": "abc", "Repository": None},
    }
    assert canonical_action("approval", spec) == {
        "ActionName": "approval",
        "ActionType": "ModelApproval",
        "Description": "approved",
        "MetadataProperties": {"CommitId": "abc"},
        "Source": {"SourceId": "v3", "SourceUri": "s3://a"},
        "Status": "Completed",
    }
    empty_metadata = {**spec, "MetadataProperties": {"CommitId": None}, "Status": None}
    assert "MetadataProperties" not in canonical_action("approval", empty_metadata)
    assert "Status" not in canonical_action("approval", empty_metadata)


def test_an_edge_is_its_two_ends_and_its_type_when_given() -> None:
    typed = {"Source": "a", "Destination": "b", "AssociationType": "Produced"}
    assert canonical_association("edge", typed) == typed
    untyped = {"Source": "a", "Destination": "b", "AssociationType": None}
    assert canonical_association("edge", untyped) == {"Source": "a", "Destination": "b"}


SAMPLES = {
    "Artifact": {
        "ArtifactType": "Model",
        "Source": {
            "SourceUri": "s3://m",
            "SourceTypes": [{"SourceIdType": "Custom", "Value": "1"}],
        },
        "Properties": {"b": "1", "a": "2"},
        "MetadataProperties": {"CommitId": "abc"},
        "Tags": [{"Key": "z", "Value": "1"}, {"Key": "a", "Value": "2"}],
    },
    "Context": full_context(),
    "Action": {
        "ActionType": "Deployment",
        "Source": {"SourceUri": "s3://a"},
        "Status": "InProgress",
        "Properties": {"k": "v"},
        "MetadataProperties": {"GeneratedBy": "ci"},
        "Tags": [{"Key": "t", "Value": "v"}],
    },
    "Association": {"Source": "a", "Destination": "b", "AssociationType": "DerivedFrom"},
}


@pytest.mark.parametrize("kind", list(MANIFEST_KINDS))
def test_a_canonical_spec_is_a_valid_request_and_canonical_again(kind: str) -> None:
    manifest_kind = MANIFEST_KINDS[kind]
    once = manifest_kind.canonical("sample", SAMPLES[kind])
    assert manifest_kind.canonical("sample", once) == once
    spec_model = manifest_kind.model.model_fields["spec"].annotation
    assert isinstance(spec_model, type)
    spec_model.model_validate(once)  # raises if the canonical form is not a request


# --- the tables ---------------------------------------------------------------------------------


def test_entity_kinds_are_listed_in_plan_order_and_address_as_the_service_does() -> None:
    assert list(ENTITY_KINDS) == ["Artifact", "Context", "Action"]
    arn = f"{PREFIX}:context/churn-endpoint"
    spec = {"ContextName": "churn-endpoint"}
    assert CONTEXT.address(arn, spec) == {"ContextName": "churn-endpoint"}
    assert ACTION.address("x", {"ActionName": "approve"}) == {"ActionName": "approve"}
    assert ARTIFACT.address(f"{PREFIX}:artifact/abc", {}) == {
        "ArtifactArn": f"{PREFIX}:artifact/abc"
    }


def test_replacing_and_updating_fields_do_not_overlap_and_are_spec_fields() -> None:
    for kind in ENTITY_KINDS.values():
        assert not set(kind.replace_fields) & set(kind.update_fields)
        fields = set(kind.spec_model.model_fields)
        assert set(kind.replace_fields) | set(kind.update_fields) <= fields
        # Every field but Tags (AddTags/DeleteTags) is either replaced or updated.
        assert fields - {"Tags"} <= set(kind.replace_fields) | set(kind.update_fields) | {
            kind.name_field
        }


@pytest.mark.parametrize(
    ("arn", "kind"),
    [
        (f"{PREFIX}:artifact/0a1b2c", "Artifact"),
        (f"{PREFIX}:context/churn-endpoint", "Context"),
        (f"{PREFIX}:action/churn-approval", "Action"),
        (f"{PREFIX}:experiment-trial-component/job", None),
        (f"{PREFIX}:experiment/churn", None),
        # The resource type is the one before the first '/', not one found further on.
        (f"{PREFIX}:experiment-trial-component/job:context/x", None),
        (f"{PREFIX}:experiment/a:action/b", None),
        ("churn-model", None),
        ("arn:aws:sagemaker", None),
    ],
)
def test_the_kind_of_an_arn_is_read_from_its_resource_type(arn: str, kind: str | None) -> None:
    found = kind_of_arn(arn)
    assert (found.kind if found is not None else None) == kind


def test_resource_of_reads_the_sixth_field() -> None:
    assert resource_of(f"{PREFIX}:experiment-trial-component/a/b") == "experiment-trial-component"
    assert resource_of("not-an-arn") == ""


# --- limits -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("end", "accepted"),
    [
        (f"{PREFIX}:artifact/x", True),
        (f"{PREFIX}:experiment-trial-component/job", True),
        (f"{PREFIX}:experiment/churn", True),
        ("arn:aws-cn:sagemaker:cn-north-1:123456789012:context/c", True),
        (f"{PREFIX}:experiment-trial/t", False),  # not in AssociationEntityArn
        (f"{PREFIX}:model/m", False),
        ("arn:aws:sagemaker:eu-west-1:12345678901:artifact/x", False),  # an 11-digit account
        (f"{PREFIX}:artifact/x\n", False),
        (f"{PREFIX}:artifact/x\u2028y", False),  # a Java '.' stops at every line terminator
        (f"{PREFIX}:artifact/" + "x" * (ENTITY_ARN_MAX - len(f"{PREFIX}:artifact/")), True),
        (f"{PREFIX}:artifact/" + "x" * (ENTITY_ARN_MAX + 1 - len(f"{PREFIX}:artifact/")), False),
    ],
)
def test_an_arn_end_is_what_add_association_accepts(end: str, accepted: bool) -> None:
    assert is_entity_arn(end) is accepted
    spec = {"Source": end, "Destination": "model"}
    if accepted:
        AssociationSpec.model_validate(spec)
    else:
        with pytest.raises(ValidationError):
            AssociationSpec.model_validate(spec)


def test_a_name_end_follows_the_metadata_name_rules() -> None:
    AssociationSpec.model_validate({"Source": "a-b-1", "Destination": "B2"})
    for bad in ("", "a_b", "-a", "a b", "x" * 121):
        with pytest.raises(ValidationError):
            AssociationSpec.model_validate({"Source": bad, "Destination": "b"})


def test_context_properties_are_limited_as_lineage_parameters() -> None:
    base = {"ContextType": "Endpoint", "Source": {"SourceUri": "s3://a"}}
    ContextSpec.model_validate({**base, "Properties": {"k" * 2500: "v" * 2500}})
    for properties in (
        {"k": "v" * 2501},
        {"k" * 2501: "v"},
        {f"k{i}": "v" for i in range(31)},
        {"k": "two\nlines"},
    ):
        with pytest.raises(ValidationError):
            ContextSpec.model_validate({**base, "Properties": properties})


# --- redaction ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["Context", "Action"])
def test_sensitive_properties_of_contexts_and_actions_are_hidden(kind: str) -> None:
    spec = MANIFEST_KINDS[kind].canonical(
        "x", {**SAMPLES[kind], "Properties": {"api_token": "s3cr3t", "stage": "prod"}}
    )
    shown = redact_spec(spec, compile_pattern("token"))
    assert shown is not None
    assert shown["Properties"] == {"api_token": SENSITIVE, "stage": "prod"}
    assert spec["Properties"]["api_token"] == "s3cr3t"  # what is recorded keeps it
