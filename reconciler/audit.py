"""Audit: how the declared graph, the lockfile and (live) the service disagree, for every kind.

The offline part is pure, like the plan: (desired, lockfile) → findings. `desired` is the
manifests' canonical specs by kind, then by name (DesiredState.by_kind()).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from reconciler.kinds import ARTIFACT, ENTITY_KINDS, EntityKind
from reconciler.kinds.association import KIND as ASSOCIATION
from reconciler.kinds.association import is_arn
from reconciler.lockfile import Edge, Entry, Lockfile, edge_foreign_reason, foreign_reason
from reconciler.ownership import Claim, Owner
from reconciler.plan import FieldChange, compare, field_changes

Desired = Mapping[str, Mapping[str, dict[str, Any]]]

if TYPE_CHECKING:
    from reconciler.live import LiveEdge, LiveState


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
    UNMANAGED_EDGE = "unmanaged-edge"


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
    FindingKind.NOT_OWNED: "it does not carry its ownership tags",
    FindingKind.UNRECORDED: "owned by reconciler on the service, but not in the lockfile",
    FindingKind.UNMANAGED_EDGE: "an edge between two recorded entities that no manifest declares",
}

#: Findings that inform: they do not make an audit unclean (exit 0).
INFORMATIONAL = frozenset({FindingKind.UNMANAGED_EDGE})


@dataclass(frozen=True)
class Finding:
    name: str
    kind: FindingKind
    detail: str = ""
    arn: str | None = None
    fields: tuple[FieldChange, ...] = ()
    #: The manifest `kind` of what it is about ("Artifact", "Context", "Association").
    manifest_kind: str = ARTIFACT.kind

    @property
    def informational(self) -> bool:
        return self.kind in INFORMATIONAL


@dataclass(frozen=True)
class AuditReport:
    findings: tuple[Finding, ...]
    checked: int
    mode: str = "offline"
    #: For a live audit: how the service was read, and what it cost.
    strategy: str | None = None
    api_calls: int | None = None
    #: How many of each manifest kind were checked (declared or recorded), kinds with none left
    #: out; empty means `checked` artifacts.
    checked_by_kind: tuple[tuple[str, int], ...] = ()

    @property
    def problems(self) -> tuple[Finding, ...]:
        """The findings that are not informational."""
        return tuple(f for f in self.findings if not f.informational)

    @property
    def clean(self) -> bool:
        """No finding but informational ones."""
        return not self.problems

    def summary(self) -> dict[str, int]:
        counts = Counter(f.kind.value for f in self.findings)
        return {kind.value: counts.get(kind.value, 0) for kind in FindingKind}

    def checked_counts(self) -> dict[str, int]:
        return dict(self.checked_by_kind) or {ARTIFACT.kind: self.checked}


def _differs(name: str, kind: EntityKind, entry: Entry, declared: dict[str, Any]) -> Finding | None:
    """What the plan would do to the entry, as a finding (None when it would do nothing)."""
    change = compare(name, entry, declared, kind)
    if change is None:
        return None
    because = change.replace_because
    detail = f"apply would {'replace' if because else 'update'} it"
    if because:
        detail += f" ({', '.join(because)} cannot change in place)"
    if change.newly_kept:
        detail += f" ({change.stays_text()}; the lockfile records it)"
    return Finding(name, FindingKind.DIFFERS, detail, entry.arn, change.fields, kind.kind)


def _entity_findings(
    kind: EntityKind, declared: Mapping[str, Any], lockfile: Lockfile
) -> list[Finding]:
    findings: list[Finding] = []
    for name, entry in lockfile.entities(kind).items():
        reason = foreign_reason(entry, lockfile.target)
        if reason is not None:
            findings.append(Finding(name, FindingKind.FOREIGN, reason, entry.arn, (), kind.kind))
        elif name not in declared:
            findings.append(Finding(name, FindingKind.NOT_DECLARED, "", entry.arn, (), kind.kind))
        else:
            differs = _differs(name, kind, entry, declared[name])
            if differs is not None:
                findings.append(differs)
    return findings


def _edge_findings(declared: Mapping[str, Any], lockfile: Lockfile) -> list[Finding]:
    findings: list[Finding] = []
    for name, edge in lockfile.associations.items():
        reason = edge_foreign_reason(edge, lockfile.target)
        if reason is not None:
            findings.append(Finding(name, FindingKind.FOREIGN, reason, None, (), ASSOCIATION))
        elif name not in declared:
            detail = (
                "it was there before reconciler; --prune only forgets it" if edge.adopted else ""
            )
            findings.append(Finding(name, FindingKind.NOT_DECLARED, detail, None, (), ASSOCIATION))
        else:
            fields = field_changes(edge.spec, declared[name])
            moved = _moved_ends(edge, lockfile)
            if fields or moved:
                detail = "apply would replace it (an edge cannot change in place)"
                if moved:
                    detail += f"; {'; '.join(moved)}"
                findings.append(
                    Finding(name, FindingKind.DIFFERS, detail, None, fields, ASSOCIATION)
                )
    return findings


def _moved_ends(edge: Edge, lockfile: Lockfile) -> list[str]:
    """The ends named in the edge's spec whose entity the lockfile now records with another ARN."""
    moved = []
    for field_name, arn in (("Source", edge.source_arn), ("Destination", edge.destination_arn)):
        reference = str(edge.spec.get(field_name, ""))
        if is_arn(reference):
            continue
        current = lockfile.arn_of(reference)
        if current is not None and current != arn:
            moved.append(f"its {field_name} '{reference}' is now {current}")
    return moved


