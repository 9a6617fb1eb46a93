"""Building blocks the Context and Action specs share (botocore's shapes of the same names)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints

from reconciler.models import SINGLE_LINE_PATTERN, SOURCE_URI_MAX, STRING256_MAX, _Strict

DESCRIPTION_MAX = 3072
#: LineageEntityParameters: keys and values are StringParameterValue (2,500 characters).
PARAMETER_MAX = 2500

String256 = Annotated[str, StringConstraints(max_length=STRING256_MAX)]
DescriptionText = Annotated[
    str, StringConstraints(max_length=DESCRIPTION_MAX, pattern=SINGLE_LINE_PATTERN)
]
ParameterValue = Annotated[
    str, StringConstraints(max_length=PARAMETER_MAX, pattern=SINGLE_LINE_PATTERN)
]
LineageProperties = Annotated[dict[ParameterValue, ParameterValue], Field(max_length=30)]


class LineageSource(_Strict):
    """ContextSource and ActionSource (the same shape)."""

    SourceUri: Annotated[
        str,
        StringConstraints(min_length=1, max_length=SOURCE_URI_MAX, pattern=SINGLE_LINE_PATTERN),
    ]
    SourceType: String256 | None = None
    SourceId: String256 | None = None


def canonical_entity(
    name_field: str, type_field: str, name: str, spec: dict[str, Any]
) -> dict[str, Any]:
    """The canonical form of a context or an action: the name defaults to metadata.name; empty
    maps and lists are dropped; tags are sorted; keys in sorted order."""
    out: dict[str, Any] = {
        name_field: spec.get(name_field) or name,
        type_field: spec[type_field],
        "Source": {k: v for k, v in spec["Source"].items() if v is not None},
    }
    if spec.get("Description") is not None:
        out["Description"] = spec["Description"]
    if spec.get("Properties"):
        out["Properties"] = dict(sorted(spec["Properties"].items()))
    if spec.get("Tags"):
        out["Tags"] = sorted(
            ({"Key": t["Key"], "Value": t["Value"]} for t in spec["Tags"]), key=lambda t: t["Key"]
        )
    return dict(sorted(out.items()))
