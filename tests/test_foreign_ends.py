"""An edge's end written as the ARN of an entity in another partition, account or region than the
manifests are applied to: reported at the first command that knows where they are applied (a
target of reconciler.yaml: validate; the lockfile's target: plan; the credentials: apply and
plan --refresh), as an error where the service cannot add it and a warning where it may not."""

from __future__ import annotations

import json
import re
from pathlib import Path

import botocore.session
import pytest

from reconciler import lockfile
from reconciler.foreign import PARTITION_REGIONS, Where, finding, partition_of
from reconciler.sandbox import Sandbox
from tests.helpers import association_doc, manifest_doc, write_manifests
from tests.hostile import SINGLE_LINE, assert_safe_markdown, assert_safe_text
from tests.sandboxed import REGION, apply, reconciler

DEV, PROD, OTHER = "123456789012", "222222222222", "333333333333"


def context_arn(account: str, region: str = REGION, partition: str = "aws") -> str:
    return f"arn:{partition}:sagemaker:{region}:{account}:context/shared-endpoint"


def two_targets(repo: Path) -> None:
    """reconciler.yaml with dev and prod (two accounts, one region), sharing manifests/."""
    (repo / "reconciler.yaml").write_text(
        "targets:\n"
        + "".join(
            f'  {name}:\n    account: "{account}"\n    region: {REGION}\n'
            f"    lockfile: {name}.lock.json\n    manifests: [manifests]\n"
            for name, account in (("dev", DEV), ("prod", PROD))
        )
    )


def edge_to(end: str) -> list[dict[str, object]]:
    return [manifest_doc("model"), association_doc("model-to-endpoint", "model", end)]


# --- the rules -------------------------------------------------------------------------------------


def test_the_partitions_agree_with_botocores() -> None:
    loader = botocore.session.get_session().get_component("data_loader")
    theirs = {p["id"]: p["regionRegex"] for p in loader.load_data("partitions")["partitions"]}
    assert dict(PARTITION_REGIONS) == theirs


@pytest.mark.parametrize(
    ("region", "partition"),
    [("eu-west-1", "aws"), ("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov"), ("x", None)],
)
def test_partition_of_a_region(region: str, partition: str | None) -> None:
    assert partition_of(region) == partition


def test_an_end_in_the_targets_own_account_and_region_is_fine() -> None:
    assert finding(context_arn(DEV), Where(DEV, REGION, "target 'dev'")) is None


def test_an_end_in_a_region_no_partition_claims_is_not_refused() -> None:
    """A partition botocore does not know yet is not said to differ."""
    found = finding(context_arn(DEV, partition="aws-new"), Where(DEV, "xx-new-1", "it"))
    assert found is not None and not found.error


# --- validate, with targets ----------------------------------------------------------------------


def test_validate_warns_per_target_at_the_end_in_another_account(repo: Path) -> None:
    two_targets(repo)
    write_manifests(repo / "manifests", *edge_to(context_arn(DEV)))
    run = reconciler("validate")
    assert run.code == 0, run.err
    warnings = [line for line in run.err.splitlines() if "warning" in line]
    assert warnings == [
        "manifests/artifacts.yaml:17:16: warning: Destination is an ARN of account "
        f"{DEV}, but target 'prod' is account {PROD}: the service adds an edge to another "
        "account's entity only if that account shares its lineage with this one (an AWS RAM "
        "share of its lineage group), and apply stops at this edge otherwise"
    ]


def test_an_arn_made_per_target_with_variables_is_fine_everywhere(repo: Path) -> None:
    two_targets(repo)
    end = "arn:aws:sagemaker:${target.region}:${target.account}:context/shared-endpoint"
    write_manifests(repo / "manifests", *edge_to(end))
    run = reconciler("validate")
    assert run.code == 0, run.err
    assert "warning" not in run.err


def test_an_end_in_another_region_is_a_warning_naming_the_variable(repo: Path) -> None:
    two_targets(repo)
    end = "arn:aws:sagemaker:us-east-1:${target.account}:context/shared-endpoint"
    write_manifests(repo / "manifests", *edge_to(end))
    run = reconciler("validate", "--target", "dev")
    assert run.code == 0, run.err
    assert run.err.splitlines()[0] == (
        "manifests/artifacts.yaml:18:5: warning: Destination is an ARN in us-east-1, but "
        "target 'dev' is in eu-west-1: the service documents edges across accounts, not across "
        "regions, so apply may stop at this edge; write the ARN of the entity in eu-west-1 "
        "(${target.region} says it)"
    )


