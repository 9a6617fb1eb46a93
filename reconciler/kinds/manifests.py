"""A manifest of each kind as a pydantic model (the envelope around each kind's spec), and what
the loader needs per kind: how to validate a document, its canonical form, its quota."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from reconciler.kinds import association
from reconciler.kinds.action import ACTION, ActionSpec
from reconciler.kinds.artifact import ARTIFACT
from reconciler.kinds.association import AssociationSpec, canonical_association
from reconciler.kinds.context import CONTEXT, ContextSpec
from reconciler.models import Manifest, Metadata, _Strict


def _config(kind: str) -> ConfigDict:
    return ConfigDict(
        title=f"reconciler {kind} manifest",
        json_schema_extra={"additionalProperties": False},
    )


class ContextManifest(_Strict):
    """One declared context."""

    model_config = _config("Context")

    apiVersion: Literal["reconciler/v1"]
    kind: Literal["Context"]
    metadata: Metadata
    spec: ContextSpec


class ActionManifest(_Strict):
    """One declared action."""

    model_config = _config("Action")

    apiVersion: Literal["reconciler/v1"]
    kind: Literal["Action"]
    metadata: Metadata
    spec: ActionSpec


class AssociationManifest(_Strict):
    """One declared edge."""

    model_config = _config("Association")

    apiVersion: Literal["reconciler/v1"]
    kind: Literal["Association"]
    metadata: Metadata
    spec: AssociationSpec


@dataclass(frozen=True)
class ManifestKind:
    """What loading a manifest of one kind needs."""

    kind: str
    model: type[BaseModel]
    #: (metadata.name, validated spec) -> the canonical spec.
    canonical: Callable[[str, dict[str, Any]], dict[str, Any]]
    #: The spec field that names the entity on the service (None for an edge).
    name_field: str | None
    #: How many the service allows per account and region.
    quota: int
    #: The field only this kind's spec has, to recognise a spec whose `kind` is missing.
    marker: str


MANIFEST_KINDS: dict[str, ManifestKind] = {
    "Artifact": ManifestKind(
        "Artifact", Manifest, ARTIFACT.canonical, "ArtifactName", ARTIFACT.quota, "ArtifactType"
    ),
    "Context": ManifestKind(
        "Context", ContextManifest, CONTEXT.canonical, "ContextName", CONTEXT.quota, "ContextType"
    ),
    "Action": ManifestKind(
        "Action", ActionManifest, ACTION.canonical, "ActionName", ACTION.quota, "ActionType"
    ),
    "Association": ManifestKind(
        "Association",
        AssociationManifest,
        canonical_association,
        None,
        association.QUOTA,
        "Destination",
    ),
}
