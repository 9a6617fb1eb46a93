"""An edge's end written as the ARN of an entity in another partition, account or region than the
one the manifests are applied to: what the service does with it, said before apply.

What AddAssociation does with such an end (the README's "Ends in another account or region"):
partitions share nothing, so an end in another partition, or in no region at all, names
nothing the service can find (an error). An end in another account is added when that account
shares its lineage with the caller's (the developer guide's cross-account lineage tracking, an
AWS RAM share of its lineage group), and refused otherwise: a warning, since only the accounts
know. An end in another region is documented neither way: a warning.

Light: validate loads it (no pydantic, no YAML parser).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reconciler.targets import TargetContext

#: botocore's partitions (`botocore/data/partitions.json`, each partition's `regionRegex`; the
#: tests check that they agree): which partition a region is in.
PARTITION_REGIONS: tuple[tuple[str, str], ...] = (
    ("aws", r"^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$"),
    ("aws-cn", r"^cn\-\w+\-\d+$"),
    ("aws-eusc", r"^eusc\-(de)\-\w+\-\d+$"),
    ("aws-iso", r"^us\-iso\-\w+\-\d+$"),
    ("aws-iso-b", r"^us\-isob\-\w+\-\d+$"),
    ("aws-iso-e", r"^eu\-isoe\-\w+\-\d+$"),
    ("aws-iso-f", r"^us\-isof\-\w+\-\d+$"),
    ("aws-us-gov", r"^us\-gov\-\w+\-\d+$"),
)
_PARTITIONS = tuple((name, re.compile(pattern)) for name, pattern in PARTITION_REGIONS)
#: What an end's ARN says: AddAssociation's pattern (kinds/association.py) has checked it.
_PARTS = re.compile(r"arn:(?P<partition>[^:]*):sagemaker:(?P<region>[^:]*):(?P<account>[^:]*):")


@dataclass(frozen=True)
class Where:
    """The account and region the manifests are applied to, and how a message names them."""

    account: str
    region: str
    #: "target 'prod'", "the lockfile's target", "the account these credentials reach".
    shown: str
    #: Whether the manifests may say `${target.region}` (a target of reconciler.yaml).
    variables: bool = False

    @classmethod
    def of_target(cls, target: TargetContext) -> Where:
        """A target of reconciler.yaml."""
        return cls(target.account, target.region, f"target '{target.name}'", variables=True)

    @classmethod
    def recorded(cls, account: str | None, region: str | None) -> Where | None:
        """The lockfile's target, once a first apply has set it."""
        if account is None or region is None:
            return None
        return cls(account, region, "the lockfile's target")

    @classmethod
    def reached(cls, account: str | None, region: str | None) -> Where | None:
        """Where the credentials reach (None when the service did not say)."""
        if account is None or region is None:
            return None
        return cls(account, region, "the account these credentials reach")


@dataclass(frozen=True)
class Finding:
    """What is wrong with an end, as the rest of a sentence that starts with the end's field
    ("Source is an ARN of account ..."); an error when the service certainly refuses it."""

    text: str
    error: bool


def partition_of(region: str) -> str | None:
    """The partition of a region, or None for a region no partition claims."""
    for name, pattern in _PARTITIONS:
        if pattern.match(region):
            return name
    return None


def regionless(arn: str) -> Finding | None:
    """An error for an ARN that names no region: every lineage entity lives in one."""
    parts = _PARTS.match(arn)
    if parts is None or parts["region"]:
        return None
    return Finding(
        "is an ARN that names no region (nothing between 'sagemaker:' and the account), and "
        "every lineage entity lives in a region: the service cannot find it; write the region "
        "of the entity",
        error=True,
    )


def finding(arn: str, where: Where) -> Finding | None:
    """What the service does with `arn` as an end of an edge added in `where`, when it is not
    simply added there; None for an end of `where`'s own account and region."""
    parts = _PARTS.match(arn)
    if parts is None or not parts["region"]:
        return None  # not an ARN (a name), or regionless(), which needs no target
    partition, region, account = parts["partition"], parts["region"], parts["account"]
    ours = partition_of(where.region)
    if ours is not None and partition != ours:
        return Finding(
            f"is an ARN of partition '{partition}', but {where.shown} is in '{ours}' "
            f"({where.region}); partitions share nothing, so the service cannot add it: write "
            f"the ARN of an entity in {ours}",
            error=True,
        )
    if region != where.region and account != where.account:
        return Finding(
            f"is an ARN of account {account} in {region}, but {where.shown} is account "
            f"{where.account} in {where.region}: {ACROSS_ACCOUNTS} and {ACROSS_REGIONS}"
            f"{_region_fix(where)}",
            error=False,
        )
    if region != where.region:
        return Finding(
            f"is an ARN in {region}, but {where.shown} is in {where.region}: {ACROSS_REGIONS}"
            f"{_region_fix(where)}",
            error=False,
        )
    if account != where.account:
        return Finding(
            f"is an ARN of account {account}, but {where.shown} is account {where.account}: "
            f"{ACROSS_ACCOUNTS}, and apply stops at this edge otherwise",
            error=False,
        )
    return None


ACROSS_ACCOUNTS = (
    "the service adds an edge to another account's entity only if that account shares its "
    "lineage with this one (an AWS RAM share of its lineage group)"
)
ACROSS_REGIONS = (
    "the service documents edges across accounts, not across regions, so apply may stop at "
    "this edge"
)


def _region_fix(where: Where) -> str:
    if where.variables:
        return f"; write the ARN of the entity in {where.region} (${{target.region}} says it)"
    return f"; write the ARN of the entity in {where.region}"
