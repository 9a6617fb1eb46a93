"""Actions: approvals, deployments, a step that did something to artifacts.

The spec is the CreateAction request; the limits are botocore's (tests compare them)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from reconciler.kinds.base import EntityKind, Operations
from reconciler.kinds.common import (
    DescriptionText,
    LineageProperties,
    LineageSource,
    String256,
    canonical_entity,
)
from reconciler.models import TAGS_MAX, ArtifactMetadataProperties, Name, Tag, _Strict

ActionStatusValue = Literal["Unknown", "InProgress", "Completed", "Failed", "Stopping", "Stopped"]


class ActionSpec(_Strict):
    """The CreateAction request, with the same field names."""

    ActionName: Name | None = None
    Source: LineageSource
    ActionType: String256
    Description: DescriptionText | None = None
    Status: ActionStatusValue | None = None
    Properties: LineageProperties | None = None
    MetadataProperties: ArtifactMetadataProperties | None = None
    Tags: Annotated[list[Tag], Field(max_length=TAGS_MAX)] | None = None


def canonical_action(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    out = canonical_entity("ActionName", "ActionType", name, spec)
    if spec.get("Status") is not None:
        out["Status"] = spec["Status"]
    metadata = {k: v for k, v in (spec.get("MetadataProperties") or {}).items() if v is not None}
    if metadata:
        out["MetadataProperties"] = metadata
    return dict(sorted(out.items()))


ACTION = EntityKind(
    kind="Action",
    section="actions",
    spec_model=ActionSpec,
    name_field="ActionName",
    arn_field="ActionArn",
    arn_resource="action",
    operations=Operations(
        create="create_action",
        describe="describe_action",
        update="update_action",
        delete="delete_action",
        list="list_actions",
        summaries="ActionSummaries",
    ),
    addressed_by="name",
    replace_fields=("ActionName", "Source", "ActionType", "MetadataProperties"),
    update_fields=("Description", "Status", "Properties"),
    quota=3000,
    canonical=canonical_action,
)
