"""How a pull request's lockfile differs from the base branch's: pure, one sentence per kind.

A pull request never needs to edit the lockfile (only apply, import and forget write it), and the
lineage id is a claim, not a secret: whoever copies it claims the artifacts it names. So every
difference from the base lockfile is shown to the reviewer, prominently, in every format."""

from __future__ import annotations

from reconciler.lockfile import Lockfile

#: Names listed in one note; the rest are counted.
_SHOWN_NAMES = 5


def lockfile_differences(lockfile: Lockfile, base: Lockfile) -> tuple[str, ...]:
    """One sentence for each kind of difference between `lockfile` and `base`."""
    ours, theirs = lockfile.artifacts, base.artifacts
    added = sorted(set(ours) - set(theirs))
    removed = sorted(set(theirs) - set(ours))
    moved = sorted(n for n in set(ours) & set(theirs) if ours[n].arn != theirs[n].arn)
    notes: list[str] = []
    if added:
        notes.append(
            f"entries added that the base lockfile does not have: {_names(added)}; each claims "
            "an existing artifact as this lockfile's own, and apply would act on it"
        )
    if removed:
        notes.append(
            f"entries removed that the base lockfile has: {_names(removed)}; apply would create "
            "a declared one again and leave the artifact the base recorded behind, unrecorded"
        )
    if moved:
        notes.append(
            f"entries whose ARN differs from the base lockfile's: {_names(moved)}; apply would "
            "act on another existing artifact"
        )
    if base.lineage is None and lockfile.lineage is not None and ours:
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


def _names(names: list[str]) -> str:
    shown = ", ".join(f"'{name}'" for name in names[:_SHOWN_NAMES])
    rest = len(names) - _SHOWN_NAMES
    return shown if rest <= 0 else f"{shown} and {rest} more"
