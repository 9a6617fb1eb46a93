"""reconciler graph --live: what the service holds around our entities, read with QueryLineage
from the sandbox over HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reconciler.sandbox import Sandbox
from tests.helpers import manifest_doc
from tests.sandboxed import apply, declare, reconciler, recorded, sm


def _document(name: str, kind: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "reconciler/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}


def _applied_graph(repo: Path, sandbox: Sandbox) -> str:
    """data -> model -> endpoint applied by reconciler, and an edge made by hand from another
    team's artifact to data; the other artifact's ARN."""
    declare(
        repo,
        manifest_doc("data"),
        manifest_doc("model", ArtifactType="Model"),
        _document(
            "endpoint",
            "Context",
            ContextType="Endpoint",
            Source={"SourceUri": "arn:aws:sagemaker:eu-west-1:123456789012:endpoint/churn"},
        ),
        _document("data-to-model", "Association", Source="data", Destination="model"),
        _document(
            "model-to-endpoint",
            "Association",
            Source="model",
            Destination="endpoint",
            AssociationType="ContributedTo",
        ),
    )
    result = apply()
    assert result.code == 0, result.err
    client = sm(sandbox)
    foreign = client.create_artifact(
        ArtifactType="DataSet", Source={"SourceUri": "s3://other-team/raw.csv"}
    )["ArtifactArn"]
    data = recorded(repo).arn_of("data")
    client.add_association(SourceArn=foreign, DestinationArn=data, AssociationType="DerivedFrom")
    return str(foreign)


def _graph(*args: str) -> dict[str, Any]:
    result = reconciler("graph", "--live", "--format", "json", *args)
    assert result.code == 0, result.err
    document: dict[str, Any] = json.loads(result.out)
    return document


def _links(document: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(lk["source"], lk["destination"], lk["label"]) for lk in document["links"]}


def test_live_graph_draws_our_entities_and_what_others_joined_to_them(
    repo: Path, sandbox: Sandbox
) -> None:
    foreign = _applied_graph(repo, sandbox)
    document = _graph()
    statuses = {node["id"]: (node["kind"], node["status"]) for node in document["nodes"]}
    assert statuses == {
        "data": ("Artifact", "declared"),
        "model": ("Artifact", "declared"),
        "endpoint": ("Context", "declared"),
        foreign: ("Artifact", "unchanged"),
    }
    assert _links(document) == {
        ("data", "model", ""),
        ("model", "endpoint", "ContributedTo"),
        (foreign, "data", "DerivedFrom"),
    }


def test_live_graph_around_one_entity_within_a_depth(repo: Path, sandbox: Sandbox) -> None:
    foreign = _applied_graph(repo, sandbox)
    near = _graph("--around", "model", "--depth", "1")
    assert {node["id"] for node in near["nodes"]} == {"model", "data", "endpoint"}
    further = _graph("--around", "model", "--depth", "2")
    assert (foreign, "data", "DerivedFrom") in _links(further)


def test_live_graph_refuses_what_it_cannot_start_from_or_reach(
    repo: Path, sandbox: Sandbox
) -> None:
    _applied_graph(repo, sandbox)
    unknown = reconciler("graph", "--live", "--around", "modle")
    assert unknown.code == 2
    assert "is not recorded in the lockfile; did you mean 'model'?" in unknown.err
    deep = reconciler("graph", "--live", "--depth", "11")
    assert deep.code == 2
    assert "give --depth 10 or less" in deep.err
