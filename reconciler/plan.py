"""(desired, recorded) → plan. Pure functions: no I/O, no clock, no network."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from reconciler.errors import ReconcilerError
from reconciler.lockdiff import lockfile_differences
from reconciler.lockfile import Entry, Lockfile, foreign_reason
from reconciler.models import REPLACE_FIELDS


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    ORPHAN = "orphan"


#: The order changes are listed and applied in.
ACTION_ORDER = (Action.REPLACE, Action.DELETE, Action.CREATE, Action.UPDATE, Action.ORPHAN)
SYMBOLS = {
    Action.CREATE: "+",
    Action.UPDATE: "~",
    Action.REPLACE: "-/+",
    Action.DELETE: "-",
    Action.ORPHAN: "!",
}
SUMMARY_KEYS = ("create", "update", "replace", "delete", "orphan", "unchanged")
DETACHED_NOTE = (
    "a replace deleted its artifact and did not finish: apply creates it and puts back the "
    "associations the lockfile kept"
)
ARN_NOTE = (
    "the lockfile records another ARN for it than the base lockfile: apply acts on that "
    "artifact, and a lineage copied from another lockfile makes it pass as this one's own; "
    "check that it is this repository's"
)
REMOVED_NOTE = (
    "the base lockfile records an ARN for it that this lockfile dropped: apply creates it again "
    "and leaves the artifact the base recorded behind, unrecorded"
)
UNCERTAIN_NOTE = (
    "the outcome of the last write is unknown (a lost response or a crash): apply reads the "
    "artifact back first and then does what it takes to match the manifest"
)


@dataclass(frozen=True)
class FieldChange:
    """One leaf that differs. `path` is dotted (Properties.rows, Tags.team); absent is None."""

    path: str
    before: Any
    after: Any

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class Change:
    name: str
    action: Action
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    arn: str | None = None
    fields: tuple[FieldChange, ...] = ()
    #: For a replacement, the fields the service cannot change in place.
    replace_because: tuple[str, ...] = ()
    #: Remarks a reader must see beside the fields (one sentence each).
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]
    unchanged: int
    prune: bool = False
    #: How the lockfile differs from the base lockfile (`plan --base-lockfile`), one sentence
    #: each: a pull request never needs to edit the lockfile, so every difference is a change.
    lockfile_notes: tuple[str, ...] = ()

    def summary(self) -> dict[str, int]:
        counts = Counter(change.action.value for change in self.changes)
        return {key: counts.get(key, 0) for key in SUMMARY_KEYS[:-1]} | {
            "unchanged": self.unchanged
        }

    @property
    def actionable(self) -> tuple[Change, ...]:
        """Changes apply would carry out (orphans are only reported)."""
        return tuple(c for c in self.changes if c.action is not Action.ORPHAN)

    @property
    def has_changes(self) -> bool:
        return bool(self.actionable or self.lockfile_notes)


def compute_plan(
    desired: dict[str, dict[str, Any]],
    lockfile: Lockfile,
    *,
    prune: bool = False,
    base: Lockfile | None = None,
) -> Plan:
    """Compare declared specs (by name) with what the lockfile records.

    With `base` (the lockfile as the target branch has it), an entry whose ARN differs from the
    base's (a hand-edited lockfile) is a change that shows both ARNs, never silently accepted."""
    _refuse_unreadable_entries(lockfile)
    if base is not None:
        _refuse_a_new_lineage(lockfile, base)
    recorded = lockfile.artifacts
    changes: list[Change] = []
    unchanged: list[str] = []
    for name, spec in desired.items():
        entry = recorded.get(name)
        if entry is None:
            notes = (DETACHED_NOTE,) if name in lockfile.detached else ()
            create = Change(name, Action.CREATE, after=spec, notes=notes)
            changes.append(_with_dropped_arn(create, base) if base is not None else create)
            continue
        change = compare(name, entry, spec)
        if entry.uncertain:
            change = replace(
                change or Change(name, Action.UPDATE, entry.spec, spec, entry.arn),
                notes=(UNCERTAIN_NOTE,),
            )
        if base is not None:
            change = _with_moved_arn(change, base, name, entry, spec)
        if change is None:
            unchanged.append(name)
        else:
            changes.append(change)
    for name, entry in recorded.items():
        if name not in desired:
            action = Action.DELETE if prune else Action.ORPHAN
            orphan = Change(name, action, before=entry.spec, arn=entry.arn)
            if base is not None:
                orphan = _with_moved_arn(orphan, base, name, entry) or orphan
            changes.append(orphan)
    order = {action: i for i, action in enumerate(ACTION_ORDER)}
    changes.sort(key=lambda c: (order[c.action], c.name))
    differences = lockfile_differences(lockfile, base) if base is not None else ()
    return Plan(tuple(changes), len(unchanged), prune, differences)


