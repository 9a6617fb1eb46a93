"""`reconciler apply` on a whole lineage graph, as users run it, against the sandbox over HTTP:
artifacts, a context, an action and the edges between them (one to a trial component SageMaker
made), through create, update, replace and prune; an edge made by hand before it was declared;
kill -9 in the middle; the sandbox's write lag and both ways it treats a delete of an entity that
has edges."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.journal import journal_path
from reconciler.limits import LINEAGE_TAG_KEY, OWNERSHIP_TAG_KEY
from reconciler.lockfile import Lockfile
from reconciler.sandbox import Sandbox, SandboxConfig
from tests.helpers import action_doc, association_doc, context_doc, manifest_doc
from tests.sandboxed import apply, declare, read_until, reconciler, recorded, sm, use
from tests.test_apply import _apply_process
from tests.test_apply_graph import TRAINING, edges_on


def graph(
    endpoint: dict[str, Any] | None = None, approval: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """data -> model -> approval -> endpoint, and SageMaker's training job -> model."""
    return [
        manifest_doc("data"),
        manifest_doc("model", ArtifactType="Model"),
        context_doc("endpoint", **(endpoint or {"Description": "Prod"})),
        action_doc("approval", **(approval or {"Status": "InProgress"})),
        association_doc("data-to-model", "data", "model"),
        association_doc("model-to-approval", "model", "approval", None),
        association_doc("approval-to-endpoint", "approval", "endpoint", "AssociatedWith"),
        association_doc("training-to-model", TRAINING, "model", "Produced"),
    ]


