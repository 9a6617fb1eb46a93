"""Audit: how the declared artifacts, the lockfile (and, later, the live account) disagree.

The offline part is pure, like the plan: (desired, lockfile) → findings.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from reconciler.lockfile import Lockfile, foreign_reason
from reconciler.plan import FieldChange, compare


class FindingKind(StrEnum):
    NOT_APPLIED = "not-applied"
    NOT_DECLARED = "not-declared"
    DIFFERS = "differs"
    MALFORMED = "malformed"
    FOREIGN = "foreign-target"


FINDING_TEXT = {
    FindingKind.NOT_APPLIED: "declared but not applied",
    FindingKind.NOT_DECLARED: "applied but no longer declared",
    FindingKind.DIFFERS: "the applied spec differs from the manifest",
    FindingKind.MALFORMED: "the lockfile entry cannot be read",
    FindingKind.FOREIGN: "the lockfile entry belongs to another account or region",
}


@dataclass(frozen=True)
class Finding:
    name: str
    kind: FindingKind
    detail: str = ""
    arn: str | None = None
    fields: tuple[FieldChange, ...] = ()


@dataclass(frozen=True)
class AuditReport:
    findings: tuple[Finding, ...]
    checked: int

    @property
    def clean(self) -> bool:
        return not self.findings

    def summary(self) -> dict[str, int]:
        counts = Counter(f.kind.value for f in self.findings)
        return {kind.value: counts.get(kind.value, 0) for kind in FindingKind}


def audit_offline(desired: dict[str, dict[str, Any]], lockfile: Lockfile) -> AuditReport:
    findings: list[Finding] = []
    for name, (why, _) in lockfile.malformed.items():
        findings.append(Finding(name, FindingKind.MALFORMED, why))
    for name, entry in lockfile.artifacts.items():
        reason = foreign_reason(entry, lockfile.target)
        if reason is not None:
            findings.append(Finding(name, FindingKind.FOREIGN, reason, entry.arn))
        elif name not in desired:
            findings.append(Finding(name, FindingKind.NOT_DECLARED, arn=entry.arn))
        else:
            change = compare(name, entry, desired[name])
            if change is not None:
                detail = f"apply would {change.action.value} it"
                if change.replace_because:
                    detail += f" ({', '.join(change.replace_because)} cannot change in place)"
                findings.append(
                    Finding(name, FindingKind.DIFFERS, detail, entry.arn, change.fields)
                )
    unreadable = set(lockfile.malformed)
    for name in desired:
        if name not in lockfile.artifacts and name not in unreadable:
            findings.append(Finding(name, FindingKind.NOT_APPLIED))
    findings.sort(key=lambda f: (f.name, f.kind.value))
    checked = len(set(desired) | set(lockfile.artifacts) | unreadable)
    return AuditReport(tuple(findings), checked)