def test_an_end_in_another_partition_is_an_error(repo: Path) -> None:
    two_targets(repo)
    end = "arn:aws-cn:sagemaker:cn-north-1:${target.account}:context/shared-endpoint"
    write_manifests(repo / "manifests", *edge_to(end))
    run = reconciler("validate", "--target", "prod")
    assert run.code == 1
    assert run.err.splitlines()[0] == (
        "manifests/artifacts.yaml:18:5: Destination is an ARN of partition 'aws-cn', but "
        "target 'prod' is in 'aws' (eu-west-1); partitions share nothing, so the service cannot "
        "add it: write the ARN of an entity in aws (target prod)"
    )


def test_validate_github_annotates_the_warning(repo: Path) -> None:
    two_targets(repo)
    write_manifests(repo / "manifests", *edge_to(context_arn(OTHER)))
    run = reconciler("validate", "--format", "github")
    assert run.code == 0, run.err
    annotations = [line for line in run.out.splitlines() if line.startswith("::warning ")]
    assert len(annotations) == 2  # one per target
    assert all(
        re.match(r"::warning file=manifests/artifacts\.yaml,line=17,col=16,", line)
        and f"account {OTHER}" in line
        for line in annotations
    )


# --- without a target ----------------------------------------------------------------------------


def test_an_end_in_no_region_is_an_error_without_any_target(repo: Path) -> None:
    write_manifests(repo / "manifests", *edge_to(f"arn:aws:sagemaker::{DEV}:context/x"))
    run = reconciler("validate")
    assert run.code == 1
    assert run.err.splitlines()[0].startswith(
        "manifests/artifacts.yaml:17:16: Destination is an ARN that names no region"
    )


def test_validate_without_a_target_knows_no_account(repo: Path) -> None:
    write_manifests(repo / "manifests", *edge_to(context_arn(OTHER)))
    run = reconciler("validate")
    assert run.code == 0, run.err
    assert "warning" not in run.err


# --- plan, against the lockfile's target -----------------------------------------------------------


def applied_once(repo: Path, account: str = DEV) -> None:
    """A lockfile that a first apply made in `account`: it says where the manifests go."""
    target = lockfile.Target(account, REGION)
    lockfile.save(repo / "artifacts.lock.json", lockfile.Lockfile(LINEAGE, 1, target))


LINEAGE = "5b8e4c1e-2f7a-4d0e-9c55-0a4a1f6a2b11"
NOT_SHARED = (
    "the service adds an edge to another account's entity only if that account shares its "
    "lineage with this one (an AWS RAM share of its lineage group), and apply stops at this edge "
    "otherwise"
)


def test_plan_warns_of_an_end_in_another_account_than_the_lockfiles(repo: Path) -> None:
    applied_once(repo)
    write_manifests(repo / "manifests", *edge_to(context_arn(OTHER)))
    assert "warning" not in reconciler("validate").err  # validate reads no lockfile
    run = reconciler("plan")
    assert run.code == 0, run.err
    assert run.err.splitlines() == [
        f"manifests/artifacts.yaml:17:16: warning: Destination is an ARN of account {OTHER}, "
        f"but the lockfile's target is account {DEV}: {NOT_SHARED}"
    ]
    note = (
        f"its Destination is an ARN of account {OTHER}, but the lockfile's target is account "
        f"{DEV}: {NOT_SHARED}"
    )
    assert note in run.out
    changes = json.loads(reconciler("plan", "--format", "json").out)["changes"]
    assert [c["notes"] for c in changes if c["name"] == "model-to-endpoint"] == [[note]]
    assert note in reconciler("plan", "--format", "markdown").out