def start(config: SandboxConfig, preload: Path, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    preload.write_text(json.dumps([{"Kind": "TrialComponent", "Arn": TRAINING, "Type": "T"}]))
    sandbox = Sandbox(SandboxConfig(**{**config.__dict__, "preload": preload})).start()
    use(sandbox, monkeypatch)
    return sandbox


@pytest.fixture
def lineage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    sandbox = start(SandboxConfig(), tmp_path / "made.json", monkeypatch)
    try:
        yield sandbox
    finally:
        sandbox.stop()


def arns(lock: Lockfile) -> dict[str, str]:
    entries = {**lock.artifacts, **lock.contexts, **lock.actions}
    return {name: entry.arn for name, entry in entries.items()}


def expected_edges(ids: dict[str, str]) -> set[tuple[str, str, str | None]]:
    return {
        (ids["data"], ids["model"], "ContributedTo"),
        (ids["model"], ids["approval"], None),
        (ids["approval"], ids["endpoint"], "AssociatedWith"),
        (TRAINING, ids["model"], "Produced"),
    }


def clean() -> bool:
    return reconciler("plan", "--detailed-exitcode").code == 0


def test_a_graph_created_updated_replaced_and_pruned(repo: Path, lineage: Sandbox) -> None:
    declare(repo, *graph())
    created = apply()
    assert created.code == 0, created.err
    assert "Apply complete: 8 created" in created.out
    assert "+ context endpoint: created arn:" in created.out
    assert "+ association training-to-model: created" in created.out
    lock = recorded(repo)
    ids = arns(lock)
    assert edges_on(lineage) == expected_edges(ids)
    client = sm(lineage)
    tags = {t["Key"]: t["Value"] for t in client.list_tags(ResourceArn=ids["endpoint"])["Tags"]}
    assert tags == {OWNERSHIP_TAG_KEY: "endpoint", LINEAGE_TAG_KEY: lock.lineage}
    assert lock.associations["training-to-model"].source_arn == TRAINING
    assert clean()
    assert "Nothing to apply." in apply().out

    # Every updatable field, in place.
    declare(
        repo,
        *graph(
            endpoint={"Properties": {"stage": "prod"}, "Tags": [{"Key": "team", "Value": "ml"}]},
            approval={"Status": "Completed", "Description": "Approved by ana"},
        ),
    )
    updated = apply()
    assert updated.code == 0, updated.err
    assert "2 updated" in updated.out
    endpoint = client.describe_context(ContextName="endpoint")
    assert "Description" not in endpoint and endpoint["Properties"] == {"stage": "prod"}
    approval = client.describe_action(ActionName="approval")
    assert (approval["Status"], approval["Description"]) == ("Completed", "Approved by ana")
    assert arns(recorded(repo)) == ids
    assert clean()

    # A new type replaces the context; its edge is added to the new one.
    replaced_graph = graph(endpoint={"ContextType": "ModelDeployment"}, approval={})
    declare(repo, *replaced_graph)
    replaced = apply()
    assert replaced.code == 0, replaced.err
    assert "-/+ context endpoint: replaced" in replaced.out
    assert client.describe_context(ContextName="endpoint")["ContextType"] == "ModelDeployment"
    assert edges_on(lineage) == expected_edges(arns(recorded(repo)))
    assert clean()

    # The action and its edges, pruned: edges first; SageMaker's training job is left alone.
    declare(repo, *replaced_graph[:3], replaced_graph[4])
    pruned = apply("--prune")
    assert pruned.code == 0, pruned.err
    assert "4 deleted" in pruned.out
    assert edges_on(lineage) == {(ids["data"], ids["model"], "ContributedTo")}
    lock = recorded(repo)
    assert set(lock.associations) == {"data-to-model"} and not lock.actions
    assert clean()


def test_an_edge_made_by_hand_first_is_adopted_and_never_deleted(
    repo: Path, lineage: Sandbox
) -> None:
    declare(repo, *graph()[:4])
    assert apply().code == 0
    ids = arns(recorded(repo))
    sm(lineage).add_association(
        SourceArn=ids["data"], DestinationArn=ids["model"], AssociationType="ContributedTo"
    )
    declare(repo, *graph())
    adopted = apply()
    assert adopted.code == 0, adopted.err
    assert "1 adopted" in adopted.out and "3 created" in adopted.out
    assert recorded(repo).associations["data-to-model"].adopted
    declare(repo, *graph()[:4])
    pruned = apply("--prune")
    assert pruned.code == 0, pruned.err
    assert "association data-to-model: forgotten" in pruned.out
    assert edges_on(lineage) == {(ids["data"], ids["model"], "ContributedTo")}
    assert not recorded(repo).associations


@pytest.mark.parametrize("delete_associated", ["refuse", "cascade"])
def test_pruning_a_context_with_an_edge_made_by_hand(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, delete_associated: str
) -> None:
    config = SandboxConfig(delete_associated=delete_associated)
    sandbox = start(config, tmp_path / "made.json", monkeypatch)
    try:
        declare(repo, manifest_doc("data"), context_doc("endpoint"))
        assert apply().code == 0
        sm(sandbox).add_association(
            SourceArn=TRAINING, DestinationArn=arns(recorded(repo))["endpoint"]
        )
        declare(repo, manifest_doc("data"))
        pruned = apply("--prune")
        assert pruned.code == 0, pruned.err
        assert "association removed" in pruned.out and "1 deleted" in pruned.out
        assert edges_on(sandbox) == set()
    finally:
        sandbox.stop()


def test_with_write_lag_what_apply_records_is_what_reads_show(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = start(SandboxConfig(write_lag_ms=400), tmp_path / "made.json", monkeypatch)
    try:
        declare(repo, *graph())
        assert apply().code == 0
        declare(repo, *graph(endpoint={"Description": "Moved"}, approval={"Status": "Failed"}))
        updated = apply()
        assert updated.code == 0, updated.err
        lock = recorded(repo)
        client = sm(sandbox)
        endpoint = client.describe_context(ContextName="endpoint")
        assert endpoint["Description"] == "Moved"
        assert lock.contexts["endpoint"].last_modified_time == (
            endpoint["LastModifiedTime"].isoformat()
        )
        assert client.describe_action(ActionName="approval")["Status"] == "Failed"
    finally:
        sandbox.stop()


@pytest.mark.parametrize("created_before_kill", [2, 8], ids=["contexts", "edges"])
def test_kill_9_mid_graph_then_apply_again_ends_with_everything_once(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, created_before_kill: int
) -> None:
    contexts = [context_doc(f"c{i}") for i in range(6)]
    edges = [association_doc(f"e{i}", f"c{i}", f"c{(i + 1) % 6}") for i in range(6)]
    declare(repo, *contexts, *edges)
    config = SandboxConfig(latency_ms=40)
    slow = start(config, tmp_path / "made.json", monkeypatch)
    try:
        process = _apply_process(repo, slow, "--parallelism", "2")
        # Killed once that many creations (contexts first, then edges) are reported.
        assert read_until(process, ": created", created_before_kill) == created_before_kill
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
        again = apply()
        assert again.code == 0, again.err
        lock = recorded(repo)
        ids = arns(lock)
        assert set(ids) == {f"c{i}" for i in range(6)}
        listed = sm(slow).list_contexts(MaxResults=100)["ContextSummaries"]
        assert sorted(c["ContextName"] for c in listed) == sorted(ids)
        assert edges_on(slow) == {
            (ids[f"c{i}"], ids[f"c{(i + 1) % 6}"], "ContributedTo") for i in range(6)
        }
        assert set(lock.associations) == {f"e{i}" for i in range(6)}
        assert not journal_path(repo / "artifacts.lock.json").exists()
        assert clean()
    finally:
        slow.stop()
