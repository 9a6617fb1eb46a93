"""The client's calls for every kind: against the sandbox over HTTP with unmodified boto3, and
against botocore's Stubber at the boto3 boundary (answers the sandbox never gives: a 5xx on a
create, a refusal worded otherwise), with the requests checked against botocore's model."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from reconciler.aws import (
    Connection,
    Lineage,
    OutcomeUnknown,
    RetryPolicy,
    ServiceCallError,
    already_exists,
    connect,
)
from reconciler.kinds import ACTION, ARTIFACT, CONTEXT
from reconciler.kinds.action import canonical_action
from reconciler.limits import LINEAGE_TAG_KEY, OWNERSHIP_TAG_KEY
from reconciler.lockfile import Target
from reconciler.requests import create_request, live_spec_of, update_request
from reconciler.sandbox import Sandbox, SandboxConfig
from tests.sandboxed import ACCOUNT, REGION, use
from tests.test_requests import ENDPOINT

APPROVAL = canonical_action(
    "approval",
    {
        "ActionType": "ModelApproval",
        "Source": {"SourceUri": "s3://acme/approvals/v3"},
        "Status": "InProgress",
        "MetadataProperties": {"CommitId": "abc"},
    },
)
CONTEXT_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:context/endpoint"
ACTION_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:action/approval"
QUICK = RetryPolicy(base_delay=0.0, max_delay=0.0)


@pytest.fixture
def service(sandbox: Sandbox) -> Lineage:
    return connect(Connection())


def owned(service: Lineage, arn: str) -> dict[str, str]:
    tags = service.tags(arn)
    assert tags is not None
    return tags


# --- over HTTP, on the sandbox ---------------------------------------------------------------


def test_a_context_created_described_updated_and_deleted(service: Lineage) -> None:
    arn = service.create(CONTEXT, create_request(CONTEXT, ENDPOINT, "endpoint", "lineage-1"))
    assert arn == CONTEXT_ARN
    described = service.describe(CONTEXT, arn)
    assert described is not None and described["ContextArn"] == arn
    tags = owned(service, arn)
    assert tags[OWNERSHIP_TAG_KEY] == "endpoint" and tags[LINEAGE_TAG_KEY] == "lineage-1"
    assert live_spec_of(CONTEXT, described, tags) == ENDPOINT  # what we create reads back equal

    found = service.find_by_name(CONTEXT, "endpoint")
    assert found is not None and found["ContextArn"] == arn
    assert service.find_by_name(CONTEXT, "nothing") is None

    after = {**ENDPOINT, "Properties": {"stage": "dev"}}
    del after["Description"]
    shown = service.update(CONTEXT, arn, ENDPOINT, update_request(CONTEXT, ENDPOINT, after))
    assert shown is not None
    assert live_spec_of(CONTEXT, shown, owned(service, arn)) == after

    assert service.delete(CONTEXT, arn, after) is True
    assert service.describe(CONTEXT, arn) is None
    assert service.delete(CONTEXT, arn, after) is False


def test_an_action_keeps_its_status_and_metadata(service: Lineage) -> None:
    arn = service.create(ACTION, create_request(ACTION, APPROVAL, "approval", "l"))
    assert arn == ACTION_ARN
    after = {**APPROVAL, "Status": "Completed", "Description": "Approved"}
    shown = service.update(ACTION, arn, APPROVAL, update_request(ACTION, APPROVAL, after))
    assert shown is not None and live_spec_of(ACTION, shown, {}) == after
    assert [
        [s["ActionName"] for s in page] for page in service.entity_pages(ACTION, SortBy="Name")
    ] == [["approval"]]
    assert service.delete(ACTION, arn, after) is True


def test_an_update_returns_once_reads_show_it(monkeypatch: pytest.MonkeyPatch) -> None:
    with Sandbox(SandboxConfig(write_lag_ms=400)) as lagging:
        use(lagging, monkeypatch)
        service = connect(Connection())
        arn = service.create(CONTEXT, create_request(CONTEXT, ENDPOINT, "endpoint", "l"))
        after = {**ENDPOINT, "Description": "Moved"}
        shown = service.update(CONTEXT, arn, ENDPOINT, update_request(CONTEXT, ENDPOINT, after))
        assert shown is not None and shown["Description"] == "Moved"
        assert service.stats.calls["describe_context"] > 1  # it did wait
        assert service.delete(CONTEXT, arn, after)
        assert service.describe(CONTEXT, arn) is None  # delete waited too


def test_a_taken_name_is_already_exists(service: Lineage) -> None:
    service.create(CONTEXT, create_request(CONTEXT, ENDPOINT, "endpoint", "l"))
    with pytest.raises(ServiceCallError) as info:
        service.create(CONTEXT, create_request(CONTEXT, ENDPOINT, "endpoint", "l"))
    assert already_exists(info.value)


def test_edges_added_found_listed_and_deleted(service: Lineage) -> None:
    context = service.create(CONTEXT, create_request(CONTEXT, ENDPOINT, "endpoint", "l"))
    action = service.create(ACTION, create_request(ACTION, APPROVAL, "approval", "l"))
    request = {"SourceArn": action, "DestinationArn": context, "AssociationType": "Produced"}
    service.add_association(request)
    with pytest.raises(ServiceCallError) as info:
        service.add_association({**request, "AssociationType": "AssociatedWith"})
    assert already_exists(info.value)
    found = service.association(action, context)
    assert found is not None and found["AssociationType"] == "Produced"
    assert service.association(context, action) is None  # an edge has a direction
    service.add_association({"SourceArn": context, "DestinationArn": action})
    by_type = [e for page in service.association_pages(AssociationType="Produced") for e in page]
    assert [(e["SourceArn"], e["DestinationArn"]) for e in by_type] == [(action, context)]
    assert len(service.associations(context)) == 2
    assert service.delete_association(action, context) is True
    assert service.delete_association(action, context) is False
    assert service.association(action, context) is None


def test_an_edge_to_a_missing_end_is_resource_not_found(service: Lineage) -> None:
    context = service.create(CONTEXT, create_request(CONTEXT, ENDPOINT, "endpoint", "l"))
    with pytest.raises(ServiceCallError) as info:
        service.add_association({"SourceArn": ACTION_ARN, "DestinationArn": context})
    assert info.value.code == "ResourceNotFound" and not already_exists(info.value)


def test_association_pages_follow_the_token(service: Lineage) -> None:
    context = service.create(CONTEXT, create_request(CONTEXT, ENDPOINT, "endpoint", "l"))
    for i in range(105):
        action = dict(APPROVAL, ActionName=f"approval-{i}")
        arn = service.create(ACTION, create_request(ACTION, action, f"approval-{i}", "l"))
        service.add_association({"SourceArn": arn, "DestinationArn": context})
    pages = list(service.association_pages(DestinationArn=context))
    assert [len(page) for page in pages] == [100, 5]
    assert len({e["SourceArn"] for page in pages for e in page}) == 105


def test_the_quota_is_resource_limit_exceeded(monkeypatch: pytest.MonkeyPatch) -> None:
    with Sandbox(SandboxConfig(context_quota=1)) as small:
        use(small, monkeypatch)
        service = connect(Connection())
        service.create(CONTEXT, create_request(CONTEXT, ENDPOINT, "endpoint", "l"))
        other = dict(ENDPOINT, ContextName="other")
        with pytest.raises(ServiceCallError) as info:
            service.create(CONTEXT, create_request(CONTEXT, other, "other", "l"))
        assert info.value.code == "ResourceLimitExceeded"


def test_artifact_names_are_not_looked_up(service: Lineage) -> None:
    with pytest.raises(ValueError, match="Source"):
        service.find_by_name(ARTIFACT, "a")


# --- at the boto3 boundary, with botocore's Stubber ------------------------------------------


@pytest.fixture
def stubbed() -> Iterator[tuple[Lineage, Stubber]]:
    client = boto3.client(
        "sagemaker",
        region_name=REGION,
        aws_access_key_id="AKIDSTUB",
        aws_secret_access_key="secret",
    )
    with Stubber(client) as stubber:
        yield Lineage(client, Target(ACCOUNT, REGION), QUICK), stubber
        stubber.assert_no_pending_responses()


def test_a_create_answered_with_a_5xx_is_not_repeated(
    stubbed: tuple[Lineage, Stubber],
) -> None:
    service, stubber = stubbed
    request = create_request(CONTEXT, ENDPOINT, "endpoint", "l")
    stubber.add_client_error(
        "create_context", "InternalFailure", "boom", http_status_code=500, expected_params=request
    )
    with pytest.raises(OutcomeUnknown) as info:
        service.create(CONTEXT, request)
    assert info.value.answered is True
    assert service.stats.calls == {"create_context": 1}


def test_an_update_is_addressed_by_name_and_retried_after_a_5xx(
    stubbed: tuple[Lineage, Stubber],
) -> None:
    service, stubber = stubbed
    request = {"Description": "Moved"}
    expected = {"ContextName": "endpoint", "Description": "Moved"}
    stubber.add_client_error(
        "update_context", "InternalFailure", "boom", http_status_code=500, expected_params=expected
    )
    stubber.add_response("update_context", {"ContextArn": CONTEXT_ARN}, expected)
    stubber.add_response(
        "describe_context",
        {"ContextName": "endpoint", "Description": "Moved"},
        {"ContextName": CONTEXT_ARN},
    )
    shown = service.update(CONTEXT, CONTEXT_ARN, ENDPOINT, request)
    assert shown is not None and shown["Description"] == "Moved"
    assert service.stats.retried_errors == 1


def test_a_delete_of_what_is_gone_is_false(stubbed: tuple[Lineage, Stubber]) -> None:
    service, stubber = stubbed
    stubber.add_client_error(
        "delete_action",
        "ResourceNotFound",
        "Action approval does not exist.",
        expected_params={"ActionName": "approval"},
    )
    assert service.delete(ACTION, ACTION_ARN, APPROVAL) is False


def test_a_refusal_that_is_not_a_duplicate_is_told_apart(
    stubbed: tuple[Lineage, Stubber],
) -> None:
    service, stubber = stubbed
    request: dict[str, Any] = {"SourceArn": CONTEXT_ARN, "DestinationArn": ACTION_ARN}
    stubber.add_client_error("add_association", "ValidationException", "Bad ends", 400, request)
    stubber.add_client_error(
        "add_association", "ValidationException", "Association already exists", 400, request
    )
    with pytest.raises(ServiceCallError) as refused:
        service.add_association(request)
    assert not already_exists(refused.value)
    with pytest.raises(ServiceCallError) as duplicate:
        service.add_association(request)
    assert already_exists(duplicate.value)


def test_an_association_lookup_filters_on_both_ends(stubbed: tuple[Lineage, Stubber]) -> None:
    service, stubber = stubbed
    filters = {"SourceArn": ACTION_ARN, "DestinationArn": CONTEXT_ARN, "MaxResults": 100}
    summary = {
        "SourceArn": ACTION_ARN,
        "DestinationArn": CONTEXT_ARN,
        "AssociationType": "Produced",
    }
    stubber.add_response(
        "list_associations", {"AssociationSummaries": [], "NextToken": "t"}, filters
    )
    stubber.add_response(
        "list_associations", {"AssociationSummaries": [summary]}, {**filters, "NextToken": "t"}
    )
    assert service.association(ACTION_ARN, CONTEXT_ARN) == summary
