"""Renderers: a plan or an audit report as text, markdown or JSON. Pure functions of their input."""

from __future__ import annotations

import json
from typing import Any

from reconciler.plan import Action, Change, FieldChange, comparable
from reconciler.textsafe import visible
from reconciler.words import counted

FORMATS = ("text", "markdown", "json")


def value_text(value: Any) -> str:
    """A value as one short line: JSON spelling, so strings are quoted and maps are compact, and
    every control character shown as an escape."""
    return visible(json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": ")))


def subject(change: Change) -> str:
    """What a change is about, escaped: its kind and name (`context churn-endpoint`) and, for an
    edge, its two ends as declared (`association e: data --ContributedTo--> model`)."""
    out = f"{change.kind.lower()} {visible(change.name)}"
    spec = change.after if change.after is not None else change.before
    if change.is_edge and spec is not None:
        out += f": {edge_text(spec)}"
    return out


def edge_text(spec: dict[str, Any]) -> str:
    """An edge as `source --Type--> destination` (`source --> destination` without a type),
    each end escaped."""
    kind = spec.get("AssociationType")
    arrow = f"--{visible(str(kind))}-->" if kind else "-->"
    return f"{visible(str(spec.get('Source')))} {arrow} {visible(str(spec.get('Destination')))}"


def counted_by_kind(counts: dict[str, int]) -> str:
    """`2 artifacts, 1 context, 4 associations`: the kinds counted, in their order (none:
    `0 artifacts`)."""
    parts = [counted(n, kind.lower()) for kind, n in counts.items() if n]
    return ", ".join(parts) or counted(0, "artifact")


def shown_fields(change: Change) -> tuple[FieldChange, ...]:
    """What a reviewer must see of a change: every field a create sets (as Terraform shows), the
    ARN and Source a delete removes, and the differences of an update or a replacement. An
    edge's ends are in its subject line; a delete shows the ARNs it recorded for them."""
    if change.is_edge:
        return _edge_fields(change)
    if change.action is Action.CREATE and change.after is not None:
        dropped = tuple(f for f in change.fields if f.path == "arn")  # with --base-lockfile
        return dropped + tuple(
            FieldChange(path, None, value) for path, value in _leaves(change.after)
        )
    if change.action in (Action.DELETE, Action.ORPHAN) and change.before is not None:
        source = change.before.get("Source", {})
        gone = [("ARN", change.arn)] if change.arn else []
        gone += [(f"Source.{key}", value) for key, value in _leaves(source)]
        return tuple(FieldChange(path, value, None) for path, value in gone)
    return change.fields


def kept_lines(change: Change) -> list[str]:
    """One escaped line for each field the manifest dropped that the service keeps (an
    action's Status): `= Status: "Completed"  (stays: UpdateAction cannot clear it; ...)`."""
    after = change.after or {}
    return [
        f"= {visible(field)}: {value_text(after[field])}  (stays: Update{change.kind} cannot "
        f"clear it; declare another {visible(field)} to change it)"
        for field in change.newly_kept
        if field in after
    ]


def _edge_fields(change: Change) -> tuple[FieldChange, ...]:
    if change.action in (Action.DELETE, Action.ORPHAN) and change.ends is not None:
        source, destination = change.ends
        return (
            FieldChange("source_arn", source, None),
            FieldChange("destination_arn", destination, None),
        )
    return change.fields


def _leaves(spec: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """(dotted path, value) for each field, maps opened (Tags by key), lists kept whole."""
    out: list[tuple[str, Any]] = []
    for key, value in (comparable(spec) if not prefix else spec).items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.extend(_leaves(value, path + "."))
        elif isinstance(value, list):
            out.extend((f"{path}[{index}]", item) for index, item in enumerate(value))
        else:
            out.append((path, value))
    return out
