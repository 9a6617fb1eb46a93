from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
from pydantic import BaseModel
from ruamel.yaml import YAML

from reconciler.errors import ManifestError, ReconcilerError
from reconciler.kinds import ALL_KINDS, ENTITY_KINDS
from reconciler.manifest import load_manifests
from reconciler.models import ArtifactMetadataProperties, AssociationSpec
from tests.helpers import manifest_doc, write_manifests

EXAMPLES = Path(__file__).parent.parent / "manifests"


def messages(directory: Path) -> list[str]:
    with pytest.raises(ManifestError) as info:
        load_manifests(directory)
    return [str(d) for d in info.value.diagnostics]


def spec_model(kind: str) -> type[BaseModel]:
    return AssociationSpec if kind == "Association" else ENTITY_KINDS[kind].spec_model


def test_the_bundled_example_is_valid_and_uses_every_spec_field() -> None:
    desired = load_manifests(EXAMPLES)
    assert len(desired.artifacts) >= 8
    assert desired.files >= 3
    documents = [
        doc
        for path in EXAMPLES.rglob("*.yaml")
        for doc in YAML(typ="safe").load_all(path.read_text())
    ]
    for kind in ALL_KINDS:
        used = {field for doc in documents if doc["kind"] == kind for field in doc["spec"]}
        assert used == set(spec_model(kind).model_fields), kind
    documents = [doc for doc in documents if doc["kind"] == "Artifact"]
    assert all(doc["spec"]["Source"].get("SourceTypes") for doc in documents)
    metadata_fields = {f for doc in documents for f in doc["spec"].get("MetadataProperties", {})}
    assert metadata_fields == set(ArtifactMetadataProperties.model_fields)
    assert any(d.spells_name for d in desired.artifacts.values())
    assert any(not d.spells_name for d in desired.artifacts.values())


def test_reads_recursively_several_documents_per_file_yaml_and_yml(tmp_path: Path) -> None:
    write_manifests(tmp_path / "a", manifest_doc("one"), manifest_doc("two"))
    write_manifests(tmp_path / "a" / "b", manifest_doc("three"), filename="more.yml")
    (tmp_path / "README.md").write_text("not a manifest: [")
    desired = load_manifests(tmp_path)
    assert sorted(desired.artifacts) == ["one", "three", "two"]
    assert desired.files == 2
    assert desired.artifacts["three"].path.endswith("a/b/more.yml")


def test_artifact_name_defaults_to_metadata_name(tmp_path: Path) -> None:
    write_manifests(tmp_path, manifest_doc("plain"), manifest_doc("named", ArtifactName="other"))
    specs = load_manifests(tmp_path).specs()
    assert specs["plain"]["ArtifactName"] == "plain"
    assert specs["named"]["ArtifactName"] == "other"


def test_digest_follows_content_and_names_only(tmp_path: Path) -> None:
    path = write_manifests(tmp_path, manifest_doc("one"))
    first = load_manifests(tmp_path).digest
    assert load_manifests(tmp_path).digest == first
    path.write_text(path.read_text() + "# a comment\n")
    second = load_manifests(tmp_path).digest
    assert second != first
    path.rename(tmp_path / "renamed.yaml")
    assert load_manifests(tmp_path).digest not in (first, second)


def test_duplicates_across_files_name_both_places(tmp_path: Path) -> None:
    write_manifests(tmp_path, manifest_doc("same"), filename="a.yaml")
    write_manifests(tmp_path, manifest_doc("same"), filename="b.yaml")
    shown = tmp_path.as_posix()
    assert messages(tmp_path) == [
        f"{shown}/b.yaml:5:9: duplicate metadata.name 'same'; first declared at {shown}/a.yaml:5:9"
    ]


def test_same_source_under_another_name_is_refused(tmp_path: Path) -> None:
    uri = {"SourceUri": "s3://acme/shared.csv"}
    write_manifests(tmp_path, manifest_doc("one", Source=uri), manifest_doc("two", Source=uri))
    (message,) = messages(tmp_path)
    assert "duplicate Source: SourceUri 's3://acme/shared.csv' with the same SourceTypes" in message
    assert "artifacts.yaml:9:16;" in message  # the first one, in the first document


def test_errors_of_every_file_are_reported_together(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("kind: [\n")
    write_manifests(tmp_path, manifest_doc("x", Properties={"n": 1}), filename="b.yaml")
    found = messages(tmp_path)
    assert [m.split(":")[0].rsplit("/", 1)[-1] for m in found] == ["a.yaml", "b.yaml"]


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ReconcilerError, match="does not exist; create it or point --manifests"):
        load_manifests(tmp_path / "nope")


def test_an_empty_directory_declares_nothing(tmp_path: Path) -> None:
    desired = load_manifests(tmp_path)
    assert desired.artifacts == {}


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = write_manifests(tmp_path, manifest_doc("bom"))
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert list(load_manifests(tmp_path).artifacts) == ["bom"]


def test_modest_anchors_and_merge_keys_are_fine(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        """\
apiVersion: reconciler/v1
kind: Artifact
metadata: {name: one}
spec:
  ArtifactType: DataSet
  Source: {SourceUri: "s3://a/1"}
  MetadataProperties:
    Repository: &repo https://github.com/acme/ml
  Properties:
    <<: {team: churn, stage: raw}
    stage: processed
    repository: *repo
"""
    )
    specs = load_manifests(tmp_path).specs()
    assert specs["one"]["Properties"] == {
        "repository": "https://github.com/acme/ml",
        "stage": "processed",
        "team": "churn",
    }


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("a: &loop\n  - *loop\n")
    (message,) = messages(tmp_path)
    assert "refer to themselves" in message


def test_alias_bomb_fails_within_bounded_memory(tmp_path: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefghi", "bcdefghij", strict=True):
        lines.append(f"{name}: &{name} [{','.join(['*' + prev] * 10)}]")
    (tmp_path / "bomb.yaml").write_text("\n".join(lines) + "\n")  # 10^10 values expanded
    tracemalloc.start()
    try:
        (message,) = messages(tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "aliases expand this document beyond 10,000 values" in message
    assert peak < 50 * 1024 * 1024


def test_object_constructing_tags_are_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    (tmp_path / "evil.yaml").write_text(
        f'spec: !!python/object/apply:os.system ["touch {marker}"]\n'
    )
    (message,) = messages(tmp_path)
    assert "is not allowed: manifests hold plain data only" in message
    assert not marker.exists()


@pytest.mark.parametrize(
    "text",
    ["a: " + "[" * 50_000 + "]" * 50_000 + "\n", "- " * 50_000 + "x\n"],
    ids=["flow", "block"],
)
def test_deep_nesting_is_an_error_not_a_crash(tmp_path: Path, text: str) -> None:
    # ruamel.yaml's C parser overflows the C stack (a segmentation fault) at this depth.
    (tmp_path / "deep.yaml").write_text(text)
    (message,) = messages(tmp_path)
    assert message.startswith(f"{tmp_path.as_posix()}/deep.yaml:1:1: ")
    assert "nested too deeply" in message


def test_paths_below_the_working_directory_are_shown_relative(repo: Path) -> None:
    write_manifests(repo / "manifests", manifest_doc("x", Properties={"n": 1}))
    (message,) = messages(repo / "manifests")
    assert message.startswith("manifests/artifacts.yaml:")
