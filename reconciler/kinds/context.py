"""Contexts: endpoints, model packages, projects: what artifacts and actions are grouped under.

The spec is models.ContextSpec, the CreateContext request; the limits are botocore's (tests compare
them)."""

from __future__ import annotations

from typing import Any

from reconciler.kinds.base import EntityKind, Operations
from reconciler.kinds.common import canonical_entity

#: ContextName allows underscores, unlike the other entity names.
CONTEXT_NAME_PATTERN = r"^[a-zA-Z0-9]([-_]*[a-zA-Z0-9]){0,119}$"


def canonical_context(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return canonical_entity("ContextName", "ContextType", name, spec)


CONTEXT = EntityKind(
    kind="Context",
    section="contexts",
    name_field="ContextName",
    arn_field="ContextArn",
    arn_resource="context",
    operations=Operations(
        create="create_context",
        describe="describe_context",
        update="update_context",
        delete="delete_context",
        list="list_contexts",
        summaries="ContextSummaries",
    ),
    addressed_by="name",
    replace_fields=("ContextName", "Source", "ContextType"),
    update_fields=("Description", "Properties"),
    quota=500,
    canonical=canonical_context,
)

__all__ = ["CONTEXT", "CONTEXT_NAME_PATTERN", "canonical_context"]
