"""The demo's lineage (manifests/churn/lineage/, beside the artifacts of manifests/churn/): one ML
project's whole graph, valid, connected from the raw data to the endpoint, with one edge to a trial
component SageMaker created, which the demo's sandbox preloads."""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML

from reconciler.declared import DesiredState
from reconciler.kinds.association import is_arn
from reconciler.kinds.manifests import MANIFEST_KINDS
from reconciler.manifest import load_target_manifests
from reconciler.sandbox import preload

ROOT = Path(__file__).parent.parent
LINEAGE = ROOT / "manifests" / "churn" / "lineage"
PRELOAD = ROOT / "scripts" / "demo-preload.yaml"


def declared() -> DesiredState:
    return load_target_manifests([ROOT / "manifests"], {})


def reachable(edges: dict[str, dict[str, str]], start: str) -> set[str]:
    """Every end reached from `start` along the edges' directions."""
    seen, pending = {start}, [start]
    while pending:
        current = pending.pop()
        for edge in edges.values():
            if edge["Source"] == current and edge["Destination"] not in seen:
                seen.add(edge["Destination"])
                pending.append(edge["Destination"])
    return seen


def test_the_lineage_and_the_artifacts_are_valid_together_without_warnings() -> None:
    desired = declared()
    assert desired.warnings == ()
    counts = desired.counts()
    assert counts["Artifact"] >= 9 and counts["Context"] >= 1 and counts["Action"] >= 1
    assert counts["Association"] >= 10


def test_the_graph_runs_from_the_data_to_the_endpoint_through_the_approval() -> None:
    by_kind = declared().by_kind()
    edges = by_kind["Association"]
    (endpoint,) = by_kind["Context"]
    (approval,) = by_kind["Action"]
    assert by_kind["Context"][endpoint]["ContextType"] == "Endpoint"
    assert by_kind["Action"][approval]["ActionType"] == "ModelApproval"
    from_data = reachable(edges, "churn-raw-customers")
    assert {"churn-train-data", "churn-model", approval, endpoint} <= from_data
    assert {"churn-model", approval, endpoint} <= reachable(edges, "churn-training-image")
    # Every declared entity is on the graph.
    ends = {edge[end] for edge in edges.values() for end in ("Source", "Destination")}
    entities = {name for kind in ("Artifact", "Context", "Action") for name in by_kind[kind]}
    assert entities <= ends


def test_the_edge_to_what_sagemaker_created_names_what_the_sandbox_preloads() -> None:
    edges = declared().by_kind()["Association"]
    arns = {edge[end] for edge in edges.values() for end in ("Source", "Destination")}
    (trial_component,) = [end for end in arns if is_arn(end)]
    assert ":experiment-trial-component/" in trial_component
    preloaded = preload.load(PRELOAD, "123456789012")
    assert [entity.arn for entity in preloaded["123456789012"]] == [trial_component]


def test_the_demo_uses_every_field_of_a_context_and_an_action() -> None:
    documents = [
        document
        for path in sorted(LINEAGE.glob("*.yaml"))
        for document in YAML(typ="safe").load_all(path.read_text(encoding="utf-8"))
    ]
    for kind in ("Context", "Action"):
        spec_model = MANIFEST_KINDS[kind].model.model_fields["spec"].annotation
        assert isinstance(spec_model, type)
        used = {field for d in documents if d["kind"] == kind for field in d["spec"]}
        assert used == set(spec_model.model_fields), kind
