"""Plans and audits as versioned JSON documents, for scripts."""

from __future__ import annotations

import json
from typing import Any

from reconciler.audit import AuditReport
from reconciler.lockfile import Lockfile
from reconciler.outcomes import ApplyResult
from reconciler.plan import Change, Plan
from reconciler.textsafe import json_safe

#: Bump the major part when a field changes meaning or goes away.
FORMAT_VERSION = "1.0"


def plan_document(plan: Plan) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "prune": plan.prune,
        "has_changes": plan.has_changes,
        "lockfile_notes": list(plan.lockfile_notes),
        "summary": plan.summary(),
        "summary_by_kind": plan.summary_by_kind(),
        "changes": [_change(change) for change in plan.changes],
    }


def _change(change: Change) -> dict[str, Any]:
    return {
        "name": change.name,
        "kind": change.kind,
        "action": change.action.value,
        "arn": change.arn,
        "ends": None if change.ends is None else list(change.ends),
        "replace_because": list(change.replace_because),
        "fields": [field.to_json() for field in change.fields],
        "notes": list(change.notes),
        "kept": [
            {"path": field, "value": (change.after or {}).get(field)} for field in change.newly_kept
        ],
        "before": change.before,
        "after": change.after,
    }


def audit_document(report: AuditReport) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "mode": report.mode,
        "strategy": report.strategy,
        "api_calls": report.api_calls,
        "clean": report.clean,
        "checked": report.checked,
        "checked_by_kind": report.checked_counts(),
        "summary": report.summary(),
        "findings": [
            {
                "name": f.name,
                "kind": f.kind.value,
                "manifest_kind": f.manifest_kind,
                "informational": f.informational,
                "detail": f.detail,
                "arn": f.arn,
                "fields": [field.to_json() for field in f.fields],
            }
            for f in report.findings
        ],
    }


def dumps(document: dict[str, Any]) -> str:
    """One line, keys sorted: compact and fast (pipe it to `jq` to read it). Characters that JSON
    leaves raw but a terminal or a log would obey are written as \\u escapes."""
    text = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return json_safe(text) + "\n"


def render_plan(plan: Plan) -> str:
    return dumps(plan_document(plan))


def render_audit(report: AuditReport) -> str:
    return dumps(audit_document(report))


def apply_document(result: ApplyResult, lockfile: Lockfile | None) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "ok": result.ok,
        "summary": result.summary(),
        "outcomes": [
            {"name": o.name, "kind": o.kind, "result": o.result, "arn": o.arn, "detail": o.detail}
            for o in sorted(result.outcomes, key=lambda o: (o.name, o.result))
        ],
        "errors": result.errors,
        "api_calls": dict(sorted(result.stats.calls.items())),
        "lockfile": None
        if lockfile is None
        else {"lineage": lockfile.lineage, "serial": lockfile.serial},
    }
