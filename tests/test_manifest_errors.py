"""Broken manifests and settings: every one answered at its place, in one line, never a crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.errors import ManifestError
from reconciler.manifest import load_manifests
from tests.helpers import manifest_doc, write_manifests
from tests.sandboxed import reconciler as run

HEADER = (
    "apiVersion: reconciler/v1\n"
    "kind: Artifact\n"
    "metadata: {name: x}\n"
    "spec:\n"
    "  ArtifactType: DataSet\n"
    "  Source: {SourceUri: 's3://a/b'}\n"
)


def messages(directory: Path) -> list[str]:
    with pytest.raises(ManifestError) as info:
        load_manifests(directory)
    return [str(d) for d in info.value.diagnostics]


@pytest.mark.parametrize("depth", [600, 900])
def test_an_invalid_value_nested_hundreds_deep_is_placed(tmp_path: Path, depth: int) -> None:
    nested = "[" * depth + "]" * depth
    (tmp_path / "deep.yaml").write_text(HEADER + f"  Properties: {{k: {nested}}}\n")
    (message,) = messages(tmp_path)
    assert message.startswith(f"{tmp_path.as_posix()}/deep.yaml:7:19: spec.Properties.k must be")


def test_a_setting_nested_hundreds_deep_is_placed(repo: Path) -> None:
    (repo / "reconciler.yaml").write_text("manifests: " + "[" * 900 + "]" * 900 + "\n")
    result = run("validate")
    assert result.code == 1
    assert result.err.startswith("reconciler.yaml:1:12: manifests must be a string, not a list")
    assert "internal error" not in result.err


@pytest.mark.parametrize("char", ["\x07", "\x00", "\x1b"], ids=["BEL", "NUL", "ESC"])
def test_a_control_character_is_named_at_its_line_and_column(tmp_path: Path, char: str) -> None:
    text = HEADER.replace("DataSet", f"Data{char}Set")
    (tmp_path / "a.yaml").write_text(text)
    (message,) = messages(tmp_path)
    where, _, said = message.partition(": ")
    assert where == f"{tmp_path.as_posix()}/a.yaml:5:21"
    assert f"U+{ord(char):04X}" in said
    assert char not in message and "\n" not in message


@pytest.mark.parametrize("separator", ["\x85", "\u2028", "\u2029"], ids=["NEL", "LS", "PS"])
def test_unusual_line_separators_do_not_shift_line_numbers(tmp_path: Path, separator: str) -> None:
    text = HEADER.replace("DataSet", f'"Data{separator}Set"') + "  Properties: {n: 1}\n"
    (tmp_path / "a.yaml").write_text(text)
    (message,) = messages(tmp_path)
    assert message.startswith(f"{tmp_path.as_posix()}/a.yaml:7:19: spec.Properties.n must be")


@pytest.mark.parametrize("separator", ["\x85", "\u2028"], ids=["NEL", "LS"])
def test_a_syntax_error_after_a_line_separator_is_on_its_real_line_and_names_it(
    tmp_path: Path, separator: str
) -> None:
    text = HEADER.replace("metadata: {name: x}", f"metadata: {{name: x}}  # a{separator}b")
    (tmp_path / "a.yaml").write_text(text)
    (message,) = messages(tmp_path)
    assert message.startswith(f"{tmp_path.as_posix()}/a.yaml:4:1: ")
    assert f"line 3, column 25 holds U+{ord(separator):04X}" in message
    assert separator not in message


def test_a_key_beyond_the_simple_key_limit_gets_the_explicit_form_hint(tmp_path: Path) -> None:
    key = "k" * 1100
    (tmp_path / "a.yaml").write_text(HEADER + f"  Properties:\n    {key}: v\n")
    (message,) = messages(tmp_path)
    assert message.startswith(f"{tmp_path.as_posix()}/a.yaml:8:")
    assert "longer than 1,024 characters" in message and "'? '" in message


def test_a_list_value_gets_a_hint_that_fits_lists(tmp_path: Path) -> None:
    write_manifests(tmp_path, manifest_doc("a", Properties={"stages": ["raw", "clean"]}))
    (message,) = messages(tmp_path)
    assert message.endswith(
        "spec.Properties.stages must be a string, not a list; "
        'write the items as one string: stages: "raw, clean"'
    )


def test_a_mapping_value_gets_a_hint_that_fits_mappings(tmp_path: Path) -> None:
    write_manifests(tmp_path, manifest_doc("a", Properties={"shape": {"rows": "1"}}))
    (message,) = messages(tmp_path)
    assert message.endswith(
        "spec.Properties.shape must be a string, not a mapping; "
        "write it as one string, or as several properties"
    )


def test_a_syntax_error_leaves_the_documents_before_it_and_other_files_checked(
    tmp_path: Path,
) -> None:
    first = manifest_doc("first", Properties={"n": 1})
    path = write_manifests(tmp_path, first, filename="broken.yaml")
    path.write_text(path.read_text() + "---\nkind: [\n")
    write_manifests(tmp_path, manifest_doc("other", Tgas=[]), filename="other.yaml")
    shown = tmp_path.as_posix()
    found = messages(tmp_path)
    assert [m.split(": ")[0] for m in found] == [
        f"{shown}/broken.yaml:11:8",
        f"{shown}/broken.yaml:14:1",
        f"{shown}/other.yaml:10:3",
    ]
    assert "spec.Properties.n must be a string" in found[0]


def test_duplicates_are_found_against_documents_before_a_syntax_error(tmp_path: Path) -> None:
    path = write_manifests(tmp_path, manifest_doc("same"), filename="a.yaml")
    path.write_text(path.read_text() + "---\nkind: [\n")
    write_manifests(tmp_path, manifest_doc("same"), filename="b.yaml")
    found = messages(tmp_path)
    assert any("duplicate metadata.name 'same'" in m for m in found)


def test_manifest_suffixes_are_read_in_any_case(tmp_path: Path) -> None:
    write_manifests(tmp_path, manifest_doc("upper"), filename="DATA.YAML")
    write_manifests(tmp_path, manifest_doc("mixed"), filename="more.Yml")
    (tmp_path / "notes.YAMLX").write_text("not a manifest: [")
    desired = load_manifests(tmp_path)
    assert sorted(desired.artifacts) == ["mixed", "upper"]
    assert desired.files == 2


def test_symbolic_links_out_of_the_repository_are_refused_by_name(repo: Path) -> None:
    outside = repo.parent / f"{repo.name}-outside"
    write_manifests(outside / "shared", manifest_doc("elsewhere"))
    manifests = repo / "manifests"
    (manifests / "linked.yaml").symlink_to(outside / "shared" / "artifacts.yaml")
    (manifests / "linked-dir").symlink_to(outside / "shared")
    (manifests / "gone.yml").symlink_to(repo / "nothing-here.yaml")
    assert messages(manifests) == [
        f"manifests/gone.yml:1:1: a symbolic link to {repo / 'nothing-here.yaml'}, which does not "
        "exist; remove the link or restore its target",
        f"manifests/linked-dir:1:1: a symbolic link to {outside / 'shared'}, outside the "
        "repository; copy what it points to into the repository instead",
        f"manifests/linked.yaml:1:1: a symbolic link to {outside / 'shared' / 'artifacts.yaml'}, "
        "outside the repository; copy what it points to into the repository instead",
    ]


def test_symbolic_links_within_the_repository_are_followed(repo: Path) -> None:
    write_manifests(repo / "shared", manifest_doc("file-linked"), filename="one.yaml")
    write_manifests(repo / "more", manifest_doc("dir-linked"), filename="two.yaml")
    manifests = repo / "manifests"
    (manifests / "one.yaml").symlink_to(repo / "shared" / "one.yaml")
    (manifests / "more").symlink_to(repo / "more")
    (manifests / "more-again").symlink_to(manifests)  # a loop is read once
    desired = load_manifests(manifests)
    assert sorted(desired.artifacts) == ["dir-linked", "file-linked"]


def test_a_file_given_as_the_manifests_directory_is_named_a_file(repo: Path) -> None:
    path = write_manifests(repo / "manifests", manifest_doc("a"))
    result = run("validate", "--manifests", str(path.relative_to(repo)))
    assert result.code == 1
    assert result.err == (
        "error: the manifests path 'manifests/artifacts.yaml' is a file, not a directory; point "
        "--manifests (or 'manifests' in reconciler.yaml) at the directory that holds it\n"
    )


def test_one_source_uri_with_other_source_types_is_another_artifact(tmp_path: Path) -> None:
    uri = "s3://acme/shared.csv"
    write_manifests(
        tmp_path,
        manifest_doc(
            "etag",
            Source={"SourceUri": uri, "SourceTypes": [{"SourceIdType": "S3ETag", "Value": "abc"}]},
        ),
        manifest_doc(
            "md5",
            Source={"SourceUri": uri, "SourceTypes": [{"SourceIdType": "MD5Hash", "Value": "abc"}]},
        ),
        manifest_doc("bare", Source={"SourceUri": uri}),
    )
    assert sorted(load_manifests(tmp_path).artifacts) == ["bare", "etag", "md5"]


def test_one_whole_source_twice_is_refused_whatever_the_order_of_its_types(
    tmp_path: Path,
) -> None:
    types = [{"SourceIdType": "S3ETag", "Value": "e"}, {"SourceIdType": "S3Version", "Value": "v"}]
    write_manifests(
        tmp_path,
        manifest_doc("one", Source={"SourceUri": "s3://a/b", "SourceTypes": types}),
        manifest_doc("two", Source={"SourceUri": "s3://a/b", "SourceTypes": types[::-1]}),
    )
    (message,) = messages(tmp_path)
    assert "duplicate Source: SourceUri 's3://a/b' with the same SourceTypes" in message


def test_a_repeated_artifact_name_is_a_warning_that_does_not_fail_validate(repo: Path) -> None:
    write_manifests(
        repo / "manifests", manifest_doc("one"), manifest_doc("two", ArtifactName="one")
    )
    result = run("validate")
    assert result.code == 0
    assert result.err == (
        "manifests/artifacts.yaml:19:17: warning: ArtifactName 'one' is also the name of 'one' at "
        "manifests/artifacts.yaml:5:9; the service allows it, but the two are hard to tell "
        "apart there\n"
    )
    assert result.out == "2 artifacts in 1 file under manifests are valid.\n"
    assert load_manifests(repo / "manifests").warnings[0].location.line == 19


def test_warnings_are_github_warning_annotations_beside_the_errors(repo: Path) -> None:
    write_manifests(
        repo / "manifests",
        manifest_doc("one"),
        manifest_doc("two", ArtifactName="one"),
        manifest_doc("three", Properties={"n": 1}),
    )
    result = run("validate", "--format", "github")
    assert result.code == 1
    annotations = result.out.splitlines()
    assert [line.split(" ", 1)[0] for line in annotations] == ["::warning", "::error"]
    assert "line=19,col=17" in annotations[0] and "ArtifactName 'one' is also" in annotations[0]
    assert "manifests/artifacts.yaml:19:17: warning: ArtifactName" in result.err


def test_plan_shows_warnings_on_stderr_and_keeps_stdout_clean(repo: Path) -> None:
    write_manifests(
        repo / "manifests", manifest_doc("one"), manifest_doc("two", ArtifactName="one")
    )
    result = run("plan", "--format", "json")
    assert result.code == 0
    assert json.loads(result.out)["summary"]["create"] == 2
    assert ": warning: ArtifactName 'one'" in result.err


def test_a_list_hint_never_echoes_control_characters(tmp_path: Path) -> None:
    write_manifests(tmp_path, manifest_doc("a", Properties={"k": ["\x1b[31mred", "b"]}))
    (message,) = messages(tmp_path)
    assert message.endswith(
        "spec.Properties.k must be a string, not a list; write the items as one string"
    )
    assert "\x1b" not in message


def test_a_loop_of_symbolic_links_is_named(repo: Path) -> None:
    manifests = repo / "manifests"
    (manifests / "a.yaml").symlink_to(manifests / "b.yaml")
    (manifests / "b.yaml").symlink_to(manifests / "a.yaml")
    assert messages(manifests) == [
        "manifests/a.yaml:1:1: a loop of symbolic links; remove the link",
        "manifests/b.yaml:1:1: a loop of symbolic links; remove the link",
    ]


def test_a_deeply_nested_value_where_a_word_is_expected_is_not_echoed(tmp_path: Path) -> None:
    nested = "[" * 600 + "]" * 600
    (tmp_path / "a.yaml").write_text(HEADER.replace("kind: Artifact", f"kind: {nested}"))
    (message,) = messages(tmp_path)
    assert (
        message
        == f"{tmp_path.as_posix()}/a.yaml:2:7: kind must be 'Artifact', 'Context', 'Action' or 'Association', not a list"
    )


def test_documents_after_one_with_a_duplicate_key_or_a_tag_are_still_checked(
    tmp_path: Path,
) -> None:
    def good(name: str) -> str:
        return HEADER.replace("name: x", f"name: {name}").replace("s3://a/b", f"s3://a/{name}")

    text = (
        good("one").replace("kind: Artifact\n", "kind: Artifact\nkind: Artifact\n")
        + "---\n"
        + good("two").replace("DataSet", "!!python/object:os.system DataSet")
        + "---\n"
        + good("three")
        + "  Properties: {n: 1}\n"
        + "---\n"
        + good("four")
        + "  Tgas: []\n"
    )
    (tmp_path / "a.yaml").write_text(text)
    found = messages(tmp_path)
    shown = f"{tmp_path.as_posix()}/a.yaml"
    assert [m.split(": ", 1)[0] for m in found] == [
        f"{shown}:3:1",
        f"{shown}:13:17",
        f"{shown}:22:19",
        f"{shown}:30:3",
    ]
    assert "duplicate key 'kind'" in found[0]
    assert "the YAML tag '!!python/object:os.system' is not allowed" in found[1]
    assert "spec.Properties.n must be a string" in found[2]
    assert "unknown field 'Tgas'" in found[3]


def test_a_link_target_with_control_characters_is_shown_escaped(repo: Path) -> None:
    outside = repo.parent / f"{repo.name}-\x1b[31mred"
    write_manifests(outside, manifest_doc("elsewhere"))
    (repo / "manifests" / "linked.yaml").symlink_to(outside / "artifacts.yaml")
    (message,) = messages(repo / "manifests")
    assert "\x1b" not in message
    assert f"{repo.name}-\\x1b[31mred/artifacts.yaml, outside the repository" in message


HUGE = "1" + "0" * 5000  # more digits than Python converts to int (4,300)


@pytest.mark.parametrize("spelt", [HUGE, "-" + HUGE, "1" + "_000" * 2000, "1." + "0" * 5000])
def test_a_number_with_thousands_of_digits_is_a_number_to_quote(tmp_path: Path, spelt: str) -> None:
    (tmp_path / "a.yaml").write_text(HEADER.replace("{name: x}", f"{{name: {spelt}}}"))
    (tmp_path / "b.yaml").write_text(HEADER + f"  Properties:\n    big: {spelt}\n")
    assert messages(tmp_path) == [
        f"{tmp_path.as_posix()}/a.yaml:3:18: metadata.name must be a string, not a number; quote it",
        f"{tmp_path.as_posix()}/b.yaml:8:10: spec.Properties.big must be a string, not a number; "
        "quote it",
    ]


def test_two_huge_numbers_are_not_duplicate_keys(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        HEADER + f"  Properties:\n    ? {HUGE}1\n    : a\n    ? {HUGE}2\n    : b\n"
    )
    found = messages(tmp_path)
    assert len(found) == 2  # one for each key, neither a duplicate
    assert all(m.endswith("spec.Properties: keys must be strings; quote the key") for m in found)


def test_a_huge_sensitive_properties_number_is_a_positioned_error(repo: Path) -> None:
    (repo / "reconciler.yaml").write_text(f"sensitive_properties: {HUGE}\n")
    write_manifests(repo / "manifests", manifest_doc("a"))
    result = run("plan")
    assert result.code == 1
    assert result.err.splitlines()[0] == (
        "reconciler.yaml:1:23: sensitive_properties must be a string, not a number; quote it"
    )


@pytest.mark.parametrize(
    "keys", ["1: y, true: z", "true: z, 1: y", "1: y, 1.0: z", "null: x, 1: y"]
)
def test_keys_equal_only_in_python_are_not_duplicates(tmp_path: Path, keys: str) -> None:
    (tmp_path / "a.yaml").write_text(HEADER + f"  Properties: {{{keys}}}\n")
    found = messages(tmp_path)
    assert found
    assert all(m.endswith("spec.Properties: keys must be strings; quote the key") for m in found)


def test_the_same_key_twice_is_still_a_duplicate(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(HEADER + "  Properties: {k: a, true: b, true: c}\n")
    (message,) = messages(tmp_path)
    assert "duplicate key" in message


def test_a_refused_link_is_reported_with_the_problems_of_every_other_file(repo: Path) -> None:
    outside = repo.parent / f"{repo.name}-outside"
    write_manifests(outside, manifest_doc("elsewhere"))
    manifests = repo / "manifests"
    (manifests / "a.yaml").write_text(HEADER + "  Properties: {bad: 1}\n")
    (manifests / "dangle.yaml").symlink_to("nowhere")
    (manifests / "out.yaml").symlink_to(outside / "artifacts.yaml")
    result = run("validate")
    assert result.code == 1
    assert result.err.splitlines() == [
        'manifests/a.yaml:7:21: spec.Properties.bad must be a string, not a number; quote it: bad: "1"',
        f"manifests/dangle.yaml:1:1: a symbolic link to {manifests / 'nowhere'}, which does not "
        "exist; remove the link or restore its target",
        f"manifests/out.yaml:1:1: a symbolic link to {outside / 'artifacts.yaml'}, outside the "
        "repository; copy what it points to into the repository instead",
        "error: 3 problems found in the manifests",
    ]


@pytest.mark.parametrize(
    ("value", "tag"),
    [
        ("!!float x", "!!float"),
        ("!!bool maybe", "!!bool"),
        ("!!int nope", "!!int"),
        ("!!timestamp zzz", "!!timestamp"),
        ("!!float '::warning::x'", "!!float"),
    ],
)
def test_a_value_its_explicit_tag_cannot_read_is_a_positioned_error(
    tmp_path: Path, value: str, tag: str
) -> None:
    second = HEADER.replace("{name: x}", "{name: y}") + "  Properties: {q: 5}\n"
    (tmp_path / "a.yaml").write_text(HEADER + f"  Properties:\n    p: {value}\n---\n" + second)
    found = messages(tmp_path)
    assert found[0] == (
        f"{tmp_path.as_posix()}/a.yaml:8:8: this value cannot be read as {tag}; "
        "remove the tag, or quote the value to keep it as a string"
    )
    assert found[1:] == [  # the next document is still checked
        f"{tmp_path.as_posix()}/a.yaml:16:19: spec.Properties.q must be a string, not a number; "
        'quote it: q: "5"'
    ]