def compare(name: str, entry: Entry, spec: dict[str, Any]) -> Change | None:
    """The change that takes `entry` to `spec`, or None when they agree."""
    if entry.spec == spec:
        return None
    fields = field_changes(entry.spec, spec)
    replace_because = tuple(f for f in REPLACE_FIELDS if entry.spec.get(f) != spec.get(f))
    action = Action.REPLACE if replace_because else Action.UPDATE
    return Change(name, action, entry.spec, spec, entry.arn, fields, replace_because)


def _with_moved_arn(
    change: Change | None,
    base: Lockfile,
    name: str,
    entry: Entry,
    spec: dict[str, Any] | None = None,
) -> Change | None:
    """The change with an `arn` field when the lockfile records another ARN than `base`."""
    previous = base.artifacts.get(name)
    before = previous.arn if previous is not None else None
    if before == entry.arn:
        return change
    moved = FieldChange("arn", before, entry.arn)
    change = change or Change(name, Action.UPDATE, entry.spec, spec, entry.arn)
    return replace(change, fields=(moved, *change.fields), notes=(*change.notes, ARN_NOTE))


def _with_dropped_arn(create: Change, base: Lockfile) -> Change:
    """A create with an `arn` field when the base lockfile recorded the artifact."""
    previous = base.artifacts.get(create.name)
    if previous is None:
        return create
    dropped = FieldChange("arn", previous.arn, None)
    return replace(create, fields=(dropped, *create.fields), notes=(*create.notes, REMOVED_NOTE))


def _refuse_a_new_lineage(lockfile: Lockfile, base: Lockfile) -> None:
    if base.lineage is not None and lockfile.lineage is None:
        raise ReconcilerError(
            f"the lockfile is missing, but the base branch has one (lineage {base.lineage}): "
            "without it apply would create every artifact again; restore it from the base branch"
        )
    if base.lineage is not None and lockfile.lineage != base.lineage:
        raise ReconcilerError(
            f"the lockfile's lineage is {lockfile.lineage}, but the base lockfile's is "
            f"{base.lineage}: a lockfile's lineage never changes (it names who owns the "
            "artifacts); restore it from the base branch"
        )


def _refuse_unreadable_entries(lockfile: Lockfile) -> None:
    problems = [f"'{name}': {reason}" for name, (reason, _) in sorted(lockfile.malformed.items())]
    problems += [
        f"'{name}': {reason}"
        for name, entry in sorted(lockfile.artifacts.items())
        if (reason := foreign_reason(entry, lockfile.target)) is not None
    ]
    if problems:
        raise ReconcilerError(
            "the lockfile has entries that cannot be planned ("
            + "; ".join(problems)
            + "); run 'reconciler audit' for details and restore the lockfile from git"
        )


def comparable(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec with Tags as a mapping, so differences read as Tags.team rather than Tags[1]."""
    out = dict(spec)
    if "Tags" in out:
        out["Tags"] = {tag["Key"]: tag["Value"] for tag in out["Tags"]}
    return out


def field_changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[FieldChange, ...]:
    """Leaf-level differences between two canonical specs, computed with deepdiff."""
    from deepdiff import DeepDiff  # loaded on the first difference: most plans have few

    # threshold_to_diff_deeper=0: report key by key even when two maps share no key (deepdiff's
    # default reports the whole map as one changed value then).
    diff = DeepDiff(
        comparable(before),
        comparable(after),
        view="tree",
        verbose_level=2,
        threshold_to_diff_deeper=0,
    )
    changes = []
    for report in diff.values():
        for level in report:
            path = _dotted(level.path(output_format="list"))
            changes.append(FieldChange(path, _present(level.t1), _present(level.t2)))
    return tuple(sorted(changes, key=lambda c: c.path))


def _present(value: Any) -> Any:
    # deepdiff marks the missing side of an addition or removal with a NotPresent sentinel.
    return None if type(value).__name__ == "NotPresent" else value


def _dotted(parts: list[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out
