"""The lineage entities other than artifacts, each kind a table: contexts and actions (created,
described, updated, deleted and listed by name), and trial components (created by SageMaker
itself, so only preloaded; see preload.py).

A kind's request and answer members are its name followed by the member (`ContextName`,
`ActionArn`, `ContextSummaries`), so one set of handlers in the service serves every kind and a
new kind is one more row here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

DEFAULT_CONTEXT_QUOTA = 500
DEFAULT_ACTION_QUOTA = 3_000


@dataclass(frozen=True)
class Kind:
    """One kind of lineage entity, as the API names and limits it."""

    #: The member prefix and the operation suffix: `Context` (CreateContext, ContextName).
    name: str
    #: The ARN's resource type: `arn:aws:sagemaker:REGION:ACCOUNT:<resource>/<name>`.
    resource: str
    #: What QueryLineage calls it (its Vertices' LineageType).
    lineage_type: str
    #: Members Describe answers beyond the common ones, and which of them Update may set.
    described: tuple[str, ...] = ()
    updatable: tuple[str, ...] = ()
    #: Members a summary (ListContexts, ListActions) carries beyond the common ones.
    summarised: tuple[str, ...] = ()
    #: Served through Create/Describe/Update/Delete/List<Kind>s (trial components are not here).
    served: bool = True

    def arn(self, region: str, account: str, name: str) -> str:
        return f"arn:aws:sagemaker:{region}:{account}:{self.resource}/{name}"

    def member(self, suffix: str) -> str:
        return f"{self.name}{suffix}"


CONTEXT = Kind(
    "Context", "context", "Context", described=("Description",), updatable=("Description",)
)
ACTION = Kind(
    "Action",
    "action",
    "Action",
    described=("Description", "Status", "MetadataProperties"),
    updatable=("Description", "Status"),
    summarised=("Status",),
)
TRIAL_COMPONENT = Kind(
    "TrialComponent", "experiment-trial-component", "TrialComponent", served=False
)

KINDS: dict[str, Kind] = {kind.name: kind for kind in (CONTEXT, ACTION, TRIAL_COMPONENT)}
SERVED = tuple(kind for kind in KINDS.values() if kind.served)
#: The experiment entities: the service has no association between two of them.
EXPERIMENT_RESOURCES = frozenset({"experiment", "experiment-trial", "experiment-trial-component"})

#: The request members a Create of a kind stores as the entity's attributes.
_MEMBER_ATTRIBUTES = {
    "Description": "description",
    "Status": "status",
    "MetadataProperties": "metadata_properties",
}


def resource_of(arn: str) -> str:
    """The resource type an ARN names (`context`, `artifact`, ...)."""
    return arn.split(":", 5)[-1].split("/", 1)[0]


def region_of(arn: str) -> str:
    return arn.split(":", 5)[3]


def account_of(arn: str) -> str:
    return arn.split(":", 5)[4]


@dataclass
class Entity:
    """A context, an action or a trial component."""

    kind: str
    arn: str
    region: str
    name: str
    entity_type: str
    source: dict[str, Any]
    creation_time: float
    last_modified_time: float
    description: str | None = None
    status: str | None = None
    properties: dict[str, str] = field(default_factory=dict)
    metadata_properties: dict[str, str] | None = None
    tags: dict[str, str] = field(default_factory=dict)
    #: Made by SageMaker (preloaded), not by a caller: outside the quotas, as on the service.
    auto_created: bool = False

    @property
    def table(self) -> Kind:
        return KINDS[self.kind]

    @property
    def lineage_type(self) -> str:
        return self.table.lineage_type

    def copy(self) -> Entity:
        return replace(self, properties=dict(self.properties), tags=dict(self.tags))

    def set_member(self, member: str, value: Any) -> None:
        setattr(self, _MEMBER_ATTRIBUTES[member], value)

    def summary(self) -> dict[str, Any]:
        kind = self.table
        out: dict[str, Any] = {
            kind.member("Arn"): self.arn,
            kind.member("Name"): self.name,
            "Source": self.source,
            kind.member("Type"): self.entity_type,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
        }
        out.update(self._members(kind.summarised))
        return out

    def describe(self, caller: dict[str, Any]) -> dict[str, Any]:
        out = self.summary()
        out.update(
            {
                "Properties": dict(self.properties),
                "CreatedBy": caller,
                "LastModifiedBy": caller,
            }
        )
        out.update(self._members(self.table.described))
        return out

    def _members(self, members: tuple[str, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for member in members:
            value = getattr(self, _MEMBER_ATTRIBUTES[member])
            if value is not None and value != {}:  # a Description "" is answered as stored
                out[member] = dict(value) if isinstance(value, dict) else value
        return out
