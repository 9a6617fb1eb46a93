"""Bringing existing entities under management (import) and handing them back (forget).

An artifact, a context or an action is imported by its ARN (the kind is the ARN's); an edge has
no ARN and carries no tags, so it is not imported: once both its ends are ours, apply finds the
existing edge and records it as adopted (never ours to delete).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from reconciler.aws import Lineage, timestamp_text
from reconciler.errors import ReconcilerError
from reconciler.kinds import ARTIFACT, ENTITY_KINDS, EntityKind, kind_of_arn
from reconciler.kinds.association import KIND as ASSOCIATION
from reconciler.lockfile import Entry, Lockfile, parse_entity_arn
from reconciler.ownership import RESERVED_TAG_KEYS, Claim, Owner, not_ours, ownership_tags
from reconciler.plan import Action, Change, field_changes
from reconciler.requests import live_spec_of
from reconciler.textsafe import quoted

Declared = Mapping[str, Mapping[str, dict[str, Any]]]

EDGE_IMPORT = (
    "an association has no ARN and cannot be imported: import its two ends (or declare them), "
    "and apply records the existing edge as adopted"
)


@dataclass(frozen=True)
class Imported:
    name: str
    arn: str
    #: How the live entity differs from the manifest: what the next apply will change.
    pending: Change | None
    kind: str = ARTIFACT.kind


def pending_change(
    kind: EntityKind, name: str, entry: Entry, spec: dict[str, Any]
) -> Change | None:
    """What the next apply does to a just imported entity: nothing, an update or a replace."""
    if entry.spec == spec:
        return None
    because = tuple(f for f in kind.replace_fields if entry.spec.get(f) != spec.get(f))
    action = Action.REPLACE if because else Action.UPDATE
    fields = field_changes(entry.spec, spec)
    return Change(name, action, entry.spec, spec, entry.arn, fields, because, kind=kind.kind)


def _declared_kind(declared: Declared, name: str) -> str | None:
    for kind_name, specs in declared.items():
        if name in specs:
            return kind_name
    return None


def import_entity(
    service: Lineage,
    lockfile: Lockfile,
    declared: Declared,
    name: str,
    arn: str,
    from_lineage: str | None = None,
) -> tuple[Lockfile, Imported]:
    """Adopt the entity at `arn` under the declared `name`: tag it ours, record it as it is.

    `declared`: the manifests' specs by kind. `lockfile` must have its lineage. An entity owned
    by another lockfile is taken over only when `from_lineage` names that lockfile's lineage."""
    assert lockfile.lineage is not None
    declared_as = _declared_kind(declared, name)
    if declared_as is None:
        raise ReconcilerError(
            f"'{name}' is not declared in the manifests; declare it first, then import it"
        )
    if declared_as == ASSOCIATION:
        raise ReconcilerError(f"'{name}' is an Association: {EDGE_IMPORT}")
    recorded_as = lockfile.kind_of(name)
    if recorded_as is not None:
        where = lockfile.arn_of(name) or "as an edge"
        raise ReconcilerError(
            f"'{name}' is already in the lockfile ({where}); "
            "'reconciler forget' it first to import another entity under that name"
        )
    kind = kind_of_arn(arn)
    parts = parse_entity_arn(arn)
    if kind is None or parts is None or parts["resource"] != kind.arn_resource:
        raise ReconcilerError(
            f"{quoted(arn)} is not the ARN of a SageMaker artifact, context or action"
            + (f" ({EDGE_IMPORT})" if arn.startswith("arn:") else "")
        )
    if kind.kind != declared_as:
        raise ReconcilerError(
            f"{arn} is the ARN of {_a(kind.kind)}, but '{name}' is declared as {_a(declared_as)}"
        )
    if (parts["account"], parts["region"]) != (service.target.account, service.target.region):
        raise ReconcilerError(f"{arn} is not in {service.target}, where these credentials reach")
    described = service.describe(kind, arn)
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
    for other_kind in ENTITY_KINDS.values():
        for other, entry in lockfile.entities(other_kind).items():
            if entry.arn == arn:
                raise ReconcilerError(f"{arn} is already recorded as '{other}'")
    if owner.claim(name, lockfile.lineage) is not Claim.OURS:
        service.add_tags(arn, ownership_tags(name, lockfile.lineage))
    modified = timestamp_text(described.get("LastModifiedTime"))
    entry = Entry(arn, live_spec_of(kind, described, tags), modified)
    entries = {**lockfile.entities(kind), name: entry}
    pending = pending_change(kind, name, entry, dict(declared[kind.kind][name]))
    return lockfile.with_entities(kind, entries), Imported(name, arn, pending, kind.kind)


