"""Audit: how the declared artifacts, the lockfile (and, later, the live account) disagree.

The offline part is pure, like the plan: (desired, lockfile) → findings.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from reconciler.live import LiveState
from reconciler.lockfile import Lockfile, foreign_reason
from reconciler.ownership import Claim, Owner
from reconciler.plan import FieldChange, compare, field_changes


class FindingKind(StrEnum):
    NOT_APPLIED = "not-applied"
    NOT_DECLARED = "not-declared"
    DIFFERS = "differs"
    MALFORMED = "malformed"
    FOREIGN = "foreign-target"
    SHARED_ARN = "shared-arn"
    UNCERTAIN = "uncertain"
    DETACHED = "detached"
    MISSING = "missing"
    DRIFT = "drift"
    NOT_OWNED = "not-owned"
    UNRECORDED = "unrecorded"


FINDING_TEXT = {
    FindingKind.NOT_APPLIED: "declared but not applied",
    FindingKind.NOT_DECLARED: "applied but no longer declared",
    FindingKind.DIFFERS: "the applied spec differs from the manifest",
    FindingKind.MALFORMED: "the lockfile entry cannot be read",
    FindingKind.FOREIGN: "the lockfile entry belongs to another account or region",
    FindingKind.SHARED_ARN: "another lockfile entry records the same ARN",
    FindingKind.UNCERTAIN: "the outcome of the last write to it is unknown",
    FindingKind.DETACHED: "a replace of it did not finish; associations wait to be put back",
    FindingKind.MISSING: "recorded, but missing on the service",
    FindingKind.DRIFT: "changed on the service since it was applied",
    FindingKind.NOT_OWNED: "the artifact does not carry its ownership tag",
    FindingKind.UNRECORDED: "owned by reconciler on the service, but not in the lockfile",
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
    mode: str = "offline"
    #: For a live audit: how the service was read, and what it cost.
    strategy: str | None = None
    api_calls: int | None = None

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
    findings.extend(_shared_arns(lockfile))
    findings.extend(
        Finding(
            name, FindingKind.UNCERTAIN, "apply reads it back first", lockfile.artifacts[name].arn
        )
        for name in lockfile.uncertain
    )
    findings.extend(
        Finding(
            name,
            FindingKind.DETACHED,
            f"{len(detached.associations)} associations; apply puts them back",
        )
        for name, detached in sorted(lockfile.detached.items())
    )
    unreadable = set(lockfile.malformed)
    for name in desired:
        if name not in lockfile.artifacts and name not in unreadable:
            findings.append(Finding(name, FindingKind.NOT_APPLIED))
    findings.sort(key=lambda f: (f.name, f.kind.value))
    checked = len(set(desired) | set(lockfile.artifacts) | unreadable)
    return AuditReport(tuple(findings), checked)


def _shared_arns(lockfile: Lockfile) -> list[Finding]:
    """Entries that record one ARN: apply would change one artifact on behalf of both."""
    names_by_arn: dict[str, list[str]] = {}
    for name, entry in lockfile.artifacts.items():
        names_by_arn.setdefault(entry.arn, []).append(name)
    findings = []
    for arn, names in names_by_arn.items():
        if len(names) < 2:
            continue
        for name in names:
            others = ", ".join(f"'{other}'" for other in sorted(names) if other != name)
            detail = (
                f"also recorded as {others}; one artifact cannot be both: 'reconciler forget' "
                "the entry that is not its owner"
            )
            findings.append(Finding(name, FindingKind.SHARED_ARN, detail, arn))
    return findings


def audit_live(
    desired: dict[str, dict[str, Any]], lockfile: Lockfile, live: LiveState
) -> AuditReport:
    """The offline findings, and what the service says about every recorded artifact."""
    offline = audit_offline(desired, lockfile)
    findings = list(offline.findings)
    # What this audit saw, a refresh in the same mode sees (tag edits may need --deep).
    refresh = "--refresh --deep" if live.deep else "--refresh"
    drift_hint = f"'plan {refresh}' shows how 'apply {refresh}' would undo it"
    for name, artifact in live.recorded.items():
        entry = lockfile.artifacts[name]
        if artifact is None:
            findings.append(
                Finding(name, FindingKind.MISSING, "apply --refresh creates it again", entry.arn)
            )
            continue
        if artifact.tags is not None and artifact.claim(name, lockfile.lineage) not in (
            Claim.OURS,
            Claim.LEGACY,
        ):
            detail = Owner.of(artifact.tags).describe()
            findings.append(
                Finding(
                    name, FindingKind.NOT_OWNED, detail + "; apply will not touch it", entry.arn
                )
            )
        if artifact.spec is not None and artifact.spec != entry.spec:
            findings.append(
                Finding(
                    name,
                    FindingKind.DRIFT,
                    drift_hint,
                    entry.arn,
                    field_changes(entry.spec, artifact.spec),
                )
            )
    for arn, artifact in live.unrecorded.items():
        owner = artifact.owner or ""
        if owner in desired and owner not in lockfile.artifacts:
            detail = f"declared as '{owner}': 'reconciler import --all' adopts it"
        elif owner in lockfile.artifacts:
            detail = f"'{owner}' is recorded with another ARN ({lockfile.artifacts[owner].arn})"
        else:
            detail = f"'{owner}' is neither declared nor recorded (left behind by a lost lockfile?)"
        findings.append(Finding(owner, FindingKind.UNRECORDED, detail, arn))
    findings.sort(key=lambda f: (f.name, f.kind.value))
    return AuditReport(tuple(findings), offline.checked, "live", live.strategy, live.calls)