def test_plan_refuses_an_end_in_another_partition_than_the_lockfiles(repo: Path) -> None:
    applied_once(repo)
    end = context_arn(DEV, "cn-north-1", "aws-cn")
    write_manifests(repo / "manifests", *edge_to(end))
    run = reconciler("plan")
    assert run.code == 1
    assert run.err.splitlines() == [
        "manifests/artifacts.yaml:18:5: Destination is an ARN of partition 'aws-cn', but the "
        "lockfile's target is in 'aws' (eu-west-1); partitions share nothing, so the service "
        "cannot add it: write the ARN of an entity in aws",
        "error: 1 problem found in the manifests",
    ]


def test_an_end_of_the_lockfiles_own_account_says_nothing(repo: Path) -> None:
    applied_once(repo)
    write_manifests(repo / "manifests", *edge_to(context_arn(DEV)))
    run = reconciler("plan", "--format", "json")
    assert run.code == 0 and run.err == ""
    assert all(not c["notes"] for c in json.loads(run.out)["changes"])


# --- before the first apply: the credentials say where ---------------------------------------------


def test_plan_refresh_warns_against_the_account_the_credentials_reach(
    repo: Path, sandbox: Sandbox
) -> None:
    write_manifests(repo / "manifests", *edge_to(context_arn(OTHER)))
    assert "warning" not in reconciler("plan").err  # nothing says where yet
    run = reconciler("plan", "--refresh")
    assert run.code == 0, run.err
    assert run.err.splitlines() == [
        f"manifests/artifacts.yaml:17:16: warning: Destination is an ARN of account {OTHER}, "
        f"but the account these credentials reach is account {DEV}: {NOT_SHARED}"
    ]
    assert f"its Destination is an ARN of account {OTHER}" in run.out


def test_the_first_apply_shows_the_note_before_any_write(repo: Path, sandbox: Sandbox) -> None:
    write_manifests(repo / "manifests", *edge_to(context_arn(OTHER)))
    run = apply()
    assert f"its Destination is an ARN of account {OTHER}, but the account these" in run.out


def test_the_first_apply_refuses_an_end_in_another_partition_before_any_write(
    repo: Path, sandbox: Sandbox
) -> None:
    write_manifests(repo / "manifests", *edge_to(context_arn(DEV, "cn-north-1", "aws-cn")))
    assert reconciler("plan").code == 0  # nothing says where yet
    run = apply()
    assert run.code == 1
    assert run.err.startswith(
        "manifests/artifacts.yaml:18:5: Destination is an ARN of partition 'aws-cn', but the "
        "account these credentials reach is in 'aws' (eu-west-1)"
    )
    writes = {op: n for op, n in sandbox.counters().items() if not op.startswith(("List", "Desc"))}
    assert writes.get("CreateArtifact", 0) == 0 and writes.get("AddAssociation", 0) == 0
    assert not (repo / "artifacts.lock.json").exists()


def test_with_targets_the_plan_notes_the_end_in_each_target(repo: Path) -> None:
    two_targets(repo)
    write_manifests(repo / "manifests", *edge_to(context_arn(DEV)))
    run = reconciler("plan")
    assert run.code == 0, run.err
    assert f"its Destination is an ARN of account {DEV}, but target 'prod' is account" in run.out
    assert "but target 'dev'" not in run.out


# --- hostile ends --------------------------------------------------------------------------------


def test_hostile_ends_in_another_account_stay_escaped(repo: Path) -> None:
    two_targets(repo)
    ends = [f"arn:aws:sagemaker:{REGION}:{OTHER}:context/{text}"[:256] for text in SINGLE_LINE]
    documents = [manifest_doc("model")] + [
        association_doc(f"edge-{number}", "model", end) for number, end in enumerate(ends)
    ]
    write_manifests(repo / "manifests", *documents, filename="::warning::x\x1b[2J.yaml")
    for output_format in ("text", "github"):
        run = reconciler("validate", "--format", output_format)
        assert run.code == 0, run.err
        assert run.err.count(f"account {OTHER}") == 2 * len(ends)
        assert_safe_text(run.out, annotations=output_format == "github")
        assert_safe_text(run.err)
    for output_format in ("text", "markdown", "json"):
        run = reconciler("plan", "--format", output_format)
        assert run.code == 0, run.err
        assert run.out.count(f"ARN of account {OTHER}") == 2 * len(ends)
        if output_format == "markdown":
            assert_safe_markdown(run.out)
        else:
            assert_safe_text(run.out)
