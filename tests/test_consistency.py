"""apply, the live audit and plan --refresh against a sandbox that is only eventually consistent:
reads that show the state from before recent updates, tag changes and deletes (--write-lag-ms),
and list calls that answer empty pages with a NextToken (--empty-page-rate)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from reconciler import lockfile
from reconciler.sandbox import Sandbox, SandboxConfig
from tests.helpers import manifest_doc
from tests.sandboxed import apply, declare, live, reconciler, recorded, sm, uri, use

LAG_MS = 1500


@pytest.fixture
def lagging(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(write_lag_ms=LAG_MS)) as running:
        use(running, monkeypatch)
        yield running


@pytest.fixture
def sparse(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(empty_page_rate=0.6, seed=5)) as running:
        use(running, monkeypatch)
        yield running


def applied(*args: str) -> None:
    result = apply(*args)
    assert result.code == 0, result.err


def audit_live(*args: str) -> tuple[int, dict[str, Any]]:
    result = reconciler("audit", "--live", "--format", "json", *args)
    document: dict[str, Any] = json.loads(result.out)
    return result.code, document


def refreshed_changes() -> list[tuple[str, str]]:
    result = reconciler("plan", "--refresh", "--format", "json")
    assert result.code == 0, result.err
    return [(c["name"], c["action"]) for c in json.loads(result.out)["changes"]]


def settle() -> None:
    """Wait until every write so far shows in reads."""
    time.sleep(LAG_MS / 1000 + 0.3)


def user_tags(state: dict[str, Any]) -> dict[str, str]:
    return {k: v for k, v in state["Tags"].items() if not k.startswith("reconciler:")}


# --- reads that lag behind updates, tag changes and deletes --------------------------------------


def test_back_to_back_applies_converge_under_write_lag(repo: Path, lagging: Sandbox) -> None:
    declare(repo, manifest_doc("a", Tags=[{"Key": "team", "Value": "x"}]))
    applied()
    declare(
        repo,
        manifest_doc(
            "a",
            Properties={"p": "1"},
            Tags=[{"Key": "team", "Value": "x"}, {"Key": "n", "Value": "1"}],
        ),
    )
    applied()
    # Within the lag: the reads still show the artifact without tag n and property p.
    declare(repo, manifest_doc("a", Properties={"p": "2"}, Tags=[{"Key": "team", "Value": "y"}]))
    applied()
    settle()
    state = live(lagging)[uri("a")]
    assert state["Properties"] == {"p": "2"}
    assert user_tags(state) == {"team": "y"}
    assert audit_live("--deep")[0] == 0
    assert refreshed_changes() == []


def test_the_live_audit_right_after_apply_sees_no_drift_of_ours(
    repo: Path, lagging: Sandbox
) -> None:
    declare(repo, manifest_doc("a"), manifest_doc("b", Properties={"stage": "raw"}))
    applied()
    declare(
        repo,
        manifest_doc("a", ArtifactName="renamed", Tags=[{"Key": "t", "Value": "1"}]),
        manifest_doc("b", Properties={"stage": "clean"}),
    )
    applied()
    code, document = audit_live()
    assert code == 0, document["findings"]
    assert refreshed_changes() == []
    code, document = audit_live("--deep")
    assert code == 0, document["findings"]


def test_prune_and_replace_under_write_lag(repo: Path, lagging: Sandbox) -> None:
    declare(repo, manifest_doc("a"), manifest_doc("b"), manifest_doc("c"))
    applied()
    declare(repo, manifest_doc("a", ArtifactType="Model"), manifest_doc("c"))
    applied("--prune")
    code, document = audit_live("--deep")
    assert code == 0, document["findings"]
    assert refreshed_changes() == []
    settle()
    state = live(lagging)
    assert set(state) == {uri("a"), uri("c")}
    assert state[uri("a")]["ArtifactType"] == "Model"


def test_apply_right_after_import_under_write_lag(repo: Path, lagging: Sandbox) -> None:
    arn = sm(lagging).create_artifact(
        Source={"SourceUri": uri("a")}, ArtifactType="DataSet", ArtifactName="a"
    )["ArtifactArn"]
    declare(repo, manifest_doc("a", Properties={"k": "v"}))
    imported = reconciler("import", "a", arn)
    assert imported.code == 0, imported.err
    applied()
    settle()
    assert live(lagging)[uri("a")]["Properties"] == {"k": "v"}
    assert audit_live("--deep")[0] == 0


def test_a_deletion_outside_shows_once_the_lag_is_over(repo: Path, lagging: Sandbox) -> None:
    declare(repo, manifest_doc("a"), manifest_doc("b"))
    applied()
    sm(lagging).delete_artifact(ArtifactArn=recorded(repo).artifacts["a"].arn)
    settle()
    code, document = audit_live()
    assert code == 2
    assert {(f["name"], f["kind"]) for f in document["findings"]} == {("a", "missing")}
    assert refreshed_changes() == [("a", "create")]
    applied("--refresh")
    assert set(live(lagging)) == {uri("a"), uri("b")}


# --- empty pages with a NextToken ------------------------------------------------------------------


def test_apply_audit_and_import_through_empty_pages(repo: Path, sparse: Sandbox) -> None:
    documents = [manifest_doc(f"a{i:02d}") for i in range(30)]
    declare(repo, *documents)
    applied()
    code, document = audit_live()
    assert code == 0, document["findings"]
    assert audit_live("--deep")[0] == 0
    assert refreshed_changes() == []
    # A lost lockfile: every artifact is found again through the empty pages.
    arns = {name: entry.arn for name, entry in recorded(repo).artifacts.items()}
    lockfile.save(repo / "artifacts.lock.json", replace(recorded(repo), artifacts={}))
    code, document = audit_live()
    assert code == 2
    unrecorded = {f["name"] for f in document["findings"] if f["kind"] == "unrecorded"}
    assert unrecorded == set(arns)
    imported = reconciler("import", "--all")
    assert imported.code == 0, imported.err
    assert {n: e.arn for n, e in recorded(repo).artifacts.items()} == arns
    assert sparse.stats()["empty_pages"] > 0


def test_adoption_after_lost_responses_through_empty_pages(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = SandboxConfig(empty_page_rate=0.6, lost_response_rate=1.0, seed=9)
    with Sandbox(config) as hostile:
        use(hostile, monkeypatch)
        declare(repo, manifest_doc("a"), manifest_doc("b"))
        applied()
        assert {o for o in recorded(repo).artifacts} == {"a", "b"}
        assert hostile.stats()["empty_pages"] > 0
        assert set(live(hostile)) == {uri("a"), uri("b")}
