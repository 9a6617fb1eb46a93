"""Actions: approvals, deployments, a step that did something to artifacts.

The spec is models.ActionSpec, the CreateAction request; the limits are botocore's (tests compare
them)."""

from __future__ import annotations

from typing import Any

from reconciler.kinds.base import EntityKind, Operations
from reconciler.kinds.common import canonical_entity


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
    unclearable=("Status",),
)
