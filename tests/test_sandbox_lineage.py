"""The sandbox's whole lineage graph through unmodified boto3 over loopback: contexts, actions,
associations between every kind (trial components preloaded as SageMaker's own), QueryLineage,
the quotas, and the knobs (state, write lag, delete-associated) on the new kinds."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from reconciler.sandbox import Sandbox, SandboxConfig
from reconciler.sandbox.preload import PreloadError
from reconciler.sandbox.validation import conforms
from tests.test_sandbox import client_at, raw_post, start_command

REGION = "eu-west-1"
ACCOUNT = "123456789012"
MILLISECOND = timedelta(milliseconds=1)
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})
TRAINING = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:experiment-trial-component/churn-train-job"
OTHER_JOB = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:experiment-trial-component/churn-eval-job"
PRELOAD = [
    {"Kind": "TrialComponent", "Arn": TRAINING, "Type": "TrainingJob"},
    {"Kind": "TrialComponent", "Name": "churn-eval-job", "Region": REGION, "Type": "ProcessingJob"},
    {
        "Kind": "Context",
        "Name": "sagemaker-endpoint-context",
        "Region": REGION,
        "Type": "Endpoint",
        "Properties": {"stage": "prod"},
    },
]


def client(sandbox: Sandbox, region: str = REGION) -> Any:
    return boto3.client(
        "sagemaker",
        endpoint_url=sandbox.url,
        region_name=region,
        aws_access_key_id="AKIDSANDBOX",
        aws_secret_access_key="secret",
        config=NO_RETRIES,
    )


@pytest.fixture
def preload_file(tmp_path: Path) -> Path:
    path = tmp_path / "sagemaker-made.json"
    path.write_text(json.dumps(PRELOAD))
    return path


@pytest.fixture
def sandbox(preload_file: Path) -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(preload=preload_file)) as running:
        yield running


@pytest.fixture
def sm(sandbox: Sandbox) -> Any:
    return client(sandbox)


def error_of(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = info.value.response["Error"]
    return str(error["Code"]), str(error["Message"])


def context(sm: Any, name: str, **extra: Any) -> str:
    request = {
        "ContextName": name,
        "Source": {"SourceUri": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{name}"},
        "ContextType": "Endpoint",
        **extra,
    }
    arn: str = sm.create_context(**request)["ContextArn"]
    return arn


def action(sm: Any, name: str, **extra: Any) -> str:
    request = {
        "ActionName": name,
        "Source": {"SourceUri": f"s3://acme/approvals/{name}"},
        "ActionType": "ModelApproval",
        **extra,
    }
    arn: str = sm.create_action(**request)["ActionArn"]
    return arn


def artifact(sm: Any, uri: str, artifact_type: str = "DataSet", **extra: Any) -> str:
    arn: str = sm.create_artifact(Source={"SourceUri": uri}, ArtifactType=artifact_type, **extra)[
        "ArtifactArn"
    ]
    return arn


# --- contexts ----------------------------------------------------------------------------------


def test_context_create_describe_update_delete(sm: Any) -> None:
    arn = context(
        sm,
        "churn-endpoint",
        Description="Production endpoint",
        Properties={"stage": "prod", "owner": "ml"},
        Tags=[{"Key": "team", "Value": "ml"}],
    )
    assert arn == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:context/churn-endpoint"
    described = sm.describe_context(ContextName="churn-endpoint")
    assert described["ContextArn"] == arn
    assert described["ContextType"] == "Endpoint"
    assert described["Description"] == "Production endpoint"
    assert described["Properties"] == {"stage": "prod", "owner": "ml"}
    assert "Tags" not in described
    assert sm.describe_context(ContextName=arn)["ContextName"] == "churn-endpoint"  # by ARN too

    sm.update_context(
        ContextName="churn-endpoint",
        Description="Moved",
        Properties={"stage": "prod", "tier": "gold"},
        PropertiesToRemove=["stage"],
    )
    updated = sm.describe_context(ContextName="churn-endpoint")
    assert (updated["Description"], updated["Properties"]) == ("Moved", {"tier": "gold"})
    assert updated["LastModifiedTime"] >= described["LastModifiedTime"]
    sm.update_context(ContextName="churn-endpoint", PropertiesToRemove=["tier"])
    assert sm.describe_context(ContextName="churn-endpoint")["Properties"] == {}

    assert sm.delete_context(ContextName="churn-endpoint")["ContextArn"] == arn
    for call in (sm.describe_context, sm.delete_context):
        with pytest.raises(sm.exceptions.ResourceNotFound):
            call(ContextName="churn-endpoint")
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.update_context(ContextName="churn-endpoint", Description="x")


def test_a_duplicate_context_or_action_name_is_a_validation_exception(sm: Any) -> None:
    context(sm, "dup")
    action(sm, "dup")  # another kind: another namespace
    for create in (context, action):
        with pytest.raises(ClientError) as info:
            create(sm, "dup")
        assert error_of(info)[0] == "ValidationException"
        assert "already exists" in error_of(info)[1]


def test_names_are_unique_per_region_not_across_regions(sandbox: Sandbox, sm: Any) -> None:
    context(sm, "same")
    other = client(sandbox, "us-east-1")
    arn = context(other, "same")
    assert arn.startswith("arn:aws:sagemaker:us-east-1:")
    assert [c["ContextArn"] for c in other.list_contexts()["ContextSummaries"]] == [arn]


def test_list_contexts_filters_sorts_and_pages(sm: Any) -> None:
    names = [f"ctx-{i:02d}" for i in range(23)]
    for i, name in enumerate(names):
        context(sm, name, ContextType="Endpoint" if i % 2 else "ModelGroup")
        time.sleep(0.002)
    preloaded = "sagemaker-endpoint-context"

    def listed(**params: Any) -> list[str]:
        pages = sm.get_paginator("list_contexts").paginate(**params)
        return [c["ContextName"] for page in pages for c in page["ContextSummaries"]]

    assert listed() == [*reversed(names), preloaded]  # newest first; SageMaker's is oldest
    assert listed(SortOrder="Ascending", PaginationConfig={"PageSize": 4}) == [preloaded, *names]
    assert listed(SortBy="Name", SortOrder="Ascending") == sorted([*names, preloaded])
    assert listed(SortBy="Name") == sorted([*names, preloaded], reverse=True)
    assert listed(ContextType="ModelGroup") == list(reversed(names[::2]))
    uri = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/ctx-05"
    assert listed(SourceUri=uri) == ["ctx-05"]
    # Between two creations (2 ms apart): boto3 reads times back to the microsecond only.
    middle = sm.describe_context(ContextName="ctx-10")["CreationTime"] - MILLISECOND
    assert listed(CreatedAfter=middle, SortOrder="Ascending") == names[10:]
    assert listed(CreatedBefore=middle, SortOrder="Ascending") == [preloaded, *names[:10]]
    first = sm.list_contexts(MaxResults=5)
    assert len(first["ContextSummaries"]) == 5 and first["NextToken"]
    assert sm.list_contexts()["ContextSummaries"].__len__() == 10  # the default page
    with pytest.raises(ClientError) as info:  # a token of one sort does not continue another
        sm.list_contexts(SortBy="Name", NextToken=first["NextToken"])
    assert error_of(info)[0] == "ValidationException"


# --- actions -----------------------------------------------------------------------------------


def test_action_create_with_status_and_metadata_update_and_delete(sm: Any) -> None:
    arn = action(
        sm,
        "churn-approval",
        Status="InProgress",
        Description="Approval of v3",
        Properties={"approver": "ana", "ticket": "T-1"},
        MetadataProperties={"CommitId": "abc123", "Repository": "acme/ml"},
    )
    assert arn == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:action/churn-approval"
    described = sm.describe_action(ActionName="churn-approval")
    assert described["Status"] == "InProgress"
    assert described["MetadataProperties"] == {"CommitId": "abc123", "Repository": "acme/ml"}
    assert described["ActionType"] == "ModelApproval"
    sm.update_action(
        ActionName="churn-approval",
        Status="Completed",
        Description="Approved",
        Properties={"approver": "bo"},
        PropertiesToRemove=["ticket"],
    )
    updated = sm.describe_action(ActionName=arn)
    assert updated["Status"] == "Completed"
    assert updated["Description"] == "Approved"
    assert updated["Properties"] == {"approver": "bo"}
    assert updated["MetadataProperties"] == described["MetadataProperties"]  # not updatable
    summary = sm.list_actions()["ActionSummaries"]
    assert [(s["ActionName"], s["Status"]) for s in summary] == [("churn-approval", "Completed")]
    assert sm.list_actions(ActionType="Other")["ActionSummaries"] == []
    assert sm.delete_action(ActionName="churn-approval")["ActionArn"] == arn
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.describe_action(ActionName="churn-approval")


def test_actions_list_by_name_and_in_pages(sm: Any) -> None:
    for name in ("b", "c", "a"):
        action(sm, f"approve-{name}")
    pages = sm.get_paginator("list_actions").paginate(
        SortBy="Name", SortOrder="Ascending", PaginationConfig={"PageSize": 2}
    )
    assert [[s["ActionName"] for s in page["ActionSummaries"]] for page in pages] == [
        ["approve-a", "approve-b"],
        ["approve-c"],
    ]


def test_requests_are_validated_from_the_model(sandbox: Sandbox) -> None:
    bad: list[tuple[str, dict[str, Any], str]] = [
        ("CreateAction", {"ActionName": "a_b", "Source": {"SourceUri": "s"}, "ActionType": "t"},
         "regular expression"),
        ("CreateAction", {"ActionName": "a", "Source": {"SourceUri": "s"}, "ActionType": "t",
                          "Status": "Done"}, "enum"),
        ("CreateContext", {"ContextName": "c", "Source": {"SourceUri": "s"}, "ContextType": "t",
                           "Properties": {str(i): "v" for i in range(31)}}, "less than or equal"),
        ("ListContexts", {"MaxResults": 101}, "less than or equal to 100"),
        ("QueryLineage", {"StartArns": [TRAINING], "MaxDepth": 11}, "less than or equal to 10"),
        ("QueryLineage", {"StartArns": [TRAINING], "MaxResults": 51}, "less than or equal to 50"),
        ("QueryLineage", {"StartArns": [TRAINING, OTHER_JOB]}, "length less than or equal to 1"),
        ("QueryLineage", {"StartArns": [TRAINING], "Direction": "Up"}, "enum"),
        ("QueryLineage", {"StartArns": [TRAINING], "Filters": {"LineageTypes": ["Model"]}},
         "enum"),
        ("AddAssociation", {"SourceArn": TRAINING, "DestinationArn":
                            f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:experiment-trial/t"},
         "regular expression"),
    ]  # fmt: skip
    for operation, params, expected in bad:
        status, body = raw_post(sandbox, f"SageMaker.{operation}", params)
        assert (status, body["__type"]) == (400, "ValidationException"), (operation, body)
        assert expected in body["message"], (operation, body)


def test_the_context_name_may_hold_underscores_the_action_name_may_not(sm: Any) -> None:
    assert context(sm, "under_score").endswith(":context/under_score")
    with pytest.raises(ClientError):
        action(sm, "under_score")


# --- associations ------------------------------------------------------------------------------


def test_associations_join_every_kind_and_list_with_every_filter(sm: Any) -> None:
    data = artifact(sm, "s3://acme/churn/train.csv", ArtifactName="train-data")
    model = artifact(sm, "s3://acme/churn/model.tar.gz", "Model", ArtifactName="churn-model")
    approval = action(sm, "churn-approval")
    endpoint = context(sm, "churn-endpoint")
    edges = [
        (data, TRAINING, "ContributedTo"),
        (TRAINING, model, "Produced"),
        (model, approval, "ContributedTo"),
        (approval, endpoint, "AssociatedWith"),
        (data, model, "DerivedFrom"),
    ]
    for source, destination, kind in edges:
        time.sleep(0.002)
        answer = sm.add_association(
            SourceArn=source, DestinationArn=destination, AssociationType=kind
        )
        assert (answer["SourceArn"], answer["DestinationArn"]) == (source, destination)

    def listed(**params: Any) -> list[tuple[str, str]]:
        pages = sm.get_paginator("list_associations").paginate(**params)
        return [
            (s["SourceArn"], s["DestinationArn"])
            for page in pages
            for s in page["AssociationSummaries"]
        ]

    pairs = [(s, d) for s, d, _ in edges]
    assert listed() == list(reversed(pairs))
    assert listed(SortOrder="Ascending", PaginationConfig={"PageSize": 2}) == pairs
    assert listed(SourceArn=data) == [pairs[4], pairs[0]]
    assert listed(DestinationArn=model, SortOrder="Ascending") == [pairs[1], pairs[4]]
    assert listed(SourceArn=data, DestinationArn=model) == [pairs[4]]
    assert listed(SourceType="TrainingJob") == [pairs[1]]
    assert listed(DestinationType="Endpoint") == [pairs[3]]
    assert listed(AssociationType="ContributedTo", SortOrder="Ascending") == [pairs[0], pairs[2]]
    third = sm.list_associations(SourceArn=model)["AssociationSummaries"][0]["CreationTime"]
    assert listed(CreatedAfter=third - MILLISECOND, SortOrder="Ascending") == pairs[2:]
    assert listed(CreatedBefore=third + MILLISECOND, SortOrder="Ascending") == pairs[:3]
    by_type = listed(SortBy="SourceType", SortOrder="Ascending")
    assert [s for s, _ in by_type] == [data, data, model, approval, TRAINING]
    by_destination = listed(SortBy="DestinationArn", SortOrder="Ascending")
    assert [d for _, d in by_destination] == sorted(d for _, d in pairs)
    summary = sm.list_associations(SourceArn=TRAINING)["AssociationSummaries"][0]
    assert summary["SourceType"] == "TrainingJob"
    assert summary["SourceName"] == "churn-train-job"
    assert summary["DestinationName"] == "churn-model"
    assert summary["DestinationType"] == "Model"
    assert summary["AssociationType"] == "Produced"


def test_an_association_is_keyed_on_its_two_ends(sm: Any) -> None:
    endpoint = context(sm, "churn-endpoint")
    approval = action(sm, "churn-approval")
    sm.add_association(SourceArn=approval, DestinationArn=endpoint, AssociationType="Produced")
    with pytest.raises(ClientError) as info:  # another type between the same ends
        sm.add_association(
            SourceArn=approval, DestinationArn=endpoint, AssociationType="AssociatedWith"
        )
    assert error_of(info)[0] == "ValidationException"
    sm.add_association(SourceArn=endpoint, DestinationArn=approval)  # the other way is another
    sm.delete_association(SourceArn=approval, DestinationArn=endpoint)
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.delete_association(SourceArn=approval, DestinationArn=endpoint)
    remaining = sm.list_associations()["AssociationSummaries"]
    assert [(a["SourceArn"], a["DestinationArn"]) for a in remaining] == [(endpoint, approval)]


def test_associations_need_both_ends_and_not_two_experiment_entities(sm: Any) -> None:
    endpoint = context(sm, "churn-endpoint")
    missing = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:action/never-made"
    with pytest.raises(sm.exceptions.ResourceNotFound) as info:
        sm.add_association(SourceArn=missing, DestinationArn=endpoint)
    assert "never-made" in error_of(info)[1]
    with pytest.raises(ClientError) as bad:
        sm.add_association(SourceArn=TRAINING, DestinationArn=OTHER_JOB)
    assert error_of(bad)[0] == "ValidationException"
    sm.add_association(SourceArn=TRAINING, DestinationArn=endpoint)


@pytest.mark.parametrize("kind", ["context", "action"])
def test_deleting_an_associated_entity_refuses_by_default(sm: Any, kind: str) -> None:
    arn = context(sm, "held") if kind == "context" else action(sm, "held")
    sm.add_association(SourceArn=TRAINING, DestinationArn=arn)
    delete = sm.delete_context if kind == "context" else sm.delete_action
    name = {"ContextName": "held"} if kind == "context" else {"ActionName": "held"}
    with pytest.raises(ClientError) as info:
        delete(**name)
    assert error_of(info)[0] == "ValidationException"
    assert "associations" in error_of(info)[1]
    sm.delete_association(SourceArn=TRAINING, DestinationArn=arn)
    delete(**name)


def test_deleting_an_associated_context_or_action_can_cascade() -> None:
    with Sandbox(SandboxConfig(delete_associated="cascade")) as cascading:
        sm = client(cascading)
        endpoint, approval = context(sm, "churn-endpoint"), action(sm, "churn-approval")
        data = artifact(sm, "s3://acme/data")
        sm.add_association(SourceArn=data, DestinationArn=approval)
        sm.add_association(SourceArn=approval, DestinationArn=endpoint)
        sm.delete_action(ActionName="churn-approval")
        assert sm.list_associations()["AssociationSummaries"] == []
        sm.add_association(SourceArn=data, DestinationArn=endpoint)
        sm.delete_context(ContextName="churn-endpoint")
        assert sm.list_associations()["AssociationSummaries"] == []


# --- tags --------------------------------------------------------------------------------------


def test_tags_on_contexts_and_actions(sm: Any) -> None:
    for arn in (context(sm, "tagged"), action(sm, "tagged", Tags=[{"Key": "a", "Value": "1"}])):
        sm.add_tags(ResourceArn=arn, Tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "3"}])
        tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=arn)["Tags"]}
        assert tags == {"a": "3", "b": "2"}
        sm.delete_tags(ResourceArn=arn, TagKeys=["a"])
        assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "b", "Value": "2"}]
    gone = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:context/gone"
    with pytest.raises(ClientError):
        sm.add_tags(ResourceArn=gone, Tags=[{"Key": "a", "Value": "1"}])


# --- QueryLineage ------------------------------------------------------------------------------


def lineage(sm: Any) -> dict[str, str]:
    """data -> TRAINING -> model -> approval -> endpoint, and data -> model (DerivedFrom)."""
    makers: dict[str, Callable[[], str]] = {
        "data": lambda: artifact(sm, "s3://acme/data", Properties={"sensitive": "yes"}),
        "image": lambda: artifact(sm, "ecr://acme/train:1", "Image"),
        "model": lambda: artifact(sm, "s3://acme/model", "Model", Properties={"sensitive": "yes"}),
        "approval": lambda: action(sm, "approval", Status="Completed"),
        "endpoint": lambda: context(sm, "endpoint"),
    }
    arns = {"training": TRAINING}
    for name, make in makers.items():
        time.sleep(0.002)  # creations apart, for the time filters
        arns[name] = make()
    for source, destination, kind in [
        ("data", "training", "ContributedTo"),
        ("image", "training", "ContributedTo"),
        ("training", "model", "Produced"),
        ("model", "approval", "ContributedTo"),
        ("approval", "endpoint", "AssociatedWith"),
        ("data", "model", "DerivedFrom"),
    ]:
        sm.add_association(
            SourceArn=arns[source], DestinationArn=arns[destination], AssociationType=kind
        )
    return arns


def queried(sm: Any, **params: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    vertices: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    token: str | None = None
    for _ in range(50):
        answer = sm.query_lineage(**params, **({"NextToken": token} if token else {}))
        vertices += answer["Vertices"]
        edges += answer.get("Edges", [])
        token = answer.get("NextToken")
        if not token:
            return vertices, edges
    raise AssertionError("QueryLineage never stopped paging")


def test_query_lineage_directions_and_depth(sm: Any) -> None:
    arns = lineage(sm)
    name_of = {arn: name for name, arn in arns.items()}

    def names(**params: Any) -> list[str]:
        vertices, _ = queried(sm, StartArns=[arns["endpoint"]], **params)
        return [name_of[v["Arn"]] for v in vertices]

    everything = ["endpoint", "approval", "model", "training", "data", "image"]
    assert set(names(Direction="Ascendants")) == set(everything)
    assert names(Direction="Ascendants")[:3] == ["endpoint", "approval", "model"]  # nearest first
    assert names(Direction="Descendants") == ["endpoint"]
    assert set(names(Direction="Ascendants", MaxDepth=2)) == {"endpoint", "approval", "model"}
    assert set(names()) == set(everything)  # Both by default, 10 deep
    vertices, _ = queried(sm, StartArns=[arns["training"]], Direction="Descendants")
    assert {name_of[v["Arn"]] for v in vertices} == {"training", "model", "approval", "endpoint"}
    vertices, _ = queried(sm, StartArns=[arns["model"]], Direction="Both", MaxDepth=1)
    # Both walks each way; it does not turn around, so the image (a sibling's parent) is not in.
    assert {name_of[v["Arn"]] for v in vertices} == {"model", "training", "data", "approval"}
    by_arn = {v["Arn"]: v for v in queried(sm, StartArns=[arns["endpoint"]])[0]}
    assert by_arn[arns["training"]] == {
        "Arn": TRAINING,
        "Type": "TrainingJob",
        "LineageType": "TrialComponent",
    }
    assert by_arn[arns["model"]]["Type"] == "Model"
    assert by_arn[arns["model"]]["LineageType"] == "Artifact"
    assert by_arn[arns["approval"]]["LineageType"] == "Action"
    assert by_arn[arns["endpoint"]]["LineageType"] == "Context"


def test_query_lineage_filters(sm: Any) -> None:
    arns = lineage(sm)
    start = {"StartArns": [arns["endpoint"]], "Direction": "Ascendants"}

    def found(**filters: Any) -> set[str]:
        return {v["Arn"] for v in queried(sm, **start, Filters=filters)[0]}

    assert found(LineageTypes=["Artifact"]) == {arns["data"], arns["image"], arns["model"]}
    assert found(Types=["DataSet", "Image"]) == {arns["data"], arns["image"]}
    assert found(LineageTypes=["TrialComponent", "Action"]) == {TRAINING, arns["approval"]}
    assert found(Properties={"sensitive": "yes"}) == {arns["data"], arns["model"]}
    assert found(Properties={"sensitive": "yes"}, Types=["Model"]) == {arns["model"]}
    before_model = sm.describe_artifact(ArtifactArn=arns["model"])["CreationTime"] - MILLISECOND
    earlier = {arns["data"], arns["image"], TRAINING}  # SageMaker made the job long before
    assert found(CreatedBefore=before_model) == earlier
    assert found(CreatedAfter=before_model) == {arns["model"], arns["approval"], arns["endpoint"]}
    time.sleep(0.01)
    after_model = before_model + 2 * MILLISECOND
    sm.update_artifact(ArtifactArn=arns["data"], Properties={"sensitive": "no"})
    assert found(ModifiedAfter=after_model, LineageTypes=["Artifact"]) == {arns["data"]}
    assert found(ModifiedBefore=after_model) == {arns["image"], arns["model"], TRAINING}
    assert found(ModifiedAfter=datetime.now(UTC) + MILLISECOND) == set()


def test_query_lineage_edges_on_the_path(sm: Any) -> None:
    arns = lineage(sm)
    vertices, edges = queried(
        sm,
        StartArns=[arns["endpoint"]],
        Direction="Ascendants",
        IncludeEdges=True,
        Filters={"Types": ["Image"]},
    )
    # The image, and the entities on the path to it, with the path's edges.
    assert {v["Arn"] for v in vertices} == {
        arns[n] for n in ("image", "training", "model", "approval", "endpoint")
    }
    assert {(e["SourceArn"], e["DestinationArn"], e["AssociationType"]) for e in edges} == {
        (arns["image"], TRAINING, "ContributedTo"),
        (TRAINING, arns["model"], "Produced"),
        (arns["model"], arns["approval"], "ContributedTo"),
        (arns["approval"], arns["endpoint"], "AssociatedWith"),
    }
    assert len(edges) == 4
    vertices, edges = queried(sm, StartArns=[arns["endpoint"]], Filters={"Types": ["Image"]})
    assert ([v["Arn"] for v in vertices], edges) == ([arns["image"]], [])


def test_query_lineage_pages_lose_and_repeat_nothing(sm: Any) -> None:
    hub = context(sm, "hub")
    made = {artifact(sm, f"s3://acme/input-{i}") for i in range(23)}
    for arn in made:
        sm.add_association(SourceArn=arn, DestinationArn=hub)
    first = sm.query_lineage(StartArns=[hub], Direction="Ascendants", IncludeEdges=True)
    assert len(first["Vertices"]) == 10 and first["NextToken"]  # the default page
    vertices, edges = queried(
        sm, StartArns=[hub], Direction="Ascendants", IncludeEdges=True, MaxResults=7
    )
    assert vertices[0]["Arn"] == hub
    assert sorted(v["Arn"] for v in vertices[1:]) == sorted(made)
    assert len(vertices) == 24
    assert sorted(e["SourceArn"] for e in edges) == sorted(made)
    with pytest.raises(ClientError) as info:
        sm.query_lineage(StartArns=[hub], NextToken="bm90IG91cnM=")
    assert error_of(info)[0] == "ValidationException"


def test_query_lineage_of_an_unknown_start_is_resource_not_found(sm: Any) -> None:
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.query_lineage(StartArns=[f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:context/none"])
    assert sm.query_lineage(StartArns=[])["Vertices"] == []


# --- quotas ------------------------------------------------------------------------------------


def test_quotas_per_kind_and_region(preload_file: Path) -> None:
    config = SandboxConfig(
        context_quota=2, action_quota=1, association_quota=2, artifact_quota=1,
        preload=preload_file,
    )  # fmt: skip
    with Sandbox(config) as small:
        sm = client(small)
        first, _ = context(sm, "c1"), context(sm, "c2")  # SageMaker's context does not count
        action(sm, "a1")
        data = artifact(sm, "s3://acme/data")
        over: list[Callable[[], str]] = [
            lambda: context(sm, "c3"),
            lambda: action(sm, "a2"),
            lambda: artifact(sm, "s3://acme/more"),
        ]
        for create in over:
            with pytest.raises(sm.exceptions.ResourceLimitExceeded) as info:
                create()
            assert "with current utilization of" in error_of(info)[1]
        sm.add_association(SourceArn=data, DestinationArn=first)
        sm.add_association(SourceArn=TRAINING, DestinationArn=first)
        with pytest.raises(sm.exceptions.ResourceLimitExceeded) as info:
            sm.add_association(SourceArn=TRAINING, DestinationArn=data)
        assert "2 Associations" in error_of(info)[1]
        sm.delete_association(SourceArn=data, DestinationArn=first)
        sm.add_association(SourceArn=TRAINING, DestinationArn=data)  # room again
        sm.delete_context(ContextName="c2")
        context(sm, "c3")
        other_region = client(small, "us-east-1")
        context(other_region, "c1")
        context(other_region, "c2")


def test_the_default_quotas_are_the_documented_ones() -> None:
    config = SandboxConfig()
    assert (config.context_quota, config.action_quota) == (500, 3_000)
    assert (config.association_quota, config.artifact_quota) == (6_000, 6_000)


# --- preload, state, lag -----------------------------------------------------------------------


def test_preloaded_entities_are_held_and_described(sm: Any) -> None:
    described = sm.describe_context(ContextName="sagemaker-endpoint-context")
    assert described["Properties"] == {"stage": "prod"}
    assert described["ContextType"] == "Endpoint"


def test_a_yaml_preload_with_an_artifact(tmp_path: Path) -> None:
    path = tmp_path / "made.yaml"
    path.write_text(
        "- Kind: Artifact\n"
        "  Source: {SourceUri: 's3://sagemaker-made/model.tar.gz'}\n"
        "  Type: Model\n"
        f"  Region: {REGION}\n"
    )
    with Sandbox(SandboxConfig(preload=path, artifact_quota=1)) as running:
        sm = client(running)
        made = sm.list_artifacts()["ArtifactSummaries"]
        assert [(a["Source"]["SourceUri"], a["ArtifactType"]) for a in made] == [
            ("s3://sagemaker-made/model.tar.gz", "Model")
        ]
        artifact(sm, "s3://acme/mine")  # SageMaker's does not count towards the quota
        with pytest.raises(ClientError) as info:  # its Source is taken, as on the service
            artifact(sm, "s3://sagemaker-made/model.tar.gz")
        assert error_of(info)[0] == "ValidationException"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{}", "must hold a list"),
        ("- Kind: Experiment\n  Name: x\n  Type: t\n  Region: eu-west-1\n", "Kind must be one of"),
        ("- Kind: Context\n  Name: x\n  Type: t\n", "Region"),
        ("- Kind: Context\n  Name: 'a b'\n  Type: t\n  Region: eu-west-1\n", "Name"),
        ("- Kind: Artifact\n  Type: t\n  Region: eu-west-1\n", "SourceUri"),
        ("- Kind: Context\n  Nmae: x\n", "unknown field 'Nmae'"),
        (f"- Kind: Context\n  Name: x\n  Type: t\n  Arn: {TRAINING}\n", "is not the ARN"),
        ("- Kind: Context\n  Name: x\n  Type: t\n  Region: r\n  Account: '999999999999'\n",
         "does not serve"),
        ("- [unclosed\n", "cannot read"),
    ],
)  # fmt: skip
def test_a_bad_preload_file_is_a_clear_error(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "made.yaml"
    path.write_text(content)
    with pytest.raises(PreloadError) as info:
        Sandbox(SandboxConfig(preload=path))
    assert expected in str(info.value)
    assert str(path) in str(info.value)


def test_contexts_actions_and_their_edges_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with Sandbox(SandboxConfig(state=state)) as first:
        sm = client(first)
        endpoint = context(sm, "kept", Properties={"k": "v"}, Tags=[{"Key": "t", "Value": "1"}])
        approval = action(sm, "kept", Status="Completed")
        sm.add_association(SourceArn=approval, DestinationArn=endpoint)
        action(sm, "gone")
        sm.delete_action(ActionName="gone")
        sm.update_context(ContextName="kept", Description="after")
    with Sandbox(SandboxConfig(state=state)) as second:
        sm = client(second)
        described = sm.describe_context(ContextName="kept")
        assert (described["Description"], described["Properties"]) == ("after", {"k": "v"})
        assert sm.list_tags(ResourceArn=endpoint)["Tags"] == [{"Key": "t", "Value": "1"}]
        assert sm.describe_action(ActionName="kept")["Status"] == "Completed"
        with pytest.raises(sm.exceptions.ResourceNotFound):
            sm.describe_action(ActionName="gone")
        edges = sm.list_associations()["AssociationSummaries"]
        assert [(e["SourceArn"], e["DestinationArn"]) for e in edges] == [(approval, endpoint)]
        second.service.quotas["Context"] = 1
        with pytest.raises(sm.exceptions.ResourceLimitExceeded):  # the quota counts what was kept
            context(sm, "another")
    first_line = json.loads(state.read_bytes().split(b"\n")[0])  # compacted on the restart
    assert [e["name"] for e in first_line["entities"]] == ["kept", "kept"]
    with Sandbox(SandboxConfig(state=state)) as third:  # from the snapshot this time
        sm = client(third)
        assert sm.describe_context(ContextName="kept")["Description"] == "after"
        assert sm.describe_action(ActionName="kept")["Status"] == "Completed"
        assert len(sm.list_associations()["AssociationSummaries"]) == 1


def test_write_lag_covers_contexts_and_actions() -> None:
    with Sandbox(SandboxConfig(write_lag_ms=1500)) as lagging:
        sm = client(lagging)
        context(sm, "lagging", Description="old")
        action(sm, "gone")
        sm.update_context(ContextName="lagging", Description="new")
        sm.delete_action(ActionName="gone")
        written = time.monotonic()
        assert sm.describe_context(ContextName="lagging")["Description"] == "old"
        assert sm.describe_action(ActionName="gone")["ActionName"] == "gone"
        assert [a["ActionName"] for a in sm.list_actions()["ActionSummaries"]] == ["gone"]
        assert time.monotonic() - written < 1.5, "the machine is too slow for this test"
        deadline = time.monotonic() + 10
        while sm.describe_context(ContextName="lagging")["Description"] != "new":
            assert time.monotonic() < deadline, "the update never showed"
            time.sleep(0.05)
        time.sleep(0.1)
        assert sm.list_actions()["ActionSummaries"] == []


def test_list_lag_hides_a_new_context_for_a_while() -> None:
    with Sandbox(SandboxConfig(list_lag_ms=300)) as lagging:
        sm = client(lagging)
        context(sm, "new")
        assert sm.list_contexts()["ContextSummaries"] == []
        assert sm.describe_context(ContextName="new")["ContextName"] == "new"
        deadline = time.monotonic() + 10
        while not sm.list_contexts()["ContextSummaries"]:
            assert time.monotonic() < deadline, "the context never showed up in the list"
            time.sleep(0.05)


def test_responses_conform_to_the_output_shapes(sandbox: Sandbox, sm: Any) -> None:
    model = botocore.session.get_session().get_service_model("sagemaker")
    endpoint = context(sm, "shape", Description="d", Properties={"k": "v"})
    approval = action(sm, "shape", Status="Completed", MetadataProperties={"CommitId": "c"})
    sm.add_association(SourceArn=approval, DestinationArn=endpoint, AssociationType="Produced")
    sm.add_association(SourceArn=TRAINING, DestinationArn=approval)
    calls: list[tuple[str, dict[str, Any]]] = [
        ("DescribeContext", {"ContextName": "shape"}),
        ("DescribeAction", {"ActionName": "shape"}),
        ("ListContexts", {}),
        ("ListActions", {}),
        ("ListAssociations", {"DestinationArn": approval}),
        ("UpdateContext", {"ContextName": "shape", "Description": "e"}),
        ("UpdateAction", {"ActionName": "shape", "Status": "Failed"}),
        ("QueryLineage", {"StartArns": [endpoint], "IncludeEdges": True, "MaxResults": 1}),
    ]
    for operation, params in calls:
        status, body = raw_post(sandbox, f"SageMaker.{operation}", params)
        assert status == 200, body
        shape = model.operation_model(operation).output_shape
        assert shape is not None
        assert conforms(shape, body) == [], operation
        assert body, operation


def test_the_command_passes_the_new_knobs_on(tmp_path: Path, preload_file: Path) -> None:
    process = start_command(
        "--preload", str(preload_file), "--context-quota", "1", "--action-quota", "1",
        "--association-quota", "1", "--delete-associated", "cascade",
    )  # fmt: skip
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        sm = client_at(url)
        endpoint = context(sm, "only")
        with pytest.raises(ClientError):
            context(sm, "second")
        action(sm, "only")
        with pytest.raises(ClientError):
            action(sm, "second")
        sm.add_association(SourceArn=TRAINING, DestinationArn=endpoint)
        with pytest.raises(ClientError):
            sm.add_association(SourceArn=OTHER_JOB, DestinationArn=endpoint)
        sm.delete_context(ContextName="only")  # cascade
        assert sm.list_associations()["AssociationSummaries"] == []
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_command_refuses_a_bad_preload_file(tmp_path: Path) -> None:
    path = tmp_path / "made.yaml"
    path.write_text("- Kind: Nope\n")
    process = start_command("--preload", str(path))
    try:
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode != 0
    assert "Kind must be one of" in stderr and "Traceback" not in stderr
