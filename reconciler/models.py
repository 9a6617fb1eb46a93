"""Pydantic models of a manifest: `spec` mirrors the SageMaker CreateArtifact request.

The limits below are those of botocore's service model for CreateArtifact (a test reads the model at
run time and fails if either side drifts). botocore itself checks only required members, types and
minimums, so everything else would otherwise surface as a ValidationException from the service.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

#: The tag the tool puts on every artifact it creates; its value is the manifest's metadata.name.
OWNERSHIP_TAG_KEY = "reconciler:name"
#: The second ownership tag: the lineage id of the lockfile that owns the artifact.
LINEAGE_TAG_KEY = "reconciler:lineage"
RESERVED_TAG_PREFIX = "aws:"

NAME_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,119}$"
TAG_PATTERN = r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$"
#: The service model's `.*`, a Java regular expression: its `.` matches any character but the line
#: terminators CR, LF, NEL, U+2028 and U+2029 (Python's and pydantic's `.` stop only at LF).
SINGLE_LINE_PATTERN = r"^[^\n\r\u0085\u2028\u2029]*$"

NAME_MAX = 120
SOURCE_URI_MAX = 2048
STRING256_MAX = 256
PROPERTY_KEY_MAX = 2500
PROPERTY_VALUE_MAX = 4096
PROPERTIES_MAX = 30
METADATA_VALUE_MAX = 1024
TAG_KEY_MAX = 128
TAG_VALUE_MAX = 256
#: The service allows 50 tags per request; two are kept for the ownership tags.
TAGS_MAX = 50 - 2

#: Fields that can only be set at creation: changing one replaces the artifact.
REPLACE_FIELDS = ("Source", "ArtifactType", "MetadataProperties")

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


class _Strict(BaseModel):
    # Built when first used: a run whose files the manifest cache answers for validates nothing.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


class ArtifactSourceType(_Strict):
    SourceIdType: Literal["MD5Hash", "S3ETag", "S3Version", "Custom"]
    Value: Annotated[str, StringConstraints(max_length=STRING256_MAX)]


class ArtifactSource(_Strict):
    SourceUri: Annotated[
        str,
        StringConstraints(min_length=1, max_length=SOURCE_URI_MAX, pattern=SINGLE_LINE_PATTERN),
    ]
    SourceTypes: list[ArtifactSourceType] | None = None


class ArtifactMetadataProperties(_Strict):
    CommitId: MetadataValue | None = None
    Repository: MetadataValue | None = None
    GeneratedBy: MetadataValue | None = None
    ProjectId: MetadataValue | None = None


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


class ArtifactSpec(_Strict):
    """The CreateArtifact request, with the same field names."""

    ArtifactName: Name | None = None
    Source: ArtifactSource
    ArtifactType: Annotated[str, StringConstraints(max_length=STRING256_MAX)]
    Properties: (
        Annotated[dict[PropertyKey, PropertyValue], Field(max_length=PROPERTIES_MAX)] | None
    ) = None
    MetadataProperties: ArtifactMetadataProperties | None = None
    Tags: Annotated[list[Tag], Field(max_length=TAGS_MAX)] | None = None


class Metadata(_Strict):
    name: Name = Field(
        description="The manifest's identity, unique across all kinds: its key in the lockfile."
    )


class Manifest(_Strict):
    """One declared artifact."""

    model_config = ConfigDict(
        title="reconciler Artifact manifest",
        json_schema_extra={"additionalProperties": False},
    )

    apiVersion: Literal["reconciler/v1"]
    kind: Literal["Artifact"]
    metadata: Metadata
    spec: ArtifactSpec


def canonical_spec(manifest: Manifest) -> dict[str, Any]:
    """The spec as the service will hold it, in one canonical form (see `canonical`)."""
    return canonical(manifest.metadata.name, manifest.spec.model_dump(exclude_none=True))


def canonical(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A validated spec (as parsed, None for absent) in the one form plans compare.

    ArtifactName defaults to metadata.name; empty maps and lists are dropped (the service does not
    tell them from absent ones); tags and source types are sorted, since their order means nothing.
    """
    out: dict[str, Any] = {
        "ArtifactName": spec.get("ArtifactName") or name,
        "ArtifactType": spec["ArtifactType"],
        "Source": canonical_source(spec["Source"]),
    }
    properties = spec.get("Properties")
    if properties:
        out["Properties"] = dict(sorted(properties.items()))
    metadata = {k: v for k, v in (spec.get("MetadataProperties") or {}).items() if v is not None}
    if metadata:
        out["MetadataProperties"] = metadata
    tags = spec.get("Tags")
    if tags:
        out["Tags"] = sorted(({"Key": t["Key"], "Value": t["Value"]} for t in tags), key=_by_key)
    return out


def canonical_source(source: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"SourceUri": source["SourceUri"]}
    types = source.get("SourceTypes")
    if types:
        out["SourceTypes"] = sorted(
            ({"SourceIdType": t["SourceIdType"], "Value": t["Value"]} for t in types),
            key=lambda t: (t["SourceIdType"], t["Value"]),
        )
    return out


def _by_key(tag: dict[str, str]) -> str:
    return tag["Key"]


@dataclass(frozen=True)
class Target:
    """The account and region the lockfile's artifacts live in; unset until the first apply."""

    account: str | None = None
    region: str | None = None

    @property
    def is_set(self) -> bool:
        return self.account is not None and self.region is not None

    def __str__(self) -> str:
        return f"account {self.account or '?'} in {self.region or '?'}"
