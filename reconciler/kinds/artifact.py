"""Artifacts: datasets, images, models. Their spec is models.ArtifactSpec (CreateArtifact)."""

from __future__ import annotations

from typing import Any

from reconciler.kinds.base import EntityKind, Operations

#: Fields that can only be set at creation: changing one replaces the artifact.
REPLACE_FIELDS = ("Source", "ArtifactType", "MetadataProperties")


def canonical_artifact(name: str, spec: dict[str, Any]) -> dict[str, Any]:
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


ARTIFACT = EntityKind(
    kind="Artifact",
    section="artifacts",
    name_field="ArtifactName",
    arn_field="ArtifactArn",
    arn_resource="artifact",
    operations=Operations(
        create="create_artifact",
        describe="describe_artifact",
        update="update_artifact",
        delete="delete_artifact",
        list="list_artifacts",
        summaries="ArtifactSummaries",
    ),
    addressed_by="arn",
    replace_fields=REPLACE_FIELDS,
    update_fields=("ArtifactName", "Properties"),
    quota=6000,
    canonical=canonical_artifact,
)
