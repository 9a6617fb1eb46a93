"""Associations: the graph's edges. Not an EntityKind: an edge has no ARN, no tags and no update;
the service keys it on its two ends, so any change to one replaces it.

An end is a declared entity's metadata.name, or the ARN of a lineage entity reconciler does not
manage (a trial component SageMaker made, another team's context). The spec is
models.AssociationSpec.
"""

from __future__ import annotations

import re
from typing import Any

from reconciler.limits import NAME_PATTERN

KIND = "Association"
SECTION = "associations"
QUOTA = 6000

#: The resource types of AddAssociation's AssociationEntityArn (not `experiment-trial`).
ENTITY_RESOURCES = ("experiment", "experiment-trial-component", "artifact", "action", "context")
#: The experiment entities: the service joins none of them to another (sagemaker-lineage-api.md).
EXPERIMENT_RESOURCES = frozenset({"experiment", "experiment-trial-component"})
#: botocore's AssociationEntityArn, anchored, with its Java `.` (any character but a line
#: terminator) spelt out: what AddAssociation accepts as an end.
ENTITY_ARN_BODY = (
    r"arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:"
    f"({'|'.join(ENTITY_RESOURCES)})"
    r"/[^\n\r\u0085\u2028\u2029]*"
)
ENTITY_ARN_PATTERN = f"^{ENTITY_ARN_BODY}$"
ENTITY_ARN = re.compile(ENTITY_ARN_BODY)
ENTITY_ARN_MAX = 256
#: An end as written: a metadata.name (whose rules it follows) or an entity ARN.
REFERENCE_PATTERN = f"^({NAME_PATTERN[1:-1]}|{ENTITY_ARN_BODY})$"


def is_arn(reference: str) -> bool:
    """Whether a reference is meant as an ARN (names never start with 'arn:')."""
    return reference.startswith("arn:")


def is_entity_arn(reference: str) -> bool:
    """Whether AddAssociation accepts `reference` as an end (botocore's pattern and length)."""
    return len(reference) <= ENTITY_ARN_MAX and ENTITY_ARN.fullmatch(reference) is not None


def resource_of(arn: str) -> str:
    """The resource type an ARN names: `artifact` in `arn:aws:sagemaker:r:a:artifact/x`."""
    parts = arn.split(":", 5)
    return parts[5].split("/", 1)[0] if len(parts) == 6 else ""


def canonical_association(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """The edge as plans compare it: its two ends as written, and its type when given (the
    service's default for an absent type is not documented, so absent stays absent)."""
    del name  # an edge has no name on the service
    out = {"Source": spec["Source"], "Destination": spec["Destination"]}
    if spec.get("AssociationType") is not None:
        out["AssociationType"] = spec["AssociationType"]
    return out
