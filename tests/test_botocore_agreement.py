"""Every limit the models enforce agrees with botocore's bundled service model: CreateArtifact,
CreateContext, CreateAction and AddAssociation.

The limits are read from the JSON Schema pydantic derives from the models (what validation really
enforces) and from botocore at test time, so drift on either side fails here.
"""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest
from pydantic import BaseModel

from reconciler.kinds.association import ENTITY_ARN_MAX, ENTITY_ARN_PATTERN, REFERENCE_PATTERN
from reconciler.kinds.manifests import MANIFEST_KINDS
from reconciler.limits import LINEAGE_TAG_KEY, OWNERSHIP_TAG_KEY
from reconciler.models import (
    ActionManifest,
    ArtifactMetadataProperties,
    AssociationManifest,
    ContextManifest,
    Manifest,
)
from reconciler.sandbox.validation import java_dots

SERVICE = botocore.session.get_session().get_service_model("sagemaker")
REQUEST = SERVICE.operation_model("CreateArtifact").input_shape
SCHEMA = Manifest.model_json_schema()


def _resolve(node: dict[str, Any], schema: dict[str, Any] = SCHEMA) -> dict[str, Any]:
    if "$ref" in node:
        return _resolve(schema["$defs"][node["$ref"].rsplit("/", 1)[-1]], schema)
    if "anyOf" in node:
        (non_null,) = [n for n in node["anyOf"] if n.get("type") != "null"]
        return _resolve(non_null, schema)
    return node


def ours(*path: str, schema: dict[str, Any] = SCHEMA) -> dict[str, Any]:
    """The schema node at a path of property names ('[]' steps into list items and map values)."""
    node = _resolve(schema, schema)
    for part in path:
        if part == "[]" and "patternProperties" in node:
            (node,) = [_resolve(value, schema) for value in node["patternProperties"].values()]
        elif part == "[]":
            node = _resolve(node.get("items") or node["additionalProperties"], schema)
        else:
            node = _resolve(node["properties"][part], schema)
    return node


def theirs(*path: str, request: Any = REQUEST) -> Any:
    shape: Any = request  # botocore's shapes are typed loosely: members exist by type_name
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
    assert_string_agrees(ours("spec", *path), theirs(*path))


def assert_string_agrees(node: dict[str, Any], shape: Any) -> None:
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


# --- contexts, actions and associations ---------------------------------------------------------

ENTITY_MODELS: dict[str, type[BaseModel]] = {
    "CreateContext": ContextManifest,
    "CreateAction": ActionManifest,
}
LINEAGE_STRING_FIELDS = [
    ("Source", "SourceUri"),
    ("Source", "SourceType"),
    ("Source", "SourceId"),
    ("Description",),
    ("Properties", "[]"),
    ("Tags", "[]", "Key"),
    ("Tags", "[]", "Value"),
]
ENTITY_STRING_FIELDS = [
    ("CreateContext", ("ContextName",)),
    ("CreateContext", ("ContextType",)),
    ("CreateAction", ("ActionName",)),
    ("CreateAction", ("ActionType",)),
    *[
        ("CreateAction", ("MetadataProperties", field))
        for field in ArtifactMetadataProperties.model_fields
    ],
    *[(operation, path) for operation in ENTITY_MODELS for path in LINEAGE_STRING_FIELDS],
]


def _entity(operation: str) -> tuple[dict[str, Any], Any]:
    schema = ENTITY_MODELS[operation].model_json_schema()
    return schema, SERVICE.operation_model(operation).input_shape


@pytest.mark.parametrize(
    ("operation", "path"),
    ENTITY_STRING_FIELDS,
    ids=lambda p: p if isinstance(p, str) else ".".join(p),
)
def test_context_and_action_strings_agree(operation: str, path: tuple[str, ...]) -> None:
    schema, request = _entity(operation)
    assert_string_agrees(ours("spec", *path, schema=schema), theirs(*path, request=request))


@pytest.mark.parametrize("operation", list(ENTITY_MODELS))
def test_context_and_action_collections_and_members_agree(operation: str) -> None:
    schema, request = _entity(operation)
    spec = ours("spec", schema=schema)
    assert list(spec["properties"]) == list(request.members)
    # The name is optional in a manifest: it defaults to metadata.name.
    name = "ContextName" if operation == "CreateContext" else "ActionName"
    assert sorted([*spec.get("required", []), name]) == sorted(request.required_members)
    assert spec["additionalProperties"] is False
    properties = ours("spec", "Properties", schema=schema)
    assert properties["maxProperties"] == theirs("Properties", request=request).metadata["max"]
    key = theirs("Properties", request=request).key
    assert properties["propertyNames"].get("maxLength") == key.metadata["max"]
    assert list(properties["patternProperties"]) == [anchored(key.metadata["pattern"])]
    assert ours("spec", "Tags", schema=schema)["maxItems"] == (
        theirs("Tags", request=request).metadata["max"] - 2
    )
    source = ours("spec", "Source", schema=schema)
    assert list(source["properties"]) == list(theirs("Source", request=request).members)
    assert source["required"] == theirs("Source", request=request).required_members


def test_action_status_agrees() -> None:
    schema, request = _entity("CreateAction")
    assert ours("spec", "Status", schema=schema)["enum"] == theirs("Status", request=request).enum


ASSOCIATION = AssociationManifest.model_json_schema()
ADD_ASSOCIATION: Any = SERVICE.operation_model("AddAssociation").input_shape


@pytest.mark.parametrize(
    ("ours_name", "theirs_name"), [("Source", "SourceArn"), ("Destination", "DestinationArn")]
)
def test_association_ends_agree(ours_name: str, theirs_name: str) -> None:
    node = ours("spec", ours_name, schema=ASSOCIATION)
    shape = theirs(theirs_name, request=ADD_ASSOCIATION)
    assert node["maxLength"] == shape.metadata["max"] == ENTITY_ARN_MAX
    # An end is a metadata.name or an ARN: the ARN alternative is botocore's pattern exactly.
    assert node["pattern"] == REFERENCE_PATTERN
    assert anchored(shape.metadata["pattern"]) == ENTITY_ARN_PATTERN
    assert f"|{ENTITY_ARN_PATTERN[1:-1]})$" in REFERENCE_PATTERN
    assert ours("metadata", "name", schema=ASSOCIATION)["pattern"][1:-1] in REFERENCE_PATTERN


def test_association_members_and_type_agree() -> None:
    spec = ours("spec", schema=ASSOCIATION)
    assert sorted(spec["required"]) == ["Destination", "Source"]
    assert sorted(ADD_ASSOCIATION.required_members) == ["DestinationArn", "SourceArn"]
    assert [m.removesuffix("Arn") for m in ADD_ASSOCIATION.members] == list(spec["properties"])
    edge_type = ours("spec", "AssociationType", schema=ASSOCIATION)["enum"]
    assert edge_type == theirs("AssociationType", request=ADD_ASSOCIATION).enum


def test_the_quotas_are_the_documented_ones() -> None:
    assert {kind: k.quota for kind, k in MANIFEST_KINDS.items()} == {
        "Artifact": 6000,
        "Context": 500,
        "Action": 3000,
        "Association": 6000,
    }
