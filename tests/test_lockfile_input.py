"""Lockfiles broken by hand, by git or by an attacker: each refused with a reason, never rewritten."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler import lockfile
from reconciler.errors import LockfileError
from reconciler.sandbox import Sandbox
from tests.helpers import arn_for, manifest_doc, recorded, write_manifests
from tests.sandboxed import apply, reconciler

SPEC = {"ArtifactName": "a", "ArtifactType": "DataSet", "Source": {"SourceUri": "s3://a"}}


def valid_document() -> dict[str, object]:
    document: dict[str, object] = json.loads(lockfile.dump(recorded({"a": SPEC})))
    return document


def conflicted() -> bytes:
    ours = lockfile.dump(recorded({"a": SPEC}, serial=4)).decode()
    theirs = lockfile.dump(recorded({"b": {**SPEC, "ArtifactName": "b"}}, serial=4)).decode()
    return ("<<<<<<< HEAD\n" + ours + "=======\n" + theirs + ">>>>>>> feature\n").encode()


def refusal(path: Path) -> str:
    with pytest.raises(LockfileError) as info:
        lockfile.load(path)
    return str(info.value)


def test_a_serial_of_thousands_of_digits_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "l.json"
    text = json.dumps(valid_document()).replace('"serial": 1', '"serial": ' + "9" * 5000)
    path.write_text(text)
    message = refusal(path)
    assert "a number of 5,000 digits" in message
    assert "restore it from git" in message
    assert path.read_text() == text


def test_brackets_nested_a_hundred_thousand_deep_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "l.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    assert "nested too deeply" in refusal(path)


def test_a_key_given_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "l.json"
    text = json.dumps(valid_document())
    path.write_text(text.replace('"serial": 1', '"serial": 1, "serial": 7'))
    assert 'the key "serial" appears twice' in refusal(path)


def test_a_name_given_twice_among_the_artifacts_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "l.json"
    entry = json.dumps({"arn": arn_for("a"), "spec": SPEC})
    document = json.dumps(valid_document())
    path.write_text(document.replace('"artifacts": {', f'"artifacts": {{"a": {entry}, ', 1))
    assert 'the key "a" appears twice' in refusal(path)


def test_git_conflict_markers_are_named_with_the_way_out(tmp_path: Path) -> None:
    path = tmp_path / "l.json"
    path.write_bytes(conflicted())
    message = refusal(path)
    assert message.startswith(
        f"merge conflict in the lockfile {path} (a git conflict marker at line 1)"
    )
    assert "re-run 'reconciler apply' on the merged main" in message


@pytest.mark.parametrize(
    "name",
    ["-leading", "has space", "x" * 121, "trailing-", "new\nline", "ünïcode"],
)
def test_entry_names_that_are_not_metadata_names_are_malformed(tmp_path: Path, name: str) -> None:
    path = tmp_path / "l.json"
    document = valid_document()
    document["artifacts"] = {name: {"arn": arn_for("a"), "spec": SPEC}}
    path.write_text(json.dumps(document))
    loaded = lockfile.load(path)
    assert loaded.artifacts == {}
    assert "is not a valid metadata.name" in loaded.malformed[name][0]
    assert json.loads(lockfile.dump(loaded))["artifacts"] == document["artifacts"]


def test_the_offline_audit_flags_two_entries_with_one_arn(repo: Path) -> None:
    write_manifests(repo / "manifests", manifest_doc("a"), manifest_doc("b"), manifest_doc("c"))
    declared = {
        name: {
            "ArtifactName": name,
            "ArtifactType": "DataSet",
            "Source": {"SourceUri": f"s3://acme-ml/{name}/data.csv"},
        }
        for name in ("a", "b", "c")
    }
    document = json.loads(lockfile.dump(recorded(declared)))
    document["artifacts"]["b"]["arn"] = document["artifacts"]["a"]["arn"]
    (repo / "artifacts.lock.json").write_text(json.dumps(document))
    result = reconciler("audit", "--format", "json")
    assert result.code == 2
    findings = json.loads(result.out)["findings"]
    shared = [f for f in findings if f["kind"] == "shared-arn"]
    assert [f["name"] for f in shared] == ["a", "b"]
    assert "also recorded as 'b'" in shared[0]["detail"]
    assert {f["arn"] for f in shared} == {document["artifacts"]["a"]["arn"]}


def test_commands_that_write_never_touch_a_lockfile_they_cannot_read(
    repo: Path, sandbox: Sandbox
) -> None:
    write_manifests(repo / "manifests", manifest_doc("a"))
    path = repo / "artifacts.lock.json"
    content = conflicted()
    path.write_bytes(content)
    for result in (
        apply(),
        reconciler("import", "--all"),
        reconciler("forget", "a"),
        reconciler("plan"),
    ):
        assert result.code == 1
        assert result.err.startswith("error: merge conflict in the lockfile")
        assert path.read_bytes() == content
    assert sandbox.counters().get("CreateArtifact", 0) == 0


DEEP = "[" * 100_000 + "]" * 100_000


def test_a_saved_plan_nested_deeply_is_refused(repo: Path) -> None:
    (repo / "plan.json").write_text(DEEP)
    result = apply("plan.json")
    assert result.code == 1
    assert result.err.startswith("error: cannot read the saved plan plan.json (")
    assert "internal error" not in result.err


def test_a_journal_line_nested_deeply_is_named_damaged(repo: Path) -> None:
    write_manifests(repo / "manifests", manifest_doc("a"))
    path = repo / "artifacts.lock.json"
    saved = lockfile.save(path, recorded({}))
    header = json.dumps({"journal": 1, "lineage": saved.lineage})
    journal = repo / ".reconciler" / "artifacts.lock.json.journal"
    journal.parent.mkdir()
    journal.write_text(header + "\n" + DEEP + "\n")
    result = reconciler("plan")
    assert result.code == 1
    assert result.err.startswith(
        f"error: the apply journal {journal.relative_to(repo)} is damaged at line 2"
    )


def test_an_apply_summary_of_a_deeply_nested_file_is_the_unknown_outcome_summary(
    repo: Path,
) -> None:
    (repo / "apply.json").write_text(DEEP)
    result = reconciler("github", "apply-summary", "--file", "apply.json")
    assert result.code == 0
    assert "**Apply did not finish** and left no result" in result.out


@pytest.mark.parametrize(("value", "shown"), [(True, "true"), (1.0, "1.0")])
def test_a_format_version_equal_to_1_only_in_python_is_refused(
    tmp_path: Path, value: object, shown: str
) -> None:
    path = tmp_path / "l.json"
    path.write_text(json.dumps({**valid_document(), "format_version": value}))
    assert f"its format_version is {shown}, expected 1" in refusal(path)  # as the file says it


@pytest.mark.parametrize("value", [True, False, 1.0])
def test_a_serial_that_is_not_an_integer_is_refused(tmp_path: Path, value: object) -> None:
    path = tmp_path / "l.json"
    path.write_text(json.dumps({**valid_document(), "serial": value}))
    assert "'serial' is missing or not a non-negative integer" in refusal(path)


def test_a_journal_whose_version_is_true_is_refused(repo: Path) -> None:
    write_manifests(repo / "manifests", manifest_doc("a"))
    saved = lockfile.save(repo / "artifacts.lock.json", recorded({}))
    journal = repo / ".reconciler" / "artifacts.lock.json.journal"
    journal.parent.mkdir()
    journal.write_text(json.dumps({"journal": True, "lineage": saved.lineage}) + "\n")
    result = reconciler("plan")
    assert result.code == 1
    assert result.err == (
        f"error: {journal.relative_to(repo)} is not an apply journal this reconciler can read; "
        "move it away\n"
    )


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("format_version",), True, "is damaged (its format_version is not a version number)"),
        (("lockfile", "serial"), True, "is damaged; make it again"),
        (("lockfile", "serial"), "0", "is damaged; make it again"),
    ],
)
def test_a_saved_plan_with_a_boolean_for_a_number_is_refused(
    repo: Path, path: tuple[str, ...], value: object, message: str
) -> None:
    write_manifests(repo / "manifests", manifest_doc("a"))
    assert reconciler("plan", "--out", "plan.json").code == 0
    document = json.loads((repo / "plan.json").read_text())
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    (repo / "plan.json").write_text(json.dumps(document))
    result = apply("plan.json")
    assert result.code == 1
    assert message in result.err
