"""What the loader needs per manifest kind: its model, its canonical form, its quota, the field
that names it on the service, and how to recognise its spec."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reconciler.kinds import association
from reconciler.kinds.action import ACTION
from reconciler.kinds.artifact import ARTIFACT
from reconciler.kinds.base import EntityKind
from reconciler.kinds.context import CONTEXT

if TYPE_CHECKING:
    from pydantic import BaseModel


@dataclass(frozen=True)
class ManifestKind:
    """What loading a manifest of one kind needs."""

    kind: str
    #: (metadata.name, validated spec) -> the canonical spec.
    canonical: Callable[[str, dict[str, Any]], dict[str, Any]]
    #: The spec field that names the entity on the service (None for an edge).
    name_field: str | None
    #: How many the service allows per account and region.
    quota: int
    #: The field only this kind's spec has, to recognise a spec whose `kind` is missing.
    marker: str

    @property
    def model(self) -> type[BaseModel]:
        """The whole manifest as a pydantic model (models.py), loaded when first validated."""
        from reconciler.models import MANIFEST_MODELS

        return MANIFEST_MODELS[self.kind]


def _entity(kind: EntityKind, marker: str) -> ManifestKind:
    return ManifestKind(kind.kind, kind.canonical, kind.name_field, kind.quota, marker)


MANIFEST_KINDS: dict[str, ManifestKind] = {
    "Artifact": _entity(ARTIFACT, "ArtifactType"),
    "Context": _entity(CONTEXT, "ContextType"),
    "Action": _entity(ACTION, "ActionType"),
    "Association": ManifestKind(
        association.KIND, association.canonical_association, None, association.QUOTA, "Destination"
    ),
}
