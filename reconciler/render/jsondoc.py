"""Plans and audits as versioned JSON documents, for scripts."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.audit import AuditReport, Finding
from reconciler.lockfile import Lockfile
from reconciler.outcomes import ApplyResult
from reconciler.plan import Change, Plan
from reconciler.textsafe import json_safe

#: Bump the major part when a field changes meaning or goes away.
FORMAT_VERSION = "1.0"


@dataclass(frozen=True)
class Lazy:
    """A list in a document, each item made into its JSON value only as it is written, a batch
    at a time: a plan of many changes is never held whole as JSON values, nor as text."""

    items: Sequence[Any]
    make: Callable[[Any], Any]


class Streamed(dict[str, Any]):
    """A document (or a part of one) holding a `Lazy` list, directly or in a `Streamed` value:
    written a member at a time."""


#: Items of a `Lazy` list made and written together: enough for json's C encoder to do the work,
#: little beside what the plan already holds.
BATCH = 256
#: Smaller pieces are joined up to this size before they are handed on.
PIECE = 1 << 16

_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def plan_document(plan: Plan) -> Streamed:
    return Streamed(
        {
            "format_version": FORMAT_VERSION,
            "prune": plan.prune,
            "has_changes": plan.has_changes,
            "lockfile_notes": list(plan.lockfile_notes),
            "summary": plan.summary(),
            "summary_by_kind": plan.summary_by_kind(),
            "changes": Lazy(plan.changes, _change),
        }
    )


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


def audit_document(report: AuditReport) -> Streamed:
    return Streamed(
        {
            "format_version": FORMAT_VERSION,
            "mode": report.mode,
            "strategy": report.strategy,
            "api_calls": report.api_calls,
            "clean": report.clean,
            "checked": report.checked,
            "checked_by_kind": report.checked_counts(),
            "summary": report.summary(),
            "findings": Lazy(report.findings, _finding),
        }
    )


def _finding(f: Finding) -> dict[str, Any]:
    return {
        "name": f.name,
        "kind": f.kind.value,
        "manifest_kind": f.manifest_kind,
        "informational": f.informational,
        "detail": f.detail,
        "arn": f.arn,
        "fields": [field.to_json() for field in f.fields],
    }


def dumps(document: dict[str, Any]) -> str:
    """One line, keys sorted: compact and fast (pipe it to `jq` to read it). Characters that JSON
    leaves raw but a terminal or a log would obey are written as \\u escapes."""
    return "".join(pieces(document))


def pieces(document: dict[str, Any]) -> Iterator[str]:
    """`dumps(document)`, the same text, in pieces to be written one after another: a `Lazy`
    list is made and encoded a batch at a time. Pieces are split between JSON tokens, so each is
    escaped on its own (`##[` lies within a string) and none starts a line with `::`."""
    pending: list[str] = []
    size = 0
    for piece in _encoded(document):
        pending.append(piece)
        size += len(piece)
        if size >= PIECE:
            yield json_safe("".join(pending))
            pending, size = [], 0
    pending.append("\n")
    yield json_safe("".join(pending))


def _encoded(value: Any) -> Iterator[str]:
    if isinstance(value, Streamed):
        separator = "{"
        for key, member in sorted(value.items()):
            yield f"{separator}{_ENCODER.encode(key)}:"
            yield from _encoded(member)
            separator = ","
        yield "{}" if separator == "{" else "}"
    elif isinstance(value, Lazy):
        yield from _encoded_list(value)
    else:
        yield _ENCODER.encode(value)


def _encoded_list(value: Lazy) -> Iterator[str]:
    """`[` the items `]`: plain ones a batch at a time (a list's text without its brackets), a
    `Streamed` one a member at a time."""
    separator = "["
    batch: list[Any] = []
    for item in value.items:
        made = value.make(item)
        if not isinstance(made, Streamed):
            batch.append(made)
            if len(batch) < BATCH:
                continue
        if batch:
            yield separator + _ENCODER.encode(batch)[1:-1]
            separator, batch = ",", []
        if isinstance(made, Streamed):
            yield separator
            yield from _encoded(made)
            separator = ","
    if batch:
        yield separator + _ENCODER.encode(batch)[1:-1]
        separator = ","
    yield "[]" if separator == "[" else "]"


def render_plan(plan: Plan) -> str:
    return dumps(plan_document(plan))


def plan_pieces(plan: Plan) -> Iterator[str]:
    """`render_plan`, in pieces (see `pieces`)."""
    return pieces(plan_document(plan))


def render_audit(report: AuditReport) -> str:
    return dumps(audit_document(report))


def audit_pieces(report: AuditReport) -> Iterator[str]:
    return pieces(audit_document(report))


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
