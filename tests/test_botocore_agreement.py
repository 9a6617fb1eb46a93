"""Every limit the models enforce agrees with botocore's bundled service model for CreateArtifact.

The limits are read from the JSON Schema pydantic derives from the models (what validation really
enforces) and from botocore at test time, so drift on either side fails here.
"""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest

from reconciler.models import LINEAGE_TAG_KEY, OWNERSHIP_TAG_KEY, Manifest
from reconciler.sandbox.validation import java_dots

SERVICE = botocore.session.get_session().get_service_model("sagemaker")
REQUEST = SERVICE.operation_model("CreateArtifact").input_shape
SCHEMA = Manifest.model_json_schema()


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in node:
        return _resolve(SCHEMA["$defs"][node["$ref"].rsplit("/", 1)[-1]])
    if "anyOf" in node:
        (non_null,) = [n for n in node["anyOf"] if n.get("type") != "null"]
        return _resolve(non_null)
    return node


def ours(*path: str) -> dict[str, Any]:
    """The schema node at a path of property names ('[]' steps into list items and map values)."""
    node = _resolve(SCHEMA)
    for part in path:
        if part == "[]" and "patternProperties" in node:
            (node,) = [_resolve(value) for value in node["patternProperties"].values()]
        elif part == "[]":
            node = _resolve(node.get("items") or node["additionalProperties"])
        else:
            node = _resolve(node["properties"][part])
    return node


def theirs(*path: str) -> Any:
    shape: Any = REQUEST  # botocore's shapes are typed loosely: members exist by type_name
    for part in path:
        if part == "[]":
            shape = shape.member if shape.type_name == "list" else shape.value
        else:
            shape = shape.members[part]
    return shape


def anchored(pattern: str) -> str:
    """The model's Java pattern as ours spell it: anchored, `.` as Java means it."""
    return f"^{java_dots(pattern)}$"


STRING_FIELDS = [
    ("ArtifactName",),
    ("ArtifactType",),
    ("Source", "SourceUri"),
    ("Source", "SourceTypes", "[]", "Value"),
    ("Properties", "[]"),
    ("MetadataProperties", "CommitId"),
    ("MetadataProperties", "Repository"),
    ("MetadataProperties", "GeneratedBy"),
    ("MetadataProperties", "ProjectId"),
    ("Tags", "[]", "Key"),
    ("Tags", "[]", "Value"),
]


@pytest.mark.parametrize("path", STRING_FIELDS, ids=".".join)
def test_string_lengths_and_patterns_agree(path: tuple[str, ...]) -> None:
    shape = theirs(*path)
    node = ours("spec", *path)
    assert node["type"] == "string"
    assert node.get("minLength", 0) == shape.metadata.get("min", 0)
    assert node.get("maxLength") == shape.metadata.get("max")
    if "pattern" in shape.metadata:
        assert node["pattern"] == anchored(shape.metadata["pattern"])
    else:
        assert "pattern" not in node


def test_property_keys_agree() -> None:
    key = theirs("Properties").key
    node = ours("spec", "Properties")
    assert node["propertyNames"].get("maxLength") == key.metadata["max"]
    # pydantic spells a key pattern as the single pattern of patternProperties.
    assert list(node["patternProperties"]) == [anchored(key.metadata["pattern"])]


def test_metadata_name_follows_the_artifact_name_rules() -> None:
    shape = theirs("ArtifactName")
    node = ours("metadata", "name")
    assert (node["minLength"], node["maxLength"]) == (shape.metadata["min"], shape.metadata["max"])
    assert node["pattern"] == anchored(shape.metadata["pattern"])


def test_source_id_types_agree() -> None:
    assert (
        ours("spec", "Source", "SourceTypes", "[]", "SourceIdType")["enum"]
        == theirs("Source", "SourceTypes", "[]", "SourceIdType").enum
    )


def test_collection_sizes_agree() -> None:
    assert ours("spec", "Properties")["maxProperties"] == theirs("Properties").metadata["max"]
    # Two of the service's tags are the ownership tags, so declared tags get two fewer.
    assert ours("spec", "Tags")["maxItems"] == theirs("Tags").metadata["max"] - 2
    assert OWNERSHIP_TAG_KEY and LINEAGE_TAG_KEY


@pytest.mark.parametrize(
    "path",
    [(), ("Source",), ("Source", "SourceTypes", "[]"), ("MetadataProperties",), ("Tags", "[]")],
    ids=lambda p: ".".join(p) or "request",
)
def test_members_and_required_members_agree(path: tuple[str, ...]) -> None:
    shape = theirs(*path)
    node = ours("spec", *path)
    assert list(node["properties"]) == list(shape.members)
    assert sorted(node.get("required", [])) == sorted(shape.required_members)
    assert node["additionalProperties"] is False
