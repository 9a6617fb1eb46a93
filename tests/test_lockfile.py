from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler import jsonstream, lockfile
from reconciler.errors import LockfileError
from reconciler.lockfile import Entry, Lockfile, Target, foreign_reason
from tests.helpers import ACCOUNT, REGION, arn_for, recorded

SPEC = {"ArtifactName": "a", "ArtifactType": "DataSet", "Source": {"SourceUri": "s3://a"}}


def test_a_missing_lockfile_is_empty(tmp_path: Path) -> None:
    empty = lockfile.load(tmp_path / "absent.json")
    assert (empty.lineage, empty.serial, empty.artifacts, empty.exists) == (None, 0, {}, False)


def test_round_trip_is_byte_identical(tmp_path: Path) -> None:
    path = tmp_path / "artifacts.lock.json"
    written = lockfile.save(path, recorded({"a": SPEC}))
    first = path.read_bytes()
    assert lockfile.load(path) == written
    lockfile.save(path, lockfile.load(path))
    assert path.read_bytes() == first


def test_bytes_are_sorted_indented_and_end_with_a_newline(tmp_path: Path) -> None:
    path = tmp_path / "l.json"
    lockfile.save(path, recorded({"b": SPEC, "a": SPEC}))
    text = path.read_text()
    assert text.endswith("}\n")
    assert text.startswith('{\n  "artifacts": {\n    "a": {\n      "arn": ')
    document = json.loads(text)
    assert list(document) == ["artifacts", "format_version", "lineage", "serial", "target"]
    assert document["target"] == {"account": ACCOUNT, "region": REGION}


def test_first_save_gives_a_lineage_and_keeps_it(tmp_path: Path) -> None:
    path = tmp_path / "l.json"
    saved = lockfile.save(path, Lockfile())
    assert saved.lineage
    assert lockfile.load(path).lineage == saved.lineage


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"{", "it is not valid JSON (line 1, column 2"),
        (b"\xff", "it is not UTF-8"),
        (b"[]", "its top level is not a JSON object"),
        (b'{"format_version": "1"}', "its format_version is '1', expected 1"),
        (
            b'{"format_version": 1, "lineage": "x", "serial": -1, "target": {}, "artifacts": {}}',
            "'serial'",
        ),
        (
            b'{"format_version": 1, "lineage": "x", "serial": 0, "target": {"account": "12"}, "artifacts": {}}',
            "12-digit",
        ),
        (
            b'{"format_version": 1, "lineage": "x", "serial": 0, "target": {}, "artifacts": []}',
            "'artifacts'",
        ),
        (
            b'{"format_version": 1, "lineage": "x", "serial": 0, "target": {}, "artifacts": {}, "x": 1}',
            "unknown keys: x",
        ),
    ],
)
def test_unreadable_lockfiles_are_clear_errors(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "l.json"
    path.write_bytes(content)
    with pytest.raises(LockfileError) as info:
        lockfile.load(path)
    assert reason in str(info.value)
    assert "restore it from git or fix it by hand" in str(info.value)
    assert path.read_bytes() == content


def test_a_newer_format_says_to_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "l.json"
    path.write_text('{"format_version": 2}')
    with pytest.raises(
        LockfileError, match=r"newer than this reconciler reads .* upgrade reconciler"
    ):
        lockfile.load(path)


def test_malformed_entries_are_kept_apart_and_written_back_verbatim(tmp_path: Path) -> None:
    path = tmp_path / "l.json"
    good = recorded({"good": SPEC})
    document = json.loads(lockfile.dump(good))
    document["artifacts"]["no-arn"] = {"spec": SPEC}
    document["artifacts"]["bad-arn"] = {"arn": "arn:aws:s3:::bucket", "spec": SPEC}
    document["artifacts"]["bad-spec"] = {"arn": arn_for("x"), "spec": {"ArtifactType": 3}}
    path.write_text(json.dumps(document))
    loaded = lockfile.load(path)
    assert list(loaded.artifacts) == ["good"]
    assert loaded.malformed["no-arn"][0] == "arn: Field required"
    assert "is not a SageMaker artifact ARN" in loaded.malformed["bad-arn"][0]
    assert loaded.malformed["bad-spec"][0].startswith("spec.")
    assert json.loads(lockfile.dump(loaded))["artifacts"] == document["artifacts"]


def test_foreign_entries_are_recognised() -> None:
    target = Target(ACCOUNT, REGION)
    assert foreign_reason(Entry(arn_for("a"), SPEC), target) is None
    other_account = Entry(arn_for("a", account="999999999999"), SPEC)
    assert "account 999999999999" in (foreign_reason(other_account, target) or "")
    other_region = Entry(arn_for("a", region="us-east-1"), SPEC)
    assert "region us-east-1" in (foreign_reason(other_region, target) or "")
    assert foreign_reason(other_account, Target()) is None


@pytest.mark.parametrize("chunk", [3, 64])
def test_read_a_piece_at_a_time_it_is_the_lockfile_read_whole(
    tmp_path: Path, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "l.json"
    lockfile.save(path, recorded({"a": SPEC, "b": {**SPEC, "ArtifactType": "Model"}}))
    whole = lockfile.parse(path.read_bytes(), str(path), {"a": SPEC})
    monkeypatch.setattr(jsonstream, "CHUNK", chunk)
    assert lockfile.load(path, {"a": SPEC}) == whole
    assert lockfile.load(path, {"a": SPEC}).artifacts["a"].spec is SPEC  # shared, not a copy


@pytest.mark.parametrize(
    "content",
    [
        b'{"format_version": 1, "lineage": "x", "lineage": "y"}',
        b'{"format_version": 1, "artifacts": {"a": {}, "a": {}}}',
        b'{"serial": 1' + b"0" * 30 + b"}",
        b"<<<<<<< HEAD\n{}\n=======\n{}\n>>>>>>> other\n",
        b'{"format_version": 1}\n<<<<<<< HEAD\n',
        b'{"artifacts": {"a": "\xff"}}',
    ],
)
def test_a_lockfile_read_a_piece_at_a_time_fails_as_one_read_whole(
    tmp_path: Path, content: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "l.json"
    path.write_bytes(content)
    with pytest.raises(LockfileError) as whole:
        lockfile.parse(content, str(path))
    monkeypatch.setattr(jsonstream, "CHUNK", 5)
    with pytest.raises(LockfileError) as streamed:
        lockfile.load(path)
    assert str(streamed.value) == str(whole.value)