def _kind_counts(desired: Desired, lockfile: Lockfile) -> tuple[tuple[str, int], ...]:
    counts: dict[str, set[str]] = {}
    for kind in ENTITY_KINDS.values():
        counts[kind.kind] = set(desired.get(kind.kind, {})) | set(lockfile.entities(kind))
    counts[ASSOCIATION] = set(desired.get(ASSOCIATION, {})) | set(lockfile.associations)
    for name in lockfile.malformed:
        counts.setdefault(lockfile.kind_of(name) or ARTIFACT.kind, set()).add(name)
    return tuple((kind, len(names)) for kind, names in counts.items() if names)


def audit_offline(desired: Desired, lockfile: Lockfile) -> AuditReport:
    findings: list[Finding] = []
    for name, (why, _) in lockfile.malformed.items():
        kind_name = lockfile.kind_of(name) or ARTIFACT.kind
        findings.append(Finding(name, FindingKind.MALFORMED, why, None, (), kind_name))
    for kind in ENTITY_KINDS.values():
        findings.extend(_entity_findings(kind, desired.get(kind.kind, {}), lockfile))
    findings.extend(_edge_findings(desired.get(ASSOCIATION, {}), lockfile))
    findings.extend(_shared_arns(lockfile))
    for kind_name, name in lockfile.uncertain_names():
        detail = "apply reads it back first"
        arn = lockfile.arn_of(name)
        findings.append(Finding(name, FindingKind.UNCERTAIN, detail, arn, (), kind_name))
    findings.extend(
        Finding(
            name,
            FindingKind.DETACHED,
            f"{len(detached.associations)} associations; apply puts them back",
        )
        for name, detached in sorted(lockfile.detached.items())
    )
    unreadable = set(lockfile.malformed)
    for kind_name in (*ENTITY_KINDS, ASSOCIATION):
        recorded = (
            lockfile.associations
            if kind_name == ASSOCIATION
            else lockfile.entities(ENTITY_KINDS[kind_name])
        )
        findings.extend(
            Finding(name, FindingKind.NOT_APPLIED, manifest_kind=kind_name)
            for name in desired.get(kind_name, {})
            if name not in recorded and name not in unreadable
        )
    findings.sort(key=_order)
    by_kind = _kind_counts(desired, lockfile)
    return AuditReport(tuple(findings), sum(n for _, n in by_kind), checked_by_kind=by_kind)


def _order(finding: Finding) -> tuple[str, str]:
    return (finding.name, finding.kind.value)


def _shared_arns(lockfile: Lockfile) -> list[Finding]:
    """Entries that record one ARN: apply would change one entity on behalf of both."""
    names_by_arn: dict[str, list[tuple[str, str]]] = {}
    for kind in ENTITY_KINDS.values():
        for name, entry in lockfile.entities(kind).items():
            names_by_arn.setdefault(entry.arn, []).append((name, kind.kind))
    findings = []
    for arn, named in names_by_arn.items():
        if len(named) < 2:
            continue
        for name, kind_name in named:
            others = ", ".join(f"'{other}'" for other, _ in sorted(named) if other != name)
            detail = (
                f"also recorded as {others}; one entity cannot be both: 'reconciler forget' "
                "the entry that is not its owner"
            )
            findings.append(Finding(name, FindingKind.SHARED_ARN, detail, arn, (), kind_name))
    return findings


def audit_live(desired: Desired, lockfile: Lockfile, live: LiveState) -> AuditReport:
    """The offline findings, and what the service says about every recorded entity and edge."""
    offline = audit_offline(desired, lockfile)
    findings = list(offline.findings)
    # What this audit saw, a refresh in the same mode sees (tag edits may need --deep).
    refresh = "--refresh --deep" if live.deep else "--refresh"
    for kind_name, read in live.entities.items():
        kind = ENTITY_KINDS[kind_name]
        declared = desired.get(kind_name, {})
        findings.extend(_live_entity_findings(kind, lockfile, read, refresh, declared))
    findings.extend(_live_edge_findings(lockfile, live.edges))
    findings.extend(_unmanaged(lockfile, edge) for edge in live.unmanaged_edges)
    for arn, entity in live.unrecorded.items():
        findings.append(_unrecorded(desired, lockfile, arn, entity.owner or "", entity.kind))
    findings.sort(key=_order)
    return AuditReport(
        tuple(findings),
        offline.checked,
        "live",
        live.strategy,
        live.calls,
        offline.checked_by_kind,
    )


