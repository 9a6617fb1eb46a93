"""What to send the service, decided from specs alone: pure functions, no I/O.

The executor asks these what a write must carry (a create with the ownership tags, the fields an
update changes, the tags to add and remove) and the client sends it. Every entity kind is served
by the same functions, read off its table (`kinds.EntityKind`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.kinds import ARTIFACT, EntityKind
from reconciler.kinds.association import canonical_association
from reconciler.limits import LINEAGE_TAG_KEY
from reconciler.ownership import is_reserved, ownership_tags

#: Update fields handled apart; every other one is a plain value the service overwrites.
PROPERTIES = "Properties"
PROPERTIES_TO_REMOVE = "PropertiesToRemove"
DESCRIPTION = "Description"


def create_request(
    kind: EntityKind, spec: Mapping[str, Any], name: str, lineage: str
) -> dict[str, Any]:
    """The Create<Kind> request for a canonical spec, with the ownership tags added: every field
    the spec sets but an empty one, Tags last."""
    fields = kind.spec_model.model_fields
    request = {
        key: value
        for key, value in spec.items()
        if key in fields and key != "Tags" and value not in (None, {}, [])
    }
    request["Tags"] = [*spec.get("Tags", []), *ownership_tags(name, lineage)]
    return request


def update_request(
    kind: EntityKind, before: Mapping[str, Any], after: Mapping[str, Any]
) -> dict[str, Any]:
    """The fields of Update<Kind> that take the entity from `before` to `after` (its address
    aside); empty when no updatable field differs.

    Properties are sent whole, with PropertiesToRemove naming the keys dropped (UpdateX merges
    otherwise). A Description removed from the manifest is sent as "", which clears it. A field
    UpdateX cannot clear (an action's Status) is not sent when `after` drops it: the plan keeps
    it in `after` (EntityKind.kept_fields), as the service does."""
    request: dict[str, Any] = {}
    for field in kind.update_fields:
        old, new = before.get(field), after.get(field)
        if field == PROPERTIES:
            old, new = old or {}, new or {}
            if old != new:
                request[PROPERTIES] = dict(new)
                removed = sorted(set(old) - set(new))
                if removed:
                    request[PROPERTIES_TO_REMOVE] = removed
        elif old != new:
            if new is not None:
                request[field] = new
            elif field == DESCRIPTION:
                request[field] = ""
    return request


def shows_update(
    described: Mapping[str, Any] | None,
    request: Mapping[str, Any],
    since: str | None = None,
) -> bool:
    """Whether a Describe answer shows an update request made before (or the entity is gone).

    A field sent as "" asks the service to clear it, which the API does not promise: an answer
    that shows the rest of the request and was modified after `since` (the LastModifiedTime
    before the update, ISO 8601; None: its CreationTime) shows the update whatever it holds
    for that field (see `not_cleared`)."""
    if described is None:
        return True
    cleared = {field for field, value in request.items() if value == ""}
    for field, value in request.items():
        if field == PROPERTIES_TO_REMOVE or field in cleared:
            continue
        shown = described.get(field)
        if field == PROPERTIES:
            if (shown or {}) != value:
                return False
        elif shown != value:
            return False
    if all(described.get(field) in (None, "") for field in cleared):
        return True
    return _modified_since(described, since)


def _modified_since(described: Mapping[str, Any], since: str | None) -> bool:
    modified = described.get("LastModifiedTime")
    baseline = dt.datetime.fromisoformat(since) if since else described.get("CreationTime")
    return modified is not None and baseline is not None and bool(modified > baseline)


def not_cleared(request: Mapping[str, Any], described: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The fields `request` sent as "" to clear them that the Describe answer after it still
    holds: the service kept them (the API does not say whether Description "" clears)."""
    if described is None:
        return ()
    return tuple(
        field
        for field, value in request.items()
        if value == "" and described.get(field) not in (None, "")
    )


@dataclass(frozen=True)
class TagChanges:
    """AddTags and DeleteTags that make an entity's tags the declared ones."""

    add: list[dict[str, str]]
    remove: list[str]

    def __bool__(self) -> bool:
        return bool(self.add or self.remove)


def tag_changes(live: Mapping[str, str], spec: Mapping[str, Any], lineage: str) -> TagChanges:
    """The declared tags plus the lineage tag (added to an entity made before there was one);
    the ownership tags are never removed."""
    wanted = {tag["Key"]: tag["Value"] for tag in spec.get("Tags", [])}
    wanted[LINEAGE_TAG_KEY] = lineage
    add = [{"Key": k, "Value": v} for k, v in wanted.items() if live.get(k) != v]
    remove = sorted(key for key in live if key not in wanted and not is_reserved(key))
    return TagChanges(add, remove)


def live_spec_of(
    kind: EntityKind, described: Mapping[str, Any], tags: Mapping[str, str]
) -> dict[str, Any]:
    """The canonical spec of an entity as the service holds it (ownership tags left out): the
    spec model's fields read off its Describe answer."""
    spec: dict[str, Any] = {
        field: described.get(field) for field in kind.spec_model.model_fields if field != "Tags"
    }
    if spec.get(DESCRIPTION) == "":  # how a cleared description may read back
        spec[DESCRIPTION] = None
    spec["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items() if not is_reserved(k)]
    name = described.get(kind.name_field) or ""
    out = kind.canonical(name, spec)
    if kind is ARTIFACT and not out.get(kind.name_field):
        # Made without a name (by another tool): record none, not "".
        out.pop(kind.name_field, None)
    return out


def association_request(
    spec: Mapping[str, Any], source_arn: str, destination_arn: str
) -> dict[str, str]:
    """The AddAssociation request for an edge whose ends are resolved to ARNs."""
    request = {"SourceArn": source_arn, "DestinationArn": destination_arn}
    edge_type = canonical_association("", dict(spec)).get("AssociationType")
    if edge_type is not None:
        request["AssociationType"] = edge_type
    return request
