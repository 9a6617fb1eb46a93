"""The sandbox's AddAssociation with an end in another account (added when that account shares
its lineage with the caller's, as the developer guide's cross-account lineage tracking says;
AccessDeniedException otherwise) or in another region (undocumented: a knob refuses or accepts
it), through unmodified boto3; and apply under each, through the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from reconciler import lockfile
from reconciler.sandbox import Sandbox, SandboxConfig
from reconciler.sandbox.accounts import access_key_for
from tests.helpers import association_doc, manifest_doc, write_manifests
from tests.sandboxed import REGION, apply, reconciler, use

OURS, THEIRS = "123456789012", "333333333333"
ELSEWHERE = "us-east-1"
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def client(sandbox: Sandbox, account: str, region: str = REGION) -> Any:
    return boto3.client(
        "sagemaker",
        endpoint_url=sandbox.url,
        region_name=region,
        aws_access_key_id=access_key_for(account),
        aws_secret_access_key="x",
        config=NO_RETRIES,
    )


def endpoint_context(sandbox: Sandbox, account: str, region: str = REGION) -> str:
    """A context of `account` in `region`: what an edge's end names."""
    made = client(sandbox, account, region).create_context(
        ContextName="shared-endpoint",
        ContextType="Endpoint",
        Source={"SourceUri": "s3://acme/endpoint"},
    )
    arn: str = made["ContextArn"]
    return arn


def our_artifact(sandbox: Sandbox) -> str:
    made = client(sandbox, OURS).create_artifact(
        ArtifactType="Model", Source={"SourceUri": "s3://acme/model.tar.gz"}
    )
    arn: str = made["ArtifactArn"]
    return arn


def sandbox_with(**config: Any) -> Sandbox:
    return Sandbox(SandboxConfig(account=OURS, more_accounts=(THEIRS,), **config))


# --- the sandbox -----------------------------------------------------------------------------------


def test_an_end_of_an_account_that_shares_nothing_is_access_denied() -> None:
    with sandbox_with() as sandbox:
        theirs, ours = endpoint_context(sandbox, THEIRS), our_artifact(sandbox)
        with pytest.raises(ClientError) as refused:
            client(sandbox, OURS).add_association(SourceArn=ours, DestinationArn=theirs)
        assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
        assert client(sandbox, OURS).list_associations()["AssociationSummaries"] == []


def test_an_end_of_an_account_that_shares_its_lineage_is_added() -> None:
    with sandbox_with(lineage_shares=((THEIRS, OURS),)) as sandbox:
        theirs, ours = endpoint_context(sandbox, THEIRS), our_artifact(sandbox)
        client(sandbox, OURS).add_association(
            SourceArn=ours, DestinationArn=theirs, AssociationType="ContributedTo"
        )
        (summary,) = client(sandbox, OURS).list_associations(DestinationArn=theirs)[
            "AssociationSummaries"
        ]
        assert (summary["SourceArn"], summary["DestinationArn"]) == (ours, theirs)
        assert (summary["DestinationType"], summary["DestinationName"]) == (
            "Endpoint",
            "shared-endpoint",
        )
        # The share is one way: the other account may not add edges to ours.
        with pytest.raises(ClientError) as refused:
            client(sandbox, THEIRS).add_association(SourceArn=theirs, DestinationArn=ours)
        assert refused.value.response["Error"]["Code"] == "AccessDeniedException"


@pytest.mark.parametrize("shared", [True, False])
def test_describe_by_the_arn_of_another_accounts_entity(shared: bool) -> None:
    """The developer guide: a shared entity is described by its ARN from the other account."""
    shares = ((THEIRS, OURS),) if shared else ()
    with sandbox_with(lineage_shares=shares) as sandbox:
        theirs = endpoint_context(sandbox, THEIRS)
        describe = client(sandbox, OURS).describe_context
        if shared:
            assert describe(ContextName=theirs)["ContextArn"] == theirs
        else:
            with pytest.raises(ClientError) as refused:
                describe(ContextName=theirs)
            assert refused.value.response["Error"]["Code"] == "AccessDeniedException"


def test_a_shared_entity_that_does_not_exist_is_not_found() -> None:
    with sandbox_with(lineage_shares=((THEIRS, OURS),)) as sandbox:
        ours = our_artifact(sandbox)
        missing = f"arn:aws:sagemaker:{REGION}:{THEIRS}:context/missing"
        with pytest.raises(ClientError) as refused:
            client(sandbox, OURS).add_association(SourceArn=ours, DestinationArn=missing)
        assert refused.value.response["Error"]["Code"] == "ResourceNotFound"


@pytest.mark.parametrize("mode", ["refuse", "accept"])
def test_an_end_in_another_region_follows_the_knob(mode: str) -> None:
    with sandbox_with(cross_region_associations=mode) as sandbox:
        elsewhere, ours = endpoint_context(sandbox, OURS, ELSEWHERE), our_artifact(sandbox)
        add = client(sandbox, OURS).add_association
        if mode == "refuse":
            with pytest.raises(ClientError) as refused:
                add(SourceArn=ours, DestinationArn=elsewhere)
            assert refused.value.response["Error"]["Code"] == "ResourceNotFound"
        else:
            add(SourceArn=ours, DestinationArn=elsewhere)
            listed = client(sandbox, OURS).list_associations(SourceArn=ours)
            assert [s["DestinationArn"] for s in listed["AssociationSummaries"]] == [elsewhere]


