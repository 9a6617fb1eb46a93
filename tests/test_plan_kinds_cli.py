"""`reconciler plan` and `audit` (offline) as users run them, on a lockfile that records
contexts, actions and associations."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from reconciler import lockfile
from reconciler.config import resolve_settings
from reconciler.journal import Journal, journal_path
from reconciler.kinds.artifact import canonical_artifact as canonical
from reconciler.lockfile import Entry
from reconciler.project import read_state
from tests.helpers import action_doc, association_doc, context_doc, manifest_doc
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
    endpoint = [(f["kind"], f["manifest_kind"]) for f in findings if f["name"] == "endpoint"]
    assert endpoint == [("malformed", "Context")]


def _declare_graph(repo: Path) -> None:
    declare(
        repo,
        manifest_doc("data"),
        manifest_doc("model"),
        context_doc("endpoint"),
        action_doc("approval", Status="Completed"),
        association_doc("data-to-model", "data", "model"),
        association_doc("model-to-endpoint", "model", "endpoint", "AssociatedWith"),
        association_doc("approval-to-model", "approval", "model", None),
    )


def test_a_declared_graph_plans_entities_then_edges_in_every_format(repo: Path) -> None:
    _declare_graph(repo)
    run = reconciler("plan", "--format", "json", "--detailed-exitcode")
    assert run.code == 2, run.err
    document = json.loads(run.out)
    assert [(c["kind"], c["name"]) for c in document["changes"]] == [
        ("Artifact", "data"),
        ("Artifact", "model"),
        ("Context", "endpoint"),
        ("Action", "approval"),
        ("Association", "approval-to-model"),
        ("Association", "data-to-model"),
        ("Association", "model-to-endpoint"),
    ]
    assert document["summary"]["create"] == 7
    text = reconciler("plan").out
    assert "  + context endpoint  (create)" in text
    assert "  + association model-to-endpoint: model --AssociatedWith--> endpoint  (create)" in text
    assert "  + association approval-to-model: approval --> model  (create)" in text
    assert text.rstrip().endswith(
        "Plan: 7 to create, 0 to update, 0 to replace, 0 to delete; 0 unchanged."
    )
    markdown = reconciler("plan", "--format", "markdown").out
    assert "\n+ action approval\n" in markdown


def test_a_recorded_graph_that_matches_is_no_change_and_a_replace_takes_its_edges(
    repo: Path,
) -> None:
    _declare_graph(repo)
    desired = read_state(resolve_settings(None, None)).desired.by_kind()
    lockfile.save(repo / "artifacts.lock.json", applied(desired))
    same = reconciler("plan", "--detailed-exitcode")
    assert same.code == 0, same.out + same.err
    assert same.out == (
        "No changes: the lockfile matches the manifests "
        "(2 artifacts, 1 context, 1 action, 3 associations).\n"
    )
    declare(  # the endpoint's type changes: it is replaced, and the edge to it too
        repo,
        manifest_doc("data"),
        manifest_doc("model"),
        context_doc("endpoint", ContextType="Project"),
        action_doc("approval", Status="Completed"),
        association_doc("data-to-model", "data", "model"),
        association_doc("model-to-endpoint", "model", "endpoint", "AssociatedWith"),
        association_doc("approval-to-model", "approval", "model", None),
    )
    run = reconciler("plan", "--format", "json", "--detailed-exitcode")
    assert run.code == 2, run.err
    changes = [(c["kind"], c["name"], c["action"]) for c in json.loads(run.out)["changes"]]
    assert changes == [
        ("Association", "model-to-endpoint", "replace"),
        ("Context", "endpoint", "replace"),
    ]


def test_sensitive_properties_of_contexts_and_actions_stay_masked(repo: Path) -> None:
    declare(
        repo,
        context_doc("endpoint", Properties={"api-token": "hunter2", "stage": "prod"}),
        action_doc("approval", Properties={"db-password": "hunter3"}),
    )
    for output_format in ("text", "markdown", "json"):
        run = reconciler("plan", "--format", output_format)
        assert run.code == 0, run.err
        assert "hunter" not in run.out
        assert "(sensitive)" in run.out
        assert "prod" in run.out
