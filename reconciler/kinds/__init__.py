"""Every kind reconciler manages: entity kinds as tables (base.EntityKind), and associations."""

from __future__ import annotations

from reconciler.kinds.action import ACTION
from reconciler.kinds.artifact import ARTIFACT
from reconciler.kinds.association import resource_of
from reconciler.kinds.base import EntityKind
from reconciler.kinds.context import CONTEXT

#: By manifest `kind`, in the order plans list them.
ENTITY_KINDS: dict[str, EntityKind] = {k.kind: k for k in (ARTIFACT, CONTEXT, ACTION)}
#: Every manifest kind.
ALL_KINDS: tuple[str, ...] = (*ENTITY_KINDS, "Association")

_BY_RESOURCE = {k.arn_resource: k for k in ENTITY_KINDS.values()}


def entity_kind(kind: str) -> EntityKind:
    return ENTITY_KINDS[kind]


def kind_of_arn(arn: str) -> EntityKind | None:
    """The entity kind an ARN names, or None (a trial component, an experiment, not an ARN)."""
    if not arn.startswith("arn:"):
        return None
    return _BY_RESOURCE.get(resource_of(arn))


__all__ = ["ACTION", "ALL_KINDS", "ARTIFACT", "CONTEXT", "ENTITY_KINDS", "EntityKind"]
