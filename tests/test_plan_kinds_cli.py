"""`reconciler plan` and `audit` (offline) as users run them, on a lockfile that records
contexts, actions and associations."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from reconciler import lockfile
from reconciler.journal import Journal, journal_path
from reconciler.lockfile import Entry
from reconciler.models import canonical
from tests.helpers import manifest_doc
from tests.sandboxed import declare, reconciler
from tests.test_plan_kinds import GRAPH, applied


def _save_graph(repo: Path) -> lockfile.Lockfile:
    """The lockfile of GRAPH applied, with the manifests declaring its artifacts only (the
    manifests of other kinds are not what this test is about)."""
    state = applied(GRAPH)
    specs = {name: canonical(name, manifest_doc(name)["spec"]) for name in ("data", "model")}
    state = replace(
        state, artifacts={n: replace(e, spec=specs[n]) for n, e in state.artifacts.items()}
    )
    declare(repo, manifest_doc("data"), manifest_doc("model"))
    return lockfile.save(repo / "artifacts.lock.json", state)


def test_plan_lists_recorded_contexts_actions_and_edges_as_orphans(repo: Path) -> None:
    _save_graph(repo)
    before = (repo / "artifacts.lock.json").read_bytes()
    run = reconciler("plan", "--format", "json", "--detailed-exitcode")
    assert run.code == 0, run.err  # orphans are not changes apply makes
    document = json.loads(run.out)
    orphans = {(c["kind"], c["name"]) for c in document["changes"]}
    assert orphans == {
        ("Context", "endpoint"),
        ("Action", "approval"),
        ("Association", "data-to-model"),
        ("Association", "model-to-approval"),
        ("Association", "approval-to-endpoint"),
        ("Association", "job-to-model"),
    }
    assert document["summary_by_kind"]["Artifact"]["unchanged"] == 2
    assert (repo / "artifacts.lock.json").read_bytes() == before  # plan writes nothing
    text = reconciler("plan")
    assert "  ! context endpoint  (orphan: no longer declared)" in text.out


def test_plan_with_prune_deletes_edges_first(repo: Path) -> None:
    _save_graph(repo)
    run = reconciler("plan", "--prune", "--format", "json", "--detailed-exitcode")
    assert run.code == 2, run.err
    kinds = [c["kind"] for c in json.loads(run.out)["changes"]]
    assert kinds == ["Association"] * 4 + ["Context", "Action"]


def test_plan_sees_a_crashed_applys_context_in_the_journal(repo: Path) -> None:
    saved = _save_graph(repo)
    log = Journal(journal_path(repo / "artifacts.lock.json"), saved.lineage or "")
    spec = {**GRAPH["Context"]["endpoint"], "Description": "changed by a crashed apply"}
    log.put("endpoint", Entry(saved.contexts["endpoint"].arn, spec), "Context")
    log.intend("endpoint", "Context")
    log.close()
    run = reconciler("plan", "--format", "json")
    assert run.code == 0, run.err
    endpoint = next(c for c in json.loads(run.out)["changes"] if c["name"] == "endpoint")
    assert endpoint["before"]["Description"] == "changed by a crashed apply"


def test_a_malformed_context_stops_the_plan_and_audit_reports_it(repo: Path) -> None:
    _save_graph(repo)
    path = repo / "artifacts.lock.json"
    document = json.loads(path.read_bytes())
    document["contexts"]["endpoint"]["arn"] = "arn:aws:sagemaker:eu-west-1:123456789012:artifact/x"
    path.write_text(json.dumps(document))
    planned = reconciler("plan")
    assert planned.code == 1
    assert "'endpoint': arn " in planned.err and "is not a SageMaker context ARN" in planned.err
    audited = reconciler("audit", "--format", "json")
    findings = json.loads(audited.out)["findings"]
    assert {"name": "endpoint", "kind": "malformed"}.items() <= findings[0].items()
