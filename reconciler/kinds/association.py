"""Associations: the graph's edges. Not an EntityKind: an edge has no ARN, no tags and no update;
the service keys it on its two ends, so any change to one replaces it.

An end is a declared entity's metadata.name, or the ARN of a lineage entity reconciler does not
manage (a trial component SageMaker made, another team's context).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import StringConstraints

from reconciler.models import _Strict

KIND = "Association"
SECTION = "associations"
QUOTA = 6000

EdgeType = Literal["ContributedTo", "AssociatedWith", "DerivedFrom", "Produced", "SameAs"]
#: botocore's AssociationEntityArn: what AddAssociation accepts as an end.
ENTITY_ARN_PATTERN = (
    r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:"
    r"(experiment|experiment-trial-component|artifact|action|context)/.*$"
)
ENTITY_ARN = re.compile(ENTITY_ARN_PATTERN)
ENTITY_ARN_MAX = 256

#: A reference: a metadata.name (checked against what is declared) or an entity ARN.
Reference = Annotated[str, StringConstraints(min_length=1, max_length=ENTITY_ARN_MAX)]


class AssociationSpec(_Strict):
    """One edge: AddAssociation, with declared names allowed in place of ARNs."""

    Source: Reference
    Destination: Reference
    AssociationType: EdgeType | None = None


def is_arn(reference: str) -> bool:
    """Whether a reference is meant as an ARN (names never start with 'arn:')."""
    return reference.startswith("arn:")


def canonical_association(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    del name  # an edge has no name on the service
    out = {"Source": spec["Source"], "Destination": spec["Destination"]}
    if spec.get("AssociationType") is not None:
        out["AssociationType"] = spec["AssociationType"]
    return out
