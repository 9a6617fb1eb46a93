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


def test_an_apply_lock_committed_as_a_link_to_the_lockfile_does_not_destroy_it(
    repo: Path, sandbox: Sandbox
) -> None:
    """apply truncates and rewrites its lock file: through a committed link, it would have
    written over the lockfile (or over any file of the machine the link names)."""
    declare(repo, manifest_doc("a"))
    assert apply().code == 0
    before = (repo / "artifacts.lock.json").read_bytes()
    declare(repo, manifest_doc("a"), manifest_doc("b"))
    lock = repo / ".reconciler" / "artifacts.lock.json.apply-lock"
    lock.unlink()
    lock.symlink_to(repo / "artifacts.lock.json")
    refused = apply()
    assert refused.code == 1
    assert refused.err == (
        "error: .reconciler/artifacts.lock.json.apply-lock is a symbolic link; reconciler keeps "
        "its apply lock and journal in .reconciler/ itself: remove the link\n"
    )
    assert (repo / "artifacts.lock.json").read_bytes() == before


def test_a_journal_committed_as_a_link_is_neither_read_nor_written(
    repo: Path, sandbox: Sandbox
) -> None:
    declare(repo, manifest_doc("a"))
    elsewhere = repo.parent / f"{repo.name}-bashrc"
    elsewhere.write_text("export PATH=/usr/bin\n")
    (repo / ".reconciler").mkdir()
    (repo / ".reconciler" / "artifacts.lock.json.journal").symlink_to(elsewhere)
    expected = (
        "error: .reconciler/artifacts.lock.json.journal is a symbolic link; reconciler keeps "
        "its apply lock and journal in .reconciler/ itself: remove the link\n"
    )
    for command in ("plan", "apply"):
        refused = run(command, *(("--auto-approve",) if command == "apply" else ()))
        assert (refused.code, refused.err) == (1, expected)
    assert elsewhere.read_text() == "export PATH=/usr/bin\n"


def test_a_state_directory_linked_out_of_the_repository_is_refused_by_apply(
    repo: Path, sandbox: Sandbox
) -> None:
    declare(repo, manifest_doc("a"))
    elsewhere = repo.parent / f"{repo.name}-elsewhere"
    elsewhere.mkdir()
    (repo / ".reconciler").symlink_to(elsewhere, target_is_directory=True)
    refused = apply()
    assert refused.code == 1
    assert refused.err == (
        f"error: .reconciler is a symbolic link to {elsewhere}, out of the lockfile's "
        "directory; reconciler keeps its apply lock and journal in .reconciler/ itself: remove "
        "the link\n"
    )
    assert list(elsewhere.iterdir()) == []
    assert not (repo / "artifacts.lock.json").exists()
