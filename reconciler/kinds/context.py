"""Contexts: endpoints, model packages, projects: what artifacts and actions are grouped under.

The spec is the CreateContext request; the limits are botocore's (tests compare them)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints

from reconciler.kinds.base import EntityKind, Operations
from reconciler.kinds.common import (
    DescriptionText,
    LineageProperties,
    LineageSource,
    String256,
    canonical_entity,
)
from reconciler.models import TAGS_MAX, Tag, _Strict

#: ContextName allows underscores, unlike the other entity names.
CONTEXT_NAME_PATTERN = r"^[a-zA-Z0-9]([-_]*[a-zA-Z0-9]){0,119}$"
ContextNameText = Annotated[
    str, StringConstraints(min_length=1, max_length=120, pattern=CONTEXT_NAME_PATTERN)
]


class ContextSpec(_Strict):
    """The CreateContext request, with the same field names."""

    ContextName: ContextNameText | None = None
    Source: LineageSource
    ContextType: String256
    Description: DescriptionText | None = None
    Properties: LineageProperties | None = None
    Tags: Annotated[list[Tag], Field(max_length=TAGS_MAX)] | None = None


def canonical_context(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return canonical_entity("ContextName", "ContextType", name, spec)


CONTEXT = EntityKind(
    kind="Context",
    section="contexts",
    spec_model=ContextSpec,
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

__all__ = ["CONTEXT", "ContextSpec"]
