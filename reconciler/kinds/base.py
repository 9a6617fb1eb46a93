"""A kind of lineage entity as a table: what the engine needs to plan, apply and audit it.

Plan, apply, audit, the lockfile and the renderers are written once over this table; a new kind
of entity is one new module in this package. Associations (the graph's edges) have no ARN, no
tags and no update, so they are not an EntityKind: see `association.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from pydantic import BaseModel


@dataclass(frozen=True)
class Operations:
    """The boto3 method names of one kind's API operations."""

    create: str
    describe: str
    update: str
    delete: str
    list: str
    #: The key of the list operation's summaries ("ArtifactSummaries").
    summaries: str


@dataclass(frozen=True)
class EntityKind:
    #: The manifest's `kind` ("Artifact").
    kind: str
    #: The lockfile's map of this kind ("artifacts").
    section: str
    #: The request field that names the entity on the service ("ArtifactName").
    name_field: str
    #: The response field holding its ARN ("ArtifactArn").
    arn_field: str
    #: The ARN's resource type (`arn:aws:sagemaker:region:account:<resource>/...`).
    arn_resource: str
    operations: Operations
    #: How the service addresses one entity in describe/update/delete: by ARN (artifacts) or by
    #: name (contexts and actions, whose names are unique in an account and region).
    addressed_by: Literal["arn", "name"]
    #: Fields only CreateX sets: changing one replaces the entity.
    replace_fields: tuple[str, ...]
    #: Fields UpdateX changes in place (Properties goes with PropertiesToRemove). Tags are
    #: changed with AddTags/DeleteTags for every kind.
    update_fields: tuple[str, ...]
    #: How many the service allows per account and region.
    quota: int
    #: A validated spec (model_dump(exclude_none=True)) in the one form plans compare; the name
    #: field defaults to metadata.name.
    canonical: Callable[[str, dict[str, Any]], dict[str, Any]]
    #: Update fields UpdateX cannot clear (an action's Status): dropped from a manifest, the
    #: service keeps the value it has, and the lockfile records it (see `kept_fields`).
    unclearable: tuple[str, ...] = ()

    @property
    def spec_model(self) -> type[BaseModel]:
        """The Create* request as a pydantic model: a manifest's `spec` (models.py). Resolved
        when used: the tables load without pydantic, which a run the manifest cache answers for
        never needs."""
        from reconciler.models import SPEC_MODELS

        return SPEC_MODELS[self.kind]

    def kept_fields(
        self,
        recorded: Mapping[str, Any],
        declared: Mapping[str, Any],
        seen_kept: Iterable[str] = (),
    ) -> tuple[str, ...]:
        """The update fields the service keeps although the manifest does not declare them:
        those `recorded` holds and `declared` leaves out that UpdateX cannot clear, or that the
        service was seen to keep when asked to clear them (`seen_kept`, as the lockfile
        records)."""
        keepable = {*self.unclearable, *seen_kept}
        return tuple(
            field
            for field in self.update_fields
            if field in keepable and declared.get(field) is None and recorded.get(field) is not None
        )

    @staticmethod
    def with_kept(
        recorded: Mapping[str, Any], declared: Mapping[str, Any], kept: Iterable[str]
    ) -> dict[str, Any]:
        """The declared spec with the `kept` fields as `recorded` holds them: what the entity
        is on the service once an update has made it the declared one."""
        out = dict(declared)
        out.update({field: recorded[field] for field in kept})
        return dict(sorted(out.items()))

    def address(self, arn: str, spec: dict[str, Any]) -> dict[str, str]:
        """The parameter that names this entity in its describe, update and delete calls."""
        if self.addressed_by == "arn":
            return {self.arn_field: arn}
        return {self.name_field: spec[self.name_field]}
