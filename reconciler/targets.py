"""Several targets from one repository (reconciler.yaml `targets`): each an account and region
with its own lockfile, manifest directories, credentials and variables.

Without `targets` there is one implicit target, and none of this is used.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from reconciler.errors import ReconcilerError

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,127}")
ACCOUNT = re.compile(r"[0-9]{12}")
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")
ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::(?P<account>[0-9]{12}):role/[\w+=,.@/-]{1,512}")


class TargetSpec(BaseModel):
    """One entry of reconciler.yaml `targets`. Paths are relative to reconciler.yaml."""

    # Built when first used: only a repository with reconciler.yaml needs it.
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)

    account: str
    region: str
    lockfile: Annotated[str, Field(min_length=1)]
    #: Directories of manifests, read recursively, in order (a common one and its own, say).
    manifests: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
    #: An AWS profile to take credentials from (else the standard chain).
    profile: Annotated[str, Field(min_length=1)] | None = None
    #: A role to assume with STS AssumeRole (from the profile's, or the chain's, credentials).
    role: str | None = None
    #: A read-only role for what only reads the account (`audit --live`, `plan --refresh`):
    #: assumed instead of `role` there, so a daily audit never holds write permissions.
    audit_role: str | None = None
    #: Values for ${vars.NAME} in the manifests' string values.
    vars: dict[str, str] = Field(default_factory=dict)

    @field_validator("account")
    @classmethod
    def _account(cls, account: str) -> str:
        if not ACCOUNT.fullmatch(account):
            raise ValueError(f"must be a 12-digit AWS account id, not {account!r}")
        return account

    @field_validator("region")
    @classmethod
    def _region(cls, region: str) -> str:
        if not REGION.fullmatch(region):
            raise ValueError(f"must be an AWS region such as eu-west-1, not {region!r}")
        return region

    @field_validator("role", "audit_role")
    @classmethod
    def _role(cls, role: str | None) -> str | None:
        if role is not None and not ROLE_ARN.fullmatch(role):
            raise ValueError(
                f"must be an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME), not {role!r}"
            )
        return role

    @field_validator("vars")
    @classmethod
    def _variable_names(cls, variables: dict[str, str]) -> dict[str, str]:
        for name in variables:
            if not VARIABLE_NAME.fullmatch(name):
                raise ValueError(
                    f"variable name {name!r} must be letters, digits, '_' and '-', "
                    "starting with a letter or '_'"
                )
        return variables

    @model_validator(mode="after")
    def _credentials(self) -> TargetSpec:
        for field, role in (("role", self.role), ("audit_role", self.audit_role)):
            if self.profile is not None and role is not None:
                raise ValueError(
                    f"give 'profile' or '{field}', not both (a role is assumed from the "
                    "standard chain's credentials, or from --profile)"
                )
            match = ROLE_ARN.fullmatch(role) if role is not None else None
            if match is not None and match.group("account") != self.account:
                raise ValueError(
                    f"the role {role} is in account {match.group('account')}, not the "
                    f"target's account {self.account}"
                )
        return self


def check_targets(targets: dict[str, TargetSpec]) -> dict[str, TargetSpec]:
    """Rules across targets: names, at least one target, one lockfile each."""
    if not targets:
        raise ValueError("declare at least one target, or remove 'targets'")
    for name in targets:
        if not NAME.fullmatch(name):
            raise ValueError(
                f"target name {name!r} must be 1-63 letters, digits and the characters _ . -, "
                "starting with a letter or digit"
            )
    owners: dict[str, str] = {}
    for name, spec in targets.items():
        first = owners.setdefault(Path(spec.lockfile).as_posix(), name)
        if first != name:
            raise ValueError(
                f"targets '{first}' and '{name}' share the lockfile {spec.lockfile}; give each "
                "target its own"
            )
    return targets


@dataclass(frozen=True)
class TargetContext:
    """A target as a run uses it: paths resolved, variables ready for the manifests."""

    name: str
    account: str
    region: str
    manifests: tuple[Path, ...]
    lockfile: Path
    profile: str | None = None
    role: str | None = None
    audit_role: str | None = None
    vars: Mapping[str, str] | None = None

    def variables(self) -> dict[str, str]:
        """What ${...} may name in this target's manifests."""
        values = {f"vars.{name}": value for name, value in (self.vars or {}).items()}
        values.update(
            {"target.name": self.name, "target.account": self.account, "target.region": self.region}
        )
        return values

    def __str__(self) -> str:
        return f"target '{self.name}' (account {self.account} in {self.region})"


def contexts(targets: Mapping[str, TargetSpec], base: Path) -> list[TargetContext]:
    return [
        TargetContext(
            name=name,
            account=spec.account,
            region=spec.region,
            manifests=tuple(base / directory for directory in spec.manifests),
            lockfile=base / spec.lockfile,
            profile=spec.profile,
            role=spec.role,
            audit_role=spec.audit_role,
            vars=dict(spec.vars),
        )
        for name, spec in targets.items()
    ]


def select(declared: list[TargetContext], names: Iterable[str]) -> list[TargetContext]:
    """The targets named (in the order named, each once), or every target when none is."""
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return declared
    by_name = {target.name: target for target in declared}
    unknown = [name for name in wanted if name not in by_name]
    if unknown:
        raise ReconcilerError(
            f"no target named {', '.join(repr(n) for n in unknown)} in reconciler.yaml; the "
            f"targets are: {', '.join(by_name)}"
        )
    return [by_name[name] for name in wanted]


# --- the GitHub Actions matrix -------------------------------------------------------------------


def matrix_entry(target: TargetContext) -> dict[str, Any]:
    return {
        "target": target.name,
        "account": target.account,
        "region": target.region,
        "role": target.role or "",
        "audit_role": target.audit_role or "",
        "lockfile": target.lockfile.as_posix(),
    }


def implicit_matrix_entry(lockfile: Path) -> dict[str, Any]:
    """The matrix entry of the one implicit target (no `targets` in reconciler.yaml): the
    workflow's repository variables give its role and region."""
    keys = ("target", "account", "region", "role", "audit_role")
    return dict.fromkeys(keys, "") | {"lockfile": str(lockfile)}


def github_matrix(entries: list[dict[str, Any]]) -> str:
    """One line of JSON for `strategy.matrix: ${{ fromJSON(...) }}`: {"include": [...]}."""
    return json.dumps({"include": entries}, separators=(",", ":"), sort_keys=True)
