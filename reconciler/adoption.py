"""Bringing existing artifacts under management (import) and handing them back (forget)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from reconciler.aws import Lineage, live_spec, timestamp_text
from reconciler.errors import ReconcilerError
from reconciler.lockfile import Entry, Lockfile, parse_arn
from reconciler.models import OWNERSHIP_TAG_KEY
from reconciler.plan import Change, compare


@dataclass(frozen=True)
class Imported:
    name: str
    arn: str
    #: How the live artifact differs from the manifest: what the next apply will change.
    pending: Change | None


def import_artifact(
    service: Lineage, lockfile: Lockfile, declared: dict[str, dict[str, Any]], name: str, arn: str
) -> tuple[Lockfile, Imported]:
    """Adopt the artifact at `arn` under the declared `name`: tag it ours, record it as it is."""
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
    owner = tags.get(OWNERSHIP_TAG_KEY)
    if owner is not None and owner != name:
        raise ReconcilerError(
            f"{arn} is owned by '{owner}' ({OWNERSHIP_TAG_KEY}={owner}); refusing to import it as "
            f"'{name}'. If '{owner}' is gone, 'reconciler forget {owner}' first"
        )
    for other, entry in lockfile.artifacts.items():
        if entry.arn == arn:
            raise ReconcilerError(f"{arn} is already recorded as '{other}'")
    if owner is None:
        service.call("add_tags", ResourceArn=arn, Tags=[{"Key": OWNERSHIP_TAG_KEY, "Value": name}])
    entry = Entry(
        arn, live_spec(described, tags), timestamp_text(described.get("LastModifiedTime"))
    )
    artifacts = {**lockfile.artifacts, name: entry}
    return replace(lockfile, artifacts=artifacts), Imported(
        name, arn, compare(name, entry, declared[name])
    )


def importable(
    service: Lineage, lockfile: Lockfile, declared: dict[str, dict[str, Any]]
) -> tuple[list[tuple[str, str]], list[str]]:
    """For every declared artifact not in the lockfile: the one artifact with its SourceUri.

    Returns (name, arn) pairs to import, and notes on those skipped.
    """
    found: list[tuple[str, str]] = []
    notes: list[str] = []
    for name, spec in sorted(declared.items()):
        if name in lockfile.artifacts:
            continue
        uri = spec["Source"]["SourceUri"]
        matches = service.artifacts_with_source(uri)
        if not matches:
            notes.append(
                f"{name}: nothing on the service has SourceUri {uri}; apply will create it"
            )
        elif len(matches) > 1:
            arns = ", ".join(m["ArtifactArn"] for m in matches)
            notes.append(
                f"{name}: several artifacts have SourceUri {uri} ({arns}); import one by name"
            )
        else:
            found.append((name, matches[0]["ArtifactArn"]))
    return found, notes


def forget(service: Lineage, lockfile: Lockfile, name: str) -> tuple[Lockfile, str]:
    """Drop `name` from the lockfile and take our ownership tag off its artifact, leaving it."""
    entry = lockfile.artifacts.get(name)
    if entry is None:
        raise ReconcilerError(f"'{name}' is not in the lockfile")
    tags = service.tags(entry.arn)
    if tags is None:
        note = f"{entry.arn} no longer exists; the entry is dropped"
    elif tags.get(OWNERSHIP_TAG_KEY) == name:
        service.call("delete_tags", ResourceArn=entry.arn, TagKeys=[OWNERSHIP_TAG_KEY])
        note = f"{entry.arn} is left in place, without the {OWNERSHIP_TAG_KEY} tag"
    else:
        note = f"{entry.arn} is left in place; its ownership tag was not ours, so it was left too"
    artifacts = {n: e for n, e in lockfile.artifacts.items() if n != name}
    return replace(lockfile, artifacts=artifacts), note
