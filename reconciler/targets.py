"""Several targets from one repository (reconciler.yaml `targets`): each an account and region
with its own lockfile, manifest directories, credentials and variables.

Without `targets` there is one implicit target, and none of this is used.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from reconciler.errors import ReconcilerError
from reconciler.textsafe import quoted

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,127}")
ACCOUNT = re.compile(r"[0-9]{12}")
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")
ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::(?P<account>[0-9]{12}):role/[\w+=,.@/-]{1,512}")


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


def rebased(target: TargetContext, base: Path) -> TargetContext:
    """The target with its paths, as written in reconciler.yaml (relative to it), put under
    `base` (where reconciler.yaml is, seen from the working directory)."""
    return replace(
        target,
        manifests=tuple(base / directory for directory in target.manifests),
        lockfile=base / target.lockfile,
    )


def select(declared: list[TargetContext], names: Iterable[str]) -> list[TargetContext]:
    """The targets named (in the order named, each once), or every target when none is."""
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return declared
    by_name = {target.name: target for target in declared}
    unknown = [name for name in wanted if name not in by_name]
    if unknown:
        raise ReconcilerError(
            f"no target named {', '.join(map(quoted, unknown))} in reconciler.yaml; the "
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
