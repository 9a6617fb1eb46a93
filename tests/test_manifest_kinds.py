"""Manifests of every kind: Context, Action and Association load beside artifacts, each validated
against its spec model, and the rules across documents (names, edge ends, one edge per pair,
service names, quotas) report every problem at once, at its place."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.errors import ManifestError
from reconciler.kinds import ALL_KINDS
from reconciler.manifest import DesiredState, load_manifests, load_target_manifests
from tests.helpers import (
    ACCOUNT,
    REGION,
    action_doc,
    association_doc,
    context_doc,
    manifest_doc,
    write_manifests,
)

TRIAL = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:experiment-trial-component/churn-train-job"
EXPERIMENT = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:experiment/churn"


def problems(directory: Path) -> list[str]:
    """Every diagnostic, as `path:line:col: message` with the directory left out."""
    with pytest.raises(ManifestError) as info:
        load_manifests(directory)
    prefix = directory.as_posix() + "/"
    return [str(d).removeprefix(prefix) for d in info.value.diagnostics]


def warnings_of(desired: DesiredState, directory: Path) -> list[str]:
    prefix = directory.as_posix() + "/"
    return [str(d).removeprefix(prefix) for d in desired.warnings]


def write(directory: Path, text: str, filename: str = "m.yaml") -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / filename).write_text(textwrap.dedent(text), encoding="utf-8")


def lineage(directory: Path) -> None:
    write_manifests(
        directory,
        manifest_doc("churn-data"),
        manifest_doc("churn-model", ArtifactType="Model"),
        context_doc("churn-endpoint", Properties={"stage": "prod"}),
        action_doc("churn-approval", Status="Completed"),
        association_doc("data-to-model", "churn-data", "churn-model"),
        association_doc("model-to-approval", "churn-model", "churn-approval", None),
        association_doc("approval-to-endpoint", "churn-approval", "churn-endpoint"),
        association_doc("job-to-model", TRIAL, "churn-model", "Produced"),
    )


# --- loading ------------------------------------------------------------------------------------


def test_every_kind_loads_by_kind_with_its_canonical_spec(tmp_path: Path) -> None:
    lineage(tmp_path)
    desired = load_manifests(tmp_path)
    by_kind = desired.by_kind()
    assert list(by_kind) == list(ALL_KINDS)
    assert sorted(by_kind["Artifact"]) == ["churn-data", "churn-model"]
    assert by_kind["Context"] == {
        "churn-endpoint": {
            "ContextName": "churn-endpoint",
            "ContextType": "Endpoint",
            "Properties": {"stage": "prod"},
            "Source": {
                "SourceUri": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/churn-endpoint"
            },
        }
    }
    assert by_kind["Action"]["churn-approval"] == {
        "ActionName": "churn-approval",
        "ActionType": "ModelApproval",
        "Source": {"SourceUri": "s3://acme-ml/approvals/churn-approval"},
        "Status": "Completed",
    }
    assert by_kind["Association"] == {
        "data-to-model": {
            "Source": "churn-data",
            "Destination": "churn-model",
            "AssociationType": "ContributedTo",
        },
        "model-to-approval": {"Source": "churn-model", "Destination": "churn-approval"},
        "approval-to-endpoint": {
            "Source": "churn-approval",
            "Destination": "churn-endpoint",
            "AssociationType": "ContributedTo",
        },
        "job-to-model": {
            "Source": TRIAL,
            "Destination": "churn-model",
            "AssociationType": "Produced",
        },
    }
    # specs() stays the artifacts, as every existing caller expects.
    assert desired.specs() == by_kind["Artifact"]
    assert {d.kind for d in desired.declared["Association"].values()} == {"Association"}
    assert desired.declared["Context"]["churn-endpoint"].kind == "Context"
    assert desired.counts() == {"Artifact": 2, "Context": 1, "Action": 1, "Association": 4}
    assert desired.warnings == ()


def test_an_artifacts_only_directory_has_every_kind_empty(tmp_path: Path) -> None:
    write_manifests(tmp_path, manifest_doc("a"))
    assert load_manifests(tmp_path).by_kind() == {
        "Artifact": {"a": load_manifests(tmp_path).specs()["a"]},
        "Context": {},
        "Action": {},
        "Association": {},
    }


def test_the_service_name_defaults_to_the_name_and_is_spelt_when_given(tmp_path: Path) -> None:
    write_manifests(
        tmp_path,
        context_doc("plain"),
        context_doc("named", ContextName="churn_prod_endpoint"),
        action_doc("approve", ActionName="churn-approval-v3"),
    )
    desired = load_manifests(tmp_path)
    contexts = desired.declared["Context"]
    assert contexts["plain"].spec["ContextName"] == "plain"
    assert not contexts["plain"].spells_name
    assert contexts["named"].spec["ContextName"] == "churn_prod_endpoint"
    assert contexts["named"].spells_name
    assert desired.declared["Action"]["approve"].spec["ActionName"] == "churn-approval-v3"


def test_variables_work_in_every_kind(tmp_path: Path) -> None:
    write(
        tmp_path,
        """\
        apiVersion: reconciler/v1
        kind: Context
        metadata: {name: endpoint}
        spec:
          ContextType: Endpoint
          Source: {SourceUri: "arn:aws:sagemaker:${target.region}:${target.account}:endpoint/x"}
          Properties: {stage: "${vars.stage}"}
        ---
        apiVersion: reconciler/v1
        kind: Action
        metadata: {name: approval}
        spec:
          ActionType: ModelApproval
          Source: {SourceUri: "s3://acme/${vars.stage}/approval"}
          Description: Approved for ${target.name}
        ---
        apiVersion: reconciler/v1
        kind: Association
        metadata: {name: job-to-endpoint}
        spec:
          Source: "arn:aws:sagemaker:${target.region}:${target.account}:experiment-trial-component/job"
          Destination: endpoint
        """,
    )
    values = {
        "vars.stage": "prod",
        "target.name": "production",
        "target.account": "210987654321",
        "target.region": "us-east-1",
    }
    by_kind = load_target_manifests([tmp_path], values).by_kind()
    context = by_kind["Context"]["endpoint"]
    assert context["Source"]["SourceUri"] == "arn:aws:sagemaker:us-east-1:210987654321:endpoint/x"
    assert context["Properties"] == {"stage": "prod"}
    assert by_kind["Action"]["approval"]["Description"] == "Approved for production"
    assert by_kind["Association"]["job-to-endpoint"]["Source"] == (
        "arn:aws:sagemaker:us-east-1:210987654321:experiment-trial-component/job"
    )


def test_an_unknown_variable_in_an_edge_is_reported_at_its_place(tmp_path: Path) -> None:
    write_manifests(
        tmp_path,
        context_doc("endpoint"),
        association_doc("e", "arn:aws:sagemaker:${target.regoin}:1:context/x", "endpoint"),
    )
    with pytest.raises(ManifestError) as info:
        load_target_manifests([tmp_path], {"target.region": "eu-west-1"})
    (message,) = [str(d) for d in info.value.diagnostics]
    assert message == (
        f"{tmp_path.as_posix()}/artifacts.yaml:16:11: unknown variable ${{target.regoin}} "
        "(did you mean ${target.region}?)"
    )


# --- one document -------------------------------------------------------------------------------


def test_a_misspelt_kind_is_named_and_the_spec_checked_as_the_kind_meant(tmp_path: Path) -> None:
    write(
        tmp_path,
        """\
        apiVersion: reconciler/v1
        kind: Contxt
        metadata: {name: endpoint}
        spec:
          ContextType: Endpoint
          Source: {SourceUri: "s3://a"}
          Propertes: {a: b}
        """,
    )
    assert problems(tmp_path) == [
        "m.yaml:2:7: kind must be 'Artifact', 'Context', 'Action' or 'Association', not "
        "'Contxt' (did you mean 'Context'?)",
        "m.yaml:7:3: unknown field 'Propertes' in spec (did you mean 'Properties'?)",
    ]


def test_a_missing_kind_is_guessed_from_the_spec(tmp_path: Path) -> None:
    write(
        tmp_path,
        """\
        apiVersion: reconciler/v1
        metadata: {name: edge}
        spec: {Source: a, Destination: b, AssociationType: Contributed}
        """,
    )
    assert problems(tmp_path) == [
        "m.yaml:1:1: the manifest: missing required field 'kind'; its spec is that of an "
        "Association: add 'kind: Association'",
        "m.yaml:3:52: spec.AssociationType must be 'ContributedTo', 'AssociatedWith', "
        "'DerivedFrom', 'Produced' or 'SameAs', not 'Contributed' (did you mean 'ContributedTo'?)",
    ]


def test_a_kind_nothing_resembles_lists_the_kinds(tmp_path: Path) -> None:
    write(tmp_path, "apiVersion: reconciler/v1\nkind: Pipeline\nmetadata: {name: p}\nspec: {}\n")
    assert problems(tmp_path) == [
        "m.yaml:2:7: kind must be 'Artifact', 'Context', 'Action' or 'Association', not 'Pipeline'"
    ]


def test_context_and_action_specs_are_checked_against_their_models(tmp_path: Path) -> None:
    write(
        tmp_path,
        f"""\
        apiVersion: reconciler/v1
        kind: Context
        metadata: {{name: endpoint}}
        spec:
          ContextName: -bad
          ContextType: Endpoint
          Source: {{SourceUri: "s3://a", SourceType: "{"t" * 257}"}}
          Description: "{"d" * 3073}"
          MetadataProperties: {{CommitId: abc}}
        ---
        apiVersion: reconciler/v1
        kind: Action
        metadata: {{name: approval}}
        spec:
          ActionName: churn_approval
          ActionType: ModelApproval
          Source: {{SourceUri: "s3://b"}}
          Status: Done
          Properties: {{score: 0.9}}
        """,
    )
    found = problems(tmp_path)
    assert found == [
        "m.yaml:5:16: spec.ContextName must be letters, digits, hyphens and underscores, "
        "starting and ending with a letter or digit; got '-bad'",
        "m.yaml:7:45: spec.Source.SourceType is 257 characters long; the limit is 256",
        "m.yaml:8:16: spec.Description is 3073 characters long; the limit is 3072",
        "m.yaml:9:3: unknown field 'MetadataProperties' in spec: a Context has no "
        "MetadataProperties (an Artifact and an Action have)",
        "m.yaml:15:15: spec.ActionName must be letters, digits and hyphens, starting and ending "
        "with a letter or digit; got 'churn_approval'",
        "m.yaml:18:11: spec.Status must be 'Unknown', 'InProgress', 'Completed', 'Failed', "
        "'Stopping' or 'Stopped', not 'Done'",
        'm.yaml:19:23: spec.Properties.score must be a string, not a number; quote it: score: "0.9"',
    ]


def test_a_field_of_another_kind_is_named_as_such_with_its_counterpart(tmp_path: Path) -> None:
    write(
        tmp_path,
        """\
        apiVersion: reconciler/v1
        kind: Context
        metadata: {name: endpoint}
        spec:
          ArtifactType: Endpoint
          Source: {SourceUri: "s3://a"}
          Status: Completed
        """,
    )
    # ContextType is not reported missing: the hint explains it.
    assert problems(tmp_path) == [
        "m.yaml:5:3: unknown field 'ArtifactType' in spec: a Context has no ArtifactType (an "
        "Artifact has); did you mean 'ContextType'?",
        "m.yaml:7:3: unknown field 'Status' in spec: a Context has no Status (an Action has)",
    ]


def test_an_end_written_as_a_mapping_or_a_list_is_told_what_an_end_is(tmp_path: Path) -> None:
    write(
        tmp_path,
        """\
        apiVersion: reconciler/v1
        kind: Association
        metadata: {name: e}
        spec:
          Source: {SourceUri: "s3://a"}
          Destination: [a, b]
        """,
    )
    what = (
        "one end, the metadata.name of a declared Artifact, Context or Action, or an ARN (an "
        "Association is one edge: declare one for each pair of ends)"
    )
    assert problems(tmp_path) == [
        f"m.yaml:5:11: spec.Source must be a string, not a mapping: {what}",
        f"m.yaml:6:16: spec.Destination must be a string, not a list: {what}",
    ]


def test_a_context_name_may_hold_underscores_but_not_a_metadata_name(tmp_path: Path) -> None:
    write_manifests(tmp_path, context_doc("churn_endpoint"))
    (message,) = problems(tmp_path)
    assert "metadata.name must be letters, digits and hyphens" in message


def test_reserved_and_repeated_tags_are_refused_on_contexts_and_actions(tmp_path: Path) -> None:
    tags = [{"Key": "team", "Value": "a"}, {"Key": "team", "Value": "b"}]
    write_manifests(
        tmp_path,
        context_doc("c", Tags=tags),
        action_doc("a", Tags=[{"Key": "reconciler:name", "Value": "x"}]),
    )
    found = problems(tmp_path)
    assert found == [
        "artifacts.yaml:13:10: duplicate tag key 'team' (first in tag 1)",
        "artifacts.yaml:25:10: spec.Tags[0].Key: the tag 'reconciler:name' is set by reconciler "
        "to mark ownership; remove it",
    ]


def test_arn_ends_must_be_what_add_association_accepts(tmp_path: Path) -> None:
    trial = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:experiment-trial/churn"
    write(
        tmp_path,
        f"""\
        apiVersion: reconciler/v1
        kind: Association
        metadata: {{name: bad-ends}}
        spec:
          Source: {trial}
          Destination: churn_model
        ---
        apiVersion: reconciler/v1
        kind: Association
        metadata: {{name: too-long}}
        spec:
          Source: {TRIAL}{"x" * 200}
          Destination: arn:aws:sagemaker:{REGION}:12345:artifact/short-account
        """,
    )
    assert problems(tmp_path) == [
        f"m.yaml:5:11: spec.Source must be an ARN AddAssociation accepts: "
        "arn:aws:sagemaker:REGION:ACCOUNT:TYPE/ID, where TYPE is artifact, context, action, "
        f"experiment or experiment-trial-component; got '{trial}'",
        "m.yaml:6:16: spec.Destination must be the metadata.name of a declared Artifact, Context "
        "or Action (letters, digits and hyphens) or an ARN; got 'churn_model'",
        "m.yaml:12:11: spec.Source is 283 characters long; the limit is 256",
        "m.yaml:13:16: spec.Destination must be an ARN AddAssociation accepts: "
        "arn:aws:sagemaker:REGION:ACCOUNT:TYPE/ID, where TYPE is artifact, context, action, "
        "experiment or experiment-trial-component; got "
        f"'arn:aws:sagemaker:{REGION}:12345:artifact/short-account'",
    ]


def test_an_arn_end_with_a_line_break_is_refused(tmp_path: Path) -> None:
    write_manifests(tmp_path, manifest_doc("m"), association_doc("e", TRIAL + "\n", "m"))
    (message,) = problems(tmp_path)
    assert "spec.Source must be an ARN AddAssociation accepts" in message


# --- across documents ---------------------------------------------------------------------------


def test_an_undeclared_end_is_named_with_the_closest_declared_name(tmp_path: Path) -> None:
    write_manifests(
        tmp_path,
        manifest_doc("churn-model"),
        context_doc("churn-endpoint"),
        association_doc("a", "churn-modle", "churn-endpiont"),
        association_doc("b", "churn-model", "billing-report"),
    )
    assert problems(tmp_path) == [
        "artifacts.yaml:25:11: Source 'churn-modle' is not declared; did you mean 'churn-model'?",
        "artifacts.yaml:26:16: Destination 'churn-endpiont' is not declared; did you mean "
        "'churn-endpoint'?",
        "artifacts.yaml:35:16: Destination 'billing-report' is not declared; declare an "
        "Artifact, a Context or an Action named 'billing-report', or give the ARN of an entity "
        "reconciler does not manage",
    ]


def test_an_end_naming_another_edge_is_refused(tmp_path: Path) -> None:
    write_manifests(
        tmp_path,
        manifest_doc("data"),
        manifest_doc("model"),
        association_doc("data-to-model", "data", "model"),
        association_doc("edge-of-edge", "data-to-model", "model"),
    )
    assert problems(tmp_path) == [
        "artifacts.yaml:34:11: Source 'data-to-model' is an Association; an edge joins entities "
        "(an Artifact, a Context or an Action), not edges"
    ]


def test_two_edges_between_the_same_ends_are_refused_whatever_their_types(
    tmp_path: Path,
) -> None:
    write_manifests(
        tmp_path,
        manifest_doc("data"),
        manifest_doc("model"),
        association_doc("first", "data", "model", "ContributedTo"),
        association_doc("second", "data", "model", "DerivedFrom"),
        association_doc("backwards", "model", "data", "DerivedFrom"),  # another pair: fine
    )
    assert problems(tmp_path) == [
        "artifacts.yaml:34:11: duplicate edge from 'data' to 'model': the Association 'first' at "
        f"{tmp_path.as_posix()}/artifacts.yaml:25:11 joins the same two; the service keeps one "
        "edge per pair of ends whatever its type, so keep one of them"
    ]


def test_two_experiment_entities_cannot_be_joined(tmp_path: Path) -> None:
    write_manifests(tmp_path, association_doc("e", EXPERIMENT, TRIAL))
    assert problems(tmp_path) == [
        "artifacts.yaml:7:3: an association cannot join two experiment entities (experiments "
        "and trial components); the service refuses it"
    ]


def test_an_edge_from_an_entity_to_itself_is_a_warning(tmp_path: Path) -> None:
    write_manifests(tmp_path, manifest_doc("m"), association_doc("loop", "m", "m"))
    desired = load_manifests(tmp_path)
    assert warnings_of(desired, tmp_path) == [
        "artifacts.yaml:17:16: an edge from 'm' to itself; the service documents no rule "
        "against it, but it says nothing about lineage: remove it"
    ]
    assert list(desired.by_kind()["Association"]) == ["loop"]


def test_metadata_names_are_unique_across_kinds(tmp_path: Path) -> None:
    write_manifests(tmp_path, manifest_doc("churn"), context_doc("churn"), action_doc("churn"))
    shown = tmp_path.as_posix()
    assert problems(tmp_path) == [
        "artifacts.yaml:14:9: duplicate metadata.name 'churn' (the name of an Artifact; names "
        f"are unique across all kinds); first declared at {shown}/artifacts.yaml:5:9",
        "artifacts.yaml:23:9: duplicate metadata.name 'churn' (the name of an Artifact; names "
        f"are unique across all kinds); first declared at {shown}/artifacts.yaml:5:9",
    ]


def test_context_and_action_names_are_unique_on_the_service(tmp_path: Path) -> None:
    write_manifests(
        tmp_path,
        context_doc("endpoint"),
        context_doc("other", ContextName="endpoint"),
        action_doc("approval"),
        action_doc("again", ActionName="approval"),
        action_doc("fine", ActionName="endpoint"),  # actions and contexts: two namespaces
    )
    shown = tmp_path.as_posix()
    assert problems(tmp_path) == [
        f"artifacts.yaml:19:16: ContextName 'endpoint' is also the ContextName of 'endpoint' at "
        f"{shown}/artifacts.yaml:5:9; the service names contexts uniquely in an account and "
        "region, so give each its own ContextName",
        f"artifacts.yaml:38:15: ActionName 'approval' is also the ActionName of 'approval' at "
        f"{shown}/artifacts.yaml:24:9; the service names actions uniquely in an account and "
        "region, so give each its own ActionName",
    ]


def test_every_problem_of_every_kind_is_reported_at_once(tmp_path: Path) -> None:
    write_manifests(tmp_path / "a", manifest_doc("data"), context_doc("data"))
    write_manifests(
        tmp_path / "b",
        action_doc("approval", Status="Complete"),
        association_doc("e", "dta", "approval"),
        filename="more.yaml",
    )
    found = problems(tmp_path)
    assert [m.split(": ", 1)[1].split(" ")[0] for m in found] == [
        "duplicate",
        "spec.Status",
        "Source",
    ]


def test_more_contexts_than_the_quota_is_a_warning_at_the_first_too_many(tmp_path: Path) -> None:
    documents = [context_doc(f"c{i:03d}") for i in range(501)]
    write_manifests(tmp_path, *documents)
    desired = load_manifests(tmp_path)
    (warning,) = warnings_of(desired, tmp_path)
    line = 500 * 9 + 5  # each document is 9 lines; the 501st's metadata.name
    assert warning == (
        f"artifacts.yaml:{line}:9: Context number 501 of 501: the service allows 500 contexts "
        "per account and region (its default quota), so apply will stop at the quota unless "
        "the account's was raised"
    )
    assert len(desired.declared["Context"]) == 501


def test_exactly_the_quota_is_fine(tmp_path: Path) -> None:
    write_manifests(tmp_path, *[context_doc(f"c{i:03d}") for i in range(500)])
    assert load_manifests(tmp_path).warnings == ()


def test_validate_counts_every_kind(repo: Path) -> None:
    lineage(repo / "manifests")
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "2 artifacts, 1 context, 1 action and 4 associations in 1 file under manifests are valid.\n"
    )


def test_validate_names_a_lone_context(repo: Path) -> None:
    write_manifests(repo / "manifests", context_doc("endpoint"))
    result = CliRunner().invoke(cli, ["validate"])
    assert result.stdout == "1 context in 1 file under manifests is valid.\n"


def test_an_arn_end_naming_a_declared_context_or_action_is_a_warning(tmp_path: Path) -> None:
    prefix = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
    write_manifests(
        tmp_path,
        context_doc("endpoint", ContextName="churn-prod-endpoint"),
        action_doc("approval"),
        association_doc("a", f"{prefix}:action/approval", f"{prefix}:context/churn-prod-endpoint"),
        association_doc("b", TRIAL, f"{prefix}:context/someone-elses"),  # not declared here: fine
    )
    desired = load_manifests(tmp_path)
    shown = tmp_path.as_posix()
    assert warnings_of(desired, tmp_path) == [
        f"artifacts.yaml:26:11: Source is the ARN of the action 'approval' that 'approval' "
        f"declares at {shown}/artifacts.yaml:15:9; write 'approval' instead, so that the edge is "
        "added after it and follows it when it is replaced",
        f"artifacts.yaml:28:5: Destination is the ARN of the context 'churn-prod-endpoint' that "
        f"'endpoint' declares at {shown}/artifacts.yaml:5:9; write 'endpoint' instead, so that the "
        "edge is added after it and follows it when it is replaced",
    ]