def import_artifact(
    service: Lineage,
    lockfile: Lockfile,
    declared: Mapping[str, dict[str, Any]],
    name: str,
    arn: str,
    from_lineage: str | None = None,
) -> tuple[Lockfile, Imported]:
    """import_entity with the declared artifacts only (the name it had before other kinds)."""
    return import_entity(service, lockfile, {ARTIFACT.kind: declared}, name, arn, from_lineage)


def _a(kind_name: str) -> str:
    return f"{'an' if kind_name[0] in 'AEIOU' else 'a'} {kind_name}"


def _may_import(owner: Owner, name: str, lineage: str, from_lineage: str | None) -> bool:
    """Import takes what is unowned, ours, made for this name before lineage tags, or (named
    explicitly with --from-lineage) owned by a given other lockfile."""
    if from_lineage is not None and owner.lineage == from_lineage:
        return True
    return owner.claim(name, lineage) in (Claim.OURS, Claim.LEGACY, Claim.UNOWNED)


def unrecorded(lockfile: Lockfile, declared: Declared) -> list[tuple[str, str]]:
    """(kind, name) of the declared entities the lockfile does not record, by name."""
    return sorted(
        (
            (kind.kind, name)
            for kind in ENTITY_KINDS.values()
            for name in declared.get(kind.kind, {})
            if lockfile.kind_of(name) is None
        ),
        key=lambda pair: pair[1],
    )


def match_existing(
    service: Lineage, kind: EntityKind, name: str, spec: dict[str, Any]
) -> tuple[str | None, str]:
    """The ARN of the one entity the declared one already is on the service, or None and why
    not: an artifact by its whole Source, a context or an action by its name (unique in an
    account and region)."""
    if kind is ARTIFACT:
        return match_by_source(service, name, spec)
    service_name = spec[kind.name_field]
    described = service.find_by_name(kind, service_name)
    if described is None:
        return None, (
            f"{name}: nothing on the service is named {kind.name_field} {service_name}; "
            "apply will create it"
        )
    return str(described[kind.arn_field]), ""


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


def _touching(lockfile: Lockfile, name: str, arn: str) -> list[str]:
    """The recorded edges with `name` (or its ARN) as an end."""
    return sorted(
        edge_name
        for edge_name, edge in lockfile.associations.items()
        if arn in edge.ends or name in (edge.spec.get("Source"), edge.spec.get("Destination"))
    )


def forget(service: Lineage, lockfile: Lockfile, name: str) -> tuple[Lockfile, str]:
    """Drop `name` from the lockfile, leaving what it records on the service.

    An entity loses our ownership tags; the edges recorded with it as an end are forgotten with
    it (they stay on the service: reconciler no longer manages either end's side of them). An
    edge has no tags: it is only dropped from the lockfile."""
    edge = lockfile.associations.get(name)
    if edge is not None:
        edges = {n: e for n, e in lockfile.associations.items() if n != name}
        note = f"the edge {edge.source_arn} -> {edge.destination_arn} is left in place"
        return replace(lockfile, associations=edges), note
    kind_name = lockfile.kind_of(name)
    if kind_name is None or kind_name == ASSOCIATION or name in lockfile.malformed:
        raise ReconcilerError(f"'{name}' is not in the lockfile")
    kind = ENTITY_KINDS[kind_name]
    entry = lockfile.entities(kind)[name]
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
    touching = _touching(lockfile, name, entry.arn)
    if touching:
        listed = ", ".join(f"'{n}'" for n in touching)
        note += f"; its recorded edges {listed} are forgotten too (left in place)"
    entries = {n: e for n, e in lockfile.entities(kind).items() if n != name}
    edges = {n: e for n, e in lockfile.associations.items() if n not in touching}
    return replace(lockfile.with_entities(kind, entries), associations=edges), note