def test_the_knobs_are_options_of_the_command() -> None:
    run = reconciler("sandbox", "--share-lineage", "123")
    assert run.code == 1
    assert "--share-lineage '123' is not OWNER:CONSUMER" in run.err
    helped = reconciler("sandbox", "--help").out
    assert "--cross-region-associations [refuse|accept]" in helped
    assert "--share-lineage OWNER:CONSUMER" in helped


# --- apply under each -----------------------------------------------------------------------------


def the_error(stderr: str) -> str:
    """The one `error:` line of a run."""
    (error,) = [line for line in stderr.splitlines() if line.startswith("error: ")]
    return error


def edge_to(end: str) -> list[dict[str, Any]]:
    return [manifest_doc("model"), association_doc("model-to-endpoint", "model", end)]


def test_apply_adds_an_edge_to_a_shared_accounts_entity(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with sandbox_with(lineage_shares=((THEIRS, OURS),)) as sandbox:
        use(sandbox, monkeypatch)
        theirs = endpoint_context(sandbox, THEIRS)
        write_manifests(repo / "manifests", *edge_to(theirs))
        run = apply()
        assert run.code == 0, run.err
        assert f"its Destination is an ARN of account {THEIRS}" in run.out  # said before
        edge = lockfile.load(repo / "artifacts.lock.json").associations["model-to-endpoint"]
        assert edge.destination_arn == theirs and not edge.adopted
        again = reconciler("plan", "--detailed-exitcode")
        assert again.code == 0, again.out
        assert "account" not in again.out  # an edge recorded is not noted again
        audited = reconciler("audit", "--live")
        assert audited.code == 0, audited.out


def test_apply_refuses_an_edge_to_an_account_that_shares_nothing_before_any_write(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with sandbox_with() as sandbox:
        use(sandbox, monkeypatch)
        theirs = endpoint_context(sandbox, THEIRS)
        write_manifests(repo / "manifests", *edge_to(theirs))
        sandbox.reset_counters()
        run = apply()
        assert run.code == 1
        error = the_error(run.err)
        assert error == (
            f"error: model-to-endpoint: cannot add it: its Destination {theirs} is an entity of "
            f"account {THEIRS}, which the credentials of account {OURS} cannot read "
            f"(AccessDeniedException: User: arn:aws:iam::{OURS}:user/sandbox is not authorized "
            f"to perform this operation on resource: {theirs}: account {THEIRS} shares no "
            "lineage with this one.); the service adds an edge to another account's "
            "entity only if that account shares its lineage with this one (an AWS RAM share of "
            "its lineage group): nothing was changed"
        )
        writes = [op for op in sandbox.counters() if op.startswith(("Create", "Add", "Update"))]
        assert writes == []
        assert client(sandbox, OURS).list_artifacts()["ArtifactSummaries"] == []


def test_a_refusal_at_the_edge_itself_says_which_end_is_elsewhere(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The account shares its lineage, but the entity is gone by the time the edge is added."""
    with sandbox_with(lineage_shares=((THEIRS, OURS),)) as sandbox:
        use(sandbox, monkeypatch)
        theirs = endpoint_context(sandbox, THEIRS)
        write_manifests(repo / "manifests", *edge_to(theirs))
        original = sandbox.services[OURS].shared
        calls: list[str] = []

        def gone_at_the_add(caller: str, arn: str) -> Any:
            calls.append(arn)
            return original(caller, arn) if len(calls) == 1 else None  # Describe, then the add

        sandbox.services[OURS].shared = gone_at_the_add
        run = apply()
        assert run.code == 1
        error = the_error(run.err)
        assert error.startswith("error: model-to-endpoint: cannot add it: an end does not exist")
        assert error.endswith(
            f"; its Destination is an ARN of account {THEIRS}, but the account these credentials "
            f"reach is account {OURS}: the service adds an edge to another account's entity "
            "only if that account shares its lineage with this one (an AWS RAM share of its "
            "lineage group), and apply stops at this edge otherwise"
        )


@pytest.mark.parametrize("mode", ["refuse", "accept"])
def test_apply_of_an_edge_to_another_region_under_each_answer(
    repo: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    with sandbox_with(cross_region_associations=mode) as sandbox:
        use(sandbox, monkeypatch)
        elsewhere = endpoint_context(sandbox, OURS, ELSEWHERE)
        write_manifests(repo / "manifests", *edge_to(elsewhere))
        run = apply()
        recorded = lockfile.load(repo / "artifacts.lock.json")
        if mode == "accept":
            assert run.code == 0, run.err
            assert recorded.associations["model-to-endpoint"].destination_arn == elsewhere
            assert reconciler("plan", "--detailed-exitcode").code == 0
        else:
            assert run.code == 1
            assert f"its Destination is an ARN in {ELSEWHERE}, but the account these " in run.err
            assert not recorded.associations
