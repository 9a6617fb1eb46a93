"""The lockfile's maps of contexts, actions and associations: written only when they hold
something, read as strictly as artifacts (malformed entries kept verbatim and reported)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from reconciler import lockfile
from reconciler.errors import LockfileError
from reconciler.kinds import ACTION, ARTIFACT, CONTEXT
from reconciler.lockfile import Edge, Entry, Lockfile, Target, edge_foreign_reason
from tests.helpers import ACCOUNT, REGION, arn_for, recorded

ARTIFACT_SPEC = {"ArtifactName": "a", "ArtifactType": "DataSet", "Source": {"SourceUri": "s3://a"}}
CONTEXT_SPEC = {
    "ContextName": "churn-endpoint",
    "ContextType": "Endpoint",
    "Source": {"SourceUri": "arn:aws:sagemaker:eu-west-1:123456789012:endpoint/churn"},
}
ACTION_SPEC = {
    "ActionName": "approval",
    "ActionType": "ModelApproval",
    "Source": {"SourceUri": "s3://approvals/v3"},
    "Status": "Completed",
}
TRIAL = arn_for("job", resource="experiment-trial-component")
APPROVAL_ARN = arn_for("approval", resource="action")


def graph() -> Lockfile:
    """An artifact, a context, an action and two edges (one to an entity we do not manage)."""
    base = recorded({"model": ARTIFACT_SPEC})
    return replace(
        base,
        contexts={"endpoint": Entry(arn_for("churn-endpoint", resource="context"), CONTEXT_SPEC)},
        actions={
            "approval": Entry(
                arn_for("approval", resource="action"), ACTION_SPEC, "2026-11-30T05:00:00+00:00"
            )
        },
        associations={
            "model-to-endpoint": Edge(
                arn_for("model"),
                arn_for("churn-endpoint", resource="context"),
                {"Source": "model", "Destination": "endpoint", "AssociationType": "AssociatedWith"},
            ),
            "job-to-model": Edge(
                TRIAL,
                arn_for("model"),
                {"Source": TRIAL, "Destination": "model", "AssociationType": "Produced"},
                adopted=True,
            ),
        },
    )


def test_every_section_round_trips_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "artifacts.lock.json"
    written = lockfile.save(path, graph())
    first = path.read_bytes()
    assert lockfile.load(path) == written
    lockfile.save(path, lockfile.load(path))
    assert path.read_bytes() == first
    document = json.loads(first)
    assert list(document) == [
        "actions",
        "artifacts",
        "associations",
        "contexts",
        "format_version",
        "lineage",
        "serial",
        "target",
    ]
    assert document["associations"]["job-to-model"] == {
        "adopted": True,
        "destination_arn": arn_for("model"),
        "source_arn": TRIAL,
        "spec": {"AssociationType": "Produced", "Destination": "model", "Source": TRIAL},
    }
    assert "adopted" not in document["associations"]["model-to-endpoint"]


def test_fields_the_service_kept_round_trip_and_are_written_only_when_there_are_some(
    tmp_path: Path,
) -> None:
    path = tmp_path / "artifacts.lock.json"
    approval = graph().actions["approval"]
    kept = replace(graph(), actions={"approval": replace(approval, kept=("Status",))})
    lockfile.save(path, kept)
    assert json.loads(path.read_bytes())["actions"]["approval"]["kept"] == ["Status"]
    assert lockfile.load(path).actions["approval"].kept == ("Status",)
    lockfile.save(path, graph())
    assert "kept" not in json.loads(path.read_bytes())["actions"]["approval"]


def test_kept_is_written_only_for_fields_the_spec_holds() -> None:
    without = {k: v for k, v in ACTION_SPEC.items() if k != "Status"}
    assert "kept" not in Entry(APPROVAL_ARN, without, kept=("Status",)).to_json()
    assert Entry(APPROVAL_ARN, ACTION_SPEC, kept=("Status",)).to_json()["kept"] == ["Status"]


def test_a_lockfile_of_artifacts_only_writes_no_empty_section(tmp_path: Path) -> None:
    path = tmp_path / "artifacts.lock.json"
    lockfile.save(path, recorded({"a": ARTIFACT_SPEC}))
    assert set(json.loads(path.read_bytes())) == {
        "artifacts",
        "format_version",
        "lineage",
        "serial",
        "target",
    }


def test_empty_sections_read_as_empty_and_are_not_written_back(tmp_path: Path) -> None:
    path = tmp_path / "artifacts.lock.json"
    document = json.loads(lockfile.dump(recorded({"a": ARTIFACT_SPEC})))
    path.write_text(json.dumps({**document, "contexts": {}, "actions": {}, "associations": {}}))
    loaded = lockfile.load(path)
    assert (loaded.contexts, loaded.actions, loaded.associations) == ({}, {}, {})
    assert "contexts" not in json.loads(lockfile.dump(loaded))


def test_entities_arn_of_and_kind_of_cover_every_kind() -> None:
    state = graph()
    assert list(state.entities(ARTIFACT)) == ["model"]
    assert list(state.entities(CONTEXT)) == ["endpoint"]
    assert list(state.entities(ACTION)) == ["approval"]
    assert state.arn_of("endpoint") == arn_for("churn-endpoint", resource="context")
    assert state.arn_of("model") == arn_for("model")
    assert state.arn_of("model-to-endpoint") is None  # an edge has no ARN
    assert state.arn_of("absent") is None
    kinds = [state.kind_of(n) for n in ("model", "endpoint", "approval", "job-to-model", "x")]
    assert kinds == ["Artifact", "Context", "Action", "Association", None]
    assert not state.is_empty
    assert Lockfile().is_empty


def test_uncertain_names_cover_every_kind() -> None:
    state = graph()
    state = replace(
        state,
        contexts={n: replace(e, uncertain=True) for n, e in state.contexts.items()},
        associations={
            n: replace(e, uncertain=n == "job-to-model") for n, e in state.associations.items()
        },
    )
    assert state.uncertain_names() == [("Context", "endpoint"), ("Association", "job-to-model")]
    assert state.uncertain == []  # artifacts only, as before


def _with(section: str, name: str, value: Any) -> bytes:
    document = json.loads(lockfile.dump(graph()))
    document.setdefault(section, {})[name] = value
    return json.dumps(document).encode()


CONTEXT_ARN = arn_for("churn-endpoint", resource="context")
GOOD_EDGE: dict[str, Any] = {
    "source_arn": arn_for("model"),
    "destination_arn": CONTEXT_ARN,
    "spec": {"Source": "model", "Destination": "endpoint"},
}


@pytest.mark.parametrize(
    ("section", "value", "reason"),
    [
        ("contexts", {"spec": CONTEXT_SPEC}, "arn: Field required"),
        (
            "contexts",
            {"arn": arn_for("x"), "spec": CONTEXT_SPEC},
            "is not a SageMaker context ARN",
        ),
        ("contexts", {"arn": CONTEXT_ARN, "spec": ARTIFACT_SPEC}, "spec."),
        ("contexts", {"arn": CONTEXT_ARN, "spec": CONTEXT_SPEC, "extra": 1}, "extra"),
        (
            "contexts",
            {"arn": CONTEXT_ARN, "spec": {**CONTEXT_SPEC, "ContextName": "other-teams"}},
            "spec.ContextName 'other-teams' is not the name its arn",
        ),
        (
            "actions",
            {
                "arn": arn_for("approval", resource="action"),
                "spec": {**ACTION_SPEC, "ActionName": "x"},
            },
            "spec.ActionName 'x' is not the name its arn",
        ),
        ("actions", {"arn": CONTEXT_ARN, "spec": ACTION_SPEC}, "is not a SageMaker action ARN"),
        (
            "actions",
            {"arn": arn_for("b", resource="action"), "spec": {**ACTION_SPEC, "Status": "Done"}},
            "spec.Status",
        ),
        (
            "actions",
            {"arn": APPROVAL_ARN, "spec": ACTION_SPEC, "kept": ["Properties"]},
            "kept: 'Properties' is not a field UpdateAction sets",
        ),
        (
            "actions",
            {"arn": APPROVAL_ARN, "spec": ACTION_SPEC, "kept": ["Description"]},
            "kept: 'Description' is not in its spec",
        ),
        (
            "actions",
            {"arn": APPROVAL_ARN, "spec": ACTION_SPEC, "kept": "Status"},
            "kept",
        ),
        (
            "contexts",
            {"arn": CONTEXT_ARN, "spec": CONTEXT_SPEC, "kept": ["ContextName"]},
            "kept: 'ContextName' is not a field UpdateContext sets",
        ),
        ("associations", {**GOOD_EDGE, "source_arn": "arn:aws:s3:::bucket"}, "lineage entity"),
        ("associations", {**GOOD_EDGE, "destination_arn": 3}, "destination_arn"),
        ("associations", {**GOOD_EDGE, "spec": {"Source": "model"}}, "spec.Destination"),
        (
            "associations",
            {**GOOD_EDGE, "spec": {**GOOD_EDGE["spec"], "AssociationType": "Likes"}},
            "spec.AssociationType",
        ),
        (
            "associations",
            {**GOOD_EDGE, "spec": {"Source": TRIAL, "Destination": "endpoint"}},
            "is not spec.Source",
        ),
        ("associations", {**GOOD_EDGE, "adopted": "yes"}, "adopted"),
        ("associations", {**GOOD_EDGE, "arn": CONTEXT_ARN}, "arn"),
    ],
)
def test_malformed_entries_of_every_section_are_kept_verbatim_and_reported(
    tmp_path: Path, section: str, value: Any, reason: str
) -> None:
    path = tmp_path / "l.json"
    path.write_bytes(_with(section, "broken", value))
    loaded = lockfile.load(path)
    assert reason in loaded.malformed["broken"][0]
    assert loaded.malformed_section("broken") == section
    kinds = {"contexts": "Context", "actions": "Action", "associations": "Association"}
    assert loaded.kind_of("broken") == kinds[section]
    written = json.loads(lockfile.dump(loaded))
    assert written[section]["broken"] == value
    assert written == json.loads(path.read_bytes())


@pytest.mark.parametrize("section", ["contexts", "actions", "associations"])
@pytest.mark.parametrize("name", ["", "-x", "a b", "x" * 121, "ab_c"])
def test_entry_names_that_are_not_metadata_names_are_malformed_in_every_section(
    tmp_path: Path, section: str, name: str
) -> None:
    value = {
        "contexts": {"arn": CONTEXT_ARN, "spec": CONTEXT_SPEC},
        "actions": {"arn": arn_for("approval", resource="action"), "spec": ACTION_SPEC},
        "associations": GOOD_EDGE,
    }[section]
    path = tmp_path / "l.json"
    path.write_bytes(_with(section, name, value))
    loaded = lockfile.load(path)
    assert "is not a valid metadata.name" in loaded.malformed[name][0]


@pytest.mark.parametrize(
    ("first", "second"),
    [("artifacts", "contexts"), ("contexts", "actions"), ("actions", "associations")],
)
def test_a_name_in_two_sections_is_refused(tmp_path: Path, first: str, second: str) -> None:
    document = json.loads(lockfile.dump(graph()))
    name = next(iter(document[first]))
    document[second][name] = next(iter(document[second].values()))
    path = tmp_path / "l.json"
    content = json.dumps(document).encode()
    path.write_bytes(content)
    with pytest.raises(LockfileError) as info:
        lockfile.load(path)
    assert f"the name \"{name}\" is in both '{first}' and '{second}'" in str(info.value)
    assert "restore it from git or fix it by hand" in str(info.value)
    assert path.read_bytes() == content


def test_a_malformed_name_in_two_sections_is_refused_too(tmp_path: Path) -> None:
    document = json.loads(lockfile.dump(graph()))
    document["artifacts"]["x"] = {"spec": 1}
    document["associations"]["x"] = {"spec": 2}
    path = tmp_path / "l.json"
    path.write_text(json.dumps(document))
    with pytest.raises(LockfileError, match="in both 'artifacts' and 'associations'"):
        lockfile.load(path)


@pytest.mark.parametrize("section", ["contexts", "actions", "associations"])
def test_a_section_that_is_not_an_object_is_refused(tmp_path: Path, section: str) -> None:
    document = json.loads(lockfile.dump(graph()))
    document[section] = []
    path = tmp_path / "l.json"
    path.write_text(json.dumps(document))
    with pytest.raises(LockfileError, match=f"'{section}' is not an object"):
        lockfile.load(path)


def test_foreign_contexts_and_actions_are_recognised_by_their_arn() -> None:
    target = Target(ACCOUNT, REGION)
    elsewhere = Entry(arn_for("c", account="999999999999", resource="context"), CONTEXT_SPEC)
    assert "account 999999999999" in (lockfile.foreign_reason(elsewhere, target) or "")
    here = Entry(arn_for("c", resource="action"), ACTION_SPEC)
    assert lockfile.foreign_reason(here, target) is None


def test_an_edge_is_foreign_when_an_end_we_manage_is_elsewhere() -> None:
    target = Target(ACCOUNT, REGION)
    ours = graph().associations["model-to-endpoint"]
    assert edge_foreign_reason(ours, target) is None
    moved = replace(ours, destination_arn=arn_for("e", region="us-east-1", resource="context"))
    assert edge_foreign_reason(moved, target) == (
        "its Destination ARN is in region us-east-1, but the lockfile targets eu-west-1"
    )
    # An end given as an ARN is what the manifest says: another team's entity may be anywhere.
    other = arn_for("t", account="999999999999", resource="experiment-trial-component")
    external = Edge(other, arn_for("model"), {"Source": other, "Destination": "model"})
    assert edge_foreign_reason(external, target) is None


def test_a_recorded_name_that_is_not_its_arns_is_malformed_even_as_declared(
    tmp_path: Path,
) -> None:
    """Contexts are deleted by name and their ownership read by ARN: a lockfile whose
    ContextName is not its ARN's would have reconciler delete a context it checked nothing of,
    so the entry cannot be read, even when its spec is the declared one."""
    spec = {**CONTEXT_SPEC, "ContextName": "other-teams"}
    raw = {"endpoint": {"arn": CONTEXT_ARN, "spec": spec}}
    entries, malformed = lockfile.parse_entries(raw, {"endpoint": spec}, kind=CONTEXT)
    assert entries == {}
    assert "is not the name its arn" in malformed["endpoint"][0]
    path = tmp_path / "l.json"
    # The service's names may differ from the ARN's in case only.
    upper = {**CONTEXT_SPEC, "ContextName": "Churn-Endpoint"}
    path.write_bytes(_with("contexts", "endpoint", {"arn": CONTEXT_ARN, "spec": upper}))
    assert lockfile.load(path).contexts["endpoint"].spec == upper
