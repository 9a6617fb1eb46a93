"""Hiding sensitive property values in everything reconciler shows (the lockfile keeps them).

A property whose key matches the pattern (by default secret, password, token or credential, in
any case) is shown as "(sensitive)" in plans and audits of every format, and in saved plans.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from reconciler.plan import Change, FieldChange, Plan
from reconciler.sensitive import KeyPattern

if TYPE_CHECKING:
    from reconciler.audit import AuditReport, Finding

SENSITIVE = "(sensitive)"
PROPERTIES = "Properties"


def _mask_map(values: dict[str, Any], pattern: KeyPattern) -> dict[str, Any]:
    return {k: SENSITIVE if pattern.search(k) else v for k, v in values.items()}


def redact_spec(spec: dict[str, Any] | None, pattern: KeyPattern) -> dict[str, Any] | None:
    """The spec with sensitive property values masked; the same object when nothing is."""
    if spec is None or not spec.get(PROPERTIES):
        return spec
    if not any(pattern.search(key) for key in spec[PROPERTIES]):
        return spec
    return {**spec, PROPERTIES: _mask_map(spec[PROPERTIES], pattern)}


def _redact_field(field: FieldChange, pattern: KeyPattern) -> FieldChange:
    if field.path == PROPERTIES:
        return FieldChange(
            field.path,
            None if field.before is None else _mask_map(field.before, pattern),
            None if field.after is None else _mask_map(field.after, pattern),
        )
    prefix = PROPERTIES + "."
    if field.path.startswith(prefix) and pattern.search(field.path[len(prefix) :]):
        return FieldChange(
            field.path,
            None if field.before is None else SENSITIVE,
            None if field.after is None else SENSITIVE,
        )
    return field


def redact_fields(fields: tuple[FieldChange, ...], pattern: KeyPattern) -> tuple[FieldChange, ...]:
    redacted = tuple(_redact_field(f, pattern) for f in fields)
    return fields if redacted == fields else redacted


def redact_change(change: Change, pattern: KeyPattern) -> Change:
    """The change with sensitive values masked; the same object when nothing is (a plan of
    60,000 creates goes through here on the way to every renderer)."""
    before = redact_spec(change.before, pattern)
    after = redact_spec(change.after, pattern)
    fields = redact_fields(change.fields, pattern)
    if before is change.before and after is change.after and fields is change.fields:
        return change
    return replace(change, before=before, after=after, fields=fields)


def redact_plan(plan: Plan, pattern: KeyPattern) -> Plan:
    return replace(plan, changes=tuple(redact_change(c, pattern) for c in plan.changes))


def redact_finding(finding: Finding, pattern: KeyPattern) -> Finding:
    return replace(finding, fields=redact_fields(finding.fields, pattern))


def redact_report(report: AuditReport, pattern: KeyPattern) -> AuditReport:
    return replace(report, findings=tuple(redact_finding(f, pattern) for f in report.findings))
