"""A kind of lineage entity as a table: what the engine needs to plan, apply and audit it.

Plan, apply, audit, the lockfile and the renderers are written once over this table; a new kind
of entity is one new module in this package. Associations (the graph's edges) have no ARN, no
tags and no update, so they are not an EntityKind: see `association.py`.
"""

from __future__ import annotations

from collections.abc import Callable
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

    @property
    def spec_model(self) -> type[BaseModel]:
        """The Create* request as a pydantic model: a manifest's `spec` (models.py). Resolved
        when used: the tables load without pydantic, which a run the manifest cache answers for
        never needs."""
        from reconciler.models import SPEC_MODELS

        return SPEC_MODELS[self.kind]

    def address(self, arn: str, spec: dict[str, Any]) -> dict[str, str]:
        """The parameter that names this entity in its describe, update and delete calls."""
        if self.addressed_by == "arn":
            return {self.arn_field: arn}
        return {self.name_field: spec[self.name_field]}
