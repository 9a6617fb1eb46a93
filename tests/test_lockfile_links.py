"""A lockfile that is a loop of symbolic links (a pull request can commit one) is named, with what
to do, however the lockfile is found; never an internal error."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import manifest_doc, one_target_config, write_manifests
from tests.sandboxed import reconciler as run


@pytest.mark.parametrize(
    ("how", "command"),
    [
        ("default", "validate"),
        ("default", "plan"),
        ("config", "validate"),
        ("config", "plan"),
        ("target", "validate"),
        ("target", "plan"),
        ("flag", "plan"),
    ],
)
def test_a_lockfile_that_is_a_loop_of_links_is_named(repo: Path, how: str, command: str) -> None:
    write_manifests(repo / "manifests", manifest_doc("a"))
    name = "dev.lock.json" if how == "target" else "artifacts.lock.json"
    (repo / name).symlink_to("loop.json")
    (repo / "loop.json").symlink_to(name)
    if how == "config":
        (repo / "reconciler.yaml").write_text(f"lockfile: {name}\n")
    elif how == "target":
        (repo / "reconciler.yaml").write_text(one_target_config())
    flags = ("--lockfile", name) if how == "flag" else ()
    result = run(command, *flags)
    assert result.code == 1, result.out
    assert (
        result.err == f"error: the lockfile {name} is a loop of symbolic links; remove the link\n"
    )
