"""An edge's end written as the ARN of an entity in another partition, account or region than the
manifests are applied to: reported at the first command that knows where they are applied (a
target of reconciler.yaml: validate; the lockfile's target: plan; the credentials: apply and
plan --refresh), as an error where the service cannot add it and a warning where it may not."""

from __future__ import annotations

import re
from pathlib import Path

import botocore.session
import pytest

from reconciler.foreign import PARTITION_REGIONS, Where, finding, partition_of
from tests.helpers import association_doc, manifest_doc, write_manifests
from tests.sandboxed import REGION, reconciler

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
