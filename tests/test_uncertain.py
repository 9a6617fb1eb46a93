"""A write whose outcome is unknown is never forgotten: the entry is marked uncertain, and the
next plan shows it and the next apply reads it back before deciding anything."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler import journal, lockfile
from reconciler.journal import Journal, journal_path
from reconciler.lockfile import Entry
from reconciler.sandbox import Sandbox, SandboxConfig
from tests.helpers import association_doc, context_doc, manifest_doc
from tests.sandboxed import apply, declare, live, reconciler, recorded, sm, uri, use


def approved(value: str) -> dict[str, object]:
    return manifest_doc("model", Properties={"approved": value})


def lose_the_update(repo: Path, state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Apply approved=true; then approved=false while every write's response is lost."""
    declare(repo, approved("true"))
    with Sandbox(SandboxConfig(state=state)) as calm:
        use(calm, monkeypatch)
        assert apply().code == 0
    declare(repo, approved("false"))
    with Sandbox(SandboxConfig(state=state, lost_response_rate=1.0)) as lossy:
        use(lossy, monkeypatch)
        lost = apply()
        assert lost.code == 1
        assert "did not answer" in lost.err
        assert live(lossy)[uri("model")]["Properties"] == {"approved": "false"}


def test_an_update_whose_response_was_lost_is_read_back_and_converges(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "sandbox.json"
    lose_the_update(repo, state, monkeypatch)
    assert recorded(repo).artifacts["model"].uncertain
    raw = json.loads((repo / "artifacts.lock.json").read_text())
    assert raw["format_version"] == 1
    assert raw["artifacts"]["model"]["uncertain"] is True

    declare(repo, approved("true"))
    audit = reconciler("audit", "--format", "json")
    assert audit.code == 2
    assert ("model", "uncertain") in {
        (f["name"], f["kind"]) for f in json.loads(audit.out)["findings"]
    }
    plan = reconciler("plan", "--detailed-exitcode")
    assert plan.code == 2, plan.out
    assert "outcome of the last write is unknown" in plan.out
    document = json.loads(reconciler("plan", "--format", "json").out)
    assert document["summary"]["update"] == 1

    with Sandbox(SandboxConfig(state=state)) as calm:
        use(calm, monkeypatch)
        refreshed = json.loads(reconciler("plan", "--refresh", "--format", "json").out)
        assert [(c["name"], c["action"]) for c in refreshed["changes"]] == [("model", "update")]
        assert refreshed["changes"][0]["fields"] == [
            {"path": "Properties.approved", "before": "false", "after": "true"}
        ]
        healed = apply()
        assert healed.code == 0, healed.err
        assert live(calm)[uri("model")]["Properties"] == {"approved": "true"}
        assert not recorded(repo).artifacts["model"].uncertain
        assert reconciler("plan", "--detailed-exitcode").code == 0


def test_read_back_alone_clears_the_mark_when_the_service_already_matches(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "sandbox.json"
    lose_the_update(repo, state, monkeypatch)
    with Sandbox(SandboxConfig(state=state)) as calm:
        use(calm, monkeypatch)
        settled = apply()
        assert settled.code == 0, settled.err
        entry = recorded(repo).artifacts["model"]
        assert not entry.uncertain
        assert entry.spec["Properties"] == {"approved": "false"}
        assert reconciler("plan", "--detailed-exitcode").code == 0


def test_a_lockfile_without_the_mark_still_loads(repo: Path) -> None:
    declare(repo, approved("true"))
    path = repo / "artifacts.lock.json"
    path.write_text(
        json.dumps(
            {
                "format_version": 1,
                "lineage": "5b8e4c1e-2f7a-4d0e-9c55-0a4a1f6a2b11",
                "serial": 1,
                "target": {"account": "123456789012", "region": "eu-west-1"},
                "artifacts": {
                    "model": {
                        "arn": "arn:aws:sagemaker:eu-west-1:123456789012:artifact/0123",
                        "spec": {
                            "ArtifactName": "model",
                            "ArtifactType": "DataSet",
                            "Source": {"SourceUri": uri("model")},
                            "Properties": {"approved": "true"},
                        },
                    }
                },
            }
        )
    )
    loaded = lockfile.load(path)
    assert not loaded.artifacts["model"].uncertain
    assert lockfile.dump(loaded) == lockfile.dump(lockfile.parse(lockfile.dump(loaded), "x"))
    assert b"uncertain" not in lockfile.dump(loaded)
    assert reconciler("plan", "--detailed-exitcode").code == 0


def test_an_intent_without_an_outcome_marks_the_entry_after_a_crash(tmp_path: Path) -> None:
    """A kill -9 between sending a write and recording it leaves only the intent."""
    path = tmp_path / "artifacts.lock.json"
    spec = {"ArtifactName": "a", "ArtifactType": "DataSet", "Source": {"SourceUri": "s3://a"}}
    arn = "arn:aws:sagemaker:eu-west-1:123456789012:artifact/0a"
    base = lockfile.save(
        path, lockfile.Lockfile(artifacts={"a": Entry(arn, spec), "b": Entry(arn + "b", spec)})
    )
    assert base.lineage is not None
    log = Journal(journal_path(path), base.lineage)
    log.intend("a")
    log.intend("b")
    log.put("b", Entry(arn + "b", spec))
    log.close()
    folded = journal.fold(path)
    assert folded.uncertain == ["a"]
    assert lockfile.load(path).uncertain == ["a"]


def test_a_context_whose_update_was_lost_is_read_back_not_written_again(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As for artifacts: the next apply reads the uncertain entry back and, when the lost write
    did land, records it without writing anything."""
    state = tmp_path / "sandbox.json"
    declare(repo, context_doc("endpoint", Properties={"approved": "true"}))
    with Sandbox(SandboxConfig(state=state)) as calm:
        use(calm, monkeypatch)
        assert apply().code == 0
    declare(repo, context_doc("endpoint", Properties={"approved": "false"}))
    with Sandbox(SandboxConfig(state=state, lost_response_rate=1.0)) as lossy:
        use(lossy, monkeypatch)
        assert apply().code == 1
    assert recorded(repo).contexts["endpoint"].uncertain
    with Sandbox(SandboxConfig(state=state)) as calm:
        use(calm, monkeypatch)
        calm.reset_counters()
        settled = apply()
        assert settled.code == 0, settled.err
        assert settled.out.startswith("No changes: the lockfile matches the manifests (1 context).")
        assert "UpdateContext" not in calm.counters()
        assert "DescribeContext" in calm.counters()
        entry = recorded(repo).contexts["endpoint"]
        assert not entry.uncertain
        assert entry.spec["Properties"] == {"approved": "false"}
        assert reconciler("plan", "--detailed-exitcode").code == 0


@pytest.mark.parametrize("section", ["contexts", "associations"])
def test_an_uncertain_entry_the_service_no_longer_holds_is_made_again(
    repo: Path, monkeypatch: pytest.MonkeyPatch, section: str
) -> None:
    """What a crash left uncertain and someone deleted since: the read back finds nothing, the
    apply records that and makes it again (it once failed with an internal error)."""
    declare(repo, context_doc("a"), context_doc("b"), association_doc("a-to-b", "a", "b"))
    with Sandbox(SandboxConfig()) as sandbox:
        use(sandbox, monkeypatch)
        assert apply().code == 0
        path = repo / "artifacts.lock.json"
        document = json.loads(path.read_text())
        name = "a-to-b" if section == "associations" else "a"
        document[section][name]["uncertain"] = True
        path.write_text(json.dumps(document))
        client = sm(sandbox)
        ends = recorded(repo).associations["a-to-b"]
        client.delete_association(SourceArn=ends.source_arn, DestinationArn=ends.destination_arn)
        if section == "contexts":
            client.delete_context(ContextName="a")
        again = apply()
        assert again.code == 0, again.err
        lock = recorded(repo)
        assert not lock.uncertain_names()
        assert client.describe_context(ContextName="a")["ContextArn"] == lock.contexts["a"].arn
        edge = lock.associations["a-to-b"]
        listed = client.list_associations(SourceArn=edge.source_arn)["AssociationSummaries"]
        assert [e["DestinationArn"] for e in listed] == [edge.destination_arn]
        assert reconciler("plan", "--detailed-exitcode").code == 0
