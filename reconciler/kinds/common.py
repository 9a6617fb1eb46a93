"""What the Context and Action tables share: their canonical form."""

from __future__ import annotations

from typing import Any


def canonical_entity(
    name_field: str, type_field: str, name: str, spec: dict[str, Any]
) -> dict[str, Any]:
    """The canonical form of a context or an action: the name defaults to metadata.name; empty
    maps and lists, and an empty Description, are dropped; tags are sorted; keys in sorted
    order."""
    out: dict[str, Any] = {
        name_field: spec.get(name_field) or name,
        type_field: spec[type_field],
        "Source": {k: v for k, v in spec["Source"].items() if v is not None},
    }
    if spec.get("Description"):  # an empty description is none, as the service reads back
        out["Description"] = spec["Description"]
    if spec.get("Properties"):
        out["Properties"] = dict(sorted(spec["Properties"].items()))
    if spec.get("Tags"):
        out["Tags"] = sorted(
            ({"Key": t["Key"], "Value": t["Value"]} for t in spec["Tags"]), key=lambda t: t["Key"]
        )
    return dict(sorted(out.items()))
