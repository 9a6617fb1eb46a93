"""Artifacts: datasets, images, models. Their spec is models.ArtifactSpec (CreateArtifact)."""

from __future__ import annotations

from reconciler.kinds.base import EntityKind, Operations
from reconciler.models import REPLACE_FIELDS, ArtifactSpec, canonical

ARTIFACT = EntityKind(
    kind="Artifact",
    section="artifacts",
    spec_model=ArtifactSpec,
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
    canonical=canonical,
)
