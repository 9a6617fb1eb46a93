"""`.reconciler/` beside the lockfile (the caches, the apply lock, the journal) when something
else is in its place: validate and plan go on without it (there can be no journal in a file),
apply says what to remove; never an internal error."""

from __future__ import annotations

from pathlib import Path

from reconciler.sandbox import Sandbox
from tests.helpers import manifest_doc
from tests.sandboxed import apply, declare
from tests.sandboxed import reconciler as run


def test_a_file_where_the_state_directory_should_be(repo: Path, sandbox: Sandbox) -> None:
    declare(repo, manifest_doc("a"))
    (repo / ".reconciler").write_text("not a directory\n")
    assert run("validate").code == 0
    planned = run("plan")
    assert planned.code == 0, planned.err
    assert "+ artifact a" in planned.out
    refused = apply()
    assert refused.code == 1
    assert refused.err == (
        "error: .reconciler is not a directory, and reconciler keeps the apply lock and the "
        "journal of artifacts.lock.json there; remove it or move it away\n"
    )
    assert not (repo / "artifacts.lock.json").exists()


def test_a_directory_where_the_journal_should_be(repo: Path) -> None:
    declare(repo, manifest_doc("a"))
    (repo / ".reconciler" / "artifacts.lock.json.journal").mkdir(parents=True)
    refused = run("plan")
    assert refused.code == 1
    assert refused.err == (
        "error: cannot read the apply journal .reconciler/artifacts.lock.json.journal (Is a "
        "directory); move it away and run 'reconciler audit' to see what the lockfile is missing\n"
    )
