"""(desired, recorded) → plan. Pure functions: no I/O, no clock, no network.

Every kind is planned: entities (artifacts, contexts, actions) compare with their kind's
replace_fields; an association (an edge) has no update: any change replaces it, and so does a
replace or re-creation of an entity at one of its ends, or an end whose recorded ARN is no longer
that entity's. The changes are listed in the order `graph.levels` carries them out.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from reconciler.errors import ReconcilerError
from reconciler.foreign import Where, finding
from reconciler.graph import listing_order
from reconciler.kinds import ALL_KINDS, ARTIFACT, ENTITY_KINDS, EntityKind
from reconciler.kinds.association import KIND as ASSOCIATION
from reconciler.kinds.association import is_arn
from reconciler.lockdiff import lockfile_differences
from reconciler.lockfile import Edge, Entry, Lockfile, edge_foreign_reason, foreign_reason


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
#: The ends of an edge, as its spec names them.
EDGE_ENDS = ("Source", "Destination")
DETACHED_NOTE = (
    "a replace deleted what it recorded and did not finish: apply creates it and puts back the "
    "associations the lockfile kept"
)
ARN_NOTE = (
    "the lockfile records another ARN for it than the base lockfile: apply acts on what "
    "that ARN names, and a lineage copied from another lockfile makes it pass as this one's own; "
    "check that it is this repository's"
)
REMOVED_NOTE = (
    "the base lockfile records an ARN for it that this lockfile dropped: apply creates it again "
    "and leaves what the base recorded behind, unrecorded"
)
UNCERTAIN_NOTE = (
    "the outcome of the last write is unknown (a lost response or a crash): apply reads it "
    "back first and then does what it takes to match the manifest"
)
KIND_CHANGED_NOTE = (
    "declared now as another kind under the same name: apply deletes it (a name names one "
    "entity) before it creates the new one"
)
EDGE_UNCERTAIN_NOTE = (
    "the outcome of the last add or delete of this association is unknown (a lost response or a "
    "crash): apply removes it if it is there and adds it again"
)
EDGE_ADOPTED_NOTE = (
    "this association existed before reconciler recorded it (adopted): apply only forgets the "
    "old edge, it never deletes it"
)
EDGE_ENDS_NOTE = (
    "the lockfile records other ends for this association than the base lockfile: apply acts "
    "on the edge between those; check that it is this repository's"
)
EDGE_REMOVED_NOTE = (
    "the base lockfile records this association, which this lockfile dropped: apply adds it again"
)


def _end_replaced_note(end: str, name: str) -> str:
    return f"its {end} '{name}' is replaced or created again: the edge is added to the new one"


def _end_moved_note(end: str, name: str) -> str:
    return (
        f"its {end} '{name}' is recorded with another ARN than this association's end: the edge "
        "is added between the recorded entities"
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
    #: The canonical specs; for an edge, the association specs (ends as declared).
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    #: The recorded ARN of an entity (None for a create and for an edge).
    arn: str | None = None
    fields: tuple[FieldChange, ...] = ()
    #: For a replacement, the fields the service cannot change in place (for an edge: the
    #: fields that changed, or the end whose entity is replaced).
    replace_because: tuple[str, ...] = ()
    #: Remarks a reader must see beside the fields (one sentence each).
    notes: tuple[str, ...] = ()
    #: The manifest kind: "Artifact", "Context", "Action" or "Association".
    kind: str = ARTIFACT.kind
    #: For a recorded edge: its (source ARN, destination ARN) as the lockfile has them.
    ends: tuple[str, str] | None = None
    #: For an update: the fields `after` holds although the manifest does not declare them,
    #: because the service keeps them (UpdateX cannot clear them; see EntityKind.kept_fields).
    kept: tuple[str, ...] = ()
    #: Those of `kept` the lockfile does not record as kept yet: the manifest dropped them
    #: since the last apply, so the plan says that they stay, and why.
    newly_kept: tuple[str, ...] = ()

    @property
    def is_edge(self) -> bool:
        return self.kind == ASSOCIATION

    def stays_text(self) -> str:
        """What the plan says of its newly kept fields (see `stays_text`); `after` holds them."""
        return stays_text(self.kind, self.after or {}, self.newly_kept)


def stays_text(kind: str, spec: Mapping[str, Any], kept: Iterable[str]) -> str:
    """`Status stays "Completed": UpdateAction cannot clear it` for the `kept` fields of `spec`
    (values in JSON spelling, unescaped: the renderers escape), or "" when none."""
    stays = [f"{field} stays {json.dumps(spec[field], ensure_ascii=False)}" for field in kept]
    return f"{', '.join(stays)}: Update{kind} cannot clear it" if stays else ""


Desired = Mapping[str, Mapping[str, dict[str, Any]]]


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]
    unchanged: int
    prune: bool = False
    #: How the lockfile differs from the base lockfile (`plan --base-lockfile`), one sentence
    #: each: a pull request never needs to edit the lockfile, so every difference is a change.
    lockfile_notes: tuple[str, ...] = ()
    #: By kind: how many declared entities or edges are unchanged (sums to `unchanged`).
    unchanged_by_kind: Mapping[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, int]:
        """Counts of every kind together."""
        counts = Counter(change.action.value for change in self.changes)
        return {key: counts.get(key, 0) for key in SUMMARY_KEYS[:-1]} | {
            "unchanged": self.unchanged
        }

    def summary_by_kind(self) -> dict[str, dict[str, int]]:
        """The summary of each kind, every kind listed (in ALL_KINDS order)."""
        counts = Counter((change.kind, change.action.value) for change in self.changes)
        return {
            kind: {key: counts.get((kind, key), 0) for key in SUMMARY_KEYS[:-1]}
            | {"unchanged": self.unchanged_by_kind.get(kind, 0)}
            for kind in ALL_KINDS
        }

    @property
    def actionable(self) -> tuple[Change, ...]:
        """Changes apply would carry out (orphans are only reported)."""
        return tuple(c for c in self.changes if c.action is not Action.ORPHAN)

    @property
    def has_changes(self) -> bool:
        return bool(self.actionable or self.lockfile_notes)


def compute_plan(
    desired: Desired | Mapping[str, dict[str, Any]],
    lockfile: Lockfile,
    *,
    prune: bool = False,
    base: Lockfile | None = None,
    where: Where | None = None,
) -> Plan:
    """Compare the declared specs with what the lockfile records.

    `desired` is kind -> name -> canonical spec (DesiredState.by_kind()); a plain name -> spec
    map is read as artifacts (see `by_kind`). With `base` (the lockfile as the target branch has
    it), an entry whose ARN differs from the base's (a hand-edited lockfile) is a change that
    shows both ARNs, never silently accepted. With `where` (the account and region applied to,
    when known), an edge added with an end in another account or region says what the service
    may do with it."""
    wanted = by_kind(desired)
    _refuse_unreadable_entries(lockfile)
    if base is not None:
        _refuse_a_new_lineage(lockfile, base)
    changes: list[Change] = []
    unchanged: dict[str, int] = {}
    declared_kind = {name: kind for kind in ALL_KINDS for name in wanted.get(kind, {})}
    for kind in ENTITY_KINDS.values():
        found, same = _entity_changes(kind, wanted.get(kind.kind, {}), lockfile, base)
        changes.extend(found)
        unchanged[kind.kind] = same
        changes.extend(_undeclared(kind, lockfile, declared_kind, prune, base))
    renewed = {c.name for c in changes if c.action in (Action.REPLACE, Action.CREATE)}
    _refuse_one_pair_twice(wanted.get(ASSOCIATION, {}), lockfile, renewed)
    edges, same = _edge_changes(wanted.get(ASSOCIATION, {}), lockfile, renewed, base)
    changes.extend(edges if where is None else [_with_foreign_ends(c, where) for c in edges])
    unchanged[ASSOCIATION] = same
    changes.extend(_undeclared_edges(lockfile, declared_kind, prune))
    differences = lockfile_differences(lockfile, base) if base is not None else ()
    return Plan(
        tuple(listing_order(changes)), sum(unchanged.values()), prune, differences, unchanged
    )


def by_kind(desired: Desired | Mapping[str, dict[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """`desired` as kind -> name -> spec. A map keyed by kinds whose values are all maps of
    specs is by kind already; any other map is name -> spec of artifacts (a canonical artifact
    spec always holds a string, ArtifactType, so it is never read as a map of specs)."""
    if all(kind in ALL_KINDS for kind in desired) and all(
        isinstance(specs, Mapping) and all(isinstance(s, Mapping) for s in specs.values())
        for specs in desired.values()
    ):
        return dict(desired)
    return {ARTIFACT.kind: desired}


def _entity_changes(
    kind: EntityKind,
    desired: Mapping[str, dict[str, Any]],
    lockfile: Lockfile,
    base: Lockfile | None,
) -> tuple[list[Change], int]:
    """The changes to the declared entities of `kind`, and how many are unchanged."""
    recorded = lockfile.entities(kind)
    changes: list[Change] = []
    unchanged = 0
    for name, spec in desired.items():
        entry = recorded.get(name)
        if entry is None:
            notes = (DETACHED_NOTE,) if name in lockfile.detached else ()
            create = Change(name, Action.CREATE, after=spec, notes=notes, kind=kind.kind)
            changes.append(_with_dropped_arn(create, base) if base is not None else create)
            continue
        change = compare(name, entry, spec, kind)
        if entry.uncertain:
            # It agrees with the manifest (what it keeps aside): apply reads it back anyway.
            kept = kind.kept_fields(entry.spec, spec, entry.kept)
            agrees = Change(name, Action.UPDATE, entry.spec, entry.spec, entry.arn, kind=kind.kind)
            change = replace(change or replace(agrees, kept=kept), notes=(UNCERTAIN_NOTE,))
        if base is not None:
            change = _with_moved_arn(change, base, name, entry, spec, kind)
        if change is None:
            unchanged += 1
        else:
            changes.append(change)
    return changes, unchanged


def _undeclared(
    kind: EntityKind,
    lockfile: Lockfile,
    declared_kind: dict[str, str],
    prune: bool,
    base: Lockfile | None,
) -> list[Change]:
    """Recorded entities of `kind` no longer declared (as this kind): orphans, or deletions with
    --prune. One declared as another kind is deleted whatever --prune says: its name now names
    the new one, and a lockfile records a name once."""
    changes = []
    for name, entry in lockfile.entities(kind).items():
        now = declared_kind.get(name)
        if now == kind.kind:
            continue
        action = Action.DELETE if prune or now is not None else Action.ORPHAN
        notes = (KIND_CHANGED_NOTE,) if now is not None else ()
        orphan = Change(name, action, before=entry.spec, arn=entry.arn, notes=notes, kind=kind.kind)
        if base is not None:
            orphan = _with_moved_arn(orphan, base, name, entry, None, kind) or orphan
        changes.append(orphan)
    return changes


def _edge_changes(
    desired: Mapping[str, dict[str, Any]],
    lockfile: Lockfile,
    renewed: set[str],
    base: Lockfile | None,
) -> tuple[list[Change], int]:
    """The changes to the declared edges, and how many are unchanged. `renewed`: the entities
    this plan replaces or creates (again)."""
    changes: list[Change] = []
    unchanged = 0
    for name, spec in desired.items():
        edge = lockfile.associations.get(name)
        if edge is None:
            create = Change(name, Action.CREATE, after=spec, kind=ASSOCIATION)
            changes.append(_with_dropped_edge(create, base) if base is not None else create)
            continue
        change = compare_edge(name, edge, spec, lockfile, renewed)
        if base is not None:
            change = _with_moved_ends(change, base, name, edge, spec)
        if change is None:
            unchanged += 1
        else:
            changes.append(change)
    return changes, unchanged


def _with_foreign_ends(change: Change, where: Where) -> Change:
    """An edge to add, with a note for each end the service may not add in `where`."""
    if change.after is None:
        return change
    notes = [
        f"its {end} {found.text}"
        for end in EDGE_ENDS
        if is_arn(reference := change.after[end])
        and (found := finding(reference, where)) is not None
    ]
    return replace(change, notes=(*change.notes, *notes)) if notes else change


def _refuse_one_pair_twice(
    desired: Mapping[str, dict[str, Any]], lockfile: Lockfile, renewed: set[str]
) -> None:
    """Two declared edges whose ends are the same two entities once names are resolved to the
    ARNs the lockfile records (one end written as a name, the other as that entity's ARN): the
    service keeps one edge per pair, so one of them would only find the other's edge, and
    pruning one would delete the edge the other declares. Validate cannot see it for artifacts,
    whose ARN holds a hash; the lockfile can. Ends of entities this plan renews are skipped."""

    def resolved(reference: str) -> str | None:
        if is_arn(reference):
            return reference
        return None if reference in renewed else lockfile.arn_of(reference)

    seen: dict[tuple[str, str], str] = {}
    for name, spec in sorted(desired.items()):
        source, destination = resolved(spec["Source"]), resolved(spec["Destination"])
        if source is None or destination is None:
            continue
        first = seen.setdefault((source, destination), name)
        if first != name:
            raise ReconcilerError(
                f"the Associations '{first}' and '{name}' join the same two entities "
                f"({source} -> {destination}) once names are read as the ARNs the lockfile "
                "records; the service keeps one edge per pair of ends, so declare it once, by name"
            )


def compare_edge(
    name: str, edge: Edge, spec: dict[str, Any], lockfile: Lockfile, renewed: set[str]
) -> Change | None:
    """The change that takes the recorded `edge` to `spec`, or None when it stays: a changed
    spec, an end entity replaced or created again (`renewed`), or an end whose recorded ARN is
    no longer that entity's all replace it (the service keys an edge on its ends)."""
    because = [f for f in (*EDGE_ENDS, "AssociationType") if edge.spec.get(f) != spec.get(f)]
    notes: list[str] = []
    for end, arn in zip(EDGE_ENDS, edge.ends, strict=True):
        reference = spec[end]
        if end in because or is_arn(reference):
            continue
        if reference in renewed:
            because.append(end)
            notes.append(_end_replaced_note(end, reference))
        elif lockfile.arn_of(reference) not in (None, arn):
            because.append(end)
            notes.append(_end_moved_note(end, reference))
    if edge.uncertain:
        notes.append(EDGE_UNCERTAIN_NOTE)
    if not because and not edge.uncertain:
        return None
    if edge.adopted:
        notes.append(EDGE_ADOPTED_NOTE)
    fields = field_changes(edge.spec, spec) if edge.spec != spec else ()
    return Change(
        name,
        Action.REPLACE,
        edge.spec,
        spec,
        None,
        fields,
        tuple(sorted(because, key=(*EDGE_ENDS, "AssociationType").index)),
        tuple(notes),
        ASSOCIATION,
        edge.ends,
    )


def _undeclared_edges(
    lockfile: Lockfile, declared_kind: dict[str, str], prune: bool
) -> list[Change]:
    """Recorded edges no longer declared: orphans, or deletions with --prune (or when the name
    is now declared as an entity)."""
    changes = []
    for name, edge in lockfile.associations.items():
        now = declared_kind.get(name)
        if now == ASSOCIATION:
            continue
        action = Action.DELETE if prune or now is not None else Action.ORPHAN
        notes: tuple[str, ...] = (KIND_CHANGED_NOTE,) if now is not None else ()
        if edge.adopted and action is Action.DELETE:
            notes += (EDGE_ADOPTED_NOTE,)
        changes.append(
            Change(
                name,
                action,
                before=edge.spec,
                notes=notes,
                kind=ASSOCIATION,
                ends=edge.ends,
            )
        )
    return changes


def compare(
    name: str, entry: Entry, spec: dict[str, Any], kind: EntityKind = ARTIFACT
) -> Change | None:
    """The change that takes `entry` to `spec`, or None when they agree.

    An update keeps the fields the manifest dropped that the service keeps (an action's
    Status): `after` holds them as recorded, so the plan shows no removal apply cannot make,
    and the lockfile goes on recording what the service holds. A replacement creates the entity
    from `spec` alone."""
    if entry.spec == spec:
        return None
    replace_because = tuple(f for f in kind.replace_fields if entry.spec.get(f) != spec.get(f))
    if replace_because:
        return Change(
            name,
            Action.REPLACE,
            entry.spec,
            spec,
            entry.arn,
            field_changes(entry.spec, spec),
            replace_because,
            kind=kind.kind,
        )
    kept = kind.kept_fields(entry.spec, spec, entry.kept)
    after = kind.with_kept(entry.spec, spec, kept) if kept else spec
    newly_kept = tuple(f for f in kept if f not in entry.kept)
    if entry.spec == after and not newly_kept:
        return None
    fields = field_changes(entry.spec, after) if entry.spec != after else ()
    return Change(
        name,
        Action.UPDATE,
        entry.spec,
        after,
        entry.arn,
        fields,
        kind=kind.kind,
        kept=kept,
        newly_kept=newly_kept,
    )


def _with_moved_arn(
    change: Change | None,
    base: Lockfile,
    name: str,
    entry: Entry,
    spec: dict[str, Any] | None = None,
    kind: EntityKind = ARTIFACT,
) -> Change | None:
    """The change with an `arn` field when the lockfile records another ARN than `base`."""
    before = base.arn_of(name)
    if before == entry.arn:
        return change
    moved = FieldChange("arn", before, entry.arn)
    change = change or Change(name, Action.UPDATE, entry.spec, spec, entry.arn, kind=kind.kind)
    return replace(change, fields=(moved, *change.fields), notes=(*change.notes, ARN_NOTE))


def _with_dropped_arn(create: Change, base: Lockfile) -> Change:
    """A create with an `arn` field when the base lockfile recorded the entity."""
    previous = base.arn_of(create.name)
    if previous is None:
        return create
    dropped = FieldChange("arn", previous, None)
    return replace(create, fields=(dropped, *create.fields), notes=(*create.notes, REMOVED_NOTE))


def _with_moved_ends(
    change: Change | None, base: Lockfile, name: str, edge: Edge, spec: dict[str, Any]
) -> Change | None:
    """The change with `source_arn`/`destination_arn` fields when the lockfile records other
    ends for the edge than `base` does (a hand-edited lockfile)."""
    previous = base.associations.get(name)
    if previous is None or previous.ends == edge.ends:
        return change
    moved = tuple(
        FieldChange(key, old, new)
        for key, old, new in zip(
            ("source_arn", "destination_arn"), previous.ends, edge.ends, strict=True
        )
        if old != new
    )
    change = change or Change(
        name, Action.REPLACE, edge.spec, spec, kind=ASSOCIATION, ends=edge.ends
    )
    return replace(change, fields=(*moved, *change.fields), notes=(*change.notes, EDGE_ENDS_NOTE))


def _with_dropped_edge(create: Change, base: Lockfile) -> Change:
    """An edge's create with its ends' fields when the base lockfile recorded it."""
    previous = base.associations.get(create.name)
    if previous is None:
        return create
    dropped = (
        FieldChange("source_arn", previous.source_arn, None),
        FieldChange("destination_arn", previous.destination_arn, None),
    )
    return replace(create, fields=dropped, notes=(*create.notes, EDGE_REMOVED_NOTE))


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
        for kind in ENTITY_KINDS.values()
        for name, entry in sorted(lockfile.entities(kind).items())
        if (reason := foreign_reason(entry, lockfile.target)) is not None
    ]
    problems += [
        f"'{name}': {reason}"
        for name, edge in sorted(lockfile.associations.items())
        if (reason := edge_foreign_reason(edge, lockfile.target)) is not None
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
