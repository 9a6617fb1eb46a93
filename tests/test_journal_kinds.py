"""The apply journal over every kind: records carry the kind, edges have their own records, and
replay and fold rebuild every section; a journal written before other kinds replays as before."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from reconciler import journal, lockfile
from reconciler.errors import LockfileError
from reconciler.journal import Journal, journal_path
from reconciler.lockfile import Edge, Entry, Lockfile
from tests.helpers import arn_for

ARTIFACT_SPEC = {"ArtifactName": "m", "ArtifactType": "Model", "Source": {"SourceUri": "s3://m"}}
CONTEXT_SPEC = {"ContextName": "ep", "ContextType": "Endpoint", "Source": {"SourceUri": "s3://e"}}
ACTION_SPEC = {"ActionName": "ok", "ActionType": "Approval", "Source": {"SourceUri": "s3://a"}}
CONTEXT = Entry(arn_for("ep", resource="context"), CONTEXT_SPEC)
ACTION = Entry(arn_for("ok", resource="action"), ACTION_SPEC)
EDGE = Edge(arn_for("model"), CONTEXT.arn, {"Source": "model", "Destination": "endpoint"})


def _journal(path: Path, lineage: str = "lineage-1") -> Journal:
    return Journal(journal_path(path), lineage)


def test_records_of_every_kind_replay_and_fold(tmp_path: Path) -> None:
    path = tmp_path / "artifacts.lock.json"
    base = lockfile.save(path, Lockfile(contexts={"old": CONTEXT}))
    log = _journal(path, base.lineage or "")
    log.put("model", Entry(arn_for("model"), ARTIFACT_SPEC))
    log.put("endpoint", CONTEXT, "Context")
    log.put("approval", ACTION, "Action")
    log.put_edge("model-to-endpoint", EDGE)
    log.remove("old", "Context")
    log.close()
    seen = journal.load_with_journal(path)
    assert list(seen.artifacts) == ["model"]
    assert seen.contexts == {"endpoint": CONTEXT}
    assert seen.actions == {"approval": ACTION}
    assert seen.associations == {"model-to-endpoint": EDGE}
    assert lockfile.load(path) == base  # reading writes nothing
    folded = journal.fold(path)
    assert lockfile.load(path) == folded
    assert (folded.contexts, folded.associations) == (seen.contexts, seen.associations)
    assert not journal_path(path).exists()


def test_records_carry_their_kind_and_an_artifact_record_none(tmp_path: Path) -> None:
    path = tmp_path / "artifacts.lock.json"
    log = _journal(path)
    log.put("model", Entry(arn_for("model"), ARTIFACT_SPEC))
    log.intend("endpoint", "Context")
    log.remove("approval", "Action")
    log.put_edge("e", EDGE)
    log.remove_edge("e")
    log.close()
    lines = [json.loads(line) for line in journal_path(path).read_text().splitlines()[1:]]
    assert [(r["op"], r.get("kind")) for r in lines] == [
        ("put", None),
        ("intent", "Context"),
        ("remove", "Action"),
        ("put-edge", None),
        ("remove-edge", None),
    ]


def test_a_journal_written_before_other_kinds_replays_as_artifacts(tmp_path: Path) -> None:
    path = tmp_path / "artifacts.lock.json"
    journal_path(path).parent.mkdir()
    entry = {"arn": arn_for("a"), "spec": ARTIFACT_SPEC}
    journal_path(path).write_text(
        '{"journal": 1, "lineage": "x"}\n'
        + json.dumps({"op": "put", "name": "a", "entry": entry})
        + "\n"
        + json.dumps({"op": "intent", "name": "a"})
        + "\n"
    )
    seen = journal.load_with_journal(path)
    assert seen.artifacts == {"a": Entry(arn_for("a"), ARTIFACT_SPEC, uncertain=True)}


def test_a_remove_of_one_kind_leaves_the_others_alone(tmp_path: Path) -> None:
    path = tmp_path / "artifacts.lock.json"
    base = lockfile.save(path, Lockfile(contexts={"endpoint": CONTEXT}))
    log = _journal(path, base.lineage or "")
    log.remove("endpoint")  # an artifact of that name: there is none
    log.remove_edge("endpoint")
    log.close()
    assert journal.load_with_journal(path).contexts == {"endpoint": CONTEXT}


def test_a_kind_change_leaves_the_name_in_one_section(tmp_path: Path) -> None:
    """Declared again as a context: the name is never recorded twice, which the lockfile
    would refuse to read."""
    path = tmp_path / "artifacts.lock.json"
    base = lockfile.save(path, Lockfile(artifacts={"x": Entry(arn_for("x"), ARTIFACT_SPEC)}))
    log = _journal(path, base.lineage or "")
    log.put("x", CONTEXT, "Context")
    log.close()
    folded = journal.fold(path)
    assert (folded.artifacts, folded.contexts) == ({}, {"x": CONTEXT})
    assert lockfile.load(path) == folded


def test_unsettled_intents_mark_entries_and_edges_of_every_kind_uncertain(
    tmp_path: Path,
) -> None:
    path = tmp_path / "artifacts.lock.json"
    base = lockfile.save(
        path,
        Lockfile(contexts={"endpoint": CONTEXT}, actions={"approval": ACTION}),
    )
    log = _journal(path, base.lineage or "")
    log.put_edge("e", EDGE)
    log.intend("endpoint", "Context")
    log.intend("approval", "Action")
    log.put("approval", ACTION, "Action")  # this one's outcome is known
    log.intend("e", "Association")
    log.close()
    seen = journal.load_with_journal(path)
    assert seen.contexts["endpoint"].uncertain
    assert not seen.actions["approval"].uncertain
    assert seen.associations["e"].uncertain
    assert seen.uncertain_names() == [("Association", "e"), ("Context", "endpoint")]
    folded = journal.fold(path)
    assert lockfile.load(path).associations["e"].uncertain
    assert folded == lockfile.load(path)


def test_an_intent_of_one_kind_does_not_mark_another(tmp_path: Path) -> None:
    path = tmp_path / "artifacts.lock.json"
    base = lockfile.save(path, Lockfile(contexts={"endpoint": CONTEXT}))
    log = _journal(path, base.lineage or "")
    log.intend("endpoint")  # an artifact named so: none is recorded
    log.close()
    assert not journal.load_with_journal(path).contexts["endpoint"].uncertain


def test_malformed_records_of_other_kinds_are_kept_in_their_section(tmp_path: Path) -> None:
    path = tmp_path / "artifacts.lock.json"
    log = _journal(path)
    log.put("endpoint", Entry(arn_for("ep"), CONTEXT_SPEC), "Context")  # an artifact's ARN
    log.put_edge("e", Edge("arn:aws:s3:::b", CONTEXT.arn, EDGE.spec))
    log.close()
    seen = journal.load_with_journal(path)
    assert "is not a SageMaker context ARN" in seen.malformed["endpoint"][0]
    assert "lineage entity" in seen.malformed["e"][0]
    journal.fold(path)
    written = json.loads(path.read_bytes())
    assert written["contexts"]["endpoint"]["arn"] == arn_for("ep")
    assert written["associations"]["e"]["source_arn"] == "arn:aws:s3:::b"


def test_a_record_of_an_unknown_kind_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "artifacts.lock.json"
    journal_path(path).parent.mkdir()
    journal_path(path).write_text(
        '{"journal": 1, "lineage": "x"}\n{"op": "remove", "name": "a", "kind": "Trial"}\n'
    )
    with pytest.raises(LockfileError, match=r"of a kind this reconciler does not know \(Trial\)"):
        journal.load_with_journal(path)


def test_a_torn_edge_record_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "artifacts.lock.json"
    log = _journal(path)
    log.put_edge("e", EDGE)
    log.close()
    with journal_path(path).open("ab") as handle:
        handle.write(b'{"op": "remove-edge", "na')
    assert journal.load_with_journal(path).associations == {"e": EDGE}


def test_replaying_twice_gives_the_same_lockfile(tmp_path: Path) -> None:
    """A crash between fold's write and its deletion of the journal replays it once more."""
    path = tmp_path / "artifacts.lock.json"
    log = _journal(path)
    log.put("endpoint", CONTEXT, "Context")
    log.put_edge("e", EDGE)
    log.remove_edge("e")
    log.put_edge("f", EDGE)
    log.close()
    once = journal.replay(Lockfile(), journal_path(path))
    twice = journal.replay(once, journal_path(path))
    assert once == twice


