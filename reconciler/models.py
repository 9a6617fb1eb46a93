"""The pydantic models of a manifest of every kind: each `spec` mirrors its Create* request
(CreateArtifact, CreateContext, CreateAction; AddAssociation), with the service's limits
(`limits.py`).

botocore itself checks only required members, types and minimums, so everything else would
otherwise surface as a ValidationException from the service. Imported only to validate: a run
whose files the manifest cache answers for never loads pydantic (see `kinds/base.py`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from reconciler.kinds.artifact import canonical_artifact
from reconciler.kinds.association import ENTITY_ARN_MAX, REFERENCE_PATTERN
from reconciler.kinds.context import CONTEXT_NAME_PATTERN
from reconciler.limits import (
    DESCRIPTION_MAX,
    LINEAGE_PROPERTIES_MAX,
    LINEAGE_TAG_KEY,
    METADATA_VALUE_MAX,
    NAME_MAX,
    NAME_PATTERN,
    OWNERSHIP_TAG_KEY,
    PARAMETER_MAX,
    PROPERTIES_MAX,
    PROPERTY_KEY_MAX,
    PROPERTY_VALUE_MAX,
    RESERVED_TAG_PREFIX,
    SINGLE_LINE_PATTERN,
    SOURCE_URI_MAX,
    STRING256_MAX,
    TAG_KEY_MAX,
    TAG_PATTERN,
    TAG_VALUE_MAX,
    TAGS_MAX,
)

Name = Annotated[str, StringConstraints(min_length=1, max_length=NAME_MAX, pattern=NAME_PATTERN)]
PropertyKey = Annotated[
    str, StringConstraints(max_length=PROPERTY_KEY_MAX, pattern=SINGLE_LINE_PATTERN)
]
PropertyValue = Annotated[
    str, StringConstraints(max_length=PROPERTY_VALUE_MAX, pattern=SINGLE_LINE_PATTERN)
]
MetadataValue = Annotated[
    str, StringConstraints(max_length=METADATA_VALUE_MAX, pattern=SINGLE_LINE_PATTERN)
]
TagKey = Annotated[
    str, StringConstraints(min_length=1, max_length=TAG_KEY_MAX, pattern=TAG_PATTERN)
]
TagValue = Annotated[str, StringConstraints(max_length=TAG_VALUE_MAX, pattern=TAG_PATTERN)]
String256 = Annotated[str, StringConstraints(max_length=STRING256_MAX)]
SourceUri = Annotated[
    str,
    StringConstraints(min_length=1, max_length=SOURCE_URI_MAX, pattern=SINGLE_LINE_PATTERN),
]
DescriptionText = Annotated[
    str, StringConstraints(max_length=DESCRIPTION_MAX, pattern=SINGLE_LINE_PATTERN)
]
ParameterValue = Annotated[
    str, StringConstraints(max_length=PARAMETER_MAX, pattern=SINGLE_LINE_PATTERN)
]
LineageProperties = Annotated[
    dict[ParameterValue, ParameterValue], Field(max_length=LINEAGE_PROPERTIES_MAX)
]
ContextNameText = Annotated[
    str, StringConstraints(min_length=1, max_length=NAME_MAX, pattern=CONTEXT_NAME_PATTERN)
]
#: An Association end as written: a metadata.name (whose rules it follows) or an entity ARN.
Reference = Annotated[
    str,
    StringConstraints(min_length=1, max_length=ENTITY_ARN_MAX, pattern=REFERENCE_PATTERN),
]
EdgeType = Literal["ContributedTo", "AssociatedWith", "DerivedFrom", "Produced", "SameAs"]
ActionStatusValue = Literal["Unknown", "InProgress", "Completed", "Failed", "Stopping", "Stopped"]


class _Strict(BaseModel):
    # Built when first used: a run that validates only a few files builds only what they need.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


# --- what the kinds share ------------------------------------------------------------------------


#: What the schema says of the keys `Tag._not_reserved` refuses, so that editors refuse them too.
RESERVED_TAG_KEYS_SCHEMA: dict[str, Any] = {
    "not": {
        "anyOf": [
            {"pattern": "^[aA][wW][sS]:"},
            {"enum": [OWNERSHIP_TAG_KEY, LINEAGE_TAG_KEY]},
        ]
    }
}


class Tag(_Strict):
    Key: Annotated[TagKey, Field(json_schema_extra=RESERVED_TAG_KEYS_SCHEMA)]
    Value: TagValue

    @field_validator("Key")
    @classmethod
    def _not_reserved(cls, key: str) -> str:
        if key.lower().startswith(RESERVED_TAG_PREFIX):
            raise ValueError(f"tag keys starting with '{RESERVED_TAG_PREFIX}' are reserved by AWS")
        if key in (OWNERSHIP_TAG_KEY, LINEAGE_TAG_KEY):
            raise ValueError(f"the tag '{key}' is set by reconciler to mark ownership; remove it")
        return key


TagList = Annotated[list[Tag], Field(max_length=TAGS_MAX)]


class ArtifactMetadataProperties(_Strict):
    CommitId: MetadataValue | None = None
    Repository: MetadataValue | None = None
    GeneratedBy: MetadataValue | None = None
    ProjectId: MetadataValue | None = None


class LineageSource(_Strict):
    """ContextSource and ActionSource (the same shape)."""

    SourceUri: SourceUri
    SourceType: String256 | None = None
    SourceId: String256 | None = None


class Metadata(_Strict):
    name: Name = Field(
        description="The manifest's identity, unique across all kinds: its key in the lockfile."
    )


# --- each kind's spec: its Create* request, with the same field names ----------------------------


class ArtifactSourceType(_Strict):
    SourceIdType: Literal["MD5Hash", "S3ETag", "S3Version", "Custom"]
    Value: String256


class ArtifactSource(_Strict):
    SourceUri: SourceUri
    SourceTypes: list[ArtifactSourceType] | None = None


class ArtifactSpec(_Strict):
    """The CreateArtifact request, with the same field names."""

    ArtifactName: Name | None = None
    Source: ArtifactSource
    ArtifactType: String256
    Properties: (
        Annotated[dict[PropertyKey, PropertyValue], Field(max_length=PROPERTIES_MAX)] | None
    ) = None
    MetadataProperties: ArtifactMetadataProperties | None = None
    Tags: TagList | None = None


class ContextSpec(_Strict):
    """The CreateContext request, with the same field names."""

    ContextName: ContextNameText | None = None
    Source: LineageSource
    ContextType: String256
    Description: DescriptionText | None = None
    Properties: LineageProperties | None = None
    Tags: TagList | None = None


class ActionSpec(_Strict):
    """The CreateAction request, with the same field names."""

    ActionName: Name | None = None
    Source: LineageSource
    ActionType: String256
    Description: DescriptionText | None = None
    Status: ActionStatusValue | None = None
    Properties: LineageProperties | None = None
    MetadataProperties: ArtifactMetadataProperties | None = None
    Tags: TagList | None = None


class AssociationSpec(_Strict):
    """One edge: AddAssociation, with declared names allowed in place of ARNs."""

    Source: Reference
    Destination: Reference
    AssociationType: EdgeType | None = None


# --- the manifests: the envelope around each kind's spec -----------------------------------------


def _config(kind: str) -> ConfigDict:
    return ConfigDict(
        title=f"reconciler {kind} manifest",
        json_schema_extra={"additionalProperties": False},
    )


class Manifest(_Strict):
    """One declared artifact."""

    model_config = _config("Artifact")

    apiVersion: Literal["reconciler/v1"]
    kind: Literal["Artifact"]
    metadata: Metadata
    spec: ArtifactSpec


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


#: Each manifest kind's model, by `kind` (what kinds/manifests.py resolves its tables' `model` to).
MANIFEST_MODELS: dict[str, type[BaseModel]] = {
    "Artifact": Manifest,
    "Context": ContextManifest,
    "Action": ActionManifest,
    "Association": AssociationManifest,
}
#: Each entity kind's spec model (the Create* request), by `kind`.
SPEC_MODELS: dict[str, type[BaseModel]] = {
    "Artifact": ArtifactSpec,
    "Context": ContextSpec,
    "Action": ActionSpec,
}


def canonical_spec(manifest: Manifest) -> dict[str, Any]:
    """An artifact manifest's spec as the service will hold it, in the one form plans compare."""
    return canonical_artifact(manifest.metadata.name, manifest.spec.model_dump(exclude_none=True))
