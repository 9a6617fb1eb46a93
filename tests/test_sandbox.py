"""The sandbox through unmodified boto3 over HTTP on loopback."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse
from urllib.request import urlopen

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError

from reconciler.sandbox import Sandbox, SandboxConfig, statelog
from reconciler.sandbox.validation import conforms

REGION = "eu-west-1"
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})


Service = Literal["sagemaker", "sts"]


def client(sandbox: Sandbox, service: Service = "sagemaker", config: Config | None = None) -> Any:
    return client_at(sandbox.url, service, config)


def client_at(url: str, service: Service = "sagemaker", config: Config | None = None) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="AKIDSANDBOX",
        aws_secret_access_key="secret",
        config=config,
    )


def start_command(*options: str) -> subprocess.Popen[str]:
    """`reconciler sandbox` in a child process; its first line of output is the URL."""
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", "sandbox", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as running:
        yield running


@pytest.fixture
def sm(sandbox: Sandbox) -> Any:
    return client(sandbox)


def create(sm: Any, uri: str, **extra: Any) -> str:
    request: dict[str, Any] = {"Source": {"SourceUri": uri}, "ArtifactType": "DataSet", **extra}
    arn: str = sm.create_artifact(**request)["ArtifactArn"]
    return arn


def error_code(info: pytest.ExceptionInfo[ClientError]) -> str:
    code: str = info.value.response["Error"]["Code"]
    return code


# --- artifacts ----------------------------------------------------------------------------------


def test_create_and_describe_round_trip(sm: Any) -> None:
    arn = sm.create_artifact(
        ArtifactName="churn-data",
        Source={
            "SourceUri": "s3://acme/churn.csv",
            "SourceTypes": [{"SourceIdType": "S3ETag", "Value": "e"}],
        },
        ArtifactType="DataSet",
        Properties={"stage": "raw"},
        MetadataProperties={"CommitId": "abc", "Repository": "https://github.com/acme/ml"},
        Tags=[{"Key": "team", "Value": "churn"}],
    )["ArtifactArn"]
    assert arn.startswith(f"arn:aws:sagemaker:{REGION}:123456789012:artifact/")
    assert len(arn.rsplit("/", 1)[1]) == 32
    described = sm.describe_artifact(ArtifactArn=arn)
    assert described["ArtifactName"] == "churn-data"
    assert described["Source"]["SourceTypes"] == [{"SourceIdType": "S3ETag", "Value": "e"}]
    assert described["Properties"] == {"stage": "raw"}
    assert described["MetadataProperties"] == {
        "CommitId": "abc",
        "Repository": "https://github.com/acme/ml",
    }
    assert described["CreationTime"].tzinfo is not None
    assert described["CreationTime"] == described["LastModifiedTime"]
    assert "Tags" not in described  # the service does not return tags on Describe
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "churn"}]


def test_the_arn_derives_from_the_whole_source_and_the_region(sandbox: Sandbox) -> None:
    sm = client(sandbox)
    arn = create(sm, "s3://acme/a")
    sm.delete_artifact(ArtifactArn=arn)
    assert create(sm, "s3://acme/a") == arn
    other = boto3.client(
        "sagemaker",
        endpoint_url=sandbox.url,
        region_name="us-east-1",
        aws_access_key_id="a",
        aws_secret_access_key="b",
    )
    assert create(other, "s3://acme/a") == arn.replace(REGION, "us-east-1")
    typed = create(
        sm, "s3://acme/a", Source={"SourceUri": "s3://acme/a", "SourceTypes": [etag("1")]}
    )
    assert typed != arn
    assert typed.rsplit("/", 1)[0] == arn.rsplit("/", 1)[0]


def etag(value: str) -> dict[str, str]:
    return {"SourceIdType": "S3ETag", "Value": value}


def test_one_artifact_per_whole_source_and_names_are_not_unique(sm: Any) -> None:
    """The service's ARN is a hash of the whole Source, and its own SDK keeps several
    artifacts of one SourceUri with different SourceTypes, all under one fixed name."""
    plain = create(sm, "s3://acme/a", ArtifactName="first")
    with pytest.raises(ClientError) as info:
        create(sm, "s3://acme/a")
    assert error_code(info) == "ValidationException"
    assert "already exists" in str(info.value)
    both = [etag("1"), {"SourceIdType": "Custom", "Value": "v"}]
    typed = sm.create_artifact(
        Source={"SourceUri": "s3://acme/a", "SourceTypes": both},
        ArtifactType="DataSet",
        ArtifactName="first",
    )["ArtifactArn"]
    other = sm.create_artifact(
        Source={"SourceUri": "s3://acme/a", "SourceTypes": [etag("2")]},
        ArtifactType="DataSet",
        ArtifactName="first",
    )["ArtifactArn"]
    assert len({plain, typed, other}) == 3
    with pytest.raises(ClientError) as info:  # the same SourceTypes in another order
        sm.create_artifact(
            Source={"SourceUri": "s3://acme/a", "SourceTypes": both[::-1]},
            ArtifactType="Model",
        )
    assert error_code(info) == "ValidationException"
    assert typed in str(info.value)
    with pytest.raises(ClientError):  # no SourceTypes and an empty list are the same source
        sm.create_artifact(
            Source={"SourceUri": "s3://acme/a", "SourceTypes": []}, ArtifactType="Model"
        )
    create(sm, "s3://acme/b", ArtifactName="first")
    listed = sm.list_artifacts(SourceUri="s3://acme/a", MaxResults=100)["ArtifactSummaries"]
    assert sorted(s["ArtifactArn"] for s in listed) == sorted([plain, typed, other])
    assert {s["ArtifactName"] for s in listed} == {"first"}


def test_describe_update_delete_of_an_unknown_arn_are_resource_not_found(sm: Any) -> None:
    missing = "arn:aws:sagemaker:eu-west-1:123456789012:artifact/00000000000000000000000000000000"
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.describe_artifact(ArtifactArn=missing)
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.update_artifact(ArtifactArn=missing, ArtifactName="x")
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.delete_artifact(ArtifactArn=missing)
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.add_tags(ResourceArn=missing, Tags=[{"Key": "a", "Value": "b"}])


def test_update_replaces_properties_and_removes_keys(sm: Any) -> None:
    arn = create(sm, "s3://acme/a", Properties={"a": "1", "b": "2"})
    before = sm.describe_artifact(ArtifactArn=arn)["LastModifiedTime"]
    time.sleep(0.01)
    sm.update_artifact(
        ArtifactArn=arn,
        ArtifactName="renamed",
        Properties={"b": "3", "c": "4"},
        PropertiesToRemove=["c"],
    )
    described = sm.describe_artifact(ArtifactArn=arn)
    assert described["ArtifactName"] == "renamed"
    assert described["Properties"] == {"b": "3"}
    assert described["LastModifiedTime"] > before
    sm.update_artifact(ArtifactArn=arn, PropertiesToRemove=["b"])
    assert sm.describe_artifact(ArtifactArn=arn)["Properties"] == {}


def test_renaming_to_a_name_another_artifact_has_is_allowed(sm: Any) -> None:
    create(sm, "s3://acme/a", ArtifactName="taken")
    other = create(sm, "s3://acme/b", ArtifactName="free")
    sm.update_artifact(ArtifactArn=other, ArtifactName="taken")
    assert sm.describe_artifact(ArtifactArn=other)["ArtifactName"] == "taken"


def test_delete_by_arn_or_by_the_whole_source(sm: Any) -> None:
    first = create(sm, "s3://acme/a")
    create(sm, "s3://acme/b")
    typed = create(
        sm, "s3://acme/b", Source={"SourceUri": "s3://acme/b", "SourceTypes": [etag("e")]}
    )
    assert sm.delete_artifact(ArtifactArn=first)["ArtifactArn"] == first
    by_source = sm.delete_artifact(Source={"SourceUri": "s3://acme/b"})["ArtifactArn"]
    assert by_source.startswith("arn:aws:sagemaker:") and by_source != typed
    assert [s["ArtifactArn"] for s in sm.list_artifacts()["ArtifactSummaries"]] == [typed]
    with pytest.raises(ClientError) as info:
        sm.delete_artifact()
    assert error_code(info) == "ValidationException"
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.delete_artifact(Source={"SourceUri": "s3://acme/b"})
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.delete_artifact(Source={"SourceUri": "s3://acme/b", "SourceTypes": [etag("f")]})
    sm.delete_artifact(Source={"SourceUri": "s3://acme/b", "SourceTypes": [etag("e")]})
    assert sm.list_artifacts()["ArtifactSummaries"] == []


def test_the_artifact_quota(sandbox: Sandbox) -> None:
    with Sandbox(SandboxConfig(artifact_quota=3)) as small:
        sm = client(small)
        for i in range(3):
            create(sm, f"s3://acme/{i}")
        with pytest.raises(sm.exceptions.ResourceLimitExceeded) as info:
            create(sm, "s3://acme/3")
        assert (
            "'Total number of artifacts allowed, excluding those automatically created by SageMaker' is 3 Artifacts"
            in str(info.value)
        )
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


# --- listing ------------------------------------------------------------------------------------


def test_pagination_over_250_artifacts_newest_first(sm: Any) -> None:
    arns = [create(sm, f"s3://acme/{i:03d}") for i in range(250)]
    pages = list(sm.get_paginator("list_artifacts").paginate(PaginationConfig={"PageSize": 100}))
    assert [len(p["ArtifactSummaries"]) for p in pages] == [100, 100, 50]
    listed = [s["ArtifactArn"] for p in pages for s in p["ArtifactSummaries"]]
    assert listed == list(reversed(arns))
    ascending = [
        s["ArtifactArn"]
        for p in sm.get_paginator("list_artifacts").paginate(SortOrder="Ascending")
        for s in p["ArtifactSummaries"]
    ]
    assert ascending == arns
    first = sm.list_artifacts()
    assert len(first["ArtifactSummaries"]) == 10 and "NextToken" in first


def test_list_filters(sm: Any) -> None:
    create(sm, "s3://acme/a")
    middle = time.time()
    time.sleep(0.01)
    create(sm, "s3://acme/b")
    sm.create_artifact(Source={"SourceUri": "s3://acme/c"}, ArtifactType="Model")

    def uris(**kwargs: Any) -> list[str]:
        return sorted(
            s["Source"]["SourceUri"] for s in sm.list_artifacts(**kwargs)["ArtifactSummaries"]
        )

    assert uris(SourceUri="s3://acme/b") == ["s3://acme/b"]
    assert uris(ArtifactType="Model") == ["s3://acme/c"]
    assert uris(CreatedAfter=middle) == ["s3://acme/b", "s3://acme/c"]
    assert uris(CreatedBefore=middle) == ["s3://acme/a"]
    assert uris(SortBy="CreationTime", MaxResults=100) == [
        "s3://acme/a",
        "s3://acme/b",
        "s3://acme/c",
    ]


def test_a_bad_next_token_is_a_validation_error(sm: Any) -> None:
    with pytest.raises(ClientError) as info:
        sm.list_artifacts(NextToken="not-a-token!")
    assert error_code(info) == "ValidationException"


# --- what botocore lets through but the service refuses -----------------------------------------


@pytest.mark.parametrize(
    ("call", "kwargs", "fragment"),
    [
        (
            "create_artifact",
            {"ArtifactName": "a" * 121},
            "at 'artifactName' failed to satisfy constraint: Member must have length less than or equal to 120",
        ),
        (
            "create_artifact",
            {"ArtifactName": "a_b"},
            "Member must satisfy regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,119}",
        ),
        (
            "create_artifact",
            {"Properties": {f"k{i}": "v" for i in range(31)}},
            "at 'properties' failed to satisfy constraint: Member must have length less than or equal to 30",
        ),
        (
            "create_artifact",
            {"Tags": [{"Key": f"k{i}", "Value": "v"} for i in range(51)]},
            "at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50",
        ),
        (
            "create_artifact",
            {"Tags": [{"Key": "bad!", "Value": "v"}]},
            "at 'tags.1.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern",
        ),
        (
            "create_artifact",
            {
                "Source": {
                    "SourceUri": "s3://x",
                    "SourceTypes": [{"SourceIdType": "md5", "Value": "v"}],
                }
            },
            "Member must satisfy enum value set: [MD5Hash, S3ETag, S3Version, Custom]",
        ),
        (
            "create_artifact",
            {"Properties": {"k": "v" * 4097}},
            "Map value must satisfy constraint: [Member must have length less than or equal to 4096]",
        ),
        (
            "list_artifacts",
            {"MaxResults": 101},
            "at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100",
        ),
    ],
)
def test_what_botocore_lets_through_the_sandbox_refuses(
    sm: Any, call: str, kwargs: dict[str, Any], fragment: str
) -> None:
    if call == "create_artifact":
        kwargs = {"Source": {"SourceUri": "s3://acme/x"}, "ArtifactType": "DataSet", **kwargs}
    with pytest.raises(ClientError) as info:
        getattr(sm, call)(**kwargs)
    assert error_code(info) == "ValidationException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert fragment in info.value.response["Error"]["Message"]
    assert info.value.response["Error"]["Message"].startswith(
        ("1 validation error detected: ", "2 validation errors detected: ")
    )


def test_unicode_letters_are_fine_in_tags(sm: Any) -> None:
    arn = create(sm, "s3://acme/x", Tags=[{"Key": "équipe", "Value": "données"}])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "équipe", "Value": "données"}]


# --- tags ---------------------------------------------------------------------------------------


def test_tags_add_overwrite_delete_and_page(sm: Any) -> None:
    arn = create(sm, "s3://acme/x", Tags=[{"Key": "a", "Value": "1"}])
    assert sm.add_tags(
        ResourceArn=arn, Tags=[{"Key": "a", "Value": "2"}, {"Key": "b", "Value": "3"}]
    )["Tags"] == [
        {"Key": "a", "Value": "2"},
        {"Key": "b", "Value": "3"},
    ]
    sm.delete_tags(ResourceArn=arn, TagKeys=["b", "absent"])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "a", "Value": "2"}]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": f"k{i:02d}", "Value": "v"} for i in range(49)])
    pages = list(
        sm.get_paginator("list_tags").paginate(ResourceArn=arn, PaginationConfig={"PageSize": 50})
    )
    assert [len(p["Tags"]) for p in pages] == [50]
    with pytest.raises(ClientError) as info:
        sm.add_tags(ResourceArn=arn, Tags=[{"Key": "one-too-many", "Value": "v"}])
    assert error_code(info) == "ValidationException"
    with pytest.raises(ClientError) as info:
        sm.delete_tags(ResourceArn=arn, TagKeys=[f"k{i}" for i in range(51)])
    assert error_code(info) == "ValidationException"


# --- associations -------------------------------------------------------------------------------


def test_associations_and_the_delete_they_block(sm: Any) -> None:
    data = create(sm, "s3://acme/data")
    model = sm.create_artifact(
        Source={"SourceUri": "s3://acme/model"}, ArtifactType="Model", ArtifactName="m"
    )["ArtifactArn"]
    report = create(sm, "s3://acme/report")
    sm.add_association(SourceArn=data, DestinationArn=model, AssociationType="ContributedTo")
    sm.add_association(SourceArn=model, DestinationArn=report)
    with pytest.raises(ClientError) as info:
        sm.add_association(SourceArn=data, DestinationArn=model)
    assert error_code(info) == "ValidationException"
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.add_association(SourceArn=data, DestinationArn=data.replace("artifact/", "artifact/f"))

    into_model = sm.list_associations(DestinationArn=model)["AssociationSummaries"]
    assert [
        (
            a["SourceArn"],
            a["AssociationType"],
            a["SourceType"],
            a["DestinationType"],
            a["DestinationName"],
        )
        for a in into_model
    ] == [(data, "ContributedTo", "DataSet", "Model", "m")]
    out_of_model = sm.list_associations(SourceArn=model)["AssociationSummaries"]
    assert [a["DestinationArn"] for a in out_of_model] == [report]
    assert len(sm.list_associations(SourceType="DataSet")["AssociationSummaries"]) == 1
    assert len(sm.list_associations(AssociationType="ContributedTo")["AssociationSummaries"]) == 1
    by_source = sm.list_associations(SortBy="SourceArn", SortOrder="Ascending")[
        "AssociationSummaries"
    ]
    assert [a["SourceArn"] for a in by_source] == sorted([data, model])

    with pytest.raises(ClientError) as info:
        sm.delete_artifact(ArtifactArn=model)
    assert error_code(info) == "ValidationException"
    assert "associations" in str(info.value)
    sm.delete_association(SourceArn=data, DestinationArn=model)
    sm.delete_association(SourceArn=model, DestinationArn=report)
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.delete_association(SourceArn=model, DestinationArn=report)
    sm.delete_artifact(ArtifactArn=model)


def test_deleting_an_associated_artifact_can_cascade() -> None:
    with Sandbox(SandboxConfig(delete_associated="cascade")) as cascading:
        sm = client(cascading)
        data, model, report = (create(sm, f"s3://acme/{n}") for n in ("data", "model", "report"))
        sm.add_association(SourceArn=data, DestinationArn=model)
        sm.add_association(SourceArn=model, DestinationArn=report)
        sm.add_association(SourceArn=data, DestinationArn=report)
        assert sm.delete_artifact(ArtifactArn=model)["ArtifactArn"] == model
        left = sm.list_associations(MaxResults=100)["AssociationSummaries"]
        assert [(a["SourceArn"], a["DestinationArn"]) for a in left] == [(data, report)]
        assert sm.list_associations(SourceArn=model)["AssociationSummaries"] == []
        assert sm.list_associations(DestinationArn=model)["AssociationSummaries"] == []


def test_delete_associated_accepts_only_its_modes() -> None:
    with pytest.raises(ValueError, match="delete_associated"):
        Sandbox(SandboxConfig(delete_associated="orphan"))


# --- STS and the wire ---------------------------------------------------------------------------


def test_sts_get_caller_identity_on_the_same_endpoint(sandbox: Sandbox) -> None:
    identity = client(sandbox, "sts").get_caller_identity()
    assert identity["Account"] == "123456789012"
    assert identity["Arn"] == "arn:aws:iam::123456789012:user/sandbox"


def test_aws_endpoint_url_serves_both_clients(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "a")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "b")
    session = boto3.Session(region_name=REGION)
    assert session.client("sts").get_caller_identity()["Account"] == "123456789012"
    assert session.client("sagemaker").list_artifacts()["ArtifactSummaries"] == []


def raw_post(
    sandbox: Sandbox, target: str | None, body: dict[str, Any], auth: bool = True
) -> tuple[int, dict[str, Any]]:
    url = urlparse(sandbox.url)
    connection = http.client.HTTPConnection(url.hostname or "", url.port)
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    if target:
        headers["X-Amz-Target"] = target
    if auth:
        headers["Authorization"] = (
            "AWS4-HMAC-SHA256 Credential=AKID/20261129/eu-west-1/sagemaker/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=0123"
        )
    connection.request("POST", "/", body=json.dumps(body), headers=headers)
    response = connection.getresponse()
    payload = json.loads(response.read() or b"{}")
    connection.close()
    return response.status, payload


def test_unsigned_requests_are_refused(sandbox: Sandbox) -> None:
    status, body = raw_post(sandbox, "SageMaker.ListArtifacts", {}, auth=False)
    assert (status, body["__type"]) == (403, "MissingAuthenticationTokenException")


def test_unknown_operations_and_wrong_types(sandbox: Sandbox) -> None:
    status, body = raw_post(sandbox, "SageMaker.MakeCoffee", {})
    assert (status, body["__type"]) == (400, "UnknownOperationException")
    status, body = raw_post(sandbox, "SageMaker.ListArtifacts", {"MaxResults": "ten"})
    assert (status, body["__type"]) == (400, "SerializationException")


def test_responses_conform_to_the_output_shapes(sandbox: Sandbox) -> None:
    model = botocore.session.get_session().get_service_model("sagemaker")
    sm = client(sandbox)
    arn = create(
        sm,
        "s3://acme/a",
        ArtifactName="a",
        Properties={"k": "v"},
        MetadataProperties={"ProjectId": "p"},
        Tags=[{"Key": "t", "Value": "v"}],
    )
    other = create(sm, "s3://acme/b")
    sm.add_association(SourceArn=arn, DestinationArn=other, AssociationType="DerivedFrom")
    calls: list[tuple[str, dict[str, Any]]] = [
        ("DescribeArtifact", {"ArtifactArn": arn}),
        ("ListArtifacts", {"MaxResults": 1}),
        ("ListTags", {"ResourceArn": arn}),
        ("ListAssociations", {"SourceArn": arn}),
        ("AddTags", {"ResourceArn": arn, "Tags": [{"Key": "x", "Value": "y"}]}),
        ("UpdateArtifact", {"ArtifactArn": arn, "Properties": {"k": "w"}}),
        ("CreateArtifact", {"Source": {"SourceUri": "s3://acme/c"}, "ArtifactType": "DataSet"}),
    ]
    for operation, params in calls:
        status, body = raw_post(sandbox, f"SageMaker.{operation}", params)
        assert status == 200, body
        shape = model.operation_model(operation).output_shape
        assert shape is not None
        assert conforms(shape, body) == [], operation
        assert body, operation


# --- knobs --------------------------------------------------------------------------------------


def test_throttling_is_absorbed_by_botocore_retries() -> None:
    with Sandbox(SandboxConfig(rate_limit=5)) as limited:
        sm = client(limited, config=Config(retries={"max_attempts": 10, "mode": "standard"}))
        retried = sum(sm.list_artifacts()["ResponseMetadata"]["RetryAttempts"] for _ in range(12))
        assert retried > 0
        assert limited.stats()["throttled"] > 0
        strict = client(limited, config=NO_RETRIES)
        with pytest.raises(ClientError) as info:
            for _ in range(20):
                strict.list_artifacts()
        assert error_code(info) == "ThrottlingException"
        assert info.value.response["Error"]["Message"] == "Rate exceeded"
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_server_errors_happen_before_any_effect_and_are_retried() -> None:
    with Sandbox(SandboxConfig(error_rate=0.5, seed=7)) as flaky:
        strict = client(flaky, config=NO_RETRIES)
        outcomes = []
        for i in range(20):
            try:
                create(strict, f"s3://acme/{i}")
                outcomes.append(True)
            except ClientError as exc:
                assert exc.response["Error"]["Code"] == "InternalFailure"
                assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 500
                outcomes.append(False)
        assert 0 < outcomes.count(False) < 20
        listed = client(
            flaky, config=Config(retries={"max_attempts": 20, "mode": "standard"})
        ).list_artifacts(MaxResults=100)
        assert len(listed["ArtifactSummaries"]) == outcomes.count(True)


def test_the_same_seed_repeats_the_same_faults() -> None:
    def run() -> list[bool]:
        with Sandbox(SandboxConfig(error_rate=0.3, seed=42)) as flaky:
            strict = client(flaky, config=NO_RETRIES)
            results = []
            for _ in range(30):
                try:
                    strict.list_artifacts()
                    results.append(True)
                except ClientError:
                    results.append(False)
            return results

    assert run() == run()


def test_a_lost_response_leaves_the_artifact_created() -> None:
    with Sandbox(SandboxConfig(lost_response_rate=1.0)) as lossy:
        strict = client(lossy, config=NO_RETRIES)
        with pytest.raises(ConnectionClosedError):
            create(strict, "s3://acme/lost")
        found = strict.list_artifacts(SourceUri="s3://acme/lost")["ArtifactSummaries"]
        assert len(found) == 1
        assert lossy.stats()["lost_responses"] == 1
        # A client that retries sees its own write as a conflict: the reason apply looks it up.
        retrying = client(lossy, config=Config(retries={"max_attempts": 3, "mode": "standard"}))
        with pytest.raises(ClientError) as info:
            create(retrying, "s3://acme/lost")
        assert "already exists" in str(info.value)


def test_list_lag_hides_then_shows_a_new_artifact() -> None:
    with Sandbox(SandboxConfig(list_lag_ms=300)) as lagging:
        sm = client(lagging)
        arn = create(sm, "s3://acme/new")
        assert sm.list_artifacts(SourceUri="s3://acme/new")["ArtifactSummaries"] == []
        assert sm.describe_artifact(ArtifactArn=arn)["ArtifactArn"] == arn
        deadline = time.monotonic() + 5
        while not sm.list_artifacts(SourceUri="s3://acme/new")["ArtifactSummaries"]:
            assert time.monotonic() < deadline, "the artifact never showed up in the list"
            time.sleep(0.05)


def test_write_lag_shows_the_old_state_for_a_while() -> None:
    with Sandbox(SandboxConfig(write_lag_ms=1500)) as lagging:
        sm = client(lagging)
        arn = create(sm, "s3://acme/a", ArtifactName="old", Tags=[{"Key": "t", "Value": "1"}])
        gone = create(sm, "s3://acme/gone")
        assert sm.describe_artifact(ArtifactArn=arn)["ArtifactName"] == "old"  # creates: at once
        sm.update_artifact(ArtifactArn=arn, ArtifactName="new")
        sm.add_tags(ResourceArn=arn, Tags=[{"Key": "t", "Value": "2"}])
        sm.delete_artifact(ArtifactArn=gone)
        written = time.monotonic()
        # Reads show the old state ...
        assert sm.describe_artifact(ArtifactArn=arn)["ArtifactName"] == "old"
        assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "t", "Value": "1"}]
        assert sm.describe_artifact(ArtifactArn=gone)["ArtifactArn"] == gone
        listed = {s["ArtifactArn"]: s for s in sm.list_artifacts()["ArtifactSummaries"]}
        assert set(listed) == {arn, gone} and listed[arn]["ArtifactName"] == "old"
        # ... while writes see the new one.
        with pytest.raises(sm.exceptions.ResourceNotFound):
            sm.update_artifact(ArtifactArn=gone, ArtifactName="x")
        assert time.monotonic() - written < 1.5, "the machine is too slow for this test"
        deadline = time.monotonic() + 10
        while sm.describe_artifact(ArtifactArn=arn)["ArtifactName"] != "new":
            assert time.monotonic() < deadline, "the update never showed"
            time.sleep(0.05)
        assert time.monotonic() - written >= 1.4
        time.sleep(0.2)  # the later writes show a little later
        assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "t", "Value": "2"}]
        with pytest.raises(sm.exceptions.ResourceNotFound):
            sm.describe_artifact(ArtifactArn=gone)
        assert [s["ArtifactArn"] for s in sm.list_artifacts()["ArtifactSummaries"]] == [arn]


def test_empty_pages_with_a_next_token_lose_nothing() -> None:
    with Sandbox(SandboxConfig(empty_page_rate=0.5, seed=11)) as sparse:
        sm = client(sparse, config=NO_RETRIES)
        arns = [create(sm, f"s3://acme/{i:02d}") for i in range(25)]
        pages = list(sm.get_paginator("list_artifacts").paginate(PaginationConfig={"PageSize": 10}))
        assert any(not p["ArtifactSummaries"] and p.get("NextToken") for p in pages)
        listed = [s["ArtifactArn"] for p in pages for s in p["ArtifactSummaries"]]
        assert listed == list(reversed(arns))
        assert sparse.stats()["empty_pages"] > 0
        for page in sm.get_paginator("list_tags").paginate(ResourceArn=arns[0]):
            assert page["Tags"] == [] or "NextToken" not in page


def test_latency_delays_every_request() -> None:
    with Sandbox(SandboxConfig(latency_ms=200)) as slow:
        sm = client(slow)
        started = time.monotonic()
        sm.list_artifacts()
        assert time.monotonic() - started >= 0.2


def test_counters_count_requests_per_operation(sandbox: Sandbox, sm: Any) -> None:
    create(sm, "s3://acme/a")
    sm.list_artifacts()
    sm.list_artifacts()
    assert sandbox.counters() == {"CreateArtifact": 1, "ListArtifacts": 2}
    sandbox.reset_counters()
    assert sandbox.counters() == {}


# --- state and concurrency ----------------------------------------------------------------------


def test_state_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.json"
    with Sandbox(SandboxConfig(state=state)) as first:
        sm = client(first)
        arn = create(sm, "s3://acme/kept", Tags=[{"Key": "a", "Value": "b"}])
        other = create(sm, "s3://acme/other")
        sm.add_association(SourceArn=arn, DestinationArn=other)
    with Sandbox(SandboxConfig(state=state)) as second:
        sm = client(second)
        assert sm.describe_artifact(ArtifactArn=arn)["Source"]["SourceUri"] == "s3://acme/kept"
        assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "a", "Value": "b"}]
        assert len(sm.list_associations(SourceArn=arn)["AssociationSummaries"]) == 1


def test_the_state_file_is_appended_to_not_rewritten(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.state"
    with Sandbox(SandboxConfig(state=state)) as running:
        sm = client(running)
        arn = create(sm, "s3://acme/0")
        before = state.read_bytes()
        sm.add_tags(ResourceArn=arn, Tags=[{"Key": "a", "Value": "b"}])
        create(sm, "s3://acme/1")
        sm.list_artifacts()  # reads write nothing
        after = state.read_bytes()
        assert after.startswith(before)
        assert after.count(b"\n") == before.count(b"\n") + 2


def test_the_state_file_is_compacted_and_stays_exact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(statelog, "COMPACT_AFTER", 5)
    state = tmp_path / "sandbox.state"
    with Sandbox(SandboxConfig(state=state)) as running:
        sm = client(running)
        arns = [
            create(sm, f"s3://acme/{i:02d}", Tags=[{"Key": "i", "Value": str(i)}])
            for i in range(30)
        ]
        for arn in arns[::2]:
            sm.delete_artifact(ArtifactArn=arn)
        sm.add_association(SourceArn=arns[1], DestinationArn=arns[3])
        sm.update_artifact(ArtifactArn=arns[5], ArtifactName="five")
        assert state.read_bytes().count(b"\n") <= 1 + max(5, 15) + 1
    with Sandbox(SandboxConfig(state=state)) as restarted:
        sm = client(restarted)
        kept = [
            s["ArtifactArn"]
            for page in sm.get_paginator("list_artifacts").paginate(SortOrder="Ascending")
            for s in page["ArtifactSummaries"]
        ]
        assert kept == arns[1::2]
        assert sm.describe_artifact(ArtifactArn=arns[5])["ArtifactName"] == "five"
        assert sm.list_tags(ResourceArn=arns[7])["Tags"] == [{"Key": "i", "Value": "7"}]
        assert len(sm.list_associations(SourceArn=arns[1])["AssociationSummaries"]) == 1
        with pytest.raises(ClientError):
            create(sm, "s3://acme/01")  # the index by source was rebuilt too


def test_a_torn_last_record_is_ignored(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.state"
    with Sandbox(SandboxConfig(state=state)) as first:
        kept = create(client(first), "s3://acme/kept")
    with state.open("ab") as handle:  # a crash in the middle of writing a record
        handle.write(b'{"artifacts":{"arn:aws:sagemaker:eu-west-1:123456789012:artifact/x":{"ar')
    with Sandbox(SandboxConfig(state=state)) as second:
        sm = client(second)
        assert [s["ArtifactArn"] for s in sm.list_artifacts()["ArtifactSummaries"]] == [kept]
        later = create(sm, "s3://acme/later")
    with Sandbox(SandboxConfig(state=state)) as third:
        listed = client(third).list_artifacts()["ArtifactSummaries"]
        assert sorted(s["ArtifactArn"] for s in listed) == sorted([kept, later])


def test_a_damaged_record_before_the_last_is_a_clear_error(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.state"
    with Sandbox(SandboxConfig(state=state)) as first:
        create(client(first), "s3://acme/a")
        create(client(first), "s3://acme/b")
    lines = state.read_bytes().split(b"\n")
    lines[1] = lines[1][:20]
    state.write_bytes(b"\n".join(lines))
    with pytest.raises(ValueError, match=r"cannot read the sandbox state .*line 2.*move it away"):
        Sandbox(SandboxConfig(state=state))


def test_a_state_file_of_the_first_format_still_loads(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.json"
    arn = "arn:aws:sagemaker:eu-west-1:123456789012:artifact/0123456789abcdef0123456789abcdef"
    artifact = {
        "arn": arn,
        "region": REGION,
        "source": {"SourceUri": "s3://acme/old"},
        "artifact_type": "DataSet",
        "creation_time": 1.0,
        "last_modified_time": 1.0,
        "name": None,
        "properties": {},
        "metadata_properties": None,
        "tags": {"a": "b"},
    }
    document = {"format_version": 1, "account": "123456789012", "artifacts": [artifact]}
    state.write_text(json.dumps({**document, "associations": []}, sort_keys=True) + "\n")
    with Sandbox(SandboxConfig(state=state)) as running:
        assert client(running).list_tags(ResourceArn=arn)["Tags"] == [{"Key": "a", "Value": "b"}]


def test_a_killed_sandbox_keeps_every_write_it_answered(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.state"
    process = start_command("--state", str(state))
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://"), "the sandbox did not start"
        sm = client_at(url)
        arns = [create(sm, f"s3://acme/{i}") for i in range(40)]
        process.kill()
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    with Sandbox(SandboxConfig(state=state)) as restarted:
        listed = [
            s["ArtifactArn"]
            for page in client(restarted).get_paginator("list_artifacts").paginate()
            for s in page["ArtifactSummaries"]
        ]
        assert sorted(listed) == sorted(arns)


def test_concurrent_creates_of_one_source_make_exactly_one_artifact(sandbox: Sandbox) -> None:
    clients = [client(sandbox, config=NO_RETRIES) for _ in range(16)]
    barrier = threading.Barrier(len(clients))
    results: list[str] = []

    def attempt(sm: Any) -> None:
        barrier.wait()
        try:
            create(sm, "s3://acme/contended")
            results.append("created")
        except ClientError as exc:
            results.append(exc.response["Error"]["Code"])

    threads = [threading.Thread(target=attempt, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("created") == 1
    assert results.count("ValidationException") == len(clients) - 1
    assert len(clients[0].list_artifacts(SourceUri="s3://acme/contended")["ArtifactSummaries"]) == 1


# --- the command --------------------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_the_sandbox_command_serves_and_stops_cleanly(tmp_path: Path, signum: int) -> None:
    url_file = tmp_path / "url"
    process = start_command("--port", "0", "--url-file", str(url_file))
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        assert url_file.read_text().strip() == url
        sm = client_at(url)
        assert sm.list_artifacts()["ArtifactSummaries"] == []
        process.send_signal(signum)
        assert process.wait(timeout=10) == 0
        assert "reconciler sandbox stopped" in (process.stderr.read() if process.stderr else "")
    finally:
        if process.poll() is None:
            process.kill()


def test_the_command_passes_every_knob_on(tmp_path: Path) -> None:
    process = start_command(
        "--delete-associated", "cascade", "--empty-page-rate", "0.5", "--seed", "3",
        "--write-lag-ms", "1", "--idle-timeout", "30", "--state", str(tmp_path / "state"),
    )  # fmt: skip
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        sm = client_at(url)
        first, second = create(sm, "s3://acme/a"), create(sm, "s3://acme/b")
        sm.add_association(SourceArn=first, DestinationArn=second)
        sm.delete_artifact(ArtifactArn=first)  # cascade: the association goes with it
        time.sleep(0.05)  # the write lag
        listed = [
            s["ArtifactArn"]
            for page in sm.get_paginator("list_artifacts").paginate()
            for s in page["ArtifactSummaries"]
        ]
        assert listed == [second]
        with urlopen(f"{url}/_sandbox/stats", timeout=10) as response:
            assert json.load(response)["empty_pages"] > 0
        assert (tmp_path / "state").read_bytes().count(b"\n") >= 4
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_taken_port_is_a_clear_error(sandbox: Sandbox) -> None:
    port = urlparse(sandbox.url).port
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "sandbox", "--port", str(port)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"error: cannot listen on 127.0.0.1:{port} (Address already in use)"
    )


def test_an_unreadable_state_file_is_a_clear_error(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text("{not json")
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "sandbox", "--state", str(state)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: cannot read the sandbox state {state}")
    assert "move it away to start afresh" in result.stderr
    assert state.read_text() == "{not json"