_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from reconciler.journal import Journal
    from reconciler.lockfile import Edge, Entry
    from tests.helpers import arn_for

    path = Path(sys.argv[1])
    log = Journal(path, "lineage-1")
    for i in range(10_000):
        name = f"c{i}"
        spec = {"ContextName": name, "ContextType": "T", "Source": {"SourceUri": "s3://c"}}
        log.put(name, Entry(arn_for(name, resource="context"), spec), "Context")
        log.put_edge(f"e{i}", Edge(arn_for("m"), arn_for(name, resource="context"),
                                   {"Source": "m", "Destination": name}))
        print(i, flush=True)
    """
)


def test_a_killed_writer_loses_no_record_it_returned_from(tmp_path: Path) -> None:
    path = tmp_path / "artifacts.lock.json"
    process = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(journal_path(path))],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    try:
        assert process.stdout is not None
        done = [process.stdout.readline() for _ in range(20)]
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    finished = int(done[-1])
    seen = journal.load_with_journal(path)
    assert all(f"c{i}" in seen.contexts and f"e{i}" in seen.associations for i in range(finished))
    assert len(seen.associations) in (len(seen.contexts), len(seen.contexts) - 1)


@pytest.mark.parametrize(
    "line",
    [
        "[1]",
        '"put"',
        '{"op": "put", "name": "a"}',
        '{"op": "remove", "name": ["a"]}',
        '{"op": "put-edge", "edge": {}}',
        '{"op": "intent", "name": {"a": 1}}',
    ],
)
def test_a_record_of_the_wrong_shape_is_a_damaged_journal(tmp_path: Path, line: str) -> None:
    path = tmp_path / "artifacts.lock.json"
    journal_path(path).parent.mkdir()
    journal_path(path).write_text('{"journal": 1, "lineage": "x"}\n' + line + "\n")
    with pytest.raises(LockfileError, match="is damaged at line 2; move it away"):
        journal.load_with_journal(path)