def _live_entity_findings(
    kind: EntityKind,
    lockfile: Lockfile,
    read: Mapping[str, Any],
    refresh: str,
    declared: Mapping[str, dict[str, Any]],
) -> list[Finding]:
    findings: list[Finding] = []
    entries = lockfile.entities(kind)
    drift_hint = f"'plan {refresh}' shows how 'apply {refresh}' would undo it"
    for name, entity in read.items():
        entry = entries[name]
        if entity is None:
            detail = f"apply {refresh} creates it again"
            findings.append(Finding(name, FindingKind.MISSING, detail, entry.arn, (), kind.kind))
            continue
        if entity.tags is not None and entity.claim(name, lockfile.lineage) not in (
            Claim.OURS,
            Claim.LEGACY,
        ):
            detail = Owner.of(entity.tags).describe() + "; apply will not touch it"
            findings.append(Finding(name, FindingKind.NOT_OWNED, detail, entry.arn, (), kind.kind))
        if entity.spec is not None and entity.spec != entry.spec:
            fields = field_changes(entry.spec, entity.spec)
            undeclared = _kept_drift(kind, entry.kept, declared.get(name), fields)
            hint = drift_hint
            if undeclared:
                hint = (
                    f"'plan {refresh}' shows how 'apply {refresh}' would record it: no manifest "
                    f"declares {undeclared}, which Update{kind.kind} cannot clear"
                )
            findings.append(Finding(name, FindingKind.DRIFT, hint, entry.arn, fields, kind.kind))
    return findings


def _kept_drift(
    kind: EntityKind,
    kept: tuple[str, ...],
    declared: dict[str, Any] | None,
    fields: tuple[FieldChange, ...],
) -> str:
    """The drifted fields, in words, when every one of them is a field the service keeps that
    the manifest does not declare (a Status set by hand): a refresh records them rather than
    undoing them. "" otherwise."""
    keepable = {*kind.unclearable, *kept}
    paths = [f.path for f in fields]
    if declared is None or not all(p in keepable and declared.get(p) is None for p in paths):
        return ""
    return ", ".join(paths)


def _live_edge_findings(lockfile: Lockfile, read: Mapping[str, LiveEdge | None]) -> list[Finding]:
    findings: list[Finding] = []
    for name, live_edge in read.items():
        edge = lockfile.associations[name]
        ends = f"{edge.source_arn} -> {edge.destination_arn}"
        if live_edge is None:
            detail = f"{ends}; apply --refresh adds it again"
            findings.append(Finding(name, FindingKind.MISSING, detail, None, (), ASSOCIATION))
            continue
        recorded_type = edge.spec.get("AssociationType")
        if live_edge.association_type != recorded_type:
            fields = (FieldChange("AssociationType", recorded_type, live_edge.association_type),)
            detail = "'plan --refresh' shows how 'apply --refresh' would replace it"
            findings.append(Finding(name, FindingKind.DRIFT, detail, None, fields, ASSOCIATION))
    return findings


def _name_of(lockfile: Lockfile, arn: str) -> str:
    for kind in ENTITY_KINDS.values():
        for name, entry in lockfile.entities(kind).items():
            if entry.arn == arn:
                return name
    return arn


def _unmanaged(lockfile: Lockfile, edge: LiveEdge) -> Finding:
    source, destination = (
        _name_of(lockfile, edge.source_arn),
        _name_of(lockfile, edge.destination_arn),
    )
    shown_type = edge.association_type or "no AssociationType"
    detail = (
        f"{shown_type}; declare it as an Association to manage it (apply records it as adopted),"
        " or delete it"
    )
    return Finding(
        f"{source} -> {destination}", FindingKind.UNMANAGED_EDGE, detail, None, (), ASSOCIATION
    )


def _unrecorded(
    desired: Desired, lockfile: Lockfile, arn: str, owner: str, kind_name: str
) -> Finding:
    recorded_as = lockfile.kind_of(owner)
    if owner in desired.get(kind_name, {}) and recorded_as is None:
        detail = f"declared as '{owner}': 'reconciler import --all' adopts it"
    elif recorded_as is not None:
        detail = f"'{owner}' is recorded with another ARN ({lockfile.arn_of(owner)})"
    else:
        detail = f"'{owner}' is neither declared nor recorded (left behind by a lost lockfile?)"
    return Finding(owner, FindingKind.UNRECORDED, detail, arn, (), kind_name)
