"""How a pull request's lockfile differs from the base branch's: pure, one sentence per kind.

A pull request never needs to edit the lockfile (only apply, import and forget write it), and the
lineage id is a claim, not a secret: whoever copies it claims the artifacts it names. So every
difference from the base lockfile is shown to the reviewer, prominently, in every format."""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.kinds import ARTIFACT, ENTITY_KINDS
from reconciler.lockfile import Lockfile

#: Names listed in one note; the rest are counted.
_SHOWN_NAMES = 5


def lockfile_differences(lockfile: Lockfile, base: Lockfile) -> tuple[str, ...]:
    """One sentence for each kind of difference between `lockfile` and `base`."""
    notes = _entity_notes(_identities(lockfile), _identities(base))
    notes += _edge_notes(lockfile, base)
    if base.lineage is None and lockfile.lineage is not None and not lockfile.is_empty:
        notes.append(
            f"the base branch has no lockfile, but this one has lineage {lockfile.lineage}: a "
            "lockfile that copies another's lineage takes over that lockfile's artifacts"
        )
    if base.exists and lockfile.target != base.target:
        notes.append(f"the target changed from {base.target} to {lockfile.target}")
    if lockfile.serial < base.serial:
        notes.append(
            f"the serial moved backwards, from {base.serial} to {lockfile.serial}: this lockfile "
            "is older than the base branch's"
        )
    return tuple(notes)


def _identities(lockfile: Lockfile) -> dict[str, tuple[str, str]]:
    """Every entity the lockfile records: name -> (kind, ARN)."""
    return {
        name: (kind.kind, entry.arn)
        for kind in ENTITY_KINDS.values()
        for name, entry in lockfile.entities(kind).items()
    }


def _entity_notes(
    ours: dict[str, tuple[str, str]], theirs: dict[str, tuple[str, str]]
) -> list[str]:
    added, removed, moved = _split(ours, theirs)
    notes: list[str] = []
    if added:
        notes.append(
            f"entries added that the base lockfile does not have: {_names(added, ours)}; each "
            f"claims an existing {_noun(added, ours)} as this lockfile's own, and apply would act "
            "on it"
        )
    if removed:
        notes.append(
            f"entries removed that the base lockfile has: {_names(removed, theirs)}; apply would "
            f"create a declared one again and leave the {_noun(removed, theirs)} the base "
            "recorded behind, unrecorded"
        )
    if moved:
        notes.append(
            f"entries whose ARN differs from the base lockfile's: {_names(moved, ours)}; apply "
            f"would act on another existing {_noun(moved, ours)}"
        )
    return notes


def _edge_notes(lockfile: Lockfile, base: Lockfile) -> list[str]:
    ours = {name: edge.ends for name, edge in lockfile.associations.items()}
    theirs = {name: edge.ends for name, edge in base.associations.items()}
    added, removed, moved = _split(ours, theirs)
    notes: list[str] = []
    if added:
        notes.append(
            f"associations added that the base lockfile does not have: {_names(added)}; each "
            "claims an existing edge as this lockfile's own, and apply would delete it once it "
            "is no longer declared (with --prune)"
        )
    if removed:
        notes.append(
            f"associations removed that the base lockfile has: {_names(removed)}; apply would "
            "add a declared one again and forget an undeclared one, leaving it on the service"
        )
    if moved:
        notes.append(
            f"associations whose recorded ends differ from the base lockfile's: {_names(moved)}; "
            "apply would act on another edge"
        )
    claimed = sorted(
        name
        for name, edge in lockfile.associations.items()
        if not edge.adopted and name in base.associations and base.associations[name].adopted
    )
    if claimed:
        notes.append(
            "associations the base lockfile records as adopted (made outside reconciler) that "
            f"this one records as added by reconciler: {_names(claimed)}; apply would delete "
            "them once they are no longer declared (with --prune)"
        )
    return notes


def _split(
    ours: Mapping[str, object], theirs: Mapping[str, object]
) -> tuple[list[str], list[str], list[str]]:
    """Names only in `ours`, only in `theirs`, and in both with another identity."""
    added = sorted(set(ours) - set(theirs))
    removed = sorted(set(theirs) - set(ours))
    moved = sorted(n for n in set(ours) & set(theirs) if ours[n] != theirs[n])
    return added, removed, moved


def _noun(names: list[str], kinds: dict[str, tuple[str, str]]) -> str:
    """'artifact' when every name is one (as before other kinds existed), else 'entity'."""
    if all(kinds[name][0] == ARTIFACT.kind for name in names):
        return "artifact"
    return "entity"


def _names(names: list[str], kinds: dict[str, tuple[str, str]] | None = None) -> str:
    """The first names, quoted, with their kind when it is not an artifact; the rest counted."""

    def shown(name: str) -> str:
        kind = kinds[name][0] if kinds is not None else ARTIFACT.kind
        return f"'{name}'" if kind == ARTIFACT.kind else f"'{name}' ({kind.lower()})"

    listed = ", ".join(shown(name) for name in names[:_SHOWN_NAMES])
    rest = len(names) - _SHOWN_NAMES
    return listed if rest <= 0 else f"{listed} and {rest} more"
