"""Bringing existing artifacts under management (import) and handing them back (forget)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from reconciler.aws import Lineage, live_spec, timestamp_text
from reconciler.errors import ReconcilerError
from reconciler.lockfile import Entry, Lockfile, parse_arn
from reconciler.ownership import RESERVED_TAG_KEYS, Claim, Owner, not_ours, ownership_tags
from reconciler.plan import Change, compare


@dataclass(frozen=True)
class Imported:
    name: str
    arn: str
    #: How the live artifact differs from the manifest: what the next apply will change.
    pending: Change | None


def import_artifact(
    service: Lineage,
    lockfile: Lockfile,
    declared: dict[str, dict[str, Any]],
    name: str,
    arn: str,
    from_lineage: str | None = None,
) -> tuple[Lockfile, Imported]:
    """Adopt the artifact at `arn` under the declared `name`: tag it ours, record it as it is.

    `lockfile` must have its lineage. An artifact owned by another lockfile is taken over only
    when `from_lineage` names that lockfile's lineage."""
    assert lockfile.lineage is not None
    if name not in declared:
        raise ReconcilerError(
            f"'{name}' is not declared in the manifests; declare it first, then import it"
        )
    if name in lockfile.artifacts:
        raise ReconcilerError(
            f"'{name}' is already in the lockfile ({lockfile.artifacts[name].arn}); "
            "'reconciler forget' it first to import another artifact under that name"
        )
    parts = parse_arn(arn)
    if parts is None:
        raise ReconcilerError(f"{arn!r} is not a SageMaker artifact ARN")
    if (parts["account"], parts["region"]) != (service.target.account, service.target.region):
        raise ReconcilerError(f"{arn} is not in {service.target}, where these credentials reach")
    described = service.describe(arn)
    tags = service.tags(arn) if described is not None else None
    if described is None or tags is None:
        raise ReconcilerError(f"{arn} does not exist")
    owner = Owner.of(tags)
    if not _may_import(owner, name, lockfile.lineage, from_lineage):
        raise ReconcilerError(
            f"refusing to import {arn} as '{name}': "
            + not_ours(arn, name, owner, lockfile.lineage).removeprefix(
                f"{arn} is not '{name}' of this lockfile: "
            )
        )
    for other, entry in lockfile.artifacts.items():
        if entry.arn == arn:
            raise ReconcilerError(f"{arn} is already recorded as '{other}'")
    if owner.claim(name, lockfile.lineage) is not Claim.OURS:
        service.add_tags(arn, ownership_tags(name, lockfile.lineage))
    entry = Entry(
        arn, live_spec(described, tags), timestamp_text(described.get("LastModifiedTime"))
    )
    artifacts = {**lockfile.artifacts, name: entry}
    return replace(lockfile, artifacts=artifacts), Imported(
        name, arn, compare(name, entry, declared[name])
    )


def _may_import(owner: Owner, name: str, lineage: str, from_lineage: str | None) -> bool:
    """Import takes what is unowned, ours, made for this name before lineage tags, or (named
    explicitly with --from-lineage) owned by a given other lockfile."""
    if from_lineage is not None and owner.lineage == from_lineage:
        return True
    return owner.claim(name, lineage) in (Claim.OURS, Claim.LEGACY, Claim.UNOWNED)


def unrecorded(lockfile: Lockfile, declared: dict[str, dict[str, Any]]) -> list[str]:
    """The declared names the lockfile does not record, in order."""
    return sorted(name for name in declared if name not in lockfile.artifacts)


def match_by_source(service: Lineage, name: str, spec: dict[str, Any]) -> tuple[str | None, str]:
    """The ARN of the one artifact with the declared whole Source, or None and why not."""
    uri = spec["Source"]["SourceUri"]
    matches = service.artifacts_with_source(spec["Source"])
    if not matches:
        return None, (
            f"{name}: nothing on the service has its Source (SourceUri {uri} and its "
            "SourceTypes); apply will create it"
        )
    if len(matches) > 1:
        arns = ", ".join(m["ArtifactArn"] for m in matches)
        return None, f"{name}: several artifacts have its Source ({arns}); import one by name"
    return matches[0]["ArtifactArn"], ""


def forget(service: Lineage, lockfile: Lockfile, name: str) -> tuple[Lockfile, str]:
    """Drop `name` from the lockfile and take our ownership tags off its artifact, leaving it."""
    entry = lockfile.artifacts.get(name)
    if entry is None:
        raise ReconcilerError(f"'{name}' is not in the lockfile")
    tags = service.tags(entry.arn)
    if tags is None:
        note = f"{entry.arn} no longer exists; the entry is dropped"
    elif Owner.of(tags).claim(name, lockfile.lineage) in (Claim.OURS, Claim.LEGACY):
        present = [key for key in RESERVED_TAG_KEYS if key in tags]
        service.delete_tags(entry.arn, present)
        tags_word = "tag" if len(present) == 1 else "tags"
        note = f"{entry.arn} is left in place, without the {' and '.join(present)} {tags_word}"
    else:
        note = f"{entry.arn} is left in place with its tags: they say it is not ours"
    artifacts = {n: e for n, e in lockfile.artifacts.items() if n != name}
    return replace(lockfile, artifacts=artifacts), note
