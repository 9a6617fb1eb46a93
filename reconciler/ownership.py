"""Whose an artifact is: the reserved tags that name it and the lockfile that owns it.

Every artifact reconciler creates carries `reconciler:name` (its metadata.name) and
`reconciler:lineage` (the owning lockfile's lineage id). Artifacts created before the lineage tag
existed carry only the name tag ("legacy"): they count as ours only where our lockfile already
records them, and they get the lineage tag the next time apply writes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from reconciler.limits import LINEAGE_TAG_KEY, OWNERSHIP_TAG_KEY

RESERVED_TAG_KEYS = (OWNERSHIP_TAG_KEY, LINEAGE_TAG_KEY)


class Claim(StrEnum):
    #: Both tags say it is this name in this lockfile.
    OURS = "ours"
    #: The name tag says this name; no lineage tag (created before lineage tags existed).
    LEGACY = "legacy"
    #: No reconciler tag at all.
    UNOWNED = "unowned"
    #: Another name, or another lockfile.
    OTHER = "other"


@dataclass(frozen=True)
class Owner:
    """What an artifact's reserved tags say."""

    name: str | None
    lineage: str | None

    @classmethod
    def of(cls, tags: dict[str, str]) -> Owner:
        return cls(tags.get(OWNERSHIP_TAG_KEY), tags.get(LINEAGE_TAG_KEY))

    def claim(self, name: str, lineage: str | None) -> Claim:
        if self.name is None and self.lineage is None:
            return Claim.UNOWNED
        if self.name != name:
            return Claim.OTHER
        if self.lineage is None:
            return Claim.LEGACY
        return Claim.OURS if self.lineage == lineage else Claim.OTHER

    @property
    def shown_lineage(self) -> str:
        """The lineage tag's value for a message; an empty one is named, not left blank."""
        return self.lineage if self.lineage else "'' (an empty lineage tag)"

    def describe(self) -> str:
        """Who owns it, in words, for an error message."""
        if self.name is None and self.lineage is None:
            return "it is not managed by reconciler (it has no reconciler tags)"
        if self.lineage is None:
            return f"it belongs to '{self.name}' ({OWNERSHIP_TAG_KEY}, no {LINEAGE_TAG_KEY})"
        if self.name is None:
            return f"it belongs to the lockfile with lineage {self.shown_lineage} (no name tag)"
        return f"it belongs to '{self.name}' in the lockfile with lineage {self.shown_lineage}"


def ownership_tags(name: str, lineage: str) -> list[dict[str, str]]:
    return [{"Key": OWNERSHIP_TAG_KEY, "Value": name}, {"Key": LINEAGE_TAG_KEY, "Value": lineage}]


def is_reserved(key: str) -> bool:
    return key in RESERVED_TAG_KEYS


def not_ours(arn: str, name: str, owner: Owner, lineage: str | None) -> str:
    """Why `arn` cannot be touched as `name` of this lockfile, and how to hand it over."""
    what = f"{arn} is not '{name}' of this lockfile: {owner.describe()}"
    if owner.name is None and owner.lineage is None:
        return f"{what}; to bring it under management: reconciler import {name} {arn}"
    if owner.name == name and owner.lineage is None:
        return (
            f"{what}, made by a reconciler older than lineage tags, perhaps for another "
            f"repository; if it is this repository's: reconciler import {name} {arn}"
        )
    if owner.lineage == "":
        return (
            f"{what}; no lockfile can hand an empty lineage over: if the artifact is this "
            f"repository's, remove its reconciler tags, then 'reconciler import {name} {arn}'"
        )
    if owner.lineage is not None and owner.lineage != lineage:
        return (
            f"{what}; to hand it over, run 'reconciler forget {owner.name or name}' in the "
            f"repository that owns it, then 'reconciler import {name} {arn}' here (if that "
            f"lockfile is lost: 'reconciler import {name} {arn} --from-lineage {owner.lineage}')"
        )
    return (
        f"{what}; if '{owner.name}' was removed or renamed, prune it (apply --prune) or forget "
        f"it (reconciler forget {owner.name}) first, then 'reconciler import {name} {arn}'"
    )
