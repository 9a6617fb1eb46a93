from __future__ import annotations

from pathlib import Path

import pytest

from reconciler import journal, lockfile
from reconciler.errors import LockfileError
from reconciler.journal import Journal, journal_path
from reconciler.lockfile import Entry, Lockfile, Target
from reconciler.runlock import ApplyLock
from tests.helpers import arn_for

SPEC = {"ArtifactName": "a", "ArtifactType": "DataSet", "Source": {"SourceUri": "s3://a"}}


def test_records_replay_onto_the_lockfile_and_fold_once(tmp_path: Path) -> None:
    path = tmp_path / "artifacts.lock.json"
    base = lockfile.save(path, Lockfile(artifacts={"old": Entry(arn_for("old"), SPEC)}))
    log = Journal(journal_path(path), base.lineage or "")
    log.target(Target("123456789012", "eu-west-1"))
    log.put("a", Entry(arn_for("a"), SPEC))
    log.remove("old")
    log.close()
    seen = journal.load_with_journal(path)
    assert list(seen.artifacts) == ["a"]
    assert seen.target == Target("123456789012", "eu-west-1")
    assert lockfile.load(path) == base  # reading writes nothing
    folded = journal.fold(path)
    assert folded.serial == base.serial + 1
    assert lockfile.load(path) == folded
    assert not journal_path(path).exists()
    assert journal.fold(path) == folded  # nothing left to fold


def test_a_torn_last_line_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "artifacts.lock.json"
    log = Journal(journal_path(path), "lineage-1")
    log.put("a", Entry(arn_for("a"), SPEC))
    log.close()
    with journal_path(path).open("ab") as handle:
        handle.write(b'{"op": "put", "name": "b", "ent')
    assert list(journal.load_with_journal(path).artifacts) == ["a"]


def test_a_damaged_line_in_the_middle_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "artifacts.lock.json"
    journal_path(path).parent.mkdir()
    journal_path(path).write_text(
        '{"journal": 1, "lineage": "x"}\nnot json\n{"op": "remove", "name": "a"}\n'
    )
    with pytest.raises(LockfileError, match="damaged at line 2"):
        journal.load_with_journal(path)


def test_a_journal_of_another_lockfile_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "artifacts.lock.json"
    lockfile.save(path, Lockfile(lineage="mine"))
    Journal(journal_path(path), "someone-else").close()
    with pytest.raises(LockfileError, match="belongs to another lockfile"):
        journal.load_with_journal(path)


def test_the_first_journal_gives_the_lockfile_its_lineage(tmp_path: Path) -> None:
    path = tmp_path / "artifacts.lock.json"
    log = Journal(journal_path(path), "new-lineage")
    log.put("a", Entry(arn_for("a"), SPEC))
    log.close()
    assert journal.fold(path).lineage == "new-lineage"
    assert lockfile.load(path).lineage == "new-lineage"


def test_the_apply_lock_names_its_holder_and_is_released(tmp_path: Path) -> None:
    path = tmp_path / "artifacts.lock.json"
    with (
        ApplyLock(path),
        pytest.raises(Exception, match=r"another apply is running .* \(pid \d+ on .*, started 20"),
    ):
        ApplyLock(path).acquire()
    with ApplyLock(path):
        pass
