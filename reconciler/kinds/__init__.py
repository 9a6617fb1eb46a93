"""Every kind reconciler manages: entity kinds as tables (base.EntityKind), and associations."""

from __future__ import annotations

from reconciler.kinds.action import ACTION
from reconciler.kinds.artifact import ARTIFACT
from reconciler.kinds.base import EntityKind
from reconciler.kinds.context import CONTEXT

#: By manifest `kind`, in the order plans list them.
ENTITY_KINDS: dict[str, EntityKind] = {k.kind: k for k in (ARTIFACT, CONTEXT, ACTION)}
#: Every manifest kind.
ALL_KINDS: tuple[str, ...] = (*ENTITY_KINDS, "Association")


def entity_kind(kind: str) -> EntityKind:
    return ENTITY_KINDS[kind]


def kind_of_arn(arn: str) -> EntityKind | None:
    """The entity kind an ARN names, or None (a trial component, an experiment, not an ARN)."""
    for kind in ENTITY_KINDS.values():
        if f":{kind.arn_resource}/" in arn:
            return kind
    return None


__all__ = ["ACTION", "ALL_KINDS", "ARTIFACT", "CONTEXT", "ENTITY_KINDS", "EntityKind"]
